/* Preprocessing: sort, dedupe, filter, split, renumber; builds the in-memory dataset image. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_data_image.h"
#include "vkr_data_prep.h"

vkr_prep_options vkr_prep_options_default(void) {
    return (vkr_prep_options){.split = VKR_SPLIT_LOO, .min_item = 10, .min_user = 3, .overlap = VKR_OVERLAP_AUTO,
                              .max_len = 50};
}

static int cmp_event(const void* a, const void* b) {
    const vkr_raw_event* x = a;
    const vkr_raw_event* y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Working state of one preparation. */
typedef struct prep {
    const vkr_raw* raw;
    vkr_raw_event* ev;   /* sorted by (user, time, pos) */
    uint8_t* alive;      /* per event */
    uint64_t* ubegin;    /* [users+1] event range per raw user */
    uint8_t* udrop;      /* per raw user: removed entirely */
    uint64_t* target_ev; /* given split: the line's last event, UINT64_MAX for training users */
    uint32_t* stamp;     /* per raw item: last user seen (dedupe), then item counts (filters) */
    uint32_t nd;         /* domains */
} prep;

static uint64_t alive_count(const prep* p, uint32_t u) {
    uint64_t n = 0;
    for (uint64_t e = p->ubegin[u]; e < p->ubegin[u + 1]; e++) n += p->alive[e];
    return n;
}

static void kill_user(prep* p, uint32_t u) {
    p->udrop[u] = 1;
    for (uint64_t e = p->ubegin[u]; e < p->ubegin[u + 1]; e++) p->alive[e] = 0;
}

/* One pass of every filter; returns events removed. */
static uint64_t filter_pass(prep* p, const vkr_prep_options* o, bool overlap, uint32_t* item_cnt,
                            vkr_prep_report* rep) {
    const vkr_raw* raw = p->raw;
    uint64_t removed = 0, n = raw->event_count;
    memset(item_cnt, 0, raw->items.count * sizeof *item_cnt);
    for (uint64_t e = 0; e < n; e++) item_cnt[p->ev[e].item] += p->alive[e];
    for (uint64_t e = 0; e < n; e++)
        if (p->alive[e] && item_cnt[p->ev[e].item] < o->min_item) p->alive[e] = 0, removed++;
    for (uint32_t u = 0; u < raw->users.count; u++) {
        uint64_t per[VKR_DATA_MAX_DOMAINS] = {0};
        for (uint64_t e = p->ubegin[u]; e < p->ubegin[u + 1]; e++) per[raw->item_domain[p->ev[e].item]] += p->alive[e];
        bool all = true;
        for (uint64_t e = p->ubegin[u]; e < p->ubegin[u + 1]; e++)
            if (p->alive[e] && per[raw->item_domain[p->ev[e].item]] < o->min_user) p->alive[e] = 0, removed++;
        for (uint32_t d = 0; d < p->nd; d++) all &= per[d] >= (o->min_user ? o->min_user : 1);
        if (overlap && !all && !p->udrop[u]) {
            uint64_t left = alive_count(p, u);
            kill_user(p, u);
            removed += left;
            rep->overlap_dropped++;
        }
    }
    return removed;
}

/* Appends a cJSON skip/removal record. */
static void add_count(cJSON* arr, const char* reason, double count, const char* first) {
    if (count == 0) return;
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddNumberToObject(o, "count", count);
    if (first) cJSON_AddStringToObject(o, "first", first);
    cJSON_AddItemToArray(arr, o);
}

