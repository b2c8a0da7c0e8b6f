/* The main job's record: what each stage ran on and how long it took, and RUN_DIR/report.md (metrics
 * table, settings, data format and filters, seeds, training curves, maps section, timings and backend
 * per stage), written to report.md.tmp and then renamed so that a failed run never leaves half a
 * report. The table's metric columns are the rows' numeric hr*, ndcg* and mrr fields, in their order;
 * over several seeds each cell is mean ± sample standard deviation. */
#ifndef VKR_RUN_REPORT_H
#define VKR_RUN_REPORT_H
#include <cjson/cJSON.h>

#include "cli_rec.h"
#include "vkr_data.h"

#define RUN_MAX_STAGES 16 /* stages recorded */

/* One timed stage of the run. */
typedef struct run_stage {
    char name[48];       /* "embed", "sasrec-bce", ... */
    const char* backend; /* what it ran on: a device name, "cpu" (the CPU reference backend) or "host" */
    double seconds;      /* wall time */
} run_stage;

/* The stages so far. */
typedef struct run_state {
    run_stage stages[RUN_MAX_STAGES]; /* in order */
    uint32_t n;                       /* entries */
} run_state;

/* What the report shows. */
typedef struct run_report_in {
    const char* out;             /* RUN_DIR */
    const vkr_dataset* ds;       /* the dataset */
    const vkr_device_info* dev;  /* the device (NULL: the CPU backend) */
    const cli_rec_job* job;      /* the settings (seeds: the first one) */
    const run_state* stages;     /* timings and backends */
    const cJSON* results;        /* the result rows, every seed's */
    const cJSON* summary;        /* run_seeds_summary of results: the table when seed_count > 1 */
    uint32_t seed_count;         /* seeds trained: job's seed, seed + 1, ... */
    const char* source;          /* SRC as given */
    const char* id_view;         /* the item vectors the semantic IDs were learned from ("co-occurrence", ...) */
    const char* maps_md;         /* the maps section (may be NULL) */
    const char* curves_md;       /* the training-curves section (may be NULL) */
} run_report_in;

/* Records stage `name`, begun at t0 (vkr_now_s), on `backend` (a string that outlives r); a stage recorded
 * before (another seed) adds its time to the first record. */
void run_stage_done(run_state* r, const char* name, const char* backend, double t0);
/* Writes RUN_DIR/report.md; *out_not_above_pop (may be NULL) counts the result rows that are not above
 * popularity (run_seeds_vs_pop). */
vkr_status run_report_write(const run_report_in* in, uint32_t* out_not_above_pop);

#endif
