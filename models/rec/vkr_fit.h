/* The training loop every recommender shares: per-epoch shuffling, steps, progress, validation,
 * early stopping, best-parameter keeping, and checkpoints that resume exactly.
 *
 * Contract: a model exposes hooks. The loop shuffles `units` (users) with a stream that depends only
 * on (seed, epoch), gives each step a random stream that depends only on (seed, epoch, step), and
 * saves after every epoch, so stopping after any epoch and resuming with the same settings replays
 * exactly what the uninterrupted run does. Parameters are moved between executors by name. The report
 * keeps one entry per epoch (training curves); checkpoints carry it, so a resumed run's history holds
 * the epochs before the stop too (NaN where a checkpoint written without it was resumed). */
#ifndef VKR_FIT_H
#define VKR_FIT_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_exec.h"

/* The model side of the loop. */
typedef struct vkr_fit_model {
    void* self;       /* the model */
    uint32_t units;   /* training units (e.g. users) */
    uint32_t batch;   /* units per step */
    /* One training step on units[0..n); when want_loss, *loss receives the step's loss. */
    vkr_status (*step)(void* self, const uint32_t* units, uint32_t n, uint64_t rng, bool want_loss, float* loss);
    /* Validation HR@10 of the current parameters (the model moves them into its scorer). */
    vkr_status (*validate)(void* self, double* hr10);
    vkr_exec* train_exec;   /* executor being trained (checkpoints of the training state) */
    vkr_exec* score_exec;   /* executor that scores (receives the best parameters) */
    vkr_graph* score_graph; /* its graph */
} vkr_fit_model;

#define VKR_FIT_MAX_METADATA 64 /* most metadata entries (keys + values) a model passes */

/* Loop settings. */
typedef struct vkr_fit_options {
    uint32_t epochs;      /* most epochs */
    uint32_t patience;    /* stop after this many epochs without a better validation HR@10 (0: never) */
    uint64_t seed;        /* shuffling and per-step streams */
    const char* ckpt_dir; /* best.safetensors and last.safetensors go here (NULL: nowhere) */
    bool resume;          /* continue from ckpt_dir/last.safetensors (NOT_FOUND when it is missing) */
    bool quiet;           /* no progress output */
    const char* const* metadata; /* key, value, ..., NULL: describes the model in both checkpoints (may be NULL) */
} vkr_fit_options;

/* One epoch of the loop. */
typedef struct vkr_fit_epoch {
    float loss;        /* mean sampled training loss (NaN: unknown, resumed from a checkpoint without history) */
    double valid_hr10; /* validation HR@10 after the epoch (NaN: unknown, as loss) */
} vkr_fit_epoch;

/* What the loop measured. */
typedef struct vkr_fit_report {
    uint32_t epochs_run;    /* epochs completed (including resumed ones) */
    uint32_t best_epoch;    /* 1-based epoch of the best validation HR@10 */
    double best_hr10;       /* that HR@10 */
    double seconds;         /* wall time of the loop in this process */
    double units_per_s;     /* training units per second */
    float last_loss;        /* mean sampled loss of the last epoch */
    vkr_fit_epoch* history; /* [epochs_run] epoch by epoch, resumed ones included (owned: vkr_fit_report_free) */
} vkr_fit_report;

/* Runs the loop; at the end score_exec holds the best parameters. out_report is zeroed on entry and owns
 * its history even when the loop fails. */
vkr_status vkr_fit(const vkr_fit_model* model, const vkr_fit_options* options, vkr_fit_report* out_report);
/* Frees the report's history and zeroes it (NULL or a zeroed report: no-op). */
void vkr_fit_report_free(vkr_fit_report* report);

#endif
