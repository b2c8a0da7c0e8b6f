/* vkrec align: the domain-alignment measure of an embedding and of its 2-D maps. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
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

int cli_cmd_align(int argc, char** argv) {
    const char* cmd = "align";
    const char *input = NULL, *emb = NULL, *data = NULL, *json = NULL, *selector = NULL;
    const char* maps[ALIGN_MAX_MAPS];
    int map_count = 0;
    unsigned k = 10;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = NULL;
        if (strcmp(a, "--map") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (map_count == ALIGN_MAX_MAPS) return cli_usage_error(cmd, "at most %d maps", ALIGN_MAX_MAPS);
            maps[map_count++] = v;
        } else if (strcmp(a, "--k") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i)) || !cli_parse_uint(cmd, a, v, &k)) return CLI_USAGE;
        } else if (strcmp(a, "--emb") == 0) {
            if (!(emb = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--data") == 0) {
            if (!(data = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--json") == 0) {
            if (!(json = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--device") == 0) {
            if (!(selector = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (a[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (input) {
            return cli_usage_error(cmd, "one input expected (got '%s' and '%s')", input, a);
        } else {
            input = a;
        }
    }
    if (!input) return cli_usage_error(cmd, "an input (.npy file or directory) is required");
    if (k > 1000) return cli_usage_error(cmd, "--k must be at most 1000");
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
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
    if (s == VKR_OK && json) s = cli_write_json(root, json);
    int rc = s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
    cJSON_Delete(root);
    vkr_tsne_input_free(&in);
    if (dev) cli_close_device(inst, dev);
    return rc;
}
