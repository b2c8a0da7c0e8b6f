/* libFuzzer target: LLMCDSR release parser (num.txt, titles TSVs, five sequence files). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* const names[] = {"num.txt", "derived/items_A.tsv", "derived/items_B.tsv", "train_A.txt",
                                        "train_B.txt", "train_overlap.txt", "valid.txt", "test.txt"};
    fuzz_write_parts(data, size, names, 8);
    vkr_raw raw = {0};
    if (vkr_parse_llmcdsr(&raw, fuzz_dir(), NULL) == VKR_OK) fuzz_prepare(&raw);
    vkr_raw_free(&raw);
    return 0;
}
