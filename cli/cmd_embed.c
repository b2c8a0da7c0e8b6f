/* vkrec embed: item embeddings of a dataset directory into DIR/item_emb.npy. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "vkr_embed.h"

static const char* source_name(vkr_embed_source s) {
    return s == VKR_EMBED_TEXT ? "text" : s == VKR_EMBED_COOC ? "cooc" : "auto";
}

int cli_cmd_embed(int argc, char** argv) {
    const char* cmd = "embed";
    const char *dir = NULL, *import = NULL, *ids = NULL, *selector = NULL;
    bool quiet = false;
    vkr_embed_options o = {.source = VKR_EMBED_AUTO, .svd = {.dim = 64}};
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = NULL;
        unsigned n = 0;
        if (strcmp(a, "--source") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(v, "text") == 0) o.source = VKR_EMBED_TEXT;
            else if (strcmp(v, "cooc") == 0) o.source = VKR_EMBED_COOC;
            else if (strcmp(v, "auto") == 0) o.source = VKR_EMBED_AUTO;
            else return cli_usage_error(cmd, "--source expects text, cooc or auto, got '%s'", v);
        } else if (strcmp(a, "--import") == 0) {
            if (!(import = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--ids") == 0) {
            if (!(ids = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--device") == 0) {
            if (!(selector = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--dim") == 0 || strcmp(a, "--window") == 0 || strcmp(a, "--min-df") == 0 ||
                   strcmp(a, "--max-features") == 0 || strcmp(a, "--power-iters") == 0 || strcmp(a, "--seed") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i)) || !cli_parse_uint(cmd, a, v, &n)) return CLI_USAGE;
            if (a[2] == 'd') o.svd.dim = n;
            else if (a[2] == 'w') o.window = n;
            else if (a[2] == 'm' && a[3] == 'i') o.tfidf.min_df = n;
            else if (a[2] == 'm') o.tfidf.max_features = n;
            else if (a[2] == 'p') o.svd.power_iters = n;
            else o.svd.seed = n;
        } else if (a[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (dir) {
            return cli_usage_error(cmd, "one dataset directory expected (got '%s' and '%s')", dir, a);
        } else {
            dir = a;
        }
    }
    if (!dir) return cli_usage_error(cmd, "a dataset directory is required");
    if (ids && !import) return cli_usage_error(cmd, "--ids goes with --import");
    if (o.svd.dim > 4096) return cli_usage_error(cmd, "--dim must be at most 4096");
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
    bool tty = !quiet && isatty(fileno(stderr));
    vkr_dataset d;
    vkr_status s = vkr_dataset_load(dir, &d);
    if (s != VKR_OK) return cli_fail(cmd, s);
    float* emb = NULL;
    uint32_t dim = 0;
    cJSON* info = cJSON_CreateObject();
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
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
        s = cli_open_device(selector, &inst, &dev);
        dim = o.svd.dim;
        emb = s == VKR_OK ? malloc(sizeof(float) * d.item_count * dim + 1) : NULL;
        if (s == VKR_OK && !emb) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u x %u embeddings",
                                              d.item_count, dim);
        vkr_embed_report rep = {0};
        if (tty && s == VKR_OK) fprintf(stderr, "embedding %u items (%s) on %s...\r", d.item_count, source_name(o.source),
                                        vkr_device_get_info(dev)->name);
        if (s == VKR_OK) s = vkr_embed_items(dev, &d, &o, emb, &rep);
        if (tty) fprintf(stderr, "%100s\r", "");
        if (s == VKR_OK && !quiet) {
            printf("embedded %u items in %u dimensions on %s in %.2f s\n", d.item_count, dim,
                   vkr_device_get_info(dev)->name, rep.seconds);
            if (rep.vocabulary) printf("  text: %u items (TF-IDF %u terms, %llu entries)\n", rep.text_items, rep.vocabulary,
                                       (unsigned long long)rep.text_nnz);
            if (rep.cooc_nnz || o.source != VKR_EMBED_TEXT)
                printf("  co-occurrence: %u items (PPMI %llu entries)\n", rep.cooc_items, (unsigned long long)rep.cooc_nnz);
            if (rep.zero_items) printf("  %u items had neither text nor co-occurrences: zero vectors\n", rep.zero_items);
        }
        cJSON_AddStringToObject(info, "source", source_name(o.source));
        cJSON_AddNumberToObject(info, "text_items", rep.text_items);
        cJSON_AddNumberToObject(info, "cooc_items", rep.cooc_items);
        cJSON_AddNumberToObject(info, "zero_items", rep.zero_items);
        cJSON_AddNumberToObject(info, "vocabulary", rep.vocabulary);
        cJSON_AddNumberToObject(info, "seconds", rep.seconds);
        if (dev) cJSON_AddStringToObject(info, "device", vkr_device_get_info(dev)->name);
    }
    cJSON_AddNumberToObject(info, "items", d.item_count);
    cJSON_AddNumberToObject(info, "dim", dim);
    if (s == VKR_OK) s = vkr_embed_save(dir, emb, d.item_count, dim);
    if (s == VKR_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/item_emb.json", dir);
        s = cli_write_json(info, path);
    }
    int rc = s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
    if (rc == CLI_OK && !quiet) printf("wrote %s/item_emb.npy (%u x %u float32, row i = item i)\n", dir, d.item_count, dim);
    cJSON_Delete(info);
    free(emb);
    vkr_dataset_free(&d);
    if (dev) cli_close_device(inst, dev);
    return rc;
}
