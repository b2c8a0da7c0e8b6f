/* Training and evaluating recommenders from the command line: the job `vkrec train` and `vkrec run` describe,
 * their shared options, and the table both print (the stages themselves: cli_stages.h). */
#ifndef VKR_CLI_REC_H
#define VKR_CLI_REC_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli_options.h"
#include "vkr_agnostic.h"
#include "vkr_gencdr.h"
#include "vkr_npy.h"
#include "vkr_rec.h"
#include "vkr_semacdr.h"

#define CLI_MAX_PROTOCOLS 4
#define CLI_MAX_CUTOFFS 8 /* most --cutoffs values */

/* GenCDR's item vectors handed back to the main job for its maps (malloc'd, items x dim; ids NULL
 * when the model has no per-item embedding). */
typedef struct cli_gencdr_views {
    float* codes; /* sum of the item's semantic-ID code embeddings */
    float* ids;   /* the per-item embedding */
    float* fused; /* the encoder's input: codes + domain (+ item) embedding */
    uint32_t dim; /* columns */
} cli_gencdr_views;

/* --loss as given, in its choices' order: auto is bce for SASRec and ce for SemaCDR; bce is SASRec's
 * only, bpr SemaCDR's only. */
typedef enum cli_loss { CLI_LOSS_AUTO, CLI_LOSS_BCE, CLI_LOSS_CE, CLI_LOSS_BPR } cli_loss;

/* Zero-shot models (--zero-shot-models): text-only SASRec as trained on the source domains (base), with the
 * item-level alignment (item), and either with the sequence-level alignment at scoring (+seq). */
enum { CLI_ZS_BASE = 1u, CLI_ZS_ITEM = 2u, CLI_ZS_SEQ = 4u, CLI_ZS_ITEM_SEQ = 8u };

/* What to train and how to evaluate it. */
typedef struct cli_rec_job {
    const char* model;               /* "pop", "sasrec", "gencdr" or "semacdr" */
    vkr_sasrec_train sasrec;         /* SASRec settings (domain is set per run) */
    vkr_gencdr_train gencdr;         /* GenCDR settings */
    vkr_semacdr_train semacdr;       /* SemaCDR settings (domain is set per run) */
    const char* agnostic_file;       /* the agnostic view's categories from this CSV or .npy (NULL: DIR/agnostic.npy) */
    const vkr_item_semantics* semacdr_items; /* SemaCDR: item inputs already in memory (NULL: read from files) */
    float** semacdr_vectors_out;     /* SemaCDR: receives the first trained model's graph item outputs (items x
                                        hidden, malloc'd) when it points to NULL (NULL: not wanted) */
    const char* data_dir;            /* dataset directory (GenCDR reads semantic_ids.npy there) */
    const char* split;               /* "valid" or "test" */
    uint32_t protocol_count;         /* protocols to report */
    vkr_protocol protocols[CLI_MAX_PROTOCOLS]; /* each protocol */
    char protocol_names[CLI_MAX_PROTOCOLS][32]; /* their spellings */
    const char* ckpt_root;           /* checkpoint directory root (NULL: none) */
    const char* beams_json;          /* GenCDR: write the beams of some test users here for the viewer (NULL: no) */
    cli_gencdr_views* views_out;     /* GenCDR: receives the trained item vectors (NULL: not wanted) */
    cli_uint_list cutoffs;           /* HR@K and NDCG@K reported for each K, ascending and distinct */
    bool exclude_history;            /* full protocol: the user's earlier items are left out of the ranking */
    bool protocols_given;            /* --protocol was on the command line */
    cli_loss loss;                   /* --loss (each model refuses the other's only loss) */
    const char* train_domains;       /* zero-shot transfer (LLM-RecG): train on these domains only, comma-separated,
                                        and evaluate the others (NULL: ordinary training) */
    uint32_t zero_shot_variants;     /* CLI_ZS_* bits: the zero-shot models to train and report */
    uint32_t seq_clusters;           /* zero-shot: centroids of the sequence-level alignment */
    uint32_t align_items;            /* zero-shot: items per side per step of the item-level alignment */
    bool no_ceiling;                 /* zero-shot: skip the model trained on the target itself */
    float** zero_shot_tables_out;    /* zero-shot: receives, where it points to NULLs, the item tables (items x
                                        hidden, malloc'd) of the model without [0] and with [1] item alignment */
    bool quiet;                      /* no progress */
} cli_rec_job;

