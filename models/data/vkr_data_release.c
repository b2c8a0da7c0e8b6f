/* Parsers for the two research releases of Amazon Food-Kitchen: LLMCDSR lines and C2DSR tokens.
 * Both number items in one id space where domain B follows domain A (B id = nA + local index);
 * raw item k is id k, so the sequence files index items directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_data_raw.h"

enum { PATH_MAX_BYTES = 4096 };

/* Splits s at the first `sep`, returning the head length; *rest points after the separator (or to
 * the end when absent). */
static size_t field(const char* s, char sep, const char** rest) {
    const char* p = strchr(s, sep);
    if (!p) {
        *rest = s + strlen(s);
        return strlen(s);
    }
    *rest = p + 1;
    return (size_t)(p - s);
}

static vkr_status line_error(const vkr_lines* l, const char* what) {
    return vkr_fail(VKR_ERR_FORMAT, "%s:%llu: %s", l->path, (unsigned long long)l->line, what);
}

/* Declares domains A and B and items 0..nA+nB-1 keyed by their decimal id. */
static vkr_status make_id_space(vkr_raw* raw, const char* const names[2], uint64_t na, uint64_t nb) {
    if (raw->items.count != 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "a release must be the only input");
    uint32_t da = 0, db = 0;
    VKR_TRY(vkr_raw_domain(raw, names && names[0] ? names[0] : "A", &da));
    VKR_TRY(vkr_raw_domain(raw, names && names[1] ? names[1] : "B", &db));
    if (da == db) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "the two domains need different names");
    for (uint64_t i = 0; i < na + nb; i++) {
        char key[24];
        int n = snprintf(key, sizeof key, "%llu", (unsigned long long)i);
        uint32_t id = 0;
        VKR_TRY(vkr_raw_item(raw, key, (size_t)n, i < na ? da : db, &id, NULL));
    }
    return VKR_OK;
}

/* Reads a `seq_id local_id asin title` TSV (ours, in derived/): titles and ASINs of ids [lo, hi). */
static vkr_status read_titles(vkr_raw* raw, const char* path, uint64_t lo, uint64_t hi) {
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    vkr_status s = VKR_OK;
    bool ok = true;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        if (l.line == 1) {
            if (strncmp(l.buf, "seq_id\tlocal_id\tasin\ttitle", 26) != 0)
                s = line_error(&l, "expected the header 'seq_id<TAB>local_id<TAB>asin<TAB>title'");
            continue;
        }
        const char *r1, *r2, *r3, *r4;
        size_t n1 = field(l.buf, '\t', &r1), n2 = field(r1, '\t', &r2), n3 = field(r2, '\t', &r3);
        size_t n4 = field(r3, '\t', &r4);
        uint64_t seq = 0, local = 0;
        char where[PATH_MAX_BYTES + 32];
        snprintf(where, sizeof where, "%s:%llu", path, (unsigned long long)l.line);
        if (*r3 == 0 && n3 == 0) s = line_error(&l, "expected 4 tab-separated fields");
        else if (*r4 != 0) s = line_error(&l, "more than 4 tab-separated fields");
        else if (!vkr_parse_u64(l.buf, n1, &seq) || !vkr_parse_u64(r1, n2, &local))
            s = line_error(&l, "seq_id and local_id must be non-negative integers");
        else if (seq < lo || seq >= hi || seq - lo != local)
            s = line_error(&l, "seq_id outside this domain's id range, or local_id != seq_id - first id");
        else if (n3 == 0)
            s = line_error(&l, "empty asin");
        else if (seq >= raw->items.count)
            vkr_raw_skip_count(raw, "title row for an item id no sequence uses", path, l.line);
        else {
            uint32_t item = (uint32_t)seq;
            uint64_t label = raw->item_label[item];
            if (label != UINT64_MAX && (strlen(raw->text.data + label) != n3 || memcmp(raw->text.data + label, r2, n3)))
                s = line_error(&l, "asin differs from the one the item list gives this id");
            else if (label == UINT64_MAX)
                s = vkr_raw_item_string(raw, item, 2, r2, n3, where);
            if (s == VKR_OK && n4 && raw->item_title[item] != UINT64_MAX) s = line_error(&l, "second title for this id");
            if (s == VKR_OK && n4) s = vkr_raw_item_string(raw, item, 0, r3, n4, where);
        }
    }
    vkr_lines_close(&l);
    return s;
}

