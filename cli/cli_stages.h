/* The stages of the main job as functions: prepare, embed, tokenize, train, evaluate and maps. Each
 * takes its options struct and, where it computes, the open backend (a vkr_device, or NULL for the CPU
 * reference backend); none opens a device of its own. The single commands (`vkrec prepare`, `embed`,
 * `tokenize`, `train`) parse into the same structs and call the same functions; `vkrec run` opens one
 * backend and passes it to every stage. Every stage runs on the CPU backend except the t-SNE maps,
 * which need Vulkan: with device NULL the maps stage computes the embedding-space alignment only and
 * says so in the report. Stages print progress on stdout unless their options say quiet. */
#ifndef VKR_CLI_STAGES_H
#define VKR_CLI_STAGES_H
#include <stdbool.h>

#include "cli_options.h"
#include "cli_rec.h"
#include "run_maps.h"
#include "vkr_data_prep.h"
#include "vkr_embed.h"
#include "vkr_rqvae.h"

/* Reading a release or dump into a dataset directory. */
typedef struct cli_prepare_options {
    const char* format;       /* "llmcdsr", "c2dsr", "amazon" or "csv" */
    cli_str_list sources;     /* release directory, or csv INTERACTIONS [ITEMS] */
    cli_str_list amazon;      /* amazon: NAME=REVIEWS[,META] per domain */
    const char* names[2];     /* names of a release's two domains (NULL: A and B) */
    const char* out;          /* dataset directory to write */
    vkr_prep_options prep;    /* filters, split, window */
    bool force;               /* replace a dataset already in out */
    bool quiet;               /* no report */
    int argc;                 /* the command line recorded in dataset.json ... */
    char** argv;              /* ... (argc entries) */
} cli_prepare_options;

#define CLI_EMBED_DIM 64 /* default embedding size of the embed stage */
/* The names of the vkr_embed_source values, in enum order (NULL-terminated: a choice list). */
extern const char* const cli_embed_source_choices[];

/* Item embeddings of a dataset into DIR/item_emb.npy and item_emb.json. */
typedef struct cli_embed_options {
    const char* dir;        /* dataset directory */
    vkr_embed_options embed; /* source, TF-IDF, co-occurrence and SVD settings */
    const char* import;     /* take the vectors from this .npy instead (NULL: compute them) */
    const char* ids;        /* with import: line k is the item key of row k (NULL: item order) */
    bool quiet;             /* no report */
} cli_embed_options;

/* Semantic-ID schemes of the tokenize stage, in the order of cli_tokenize_method_choices. */
typedef enum cli_tokenize_method {
    CLI_TOKENIZE_RQVAE = 0, /* RQ-VAE (vkr_rqvae.h) */
    CLI_TOKENIZE_RKMEANS,   /* residual k-means on the embeddings (vkr_semid_schemes.h) */
    CLI_TOKENIZE_RANDOM,    /* random codes (TIGER's ablation) */
    CLI_TOKENIZE_TERM       /* GRLM's term IDs from the item text (vkr_term_ids.h) */
} cli_tokenize_method;
/* The names of the cli_tokenize_method values (NULL-terminated: a choice list). */
extern const char* const cli_tokenize_method_choices[];

/* The tokenizer on DIR/item_emb.npy into semantic_ids.npy, tokenizer.json and (RQ-VAE, residual
 * k-means) tokenizer.safetensors. */
typedef struct cli_tokenize_options {
    const char* dir;                /* dataset directory */
    int method;                     /* a cli_tokenize_method */
    bool no_balance;                /* keep the nearest last-level codes (no uniform mapping) */
    uint32_t term_neighbors;        /* term: similar items giving each item's context (0: none) */
    float term_context;             /* term: weight of the neighbours' terms */
    bool term_bigrams;              /* term: bigrams are terms too */
    vkr_rqvae_config config;        /* model (input_dim and domains are set from the data) */
    vkr_rqvae_train_options train;  /* schedule (device is set from the stage's backend) */
    bool quiet;                     /* no report or progress */
} cli_tokenize_options;

/* Reads, preprocesses and writes the dataset (no device: the data library is host code). */
vkr_status cli_stage_prepare(const cli_prepare_options* options);
/* Embeds every item on device (NULL: CPU reference backend) or imports the vectors. */
vkr_status cli_stage_embed(vkr_device* device, const cli_embed_options* options);
/* Trains the tokenizer on device (NULL: CPU reference backend) and writes the semantic IDs. */
vkr_status cli_stage_tokenize(vkr_device* device, const cli_tokenize_options* options);
/* Trains job->model on device (NULL: CPU reference backend) and evaluates it: pop and SASRec once per
 * target domain in [first, last), GenCDR once for every domain; rows and JSON as cli_stage_evaluate. */
vkr_status cli_stage_train(vkr_device* device, const vkr_dataset* ds, const cli_rec_job* job, uint32_t first,
                           uint32_t last, cJSON* results, FILE* table);
/* Zero-shot transfer (job->train_domains; LLM-RecG): text-only SASRec trained on those domains' events
 * alone, for every other domain in [first, last): the job's zero-shot models, pop in that domain and
 * (unless no_ceiling) the same model trained there; rows as cli_stage_evaluate, tagged "trained_on"
 * (the domains whose interactions the model learned from) and "zero_shot" (whether those exclude
 * the row's domain). */
vkr_status cli_stage_zero_shot(vkr_device* device, const vkr_dataset* ds, const cli_rec_job* job, uint32_t first,
                               uint32_t last, cJSON* results, FILE* table);
/* Evaluates a trained model's scorer for target `domain` under every protocol of job: appends one JSON
 * object per protocol to results ({"model", "domain", "protocol", "split", "examples", "hrK" for K in
 * 5, 10 and job's cut-offs ascending, then "ndcgK" alike, "mrr", "exclude_history" (whether the user's
 * earlier items were out of the candidates: always under sampled protocols), "train_seconds", ...,
 * "training": fit}) and prints a row to table (may be NULL; HR and NDCG at job's cut-offs); a protocol
 * the scorer cannot run is reported as skipped. */
vkr_status cli_stage_evaluate(const vkr_dataset* ds, const vkr_scorer* scorer, const cli_rec_job* job,
                              const char* label, uint32_t domain, double train_seconds, const cJSON* fit,
                              cJSON* results, FILE* table);
/* The maps stage is cli_stage_maps (run_maps.h). */

#endif
