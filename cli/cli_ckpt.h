/* What a checkpoint was trained on, checked before it is used: the dataset's fingerprint (item count
 * and a hash of data.bin; GenCDR also a hash of semantic_ids.npy) and the settings that shape the
 * model and its training, stored in every checkpoint's metadata by `vkrec train` and `vkrec run`.
 * `train --resume` refuses a missing last checkpoint and any setting that differs; `recommend`
 * refuses a dataset (or semantic IDs) other than the checkpoint's. Checkpoints without the digest
 * (vkr_safetensors.h) or without these records (written by an older vkrec) are refused: what they
 * were trained on cannot be checked. */
#ifndef VKR_CLI_CKPT_H
#define VKR_CLI_CKPT_H
#include <stddef.h>

#include "vkr_data.h"

/* The metadata key of the dataset fingerprint. */
#define CLI_CKPT_DATASET "vkrec.dataset"
/* The metadata key of GenCDR's semantic-ID fingerprint. */
#define CLI_CKPT_SEMANTIC_IDS "vkrec.semantic_ids"
/* The metadata key of the dataset path (informative: a dataset may move, its fingerprint may not change). */
#define CLI_CKPT_DATA_PATH "vkrec.data"

/* Writes ds's fingerprint ("N items, data.bin fnv1a64:HEX") into out (cap bytes). */
void cli_ckpt_dataset_fingerprint(const vkr_dataset* ds, char* out, size_t cap);
/* Writes the fingerprint of DIR/semantic_ids.npy ("fnv1a64:HEX") into out; IO naming the file. */
vkr_status cli_ckpt_ids_fingerprint(const char* dir, char* out, size_t cap);
/* Checks ckpt_dir/last.safetensors before `train --resume`: it exists, and every entry of `metadata`
 * (key, value, ..., NULL: what this run would write) but the dataset path equals the checkpoint's;
 * errors name the checkpoint, the setting and both values. */
vkr_status cli_ckpt_check_resume(const char* ckpt_dir, const char* const* metadata);
/* Checks that the dataset ds in data_dir (and, when generative, DIR/semantic_ids.npy) matches the
 * fingerprints `dataset_fp` and `ids_fp` read from checkpoint `path` (NULL or "": not recorded, FORMAT). */
vkr_status cli_ckpt_check_data(const char* path, const char* dataset_fp, const char* ids_fp, const vkr_dataset* ds,
                               const char* data_dir, bool generative);
/* Creates root and dir (one model's checkpoint directory under it) and removes the temporaries a
 * killed writer left in dir. */
vkr_status cli_ckpt_dir_make(const char* root, const char* dir);
/* FORMAT when the checkpoint `path` has no digest: vkrec before the digest wrote it, or a damaged header
 * lost it; either way its content cannot be verified, so it is refused. */
vkr_status cli_ckpt_require_digest(const char* path, bool has_digest);

#endif
