/* beams.json: the writer (GenCDR's decode of the first test examples) and the checked reader. */
#include "vkr_beams_io.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_fileio.h"
#include "vkr_rec.h"

#define BEAMS_MAX_BYTES (64ull << 20) /* a beams.json is a few examples: anything larger is not one */

/* The beams of test example `pair` over its target's domain, as a "users" entry. */
static vkr_status beams_user_json(const vkr_dataset* ds, vkr_gencdr_model* m, const uint32_t* pair, int32_t* items,
                                  float* scores, cJSON* users) {
    uint32_t target = ds->seq_item[ds->seq_begin[pair[0]] + pair[1]], d = ds->item_domain[target], w = 0;
    vkr_scorer sc = vkr_gencdr_scorer(m, d);
    VKR_TRY(sc.top_items(sc.self, pair, 1, items, scores, &w));
    cJSON* u = cJSON_CreateObject();
    cJSON_AddItemToArray(users, u);
    cJSON_AddNumberToObject(u, "user", pair[0]);
    cJSON_AddStringToObject(u, "domain", ds->domain_name[d]);
    cJSON_AddNumberToObject(u, "target", target);
    cJSON* beams = cJSON_AddArrayToObject(u, "beams");
    for (uint32_t b = 0; b < w && items[b] >= 0; b++) {
        uint32_t it = (uint32_t)items[b];
        cJSON* jb = cJSON_CreateObject();
        cJSON* p = cJSON_AddArrayToObject(jb, "path");
        for (uint32_t l = 0; l < m->depth; l++)
            cJSON_AddItemToArray(p, cJSON_CreateNumber(m->ids[(size_t)it * m->depth + l]));
        cJSON_AddNumberToObject(jb, "score", scores[b]);
        cJSON_AddNumberToObject(jb, "item", it);
        cJSON_AddItemToArray(beams, jb);
    }
    return VKR_OK;
}

vkr_status vkr_beams_write(const vkr_dataset* ds, vkr_gencdr_model* m, uint32_t n, const char* path) {
    if (!ds || !m || !path || !m->beam)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_beams_write: a dataset, a model with beam search and a path");
    cJSON* root = cJSON_CreateObject();
    cJSON* users = cJSON_AddArrayToObject(root, "users");
    int32_t* items = malloc((size_t)m->cfg.beam * sizeof *items);
    float* scores = malloc((size_t)m->cfg.beam * sizeof *scores);
    vkr_status s = VKR_OK;
    if (!root || !users || !items || !scores) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for beams");
    for (uint32_t e = 0; s == VKR_OK && e < ds->test_count && e < n; e++)
        s = beams_user_json(ds, m, ds->test + 2 * e, items, scores, users);
    if (s == VKR_OK) s = vkr_json_write(root, path);
    cJSON_Delete(root);
    free(items);
    free(scores);
    return s;
}

/* Beam b of user entry `user` from its JSON object. */
static vkr_status beams_parse_path(const char* path, const cJSON* jb, int64_t user, int b, uint32_t item_count,
                                   vkr_beams_path* out) {
    const cJSON* p = cJSON_GetObjectItem(jb, "path");
    const cJSON* sc = cJSON_GetObjectItem(jb, "score");
    const cJSON* it = cJSON_GetObjectItem(jb, "item");
    int len = cJSON_GetArraySize(p);
    if (!cJSON_IsArray(p) || len < 1 || len > (int)VKR_BEAMS_MAX_LEVELS || !cJSON_IsNumber(sc))
        return vkr_fail(VKR_ERR_FORMAT, "%s: user %lld beam %d needs \"path\" (1..%u codes) and \"score\"", path,
                        (long long)user, b, VKR_BEAMS_MAX_LEVELS);
    out->len = (uint32_t)len;
    for (int l = 0; l < len; l++) {
        const cJSON* c = cJSON_GetArrayItem(p, l);
        if (!cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble > 65535)
            return vkr_fail(VKR_ERR_FORMAT, "%s: beam codes must be integers in [0, 65535]", path);
        out->path[l] = (uint16_t)c->valuedouble;
    }
    out->score = sc->valuedouble;
    bool known = cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble < item_count;
    out->item = known ? (int64_t)it->valuedouble : -1;
    return VKR_OK;
}

/* User entry u from its JSON object. */
static vkr_status beams_parse_user(const char* path, const cJSON* ju, int u, uint32_t item_count, vkr_beams_user* out) {
    const cJSON* id = cJSON_GetObjectItem(ju, "user");
    const cJSON* beams = cJSON_GetObjectItem(ju, "beams");
    if (!cJSON_IsNumber(id) || !cJSON_IsArray(beams))
        return vkr_fail(VKR_ERR_FORMAT, "%s: user entry %d needs \"user\" (number) and \"beams\" (array)", path, u);
    out->user = (int64_t)id->valuedouble;
    int nb = cJSON_GetArraySize(beams);
    out->beams = nb ? calloc((size_t)nb, sizeof *out->beams) : NULL;
    if (nb && !out->beams) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %s", path);
    for (int b = 0; b < nb; b++) {
        vkr_beams_path* beam = &out->beams[out->count++];
        VKR_TRY(beams_parse_path(path, cJSON_GetArrayItem(beams, b), out->user, b, item_count, beam));
    }
    return VKR_OK;
}

/* Parses the file's text (NUL-terminated) into the beams. */
static vkr_status beams_parse(const char* path, const char* text, uint32_t item_count, vkr_beams* out) {
    cJSON* root = cJSON_Parse(text);
    if (!root) return vkr_fail(VKR_ERR_FORMAT, "%s is not valid JSON", path);
    const cJSON* users = cJSON_GetObjectItem(root, "users");
    vkr_status s = cJSON_IsArray(users) ? VKR_OK : vkr_fail(VKR_ERR_FORMAT, "%s: expected {\"users\": [...]}", path);
    int nu = s == VKR_OK ? cJSON_GetArraySize(users) : 0;
    out->users = nu ? calloc((size_t)nu, sizeof *out->users) : NULL;
    if (nu && !out->users) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %s", path);
    for (int u = 0; s == VKR_OK && u < nu; u++)
        s = beams_parse_user(path, cJSON_GetArrayItem(users, u), u, item_count, &out->users[out->user_count++]);
    cJSON_Delete(root);
    return s;
}

vkr_status vkr_beams_read(const char* path, uint32_t item_count, vkr_beams* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_beams_read: out_beams is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_beams_read: no path");
    vkr_source src;
    VKR_TRY(vkr_source_open_file(path, &src));
    uint64_t size = src.size;
    char* text = size < BEAMS_MAX_BYTES ? malloc((size_t)size + 1) : NULL;
    vkr_status s = text ? vkr_source_read(&src, 0, text, size)
                        : vkr_fail(VKR_ERR_IO, "cannot read %s (%llu bytes)", path, (unsigned long long)size);
    vkr_source_close(&src);
    if (s == VKR_OK) {
        text[size] = 0;
        s = beams_parse(path, text, item_count, out);
    }
    free(text);
    if (s != VKR_OK) vkr_beams_free(out);
    return s;
}

void vkr_beams_free(vkr_beams* b) {
    if (!b) return;
    for (uint32_t u = 0; u < b->user_count; u++) free(b->users[u].beams);
    free(b->users);
    memset(b, 0, sizeof *b);
}
