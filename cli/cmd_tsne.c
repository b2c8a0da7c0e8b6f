/* vkrec tsne: a 2-D t-SNE map of an embedding matrix on the GPU, written as .npy and CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vkr_tsne.h"
#include "vkr_tsne_io.h"

/* Parses a positive float option value. */
static bool parse_float(const char* cmd, const char* opt, const char* text, float* out) {
    char* end = NULL;
    float v = strtof(text, &end);
    if (!*text || *end || !(v > 0) || v > 1e9f) {
        cli_usage_error(cmd, "%s expects a positive number, got '%s'", opt, text);
        return false;
    }
    *out = v;
    return true;
}

int cli_cmd_tsne(int argc, char** argv) {
    const char* cmd = "tsne";
    const char *input = NULL, *out = NULL, *emb = NULL, *data = NULL, *selector = NULL;
    bool quiet = false;
    vkr_tsne_options o = {0};
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = NULL;
        unsigned u = 0;
        if (strcmp(a, "--out") == 0) {
            if (!(out = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--emb") == 0) {
            if (!(emb = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--data") == 0) {
            if (!(data = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--device") == 0) {
            if (!(selector = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--perplexity") == 0 || strcmp(a, "--lr") == 0 || strcmp(a, "--exaggeration") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            float* dst = a[2] == 'p' ? &o.perplexity : a[2] == 'l' ? &o.learning_rate : &o.exaggeration;
            if (!parse_float(cmd, a, v, dst)) return CLI_USAGE;
        } else if (strcmp(a, "--iters") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--early-iters") == 0 ||
                   strcmp(a, "--max-grid") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i)) || !cli_parse_uint(cmd, a, v, &u)) return CLI_USAGE;
            if (a[2] == 'i') o.iterations = u;
            else if (a[2] == 's') o.seed = u;
            else if (a[2] == 'm') o.fft_max_grid = u;
            else o.exaggeration_iters = u;
        } else if (strcmp(a, "--method") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(v, "exact") == 0) o.method = VKR_TSNE_EXACT;
            else if (strcmp(v, "fft") == 0) o.method = VKR_TSNE_FFT;
            else if (strcmp(v, "auto") == 0) o.method = VKR_TSNE_AUTO;
            else return cli_usage_error(cmd, "--method expects exact, fft or auto, got '%s'", v);
        } else if (strcmp(a, "--init") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(v, "pca") == 0) o.init = VKR_TSNE_INIT_PCA;
            else if (strcmp(v, "random") == 0) o.init = VKR_TSNE_INIT_RANDOM;
            else return cli_usage_error(cmd, "--init expects pca or random, got '%s'", v);
        } else if (a[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (input) {
            return cli_usage_error(cmd, "one input expected (got '%s' and '%s')", input, a);
        } else {
            input = a;
        }
    }
    if (!input) return cli_usage_error(cmd, "an input (.npy file or directory) is required");
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
    if (s == VKR_OK) s = vkr_tsne_save(out, csv, y, in.n, in.has_dataset ? &in.dataset : NULL);
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
