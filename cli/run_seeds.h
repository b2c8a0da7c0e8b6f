/* The main job over several seeds: the summary of its result rows, per model, domain, protocol and
 * split, as mean and sample standard deviation (n - 1) over the seeds. */
#ifndef VKR_RUN_SEEDS_H
#define VKR_RUN_SEEDS_H
#include <cjson/cJSON.h>

/* One object per (model, domain, protocol, split) of results, in first-seen order: those four, "examples"
 * (the first row's), "seeds" (rows) and, for every other numeric field but "seed", {"mean", "std" (null
 * with one row), "values" (per row, in order)}. NULL when out of host memory. */
cJSON* run_seeds_summary(const cJSON* results);

#endif
