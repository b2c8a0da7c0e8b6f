/* Plumbing shared by the GenCDR sources (not public API): the graphs and their batch inputs
 * (vkr_gencdr_graph.c), sampled scoring (vkr_gencdr_score.c), the constrained beam-search decode
 * (vkr_gencdr_decode.c) and the model's lifecycle and training (vkr_gencdr.c). */
#ifndef VKR_GENCDR_INTERNAL_H
#define VKR_GENCDR_INTERNAL_H
#include "vkr_exec.h"
#include "vkr_gencdr.h"

/* Inputs shared by the training and scoring graphs; R rows of output states. */
typedef struct vkr_gencdr_inputs {
    vkr_tensor *hist_tok, *hist_dom, *mask, *out_dom, *onehot;
    vkr_tensor* hist_item; /* [B, T] item id + 1 (0: padding) when cfg.item_ids, else NULL */
    vkr_item_views views;  /* the views plug-in (cfg.item_views; view[0] alone without it) */
} vkr_gencdr_inputs;

/* A built graph: training (loss) or scoring (total log-likelihood per candidate). */
typedef struct vkr_gencdr_graph {
    vkr_graph* g;
    vkr_gencdr_inputs in;
    vkr_tensor* tok[VKR_GENCDR_MAX_DEPTH];  /* training: [R] next item's token per level; scoring: [B, C] */
    vkr_tensor* code[VKR_GENCDR_MAX_DEPTH]; /* training: [R] next item's code per level (-1: none) */
    vkr_tensor* hot[VKR_GENCDR_MAX_DEPTH];  /* scoring: [B*C, vocab] one-hot of each candidate's code */
    vkr_tensor* next_item;                  /* training with cfg.aux_item: [R] next item id (-1: none) */
    vkr_tensor* contrast;                   /* training with the views' InfoNCE: int32 [M] item ids + 1 */
    /* the training tasks (cfg.tasks; NULL without them): B items or transitions per step */
    vkr_tensor* task_item;                  /* [B] item id + 1 of the text tasks */
    vkr_tensor* task_text;                  /* const [items + 1, text_dim] the graph owns (NULL: the views' own) */
    vkr_tensor* task_ids;                   /* [B, depth] index2item: the item's tokens */
    vkr_tensor* task_tok[VKR_GENCDR_MAX_DEPTH], *task_code[VKR_GENCDR_MAX_DEPTH]; /* item2index: its ID */
    vkr_tensor* collab_src;                 /* [B, depth] collab: the earlier item's tokens */
    vkr_tensor* collab_tok[VKR_GENCDR_MAX_DEPTH], *collab_code[VKR_GENCDR_MAX_DEPTH]; /* the later item's ID */
    vkr_tensor* loss;                       /* training loss */
    vkr_tensor* loglik;                     /* scoring: [B*C, 1] */
    uint32_t rows, cand;                    /* B and C */
} vkr_gencdr_graph;

/* Host buffers for one batch of either graph. */
typedef struct vkr_gencdr_host {
    int32_t *hist_tok, *hist_dom, *hist_item, *mask, *out_dom;
    float* onehot;
    int32_t* tok[VKR_GENCDR_MAX_DEPTH];
    int32_t* code[VKR_GENCDR_MAX_DEPTH];
    float* hot[VKR_GENCDR_MAX_DEPTH];
    int32_t* next_item; /* training: the next item per position (-1: none) */
    int32_t *task_item, *task_ids, *collab_src; /* the tasks' inputs ([B], [B, depth], [B, depth]) */
    int32_t* task_tok[VKR_GENCDR_MAX_DEPTH];
    int32_t* task_code[VKR_GENCDR_MAX_DEPTH];
    int32_t* collab_tok[VKR_GENCDR_MAX_DEPTH];
    int32_t* collab_code[VKR_GENCDR_MAX_DEPTH];
    uint32_t* items; /* scratch: a user's events */
} vkr_gencdr_host;

