#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_dist.h"
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

uint32_t vkr_history_items(const vkr_dataset* ds, uint32_t user, uint32_t pos, uint32_t lo, uint32_t hi,
                           uint32_t* out) {
    const uint32_t* ev = ds->seq_item + ds->seq_begin[user];
    uint32_t n = 0;
    for (uint32_t i = 0; i < pos; i++)
        if (ev[i] >= lo && ev[i] < hi) out[n++] = ev[i] - lo;
    return vkr_sort_unique(out, n);
}

/* Appends to out[drawn..] the domain's local items that are neither in `seen` (sorted) nor among
 * out[0..drawn), in item order, until `want` in all; returns the new count. */
static uint32_t vkr_fill_unseen(const uint32_t* seen, uint32_t n_seen, uint32_t n_items, uint32_t* out,
                                uint32_t drawn, uint32_t want) {
    uint32_t got = drawn;
    for (uint32_t c = 0, j = 0; c < n_items && got < want; c++) {
        if (j < n_seen && seen[j] == c) {
            j++;
            continue;
        }
        bool dup = false;
        for (uint32_t k = 0; k < drawn && !dup; k++) dup = out[k] == c;
        if (!dup) out[got++] = c;
    }
    return got;
}

/* Draws `want` distinct local indices of the domain that the user never interacted with (fewer only
 * when the domain lacks them; vkr_protocol_check refuses that case first). */
static uint32_t vkr_sample_negatives(const vkr_dataset* ds, uint32_t domain, uint32_t user, uint32_t pos, uint64_t seed,
                                     uint32_t want, uint32_t* seen, uint32_t* out) {
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin;
    uint32_t n_seen = vkr_history_items(ds, user, vkr_dataset_user_len(ds, user), begin, begin + n_items, seen);
    uint32_t got = 0;
    if (n_items - n_seen <= want) /* every unseen item is a negative: drawing would only retry in vain */
        return vkr_fill_unseen(seen, n_seen, n_items, out, 0, n_items);
    vkr_rng rng = vkr_rng_make(seed, ((uint64_t)user << 32) | pos); /* negatives depend only on (seed, user, pos) */
    for (uint64_t tries = 0; got < want && tries < 64ull * want + 1024; tries++) {
        uint32_t c = (uint32_t)vkr_rng_next_below(&rng, n_items);
        if (vkr_sorted_has(seen, n_seen, c)) continue;
        bool dup = false;
        for (uint32_t k = 0; k < got && !dup; k++) dup = out[k] == c;
        if (!dup) out[got++] = c;
    }
    /* the bounded draw fell short (N close to the unseen count): the rest in item order, so that a
     * sampled:N metric always ranks against N negatives */
    return got < want ? vkr_fill_unseen(seen, n_seen, n_items, out, got, want) : got;
}

vkr_status vkr_protocol_check(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t count,
                              const vkr_protocol* pr) {
    if (!ds || !pr || domain >= ds->domain_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_protocol_check: bad dataset, protocol or domain");
    if (pr->negatives == 0) return VKR_OK;
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin;
    uint32_t* seen = malloc(((size_t)vkr_dataset_longest(ds) + 1) * sizeof *seen);
    if (!seen) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory checking the protocol");
    uint32_t fewest = UINT32_MAX, tight = 0, tight_seen = 0; /* the user with the fewest unseen items */
    for (uint32_t i = 0; i < count; i++) {
        uint32_t u = pairs[2 * i], it = ds->seq_item[ds->seq_begin[u] + pairs[2 * i + 1]];
        if (it < begin || it >= begin + n_items) continue;
        /* the sampler leaves out every item of the user, the target included */
        uint32_t n_seen = vkr_history_items(ds, u, vkr_dataset_user_len(ds, u), begin, begin + n_items, seen);
        if (n_items - n_seen < fewest) fewest = n_items - n_seen, tight = u, tight_seen = n_seen;
    }
    free(seen);
    if (fewest == UINT32_MAX || fewest >= pr->negatives) return VKR_OK;
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "protocol sampled:%u cannot be honoured on domain %s: it has %u items and "
                    "user '%s' interacted with %u of them, leaving %u to draw negatives from (use sampled:N with N <= "
                    "%u, or full)", pr->negatives, ds->domain_name[domain], n_items,
                    vkr_strtab_get(&ds->user_key, tight), tight_seen, fewest, fewest);
}

/* Rank of the target among a decoded list (global ids, -1 past the end) without the history's items
 * (sorted global ids; the target itself still ranks); VKR_RANK_MISSING when the list lacks it. */
static uint64_t vkr_decoded_rank(const int32_t* top, uint32_t width, uint32_t target, const uint32_t* history,
                                 uint32_t n_history) {
    uint64_t r = 0;
    for (uint32_t j = 0; j < width && top[j] >= 0; j++) {
        if ((uint32_t)top[j] == target) return r;
        if (!vkr_sorted_has(history, n_history, (uint32_t)top[j])) r++;
    }
    return VKR_RANK_MISSING;
}

/* Ranks of n selected examples under the full protocol from a model without `score`: its own
 * rank_full, or with exclude_history its decoded lists without each history's items. */
