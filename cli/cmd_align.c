/* vkrec align: the domain-alignment measure of an embedding and of its 2-D maps. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_output.h"
#include "vkr_fileio.h"
#include "vkr_align.h"
#include "vkr_tsne_io.h"

#define ALIGN_MAX_MAPS 8

static void print_result(const char* what, const vkr_dataset* d, const vkr_align_result* r) {
    printf("%-28s overall %.3f (other-domain neighbours %.1f%%)", what, r->overall, 100 * r->overall_raw);
    for (uint32_t c = 0; c < r->domain_count; c++)
        if (r->items[c]) printf("  %s %.3f", d->domain_name[c], r->mixing[c]);
    printf("\n");
}

static cJSON* result_json(const char* what, const char* path, const vkr_dataset* d, const vkr_align_result* r) {
    cJSON* j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "space", what);
    cJSON_AddStringToObject(j, "file", path);
    cJSON_AddNumberToObject(j, "k", r->k);
    cJSON_AddNumberToObject(j, "overall", r->overall);
    cJSON_AddNumberToObject(j, "overall_other_fraction", r->overall_raw);
    cJSON* doms = cJSON_AddArrayToObject(j, "domains");
    for (uint32_t c = 0; c < r->domain_count; c++) {
        cJSON* o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", d->domain_name[c]);
        cJSON_AddNumberToObject(o, "items", r->items[c]);
        cJSON_AddNumberToObject(o, "mixing", r->mixing[c]);
        cJSON_AddNumberToObject(o, "other_fraction", r->raw[c]);
        cJSON_AddNumberToObject(o, "expected_fraction", r->expected[c]);
        cJSON_AddItemToArray(doms, o);
    }
    return j;
}

/* What `vkrec align` reads from its command line. */
typedef struct align_args {
    const char* input; /* .npy or directory */
    cli_str_list maps; /* --map */
    uint32_t k;        /* --k */
    const char* emb;   /* --emb */
    const char* data;  /* --data */
} align_args;

static const cli_positional align_positionals[] = {
    {"INPUT", "an input (.npy file or directory)", offsetof(align_args, input), 1, 1}};
static const cli_option align_opts[] = {
    CLI_STRINGS(COMMAND, "--map", "MAP.npy", align_args, maps, ALIGN_MAX_MAPS,
                "a 2-D map to measure too, repeatable (default INPUT/tsne.npy when present)"),
    CLI_UINT(COMMAND, "--k", "K", align_args, k, 1, 1000, "10", "nearest neighbours per item"),
    CLI_STRING(COMMAND, "--emb", "FILE", align_args, emb, "item_emb.npy", "embedding file inside a directory INPUT"),
    CLI_STRING(COMMAND, "--data", "DIR", align_args, data, NULL,
               "dataset directory for domains (default: INPUT when it is one)"),
};
static const cli_option* const align_shared[] = {&cli_opt_json_file, &cli_opt_gpu, &cli_opt_quiet, &cli_opt_force, NULL};
const cli_spec cli_align_spec = {
    .name = "align",
    .description =
        "  For every item, the fraction of its K nearest neighbours (default 10) from another domain, averaged\n"
        "  per domain and overall, and divided by the value expected under perfect mixing (a random\n"
        "  neighbour set): 0 = domains fully separated, 1 = perfectly mixed. Computed in the embedding space\n"
        "  of INPUT (as for vkrec tsne) and in each 2-D map given (INPUT/tsne.npy when present by default).",
    CLI_POSITIONALS(align_positionals),
    CLI_OWN_OPTIONS(align_opts),
    .shared = align_shared,
};

int cli_cmd_align(int argc, char** argv) {
    const char* cmd = "align";
    cli_common com = {0};
    align_args a = {.k = 10};
    if (cli_parse(&cli_align_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    const char *input = a.input, *emb = a.emb, *data = a.data, *json = com.json_file, *selector = com.device;
    const char* maps[ALIGN_MAX_MAPS];
    int map_count = (int)a.maps.count;
    for (int m = 0; m < map_count; m++) maps[m] = a.maps.v[m];
    const unsigned k = a.k;
    const bool quiet = com.quiet;
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
    char emb_path[4200];
    snprintf(emb_path, sizeof emb_path, "%s/%s", input, emb ? emb : "item_emb.npy");
    const char* inputs[3 + ALIGN_MAX_MAPS] = {input, emb_path, data};
    for (int m = 0; m < map_count; m++) inputs[3 + m] = maps[m];
    if (json && cli_output_check(cmd, "--json", json, inputs, 3 + (unsigned)map_count, CLI_OUTPUT_JSON, NULL,
                                 com.force) != CLI_OK)
        return CLI_USAGE;
    char default_map[4200];
    snprintf(default_map, sizeof default_map, "%s/tsne.npy", input);
    if (map_count == 0 && access(default_map, R_OK) == 0) maps[map_count++] = default_map;
    vkr_tsne_input in;
    vkr_status s = vkr_tsne_input_load(input, emb, data, &in);
    if (s != VKR_OK) return cli_fail(cmd, s);
    if (!in.has_dataset) {
        vkr_tsne_input_free(&in);
        return cli_usage_error(cmd, "item domains are needed: give a dataset directory as INPUT or with --data");
    }
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    s = cli_open_device(selector, &inst, &dev);
    cJSON* root = cJSON_CreateObject();
    cJSON* spaces = cJSON_AddArrayToObject(root, "spaces");
    vkr_align_result r;
    const vkr_dataset* d = &in.dataset;
    if (s == VKR_OK) s = vkr_align_compute(dev, in.x, in.n, in.d, d->item_domain, d->domain_count, k, &r);
    if (s == VKR_OK) {
        char what[64];
        snprintf(what, sizeof what, "embedding (%u-d)", in.d);
        if (!quiet) print_result(what, d, &r);
        cJSON_AddItemToArray(spaces, result_json("embedding", in.source, d, &r));
    }
    for (int m = 0; s == VKR_OK && m < map_count; m++) {
        float* y = NULL;
        uint32_t n = 0;
        s = vkr_tsne_load_map(maps[m], in.n, &y, &n);
        if (s == VKR_OK) s = vkr_align_compute(dev, y, n, 2, d->item_domain, d->domain_count, k, &r);
        if (s == VKR_OK) {
            char what[64];
            const char* base = strrchr(maps[m], '/');
            snprintf(what, sizeof what, "map %s", base ? base + 1 : maps[m]);
            if (!quiet) print_result(what, d, &r);
            cJSON_AddItemToArray(spaces, result_json("map", maps[m], d, &r));
        }
        free(y);
    }
    if (s == VKR_OK && !quiet) printf("(1 = as mixed as chance, 0 = domains fully separated; k = %u)\n", r.k);
    if (s == VKR_OK && json) s = vkr_json_write(root, json);
    int rc = s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
    cJSON_Delete(root);
    vkr_tsne_input_free(&in);
    if (dev) cli_close_device(inst, dev);
    return rc;
}
