/* Ranking metrics: HR@5/10, NDCG@5/10 and MRR from the rank of each example's target.
 *
 * Contract: ranks are 0-based (0 = the target scored highest). Ties count against the target
 * (a candidate scoring exactly the target's score ranks above it), so a model that scores
 * everything alike cannot look good. VKR_RANK_MISSING marks a target the model did not rank at
 * all (e.g. outside a beam): it counts as a miss for every metric. */
#ifndef VKR_METRICS_H
#define VKR_METRICS_H
#include <stdint.h>

#define VKR_RANK_MISSING UINT64_MAX

/* Running sums over examples; the metric is the sum divided by `count`. */
typedef struct vkr_metrics {
    uint64_t count; /* examples added */
    double hr5;     /* sum of [rank < 5] */
    double hr10;    /* sum of [rank < 10] */
    double ndcg5;   /* sum of 1/log2(rank+2) for rank < 5 */
    double ndcg10;  /* sum of 1/log2(rank+2) for rank < 10 */
    double mrr;     /* sum of 1/(rank+1) */
} vkr_metrics;

/* Mean metrics over an accumulator's examples. */
typedef struct vkr_metric_means {
    double hr5;    /* hit rate at 5 */
    double hr10;   /* hit rate at 10 */
    double ndcg5;  /* NDCG at 5 */
    double ndcg10; /* NDCG at 10 */
    double mrr;    /* mean reciprocal rank */
} vkr_metric_means;

/* Adds one example with its target's rank. */
void vkr_metrics_add(vkr_metrics* m, uint64_t rank);
/* Adds another accumulator's sums. */
void vkr_metrics_merge(vkr_metrics* m, const vkr_metrics* other);
/* Mean values of the sums; zeros when empty. */
vkr_metric_means vkr_metrics_means(const vkr_metrics* m);
/* Rank of the target among n scores (target at index t): candidates scoring higher or equal, other
 * than the target itself. A NaN target score ranks last. */
uint64_t vkr_rank_of(const float* scores, uint32_t n, uint32_t t);

#endif