static cJSON* make_meta(const vkr_raw* raw, const vkr_prep_options* o, bool overlap, const vkr_prep_report* r) {
    cJSON* m = cJSON_CreateObject();
    cJSON* f = cJSON_AddObjectToObject(m, "filters");
    cJSON_AddBoolToObject(f, "dedupe", !o->keep_duplicates);
    cJSON_AddBoolToObject(f, "k_core", !o->no_filter);
    if (!o->no_filter) {
        cJSON_AddNumberToObject(f, "min_item", o->min_item);
        cJSON_AddNumberToObject(f, "min_user_per_domain", o->min_user);
    }
    cJSON_AddBoolToObject(f, "overlap_only", overlap);
    cJSON* sk = cJSON_AddArrayToObject(m, "skipped");
    for (uint32_t k = 0; k < raw->skip_count; k++)
        add_count(sk, raw->skips[k].reason, (double)raw->skips[k].count, raw->skips[k].first);
    cJSON* rm = cJSON_AddArrayToObject(m, "removed");
    add_count(rm, "repeated (user, item) interactions dropped", (double)r->duplicates, NULL);
    add_count(rm, "interactions dropped by the k-core and overlap filters", (double)r->filtered_events, NULL);
    add_count(rm, "users dropped for missing a domain", r->overlap_dropped, NULL);
    add_count(rm, "users dropped with fewer than 2 interactions", r->short_users, NULL);
    add_count(rm, "evaluation users dropped because their target was filtered out", r->eval_dropped, NULL);
    add_count(rm, "evaluation users dropped because their target is outside the target domain", r->off_target, NULL);
    cJSON* raw_counts = cJSON_AddObjectToObject(m, "raw");
    cJSON_AddNumberToObject(raw_counts, "users", r->raw_users);
    cJSON_AddNumberToObject(raw_counts, "items", r->raw_items);
    cJSON_AddNumberToObject(raw_counts, "interactions", (double)r->raw_events);
    cJSON_AddNumberToObject(m, "train_only_users", r->train_only);
    return m;
}

/* Builds the string table sections for `n` strings fetched by `get`. */
typedef const char* (*string_fn)(const vkr_raw* raw, uint32_t id);
static const char* item_key_of(const vkr_raw* r, uint32_t i) {
    return r->item_label[i] != UINT64_MAX ? r->text.data + r->item_label[i] : vkr_strmap_get(&r->items, i);
}
static const char* item_title_of(const vkr_raw* r, uint32_t i) {
    return r->item_title[i] != UINT64_MAX ? r->text.data + r->item_title[i] : "";
}
static const char* item_text_of(const vkr_raw* r, uint32_t i) {
    return r->item_text[i] != UINT64_MAX ? r->text.data + r->item_text[i] : "";
}
static const char* user_key_of(const vkr_raw* r, uint32_t u) { return vkr_strmap_get(&r->users, u); }

static vkr_status build_strtab(const vkr_raw* raw, string_fn get, const uint32_t* ids, uint32_t n, uint64_t** out_off,
                               char** out_chars) {
    uint64_t* off = malloc(((size_t)n + 1) * sizeof *off);
    uint64_t total = 0;
    for (uint32_t k = 0; off && k < n; k++) total += strlen(get(raw, ids[k])) + 1;
    char* chars = malloc(total ? total : 1);
    if (!off || !chars) {
        free(off);
        free(chars);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory building string tables");
    }
    uint64_t pos = 0;
    for (uint32_t k = 0; k < n; k++) {
        const char* s = get(raw, ids[k]);
        size_t len = strlen(s) + 1;
        off[k] = pos;
        memcpy(chars + pos, s, len);
        pos += len;
    }
    off[n] = pos;
    *out_off = off;
    *out_chars = chars;
    return VKR_OK;
}

