#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_rec.h"
#include "vkr_rng.h"

vkr_status vkr_protocol_parse(const char* text, vkr_protocol* out) {
    memset(out, 0, sizeof *out);
    out->seed = 2024;
    if (!text || strcmp(text, "full") == 0) return VKR_OK;
    if (strncmp(text, "sampled:", 8) == 0) {
        char* end = NULL;
        unsigned long n = strtoul(text + 8, &end, 10);
        if (end && *end == '\0' && n > 0 && n < 1000000 && text[8] != '-') {
            out->negatives = (uint32_t)n;
            return VKR_OK;
        }
    }
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--protocol '%s': expected 'full' or 'sampled:N' (e.g. sampled:100)", text);
}

static int vkr_cmp_u32(const void* a, const void* b) {
    uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
    return (x > y) - (x < y);
}

/* Draws `want` distinct local indices of the domain that the user never interacted with. */
static uint32_t vkr_sample_negatives(const vkr_dataset* ds, uint32_t domain, uint32_t user, uint32_t pos, uint64_t seed,
                                     uint32_t want, uint32_t* seen, uint32_t* out) {
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin;
    uint32_t len = vkr_dataset_user_len(ds, user), n_seen = 0;
    for (uint32_t i = 0; i < len; i++) {
        uint32_t it = ds->seq_item[ds->seq_begin[user] + i];
        if (it >= begin && it < begin + n_items) seen[n_seen++] = it - begin;
    }
    qsort(seen, n_seen, sizeof *seen, vkr_cmp_u32);
    uint32_t got = 0;
    vkr_rng rng = vkr_rng_make(seed, ((uint64_t)user << 32) | pos); /* negatives depend only on (seed, user, pos) */
    for (uint64_t tries = 0; got < want && tries < 64ull * want + 1024; tries++) {
        uint32_t c = (uint32_t)vkr_rng_next_below(&rng, n_items);
        if (bsearch(&c, seen, n_seen, sizeof *seen, vkr_cmp_u32)) continue;
        bool dup = false;
        for (uint32_t k = 0; k < got && !dup; k++) dup = out[k] == c;
        if (!dup) out[got++] = c;
    }
    return got;
}

vkr_status vkr_evaluate(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t count,
                        const vkr_scorer* sc, const vkr_protocol* pr, vkr_metrics* out) {
    memset(out, 0, sizeof *out);
    if (!ds || !sc || !pr || domain >= ds->domain_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_evaluate: bad dataset, scorer or domain");
    bool full = pr->negatives == 0;
    bool by_candidates = !full && sc->score_candidates && pr->negatives + 1 <= sc->max_candidates;
    if (full ? !sc->score && !sc->rank_full : !sc->score && !by_candidates)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "this model cannot be evaluated under the %s protocol",
                        full ? "full" : "sampled");
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin;
    uint32_t batch = sc->batch ? sc->batch : 64;
    uint32_t c = pr->negatives + 1;
    uint32_t* sel = malloc((size_t)batch * 2 * sizeof *sel);
    size_t row = by_candidates ? c : n_items;
    float* scores = malloc((size_t)batch * row * sizeof *scores);
    uint32_t* cand = malloc((size_t)batch * c * sizeof *cand);
    uint32_t* got = malloc((size_t)batch * sizeof *got);
    uint64_t* ranks = malloc((size_t)batch * sizeof *ranks);
    uint32_t* seen = malloc(((size_t)vkr_dataset_longest(ds) + 1) * sizeof *seen);
    float* sub = malloc((size_t)c * sizeof *sub);
    vkr_status s = VKR_OK;
    if (!sel || !scores || !cand || !got || !ranks || !seen || !sub)
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory evaluating");
    uint32_t i = 0;
    while (s == VKR_OK && i < count) {
        uint32_t n = 0;
        for (; i < count && n < batch; i++) {
            uint32_t u = pairs[2 * i], p = pairs[2 * i + 1];
            uint32_t it = ds->seq_item[ds->seq_begin[u] + p];
            if (it < begin || it >= begin + n_items) continue;
            sel[2 * n] = u;
            sel[2 * n + 1] = p;
            n++;
        }
        if (n == 0) break;
        /* candidates: the target first, then its negatives (sampled protocols) */
        for (uint32_t k = 0; !full && k < n; k++) {
            uint32_t u = sel[2 * k], p = sel[2 * k + 1];
            cand[(size_t)k * c] = ds->seq_item[ds->seq_begin[u] + p] - begin;
            got[k] = 1 + vkr_sample_negatives(ds, domain, u, p, pr->seed, pr->negatives, seen, cand + (size_t)k * c + 1);
            for (uint32_t j = got[k]; j < c; j++) cand[(size_t)k * c + j] = cand[(size_t)k * c]; /* padding, ignored */
        }
        if (full && !sc->score) {
            s = sc->rank_full(sc->self, sel, n, ranks);
            for (uint32_t k = 0; s == VKR_OK && k < n; k++) vkr_metrics_add(out, ranks[k]);
            continue;
        }
        s = by_candidates ? sc->score_candidates(sc->self, sel, n, cand, c, scores) : sc->score(sc->self, sel, n, scores);
        for (uint32_t k = 0; s == VKR_OK && k < n; k++) {
            const float* r = scores + (size_t)k * row;
            if (full) {
                uint32_t u = sel[2 * k], p = sel[2 * k + 1];
                vkr_metrics_add(out, vkr_rank_of(r, n_items, ds->seq_item[ds->seq_begin[u] + p] - begin));
                continue;
            }
            for (uint32_t j = 0; j < got[k]; j++) sub[j] = by_candidates ? r[j] : r[cand[(size_t)k * c + j]];
            vkr_metrics_add(out, vkr_rank_of(sub, got[k], 0));
        }
    }
    free(sel);
    free(scores);
    free(cand);
    free(got);
    free(ranks);
    free(seen);
    free(sub);
    return s;
}

