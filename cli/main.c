/* vkrec: generative cross-domain recommendation on Vulkan compute. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"
#include "vkr_dist.h"

static const cli_command commands[] = {
    {"devices", "list Vulkan devices and their capabilities", &cli_devices_spec, cli_cmd_devices},
    {"run", "the main job: prepare, embed, tokenize, train and evaluate every model, write a report", &cli_run_spec,
     cli_cmd_run},
    {"train", "train a recommender (pop, sasrec, gencdr) per target domain and evaluate it (HR/NDCG/MRR)",
     &cli_train_spec, cli_cmd_train},
    {"recommend", "a user's top items from a trained model's checkpoint, with titles", &cli_recommend_spec,
     cli_cmd_recommend},
    {"bench", "headless benchmarks with a CPU peer in the same run, JSON out", &cli_bench_spec, cli_cmd_bench},
    {"prepare", "read a cross-domain release or dump, preprocess, write a dataset directory", &cli_prepare_spec,
     cli_cmd_prepare},
    {"stats", "counts of a prepared dataset (users, items, interactions, overlap, splits, text)", &cli_stats_spec,
     cli_cmd_stats},
    {"embed", "item embeddings (TF-IDF or co-occurrence + randomized SVD on the GPU, or import)", &cli_embed_spec,
     cli_cmd_embed},
    {"tokenize", "semantic IDs: RQ-VAE (GPU k-means init, optional domain adapters), residual k-means, random or "
     "term IDs", &cli_tokenize_spec, cli_cmd_tokenize},
    {"ablate", "ablate ids: every semantic-ID scheme x GenCDR task mix, one table and a map per scheme",
     &cli_ablate_spec, cli_cmd_ablate},
    {"trie", "prefix trie of the semantic IDs (global or one domain): node counts, branching, lookups",
     &cli_trie_spec, cli_cmd_trie},
    {"tsne", "2-D t-SNE map of an embedding matrix on the GPU (.npy + CSV)", &cli_tsne_spec, cli_cmd_tsne},
    {"align", "domain-alignment measure: how mixed the domains are among nearest neighbours", &cli_align_spec,
     cli_cmd_align},
    {"categories", "domain-agnostic semantic categories (k-means after removing domain directions, or import)",
     &cli_categories_spec, cli_cmd_categories},
    {"view", "interactive viewer of t-SNE maps and the semantic-ID trie (SDL2), or headless PNG", &cli_view_spec,
     cli_cmd_view},
};
static const size_t command_count = sizeof commands / sizeof commands[0];

static const cli_command* find_command(const char* name) {
    for (size_t i = 0; i < command_count; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void print_overview(FILE* f) {
    fprintf(f, "vkrec %s: generative cross-domain recommendation on Vulkan compute\n\n", vkr_version());
    fprintf(f, "usage: vkrec COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < command_count; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-10s %s\n", "help", "show help for a command");
    fprintf(f, "\nenvironment: VKR_DEVICE (device index or name), VKR_VALIDATE=1 (validation layer),\n"
               "VKR_PROFILE=1 (per-kernel timing table at exit), VKR_TIMEOUT (seconds per submission)\n");
}

int cli_usage_error(const char* command, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vkrec %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'vkrec help %s')\n", command);
    va_end(ap);
    return CLI_USAGE;
}

int cli_fail(const char* command, vkr_status status) {
    fprintf(stderr, "vkrec %s: %s: %s\n", command, vkr_status_name(status), vkr_last_error());
    return CLI_FAILED;
}

/* An empty --device would silently mean "the default": say so instead. */
static vkr_status check_selector(const char* selector) {
    return selector && !*selector ? vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--device is empty: give a device index, a "
                                             "device name or cpu (or leave it out for VKR_DEVICE or the best)")
                                  : VKR_OK;
}

/* A comma-separated --device list gives each data-parallel rank of a node its entry, in turn by
 * local rank (e.g. 0,1 or cpu,cpu); a single entry serves every rank. */
static const char* rank_selector(const char* selector, char* buf, size_t size) {
    if (!selector || !strchr(selector, ',')) return selector;
    uint32_t n = 1;
    for (const char* p = selector; *p; p++) n += *p == ',';
    uint32_t want = vkr_dist_local_rank() % n;
    const char* p = selector;
    for (uint32_t k = 0; k < want; k++) p = strchr(p, ',') + 1;
    size_t len = strcspn(p, ",");
    snprintf(buf, size, "%.*s", (int)(len < size ? len : size - 1), p);
    return buf;
}

