/* vkrec bench: headless benchmark mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "cli_json.h"
#include "cli_output.h"
#include "vkr_dist.h"
#include "vkr_fileio.h"

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
    {"dp", "data-parallel SASRec step (batch 256 split over this mpirun launch's ranks): seq/s, bytes all-reduced",
     vkr_bench_suite_dp},
    {"spmm", "LightGCN propagation GFLOP/s (12.6k nodes, 120k entries, D = 64): product and 3 layers fwd+bwd beside the CPU", vkr_bench_suite_spmm},
    {"ew", "elementwise, reduction and row kernels of a SASRec step (12,800 x 64) in Gelem/s beside the CPU references", vkr_bench_suite_ew},
};
enum { suite_count = sizeof suites / sizeof suites[0] };

/* What `vkrec bench` reads from its command line. */
typedef struct bench_args {
    cli_str_list suites; /* suites named (none: all) */
    uint32_t runs;       /* --runs */
    uint32_t warmup;     /* --warmup */
    cli_uint_list sizes; /* --sizes */
    cli_uint_list ranks; /* --ranks */
    bool list;           /* --list */
} bench_args;

static const cli_positional bench_positionals[] = {{"SUITE", "a suite", offsetof(bench_args, suites), 0, suite_count}};
static const cli_option bench_opts[] = {
    CLI_UINT(COMMAND, "--runs", "N", bench_args, runs, 1, CLI_UINT_LIMIT, "7", "timed repetitions per result"),
    CLI_UINT(COMMAND, "--warmup", "N", bench_args, warmup, 0, CLI_UINT_LIMIT, "2", "untimed repetitions first"),
    CLI_UINTS(COMMAND, "--sizes", "N,...", bench_args, sizes, 1, 10000000, VKR_BENCH_MAX_SIZES, NULL,
              "problem sizes for suites that take them (tsne: points, default 2000,5000,10000)"),
    CLI_UINTS(COMMAND, "--ranks", "N,...", bench_args, ranks, 1, 1024, VKR_BENCH_MAX_SIZES, NULL,
              "train: data-parallel scaling instead, one mpirun -np N launch per value (e.g. 1,2)"),
    CLI_FLAG(COMMAND, "--list", bench_args, list, "list the suites and exit"),
};
static const cli_option* const bench_shared[] = {&cli_opt_json_file, &cli_opt_gpu, &cli_opt_quiet, &cli_opt_force, NULL};
const cli_spec cli_bench_spec = {
    .name = "bench",
    .description = "  Runs benchmark suites (all when none is named) and prints median/min/max per result, with the\n"
                   "  CPU peer measured in the same run and the ratio (above 1 means vkrec is ahead).\n"
                   "  --json FILE is written to a temporary file beside it, then renamed.",
    CLI_POSITIONALS(bench_positionals),
    CLI_OWN_OPTIONS(bench_opts),
    .shared = bench_shared,
};

int cli_cmd_bench(int argc, char** argv) {
    cli_common com = {0};
    bench_args a = {.runs = 7, .warmup = 2};
    if (cli_parse(&cli_bench_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    if (a.list) {
        for (int k = 0; k < suite_count; k++) printf("%-10s %s\n", suites[k].name, suites[k].what);
        return CLI_OK;
    }
    bool selected[suite_count] = {0}, any = a.suites.count > 0;
    for (uint32_t j = 0; j < a.suites.count; j++) {
        int k = 0;
        while (k < suite_count && strcmp(suites[k].name, a.suites.v[j]) != 0) k++;
        if (k == suite_count)
            return cli_usage_error("bench", "unknown suite '%s' ('vkrec bench --list' lists them)", a.suites.v[j]);
        selected[k] = true;
    }
    /* under mpirun the ranks would time each other: only the data-parallel suite belongs there */
    for (int k = 0; k < suite_count && vkr_dist_size() > 1; k++)
        if ((!any || selected[k]) && strcmp(suites[k].name, "dp") != 0)
            return cli_usage_error("bench", "under mpirun only the dp suite runs ('%s' would be timed against the other "
                                   "ranks); bench train --ranks starts its own launches", suites[k].name);
    const char* json_path = com.json_file;
    if (json_path && cli_output_check("bench", "--json", json_path, NULL, 0, CLI_OUTPUT_JSON, NULL, com.force) != CLI_OK)
        return CLI_USAGE;
    const unsigned runs = a.runs, warmup = a.warmup;
    const bool quiet = com.quiet;
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    vkr_status s = cli_open_device(com.device, &inst, &dev);
    if (s != VKR_OK) return cli_fail("bench", s);

    const vkr_device_info* info = vkr_device_get_info(dev);
    cJSON* root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "vkrec", vkr_version());
    cJSON_AddItemToObject(root, "device", cli_device_json(info));
    vkr_bench b = {.dev = dev, .runs = runs, .warmup = warmup, .quiet = quiet,
                   .results = cJSON_AddArrayToObject(root, "results"), .size_count = a.sizes.count,
                   .rank_count = a.ranks.count, .device_selector = com.device ? com.device : ""};
    memcpy(b.sizes, a.sizes.v, sizeof b.sizes);
    memcpy(b.ranks, a.ranks.v, sizeof b.ranks);
    if (!quiet) printf("vkrec bench on %s (%s), %u runs after %u warm-up\n", info->name, vkr_device_type_name(info->type),
                       runs, warmup);
    for (int k = 0; k < suite_count && s == VKR_OK; k++)
        if (!any || selected[k]) s = suites[k].run(&b);
    int rc = CLI_OK;
    if (s != VKR_OK) rc = cli_fail("bench", s);
    if (rc == CLI_OK && json_path && cli_is_lead()) {
        s = vkr_json_write(root, json_path);
        if (s != VKR_OK) rc = cli_fail("bench", s);
        else if (!quiet) printf("wrote %s\n", json_path);
    }
    cJSON_Delete(root);
    cli_close_device(inst, dev);
    return rc;
}