/* Fills train_len and the examples of user u (new id nu) whose kept events are seq[0..len). */
static void split_user(const vkr_dataset* d, const prep* p, uint32_t raw_u, uint32_t nu, const uint32_t* seq,
                       uint32_t len, uint32_t* train_len, uint32_t* valid, uint32_t* nvalid, uint32_t* test,
                       uint32_t* ntest, vkr_prep_report* rep) {
    if (d->split == VKR_SPLIT_GIVEN) {
        uint8_t role = p->raw->user_role[raw_u];
        train_len[nu] = role == VKR_ROLE_TRAIN ? len : 0;
        uint32_t* ex = role == VKR_ROLE_VALID ? valid + 2 * (*nvalid)++ : role == VKR_ROLE_TEST ? test + 2 * (*ntest)++ : NULL;
        if (ex) ex[0] = nu, ex[1] = len - 1;
        return;
    }
    uint32_t last = UINT32_MAX, prev = UINT32_MAX;
    for (uint32_t k = len; k-- > 0;) {
        if (d->target_domain >= 0 && d->item_domain[seq[k]] != (uint32_t)d->target_domain) continue;
        if (last == UINT32_MAX) last = k;
        else {
            prev = k;
            break;
        }
    }
    if (prev == UINT32_MAX || prev == 0) {
        train_len[nu] = len;
        rep->train_only++;
        return;
    }
    train_len[nu] = prev;
    valid[2 * *nvalid] = nu, valid[2 * *nvalid + 1] = prev, (*nvalid)++;
    test[2 * *ntest] = nu, test[2 * *ntest + 1] = last, (*ntest)++;
}

/* The arrays build() packs into the image, by new ids. */
typedef struct packed {
    uint32_t* item_new; /* raw item -> new id */
    uint32_t* item_old; /* new id -> raw item */
    uint32_t* user_old;
    uint8_t* item_dom;
    uint64_t* seq_begin;
    uint32_t* seq_item;
    int64_t* seq_time;
    uint32_t* train_len;
    uint32_t* valid;
    uint32_t* test;
    uint64_t* off[4]; /* string tables: item key, title, text; user key */
    char* chars[4];
    uint32_t users, nvalid, ntest;
    uint64_t events;
} packed;

static vkr_status packed_alloc(const vkr_raw* raw, packed* pk) {
    uint32_t ni = raw->items.count, nu = raw->users.count;
    uint64_t ne = raw->event_count;
    pk->item_new = malloc(((size_t)ni + 1) * sizeof *pk->item_new);
    pk->item_old = malloc(((size_t)ni + 1) * sizeof *pk->item_old);
    pk->user_old = malloc(((size_t)nu + 1) * sizeof *pk->user_old);
    pk->item_dom = malloc((size_t)ni + 1);
    pk->seq_begin = malloc(((size_t)nu + 2) * sizeof *pk->seq_begin);
    pk->seq_item = malloc(((size_t)ne + 1) * sizeof *pk->seq_item);
    pk->seq_time = malloc(((size_t)ne + 1) * sizeof *pk->seq_time);
    pk->train_len = malloc(((size_t)nu + 1) * sizeof *pk->train_len);
    pk->valid = malloc(((size_t)nu * 2 + 2) * sizeof *pk->valid);
    pk->test = malloc(((size_t)nu * 2 + 2) * sizeof *pk->test);
    if (!pk->item_new || !pk->item_old || !pk->user_old || !pk->item_dom || !pk->seq_begin || !pk->seq_item ||
        !pk->seq_time || !pk->train_len || !pk->valid || !pk->test)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory preparing the dataset");
    return VKR_OK;
}

static void packed_free(packed* pk) {
    free(pk->item_new);
    free(pk->item_old);
    free(pk->user_old);
    free(pk->item_dom);
    free(pk->seq_begin);
    free(pk->seq_item);
    free(pk->seq_time);
    free(pk->train_len);
    free(pk->valid);
    free(pk->test);
    for (int k = 0; k < 4; k++) free(pk->off[k]), free(pk->chars[k]);
}

/* Numbers the items that kept an event, domain by domain; every domain must keep one. */
static vkr_status renumber_items(const prep* p, const vkr_prep_options* o, vkr_dataset* d, packed* pk) {
    const vkr_raw* raw = p->raw;
    uint32_t ni = raw->items.count;
    vkr_status s = VKR_OK;
    uint8_t* used = calloc((size_t)ni + 1, 1);
    if (!used) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory preparing the dataset");
    for (uint64_t e = 0; used && e < raw->event_count; e++)
        if (p->alive[e]) used[p->ev[e].item] = 1;
    uint32_t next = 0;
    for (uint32_t dom = 0; used && dom < p->nd; dom++) {
        d->item_begin[dom] = next;
        for (uint32_t i = 0; i < ni; i++)
            if (used[i] && raw->item_domain[i] == dom) {
                pk->item_new[i] = next;
                pk->item_old[next] = i;
                pk->item_dom[next++] = (uint8_t)dom;
            }
        if (next == d->item_begin[dom] && s == VKR_OK)
            s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "domain '%s' has no items left%s", raw->domain_name[dom],
                         o->no_filter ? "" : " after filtering (try lower --min-item/--min-user or --no-filter)");
    }
    d->item_begin[p->nd] = d->item_count = next;
    free(used);
    return s;
}

