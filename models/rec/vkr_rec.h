/* Recommenders over a prepared dataset: evaluation protocols, the popularity floor and SASRec
 * training with early stopping and exact resume.
 *
 * Contract: every model is evaluated through a vkr_scorer that fills, for a batch of examples
 * (user, position), one score per item of the target domain; evaluation turns scores into the
 * target's rank under the chosen protocol. "full" ranks the target against every item of its
 * domain (the honest default). "sampled:N" ranks it against N negatives drawn uniformly from its
 * domain's items the user never interacted with, seeded per example, so every model sees the same
 * candidates. Examples whose target lies in another domain are skipped. With exclude_history, the full
 * ranking leaves out the items the user interacted with before the target (the target itself still
 * ranks), as a deployed recommender filtering seen items would; sampled negatives never include any
 * item of the user, so the flag changes nothing there. */
#ifndef VKR_REC_H
#define VKR_REC_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_data.h"
#include "vkr_fit.h"
#include "vkr_metrics.h"
#include "vkr_sasrec.h"

/* How candidates are chosen. */
typedef struct vkr_protocol {
    uint32_t negatives; /* 0: full ranking; N: target plus N sampled negatives */
    uint64_t seed;      /* negative sampling seed */
    bool exclude_history; /* full ranking: the user's earlier items (but the target) are no candidates */
} vkr_protocol;

/* Parses "full" or "sampled:N" (history kept); INVALID_ARGUMENT naming the text otherwise. */
vkr_status vkr_protocol_parse(const char* text, vkr_protocol* out);

/* Scores a batch of examples; a model provides `score` (every item of the domain) or
 * `score_candidates` (given items) or both, and may provide `rank_full` instead of `score`. */
typedef struct vkr_scorer {
    void* self;     /* the model */
    uint32_t batch; /* examples per call (the last call may pass fewer) */
    /* scores[i * n_items + j] = score of item item_begin[domain] + j for example i (may be NULL) */
    vkr_status (*score)(void* self, const uint32_t* pairs, uint32_t n, float* scores);
    /* scores[i * c + j] = score of local item cand[i * c + j] for example i (may be NULL) */
    vkr_status (*score_candidates)(void* self, const uint32_t* pairs, uint32_t n, const uint32_t* cand, uint32_t c,
                                   float* scores);
    /* ranks[i] = 0-based rank of example i's target among all items of the domain, or VKR_RANK_MISSING
     * when the model's search did not reach it (generative decoding); used when `score` is NULL */
    vkr_status (*rank_full)(void* self, const uint32_t* pairs, uint32_t n, uint64_t* ranks);
    /* items[i * top_width + j] = the j-th best item (global id; of the domain unless the model
     * decodes over every domain) for example i (-1 past the last), scores its log-likelihood;
     * generative decoding (may be NULL) */
    vkr_status (*top_items)(void* self, const uint32_t* pairs, uint32_t n, int32_t* items, float* scores,
                            uint32_t* out_width);
    uint32_t top_width;      /* items per example top_items returns */
    uint32_t max_candidates; /* most candidates score_candidates accepts per example */
} vkr_scorer;

/* Checks that a sampled protocol can draw its N negatives for each of the `count` pairs whose target
 * is in `domain` (the domain's items minus the user's own must number at least N); INVALID_ARGUMENT
 * naming the protocol, the domain, the tightest user and the largest N that works otherwise. Full
 * ranking always passes. Run before training, so a run never ends with a mislabeled metric. */
vkr_status vkr_protocol_check(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t count,
                              const vkr_protocol* protocol);
/* Evaluates `count` (user, position) pairs whose target is in `domain` (vkr_protocol_check first);
 * *out is zeroed on entry. */
vkr_status vkr_evaluate(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t count,
                        const vkr_scorer* scorer, const vkr_protocol* protocol, vkr_metrics* out);

/* The distinct items in [lo, hi) among the user's first `pos` events, ascending, as offsets from lo,
 * into out (room for pos values); returns how many. */
uint32_t vkr_history_items(const vkr_dataset* ds, uint32_t user, uint32_t pos, uint32_t lo, uint32_t hi,
                           uint32_t* out);

