/* k-means for codebook initialization: k-means++ seeding, Lloyd iterations on the GPU (or the CPU
 * reference path), empty-cluster reseeding, random restarts.
 *
 * Contract: x is n x d fp32, row-major. Seeding runs on the host: k-means++ (D^2 sampling) over a
 * seeded random subsample of at most VKR_KMEANS_SEED_SAMPLE_PER_K * k rows (as faiss subsamples for
 * training), or k distinct random rows. Each Lloyd iteration is one replay of a recorded sequence:
 * codeword norms, the fused nearest-codeword kernel, then the centroid update as a deterministic
 * grouped mean (vkr_graph_ops_quant.h) — no host round trip inside an iteration. Every
 * VKR_KMEANS_CHECK_EVERY iterations (and at the end) the cluster sizes are read: an empty cluster is
 * re-seeded with the row currently farthest from its centroid (a different row for each). With
 * device NULL the same algorithm runs on the CPU references (the tests' and benchmark's peer).
 * When n < k, the surplus centroids repeat rows (they stay empty; the report counts them).
 * The same seed gives the same result on the same device. */
#ifndef VKR_KMEANS_H
#define VKR_KMEANS_H
#include <stdint.h>

#include "vkr_runtime.h"

#define VKR_KMEANS_SEED_SAMPLE_PER_K 64u /* k-means++ looks at most at 64 k rows */
#define VKR_KMEANS_CHECK_EVERY 5u        /* iterations between empty-cluster checks */

/* How initial centroids are chosen. */
typedef enum vkr_kmeans_init {
    VKR_KMEANS_PLUSPLUS = 0, /* k-means++ D^2 sampling (default) */
    VKR_KMEANS_RANDOM        /* k distinct random rows */
} vkr_kmeans_init;

/* Settings; zero fields take the defaults. */
typedef struct vkr_kmeans_options {
    uint32_t k;           /* clusters, >= 1 (required) */
    uint32_t iters;       /* Lloyd iterations per run (default 20) */
    uint32_t restarts;    /* independent runs, the lowest inertia kept (default 1) */
    vkr_kmeans_init init; /* seeding */
    uint64_t seed;        /* random seed (0 is a valid seed) */
} vkr_kmeans_options;

/* What a k-means run found. */
typedef struct vkr_kmeans_report {
    double inertia;    /* sum of squared distances to the assigned centroid (best run) */
    uint32_t empty;    /* clusters left without rows at the end */
    uint32_t reseeded; /* empty clusters re-seeded during the best run */
    uint32_t runs;     /* runs made */
} vkr_kmeans_report;

/* Clusters x (n x d) into centroids (k x d); assign (n, optional) receives each row's cluster.
 * device NULL: CPU reference path. out_report (optional) is zeroed on entry. */
vkr_status vkr_kmeans(vkr_device* device, const float* x, uint32_t n, uint32_t d, const vkr_kmeans_options* options,
                      float* centroids, int32_t* assign, vkr_kmeans_report* out_report);

/* Residual k-means over `levels` levels: level l clusters (options' k, iters, init, restarts; its
 * seed drawn from options->seed and l) what the levels before it left. x (n x d) is replaced by the
 * residual after the last level; codebooks receive [levels, k, d]; codes (optional) [n, levels];
 * *out_empty (optional) the clusters left empty over all levels. device NULL: CPU reference path. */
vkr_status vkr_kmeans_residual(vkr_device* device, float* x, uint32_t n, uint32_t d, uint32_t levels,
                               const vkr_kmeans_options* options, float* codebooks, int32_t* codes,
                               uint32_t* out_empty);

/* One Lloyd iteration's work recorded for repeated runs: GPU buffers for x, centroids, codes,
 * distances, counts and scratch, and the sequence (norms, assignment, grouped mean). */
typedef struct vkr_kmeans_gpu {
    vkr_device* dev;       /* device */
    uint32_t n, d, k;      /* shape */
    vkr_buffer buf;        /* one buffer holding every array below */
    vkr_range x, c, norms, codes, dist, counts, scratch; /* sub-ranges of buf */
    vkr_sequence* seq;     /* one iteration */
} vkr_kmeans_gpu;

/* Allocates the buffers, uploads x (n x d) and records one iteration; out is zeroed on entry. */
vkr_status vkr_kmeans_gpu_create(vkr_device* device, const float* x, uint32_t n, uint32_t d, uint32_t k,
                                 vkr_kmeans_gpu* out);
/* Frees the sequence and buffers and zeroes the state. */
void vkr_kmeans_gpu_destroy(vkr_kmeans_gpu* g);

/* One CPU reference Lloyd iteration: assign (codes, dist) then centroids = means (counts out). */
vkr_status vkr_kmeans_cpu_iteration(const float* x, uint32_t n, uint32_t d, uint32_t k, float* centroids,
                                    int32_t* codes, float* dist, uint32_t* counts);

#endif