/* Packs the kept users' sequences under new ids and splits each one. */
static vkr_status pack_users(const prep* p, const vkr_prep_options* o, const vkr_dataset* d, packed* pk,
                             vkr_prep_report* rep) {
    for (uint32_t u = 0; u < p->raw->users.count; u++) {
        if (p->udrop[u]) continue;
        uint32_t len = 0;
        uint64_t events = pk->events;
        pk->seq_begin[pk->users] = events;
        for (uint64_t e = p->ubegin[u]; e < p->ubegin[u + 1]; e++)
            if (p->alive[e]) {
                pk->seq_item[events + len] = pk->item_new[p->ev[e].item];
                pk->seq_time[events + len] = p->ev[e].time;
                len++;
            }
        pk->user_old[pk->users] = u;
        split_user(d, p, u, pk->users, pk->seq_item + events, len, pk->train_len, pk->valid, &pk->nvalid, pk->test,
                   &pk->ntest, rep);
        pk->events += len;
        pk->users++;
    }
    pk->seq_begin[pk->users] = pk->events;
    if (pk->users == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "no users left%s",
                        o->no_filter ? "" : " after filtering (try --no-filter)");
    return VKR_OK;
}

static vkr_status build_strtabs(const vkr_raw* raw, const vkr_dataset* d, packed* pk) {
    VKR_TRY(build_strtab(raw, item_key_of, pk->item_old, d->item_count, &pk->off[0], &pk->chars[0]));
    VKR_TRY(build_strtab(raw, item_title_of, pk->item_old, d->item_count, &pk->off[1], &pk->chars[1]));
    VKR_TRY(build_strtab(raw, item_text_of, pk->item_old, d->item_count, &pk->off[2], &pk->chars[2]));
    return build_strtab(raw, user_key_of, pk->user_old, pk->users, &pk->off[3], &pk->chars[3]);
}

/* Writes the sections into d's owned image and binds d to it. */
static vkr_status pack_image(vkr_dataset* d, const packed* pk) {
    uint32_t users = pk->users;
    uint64_t* const* off = pk->off;
    char* const* chars = pk->chars;
    vkr_image_section sec[] = {
        {"item_domain", 1, pk->item_dom, d->item_count}, {"seq_begin", 8, pk->seq_begin, (uint64_t)users + 1},
        {"seq_item", 4, pk->seq_item, pk->events},      {"seq_time", 8, pk->seq_time, pk->events},
        {"train_len", 4, pk->train_len, users},         {"valid", 4, pk->valid, 2ull * pk->nvalid},
        {"test", 4, pk->test, 2ull * pk->ntest},        {"item_key_off", 8, off[0], (uint64_t)d->item_count + 1},
        {"item_key_chars", 1, chars[0], off[0][d->item_count]},
        {"item_title_off", 8, off[1], (uint64_t)d->item_count + 1},
        {"item_title_chars", 1, chars[1], off[1][d->item_count]},
        {"item_text_off", 8, off[2], (uint64_t)d->item_count + 1},
        {"item_text_chars", 1, chars[2], off[2][d->item_count]},
        {"user_key_off", 8, off[3], (uint64_t)users + 1},
        {"user_key_chars", 1, chars[3], off[3][users]},
    };
    size_t bytes = 0;
    vkr_status s = vkr_data_image_build(sec, sizeof sec / sizeof sec[0], &d->owned, &bytes);
    d->mapping_bytes = bytes;
    if (s == VKR_OK) s = vkr_data_image_bind(d, d->owned, bytes, "prepared dataset");
    return s;
}

