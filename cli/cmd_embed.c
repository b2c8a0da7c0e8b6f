/* vkrec embed: item embeddings of a dataset directory into DIR/item_emb.npy. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "vkr_fileio.h"
#include "cli_stages.h"
#include "vkr_embed.h"

/* What `vkrec embed` reads from its command line. */
typedef struct embed_args {
    cli_embed_options o; /* the stage's options */
    int source;          /* --source: index into cli_embed_source_choices */
} embed_args;

const char* const cli_embed_source_choices[] = {"auto", "text", "cooc", "both", NULL};
static const cli_positional embed_positionals[] = {{"DIR", "a dataset directory", offsetof(embed_args, o.dir), 1, 1}};
static const cli_option embed_opts[] = {
    CLI_CHOICE(COMMAND, "--source", embed_args, source, cli_embed_source_choices, "auto",
               "text: TF-IDF; cooc: PPMI co-occurrence; both: the two side by side; auto: text where an item has it"),
    CLI_UINT(COMMAND, "--dim", "N", embed_args, o.embed.svd.dim, 1, 4096, "64", "embedding size"),
    CLI_STRING(COMMAND, "--import", "FILE.npy", embed_args, o.import, NULL,
               "take float32/float16 items x d vectors from any encoder instead"),
    CLI_STRING(COMMAND, "--ids", "FILE", embed_args, o.ids, NULL,
               "with --import: line k is the item key of row k (default: rows in item order)"),
    CLI_UINT(COMMAND, "--window", "N", embed_args, o.embed.window, 1, CLI_UINT_LIMIT, "5",
             "co-occurrence window in events"),
    CLI_UINT(COMMAND, "--min-df", "N", embed_args, o.embed.tfidf.min_df, 1, CLI_UINT_LIMIT, "2",
             "TF-IDF: least documents per term"),
    CLI_UINT(COMMAND, "--max-features", "N", embed_args, o.embed.tfidf.max_features, 1, CLI_UINT_LIMIT, "65536",
             "TF-IDF vocabulary size"),
    CLI_UINT(COMMAND, "--power-iters", "N", embed_args, o.embed.svd.power_iters, 1, CLI_UINT_LIMIT, "4",
             "randomized SVD power iterations"),
};
static const cli_option* const embed_shared[] = {&cli_opt_seed, &cli_opt_device, &cli_opt_quiet, NULL};
const cli_spec cli_embed_spec = {
    .name = "embed",
    .description =
        "  Writes DIR/item_emb.npy (items x dim float32, row i = item i, rows L2-normalized) and item_emb.json.\n"
        "  text: TF-IDF of titles and text (word uni- and bi-grams, sublinear tf), truncated SVD;\n"
        "  cooc: PPMI item-item co-occurrence of training interactions, truncated SVD;\n"
        "  both: text in the first dim/2 columns, co-occurrence in the rest (each part unit length);\n"
        "  auto (default): text where an item has it, co-occurrence otherwise (counts are printed).\n"
        "  --seed seeds the randomized SVD's test matrix.",
    CLI_POSITIONALS(embed_positionals),
    CLI_OWN_OPTIONS(embed_opts),
    .shared = embed_shared,
    .defaults = (const char* const[]){"--seed", "1", NULL},
};

