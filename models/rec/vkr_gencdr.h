/* GenCDR-style generative cross-domain recommender: a causal transformer over the user's
 * mixed-domain history in which every item enters as the sum of its semantic-ID code embeddings
 * plus a domain embedding (plus, by default, a learned per-item embedding: the hybrid input); at
 * each position a target-domain token selects what comes next, a universal state is refined by
 * per-domain LoRA adapters through a learned gate (interest fusion), and the next item's semantic
 * ID is decoded level by level (teacher-forced cross-entropy per level; each level conditions on
 * the codes before it).
 *
 * Contract: one model is trained for all domains at once (targets of every domain, each with its
 * domain's adapter), and evaluated per target domain. Candidates are scored by the log-likelihood
 * of their whole semantic ID under the decoder (full softmax per level), which is what the
 * sampled protocols use. The full protocol and recommendations decode with a constrained beam
 * search over the target domain's trie (or the global one): log-softmax restricted to valid
 * children at each level, top-W over beams x children. On the GPU the whole decode of a batch of
 * users is one recorded submission (encoder once per user, then per level: decoder, step, next
 * prefix tokens), replayed with only the histories uploaded and the final beams read back; the
 * encoder state is computed once and reused by every level and beam, which is what a KV cache
 * buys an autoregressive decoder. A target is ranked by its position among the beam's items, and
 * one outside the beam is a miss. Item histories are one position per item (not one per code
 * token), which keeps sequences short. */
#ifndef VKR_GENCDR_H
#define VKR_GENCDR_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_data.h"
#include "vkr_item_views.h"
#include "vkr_rec.h"

#define VKR_GENCDR_MAX_DEPTH 8

/* Training tasks beside next-item prediction (bits of vkr_gencdr_train.tasks): LC-Rec's alignment
 * tasks and GRLM's collaborative one. Each draws `batch` items (or transitions) per step, shares the
 * code embeddings and level decoders with next-item prediction, and adds task_weight x its loss. */
enum {
    VKR_GENCDR_TASK_ITEM2INDEX = 1u, /* an item's text vector, through a projection, decodes its semantic ID */
    VKR_GENCDR_TASK_INDEX2ITEM = 2u, /* an item's code embeddings, through a projection, regress its text vector
                                        (squared distance) */
    VKR_GENCDR_TASK_COLLAB = 4u      /* an item's code embeddings decode the ID of the item that followed it in a
                                        training sequence */
};

/* Settings. */
typedef struct vkr_gencdr_train {
    uint32_t max_len;    /* history window in items */
    uint32_t batch;      /* training sequences per step */
    uint32_t hidden;     /* width */
    uint32_t blocks;     /* transformer blocks */
    uint32_t heads;      /* attention heads */
    uint32_t lora_rank;  /* rank of each domain adapter (0: no adapters, universal only) */
    bool item_ids;       /* hybrid input: add a learned per-item embedding to each history item's codes */
    bool global_trie;    /* decode over every domain's items (the global trie), not only the target domain's */
    float aux_item;      /* weight of an auxiliary next-item softmax on the state, over the per-item embeddings
                            (needs item_ids; 0: none). It shapes the encoder only: ranking stays by decoding IDs */
    uint32_t decoder_hidden; /* width of each level's decoder MLP (0: hidden) */
    /* SemaCDR's multi-view items as a plug-in (vkr_item_views.h): the per-item embedding of each
     * history item becomes ID + gated inner and agnostic views (needs item_ids; 0 or VKR_ITEM_VIEW_ID:
     * none). Decoding still ranks by semantic IDs. */
    uint32_t item_views;     /* VKR_ITEM_VIEW_* bits */
    const vkr_item_semantics* semantics; /* the views' inputs (with item_views beyond ID; read by vkr_gencdr_open and
                                            vkr_gencdr_trainer_create, so it must outlive both) */
    float view_lambda;       /* weight of the views' InfoNCE (training; 0: none) */
    float view_tau;          /* its temperature */
    uint32_t contrast;       /* items per InfoNCE (training) */
    uint32_t tasks;      /* VKR_GENCDR_TASK_* bits (0: next-item prediction alone); the text tasks read
                            semantics->text */
    float task_weight;   /* weight of each task's loss */
    float dropout;       /* dropout rate */
    float lr;            /* AdamW peak learning rate */
    uint32_t epochs;     /* most epochs */
    uint32_t patience;   /* early stopping patience (0: never) */
    uint64_t seed;       /* initialization, shuffling, dropout */
    const char* ckpt_dir; /* best/last checkpoints (NULL: none) */
    bool resume;         /* continue from ckpt_dir/last.safetensors */
    bool quiet;          /* no progress */
    uint32_t eval_users; /* users per scoring call */
    uint32_t candidates; /* candidates per user in one scoring pass (more are scored in chunks) */
    uint32_t beam;       /* beam width of the constrained search behind the full protocol (0: no full ranking) */
    uint32_t history_domains; /* bits of the domains whose events make the histories and training labels (0: every
                                 domain): zero-shot training on them (needs no per-item embedding and no tasks;
                                 validation on them), then vkr_gencdr_zero_shot for another domain */
    const char* const* metadata; /* key, value, ..., NULL: stored in the checkpoints (may be NULL) */
} vkr_gencdr_train;

/* Private states of a model: sampled scoring (vkr_gencdr_internal.h) and the beam-search decode
 * (vkr_gencdr_decode.c). */
typedef struct vkr_gencdr_scoring vkr_gencdr_scoring;
typedef struct vkr_gencdr_beam vkr_gencdr_beam;