/* For each of n examples (user, position), the k best items of `domain` given the history before
 * the position, best first (equal scores: lower item id first), skipping the items of that history
 * (global ids and scores at items[i * k + j], counts[i] of them: fewer when the model's search
 * returns fewer). Batched through the scorer's `score` (every item) or `top_items` (decoding); a
 * target ranked below k under the full protocol with exclude_history is in its example's list,
 * unless it ties with another item or repeats one of the history. counts is zeroed on entry. */
vkr_status vkr_recommend_batch(const vkr_dataset* ds, uint32_t domain, const uint32_t* pairs, uint32_t n,
                               const vkr_scorer* scorer, uint32_t k, uint32_t* items, float* scores, uint32_t* counts);
/* vkr_recommend_batch for `user` after all of the user's events (*out_count items). */
vkr_status vkr_recommend(const vkr_dataset* ds, uint32_t domain, uint32_t user, const vkr_scorer* scorer, uint32_t k,
                         uint32_t* items, float* scores, uint32_t* out_count);

/* ---- most popular ---- */

/* Popularity in the training interactions of one domain. */
typedef struct vkr_pop {
    const vkr_dataset* ds; /* dataset */
    uint32_t domain;       /* target domain */
    float* counts;         /* [domain items] training interactions per item */
} vkr_pop;

/* Counts training interactions per item of `domain`. */
vkr_status vkr_pop_fit(const vkr_dataset* ds, uint32_t domain, vkr_pop* out);
/* The scorer view of a fitted popularity model. */
vkr_scorer vkr_pop_scorer(vkr_pop* pop);
/* Frees the counts. */
void vkr_pop_free(vkr_pop* pop);

/* ---- SASRec ---- */

/* Training settings. */
typedef struct vkr_sasrec_train {
    uint32_t domain;      /* target domain */
    bool mixed_input;     /* history over every domain (else the target domain's events only) */
    vkr_sasrec_loss loss; /* BCE (1 negative) or full-softmax CE */
    vkr_sasrec_arch arch; /* block layout and initialization (AUTO: original for BCE, prenorm for CE) */
    bool gru;             /* GRU4Rec: a GRU encoder in place of the transformer (vkr_sasrec_config.gru) */
    uint32_t max_len;     /* history window (e.g. 50) */
    uint32_t batch;       /* training sequences per step */
    bool buckets;         /* length-bucketed training: batches grouped by history length run on windows just long
                             enough (vkr_sasrec_buckets.h; a window's loss is the full window's, dropout masks
                             aside), each loss the sum over labelled positions / their mean count per user x users
                             so that a batch of short histories weighs by its positions */
    uint32_t hidden;      /* width */
    uint32_t blocks;      /* transformer blocks */
    uint32_t heads;       /* attention heads */
    float dropout;        /* dropout rate */
    float lr;             /* Adam learning rate */
    uint32_t epochs;      /* most epochs */
    uint32_t patience;    /* stop after this many epochs without a better validation HR@10 (0: never) */
    vkr_protocol validate; /* protocol of the per-epoch validation HR@10 (zeroed: full ranking) */
    uint64_t seed;        /* initialization, shuffling, negatives and dropout */
    const char* ckpt_dir; /* where best.safetensors and last.safetensors go (NULL: nowhere) */
    bool resume;          /* continue from ckpt_dir/last.safetensors when present */
    bool quiet;           /* no progress lines */
    uint32_t eval_batch;  /* examples per scoring call */
    const char* const* metadata; /* key, value, ..., NULL: stored in the checkpoints (may be NULL) */
    uint32_t item_views;  /* SemaCDR's multi-view items as a plug-in: VKR_ITEM_VIEW_* bits (0: IDs only) */
    const vkr_item_semantics* semantics; /* the inputs of the inner and agnostic views (with item_views) */
    float view_lambda;    /* weight of the views' InfoNCE (0: none) */
    float view_tau;       /* its temperature */
    bool view_mask;       /* mask same-code items out of its denominators (vkr_item_views_mask) */
    float semantic_lr;    /* learning rate of the view modules (0: lr) */
    /* LLM-RecG's zero-shot transfer (vkr_sasrec_zero_shot): */
    uint32_t train_domains; /* bits of the domains whose events alone make the rows, history and labels (0: as
                               domain and mixed_input say); ce needs it to be `domain` alone, bce draws each
                               label's negative from the label's domain */
    bool semantic_only;   /* the item table from the text alone (item_views must be the inner view) */
    bool semantic_mlp;    /* with semantic_only: a residual GELU layer after the text's projection */
    uint32_t align_items; /* item-level alignment: items per side per step (0: none; needs a domain outside
                             train_domains, whose items' text, never their interactions, it reads) */
    float align_weight;   /* its weight */
    float align_tau;      /* its temperatures (the pull's softmax and the intra-domain InfoNCE) */
    uint32_t seq_clusters; /* scoring: sequence-level alignment centroids (set by vkr_sasrec_zero_shot) */
    float seq_mix;        /* scoring: their weight in the adapted state */
} vkr_sasrec_train;