/* Renumbers kept items (domain by domain) and users, and packs the image. */
static vkr_status build(prep* p, const vkr_prep_options* o, vkr_dataset* d, vkr_prep_report* rep) {
    packed pk = {0};
    vkr_status s = packed_alloc(p->raw, &pk);
    if (s == VKR_OK) s = renumber_items(p, o, d, &pk);
    d->item_domain = pk.item_dom; /* split_user reads the new ids' domains */
    if (s == VKR_OK) s = pack_users(p, o, d, &pk, rep);
    if (s == VKR_OK) s = build_strtabs(p->raw, d, &pk);
    if (s == VKR_OK) s = pack_image(d, &pk);
    packed_free(&pk);
    return s;
}

/* Given split: eval users whose target is outside --target are dropped. */
static void given_targets(prep* p, int target, vkr_prep_report* rep) {
    const vkr_raw* raw = p->raw;
    for (uint32_t u = 0; u < raw->users.count; u++) {
        p->target_ev[u] = UINT64_MAX;
        if (raw->user_role[u] == VKR_ROLE_TRAIN || p->ubegin[u + 1] == p->ubegin[u]) continue;
        uint64_t e = p->ubegin[u + 1] - 1;
        if (!p->alive[e]) continue; /* the last event was a duplicate: handled after filtering */
        p->target_ev[u] = e;
        if (target >= 0 && raw->item_domain[p->ev[e].item] != (uint32_t)target) {
            kill_user(p, u);
            rep->off_target++;
        }
    }
}

static vkr_status check_options(const vkr_raw* raw, const vkr_prep_options* o) {
    if (raw->domain_count == 0 || raw->event_count == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "no interactions were read");
    if (o->split == VKR_SPLIT_GIVEN && !raw->has_given_split)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--split given needs a release with its own train/valid/test files "
                        "(llmcdsr or c2dsr); use --split loo");
    if (!o->no_filter && (o->min_item == 0 || o->min_user == 0))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "min_item and min_user must be at least 1");
    return VKR_OK;
}

/* The dataset's header fields and the report's raw counts. */
static vkr_status init_dataset(const vkr_raw* raw, const vkr_prep_options* o, vkr_dataset* d, vkr_prep_report* rep) {
    d->domain_count = raw->domain_count;
    for (uint32_t k = 0; k < raw->domain_count; k++) memcpy(d->domain_name[k], raw->domain_name[k], VKR_DATA_NAME_MAX);
    d->target_domain = -1;
    if (o->target) {
        d->target_domain = vkr_dataset_domain_index(d, o->target);
        if (d->target_domain < 0) {
            char names[VKR_DATA_MAX_DOMAINS * VKR_DATA_NAME_MAX + 64] = "";
            for (uint32_t k = 0; k < raw->domain_count; k++)
                strcat(strcat(names, k ? ", " : ""), raw->domain_name[k]);
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--target '%s' is not a domain of this data (%s)", o->target, names);
        }
    }
    d->split = o->split;
    d->max_len = o->max_len;
    d->has_time = raw->has_time;
    rep->raw_events = raw->event_count;
    rep->raw_users = raw->users.count;
    rep->raw_items = raw->items.count;
    return VKR_OK;
}

static vkr_status prep_alloc(prep* p) {
    const vkr_raw* raw = p->raw;
    uint64_t ne = raw->event_count;
    uint32_t nu = raw->users.count, ni = raw->items.count;
    p->ev = malloc(ne * sizeof *p->ev);
    p->alive = malloc(ne);
    p->ubegin = calloc((size_t)nu + 1, sizeof *p->ubegin);
    p->udrop = calloc((size_t)nu + 1, 1);
    p->target_ev = malloc(((size_t)nu + 1) * sizeof *p->target_ev);
    p->stamp = malloc(((size_t)ni + 1) * sizeof *p->stamp);
    if (!p->ev || !p->alive || !p->ubegin || !p->udrop || !p->target_ev || !p->stamp)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory preparing %llu interactions",
                        (unsigned long long)ne);
    return VKR_OK;
}

