/* libFuzzer target: the dataset directory loader (dataset.json + data.bin are untrusted input). Each
 * input is loaded twice: as given, which exercises the data.bin checksum (a fuzzed image almost never
 * matches it), and with the checksum recomputed, so the header, table and array checks behind it see
 * the fuzzed bytes too. */
#include "fuzz_common.h"
#include "vkr_data_image.h"

/* Loads the scratch directory and reads what later stages read. */
static void load_and_use(void) {
    vkr_dataset d;
    if (vkr_dataset_load(fuzz_dir(), &d) != VKR_OK) return;
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(&d, &st);
    uint32_t* h = malloc(sizeof(uint32_t) * (d.max_len ? d.max_len : 1) + sizeof(uint32_t) * 64);
    for (uint32_t k = 0; h && k < d.test_count; k++)
        vkr_dataset_history(&d, d.test[2 * k], d.test[2 * k + 1], VKR_DOMAINS_ALL, d.max_len ? d.max_len : 64, h);
    free(h);
    vkr_dataset_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const char* const names[] = {"dataset.json", "data.bin"};
    fuzz_write_parts(data, size, names, 2);
    load_and_use();
    const uint8_t* sep = memchr(data, '\f', size);
    size_t n = sep ? size - (size_t)(sep + 1 - data) : 0;
    if (n < VKR_DATA_HEADER_BYTES) return 0; /* no header to seal */
    uint8_t* image = malloc(n);
    if (!image) return 0;
    memcpy(image, sep + 1, n);
    vkr_data_image_seal(image, n);
    char path[400];
    snprintf(path, sizeof path, "%s/data.bin", fuzz_dir());
    FILE* f = fopen(path, "wb");
    if (f) {
        fwrite(image, 1, n, f);
        fclose(f);
        load_and_use();
    }
    free(image);
    return 0;
}