/* The BCE training negative of one position: a seeded item of `domain` (draw `index` of the `seed`
 * stream) that is neither `next` nor one of the user's `history` items, as in the SASRec paper; when
 * the history covers the whole domain, any item but `next` (none exists for a one-item domain: then
 * `next`). */
uint32_t vkr_sasrec_negative(const vkr_dataset* ds, uint32_t domain, const uint32_t* history, uint32_t history_len,
                             uint32_t next, uint64_t seed, uint64_t index);

/* A trained SASRec and what its training measured. */
typedef struct vkr_sasrec_model {
    const vkr_dataset* ds;  /* dataset */
    vkr_sasrec_train cfg;   /* settings it was trained with */
    vkr_device* dev;        /* GPU, or NULL for the CPU backend */
    vkr_sasrec score_graph; /* scoring graph */
    vkr_exec* score_exec;   /* executor of the scoring graph, holding the best parameters */
    vkr_fit_report fit;     /* what training measured (best_hr10: validation HR@10 under cfg.validate) */
    vkr_item_views_host views_host; /* padded view inputs (with cfg.item_views) */
} vkr_sasrec_model;

/* The events of `user` before position `end` that make a row of cfg's model, in order, into out (room
 * for end values); returns how many. Zero-shot training (train_domains) keeps its domains' events
 * only, so no event of another domain reaches the model. */
uint32_t vkr_sasrec_row_events(const vkr_dataset* ds, const vkr_sasrec_train* cfg, uint32_t user, uint32_t end,
                               uint32_t* out);

/* Sets the paper's defaults (2 blocks, hidden 64, 1 head, len 50, batch 128, dropout 0.2, lr 1e-3). */
void vkr_sasrec_train_defaults(vkr_sasrec_train* t);
/* Builds an untrained scoring model (parameters from cfg->seed), e.g. to vkr_sasrec_load a
 * checkpoint into; out is zeroed on entry. */
vkr_status vkr_sasrec_open(const vkr_dataset* ds, vkr_device* dev, const vkr_sasrec_train* cfg, vkr_sasrec_model* out);
/* Loads parameters written by training (CKPT/best.safetensors) into an opened model. */
vkr_status vkr_sasrec_load(vkr_sasrec_model* m, const char* path);
/* Trains on the training interactions, validating each epoch (full protocol, HR@10), keeping the best. */
vkr_status vkr_sasrec_fit(const vkr_dataset* ds, vkr_device* dev, const vkr_sasrec_train* cfg, vkr_sasrec_model* out);
/* The scorer view (best parameters). */
vkr_scorer vkr_sasrec_scorer(vkr_sasrec_model* m);
/* Frees the model. */
void vkr_sasrec_model_free(vkr_sasrec_model* m);
/* The last position's state (after any sequence-level alignment) for n (user, position) pairs into
 * out[n x hidden]. */
vkr_status vkr_sasrec_user_states(vkr_sasrec_model* m, const uint32_t* pairs, uint32_t n, float* out);
/* A text-only model's item representations (the projection of every item's text) into
 * out[items x hidden]; INVALID_ARGUMENT for a model with an ID table. */
vkr_status vkr_sasrec_item_table(vkr_sasrec_model* m, float* out);
/* A model trained on train_domains (semantic_only) as a scorer of `target`, a domain it never trained
 * on: its parameters, the target's items represented by their text alone, histories of the target's
 * events. seq_clusters > 0 adds LLM-RecG's sequence-level alignment: k-means (seeded by the model's
 * seed) of the source users' states after their training events gives that many centroids, and each
 * target state moves seq_mix of the way to its attention-weighted mix of them. out is zeroed on entry. */
vkr_status vkr_sasrec_zero_shot(vkr_sasrec_model* src, uint32_t target, uint32_t seq_clusters, float seq_mix,
                                vkr_sasrec_model* out);

#endif
