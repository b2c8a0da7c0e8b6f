/* SASRec (Kang & McAuley, ICDM 2018): a causal transformer over item-id sequences, the ID-based
 * baseline of the generative recommender, with both losses used in the literature.
 *
 * Contract: item ids are 1..items, 0 is padding; sequences are left-padded to max_len so the last
 * position is the most recent item. vkr_sasrec_build makes one graph for one batch shape (B rows of T =
 * window or max_len positions; pos_emb always has max_len rows, so graphs of every window share it): for
 * training, inputs seq/mask and pos: for CE the next item per position as a candidate index
 * (0..out_count-1, -1 where there is none); for BCE the next item's id (0 where none) plus neg
 * (one sampled negative id per position) and labels; for scoring, `scores` = the last position's
 * logits over the candidates [batch, out_count]. The item embedding is shared between input and
 * output (as in SASRec); candidates are a slice of it, so one domain's items can be the outputs. */
#ifndef VKR_SASREC_H
#define VKR_SASREC_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_graph_ops.h"
#include "vkr_item_views.h"

/* Training objective. */
typedef enum vkr_sasrec_loss {
    VKR_SASREC_BCE = 0, /* binary cross-entropy, one sampled negative per position (the original) */
    VKR_SASREC_CE       /* full softmax cross-entropy over all items (the stronger variant) */
} vkr_sasrec_loss;

/* Block layout and initialization. */
typedef enum vkr_sasrec_arch {
    VKR_SASREC_ARCH_AUTO = 0, /* original for BCE, prenorm for CE (vkr_sasrec_arch_resolve) */
    VKR_SASREC_ARCH_ORIGINAL, /* the paper's: Glorot-uniform embeddings, q = LN(x) attends over x, dropout on
                                 the attention weights, ReLU feed-forward (VKR_TF_SASREC) */
    VKR_SASREC_ARCH_PRENORM   /* GPT-2-style pre-norm blocks with GELU, N(0, 1/D) embeddings (VKR_TF_PRENORM) */
} vkr_sasrec_arch;

/* Model and batch shape. */
typedef struct vkr_sasrec_config {
    uint32_t items;   /* item ids 1..items */
    uint32_t max_len; /* sequence length T */
    uint32_t window;  /* positions per row of this graph (0: max_len): the last `window` of the max_len window
                         (they use pos_emb's last rows), for batches whose histories all fit (vkr_sasrec_buckets.h) */
    uint32_t batch;   /* sequences per batch B */
    uint32_t hidden;  /* width D (64 in the paper) */
    uint32_t blocks;  /* transformer blocks (2) */
    uint32_t heads;   /* attention heads (1) */
    float dropout;    /* dropout rate (0.2 in the paper for dense data, 0.5 sparse) */
    vkr_sasrec_loss loss; /* objective */
    vkr_sasrec_arch arch; /* block layout and initialization */
    bool gru;           /* GRU4Rec's encoder (vkr_gru.h, no position embedding) in place of the transformer */
    uint32_t out_begin; /* candidates are table rows [out_begin, out_begin + out_count): one domain's
                           items (0 and 0: every item id 1..items) */
    uint32_t out_count; /* number of candidate rows */
    /* SemaCDR's multi-view items as a plug-in (vkr_item_views.h): the item table, for the history and
     * the candidates, is the sum of the views; 0 or VKR_ITEM_VIEW_ID: the plain ID table */
    uint32_t views;         /* VKR_ITEM_VIEW_* bits */
    uint32_t text_dim;      /* inner view: text columns */
    uint32_t categories;    /* agnostic view: categories */
    uint32_t subcategories; /* agnostic view: subcategory slots per category */
    float view_lambda;      /* weight of the views' InfoNCE (training; 0: none) */
    float view_tau;         /* its temperature */
    bool view_mask;         /* mask same-code items out of its denominators (vkr_item_views_mask) */
    uint32_t contrast;      /* items per InfoNCE (training) */
    /* LLM-RecG (zero-shot transfer): */
    bool semantic_only;     /* the "-Sem" base: the item table is the inner view alone (the text vector through
                               a learned projection, no ID table), so a domain never trained on still has one */
    bool semantic_mlp;      /* with semantic_only: a residual GELU layer after the projection, x + W gelu(x) + b */
    uint32_t align_items;   /* item-level alignment (training): source and target items per step (0: none) */
    float align_weight;     /* its weight */
    float align_tau;        /* temperature of its intra-domain term */
    uint32_t seq_clusters;  /* sequence-level alignment (scoring): centroids of the source users' states that the
                               last state attends over (0: none) */
    float seq_mix;          /* weight of the attended centroid mix in the adapted state */
} vkr_sasrec_config;

