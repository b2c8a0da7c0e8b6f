/* The main job's record: what each stage ran on and how long it took, and RUN_DIR/report.md (metrics
 * table, settings, maps section, timings and backend per stage), written to report.md.tmp and then
 * renamed so that a failed run never leaves half a report. */
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

/* Records stage `name`, begun at t0 (vkr_now_s), on `backend` (a string that outlives r). */
void run_stage_done(run_state* r, const char* name, const char* backend, double t0);
/* Writes RUN_DIR/report.md; dev is NULL for the CPU backend; maps_md (may be NULL) is the maps section. */
vkr_status run_report_write(const char* out, const vkr_dataset* ds, const vkr_device_info* dev, const cli_rec_job* job,
                            const run_state* r, const cJSON* results, const char* source, const char* maps_md);

#endif
