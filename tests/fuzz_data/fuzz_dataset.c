/* libFuzzer target: the dataset directory loader (dataset.json + data.bin are untrusted input). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* const names[] = {"dataset.json", "data.bin"};
    fuzz_write_parts(data, size, names, 2);
    vkr_dataset d;
    if (vkr_dataset_load(fuzz_dir(), &d) == VKR_OK) {
        vkr_dataset_stats st;
        vkr_dataset_stats_compute(&d, &st);
        uint32_t* h = malloc(sizeof(uint32_t) * (d.max_len ? d.max_len : 1) + sizeof(uint32_t) * 64);
        for (uint32_t k = 0; h && k < d.test_count; k++)
            vkr_dataset_history(&d, d.test[2 * k], d.test[2 * k + 1], VKR_DOMAINS_ALL, d.max_len ? d.max_len : 64, h);
        free(h);
        vkr_dataset_free(&d);
    }
    return 0;
}