static vkr_status vkr_rank_decoded(const vkr_dataset* ds, const vkr_scorer* sc, bool exclude_history,
                                   const uint32_t* sel, uint32_t n, int32_t* top, float* top_scores, uint32_t* seen,
                                   uint64_t* ranks) {
    if (!exclude_history) return sc->rank_full(sc->self, sel, n, ranks);
    uint32_t w = sc->top_width;
    VKR_TRY(sc->top_items(sc->self, sel, n, top, top_scores, &w));
    for (uint32_t k = 0; k < n; k++) {
        uint32_t u = sel[2 * k], p = sel[2 * k + 1];
        uint32_t n_seen = vkr_history_items(ds, u, p, 0, ds->item_count, seen); /* a global trie decodes any domain */
        uint32_t target = ds->seq_item[ds->seq_begin[u] + p];
        ranks[k] = vkr_decoded_rank(top + (size_t)k * sc->top_width, w, target, seen, n_seen); /* rows: top_width */
    }
    return VKR_OK;
}

/* vkr_evaluate on this process's pairs alone. */
static vkr_status vkr_evaluate_local(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t count,
                                     const vkr_scorer* sc, const vkr_protocol* pr, vkr_metrics* out) {
    memset(out, 0, sizeof *out);
    if (!ds || !sc || !pr || domain >= ds->domain_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_evaluate: bad dataset, scorer or domain");
    bool full = pr->negatives == 0, exclude = full && pr->exclude_history;
    bool by_candidates = !full && sc->score_candidates && pr->negatives + 1 <= sc->max_candidates;
    bool decoded = full && !sc->score && (exclude ? sc->top_items != NULL : sc->rank_full != NULL);
    if (full ? !sc->score && !decoded : !sc->score && !by_candidates)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "this model cannot be evaluated under the %s protocol",
                        full ? "full" : "sampled");
    VKR_TRY(vkr_protocol_check(ds, domain, pairs, count, pr));
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin;
    uint32_t batch = sc->batch ? sc->batch : 64;
    uint32_t c = pr->negatives + 1;
    size_t row = by_candidates ? c : n_items, top_room = decoded && exclude ? (size_t)batch * sc->top_width : 1;
    uint32_t* sel = malloc((size_t)batch * 2 * sizeof *sel);
    float* scores = malloc((size_t)batch * row * sizeof *scores);
    uint32_t* cand = malloc((size_t)batch * c * sizeof *cand);
    uint32_t* got = malloc((size_t)batch * sizeof *got);
    uint64_t* ranks = malloc((size_t)batch * sizeof *ranks);
    uint32_t* seen = malloc(((size_t)vkr_dataset_longest(ds) + 1) * sizeof *seen);
    float* sub = malloc((size_t)c * sizeof *sub);
    int32_t* top = malloc(top_room * sizeof *top);
    float* top_scores = malloc(top_room * sizeof *top_scores);
    vkr_status s = VKR_OK;
    if (!sel || !scores || !cand || !got || !ranks || !seen || !sub || !top || !top_scores)
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
        if (decoded) {
            s = vkr_rank_decoded(ds, sc, exclude, sel, n, top, top_scores, seen, ranks);
            for (uint32_t k = 0; s == VKR_OK && k < n; k++) vkr_metrics_add(out, ranks[k]);
            continue;
        }
        s = by_candidates ? sc->score_candidates(sc->self, sel, n, cand, c, scores) : sc->score(sc->self, sel, n, scores);
        for (uint32_t k = 0; s == VKR_OK && k < n; k++) {
            const float* r = scores + (size_t)k * row;
            if (full) {
                uint32_t u = sel[2 * k], p = sel[2 * k + 1];
                uint32_t n_seen = exclude ? vkr_history_items(ds, u, p, begin, begin + n_items, seen) : 0;
                uint32_t t = ds->seq_item[ds->seq_begin[u] + p] - begin;
                vkr_metrics_add(out, vkr_rank_skipping(r, n_items, t, seen, n_seen));
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
    free(top);
    free(top_scores);
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

vkr_status vkr_evaluate(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t count,
                        const vkr_scorer* sc, const vkr_protocol* pr, vkr_metrics* out) {
    uint32_t ranks = vkr_dist_size(), r = vkr_dist_rank();
    if (ranks == 1 || !pairs) return vkr_evaluate_local(ds, domain, pairs, count, sc, pr, out);
    /* data-parallel: each rank ranks a contiguous share of the pairs, then the counts are summed */
    uint32_t lo = (uint32_t)((uint64_t)count * r / ranks), hi = (uint32_t)((uint64_t)count * (r + 1) / ranks);
    VKR_TRY(vkr_evaluate_local(ds, domain, pairs + 2 * (size_t)lo, hi - lo, sc, pr, out));
    VKR_TRY(vkr_dist_sum_u64(&out->count, 1));
    VKR_TRY(vkr_dist_sum_u64(out->at_rank, VKR_METRICS_MAX_CUTOFF));
    return vkr_dist_sum_f64(&out->mrr, 1);
}