/* ---- most popular ---- */

vkr_status vkr_pop_fit(const vkr_dataset* ds, uint32_t domain, vkr_pop* out) {
    memset(out, 0, sizeof *out);
    if (!ds || domain >= ds->domain_count) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "pop: bad dataset or domain");
    uint32_t begin = ds->item_begin[domain], n = ds->item_begin[domain + 1] - begin;
    out->ds = ds;
    out->domain = domain;
    out->counts = calloc(n ? n : 1, sizeof *out->counts);
    if (!out->counts) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory fitting pop");
    for (uint32_t u = 0; u < ds->user_count; u++)
        for (uint32_t i = 0; i < ds->train_len[u]; i++) {
            uint32_t it = ds->seq_item[ds->seq_begin[u] + i];
            if (it >= begin && it < begin + n) out->counts[it - begin] += 1.0f;
        }
    return VKR_OK;
}

static vkr_status vkr_pop_score(void* self, const uint32_t* pairs, uint32_t n, float* scores) {
    (void)pairs;
    const vkr_pop* p = self;
    uint32_t items = p->ds->item_begin[p->domain + 1] - p->ds->item_begin[p->domain];
    for (uint32_t k = 0; k < n; k++) memcpy(scores + (size_t)k * items, p->counts, items * sizeof *scores);
    return VKR_OK;
}

vkr_scorer vkr_pop_scorer(vkr_pop* pop) { return (vkr_scorer){.self = pop, .batch = 256, .score = vkr_pop_score}; }

void vkr_pop_free(vkr_pop* pop) {
    if (!pop) return;
    free(pop->counts);
    memset(pop, 0, sizeof *pop);
}

/* True when the user interacted with global item `it`. */
static bool vkr_user_has(const vkr_dataset* ds, uint32_t user, uint32_t it) {
    const uint32_t* ev = ds->seq_item + ds->seq_begin[user];
    for (uint32_t i = 0; i < vkr_dataset_user_len(ds, user); i++)
        if (ev[i] == it) return true;
    return false;
}

vkr_status vkr_recommend(const vkr_dataset* ds, uint32_t domain, uint32_t user, const vkr_scorer* sc, uint32_t k,
                         uint32_t* items, float* scores, uint32_t* out_count) {
    *out_count = 0;
    if (!ds || !sc || !items || !scores || domain >= ds->domain_count || user >= ds->user_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_recommend: bad dataset, scorer, domain or user %u", user);
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin;
    uint32_t pair[2] = {user, vkr_dataset_user_len(ds, user)}, n = 0;
    vkr_status s = VKR_OK;
    if (sc->score) {
        float* all = malloc((size_t)n_items * sizeof *all);
        if (!all) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u scores", n_items);
        s = sc->score(sc->self, pair, 1, all);
        /* the user's own items of the domain are taken out once (NaN never wins), then the k best
         * remaining are selected: k is small, so k passes over the scores */
        const uint32_t* ev = ds->seq_item + ds->seq_begin[user];
        for (uint32_t i = 0; s == VKR_OK && i < pair[1]; i++)
            if (ev[i] >= begin && ev[i] < begin + n_items) all[ev[i] - begin] = NAN;
        for (; s == VKR_OK && n < k; n++) {
            int64_t best = -1;
            for (uint32_t j = 0; j < n_items; j++)
                if (all[j] == all[j] && (best < 0 || all[j] > all[best])) best = j;
            if (best < 0) break;
            items[n] = begin + (uint32_t)best;
            scores[n] = all[best];
            all[best] = NAN; /* taken */
        }
        free(all);
    } else if (sc->top_items) {
        uint32_t w = sc->top_width;
        int32_t* top = malloc((size_t)w * sizeof *top);
        float* ts = malloc((size_t)w * sizeof *ts);
        s = top && ts ? sc->top_items(sc->self, pair, 1, top, ts, &w)
                      : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u items", w);
        for (uint32_t j = 0; s == VKR_OK && j < w && n < k; j++)
            if (top[j] >= 0 && !vkr_user_has(ds, user, (uint32_t)top[j])) {
                items[n] = (uint32_t)top[j];
                scores[n++] = ts[j];
            }
        free(top);
        free(ts);
    } else {
        s = vkr_fail(VKR_ERR_UNSUPPORTED, "vkr_recommend: the model neither scores every item nor decodes");
    }
    if (s == VKR_OK) *out_count = n;
    return s;
}