vkr_status cli_open_device(const char* selector, vkr_instance** out_instance, vkr_device** out_device) {
    *out_instance = NULL;
    *out_device = NULL;
    char buf[256];
    selector = rank_selector(selector, buf, sizeof buf);
    VKR_TRY(check_selector(selector));
    return vkr_open_default(selector, out_instance, out_device);
}

vkr_status cli_open_backend(const char* selector, vkr_instance** out_instance, vkr_device** out_device) {
    *out_instance = NULL;
    *out_device = NULL;
    char buf[256];
    selector = rank_selector(selector, buf, sizeof buf);
    if (selector && strcmp(selector, "cpu") == 0) return VKR_OK;
    return cli_open_device(selector, out_instance, out_device);
}

const char* cli_backend_name(const vkr_device* device) {
    return device ? vkr_device_get_info(device)->name : "cpu";
}

void cli_close_device(vkr_instance* instance, vkr_device* device) {
    vkr_device_destroy(device);
    if (instance && vkr_instance_validation_enabled(instance) &&
        (vkr_instance_validation_errors(instance) || vkr_instance_validation_warnings(instance)))
        fprintf(stderr, "vkrec: validation reported %llu error(s) and %llu warning(s)\n",
                (unsigned long long)vkr_instance_validation_errors(instance),
                (unsigned long long)vkr_instance_validation_warnings(instance));
    vkr_instance_destroy(instance);
}

/* Runs a command in every rank of an MPI launch (a world of one otherwise). Rank 0 alone prints and
 * writes; the others' stdout and stderr go to /dev/null, and a failing rank's message goes to the
 * launcher's stderr naming the rank before the whole job is ended (the others would wait forever in
 * their next collective). */
static int run_ranked(const cli_command* c, int argc, char** argv) {
    if (vkr_dist_init(&argc, &argv) != VKR_OK) {
        fprintf(stderr, "vkrec %s: %s\n", c->name, vkr_last_error());
        return CLI_FAILED;
    }
    if (vkr_dist_size() == 1) {
        int rc = c->run(argc - 1, argv + 1);
        vkr_dist_finalize();
        return rc;
    }
    /* the other commands would only repeat the same work N times and race for their outputs' locks */
    if (strcmp(c->name, "train") != 0 && strcmp(c->name, "run") != 0 && strcmp(c->name, "bench") != 0) {
        if (cli_is_lead())
            fprintf(stderr, "vkrec %s: not data-parallel (train, run and bench are): run it once, without mpirun\n",
                    c->name);
        vkr_dist_finalize();
        return CLI_USAGE;
    }
    int err = -1;
    if (!cli_is_lead()) {
        int null = open("/dev/null", O_WRONLY);
        fflush(stdout);
        fflush(stderr);
        err = null >= 0 ? dup(STDERR_FILENO) : -1;
        if (err >= 0 && (dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)) err = -1;
        if (null >= 0) close(null);
    }
    int rc = c->run(argc - 1, argv + 1);
    if (rc != CLI_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "'vkrec %s' exited with status %d%s", c->name, rc,
                 cli_is_lead() ? " (its error is above)" : "");
        if (err >= 0 && dup2(err, STDERR_FILENO) >= 0) {
            clearerr(stderr);
            fprintf(stderr, "vkrec %s: %s\n", c->name, vkr_last_error());
        }
        vkr_dist_abort(msg);
    }
    vkr_dist_finalize();
    return rc;
}

bool cli_is_lead(void) { return vkr_dist_rank() == 0; }

int main(int argc, char** argv) {
    if (argc < 2) {
        print_overview(stderr);
        return CLI_USAGE;
    }
    const char* cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("vkrec %s\n", vkr_version());
        return CLI_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc < 3) {
            print_overview(stdout);
            return CLI_OK;
        }
        const cli_command* c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "vkrec help: unknown command '%s'; 'vkrec help' lists them\n", argv[2]);
            return CLI_USAGE;
        }
        cli_print_help(c->spec, stdout);
        return CLI_OK;
    }
    const cli_command* c = find_command(cmd);
    if (!c) {
        fprintf(stderr, "vkrec: unknown command '%s'; 'vkrec help' lists them\n", cmd);
        return CLI_USAGE;
    }
    if (vkr_env_check() != VKR_OK) {
        fprintf(stderr, "vkrec %s: %s\n", cmd, vkr_last_error());
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_help(c->spec, stdout);
            return CLI_OK;
        }
    return run_ranked(c, argc, argv);
}
