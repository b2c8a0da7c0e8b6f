/* The main job's training curves: per trained model, RUN_DIR/curves/MODEL.png drawn headless by the
 * viewer's renderer (vkr_plot.h): mean sampled training loss (top) and validation HR@10 (bottom) per
 * epoch, one line per domain model and seed (a model trained once for every domain, as GenCDR, is one
 * line per seed), the best epoch ringed. The curves come from the result rows' "training"."curve"
 * (cli_stage_evaluate); a build without the viewer, or a plot that fails, leaves a note instead. */
#ifndef VKR_RUN_CURVES_H
#define VKR_RUN_CURVES_H
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "vkr_runtime.h"

#define RUN_CURVES_WIDTH 900  /* picture size in pixels */
#define RUN_CURVES_HEIGHT 600

/* Draws the curves of every model in results (rows with "seed" when seed_count > 1) under run_dir/curves,
 * adds {"MODEL": "curves/MODEL.png" or null} to json_out (may be NULL) and a "## Training curves"
 * section to md (may be NULL). */
vkr_status run_curves_write(const char* run_dir, const cJSON* results, uint32_t seed_count, cJSON* json_out,
                            FILE* md);

#endif
