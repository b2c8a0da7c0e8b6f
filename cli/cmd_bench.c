/* vkrec bench: headless benchmark mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "cli_json.h"

typedef struct bench_suite {
    const char* name;
    const char* what;
    vkr_status (*run)(vkr_bench* b);
} bench_suite;

static const bench_suite suites[] = {
    {"dispatch", "us per dispatch inside one recorded sequence; us per submit+wait round trip", vkr_bench_suite_dispatch},
    {"copy", "host->device and device->host GB/s beside memcpy", vkr_bench_suite_copy},
    {"peak", "device fp32 FMA GFLOP/s (register-only vec4 chains) beside a C FMA loop", vkr_bench_suite_peak},
    {"matmul", "matmul GFLOP/s (square, recommender shapes; fp32, fp16) beside OpenBLAS sgemm", vkr_bench_suite_matmul},
    {"data", "vkrec prepare throughput (events/s) on the shared Food-Kitchen releases", vkr_bench_suite_data},
    {"embed", "TF-IDF + randomized SVD of all items: GPU beside the CPU reference path", vkr_bench_suite_embed},
    {"train", "SASRec training sequences/s (BCE and CE losses) on GPU and CPU backends beside PyTorch", vkr_bench_suite_train},
    {"optim", "optimizer step GB/s (AdamW+clip, SGD; 4M params) beside the CPU reference; safetensors GB/s", vkr_bench_suite_optim},
    {"quantize", "nearest-codeword vectors/s (100k x 32 -> 256 codes) and k-means iteration time beside faiss (or OpenBLAS)", vkr_bench_suite_quantize},
    {"tsne", "t-SNE seconds and KL at N = 2k/5k/10k (64-d mixture) beside scikit-learn TSNE (one run each)", vkr_bench_suite_tsne},
    {"beam", "constrained beam-search decode users/s (W = 10/20/50, batch 256, depth 4) beside the CPU reference", vkr_bench_suite_beam},
};
enum { suite_count = sizeof suites / sizeof suites[0] };

/* Parses --sizes N,N,... (positive, at most VKR_BENCH_MAX_SIZES values); prints why on failure. */
static bool parse_sizes(const char* text, uint32_t* sizes, uint32_t* out_count) {
    uint32_t count = 0;
    const char* p = text;
    while (*p) {
        char* end = NULL;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > 10000000 || (*end && *end != ',') || count == VKR_BENCH_MAX_SIZES) {
            cli_usage_error("bench", "--sizes expects up to %d positive integers separated by commas, got '%s'",
                            VKR_BENCH_MAX_SIZES, text);
            return false;
        }
        sizes[count++] = (uint32_t)v;
        p = *end ? end + 1 : end;
    }
    if (count == 0) {
        cli_usage_error("bench", "--sizes expects at least one size");
        return false;
    }
    *out_count = count;
    return true;
}

int cli_cmd_bench(int argc, char** argv) {
    const char* json_path = NULL;
    const char* selector = NULL;
    unsigned runs = 7, warmup = 2;
    bool quiet = false;
    bool selected[suite_count] = {0};
    uint32_t sizes[VKR_BENCH_MAX_SIZES] = {0}, size_count = 0;
    bool any = false;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (strcmp(a, "--json") == 0) {
            if (!(json_path = cli_value("bench", argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--device") == 0) {
            if (!(selector = cli_value("bench", argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--runs") == 0 || strcmp(a, "--warmup") == 0) {
            const char* v = cli_value("bench", argc, argv, &i);
            if (!v) return CLI_USAGE;
            if (strcmp(a, "--warmup") == 0 && strcmp(v, "0") == 0) warmup = 0;
            else if (!cli_parse_uint("bench", a, v, a[2] == 'r' ? &runs : &warmup)) return CLI_USAGE;
        } else if (strcmp(a, "--sizes") == 0) {
            const char* v = cli_value("bench", argc, argv, &i);
            if (!v || !parse_sizes(v, sizes, &size_count)) return CLI_USAGE;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--list") == 0) {
            for (int k = 0; k < suite_count; k++) printf("%-10s %s\n", suites[k].name, suites[k].what);
            return CLI_OK;
        } else if (a[0] == '-') {
            return cli_usage_error("bench", "unknown option '%s'", a);
        } else {
            int k = 0;
            while (k < suite_count && strcmp(suites[k].name, a) != 0) k++;
            if (k == suite_count) return cli_usage_error("bench", "unknown suite '%s' ('vkrec bench --list' lists them)", a);
            selected[k] = any = true;
        }
    }
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    vkr_status s = cli_open_device(selector, &inst, &dev);
    if (s != VKR_OK) return cli_fail("bench", s);

    const vkr_device_info* info = vkr_device_get_info(dev);
    cJSON* root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "vkrec", vkr_version());
    cJSON_AddItemToObject(root, "device", cli_device_json(info));
    vkr_bench b = {.dev = dev, .runs = runs, .warmup = warmup, .quiet = quiet,
                   .results = cJSON_AddArrayToObject(root, "results"), .size_count = size_count};
    memcpy(b.sizes, sizes, sizeof sizes);
    if (!quiet) printf("vkrec bench on %s (%s), %u runs after %u warm-up\n", info->name, vkr_device_type_name(info->type),
                       runs, warmup);
    for (int k = 0; k < suite_count && s == VKR_OK; k++)
        if (!any || selected[k]) s = suites[k].run(&b);
    int rc = CLI_OK;
    if (s != VKR_OK) rc = cli_fail("bench", s);
    if (rc == CLI_OK && json_path) {
        s = cli_write_json(root, json_path);
        if (s != VKR_OK) rc = cli_fail("bench", s);
        else if (!quiet) printf("wrote %s\n", json_path);
    }
    cJSON_Delete(root);
    cli_close_device(inst, dev);
    return rc;
}
