/* Plain CSV/TSV: interactions `user,item,timestamp,domain` and items `item,domain,title[,text]`.
 * The delimiter is a tab when the first line has one, else a comma; fields may be quoted RFC 4180
 * style ("a, b" and "say ""hi""", a quote inside an unquoted field is literal); a first line whose fields are the column names is a header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_data_raw.h"

static bool is_header(const vkr_csv_row* r, const char* a, const char* b) {
    return r->count >= 2 && strcmp(r->f[0], a) == 0 && strcmp(r->f[1], b) == 0;
}

static vkr_status line_error(const vkr_lines* l, const char* what) {
    return vkr_fail(VKR_ERR_FORMAT, "%s:%llu: %s", l->path, (unsigned long long)l->line, what);
}

static int item_key(char* out, size_t cap, uint32_t domain, const char* item) {
    return snprintf(out, cap, "%u:%s", domain, item);
}

static vkr_status read_interactions(vkr_raw* raw, const char* path) {
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    vkr_status s = VKR_OK;
    bool ok = true;
    char delim = ',';
    vkr_csv_row r;
    uint64_t used = 0;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        if (l.line == 1 && memchr(l.buf, '\t', l.len)) delim = '\t';
        if (l.len == 0) {
            vkr_raw_skip_count(raw, "empty line", path, l.line);
            continue;
        }
        if (!vkr_csv_split(l.buf, l.len, delim, &r)) {
            s = line_error(&l, "malformed quoting");
            break;
        }
        if (l.line == 1 && is_header(&r, "user", "item")) continue;
        if (r.count != 4) {
            s = line_error(&l, delim == '\t' ? "expected 4 tab-separated fields: user, item, timestamp, domain"
                                             : "expected 4 comma-separated fields: user, item, timestamp, domain");
            break;
        }
        int64_t t = 0;
        if (!r.n[0] || !r.n[1] || !r.n[3]) {
            vkr_raw_skip_count(raw, "interaction with an empty user, item or domain", path, l.line);
            continue;
        }
        if (!vkr_parse_i64(r.f[2], r.n[2], &t)) {
            s = line_error(&l, "timestamp is not an integer (unix seconds)");
            break;
        }
        if (r.n[0] > 256 || r.n[1] > 256 || !vkr_utf8_valid(r.f[0], r.n[0]) || !vkr_utf8_valid(r.f[1], r.n[1])) {
            vkr_raw_skip_count(raw, "interaction with an id over 256 bytes or not UTF-8", path, l.line);
            continue;
        }
        uint32_t d = 0, u = 0, it = 0;
        bool added = false;
        char key[300];
        s = vkr_raw_domain(raw, r.f[3], &d);
        if (s != VKR_OK) {
            s = vkr_fail_context(s, "%s:%llu: ", path, (unsigned long long)l.line);
            break;
        }
        int kn = item_key(key, sizeof key, d, r.f[1]);
        s = vkr_raw_user(raw, r.f[0], r.n[0], VKR_ROLE_TRAIN, &u, NULL);
        if (s == VKR_OK) s = vkr_raw_item(raw, key, (size_t)kn, d, &it, &added);
        if (s == VKR_OK && added) s = vkr_raw_item_string(raw, it, 2, r.f[1], r.n[1], path);
        if (s == VKR_OK) s = vkr_raw_event_add(raw, u, it, t);
        used++;
    }
    vkr_lines_close(&l);
    if (s == VKR_OK && used == 0) s = vkr_fail(VKR_ERR_FORMAT, "%s: no interactions", path);
    return s;
}

static vkr_status read_items(vkr_raw* raw, const char* path) {
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    vkr_status s = VKR_OK;
    bool ok = true;
    char delim = ',';
    vkr_csv_row r;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        if (l.line == 1 && memchr(l.buf, '\t', l.len)) delim = '\t';
        if (l.len == 0) {
            vkr_raw_skip_count(raw, "empty line", path, l.line);
            continue;
        }
        if (!vkr_csv_split(l.buf, l.len, delim, &r)) {
            s = line_error(&l, "malformed quoting");
            break;
        }
        if (l.line == 1 && is_header(&r, "item", "domain")) continue;
        if (r.count != 3 && r.count != 4) {
            s = line_error(&l, "expected 3 or 4 fields: item, domain, title[, text]");
            break;
        }
        int d = -1;
        for (uint32_t k = 0; k < raw->domain_count; k++)
            if (strcmp(raw->domain_name[k], r.f[1]) == 0) d = (int)k;
        char key[300];
        int kn = d >= 0 && r.n[0] <= 256 ? item_key(key, sizeof key, (uint32_t)d, r.f[0]) : 0;
        int64_t it = kn ? vkr_strmap_find(&raw->items, key, (size_t)kn) : -1;
        char where[4200];
        snprintf(where, sizeof where, "%s:%llu", path, (unsigned long long)l.line);
        if (d < 0) vkr_raw_skip_count(raw, "items-file row for a domain without interactions", path, l.line);
        else if (it < 0) vkr_raw_skip_count(raw, "items-file row for an item without interactions", path, l.line);
        else if (raw->item_title[it] != UINT64_MAX || raw->item_text[it] != UINT64_MAX)
            vkr_raw_skip_count(raw, "repeated items-file row (first kept)", path, l.line);
        else {
            if (r.n[2]) s = vkr_raw_item_string(raw, (uint32_t)it, 0, r.f[2], r.n[2], where);
            if (s == VKR_OK && r.count == 4 && r.n[3]) s = vkr_raw_item_string(raw, (uint32_t)it, 1, r.f[3], r.n[3], where);
        }
    }
    vkr_lines_close(&l);
    return s;
}

vkr_status vkr_parse_csv(vkr_raw* raw, const char* interactions, const char* items) {
    VKR_TRY(read_interactions(raw, interactions));
    if (items) VKR_TRY(read_items(raw, items));
    raw->has_time = true;
    return VKR_OK;
}
