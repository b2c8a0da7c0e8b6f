/* SemaCDR (multi-view transferable semantics for cross-domain sequential recommendation; the paper
 * is ../shared/seeds/semacdr-paper.txt): every item has up to three views, an ID embedding, an
 * inner-domain semantic embedding (its text embedding through a learned projection) and a
 * domain-agnostic embedding (the sum of its category's and subcategory's learned embeddings);
 * InfoNCE aligns the ID and inner views with the agnostic one (sec. 2.3.3). A one-layer GCN,
 * LeakyReLU(A X W + b) over the normalized adjacency, propagates the concatenated views over three
 * graphs built from training interactions (vkr_cdgraph.h): the source and target item graphs (one
 * block-diagonal matrix over every item, two weight sets) and the mixed user-item graph, whose user
 * rows are the user representation. Three causal transformers encode the user's source, target and
 * mixed histories over the graph outputs; the target state attends over the source sequence
 * (cross-attention, with a residual so a user without source history keeps the target state), and
 * the prediction state is alpha z_fuse + beta z_mix + gamma h_user with learned weights (or their
 * average). Scores are dot products with the target items' ID embeddings; training minimizes the
 * softmax cross-entropy over the target domain's items (vkrec's default; the paper's BPR with one
 * sampled negative when softmax is off) plus lambda x the contrastive terms.
 *
 * Contract: one model per target domain; "source" is every other domain (the paper's two-domain
 * setting when there are two). Examples are (user, position) pairs whose item is in the target
 * domain: the three histories are the user's events before the position, each window the last
 * max_len events of its kind, so nothing at or after the target is seen. The whole graph is
 * propagated in every step (full-batch GCN, as the paper's code does). Parameters of the semantic
 * modules (text projection, category and subcategory tables) form group 1 with their own learning
 * rate; everything else is group 0. */
#ifndef VKR_SEMACDR_H
#define VKR_SEMACDR_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_data.h"
#include "vkr_item_views.h"
#include "vkr_rec.h"

/* Training settings. */
typedef struct vkr_semacdr_train {
    uint32_t domain;      /* target domain */
    uint32_t views;       /* VKR_ITEM_VIEW_* bits (ID is added when missing) */
    bool graph;           /* graph collaborative learning (false: the views go straight to the encoders) */
    bool cross_fusion;    /* cross-attention of the target state over the source sequence */
    bool adaptive_fusion; /* learned alpha, beta, gamma (false: their average) */
    bool graph_user;      /* the user representation is the mixed graph's user row, as in the paper, whose
                             neighbours include every training item, the example's target and later ones;
                             false: the same layer over the user's own row and the history before the
                             example (no target leaks into it) */
    bool softmax;         /* recommendation loss: cross-entropy over every target-domain item (the default, a
                             departure: measured far better); false: the paper's BPR with one sampled negative */
    float lambda;         /* weight of the contrastive terms (0: none) */
    float tau;            /* InfoNCE temperature */
    bool infonce_mask;    /* leave items with the same agnostic code out of each other's InfoNCE denominators
                             (vkr_item_views_mask; measured: 0.129 against 0.143 Food full HR@10 without) */
    uint32_t contrast_items; /* items per domain side drawn for the InfoNCE of a step */
    float leaky_slope;    /* LeakyReLU negative slope of the GCN */
    uint32_t max_len;     /* window of each history */
    uint32_t batch;       /* examples per step */
    uint32_t hidden;      /* width d of every view and of the encoders */
    uint32_t blocks;      /* transformer blocks per encoder */
    uint32_t heads;       /* attention heads */
    float dropout;        /* dropout rate */
    float lr;             /* Adam learning rate of everything but the semantic modules */
    float semantic_lr;    /* learning rate of the semantic modules (group 1) */
    uint32_t epochs;      /* most epochs */
    uint32_t patience;    /* early stopping patience (0: never) */
    vkr_protocol validate; /* protocol of the per-epoch validation HR@10 */
    uint64_t seed;        /* initialization, shuffling, negatives, dropout */
    const char* ckpt_dir; /* best/last checkpoints (NULL: none) */
    bool resume;          /* continue from ckpt_dir/last.safetensors */
    bool quiet;           /* no progress */
    uint32_t eval_batch;  /* examples per scoring call */
    const char* const* metadata; /* key, value, ..., NULL: stored in the checkpoints (may be NULL) */
} vkr_semacdr_train;