vkr_status cli_stage_embed(vkr_device* dev, const cli_embed_options* opt) {
    const vkr_embed_options o = opt->embed;
    const char* dir = opt->dir;
    const bool quiet = opt->quiet;
    bool tty = !quiet && isatty(fileno(stderr));
    vkr_dataset d;
    VKR_TRY(vkr_dataset_load(dir, &d));
    vkr_status s = VKR_OK;
    float* emb = NULL;
    uint32_t dim = 0;
    cJSON* info = cJSON_CreateObject();
    const char *import = opt->import, *ids = opt->ids;
    if (import) {
        uint32_t unknown = 0;
        s = vkr_embed_import(&d, import, ids, &emb, &dim, &unknown);
        if (s == VKR_OK && !quiet)
            printf("imported %u x %u from %s%s", d.item_count, dim, import, unknown ? "" : "\n");
        if (s == VKR_OK && !quiet && unknown) printf(" (%u rows for items not in the dataset ignored)\n", unknown);
        cJSON_AddStringToObject(info, "source", "import");
        cJSON_AddStringToObject(info, "file", import);
        cJSON_AddNumberToObject(info, "ignored_rows", unknown);
    } else {
        dim = o.svd.dim;
        emb = malloc(sizeof(float) * d.item_count * dim + 1);
        if (!emb) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u x %u embeddings",
                                              d.item_count, dim);
        vkr_embed_report rep = {0};
        if (tty && s == VKR_OK) fprintf(stderr, "embedding %u items (%s) on %s...\r", d.item_count, cli_embed_source_choices[o.source],
                                        cli_backend_name(dev));
        if (s == VKR_OK) s = vkr_embed_items(dev, &d, &o, emb, &rep);
        if (tty) fprintf(stderr, "%100s\r", "");
        if (s == VKR_OK && !quiet) {
            printf("embedded %u items in %u dimensions on %s in %.2f s\n", d.item_count, dim, cli_backend_name(dev),
                   rep.seconds);
            if (rep.vocabulary) printf("  text: %u items (TF-IDF %u terms, %llu entries)\n", rep.text_items, rep.vocabulary,
                                       (unsigned long long)rep.text_nnz);
            if (rep.cooc_nnz || o.source != VKR_EMBED_TEXT)
                printf("  co-occurrence: %u items (PPMI %llu entries)\n", rep.cooc_items, (unsigned long long)rep.cooc_nnz);
            if (rep.zero_items) printf("  %u items had neither text nor co-occurrences: zero vectors\n", rep.zero_items);
        }
        cJSON_AddStringToObject(info, "source", cli_embed_source_choices[o.source]);
        cJSON_AddNumberToObject(info, "text_items", rep.text_items);
        cJSON_AddNumberToObject(info, "cooc_items", rep.cooc_items);
        cJSON_AddNumberToObject(info, "zero_items", rep.zero_items);
        cJSON_AddNumberToObject(info, "vocabulary", rep.vocabulary);
        cJSON_AddNumberToObject(info, "seconds", rep.seconds);
        cJSON_AddStringToObject(info, "device", cli_backend_name(dev));
    }
    cJSON_AddNumberToObject(info, "items", d.item_count);
    cJSON_AddNumberToObject(info, "dim", dim);
    if (s == VKR_OK) s = vkr_embed_save(dir, emb, d.item_count, dim);
    if (s == VKR_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/item_emb.json", dir);
        s = vkr_json_write(info, path);
    }
    if (s == VKR_OK && !quiet)
        printf("wrote %s/item_emb.npy (%u x %u float32, row i = item i)\n", dir, d.item_count, dim);
    cJSON_Delete(info);
    free(emb);
    vkr_dataset_free(&d);
    return s;
}

int cli_cmd_embed(int argc, char** argv) {
    const char* cmd = "embed";
    cli_common com = {0};
    embed_args a = {.o.embed = {.source = VKR_EMBED_AUTO, .svd = {.dim = CLI_EMBED_DIM}}};
    if (cli_parse(&cli_embed_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    if (a.o.ids && !a.o.import) return cli_usage_error(cmd, "--ids goes with --import");
    a.o.embed.source = (vkr_embed_source)a.source;
    if (com.seed) a.o.embed.svd.seed = com.seed;
    a.o.quiet = com.quiet;
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    vkr_status s = a.o.import ? VKR_OK : cli_open_backend(com.device, &inst, &dev);
    if (s == VKR_OK) s = cli_stage_embed(dev, &a.o);
    cli_close_device(inst, dev);
    return s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
}
