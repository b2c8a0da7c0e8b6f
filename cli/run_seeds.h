/* Training over several seeds (vkrec run and vkrec train --seeds): result rows tagged with their seed,
 * their summary per model, domain, protocol and split as mean and sample standard deviation (n - 1)
 * over the seeds, and the metrics table (markdown) of either. */
#ifndef VKR_RUN_SEEDS_H
#define VKR_RUN_SEEDS_H
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

/* One object per (model, domain, protocol, split) of results, in first-seen order: those four, "examples"
 * (the first row's), "seeds" (rows) and, for every other numeric field but "seed", {"mean", "std" (null
 * with one row), "values" (per row, in order)}. NULL when out of host memory. */
cJSON* run_seeds_summary(const cJSON* results);
/* Moves every row of `rows` to the end of results, tagged {"seed": seed}. */
void run_seeds_append(cJSON* results, cJSON* rows, uint64_t seed);
/* Writes the metrics table of result rows (a value per cell) or of summary groups (mean ± std per cell):
 * model, domain, protocol, examples and the rows' hr*, ndcg* and mrr fields, in their order. */
void run_seeds_table(FILE* f, const cJSON* rows);
/* Writes every trained model's largest-cutoff HR beside popularity's on the same domain, protocol and
 * split, as a ratio and a verdict (above, below, or within two standard errors of pop's); nothing when
 * the rows hold no pop row. Returns the rows that are not above popularity. */
uint32_t run_seeds_vs_pop(FILE* f, const cJSON* rows);

#endif