/* Loads derived/<name> when present. */
static vkr_status optional_titles(vkr_raw* raw, const char* dir, const char* name, uint64_t lo, uint64_t hi) {
    char path[PATH_MAX_BYTES];
    VKR_TRY(vkr_path_join(dir, name, path, sizeof path));
    if (!vkr_path_exists(path)) return VKR_OK;
    return read_titles(raw, path, lo, hi);
}

/* Adds the user of one line, `stem:uid`; the same uid twice in one file is an error. */
static vkr_status line_user(vkr_raw* raw, const vkr_lines* l, const char* stem, const char* uid, size_t n,
                            vkr_user_role role, uint32_t* out_user) {
    char key[128];
    if (n == 0 || n > 64) return line_error(l, "the user id (first field) must be 1..64 bytes");
    int k = snprintf(key, sizeof key, "%s:%.*s", stem, (int)n, uid);
    bool added = false;
    VKR_TRY(vkr_raw_user(raw, key, (size_t)k, role, out_user, &added));
    if (!added) return line_error(l, "this user id already had a line in this file");
    return VKR_OK;
}

static vkr_status read_u64_line(vkr_lines* l, uint64_t* out) {
    bool ok = false;
    VKR_TRY(vkr_lines_next(l, &ok));
    if (!ok) return vkr_fail(VKR_ERR_FORMAT, "%s: expected two lines with item counts", l->path);
    size_t n = l->len;
    while (n && (l->buf[n - 1] == ' ' || l->buf[n - 1] == '\t')) n--;
    if (!vkr_parse_u64(l->buf, n, out) || *out == 0 || *out > (1u << 24))
        return line_error(l, "expected an item count (a positive integer up to 2^24)");
    return VKR_OK;
}

/* One LLMCDSR sequence file: `uid<TAB>i1,i2,...` with ids below `ids` (num.txt's total). The items
 * do not exist yet: *used_end grows to one past the largest id used. */
static vkr_status llmcdsr_file(vkr_raw* raw, const char* dir, const char* stem, vkr_user_role role, uint64_t ids,
                               uint64_t* used_end) {
    char path[PATH_MAX_BYTES], name[64];
    snprintf(name, sizeof name, "%s.txt", stem);
    VKR_TRY(vkr_path_join(dir, name, path, sizeof path));
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    vkr_status s = VKR_OK;
    bool ok = true;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        if (l.len == 0) {
            vkr_raw_skip_count(raw, "empty line", path, l.line);
            continue;
        }
        if (!strchr(l.buf, '\t')) {
            s = line_error(&l, "expected 'uid<TAB>item,item,...'");
            break;
        }
        const char* rest;
        size_t n = field(l.buf, '\t', &rest);
        if (*rest == 0) {
            vkr_raw_skip_count(raw, "line without items", path, l.line);
            continue;
        }
        uint32_t user = 0;
        s = line_user(raw, &l, stem, l.buf, n, role, &user);
        while (s == VKR_OK) {
            const char* next;
            size_t m = field(rest, ',', &next);
            uint64_t id = 0;
            if (!vkr_parse_u64(rest, m, &id)) s = line_error(&l, "an item id is empty or not a non-negative integer");
            else if (id >= ids) s = line_error(&l, "item id beyond the counts in num.txt");
            else s = vkr_raw_event_add(raw, user, (uint32_t)id, 0);
            if (s == VKR_OK && id >= *used_end) *used_end = id + 1;
            if (rest[m] != ',') break;
            rest = next;
        }
    }
    vkr_lines_close(&l);
    return s;
}

