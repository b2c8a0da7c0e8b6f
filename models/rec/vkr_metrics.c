#include "vkr_metrics.h"

#include <math.h>
#include <stdlib.h>

void vkr_metrics_add(vkr_metrics* m, uint64_t rank) {
    m->count++;
    if (rank == VKR_RANK_MISSING) return;
    if (rank < VKR_METRICS_MAX_CUTOFF) m->at_rank[rank]++;
    m->mrr += 1.0 / ((double)rank + 1.0);
}

void vkr_metrics_merge(vkr_metrics* m, const vkr_metrics* o) {
    m->count += o->count;
    for (uint32_t r = 0; r < VKR_METRICS_MAX_CUTOFF; r++) m->at_rank[r] += o->at_rank[r];
    m->mrr += o->mrr;
}

vkr_cutoff_means vkr_metrics_at(const vkr_metrics* m, uint32_t k) {
    if (!m->count || k == 0 || k > VKR_METRICS_MAX_CUTOFF) return (vkr_cutoff_means){0};
    uint64_t hits = 0;
    double gain = 0;
    for (uint32_t r = 0; r < k; r++) {
        hits += m->at_rank[r];
        gain += (double)m->at_rank[r] / log2((double)r + 2.0);
    }
    double n = (double)m->count;
    return (vkr_cutoff_means){.hr = (double)hits / n, .ndcg = gain / n};
}

vkr_metric_means vkr_metrics_means(const vkr_metrics* m) {
    if (!m->count) return (vkr_metric_means){0};
    vkr_cutoff_means at5 = vkr_metrics_at(m, 5), at10 = vkr_metrics_at(m, 10);
    return (vkr_metric_means){
        .hr5 = at5.hr, .hr10 = at10.hr, .ndcg5 = at5.ndcg, .ndcg10 = at10.ndcg, .mrr = m->mrr / (double)m->count};
}

static int vkr_cmp_u32(const void* a, const void* b) {
    uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
    return (x > y) - (x < y);
}

uint32_t vkr_sort_unique(uint32_t* k, uint32_t count) {
    qsort(k, count, sizeof *k, vkr_cmp_u32);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; i++)
        if (!kept || k[i] != k[kept - 1]) k[kept++] = k[i];
    return kept;
}

bool vkr_sorted_has(const uint32_t* v, uint32_t count, uint32_t x) {
    uint32_t lo = 0, hi = count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < count && v[lo] == x;
}

uint64_t vkr_rank_of(const float* scores, uint32_t n, uint32_t t) {
    return vkr_rank_skipping(scores, n, t, NULL, 0);
}

uint64_t vkr_rank_skipping(const float* scores, uint32_t n, uint32_t t, const uint32_t* skip, uint32_t skip_count) {
    float s = scores[t];
    uint64_t r = 0;
    for (uint32_t i = 0; i < n; i++)
        if (i != t && !(scores[i] < s)) r++; /* ties and NaNs rank above the target; so does all for a NaN target */
    for (uint32_t j = 0; j < skip_count; j++)
        if (skip[j] != t && !(scores[skip[j]] < s)) r--;
    return r;
}
