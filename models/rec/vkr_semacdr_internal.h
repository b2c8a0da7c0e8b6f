/* SemaCDR's graph (private to models/rec): one build for training (BPR + contrastive loss) or for
 * scoring (the prediction state against the target items' ID embeddings). */
#ifndef VKR_SEMACDR_INTERNAL_H
#define VKR_SEMACDR_INTERNAL_H
#include "vkr_graph_ops_sparse.h"
#include "vkr_semacdr.h"

/* Sizes of one build. */
typedef struct vkr_semacdr_shape {
    uint32_t items, users;      /* item ids 1..items (0 pads), users 0..users-1 */
    uint32_t target_begin;      /* first item (0-based) of the target domain */
    uint32_t target_count;      /* its items */
    uint32_t text_dim;          /* text columns (inner view) */
    uint32_t categories, subcategories; /* agnostic view tables */
    uint32_t item_nnz, mixed_nnz; /* entries of the item and mixed graphs */
    uint32_t batch;             /* examples per run */
    uint32_t contrast;          /* InfoNCE rows per side (training) */
} vkr_semacdr_shape;

/* A built graph and its named tensors. */
typedef struct vkr_semacdr_graph {
    vkr_graph* graph;
    vkr_tensor* seq[3];   /* int32 [B, T] source, target and mixed histories (item + 1; 0 pads) */
    vkr_tensor* mask[3];  /* int32 [B, T] 1 at real positions */
    vkr_tensor* user;     /* int32 [B] user index */
    vkr_tensor* user_norm; /* fp32 [B, 1] 1 / (1 + history events in the mixed window) (history user rows) */
    vkr_tensor* pos;      /* int32 [B] target item + 1 (training) */
    vkr_tensor* neg;      /* int32 [B] sampled negative + 1 (training, BPR) */
    vkr_tensor* label;    /* int32 [B] target item - first target item (training, softmax) */
    vkr_tensor* contrast[2]; /* int32 [M] items + 1 of the target side and of the source side (training) */
    vkr_tensor* contrast_mask[2]; /* fp32 [M, M] their InfoNCE masks (vkr_item_views_mask) */
    vkr_item_views views; /* the item views and their constants */
    vkr_tensor* zero_row; /* const fp32 [1, hidden] zeros (the padding row of the graph outputs) */
    vkr_graph_csr item_graph;  /* block-diagonal item graph */
    vkr_graph_csr mixed_graph; /* users + items */
    vkr_tensor* loss;     /* training loss */
    vkr_tensor* scores;   /* fp32 [B, target_count] (scoring) */
    vkr_tensor* item_out; /* fp32 [items, hidden] h^mix item rows (scoring) */
} vkr_semacdr_graph;

/* Builds the graph; out is zeroed on entry. */
vkr_status vkr_semacdr_build(const vkr_semacdr_train* cfg, const vkr_semacdr_shape* shape, bool train, uint64_t seed,
                             vkr_semacdr_graph* out);
/* Destroys the graph. */
void vkr_semacdr_graph_destroy(vkr_semacdr_graph* g);

#endif
