/* Semantic IDs from residual-quantization codes: collision disambiguation, code statistics, and the
 * DIR/semantic_ids.npy file.
 *
 * Contract: codes are int32 [n, L] with every value in [0, K). The semantic ID of item i is its L
 * codes plus one disambiguating token (TIGER): items sharing the same L-code path are numbered
 * 0, 1, 2, ... in increasing item id, so every item's (L+1)-token ID is unique; an item alone on its
 * path gets 0. IDs are stored as uint16 [n, L+1] (row i = item i). The collision rate is the share
 * of items whose L-code path is not their own: (n - distinct paths) / n. Per level: utilization =
 * codes used / K, perplexity = exp(entropy of the code distribution) (K at best, 1 at worst).
 *
 * Collapse rule (vkr_semid_check): an assignment is refused when a level uses fewer than
 * vkr_semid_level_floor(n, K) = max(2, ceil(min(K, n) / 64)) codes (a level that barely splits the
 * items: 1 or 3 of 256 codes, as a collapsed tokenizer shows; a coarse first level whose later
 * levels still tell the items apart is not refused), or when more items share one path than
 * vkr_semid_max_per_path_bound(n, L, K) = max(K, 4 ceil(n / K^L)): the disambiguation token would then
 * be a vocabulary of its own that carries no meaning (a collapsed tokenizer, not a tokenization). */
#ifndef VKR_QUANTIZE_H
#define VKR_QUANTIZE_H
#include <stdint.h>

#include "vkr_runtime.h"

#define VKR_SEMID_MAX_LEVELS 8u /* most RQ levels (the ID has one more token) */
#define VKR_SEMID_MAX_CODES 65535u /* codes per level must fit uint16 */

/* Statistics of one code assignment. */
typedef struct vkr_semid_stats {
    uint32_t items;                              /* n */
    uint32_t levels;                             /* L */
    uint32_t codes;                              /* K */
    uint32_t used[VKR_SEMID_MAX_LEVELS];         /* distinct codes used per level */
    double utilization[VKR_SEMID_MAX_LEVELS];    /* used / K per level */
    double perplexity[VKR_SEMID_MAX_LEVELS];     /* exp(entropy) per level */
    uint32_t distinct_paths;                     /* distinct L-code paths */
    double collision_rate;                       /* (n - distinct_paths) / n */
    uint32_t max_per_path;                       /* most items on one path = tokens of the last level */
    uint32_t p99_per_path;                       /* 99% of the paths hold at most this many items */
    double mean_per_path;                        /* n / distinct_paths */
} vkr_semid_stats;

/* Builds the unique IDs (ids: n x (L+1) uint16, may be NULL) and the statistics (out_stats zeroed
 * on entry, may be NULL) of codes [n, L] in [0, K). */
vkr_status vkr_semantic_ids_build(const int32_t* codes, uint32_t n, uint32_t levels, uint32_t k, uint16_t* ids,
                                  vkr_semid_stats* out_stats);
/* The fewest codes a level must use before vkr_semid_check calls the assignment collapsed. */
uint32_t vkr_semid_level_floor(uint32_t n, uint32_t k);
/* The most items one path may hold before vkr_semid_check calls the assignment collapsed. */
uint32_t vkr_semid_max_per_path_bound(uint32_t n, uint32_t levels, uint32_t k);
/* The level half of the collapse rule: VKR_OK, or VKR_ERR_STATE naming the first level below the floor. */
vkr_status vkr_semid_check_levels(const vkr_semid_stats* stats);
/* VKR_OK, or VKR_ERR_STATE naming the first collapsed level (codes used / K, the floor), the distinct
 * paths and the most items on one path against its bound (the collapse rule above). */
vkr_status vkr_semid_check(const vkr_semid_stats* stats);
/* Fills order (n entries) with the items sorted by code path [n, levels], lexicographically (equal
 * paths by item id): items sharing any prefix are contiguous. */
void vkr_semantic_codes_order(const int32_t* codes, uint32_t n, uint32_t levels, uint32_t* order);
/* Fills order (n entries) with the items sorted by ID, lexicographically (equal IDs by item id). */
void vkr_semantic_ids_order(const uint16_t* ids, uint32_t n, uint32_t width, uint32_t* order);
/* Writes DIR/semantic_ids.npy (uint16 [n, width]) atomically. */
vkr_status vkr_semantic_ids_save(const char* dir, const uint16_t* ids, uint32_t n, uint32_t width);
/* Reads DIR/semantic_ids.npy and checks it: uint16, 2-D, `items` rows (0: any), width 2..L_max+1,
 * every row distinct. *out_ids is malloc'd; errors name the file. */
vkr_status vkr_semantic_ids_load(const char* dir, uint32_t items, uint16_t** out_ids, uint32_t* out_n,
                                 uint32_t* out_width);

#endif