vkr_status vkr_parse_llmcdsr(vkr_raw* raw, const char* dir, const char* const domain_names[2]) {
    char path[PATH_MAX_BYTES];
    VKR_TRY(vkr_path_join(dir, "num.txt", path, sizeof path));
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    uint64_t na = 0, nb = 0;
    bool ok = false;
    vkr_status s = read_u64_line(&l, &na);
    if (s == VKR_OK) s = read_u64_line(&l, &nb);
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok)
        if (l.buf[strspn(l.buf, " \t")] != 0) s = line_error(&l, "expected only two lines (the item counts of A and B)");
    vkr_lines_close(&l);
    VKR_TRY(s);
    /* Sequences first, so items are created only up to the largest id in use: items past it have no
     * interaction (preparation would drop them), and a bogus count in num.txt then costs nothing. */
    uint64_t end = 0;
    static const char* const stems[5] = {"train_A", "train_B", "train_overlap", "valid", "test"};
    static const vkr_user_role roles[5] = {VKR_ROLE_TRAIN, VKR_ROLE_TRAIN, VKR_ROLE_TRAIN, VKR_ROLE_VALID, VKR_ROLE_TEST};
    for (int f = 0; f < 5; f++) VKR_TRY(llmcdsr_file(raw, dir, stems[f], roles[f], na + nb, &end));
    if (end <= na)
        return vkr_fail(VKR_ERR_FORMAT, "%s: no sequence uses an item of domain B (ids %llu..%llu): num.txt does not "
                        "match the sequence files", path, (unsigned long long)na, (unsigned long long)(na + nb - 1));
    if (end < na + nb) vkr_raw_skip_add(raw, "num.txt items past the largest id any sequence uses", path, 0, na + nb - end);
    VKR_TRY(make_id_space(raw, domain_names, na, end - na));
    VKR_TRY(optional_titles(raw, dir, "derived/items_A.tsv", 0, na));
    VKR_TRY(optional_titles(raw, dir, "derived/items_B.tsv", na, na + nb));
    raw->has_given_split = true;
    return VKR_OK;
}

/* Places the ASINs of a list file (pairs of local_idx and text offset, in line order) by local_idx, which
 * must number the lines 0..n-1: the array is sized by the lines read, never by an index. */
static vkr_status c2dsr_place(const char* path, const uint64_t* pairs, size_t count, uint64_t** out_asin) {
    uint64_t* asin = malloc((count ? count : 1) * sizeof *asin);
    if (!asin) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", path);
    for (size_t k = 0; k < count; k++) asin[k] = UINT64_MAX;
    for (size_t k = 0; k < count; k++) {
        uint64_t local = pairs[2 * k];
        vkr_status s = VKR_OK;
        if (local >= count)
            s = vkr_fail(VKR_ERR_FORMAT, "%s:%zu: local_idx %llu, but the file has %zu lines (local_idx numbers them "
                         "from 0)", path, k + 1, (unsigned long long)local, count);
        else if (asin[local] != UINT64_MAX)
            s = vkr_fail(VKR_ERR_FORMAT, "%s:%zu: local_idx repeats an earlier line", path, k + 1);
        if (s != VKR_OK) {
            free(asin);
            return s;
        }
        asin[local] = pairs[2 * k + 1];
    }
    *out_asin = asin;
    return VKR_OK;
}

/* Reads Alist/Blist (`orig_id<TAB>ASIN<TAB>local_idx`) into per-domain ASIN arrays (offsets into
 * raw->text, indexed by local_idx). */
static vkr_status c2dsr_list(vkr_raw* raw, const char* path, uint64_t** out_asin, uint64_t* out_count) {
    *out_asin = NULL;
    *out_count = 0;
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    uint64_t* pairs = NULL;
    size_t cap = 0, count = 0;
    vkr_status s = VKR_OK;
    bool ok = true;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        const char *r1, *r2, *r3;
        field(l.buf, '\t', &r1);
        size_t n2 = field(r1, '\t', &r2), n3 = field(r2, '\t', &r3);
        uint64_t local = 0;
        if (*r3 != 0 || n2 == 0 || !vkr_parse_u64(r2, n3, &local) || local >= (1u << 24)) {
            s = line_error(&l, "expected 'orig_id<TAB>ASIN<TAB>local_idx'");
            break;
        }
        if (count == cap) {
            size_t c = cap ? cap * 2 : 1024;
            uint64_t* p = realloc(pairs, c * 2 * sizeof *p);
            if (!p) {
                s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", path);
                break;
            }
            pairs = p;
            cap = c;
        }
        pairs[2 * count] = local;
        s = vkr_strpool_add(&raw->text, r1, n2, &pairs[2 * count + 1]);
        count++;
    }
    vkr_lines_close(&l);
    if (s == VKR_OK && count == 0) s = vkr_fail(VKR_ERR_FORMAT, "%s: no items", path);
    if (s == VKR_OK) s = c2dsr_place(path, pairs, count, out_asin);
    free(pairs);
    if (s == VKR_OK) *out_count = count;
    return s;
}

/* One C2DSR sequence file: `uid<TAB>seq_no<TAB>item|unix_ts|date|<TAB>...`. Events keep file order
 * here; preparation stable-sorts each user's events by timestamp, which puts the target (written
 * last) where its timestamp says. */
