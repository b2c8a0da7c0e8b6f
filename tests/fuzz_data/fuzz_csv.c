/* libFuzzer target: plain CSV/TSV interactions + items parser. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* const names[] = {"interactions.csv", "items.csv"};
    fuzz_write_parts(data, size, names, 2);
    char a[400], b[400];
    snprintf(a, sizeof a, "%s/interactions.csv", fuzz_dir());
    snprintf(b, sizeof b, "%s/items.csv", fuzz_dir());
    vkr_raw raw = {0};
    if (vkr_parse_csv(&raw, a, b) == VKR_OK) fuzz_prepare(&raw);
    vkr_raw_free(&raw);
    return 0;
}
