/* The main job's data: prepare into RUN_DIR/data, or link a given dataset's files there (a run never
 * writes into its input), embed and tokenize there, and for every seed after the first its own view
 * of the dataset: a directory of links to the dataset and its item embedding, where that seed's
 * tokenizer writes its semantic IDs (GenCDR's item vocabulary is part of the model, so each seed
 * learns its own). The tokenizer of seed number k
 * (0 for the first) uses seed k, so one seed reproduces `vkrec run` without --seeds. */
#ifndef VKR_RUN_DATA_H
#define VKR_RUN_DATA_H
#include "cli_prepare.h"
#include "run_report.h"
#include "vkr_embed.h"

/* prepare into data_dir (prep NULL: link the dataset in `dataset` there instead), embed (from `source`) and,
 * when `tokenize` (GenCDR is among the models), tokenize it. */
vkr_status run_data_stages(vkr_device* device, cli_prep_args* prep, const char* dataset, const char* data_dir,
                           vkr_embed_source source, bool tokenize, uint32_t tokenizer_epochs, bool quiet,
                           run_state* stages);
/* Creates dir (if missing) and links the named files of from_dir into it by absolute paths (links already
 * there are replaced). */
vkr_status run_link_files(const char* from_dir, const char* dir, const char* const* names, size_t count);
/* Seed number k (>= 1): links data_dir's dataset and embedding into seed_dir (created; links already there
 * are replaced) and trains the tokenizer with seed k there. */
vkr_status run_seed_data(vkr_device* device, const char* data_dir, const char* seed_dir, uint32_t k,
                         uint32_t tokenizer_epochs, bool quiet, run_state* stages);

#endif
