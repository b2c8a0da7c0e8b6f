/* The semantic-ID tokenizer: an RQ-VAE over item embeddings (TIGER / LC-Rec), optionally with
 * GenCDR's domain adapters, trained on the GPU (or the CPU reference backend).
 *
 * Model: encoder MLP input -> hidden... -> latent (ReLU between layers), L residual codebooks of K
 * codes over the latent (vkr_graph_ops_quant.h: straight-through estimator, codebook loss +
 * beta x commitment), decoder MLP mirrored. Loss = MSE(reconstruction, input) + RQ loss.
 * Adapters (GenCDR): every encoder layer gets one LoRA per domain (A: NORMAL(1/sqrt(in)), B: zeros,
 * rank r), and a router over 1 + D experts, the universal encoder (expert 0) and the D adapters,
 * weighs them per item from its embedding and its domain: p = softmax(x W_r + onehot(d) U_r + b_r)
 * (W_r, b_r start at 0 and U_r at VKR_RQVAE_ROUTER_PRIOR on each domain's own adapter, so an item
 * starts mostly on its domain's adapter: 0.79 of the weight with two domains), each layer
 * W x + b + sum_d p_d (B_d A_d x). An optional
 * load-balancing term, balance x (D + 1) x sum_e (batch mean of p_e)^2 (1 when the batch spreads
 * evenly over the experts, D + 1 when it all goes to one), keeps the router from collapsing onto one
 * expert; it is off by default: routing by domain already spreads a mixed batch over the adapters,
 * and pushing it toward uniform mixes other domains' adapters in (on the bundled sample 0.01 moved
 * Food items from 0.92 to 0.62 on the Food adapter, and GenCDR's full HR@10 fell from 0.286 to 0.276
 * on Food and from 0.133 to 0.115 on Kitchen, one seed). The result reports the mean routing weights of each domain's items and how many items'
 * nearest codes the adapters changed (against the codes after the universal phase, which the
 * adapter phase leaves untouched).
 *
 * Input: every item with a non-zero embedding trains on its row rescaled to the median norm of those
 * rows; items whose embedding is all zero carry no signal: they are left out of training and get
 * evenly spread paths, counted in no_signal (vkr_semid_rows.h).
 * Training (vkr_rqvae_train): one graph executor runs forward, backward and Adam per step.
 *  1. universal phase (`epochs`): encoder, decoder and codebooks train; adapters and router are
 *     frozen (learning-rate multiplier 0). Codebooks start from GPU k-means (vkr_kmeans.h) on the
 *     latents of up to VKR_RQVAE_KMEANS_ROWS items, level by level on the residuals. Every
 *     `reseed_every` epochs during the first 80% of the phase, codes no item uses are re-seeded with
 *     the distinct residuals that level quantizes worst.
 *  2. adapter phase (`adapter_epochs`, only with adapters): only adapters and router train; every
 *     universal weight and the codebooks stay bitwise unchanged.
 * Then every item is encoded, the last level is balanced within each prefix (LC-Rec's uniform
 * mapping, vkr_balance.h; not with no_balance), collisions get the extra level (vkr_quantize.h), and the statistics are
 * computed. A collapsed assignment fails (the level floor, vkr_semid_check_levels, on the model's own
 * codes before the uniform mapping, which could otherwise hide it; then vkr_semid_check on the trained
 * items and on all items after it) with
 * VKR_ERR_STATE and a message naming the level, the codes used, the paths, the widest path, the
 * input's distinct rows and what to try; no result is returned then. Parameter groups: 0 universal,
 * 1 codebooks, 2 adapters and router.
 * Deterministic for a seed on a given device. */
#ifndef VKR_RQVAE_H
#define VKR_RQVAE_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_graph_ops_quant.h"
#include "vkr_quantize.h"

#define VKR_RQVAE_MAX_HIDDEN 4       /* most hidden layers per MLP */
#define VKR_RQVAE_KMEANS_ROWS 65536u /* most latents the k-means initialization clusters */
#define VKR_RQVAE_MAX_DOMAINS 16u    /* most domains with adapters */
#define VKR_RQVAE_DEFAULT_STEPS 3000u /* the default epoch count aims at about this many steps */
#define VKR_RQVAE_ROUTER_PRIOR 2.0f   /* the router's starting logit for an item's own domain's adapter */

/* Architecture. Zero fields take the defaults in brackets. */
typedef struct vkr_rqvae_config {
    uint32_t input_dim;                        /* item embedding width (required) */
    uint32_t hidden[VKR_RQVAE_MAX_HIDDEN];     /* encoder hidden widths [512, 256, 128] */
    uint32_t hidden_count;                     /* used entries of hidden [3 when hidden[0] is 0] */
    uint32_t latent;                           /* latent width D [32] */
    uint32_t levels;                           /* codebooks L [3] */
    uint32_t codes;                            /* codes per codebook K [256, or the item count when smaller] */
    float beta;                                /* commitment weight [0.25]; negative means 0 */
    bool adapters;                             /* GenCDR per-domain LoRA adapters + router */
    uint32_t domains;                          /* domains (adapters; >= 1 then) */
    uint32_t lora_rank;                        /* adapter rank r [8] */
    float balance;                             /* weight of the router's load-balancing term [0: none]; negative means 0 */
} vkr_rqvae_config;

