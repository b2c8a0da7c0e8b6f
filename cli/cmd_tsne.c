/* vkrec tsne: a 2-D t-SNE map of an embedding matrix on the GPU, written as .npy and CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_output.h"
#include "vkr_file.h"
#include "vkr_tsne.h"
#include "vkr_tsne_io.h"

/* What `vkrec tsne` reads from its command line. */
typedef struct tsne_args {
    const char* input;  /* .npy or directory */
    const char* out;    /* --out MAP.npy */
    const char* emb;    /* --emb */
    const char* data;   /* --data */
    vkr_tsne_options o; /* the run's settings */
    int method;         /* --method: index into method_choices (the vkr_tsne_method order) */
    int init;           /* --init: index into init_choices (the vkr_tsne_init order) */
} tsne_args;

static const char* const method_choices[] = {"auto", "exact", "fft", NULL};
static const char* const init_choices[] = {"pca", "random", NULL};
static const cli_positional tsne_positionals[] = {
    {"INPUT", "an input (.npy file or directory)", offsetof(tsne_args, input), 1, 1}};
#define TSNE_POSITIVE(NAME, META, FIELD, DEF, HELP) \
    CLI_FLOAT(COMMAND, NAME, META, tsne_args, o.FIELD, 0, 1e9, CLI_MIN_OPEN, DEF, HELP)
static const cli_option tsne_opts[] = {
    CLI_STRING(COMMAND, "--out", "MAP.npy", tsne_args, out, "INPUT/tsne.npy for a directory",
               "the map; MAP.csv beside it"),
    TSNE_POSITIVE("--perplexity", "P", perplexity, "30", "target perplexity"),
    CLI_UINT(COMMAND, "--iters", "N", tsne_args, o.iterations, 1, CLI_UINT_LIMIT, "1000", "iterations"),
    CLI_UINT(COMMAND, "--early-iters", "N", tsne_args, o.exaggeration_iters, 1, CLI_UINT_LIMIT, "250",
             "iterations with early exaggeration"),
    TSNE_POSITIVE("--exaggeration", "A", exaggeration, "12", "early exaggeration"),
    TSNE_POSITIVE("--lr", "R", learning_rate, "auto: max(N/48, 50)", "learning rate on the true gradient"),
    CLI_CHOICE(COMMAND, "--method", tsne_args, method, method_choices, "auto",
               "exact (O(N^2) tiles) or fft (FFT interpolation, O(N))"),
    CLI_UINT(
        COMMAND, "--max-grid", "L", tsne_args, o.fft_max_grid, 1, CLI_UINT_LIMIT, "512 on a CPU driver, 1024 on a GPU",
        "cap on the FFT grid side, a power of two in [64, 1024]; 256 halves the time on a CPU at a slightly higher KL"),
    CLI_CHOICE(COMMAND, "--init", tsne_args, init, init_choices, "pca", "initial layout"),
    CLI_STRING(COMMAND, "--emb", "FILE", tsne_args, emb, "item_emb.npy", "embedding file inside a directory INPUT"),
    CLI_STRING(COMMAND, "--data", "DIR", tsne_args, data, NULL,
               "dataset directory for labels (default: INPUT when it is one)"),
};
#undef TSNE_POSITIVE
static const cli_option* const tsne_shared[] = {&cli_opt_seed, &cli_opt_gpu, &cli_opt_quiet, &cli_opt_force, NULL};
const cli_spec cli_tsne_spec = {
    .name = "tsne",
    .description =
        "  INPUT: an N x D .npy (float32/float16) or a directory with item_emb.npy; a dataset directory adds\n"
        "  each item's key, domain and title to the CSV. Writes MAP.npy (N x 2 float32) and MAP.csv\n"
        "  (item,key,domain,title,x,y). kNN graph (3 x perplexity neighbours, GPU brute force), per-point\n"
        "  sigma search, symmetric sparse P, early exaggeration, momentum 0.5 -> 0.8, gains; prints the\n"
        "  final KL divergence. MAP.npy and MAP.csv are replaced together, only after both are written;\n"
        "  never over an input, and over existing files only when they are a map and its CSV (else --force).",
    CLI_POSITIONALS(tsne_positionals),
    CLI_OWN_OPTIONS(tsne_opts),
    .shared = tsne_shared,
    .defaults = (const char* const[]){"--seed", "1", NULL},
};