static vkr_status c2dsr_file(vkr_raw* raw, const char* path, const char* stem, vkr_user_role role) {
    vkr_lines l;
    VKR_TRY(vkr_lines_open(path, &l));
    vkr_status s = VKR_OK;
    bool ok = true;
    while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
        if (l.len == 0) {
            vkr_raw_skip_count(raw, "empty line", path, l.line);
            continue;
        }
        const char *r1, *rest;
        size_t n1 = field(l.buf, '\t', &r1);
        size_t n2 = field(r1, '\t', &rest);
        uint64_t seq_no = 0;
        if (!vkr_parse_u64(r1, n2, &seq_no)) {
            s = line_error(&l, "expected 'uid<TAB>seq_no<TAB>item|timestamp|date|...'");
            break;
        }
        if (*rest == 0) {
            vkr_raw_skip_count(raw, "line without items", path, l.line);
            continue;
        }
        uint32_t user = 0;
        s = line_user(raw, &l, stem, l.buf, n1, role, &user);
        while (s == VKR_OK && *rest) {
            const char* next;
            size_t m = field(rest, '\t', &next);
            if (m == 0) {
                vkr_raw_skip_count(raw, "empty token (doubled or trailing tab)", path, l.line);
                rest = next;
                continue;
            }
            /* item|timestamp|date|: only the first two fields matter. */
            const char* bar = memchr(rest, '|', m);
            size_t ni = bar ? (size_t)(bar - rest) : m;
            const char* ts_text = bar ? bar + 1 : rest + m;
            const char* bar2 = bar ? memchr(ts_text, '|', (size_t)(rest + m - ts_text)) : NULL;
            size_t nt = bar2 ? (size_t)(bar2 - ts_text) : (size_t)(rest + m - ts_text);
            uint64_t id = 0;
            int64_t ts = 0;
            if (!bar || !vkr_parse_u64(rest, ni, &id) || !vkr_parse_i64(ts_text, nt, &ts))
                s = line_error(&l, "a token is not 'item|unix_timestamp|...'");
            else if (id >= raw->items.count)
                s = line_error(&l, "item id beyond the items of Alist.txt and Blist.txt");
            else
                s = vkr_raw_event_add(raw, user, (uint32_t)id, ts);
            rest = next;
        }
    }
    vkr_lines_close(&l);
    return s;
}

vkr_status vkr_parse_c2dsr(vkr_raw* raw, const char* dir, const char* const domain_names[2]) {
    char path[PATH_MAX_BYTES];
    uint64_t *asin_a = NULL, *asin_b = NULL, na = 0, nb = 0;
    vkr_status s = vkr_path_join(dir, "Alist.txt", path, sizeof path);
    if (s == VKR_OK) s = c2dsr_list(raw, path, &asin_a, &na);
    if (s == VKR_OK) s = vkr_path_join(dir, "Blist.txt", path, sizeof path);
    if (s == VKR_OK) s = c2dsr_list(raw, path, &asin_b, &nb);
    if (s == VKR_OK) s = make_id_space(raw, domain_names, na, nb);
    for (uint64_t i = 0; s == VKR_OK && i < na + nb; i++)
        raw->item_label[i] = i < na ? asin_a[i] : asin_b[i - na];
    free(asin_a);
    free(asin_b);
    VKR_TRY(s);
    VKR_TRY(optional_titles(raw, dir, "derived/titles_A_from_llmcdsr.tsv", 0, na));
    VKR_TRY(optional_titles(raw, dir, "derived/titles_B_from_llmcdsr.tsv", na, na + nb));
    static const char* const stems[3] = {"train", "valid", "test"};
    static const vkr_user_role roles[3] = {VKR_ROLE_TRAIN, VKR_ROLE_VALID, VKR_ROLE_TEST};
    for (int f = 0; f < 3; f++) {
        char name[64];
        snprintf(name, sizeof name, "%sdata_new.txt", stems[f]);
        VKR_TRY(vkr_path_join(dir, name, path, sizeof path));
        /* The public copies lack traindata_new.txt; validation and test alone still hold every user. */
        if (f == 0 && !vkr_path_exists(path)) {
            vkr_raw_skip_count(raw, "missing file (the release's training sequences)", path, 0);
            continue;
        }
        VKR_TRY(c2dsr_file(raw, path, stems[f], roles[f]));
    }
    raw->has_time = true;
    raw->has_given_split = true;
    return VKR_OK;
}
