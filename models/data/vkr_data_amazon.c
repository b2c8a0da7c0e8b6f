/* Amazon review dumps as researchers download them: JSON lines (gzip or plain), one reviews file and
 * optionally one metadata file per domain. Field names of the 2014 and 2018 releases (reviewerID,
 * asin, unixReviewTime) and of the 2023 release (user_id, asin, timestamp in ms) are accepted. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_data_raw.h"

/* Item keys are qualified by domain so the same ASIN in two categories stays two items. */
static int item_key(char* out, size_t cap, uint32_t domain, const char* asin) {
    return snprintf(out, cap, "%u:%s", domain, asin);
}

static const char* json_string(const cJSON* o, const char* name) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* unixReviewTime (seconds), or the 2023 `timestamp` (milliseconds); numbers or digit strings. */
static bool review_time(const cJSON* o, int64_t* out) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, "unixReviewTime");
    double scale = 1;
    if (!v) {
        v = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
        scale = 1e-3;
    }
    double t;
    if (cJSON_IsNumber(v)) t = v->valuedouble;
    else if (cJSON_IsString(v) && v->valuestring[0]) {
        char* end = NULL;
        t = strtod(v->valuestring, &end);
        if (*end) return false;
    } else return false;
    t *= scale;
    if (!(t >= -1e15 && t <= 1e15)) return false;
    *out = (int64_t)t;
    return true;
}

static vkr_status read_reviews(vkr_raw* raw, uint32_t domain, const char* path) {
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    vkr_status s = VKR_OK;
    bool ok = true;
    uint64_t parsed = 0;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        if (l.len == 0) continue; /* blank separators are part of JSON-lines practice, not data */
        cJSON* o = cJSON_ParseWithLength(l.buf, l.len);
        if (!cJSON_IsObject(o)) {
            vkr_raw_skip_count(raw, "review line that is not a JSON object", path, l.line);
            cJSON_Delete(o);
            continue;
        }
        const char* user = json_string(o, "reviewerID");
        if (!user) user = json_string(o, "user_id");
        const char* asin = json_string(o, "asin");
        int64_t t = 0;
        char key[512];
        int kn = asin ? item_key(key, sizeof key, domain, asin) : 0;
        if (!user || !asin) vkr_raw_skip_count(raw, "review without reviewerID/user_id or asin", path, l.line);
        else if (!review_time(o, &t)) vkr_raw_skip_count(raw, "review without a usable unixReviewTime/timestamp", path, l.line);
        else if (kn >= (int)sizeof key || strlen(user) > 256) vkr_raw_skip_count(raw, "review with an id over 256 bytes", path, l.line);
        else if (!vkr_utf8_valid(user, strlen(user)) || !vkr_utf8_valid(asin, strlen(asin)))
            vkr_raw_skip_count(raw, "review with an id that is not UTF-8", path, l.line);
        else {
            uint32_t u = 0, it = 0;
            bool added = false;
            s = vkr_raw_user(raw, user, strlen(user), VKR_ROLE_TRAIN, &u, NULL);
            if (s == VKR_OK) s = vkr_raw_item(raw, key, (size_t)kn, domain, &it, &added);
            if (s == VKR_OK && added) s = vkr_raw_item_string(raw, it, 2, asin, strlen(asin), path);
            if (s == VKR_OK) s = vkr_raw_event_add(raw, u, it, t);
            parsed++;
        }
        cJSON_Delete(o);
    }
    vkr_lines_close(&l);
    if (s == VKR_OK && parsed == 0)
        s = vkr_fail(VKR_ERR_FORMAT, "%s: no usable review (expected JSON lines with reviewerID, asin, unixReviewTime)", path);
    return s;
}

/* Appends the strings of a JSON string or (nested) array of strings to buf, separated by " ; ". */
static void append_strings(const cJSON* v, char** buf, size_t* len, size_t* cap) {
    if (cJSON_IsArray(v)) {
        for (const cJSON* c = v->child; c; c = c->next) append_strings(c, buf, len, cap);
        return;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0]) return;
    size_t n = strlen(v->valuestring);
    if (*len + n + 4 > *cap) {
        size_t c = (*cap ? *cap : 256);
        while (c < *len + n + 4) c *= 2;
        char* p = realloc(*buf, c);
        if (!p) return; /* text is optional: on OOM the item keeps what was gathered */
        *buf = p;
        *cap = c;
    }
    if (*len) {
        memcpy(*buf + *len, " ; ", 3);
        *len += 3;
    }
    memcpy(*buf + *len, v->valuestring, n);
    *len += n;
}

static vkr_status read_meta(vkr_raw* raw, uint32_t domain, const char* path) {
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    vkr_status s = VKR_OK;
    bool ok = true;
    char* text = NULL;
    size_t cap = 0;
    uint64_t parsed = 0, lines = 0;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        if (l.len == 0) continue;
        lines++;
        cJSON* o = cJSON_ParseWithLength(l.buf, l.len);
        if (!cJSON_IsObject(o)) {
            vkr_raw_skip_count(raw, "metadata line that is not a JSON object (2014 metadata is a Python literal: "
                               "convert each line with json.dumps(ast.literal_eval(line)))", path, l.line);
            cJSON_Delete(o);
            continue;
        }
        parsed++;
        const char* asin = json_string(o, "asin");
        char key[512];
        int kn = asin ? item_key(key, sizeof key, domain, asin) : 0;
        int64_t found = asin && kn < (int)sizeof key ? vkr_strmap_find(&raw->items, key, (size_t)kn) : -1;
        char where[4200];
        snprintf(where, sizeof where, "%s:%llu", path, (unsigned long long)l.line);
        if (!asin) vkr_raw_skip_count(raw, "metadata without asin", path, l.line);
        else if (found < 0) vkr_raw_skip_count(raw, "metadata for an item without reviews", path, l.line);
        else if (raw->item_title[found] != UINT64_MAX || raw->item_text[found] != UINT64_MAX)
            vkr_raw_skip_count(raw, "repeated metadata for an item (first kept)", path, l.line);
        else {
            const char* title = json_string(o, "title");
            if (title) s = vkr_raw_item_string(raw, (uint32_t)found, 0, title, strlen(title), where);
            size_t len = 0;
            append_strings(cJSON_GetObjectItemCaseSensitive(o, "description"), &text, &len, &cap);
            append_strings(cJSON_GetObjectItemCaseSensitive(o, "categories"), &text, &len, &cap);
            append_strings(cJSON_GetObjectItemCaseSensitive(o, "category"), &text, &len, &cap);
            if (s == VKR_OK && len) s = vkr_raw_item_string(raw, (uint32_t)found, 1, text, len, where);
        }
        cJSON_Delete(o);
    }
    free(text);
    vkr_lines_close(&l);
    if (s == VKR_OK && lines > 0 && parsed == 0)
        s = vkr_fail(VKR_ERR_FORMAT, "%s: no line is a JSON object (2014 metadata is a Python literal: convert each "
                     "line with json.dumps(ast.literal_eval(line)))", path);
    return s;
}

vkr_status vkr_parse_amazon(vkr_raw* raw, const char* domain, const char* reviews, const char* meta) {
    uint32_t d = 0;
    VKR_TRY(vkr_raw_domain(raw, domain, &d));
    for (uint32_t i = 0; i < raw->items.count; i++)
        if (raw->item_domain[i] == d)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "domain '%s' is given twice", domain);
    VKR_TRY(read_reviews(raw, d, reviews));
    if (meta) VKR_TRY(read_meta(raw, d, meta));
    raw->has_time = true;
    return VKR_OK;
}
