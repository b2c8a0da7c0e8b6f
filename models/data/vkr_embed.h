/* Item embeddings: randomized truncated SVD on the GPU (sparse products via vkr_spmm.h), and the
 * embedding sources of `vkrec embed` (text, co-occurrence, import).
 *
 * Contract:
 * - vkr_svd_embed computes the top `dim` left singular vectors U and singular values S of a sparse
 *   matrix with the randomized range finder (Halko, Martinsson, Tropp 2011): Gaussian test matrix of
 *   dim + oversample columns, power iterations re-orthonormalized each step (SVQB: Gram matrix on
 *   the device, its small eigenproblem on the host, so rank-deficient inputs are fine), then the
 *   small SVD of Q^T A. Rows of U * S^sv_power are L2-normalized (all-zero rows stay zero). With a
 *   device every product runs on it (sparse via spmm, dense via vkr_gpu_matmul); with device NULL the
 *   same algorithm runs on the CPU references (the benchmark's peer). The test matrix is seeded.
 * - Embedding rows follow the dataset's item ids (row i = item i). */
#ifndef VKR_EMBED_H
#define VKR_EMBED_H
#include <stdint.h>

#include "vkr_data.h"
#include "vkr_spmm.h"
#include "vkr_text.h"

/* Randomized SVD settings; zero fields take the defaults. */
typedef struct vkr_svd_options {
    uint32_t dim;         /* output columns (default 64) */
    uint32_t oversample;  /* extra test vectors (default 10) */
    uint32_t power_iters; /* power iterations (default 4) */
    uint64_t seed;        /* test-matrix seed (0 is a valid seed) */
    float sv_power;       /* rows are U * S^sv_power before normalization (0 means 1; use 0.5 for PPMI) */
} vkr_svd_options;

/* Embeds the rows of `a` into out (a->rows x dim, row-major); singular values into sv (dim) when
 * not NULL. device NULL: CPU reference path. */
vkr_status vkr_svd_embed(vkr_device* device, const vkr_csr* a, const vkr_svd_options* options, float* out, float* sv);

/* Where `vkrec embed` takes item vectors from. */
typedef enum vkr_embed_source {
    VKR_EMBED_AUTO = 0, /* text where an item has it, co-occurrence otherwise */
    VKR_EMBED_TEXT,     /* TF-IDF of title and text only */
    VKR_EMBED_COOC,     /* PPMI item-item co-occurrence of training interactions only */
    VKR_EMBED_BOTH      /* text in the first dim/2 columns beside co-occurrence in the rest, each part
                           unit length (what an item lacks stays zero), rows unit length */
} vkr_embed_source;

/* Settings of vkr_embed_items. */
typedef struct vkr_embed_options {
    vkr_embed_source source;  /* which path */
    vkr_tfidf_options tfidf;  /* text features */
    vkr_svd_options svd;      /* factorization */
    uint32_t window;          /* co-occurrence window in events (default 5) */
} vkr_embed_options;

/* What vkr_embed_items did. */
typedef struct vkr_embed_report {
    uint32_t dim;          /* output columns */
    uint32_t text_items;   /* items embedded from text */
    uint32_t cooc_items;   /* items embedded from co-occurrence */
    uint32_t zero_items;   /* items with neither (zero rows) */
    uint32_t vocabulary;   /* TF-IDF terms (0 when unused) */
    uint64_t text_nnz;     /* TF-IDF entries */
    uint64_t cooc_nnz;     /* PPMI entries */
    double seconds;        /* wall time */
} vkr_embed_report;

/* Each item's document for the text features: its title and text joined by a space (n malloc'd
 * strings in a malloc'd array; free with vkr_embed_item_docs_free). */
vkr_status vkr_embed_item_docs(const vkr_dataset* dataset, char*** out_docs);
/* Frees what vkr_embed_item_docs returned for n items (NULL is fine). */
void vkr_embed_item_docs_free(char** docs, uint32_t n);
/* Builds the symmetric PPMI matrix (items x items) of training events within `window` positions. */
vkr_status vkr_cooc_ppmi(const vkr_dataset* dataset, uint32_t window, vkr_csr* out);
/* Embeds every item (out: item_count x svd.dim); out_report is zeroed on entry. */
vkr_status vkr_embed_items(vkr_device* device, const vkr_dataset* dataset, const vkr_embed_options* options,
                           float* out, vkr_embed_report* out_report);
/* Reads an items x d float32/float16 .npy into out (malloc'd, row i = item i). Without ids_path the
 * rows must already be in item order; with it, line k of ids_path is the item key of row k (every
 * item must appear; rows for unknown keys are counted in out_unknown and ignored). */
vkr_status vkr_embed_import(const vkr_dataset* dataset, const char* npy_path, const char* ids_path, float** out,
                            uint32_t* out_dim, uint32_t* out_unknown);
/* Writes DIR/item_emb.npy (items x dim float32) atomically. */
vkr_status vkr_embed_save(const char* dir, const float* emb, uint32_t items, uint32_t dim);

#endif