static void prep_free(prep* p) {
    free(p->ev);
    free(p->alive);
    free(p->ubegin);
    free(p->udrop);
    free(p->target_ev);
    free(p->stamp);
}

/* Chronological order per user; file position breaks timestamp ties (a stable sort). */
static void sort_events(prep* p) {
    uint64_t ne = p->raw->event_count;
    uint32_t nu = p->raw->users.count;
    memcpy(p->ev, p->raw->events, ne * sizeof *p->ev);
    qsort(p->ev, ne, sizeof *p->ev, cmp_event);
    memset(p->alive, 1, ne);
    for (uint64_t e = 0; e < ne; e++) p->ubegin[p->ev[e].user + 1]++;
    for (uint32_t u = 0; u < nu; u++) p->ubegin[u + 1] += p->ubegin[u];
}

/* The earliest (user, item) interaction stays. */
static void drop_duplicates(prep* p, const vkr_prep_options* o, vkr_prep_report* rep) {
    for (uint32_t i = 0; i < p->raw->items.count; i++) p->stamp[i] = UINT32_MAX;
    for (uint32_t u = 0; !o->keep_duplicates && u < p->raw->users.count; u++)
        for (uint64_t e = p->ubegin[u]; e < p->ubegin[u + 1]; e++) {
            if (p->stamp[p->ev[e].item] == u) p->alive[e] = 0, rep->duplicates++;
            p->stamp[p->ev[e].item] = u;
        }
}

static void filter_to_fixed_point(prep* p, const vkr_prep_options* o, bool overlap, vkr_prep_report* rep) {
    while (!o->no_filter || overlap) {
        vkr_prep_options f = *o;
        if (o->no_filter) f.min_item = f.min_user = 0;
        uint64_t removed = filter_pass(p, &f, overlap, p->stamp, rep);
        rep->filter_rounds++;
        rep->filtered_events += removed;
        if (!removed) break;
    }
}

/* Evaluation users must keep their own target; everyone needs two events. */
static void drop_unusable_users(prep* p, const vkr_prep_options* o, vkr_prep_report* rep) {
    const vkr_raw* raw = p->raw;
    for (uint32_t u = 0; u < raw->users.count; u++) {
        if (p->udrop[u]) continue;
        if (o->split == VKR_SPLIT_GIVEN && raw->user_role[u] != VKR_ROLE_TRAIN &&
            (p->target_ev[u] == UINT64_MAX || !p->alive[p->target_ev[u]])) {
            kill_user(p, u);
            rep->eval_dropped++;
        } else if (alive_count(p, u) < 2) {
            kill_user(p, u);
            rep->short_users++;
        }
    }
}

vkr_status vkr_data_prepare(const vkr_raw* raw, const vkr_prep_options* o, vkr_dataset* d, vkr_prep_report* rep) {
    memset(d, 0, sizeof *d);
    memset(rep, 0, sizeof *rep);
    VKR_TRY(check_options(raw, o));
    VKR_TRY(init_dataset(raw, o, d, rep));
    bool overlap = o->overlap == VKR_OVERLAP_ON || (o->overlap == VKR_OVERLAP_AUTO && !o->no_filter && raw->domain_count >= 2);

    prep p = {.raw = raw, .nd = raw->domain_count};
    vkr_status s = prep_alloc(&p);
    if (s == VKR_OK) {
        sort_events(&p);
        drop_duplicates(&p, o, rep);
        if (o->split == VKR_SPLIT_GIVEN) given_targets(&p, d->target_domain, rep);
        filter_to_fixed_point(&p, o, overlap, rep);
        drop_unusable_users(&p, o, rep);
        s = build(&p, o, d, rep);
    }
    if (s == VKR_OK) d->meta = make_meta(raw, o, overlap, rep);
    prep_free(&p);
    if (s == VKR_OK) s = vkr_dataset_validate(d);
    if (s != VKR_OK) vkr_dataset_free(d);
    return s;
}
