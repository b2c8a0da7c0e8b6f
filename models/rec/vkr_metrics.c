#include "vkr_metrics.h"

#include <math.h>

void vkr_metrics_add(vkr_metrics* m, uint64_t rank) {
    m->count++;
    if (rank == VKR_RANK_MISSING) return;
    double gain = 1.0 / log2((double)rank + 2.0);
    if (rank < 5) m->hr5 += 1, m->ndcg5 += gain;
    if (rank < 10) m->hr10 += 1, m->ndcg10 += gain;
    m->mrr += 1.0 / ((double)rank + 1.0);
}

void vkr_metrics_merge(vkr_metrics* m, const vkr_metrics* o) {
    m->count += o->count;
    m->hr5 += o->hr5;
    m->hr10 += o->hr10;
    m->ndcg5 += o->ndcg5;
    m->ndcg10 += o->ndcg10;
    m->mrr += o->mrr;
}

vkr_metric_means vkr_metrics_means(const vkr_metrics* m) {
    if (!m->count) return (vkr_metric_means){0};
    double n = (double)m->count;
    return (vkr_metric_means){
        .hr5 = m->hr5 / n, .hr10 = m->hr10 / n, .ndcg5 = m->ndcg5 / n, .ndcg10 = m->ndcg10 / n, .mrr = m->mrr / n};
}

uint64_t vkr_rank_of(const float* scores, uint32_t n, uint32_t t) {
    float s = scores[t];
    if (isnan(s)) return n - 1;
    uint64_t r = 0;
    for (uint32_t i = 0; i < n; i++)
        if (i != t && !(scores[i] < s)) r++; /* ties and NaNs rank above the target */
    return r;
}
