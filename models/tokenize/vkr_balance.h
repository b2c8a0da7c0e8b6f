/* Balanced semantic-ID assignment: LC-Rec's uniform semantic mapping of the last RQ level, and the
 * deterministic spreading of items that carry no signal over the code space.
 *
 * Uniform mapping (vkr_balance_last_level): items that share their first L-1 codes (a prefix group
 * of g items) would otherwise pile onto the same last-level code whenever their residuals coincide
 * (duplicate embeddings), and the disambiguation token would grow with g. For every group whose
 * nearest-code assignment puts more than ceil(g / K) items on one code, the (item, code) pairs are
 * ranked and a greedy rounding gives each item, best pair first, a code that still holds fewer than
 * ceil(g / K) items of the group (ties: lower item, then lower code). With g > K the ranking is a
 * Sinkhorn-Knopp transport plan with uniform code marginals (VKR_BALANCE_SINKHORN_ITERS iterations,
 * temperature VKR_BALANCE_EPSILON on squared distances rescaled to [-1, 1], as LC-Rec does); with
 * g <= K uniform marginals would flatten every item's row, so pairs rank by distance (colliding items
 * move to their nearest free code). Groups within capacity keep their codes, so well-spread inputs
 * are unchanged.
 * Host-side, O(n K) memory for the largest group; deterministic.
 *
 * Spreading (vkr_balance_spread): the j-th of m items gets the path whose codes are the first L
 * base-K digits of (j + 1/2) / m, so the m items spread evenly over every level's codes. */
#ifndef VKR_BALANCE_H
#define VKR_BALANCE_H
#include <stdint.h>

#include "vkr_runtime.h"

#define VKR_BALANCE_SINKHORN_ITERS 50 /* LC-Rec's sk_iters */
#define VKR_BALANCE_EPSILON 0.05      /* Sinkhorn temperature on distances rescaled to [-1, 1] */

/* Reassigns the last column of codes [n, levels] (values in [0, k)) with the uniform mapping above.
 * resid: n x dim, each item's residual entering the last level; codebook: k x dim, the last level's
 * codes. *out_moved (optional) receives how many items left their nearest code. */
vkr_status vkr_balance_last_level(const float* resid, const float* codebook, uint32_t n, uint32_t dim, uint32_t k,
                                  uint32_t levels, int32_t* codes, uint32_t* out_moved);
/* Writes the spread paths of m items into codes [m, levels] (the j-th row for the j-th item). */
void vkr_balance_spread(uint32_t m, uint32_t levels, uint32_t k, int32_t* codes);

#endif
