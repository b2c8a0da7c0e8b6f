/* Imported domain-agnostic categories: `item,category[,subcategory]` CSV (e.g. from an LLM) read
 * with the dataset's line reader and CSV splitter. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_agnostic.h"
#include "vkr_data_raw.h"

/* What the reader accumulates. */
typedef struct agn_reader {
    vkr_lines l;           /* the file */
    vkr_strmap keys;       /* item key -> item */
    vkr_strmap cats;       /* category name -> id */
    vkr_strmap subs;       /* "category id\x1fsubcategory name" -> global sub id */
    uint32_t* sub_local;   /* [subs.count] id within its category */
    uint32_t* sub_count;   /* [VKR_AGNOSTIC_MAX_K] subcategories per category */
    uint32_t sub_cap;      /* capacity of sub_local */
    int fields;            /* 2 or 3: fixed by the first data line */
} agn_reader;

static vkr_status line_error(const agn_reader* r, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static vkr_status line_error(const agn_reader* r, const char* fmt, ...) {
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vkr_fail(VKR_ERR_FORMAT, "%s:%llu: %s", r->l.path, (unsigned long long)r->l.line, what);
}

/* A name field must be non-empty, short and UTF-8. */
static vkr_status check_name(const agn_reader* r, const char* what, const char* s, size_t n) {
    if (n == 0) return line_error(r, "empty %s", what);
    if (n > VKR_AGNOSTIC_NAME_MAX || !vkr_utf8_valid(s, n))
        return line_error(r, "%s name is over %u bytes or not UTF-8", what, VKR_AGNOSTIC_NAME_MAX);
    return VKR_OK;
}

/* One data line: item, category[, subcategory] into a->assign. */
static vkr_status read_row(agn_reader* r, vkr_csv_row* row, vkr_agnostic* a, uint8_t* seen) {
    if (row->count != 2 && row->count != 3)
        return line_error(r, "expected item,category or item,category,subcategory; found %d fields", row->count);
    if (!r->fields) r->fields = row->count;
    if (row->count != r->fields)
        return line_error(r, "%d fields where the first line has %d (every line needs the same columns)", row->count,
                          r->fields);
    int64_t item = vkr_strmap_find(&r->keys, row->f[0], row->n[0]);
    if (item < 0) return line_error(r, "unknown item '%.100s' (not in the dataset)", row->f[0]);
    if (seen[item]) return line_error(r, "item '%.100s' appears twice", row->f[0]);
    seen[item] = 1;
    if (strcmp(row->f[1], "none") == 0) {
        if (r->fields == 3 && row->n[2]) return line_error(r, "category none with subcategory '%.100s'", row->f[2]);
        return VKR_OK; /* assign already holds NONE */
    }
    uint32_t cat = 0, sub = 0;
    bool added = false;
    VKR_TRY(check_name(r, "category", row->f[1], row->n[1]));
    if (vkr_strmap_find(&r->cats, row->f[1], row->n[1]) < 0 && r->cats.count >= VKR_AGNOSTIC_MAX_K)
        return line_error(r, "more than %u distinct categories", VKR_AGNOSTIC_MAX_K);
    VKR_TRY(vkr_strmap_intern(&r->cats, row->f[1], row->n[1], &cat, &added));
    a->assign[2 * item] = (int32_t)cat;
    if (r->fields == 2) return VKR_OK;
    VKR_TRY(check_name(r, "subcategory", row->f[2], row->n[2]));
    /* Subcategory names are per category: key them by the category id. */
    char key[VKR_AGNOSTIC_NAME_MAX + 16];
    int kn = snprintf(key, sizeof key, "%u\x1f%s", cat, row->f[2]);
    VKR_TRY(vkr_strmap_intern(&r->subs, key, (size_t)kn, &sub, &added));
    if (added) {
        if (r->sub_count[cat] >= VKR_AGNOSTIC_MAX_K)
            return line_error(r, "more than %u subcategories in category '%.100s'", VKR_AGNOSTIC_MAX_K, row->f[1]);
        if (sub >= r->sub_cap) {
            uint32_t cap = r->sub_cap ? 2 * r->sub_cap : 64;
            uint32_t* p = realloc(r->sub_local, cap * sizeof *p);
            if (!p) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "categories: out of host memory");
            r->sub_local = p, r->sub_cap = cap;
        }
        r->sub_local[sub] = r->sub_count[cat]++;
    }
    a->assign[2 * item + 1] = (int32_t)r->sub_local[sub];
    return VKR_OK;
}