/* The sampled-scoring state (vkr_gencdr_model.score); its executor holds the model's parameters. */
struct vkr_gencdr_scoring {
    vkr_gencdr_graph gg; /* scoring graph: eval_users x candidates */
    vkr_exec* ex;        /* its executor (the parameters every other graph copies) */
    vkr_gencdr_host h;   /* batch buffers */
    float* out;          /* [eval_users, candidates] log-likelihoods read back */
};

/* ---- graphs (vkr_gencdr_graph.c) ---- */

/* Token count: padding plus every level's codes. */
uint32_t vkr_gencdr_tokens(const vkr_gencdr_model* m);
/* The fused user state on g (train: [B*T, D], every position; else [B, D], the last), declaring its inputs in `in`. */
vkr_tensor* vkr_gencdr_state(vkr_graph* g, const vkr_gencdr_model* m, uint32_t B, bool train, vkr_gencdr_inputs* in,
                             vkr_tensor* code_emb);
/* Logits of level l from decoder inputs z [rows, D]. */
vkr_tensor* vkr_gencdr_level_logits(vkr_graph* g, const vkr_gencdr_model* m, uint32_t l, vkr_tensor* z);
/* Builds the training graph (B sequences) or the scoring graph (B users x C candidates); out is zeroed on entry. */
vkr_status vkr_gencdr_build(const vkr_gencdr_model* m, bool train, uint32_t B, uint32_t C, vkr_gencdr_graph* out);
/* Allocates the host buffers for a batch of gg (`longest`: the longest user sequence). */
vkr_status vkr_gencdr_host_alloc(vkr_gencdr_host* h, const vkr_gencdr_model* m, const vkr_gencdr_graph* gg, bool train,
                                 uint32_t longest);
/* Frees the host buffers and zeroes h. */
void vkr_gencdr_host_free(vkr_gencdr_host* h, uint32_t depth);
/* Row b of the history inputs from `n` events (the most recent T), left-padded. */
void vkr_gencdr_fill_history(const vkr_gencdr_model* m, vkr_gencdr_host* h, uint32_t b, const uint32_t* ev, uint32_t n);
/* Uploads the whole of tensor t from data. */
vkr_status vkr_gencdr_write(vkr_exec* ex, const vkr_tensor* t, const void* data);
/* Uploads the history and target-domain inputs of one batch. */
vkr_status vkr_gencdr_write_inputs(vkr_exec* ex, const vkr_gencdr_inputs* in, const vkr_gencdr_host* h);

/* ---- sampled scoring (vkr_gencdr_score.c) ---- */

/* Builds m->score with its parameters initialized from cfg.seed. */
vkr_status vkr_gencdr_scoring_create(vkr_gencdr_model* m, uint32_t longest);
/* Frees a scoring state (NULL is a no-op). */
void vkr_gencdr_scoring_free(vkr_gencdr_scoring* sc, uint32_t depth);

/* ---- beam-search decode (vkr_gencdr_decode.c) ---- */

/* Builds m->beam: the per-level decoders, the domain tries and the beam buffers (parameters come by
 * vkr_gencdr_beam_sync). */
vkr_status vkr_gencdr_beam_init(vkr_gencdr_model* m, uint32_t width, uint32_t longest);
/* Copies the scoring executor's (trained or loaded) parameters into the beam graphs. */
vkr_status vkr_gencdr_beam_sync(vkr_gencdr_model* m);
/* Frees a beam-search state (NULL is a no-op). */
void vkr_gencdr_beam_free(vkr_gencdr_beam* bm, vkr_device* dev, uint32_t depth);
/* vkr_scorer.rank_full over self = the model: each target's position among the beam's items. */
vkr_status vkr_gencdr_rank_full(void* self, const uint32_t* pairs, uint32_t n, uint64_t* ranks);
/* vkr_scorer.top_items over self = the model: the decoded items, best first. */
vkr_status vkr_gencdr_top_items(void* self, const uint32_t* pairs, uint32_t n, int32_t* items, float* scores,
                                uint32_t* out_width);

#endif