/* A trained model. */
typedef struct vkr_gencdr_model {
    const vkr_dataset* ds;   /* dataset */
    vkr_gencdr_train cfg;    /* settings */
    vkr_device* dev;         /* GPU or NULL (CPU backend) */
    uint32_t depth;          /* tokens per semantic ID */
    uint32_t vocab[VKR_GENCDR_MAX_DEPTH];   /* codes per level */
    uint32_t offset[VKR_GENCDR_MAX_DEPTH];  /* token of code c at level l: offset[l] + c (0 is padding) */
    uint16_t* ids;           /* [items, depth] semantic IDs (owned copy) */
    vkr_item_views_host views_host; /* padded inputs of the views plug-in (empty without it) */
    vkr_gencdr_scoring* score; /* scoring state (private) */
    vkr_gencdr_beam* beam;     /* beam-search state (private; NULL without beam search) */
    uint32_t domain;         /* domain the next scores are for (vkr_gencdr_scorer) */
    uint32_t trained_on;     /* zero-shot: the history_domains it was trained on (set by vkr_gencdr_zero_shot) */
    vkr_fit_report fit;      /* what training measured (best_hr10: validation HR@10, mean over domains, full
                              * protocol by beam search, or sampled:100 without beam search) */
} vkr_gencdr_model;

/* Defaults: 2 blocks, hidden 64, 2 heads, LoRA rank 8, item embeddings on, len 20, batch 64, dropout 0.1,
 * lr 2e-3, beam 20; views plug-in off (lambda 0.1, tau 0.07, 256 InfoNCE items when on); no extra
 * task (weight 1 when on). */
void vkr_gencdr_train_defaults(vkr_gencdr_train* t);
/* Builds an untrained model (parameters from cfg->seed, beam search when cfg->beam > 0), e.g. to
 * vkr_gencdr_load a checkpoint into; out is zeroed on entry. */
vkr_status vkr_gencdr_open(const vkr_dataset* ds, vkr_device* dev, const uint16_t* ids, uint32_t depth,
                           const vkr_gencdr_train* cfg, vkr_gencdr_model* out);
/* Loads parameters written by training (CKPT/best.safetensors) into an opened model. */
vkr_status vkr_gencdr_load(vkr_gencdr_model* m, const char* path);
/* Trains on every domain's training interactions; ids [items, depth] from the tokenizer. */
vkr_status vkr_gencdr_fit(const vkr_dataset* ds, vkr_device* dev, const uint16_t* ids, uint32_t depth,
                          const vkr_gencdr_train* cfg, vkr_gencdr_model* out);
/* Turns a model trained on cfg.history_domains into a zero-shot scorer of `target`, a domain it never
 * trained on: histories of the target's events alone, and the target's domain and output-domain
 * embeddings (never trained) set to the mean of the training domains' rows, so the target is
 * decoded as the domains the model knows; decoding stays over the target's trie. Call once per target,
 * then score that target. */
vkr_status vkr_gencdr_zero_shot(vkr_gencdr_model* m, uint32_t target);
/* The scorer for target domain `domain`: each example's candidates are its domain's items, scored
 * by the semantic-ID log-likelihood (sampled protocols pass up to cfg.candidates of them). */
vkr_scorer vkr_gencdr_scorer(vkr_gencdr_model* m, uint32_t domain);
/* A training-step driver over an opened model (what vkr_gencdr_fit runs each step; benchmarks use it
 * alone). */
typedef struct vkr_gencdr_trainer vkr_gencdr_trainer;
/* Builds the training graph and its optimizer for m (m must outlive it); out is NULL on failure. */
vkr_status vkr_gencdr_trainer_create(vkr_gencdr_model* m, vkr_gencdr_trainer** out);
/* Training units: users with at least two training events (step takes indices below this). */
uint32_t vkr_gencdr_trainer_units(const vkr_gencdr_trainer* t);
/* One optimizer step on units[0..n) (n <= cfg.batch); loss (may be NULL) receives the batch loss. */
vkr_status vkr_gencdr_trainer_step(vkr_gencdr_trainer* t, const uint32_t* units, uint32_t n, float* loss);
/* Frees the trainer. */
void vkr_gencdr_trainer_destroy(vkr_gencdr_trainer* t);

/* What vkr_gencdr_item_vectors reads out of the model's input layer. */
typedef enum vkr_gencdr_view {
    VKR_GENCDR_VIEW_CODES = 0, /* sum of the item's semantic-ID code embeddings (shared by all domains) */
    VKR_GENCDR_VIEW_IDS,       /* the per-item embedding (models trained with item_ids only) */
    VKR_GENCDR_VIEW_FUSED      /* what the encoder sees: codes + domain embedding (+ item embedding) */
} vkr_gencdr_view;
/* Writes one row of cfg.hidden floats per item (items x hidden, row i = item i) into out;
 * INVALID_ARGUMENT for VKR_GENCDR_VIEW_IDS on a model without item embeddings. */
vkr_status vkr_gencdr_item_vectors(vkr_gencdr_model* m, vkr_gencdr_view view, float* out);
/* Frees the model. */
void vkr_gencdr_model_free(vkr_gencdr_model* m);
/* Reads DIR/semantic_ids.npy (uint16 [items, depth]) into a malloc'd array checked against the dataset
 * and, when DIR/tokenizer.json exists, each level's codes against its "token_vocab" codebook sizes. */
vkr_status vkr_gencdr_load_ids(const char* dir, const vkr_dataset* ds, uint16_t** out_ids, uint32_t* out_depth);
/* Refuses codes of DIR/semantic_ids.npy (ids: item_count x depth) outside the codebooks DIR/tokenizer.json
 * lists ("token_vocab"), naming item and level; no tokenizer.json: nothing to check. */
vkr_status vkr_gencdr_check_codes(const char* dir, const vkr_dataset* ds, const uint16_t* ids, uint32_t depth);

#endif
