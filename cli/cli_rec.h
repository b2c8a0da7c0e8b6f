/* Training and evaluating recommenders from the command line: shared by `vkrec train` and `vkrec run`. */
#ifndef VKR_CLI_REC_H
#define VKR_CLI_REC_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "vkr_gencdr.h"
#include "vkr_rec.h"

#define CLI_MAX_PROTOCOLS 4

/* GenCDR's item vectors handed back to the main job for its maps (malloc'd, items x dim; ids NULL
 * when the model has no per-item embedding). */
typedef struct cli_gencdr_views {
    float* codes; /* sum of the item's semantic-ID code embeddings */
    float* ids;   /* the per-item embedding */
    float* fused; /* the encoder's input: codes + domain (+ item) embedding */
    uint32_t dim; /* columns */
} cli_gencdr_views;

/* What to train and how to evaluate it. */
typedef struct cli_rec_job {
    const char* model;               /* "pop", "sasrec" or "gencdr" */
    vkr_sasrec_train sasrec;         /* SASRec settings (domain is set per run) */
    vkr_gencdr_train gencdr;         /* GenCDR settings */
    const char* data_dir;            /* dataset directory (GenCDR reads semantic_ids.npy there) */
    const char* split;               /* "valid" or "test" */
    uint32_t protocol_count;         /* protocols to report */
    vkr_protocol protocols[CLI_MAX_PROTOCOLS]; /* each protocol */
    char protocol_names[CLI_MAX_PROTOCOLS][32]; /* their spellings */
    const char* ckpt_root;           /* checkpoint directory root (NULL: none) */
    const char* beams_json;          /* GenCDR: write the beams of some test users here for the viewer (NULL: no) */
    cli_gencdr_views* views_out;     /* GenCDR: receives the trained item vectors (NULL: not wanted) */
    bool protocols_given;            /* --protocol was on the command line */
    bool quiet;                      /* no progress */
} cli_rec_job;

/* Trains job.model for target `domain` and evaluates it; appends one JSON object per protocol to
 * `results` ({"model", "domain", "protocol", "split", "examples", "hr5", "hr10", "ndcg5", "ndcg10",
 * "mrr", "train_seconds", ...}) and prints one table row per protocol to `table` (may be NULL). */
vkr_status cli_rec_run(const vkr_dataset* ds, vkr_device* dev, const cli_rec_job* job, uint32_t domain, cJSON* results,
                       FILE* table);
/* Fills job with the defaults (SASRec paper settings, test split, full + sampled:100 + sampled:999). */
void cli_rec_job_defaults(cli_rec_job* job);
/* Parses one option shared by `train` and `run`; *consumed tells whether argv[*i] was one. */
int cli_rec_parse_option(const char* cmd, int argc, char** argv, int* i, cli_rec_job* job, bool* consumed);
/* Opens the GPU named by selector, or nothing for "cpu" (the CPU reference backend). */
vkr_status cli_open_backend(const char* selector, vkr_instance** inst, vkr_device** dev);
/* Trains one GenCDR model for every domain and evaluates it per target domain (rows and JSON as
 * cli_rec_run). Protocols the model cannot run are reported as skipped. */
vkr_status cli_rec_run_gencdr(const vkr_dataset* ds, vkr_device* dev, const cli_rec_job* job, cJSON* results,
                              FILE* table);
/* Prints the table header matching cli_rec_run's rows. */
void cli_rec_table_header(FILE* table);

#endif
