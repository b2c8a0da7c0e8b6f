#include "vkr_topk_io.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_file.h"
#include "vkr_fileio.h"

#define VKR_TOPK_CHUNK 1024u /* examples per vkr_recommend_batch call (and progress step) */

vkr_status vkr_topk_format(const char* path, bool* out_json) {
    *out_json = false;
    const char* dot = path ? strrchr(path, '.') : NULL;
    if (dot && strcmp(dot, ".json") == 0) return *out_json = true, VKR_OK;
    if (dot && strcmp(dot, ".csv") == 0) return VKR_OK;
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "'%s': expected a file name ending in .csv or .json", path ? path : "");
}

/* One example's list as a JSON line (after a comma unless first). */
static vkr_status topk_json_list(FILE* f, const vkr_dataset* ds, const uint32_t* pair, const uint32_t* items,
                                 const float* scores, uint32_t n, bool first) {
    uint32_t target = ds->seq_item[ds->seq_begin[pair[0]] + pair[1]];
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", vkr_strtab_get(&ds->user_key, pair[0]));
    cJSON_AddNumberToObject(o, "position", pair[1]);
    cJSON_AddStringToObject(o, "domain", ds->domain_name[ds->item_domain[target]]);
    cJSON_AddStringToObject(o, "target", vkr_strtab_get(&ds->item_key, target));
    cJSON* arr = cJSON_AddArrayToObject(o, "items");
    for (uint32_t j = 0; j < n; j++) {
        cJSON* it = cJSON_CreateObject();
        cJSON_AddNumberToObject(it, "rank", j + 1);
        cJSON_AddNumberToObject(it, "item_id", items[j]);
        cJSON_AddStringToObject(it, "item_key", vkr_strtab_get(&ds->item_key, items[j]));
        cJSON_AddStringToObject(it, "domain", ds->domain_name[ds->item_domain[items[j]]]);
        cJSON_AddNumberToObject(it, "score", scores[j]);
        cJSON_AddItemToArray(arr, it);
    }
    char* text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory printing a recommendation list");
    fprintf(f, "%s%s", first ? "\n" : ",\n", text);
    free(text);
    return VKR_OK;
}

/* One example's list as CSV rows. */
static void topk_csv_rows(FILE* f, const vkr_dataset* ds, uint32_t user, const uint32_t* items, const float* scores,
                          uint32_t n) {
    for (uint32_t j = 0; j < n; j++) {
        vkr_csv_field(f, vkr_strtab_get(&ds->user_key, user));
        fprintf(f, ",%u,%u,", j + 1, items[j]);
        vkr_csv_field(f, vkr_strtab_get(&ds->item_key, items[j]));
        fputc(',', f);
        vkr_csv_field(f, ds->domain_name[ds->item_domain[items[j]]]);
        fprintf(f, ",%.9g\n", (double)scores[j]);
    }
}

/* The JSON file's opening: its fields, then the list array left open. */
static vkr_status topk_json_head(FILE* f, const vkr_topk_options* o) {
    cJSON* h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "model", o->model_name ? o->model_name : "");
    cJSON_AddStringToObject(h, "split", o->split ? o->split : "");
    cJSON_AddNumberToObject(h, "k", o->k);
    cJSON_AddBoolToObject(h, "exclude_history", true);
    char* text = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!text) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory printing the top-K header");
    text[strlen(text) - 1] = '\0'; /* the closing brace comes after the lists */
    fprintf(f, "%s,\"lists\":[", text);
    free(text);
    return VKR_OK;
}

/* Lists target domain d's examples (sel holds room for every example). */
static vkr_status topk_domain(FILE* f, bool json, const vkr_dataset* ds, const vkr_topk_options* o, uint32_t d,
                              uint32_t* sel, uint32_t* items, float* scores, uint32_t* counts, uint32_t* done,
                              uint32_t total) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < o->count; i++) {
        uint32_t u = o->pairs[2 * i], p = o->pairs[2 * i + 1];
        if (ds->item_domain[ds->seq_item[ds->seq_begin[u] + p]] != d) continue;
        sel[2 * n] = u;
        sel[2 * n + 1] = p;
        n++;
    }
    vkr_scorer sc = o->scorer(o->model, d);
    for (uint32_t i = 0; i < n; i += VKR_TOPK_CHUNK) {
        uint32_t m = n - i < VKR_TOPK_CHUNK ? n - i : VKR_TOPK_CHUNK;
        const uint32_t* pairs = sel + 2 * (size_t)i;
        VKR_TRY(vkr_recommend_batch(ds, d, pairs, m, &sc, o->k, items, scores, counts));
        for (uint32_t e = 0; e < m; e++) {
            const uint32_t* it = items + (size_t)e * o->k;
            const float* sv = scores + (size_t)e * o->k;
            if (json) VKR_TRY(topk_json_list(f, ds, pairs + 2 * e, it, sv, counts[e], *done + e == 0));
            else topk_csv_rows(f, ds, pairs[2 * e], it, sv, counts[e]);
        }
        *done += m;
        if (o->progress) o->progress(*done, total);
    }
    return VKR_OK;
}

vkr_status vkr_topk_write(const vkr_dataset* ds, const vkr_topk_options* o, const char* path,
                          uint32_t* out_listed) {
    if (out_listed) *out_listed = 0;
    bool json;
    VKR_TRY(vkr_topk_format(path, &json));
    if (!ds || !o || !o->pairs || !o->domains || !o->scorer || o->k == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_topk_write: bad dataset, examples, domains, scorer or k");
    for (uint32_t i = 0; i < o->count; i++)
        if (o->pairs[2 * i] >= ds->user_count || o->pairs[2 * i + 1] >= vkr_dataset_user_len(ds, o->pairs[2 * i]))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_topk_write: example %u is not in the dataset", i);
    uint32_t total = 0, done = 0;
    for (uint32_t i = 0; i < o->count; i++) {
        uint32_t u = o->pairs[2 * i], p = o->pairs[2 * i + 1];
        total += o->domains[ds->item_domain[ds->seq_item[ds->seq_begin[u] + p]]];
    }
    uint32_t* sel = malloc(((size_t)o->count * 2 + 1) * sizeof *sel);
    uint32_t* items = malloc((size_t)VKR_TOPK_CHUNK * o->k * sizeof *items);
    float* scores = malloc((size_t)VKR_TOPK_CHUNK * o->k * sizeof *scores);
    uint32_t* counts = malloc(VKR_TOPK_CHUNK * sizeof *counts);
    vkr_atomic_file w = {0};
    vkr_status s = sel && items && scores && counts
                       ? vkr_atomic_open(path, &w)
                       : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u examples' lists", o->count);
    if (s == VKR_OK && json) s = topk_json_head(w.file, o);
    if (s == VKR_OK && !json) fputs(VKR_TOPK_CSV_HEADER "\n", w.file);
    for (uint32_t d = 0; s == VKR_OK && d < ds->domain_count; d++)
        if (o->domains[d]) s = topk_domain(w.file, json, ds, o, d, sel, items, scores, counts, &done, total);
    if (s == VKR_OK && json) fputs("\n]}\n", w.file);
    if (s == VKR_OK) s = vkr_atomic_commit(&w);
    else vkr_atomic_abort(&w);
    if (s == VKR_OK && out_listed) *out_listed = total;
    free(sel);
    free(items);
    free(scores);
    free(counts);
    return s;
}