/* A built SASRec graph and its named tensors. */
typedef struct vkr_sasrec {
    vkr_graph* graph;    /* owns everything below */
    vkr_tensor* seq;     /* int32 [B, T] input item ids */
    vkr_tensor* mask;    /* int32 [B, T] 1 for real positions */
    vkr_tensor* pos;     /* int32 [B, T] next item per position, 0 when none (training) */
    vkr_tensor* neg;     /* int32 [B, T] sampled negatives (BCE training) */
    vkr_tensor* pos_label; /* fp32 [B*T] 1 where pos is real, -1 (ignored) elsewhere (BCE training) */
    vkr_tensor* neg_label; /* fp32 [B*T] 0 where pos is real, -1 elsewhere (BCE training) */
    vkr_tensor* loss_scale; /* fp32 [1] the loss's factor (training): the BCE kernel averages over all 2*B*T
                               pairs (ignored ones contribute 0), CE over the labelled positions; B*T / labelled
                               (BCE) or 1 (CE) makes it the mean over labelled positions */
    vkr_tensor* loss;    /* training loss (NULL when built for scoring) */
    vkr_tensor* scores;  /* fp32 [B, out_count] last-position logits over the candidates (scoring) */
    vkr_item_views views; /* the item views (views[0] alone without the plug-in) */
    vkr_tensor* contrast; /* int32 [contrast] item ids + 1 of the InfoNCE (training with view_lambda) */
    vkr_tensor* contrast_mask; /* fp32 [contrast, contrast] its mask (vkr_item_views_mask) */
    vkr_tensor* mask_table; /* const fp32 [2, 1] = {0, 1}: the GRU's float mask by lookup (with gru) */
    vkr_tensor* items;    /* fp32 [items + 1, D] the item table (scoring with semantic_only: the text's projection) */
    vkr_tensor* last;     /* fp32 [B, D] the last position's state, after any sequence-level alignment (scoring) */
    vkr_tensor* centroids; /* fp32 [seq_clusters, D] source-behaviour centroids (scoring with seq_clusters) */
    vkr_tensor* align_src; /* int32 [align_items] source item ids + 1 (training with align_items) */
    vkr_tensor* align_tgt; /* int32 [align_items] target item ids + 1 */
    vkr_tensor* align_p;   /* fp32 [align_items, align_items] row i: how much source item i is pulled to each
                              target item (rows sum to 1; vkr_sasrec_align_weights) */
    vkr_tensor* align_arange; /* const int32 [align_items] 0..M-1, the intra-domain term's targets */
} vkr_sasrec;

/* The architecture `arch` stands for under `loss` (never VKR_SASREC_ARCH_AUTO). */
vkr_sasrec_arch vkr_sasrec_arch_resolve(vkr_sasrec_arch arch, vkr_sasrec_loss loss);
/* The architecture's command-line name ("original" or "prenorm"; "auto" for AUTO). */
const char* vkr_sasrec_arch_name(vkr_sasrec_arch arch);
/* Builds the training graph (train) or the scoring graph; out is zeroed on entry. */
vkr_status vkr_sasrec_build(const vkr_sasrec_config* config, bool train, uint64_t seed, vkr_sasrec* out);
/* LLM-RecG's item-level generalization loss over m source items src and m target items tgt
 * (normalized item representations z): inter-domain compactness -sum_ij p_ij cos(z_src_i, z_tgt_j) / m,
 * which pulls each source item towards the target items its text resembles, plus intra-domain
 * diversity, the InfoNCE of the source items against themselves at temperature tau (each its own
 * positive), which keeps them apart so the pull cannot collapse them. p is m x m, rows summing to 1. */
vkr_tensor* vkr_sasrec_align_loss(vkr_graph* g, vkr_tensor* table, vkr_tensor* src, vkr_tensor* tgt, vkr_tensor* p,
                                  vkr_tensor* arange, float tau);
/* The pull weights of vkr_sasrec_align_loss from the items' text vectors (text: the padded table of
 * vkr_item_views_host, row = item id + 1 = the ids in src and tgt): p[i, j] = softmax over j of
 * cos(text_src_i, text_tgt_j) / tau. tgt_norm: m doubles of scratch (the target norms, computed once). */
void vkr_sasrec_align_weights(const float* text, uint32_t text_dim, const int32_t* src, const int32_t* tgt, uint32_t m,
                              float tau, double* tgt_norm, float* p);
/* Uploads the graph's host constants: the item views' inputs (host) and the GRU's mask table. */
vkr_status vkr_sasrec_write_consts(vkr_exec* exec, const vkr_sasrec* model, const vkr_item_views_host* host);
/* Destroys the graph. */
void vkr_sasrec_destroy(vkr_sasrec* model);

#endif