/* Names and sizes of `a` from what the reader found. */
static vkr_status collect(const agn_reader* r, vkr_agnostic* a) {
    a->k = r->cats.count;
    for (uint32_t c = 0; c < a->k; c++)
        if (r->sub_count[c] > a->m) a->m = r->sub_count[c];
    a->names = calloc(a->k ? a->k : 1, sizeof *a->names);
    if (a->m) a->sub_names = calloc((size_t)a->k * a->m, sizeof *a->sub_names);
    if (!a->names || (a->m && !a->sub_names)) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "categories: out of memory");
    for (uint32_t c = 0; c < a->k; c++)
        if (!(a->names[c] = strdup(vkr_strmap_get(&r->cats, c))))
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "categories: out of host memory");
    for (uint32_t s = 0; s < r->subs.count; s++) {
        const char* key = vkr_strmap_get(&r->subs, s);
        char* sep = strchr(key, '\x1f');
        uint32_t cat = (uint32_t)strtoul(key, NULL, 10);
        if (!(a->sub_names[(size_t)cat * a->m + r->sub_local[s]] = strdup(sep + 1)))
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "categories: out of host memory");
    }
    return VKR_OK;
}

vkr_status vkr_agnostic_import(const vkr_dataset* d, const char* path, vkr_agnostic* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_agnostic_import: out is NULL");
    memset(out, 0, sizeof *out);
    if (!d || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_agnostic_import: dataset and path are required");
    agn_reader r = {0};
    *out = (vkr_agnostic){.n = d->item_count};
    out->assign = malloc((size_t)d->item_count * 2 * sizeof *out->assign + 1);
    uint8_t* seen = calloc(d->item_count + 1, 1);
    r.sub_count = calloc(VKR_AGNOSTIC_MAX_K, sizeof *r.sub_count);
    vkr_status s = VKR_OK;
    if (!out->assign || !seen || !r.sub_count) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "categories: out of memory");
    for (size_t i = 0; s == VKR_OK && i < 2 * (size_t)d->item_count; i++) out->assign[i] = VKR_AGNOSTIC_NONE;
    if (s == VKR_OK && (s = vkr_dataset_item_keys(d, &r.keys)) != VKR_OK)
        s = vkr_fail_context(s, "%s: items must be told apart by their keys: ", path);
    bool opened = s == VKR_OK && (s = vkr_lines_open(path, &r.l)) == VKR_OK;
    bool ok = true;
    char delim = ',';
    vkr_csv_row row;
    while (opened && s == VKR_OK && (s = vkr_lines_next(&r.l, &ok)) == VKR_OK && ok) {
        if (r.l.line == 1 && memchr(r.l.buf, '\t', r.l.len)) delim = '\t';
        if (!vkr_csv_split(r.l.buf, r.l.len, delim, &row)) {
            s = line_error(&r, "malformed quoting");
            break;
        }
        if (r.l.line == 1 && row.count >= 2 && strcmp(row.f[0], "item") == 0 && strcmp(row.f[1], "category") == 0) {
            if (row.count > 3)
                s = line_error(&r, "header with %d columns: expected item,category[,subcategory]", row.count);
            r.fields = row.count;
            continue; /* the header also fixes the columns */
        }
        s = read_row(&r, &row, out, seen);
    }
    if (opened && s == VKR_OK && r.l.line == 0) s = vkr_fail(VKR_ERR_FORMAT, "%s: the file is empty", path);
    for (uint32_t i = 0; s == VKR_OK && i < d->item_count; i++)
        if (!seen[i]) {
            uint32_t missing = 0;
            for (uint32_t j = i; j < d->item_count; j++) missing += !seen[j];
            s = vkr_fail(VKR_ERR_FORMAT, "%s: %u items of the dataset are missing, the first '%s' (every item needs a "
                         "line; write category none for an item without one)", path, missing,
                         vkr_strtab_get(&d->item_key, i));
        }
    if (s == VKR_OK && r.cats.count == 0) s = vkr_fail(VKR_ERR_FORMAT, "%s: every item is in category none", path);
    if (s == VKR_OK) s = collect(&r, out);
    if (opened) vkr_lines_close(&r.l);
    vkr_strmap_free(&r.keys), vkr_strmap_free(&r.cats), vkr_strmap_free(&r.subs);
    free(r.sub_local), free(r.sub_count), free(seen);
    if (s != VKR_OK) vkr_agnostic_free(out);
    return s;
}
