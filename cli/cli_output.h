/* Where a command may write a file it was given (--json FILE, tsne --out, recommend --out): never
 * over one of its own inputs (compared by device and inode, so links and other spellings count), and
 * over an existing file only when it is "ours" (a file of the kind this option writes: JSON for
 * --json and .json outputs, an N x 2 float32 .npy for a map, a CSV with the same header line) or
 * --force is given. Checked before any work, so a long run is not lost at its end. */
#ifndef VKR_CLI_OUTPUT_H
#define VKR_CLI_OUTPUT_H
#include <stdbool.h>

#include "vkr_file.h"

/* What an output option writes (decides which existing files are "ours"). */
typedef enum cli_output_kind {
    CLI_OUTPUT_JSON, /* a JSON document */
    CLI_OUTPUT_MAP,  /* an N x 2 float32 .npy (t-SNE map) */
    CLI_OUTPUT_CSV,  /* a CSV file; `header` is its first line */
    CLI_OUTPUT_NPY,  /* a 2-D float32 .npy (item vectors) */
} cli_output_kind;

/* The dataset files a dataset directory stands for as an input (NULL-terminated). */
extern const char* const cli_dataset_files[];

/* CLI_OK when `cmd` may write `out` (option names it in messages): not one of the `input_count`
 * `inputs` (files, or directories standing for their cli_dataset_files; NULL entries skipped), and
 * absent, ours (kind; CSV: first line `header`) or forced; else a usage error naming both. */
int cli_output_check(const char* cmd, const char* option, const char* out, const char* const* inputs,
                     unsigned input_count, cli_output_kind kind, const char* header, bool force);

/* Creates `dir` when missing and locks it for this process (DIR/.vkrec.lock); STATE naming the other
 * vkrec's pid when one holds it. */
vkr_status cli_output_lock(const char* dir, vkr_lock* out_lock);
/* Locks `target` (a directory replaced as a whole, so the lock file TARGET.lock lies beside it) and
 * removes what a killed writer of target left beside it (TARGET.tmp-*, TARGET.old-*). */
vkr_status cli_output_lock_beside(const char* target, vkr_lock* out_lock);

#endif
