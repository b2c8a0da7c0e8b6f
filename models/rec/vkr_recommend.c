/* Recommendations: each example's k best unseen items, batched through a model's scorer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_rec.h"

/* True when item a of row r ranks before item b: the higher score, then the lower index. */
static bool vkr_before(const float* r, uint32_t a, uint32_t b) { return r[a] > r[b] || (r[a] == r[b] && a < b); }

/* Restores the heap below node i of heap[0..size), whose root is the worst entry. */
static void vkr_sift_down(const float* r, uint32_t* heap, uint32_t size, uint32_t i) {
    for (;;) {
        uint32_t worst = i;
        for (uint32_t c = 2 * i + 1; c <= 2 * i + 2 && c < size; c++)
            if (vkr_before(r, heap[worst], heap[c])) worst = c;
        if (worst == i) return;
        uint32_t t = heap[i];
        heap[i] = heap[worst];
        heap[worst] = t;
        i = worst;
    }
}

/* The k best non-NaN entries of row (n scores) into idx, best first; returns how many. A heap of the
 * best so far (worst at its root) keeps it O(n log k) over large catalogues. */
static uint32_t vkr_top_k(const float* r, uint32_t n, uint32_t k, uint32_t* idx) {
    uint32_t size = 0;
    for (uint32_t j = 0; j < n && k; j++) {
        if (isnan(r[j])) continue;
        if (size < k) {
            uint32_t i = size++;
            idx[i] = j;
            for (; i && vkr_before(r, idx[(i - 1) / 2], idx[i]); i = (i - 1) / 2) {
                uint32_t t = idx[i];
                idx[i] = idx[(i - 1) / 2];
                idx[(i - 1) / 2] = t;
            }
        } else if (vkr_before(r, j, idx[0])) {
            idx[0] = j;
            vkr_sift_down(r, idx, size, 0);
        }
    }
    for (uint32_t end = size; end > 1; end--) { /* heap sort: the worst moves to the back */
        uint32_t t = idx[0];
        idx[0] = idx[end - 1];
        idx[end - 1] = t;
        vkr_sift_down(r, idx, end - 1, 0);
    }
    return size;
}

/* The lists of n examples (at most the scorer's batch): rows of all_scores or top/top_scores are the
 * scorer's output buffers, seen and heap scratch. */
static vkr_status vkr_recommend_chunk(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t n,
                                      const vkr_scorer* sc, uint32_t k, float* all_scores, int32_t* top,
                                      float* top_scores, uint32_t* seen, uint32_t* heap, uint32_t* items,
                                      float* scores, uint32_t* counts) {
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin, w = sc->top_width;
    if (sc->score) VKR_TRY(sc->score(sc->self, pairs, n, all_scores));
    else VKR_TRY(sc->top_items(sc->self, pairs, n, top, top_scores, &w));
    for (uint32_t e = 0; e < n; e++) {
        uint32_t u = pairs[2 * e], p = pairs[2 * e + 1];
        uint32_t *out = items + (size_t)e * k, got = 0;
        float* out_scores = scores + (size_t)e * k;
        if (sc->score) {
            float* r = all_scores + (size_t)e * n_items;
            uint32_t n_seen = vkr_history_items(ds, u, p, begin, begin + n_items, seen);
            for (uint32_t j = 0; j < n_seen; j++) r[seen[j]] = NAN; /* NaN is never picked */
            got = vkr_top_k(r, n_items, k, heap);
            for (uint32_t j = 0; j < got; j++) out[j] = begin + heap[j], out_scores[j] = r[heap[j]];
        } else {
            const int32_t* t = top + (size_t)e * sc->top_width; /* rows stay top_width apart */
            const float* ts = top_scores + (size_t)e * sc->top_width;
            uint32_t n_seen = vkr_history_items(ds, u, p, 0, ds->item_count, seen); /* a global trie: any domain */
            for (uint32_t j = 0; j < w && t[j] >= 0 && got < k; j++)
                if (!vkr_sorted_has(seen, n_seen, (uint32_t)t[j])) out[got] = (uint32_t)t[j], out_scores[got++] = ts[j];
        }
        counts[e] = got;
    }
    return VKR_OK;
}

vkr_status vkr_recommend_batch(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t n,
                               const vkr_scorer* sc, uint32_t k, uint32_t* items, float* scores, uint32_t* counts) {
    if (counts) memset(counts, 0, (size_t)n * sizeof *counts);
    if (!ds || !sc || !pairs || !items || !scores || !counts || domain >= ds->domain_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_recommend_batch: bad dataset, scorer, examples or domain");
    if (!sc->score && !sc->top_items)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "vkr_recommend: the model neither scores every item nor decodes");
    for (uint32_t i = 0; i < n; i++)
        if (pairs[2 * i] >= ds->user_count || pairs[2 * i + 1] > vkr_dataset_user_len(ds, pairs[2 * i]))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_recommend: no position %u for user %u", pairs[2 * i + 1],
                            pairs[2 * i]);
    uint32_t batch = sc->batch ? sc->batch : 64, n_items = ds->item_begin[domain + 1] - ds->item_begin[domain];
    size_t row = sc->score ? n_items : sc->top_width;
    float* all_scores = sc->score ? malloc((size_t)batch * row * sizeof *all_scores) : NULL;
    int32_t* top = sc->score ? NULL : malloc((size_t)batch * row * sizeof *top);
    float* top_scores = sc->score ? NULL : malloc((size_t)batch * row * sizeof *top_scores);
    uint32_t* seen = malloc(((size_t)vkr_dataset_longest(ds) + 1) * sizeof *seen);
    uint32_t* heap = malloc(((size_t)k + 1) * sizeof *heap);
    vkr_status s = VKR_OK;
    if (!(sc->score ? all_scores != NULL : top && top_scores) || !seen || !heap)
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u examples' recommendations", batch);
    for (uint32_t i = 0; s == VKR_OK && i < n; i += batch) {
        uint32_t m = n - i < batch ? n - i : batch;
        s = vkr_recommend_chunk(ds, domain, pairs + 2 * (size_t)i, m, sc, k, all_scores, top, top_scores, seen, heap,
                                items + (size_t)i * k, scores + (size_t)i * k, counts + i);
    }
    free(all_scores);
    free(top);
    free(top_scores);
    free(seen);
    free(heap);
    return s;
}

vkr_status vkr_recommend(const vkr_dataset* ds, uint32_t domain, uint32_t user, const vkr_scorer* sc, uint32_t k,
                         uint32_t* items, float* scores, uint32_t* out_count) {
    *out_count = 0;
    if (!ds || user >= ds->user_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_recommend: bad dataset or user %u", user);
    uint32_t pair[2] = {user, vkr_dataset_user_len(ds, user)};
    return vkr_recommend_batch(ds, domain, pair, 1, sc, k, items, scores, out_count);
}