/* A trained SemaCDR. */
typedef struct vkr_semacdr_model {
    const vkr_dataset* ds;    /* dataset */
    vkr_semacdr_train cfg;    /* settings */
    struct vkr_semacdr_state* state; /* graphs, executors and host staging (private) */
    vkr_fit_report fit;       /* what training measured */
} vkr_semacdr_model;

/* The paper's settings: views id+inner+agnostic, graph, cross and adaptive fusion, lambda 0.1, tau
 * 0.07, 2 blocks, 1 head, hidden 64, lr 1e-3 and 3e-4 for the semantic modules; plus len 20, batch
 * 256, dropout 0.2, 256 contrastive items, slope 0.2; and the softmax loss instead of BPR. */
void vkr_semacdr_train_defaults(vkr_semacdr_train* t);
/* Checks the dataset (two domains at least) and items for cfg's views (vkr_item_semantics_check). */
vkr_status vkr_semacdr_check_items(const vkr_dataset* ds, const vkr_semacdr_train* cfg, const vkr_item_semantics* items);
/* Trains on the training interactions, validating each epoch; out is zeroed on entry and holds the
 * best parameters. */
vkr_status vkr_semacdr_fit(const vkr_dataset* ds, vkr_device* dev, const vkr_semacdr_train* cfg,
                           const vkr_item_semantics* items, vkr_semacdr_model* out);
/* Builds an untrained model (parameters from cfg->seed) for scoring, e.g. to vkr_semacdr_load a
 * checkpoint into; out is zeroed on entry. */
vkr_status vkr_semacdr_open(const vkr_dataset* ds, vkr_device* dev, const vkr_semacdr_train* cfg,
                            const vkr_item_semantics* items, vkr_semacdr_model* out);
/* Loads parameters written by training (CKPT/best.safetensors) into an opened model. */
vkr_status vkr_semacdr_load(vkr_semacdr_model* m, const char* path);
/* A training session without the loop (benchmarks): the model (opened into *model, which the caller
 * frees after the trainer) and its training graph. */
typedef struct vkr_semacdr_trainer vkr_semacdr_trainer;
/* Opens the model and its trainer; *out is NULL on failure. */
vkr_status vkr_semacdr_trainer_create(const vkr_dataset* ds, vkr_device* dev, const vkr_semacdr_train* cfg,
                                      const vkr_item_semantics* items, vkr_semacdr_model* model,
                                      vkr_semacdr_trainer** out);
/* The training examples (units of a step). */
uint32_t vkr_semacdr_trainer_examples(const vkr_semacdr_trainer* trainer);
/* One step over examples units[0..n) (a short batch repeats them), negatives from `seed`. */
vkr_status vkr_semacdr_trainer_step(vkr_semacdr_trainer* trainer, const uint32_t* units, uint32_t n, uint64_t seed);
/* Destroys the trainer (NULL: no-op). */
void vkr_semacdr_trainer_destroy(vkr_semacdr_trainer* trainer);
/* The scorer view (best parameters; scores over the target domain's items). */
vkr_scorer vkr_semacdr_scorer(vkr_semacdr_model* m);
/* The graph module's item outputs in the mixed graph (h^mix, one space for every domain; with the
 * graph off, the views through its weights): items x hidden floats into out. */
vkr_status vkr_semacdr_item_vectors(vkr_semacdr_model* m, float* out);
/* Frees the model. */
void vkr_semacdr_model_free(vkr_semacdr_model* m);

#endif
