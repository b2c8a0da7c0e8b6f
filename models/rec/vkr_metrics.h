/* Ranking metrics: HR@K and NDCG@K at any cut-off K up to VKR_METRICS_MAX_CUTOFF, and MRR, from the
 * rank of each example's target.
 *
 * Contract: ranks are 0-based (0 = the target scored highest). Ties count against the target
 * (a candidate scoring exactly the target's score ranks above it), so a model that scores
 * everything alike cannot look good. VKR_RANK_MISSING marks a target the model did not rank at
 * all (e.g. outside a beam): it counts as a miss for every metric. The accumulator keeps how many
 * targets landed at each rank below the largest cut-off, so every cut-off is read from one pass. */
#ifndef VKR_METRICS_H
#define VKR_METRICS_H
#include <stdbool.h>
#include <stdint.h>

#define VKR_RANK_MISSING UINT64_MAX
#define VKR_METRICS_MAX_CUTOFF 1000 /* largest K of HR@K and NDCG@K */

/* Running counts over examples; a zeroed struct is empty. */
typedef struct vkr_metrics {
    uint64_t count;                           /* examples added */
    uint64_t at_rank[VKR_METRICS_MAX_CUTOFF]; /* examples whose target ranked r, for r below the largest cut-off */
    double mrr;                               /* sum of 1/(rank+1) */
} vkr_metrics;

/* Mean metrics over an accumulator's examples at the cut-offs validation and the report use. */
typedef struct vkr_metric_means {
    double hr5;    /* hit rate at 5 */
    double hr10;   /* hit rate at 10 */
    double ndcg5;  /* NDCG at 5 */
    double ndcg10; /* NDCG at 10 */
    double mrr;    /* mean reciprocal rank */
} vkr_metric_means;

/* Hit rate and NDCG at one cut-off. */
typedef struct vkr_cutoff_means {
    double hr;   /* share of targets ranked below K */
    double ndcg; /* mean of 1/log2(rank+2) over targets ranked below K (0 for the others) */
} vkr_cutoff_means;

/* Adds one example with its target's rank. */
void vkr_metrics_add(vkr_metrics* m, uint64_t rank);
/* Adds another accumulator's counts. */
void vkr_metrics_merge(vkr_metrics* m, const vkr_metrics* other);
/* Mean values at 5 and 10 and the MRR; zeros when empty. */
vkr_metric_means vkr_metrics_means(const vkr_metrics* m);
/* HR@k and NDCG@k for k in 1..VKR_METRICS_MAX_CUTOFF; zeros when empty or k is out of range. */
vkr_cutoff_means vkr_metrics_at(const vkr_metrics* m, uint32_t k);
/* Sorts values ascending and drops repeats in place (cut-off lists, item sets); returns how many remain. */
uint32_t vkr_sort_unique(uint32_t* values, uint32_t count);
/* True when the ascending values hold x (binary search). */
bool vkr_sorted_has(const uint32_t* values, uint32_t count, uint32_t x);
/* Rank of the target among n scores (target at index t): candidates scoring higher or equal, other
 * than the target itself. A NaN target score ranks last. */
uint64_t vkr_rank_of(const float* scores, uint32_t n, uint32_t t);
/* vkr_rank_of without the candidates listed in skip (distinct indices below n; t, when listed, still
 * ranks): e.g. the user's earlier items under --exclude-history. */
uint64_t vkr_rank_skipping(const float* scores, uint32_t n, uint32_t t, const uint32_t* skip, uint32_t skip_count);

#endif