/* The recommender options `train` and `run` share, as parsed (CLI_BASE_SHARED of cli_rec_group). */
typedef struct cli_rec_args {
    cli_rec_job job; /* numbers go straight into the SASRec and GenCDR settings */
    int loss;        /* --loss: index of auto|bce|ce|bpr (the cli_loss order) */
    int arch;        /* --arch: index of auto|original|prenorm (the vkr_sasrec_arch order) */
    int input;       /* --input: index of target|mixed */
    int split;       /* --split: index of test|valid */
    int trie;        /* --trie: index of domain|global */
    int adapter;     /* --adapter: index of linear|mlp */
    int encoder;     /* --encoder: index of transformer|gru */
    int buckets;     /* --buckets: index of auto|off */
    bool codes_only; /* --codes-only */
    bool no_graph;       /* --no-graph */
    bool no_cross;       /* --no-cross-fusion */
    bool fixed_fusion;   /* --fixed-fusion */
    bool graph_user;     /* --graph-user */
    bool infonce_mask;   /* --infonce-mask */
    uint32_t item_views; /* --item-views bits (0: not given, each model's default) */
    float lambda;        /* --lambda */
    float tau;           /* --tau */
    float semantic_lr;   /* --semantic-lr */
} cli_rec_args;

/* The item views' inputs (SemaCDR, and the SASRec and GenCDR plug-ins): the arrays stay in the npy
 * arrays / agnostic until cli_sema_inputs_free. */
typedef struct cli_sema_inputs {
    vkr_npy_array text, cats; /* DIR/item_emb.npy; the categories .npy */
    vkr_agnostic imported;    /* the categories from a CSV */
    vkr_item_semantics items; /* views of the above */
} cli_sema_inputs;

/* Loads the inputs of `views`: data_dir/item_emb.npy for the inner view, the categories from
 * agnostic_file (CSV or .npy; NULL: data_dir/agnostic.npy) for the agnostic one; in is zeroed on
 * entry; errors name the missing file and the command that makes it. */
vkr_status cli_sema_inputs_load(const vkr_dataset* ds, const char* data_dir, const char* agnostic_file, uint32_t views,
                                cli_sema_inputs* in);
/* Frees what cli_sema_inputs_load read. */
void cli_sema_inputs_free(cli_sema_inputs* in);

/* --tasks seqrec,item2index,index2item,collab into *(uint32_t*)dest as VKR_GENCDR_TASK_* bits; seqrec, the
 * model's own task, must be listed; false after a usage error naming the option (a CLI_CUSTOM parser). */
bool cli_parse_tasks(const char* cmd, const char* option, const char* value, void* dest);
/* The options of cli_rec_args, declared once for `train` and `run`. */
extern const cli_option_group cli_rec_group;
/* Fills args with the job defaults (SASRec paper settings, test split, full + sampled:100 + sampled:999,
 * cut-offs 5 and 10, history kept). */
void cli_rec_args_init(cli_rec_args* args);
/* Moves the parsed choices, and the common seed and quiet, into args->job; sorts the cut-offs and
 * drops repeats, and sets every protocol's exclude_history. */
void cli_rec_args_apply(cli_rec_args* args, const cli_common* common);
/* The (user, position) pairs of the split job->split names, and their count in *count. */
const uint32_t* cli_rec_split_pairs(const vkr_dataset* ds, const cli_rec_job* job, uint32_t* count);
/* Prints the table header matching cli_stage_evaluate's rows (one HR and NDCG column per cut-off). */
void cli_rec_table_header(FILE* table, const cli_rec_job* job);

#endif