/* Writes the map's .npy and .csv as one unit: both replaced, or neither (a full disk, a failed write). */
static vkr_status tsne_commit(const char* out, const char* csv, const float* y, const vkr_tsne_input* in) {
    vkr_stage st;
    vkr_stage_init(&st);
    const char *tmp_npy = NULL, *tmp_csv = NULL;
    char dir[VKR_FILE_MAX_PATH + 1];
    vkr_parent_dir(out, dir, sizeof dir);
    VKR_TRY(vkr_temps_clean(dir, NULL)); /* a killed earlier run's */
    vkr_status s = vkr_stage_add(&st, out, &tmp_npy);
    if (s == VKR_OK) s = vkr_stage_add(&st, csv, &tmp_csv);
    if (s == VKR_OK) s = vkr_tsne_save(tmp_npy, tmp_csv, y, in->n, in->has_dataset ? &in->dataset : NULL);
    if (s == VKR_OK) return vkr_stage_commit(&st);
    vkr_stage_abort(&st);
    return s;
}

int cli_cmd_tsne(int argc, char** argv) {
    const char* cmd = "tsne";
    cli_common com = {0};
    tsne_args a = {0};
    if (cli_parse(&cli_tsne_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    const char *input = a.input, *out = a.out, *emb = a.emb, *data = a.data, *selector = com.device;
    const bool quiet = com.quiet;
    vkr_tsne_options o = a.o;
    o.method = (vkr_tsne_method)a.method;
    o.init = (vkr_tsne_init)a.init;
    o.seed = com.seed;
    size_t in_len = strlen(input);
    bool npy_input = in_len > 4 && strcmp(input + in_len - 4, ".npy") == 0;
    if (!out && npy_input) return cli_usage_error(cmd, "--out is required for a .npy input");
    char out_buf[4200], csv[4200];
    if (!out) {
        snprintf(out_buf, sizeof out_buf, "%s/tsne.npy", input);
        out = out_buf;
    }
    size_t out_len = strlen(out);
    if (out_len < 5 || strcmp(out + out_len - 4, ".npy") != 0) return cli_usage_error(cmd, "--out must end in .npy");
    snprintf(csv, sizeof csv, "%.*s.csv", (int)(out_len - 4), out);
    char emb_path[4200];
    snprintf(emb_path, sizeof emb_path, "%s/%s", input, emb);
    const char* inputs[] = {input, emb_path, data};
    if (cli_output_check(cmd, "--out", out, inputs, 3, CLI_OUTPUT_MAP, NULL, com.force) != CLI_OK ||
        cli_output_check(cmd, "--out (its .csv)", csv, inputs, 3, CLI_OUTPUT_CSV, VKR_TSNE_CSV_HEADER, com.force) != CLI_OK)
        return CLI_USAGE;
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_tsne_input in;
    vkr_status s = vkr_tsne_input_load(input, emb, data, &in);
    if (s != VKR_OK) return cli_fail(cmd, s);
    if (in.n < 2) {
        vkr_tsne_input_free(&in);
        return cli_usage_error(cmd, "%s has %u row; t-SNE needs at least 2", in.source, in.n);
    }
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    s = cli_open_device(selector, &inst, &dev);
    float* y = s == VKR_OK ? malloc(sizeof(float) * 2 * in.n) : NULL;
    if (s == VKR_OK && !y) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u points", in.n);
    o.progress = !quiet && isatty(fileno(stderr));
    vkr_tsne_report rep = {0};
    if (s == VKR_OK) s = vkr_tsne_run(dev, in.x, in.n, in.d, &o, y, &rep);
    if (s == VKR_OK) s = tsne_commit(out, csv, y, &in);
    int rc = s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
    if (rc == CLI_OK && !quiet) {
        printf("t-SNE of %u x %u (%s) on %s: %s repulsion, k = %u, lr %.1f\n", in.n, in.d, in.source,
               vkr_device_get_info(dev)->name, vkr_tsne_method_name(rep.method), rep.k, rep.learning_rate);
        printf("  KL divergence %.4f (%s), %.2f s (affinities %.2f s)\n", rep.kl, rep.kl_exact ? "exact" : "approximate",
               rep.seconds, rep.affinity_seconds);
        printf("wrote %s and %s\n", out, csv);
    }
    free(y);
    vkr_tsne_input_free(&in);
    if (dev) cli_close_device(inst, dev);
    return rc;
}
