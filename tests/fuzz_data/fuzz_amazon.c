/* libFuzzer target: Amazon review/metadata JSON-lines parser, two domains (plain files; zlib reads
 * them through the same gz path as compressed ones). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* const names[] = {"reviews_a.json", "meta_a.json", "reviews_b.json"};
    fuzz_write_parts(data, size, names, 3);
    char r1[400], m1[400], r2[400];
    snprintf(r1, sizeof r1, "%s/reviews_a.json", fuzz_dir());
    snprintf(m1, sizeof m1, "%s/meta_a.json", fuzz_dir());
    snprintf(r2, sizeof r2, "%s/reviews_b.json", fuzz_dir());
    vkr_raw raw = {0};
    if (vkr_parse_amazon(&raw, "Food", r1, m1) == VKR_OK && vkr_parse_amazon(&raw, "Kitchen", r2, NULL) == VKR_OK)
        fuzz_prepare(&raw);
    vkr_raw_free(&raw);
    return 0;
}
