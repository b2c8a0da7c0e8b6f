/* Domain alignment: how mixed the domains are among each item's nearest neighbours.
 *
 * Measure: for item i of domain c with k nearest neighbours (squared Euclidean distance, itself
 * excluded), f_i = (neighbours from a domain other than c) / k. Under perfect mixing (a uniformly
 * random neighbour set) its expectation is e_c = (n - n_c) / (n - 1). Reported per domain c:
 * mixing_c = mean_{i in c} f_i / e_c, and overall: sum_i f_i / sum_i e_{c(i)}. 0 means the domains
 * are fully separated, 1 means they are as mixed as chance (values above 1: neighbours prefer the
 * other domain). Needs items of at least two domains. The kNN graph comes from vkr_tsne_knn (GPU
 * brute force) or, for the reference, vkr_tsne_knn_host. */
#ifndef VKR_ALIGN_H
#define VKR_ALIGN_H
#include <stdint.h>

#include "vkr_data.h"

/* Alignment figures of one embedding or map. */
typedef struct vkr_align_result {
    uint32_t k;                                  /* neighbours per item used */
    uint32_t domain_count;                       /* domains (entries used below) */
    uint32_t items[VKR_DATA_MAX_DOMAINS];        /* items per domain */
    double raw[VKR_DATA_MAX_DOMAINS];            /* mean other-domain fraction per domain */
    double expected[VKR_DATA_MAX_DOMAINS];       /* that fraction under perfect mixing */
    double mixing[VKR_DATA_MAX_DOMAINS];         /* raw / expected (0 for a domain without items) */
    double overall_raw;                          /* mean other-domain fraction over all items */
    double overall;                              /* sum of fractions / sum of expectations */
} vkr_align_result;

/* The measure from a kNN graph (n x k indices) and item domains (< domain_count); out zeroed first. */
vkr_status vkr_align_from_knn(const int32_t* knn, uint32_t n, uint32_t k, const uint8_t* domain, uint32_t domain_count,
                              vkr_align_result* out_result);
/* kNN of X (n x d) on the device (k clamped to n - 1), then the measure. */
vkr_status vkr_align_compute(vkr_device* device, const float* x, uint32_t n, uint32_t d, const uint8_t* domain,
                             uint32_t domain_count, uint32_t k, vkr_align_result* out_result);
/* The same on the host (vkr_tsne_knn_host: the reference kNN's result), for the CPU backend. */
vkr_status vkr_ref_align_compute(const float* x, uint32_t n, uint32_t d, const uint8_t* domain, uint32_t domain_count,
                                 uint32_t k, vkr_align_result* out_result);

#endif
