/* Semantic-ID schemes beside the RQ-VAE (vkr_rqvae.h), for comparing identifiers on the same trie,
 * beam search and GenCDR model.
 *
 * Residual k-means (vkr_rkmeans_tokenize; GRID's RK-means): no encoder; the rows of the embedding
 * (vkr_semid_rows.h: rescaled to the median norm, all-zero items spread) are clustered level by level
 * on what the previous levels left (vkr_kmeans_residual, GPU or CPU reference). The last level is
 * then balanced within each prefix (LC-Rec's uniform mapping, vkr_balance.h) unless no_balance, and
 * the IDs are checked against the collapse rule (vkr_quantize.h) as the RQ-VAE's are.
 * Random (vkr_random_ids; TIGER's ablation): every item draws each level's code uniformly and
 * independently; it reads no embedding, so IDs carry no meaning and collisions follow the birthday
 * bound, about n^2 / (2 K^L) paths shared.
 * Both are deterministic for a seed (rkmeans on a given device). */
#ifndef VKR_SEMID_SCHEMES_H
#define VKR_SEMID_SCHEMES_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_semid_rows.h"

/* Settings of a scheme. Zero fields take the defaults in brackets. */
typedef struct vkr_semid_scheme_options {
    vkr_device* device;   /* rkmeans: k-means device; NULL runs the CPU reference path */
    uint32_t levels;      /* code levels L [3] */
    uint32_t codes;       /* codes per level K [256, or the item count when smaller] */
    uint32_t kmeans_iters; /* rkmeans: Lloyd iterations per level [20] */
    bool no_balance;      /* rkmeans: keep the nearest last-level codes (no uniform mapping) */
    uint64_t seed;        /* every random choice (0 is a valid seed) */
} vkr_semid_scheme_options;

/* What a scheme produced. */
typedef struct vkr_semid_scheme_result {
    uint32_t items, levels, codes, dim; /* n, L, K, embedding width (0 for random) */
    vkr_semid_ids ids;            /* codes, unique IDs and statistics of all items */
    vkr_semid_stats nearest_stats; /* rkmeans: the rows' nearest codes before the uniform mapping */
    float* codebooks;             /* rkmeans: [L, K, dim] centroids in the rows' units (owned), else NULL */
    double recon_mse;             /* rkmeans: mean squared error of the rows against their codes' sum */
    uint32_t distinct_rows;       /* rkmeans: distinct non-zero embeddings */
    uint32_t balanced;            /* rkmeans: items the uniform mapping moved off their nearest code */
    uint32_t kmeans_empty;        /* rkmeans: clusters left empty (all levels) */
    double seconds;               /* wall time */
} vkr_semid_scheme_result;

/* Residual k-means IDs of emb (n x dim, row i = item i). More codes than non-zero rows, an input
 * vkr_check_vectors refuses and a collapsed assignment (naming the level, with what the input held)
 * are errors. out zeroed on entry; free with vkr_semid_scheme_result_free. */
vkr_status vkr_rkmeans_tokenize(const vkr_semid_scheme_options* options, const float* emb, uint32_t n, uint32_t dim,
                                vkr_semid_scheme_result* out);
/* Random IDs for n items. out zeroed on entry; free with vkr_semid_scheme_result_free. */
vkr_status vkr_random_ids(const vkr_semid_scheme_options* options, uint32_t n, vkr_semid_scheme_result* out);
/* Frees what a result owns and zeroes it. */
void vkr_semid_scheme_result_free(vkr_semid_scheme_result* result);

#endif
