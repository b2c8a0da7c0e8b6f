/* libFuzzer target: C2DSR release parser (item lists, titles TSVs, sequence files). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* const names[] = {"Alist.txt", "Blist.txt", "derived/titles_A_from_llmcdsr.tsv",
                                        "derived/titles_B_from_llmcdsr.tsv", "validdata_new.txt", "testdata_new.txt",
                                        "traindata_new.txt"};
    fuzz_write_parts(data, size, names, 7);
    vkr_raw raw = {0};
    if (vkr_parse_c2dsr(&raw, fuzz_dir(), NULL) == VKR_OK) fuzz_prepare(&raw);
    vkr_raw_free(&raw);
    return 0;
}