/* Progress of training, passed to the callback after every epoch. */
typedef struct vkr_rqvae_progress {
    const char* phase;    /* "universal" or "adapters" */
    uint32_t epoch;       /* 1-based epoch within the phase */
    uint32_t epochs;      /* epochs of the phase */
    double loss;          /* mean training loss of the epoch */
    double items_per_s;   /* training throughput of the epoch */
    double eta_s;         /* estimated seconds left in the whole run */
    uint32_t reseeded;    /* dead codes re-seeded after this epoch */
} vkr_rqvae_progress;

/* Training settings. Zero fields take the defaults in brackets. */
typedef struct vkr_rqvae_train_options {
    vkr_device* device;      /* GPU; NULL runs on the CPU reference backend */
    uint32_t batch;          /* items per step [256, at most the item count] */
    uint32_t epochs;         /* universal-phase epochs [about VKR_RQVAE_DEFAULT_STEPS steps, 10..200] */
    uint32_t adapter_epochs; /* adapter-phase epochs with adapters [epochs / 4] */
    float lr;                /* Adam learning rate [1e-3] */
    float adapter_lr;        /* adapter-phase learning rate [lr] */
    uint32_t kmeans_iters;   /* Lloyd iterations of the initialization [20] */
    uint32_t reseed_every;   /* epochs between dead-code checks [5] */
    uint64_t seed;           /* weights, shuffling, k-means (0 is a valid seed) */
    bool no_balance;         /* keep every item's nearest last-level code (no uniform mapping) */
    void (*progress)(void* user, const vkr_rqvae_progress* p); /* per-epoch callback, or NULL */
    void* user;              /* passed to progress */
} vkr_rqvae_train_options;

/* One parameter's final values. */
typedef struct vkr_rqvae_param {
    char name[64];     /* graph/checkpoint name, e.g. "enc0.w" */
    uint32_t ndim;     /* dims */
    uint64_t shape[4]; /* dims, outermost first */
    uint64_t numel;    /* elements */
    uint32_t group;    /* 0 universal, 1 codebooks, 2 adapters and router */
    float* data;       /* numel values (owned) */
} vkr_rqvae_param;

/* What training produced. */
typedef struct vkr_rqvae_result {
    vkr_rqvae_config config;  /* the configuration with defaults filled in */
    vkr_rqvae_train_options options; /* the training settings with defaults filled in */
    uint32_t items;           /* n */
    vkr_rqvae_param* params;  /* final parameters */
    uint32_t param_count;     /* entries of params */
    int32_t* codes;           /* [n, L] final codes */
    uint16_t* ids;            /* [n, L+1] unique semantic IDs */
    vkr_semid_stats stats;    /* utilization, perplexity, collisions, items per path (all n items) */
    vkr_semid_stats signal_stats; /* the same over the trained items (no_signal ones left out) */
    vkr_semid_stats nearest_stats; /* the trained items' nearest codes, before the uniform mapping */
    vkr_semid_stats universal_stats; /* adapters: the same with the adapters off (after the universal phase) */
    uint32_t adapter_changed; /* adapters: trained items whose nearest codes the adapters changed */
    float route_mean[VKR_RQVAE_MAX_DOMAINS][VKR_RQVAE_MAX_DOMAINS + 1]; /* adapters: each domain's mean routing
                                                                          weights (expert 0 universal) */
    double recon_loss;        /* mean squared reconstruction error over trained rows and dims, in input units */
    double quant_loss;        /* RQ loss over the trained (median-norm) rows (codebook + beta x commitment) */
    uint32_t no_signal;       /* items with an all-zero embedding: not trained on, given spread paths */
    uint32_t distinct_rows;   /* distinct embeddings among the other items (a 64-bit hash of each) */
    uint32_t balanced;        /* items the uniform mapping moved off their nearest last-level code */
    uint32_t kmeans_empty;    /* codes left empty by the k-means initialization (all levels) */
    uint32_t reseeded;        /* dead codes re-seeded during training (all levels) */
    uint32_t steps;           /* optimizer steps taken (both phases) */
    double seconds;           /* wall time */
} vkr_rqvae_result;

/* Fills the defaults of a configuration into *out and checks it (INVALID_ARGUMENT names the field). */
vkr_status vkr_rqvae_config_resolve(const vkr_rqvae_config* config, vkr_rqvae_config* out);
/* Trains the tokenizer on emb (n x config.input_dim, row i = item i) and encodes every item.
 * item_domain (n entries < domains) is required with adapters, else ignored (may be NULL).
 * Refused before any work: more codes per level than items, and embeddings vkr_check_vectors refuses
 * (vkr_values.h); refused after: a non-finite loss (naming phase, epoch and step) or trained weight.
 * out_result is zeroed on entry; free it with vkr_rqvae_result_free. */
vkr_status vkr_rqvae_train(const vkr_rqvae_config* config, const vkr_rqvae_train_options* options, const float* emb,
                           uint32_t n, const uint8_t* item_domain, vkr_rqvae_result* out_result);
/* Frees everything a result owns and zeroes it. */
void vkr_rqvae_result_free(vkr_rqvae_result* result);
/* The parameter called `name`, or NULL. */
const vkr_rqvae_param* vkr_rqvae_result_param(const vkr_rqvae_result* result, const char* name);
/* Writes the parameters and the configuration (as metadata) to a safetensors file atomically. */
vkr_status vkr_rqvae_save(const vkr_rqvae_result* result, const char* path);

#endif
