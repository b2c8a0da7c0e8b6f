/* The training loop every recommender shares: per-epoch shuffling, steps, progress, validation,
 * early stopping, best-parameter keeping, and checkpoints that resume exactly.
 *
 * Contract: a model exposes hooks. The loop shuffles `units` (users) with a stream that depends only
 * on (seed, epoch), gives each step a random stream that depends only on (seed, epoch, step), and
 * saves after every epoch, so stopping after any epoch and resuming with the same settings replays
 * exactly what the uninterrupted run does. With unit_len, each epoch's shuffled order is cut into
 * chunks of VKR_FIT_GROUP_STEPS steps, each chunk sorted by length (ties in shuffled order), and the
 * whole steps shuffled again with the same stream (a short last step stays last, unsorted): batches
 * of similar lengths (length-bucketed models run them on shorter graphs) in an order still random.
 * Parameters are moved between executors by name. The report
 * keeps one entry per epoch (training curves); checkpoints carry it, so a resumed run's history holds
 * the epochs before the stop too (NaN where a checkpoint written without it was resumed).
 *
 * Data-parallel (several vkr_dist ranks): every rank runs this loop with the same settings; each
 * step's batch is split between them, the gradients are summed (weighted by each share's loss terms)
 * before the identical update, and validation is sharded by user. Rank 0 alone prints and writes
 * checkpoints; all ranks read them when resuming, so the checkpoint directory must be shared. A
 * checkpoint does not depend on the number of ranks. */
#ifndef VKR_FIT_H
#define VKR_FIT_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_exec.h"

/* One training step of one rank: its share of the step's batch, and what the model reports back. */
typedef struct vkr_fit_step {
    const uint32_t* units; /* this rank's units */
    uint32_t n;            /* how many (>= 1) */
    uint32_t row0;         /* position of units[0] in the step's whole batch (streams drawn per row) */
    uint64_t rng;          /* the step's random stream, the same on every rank */
    bool want_loss;        /* read the loss back into `loss` */
    float loss;            /* out: the loss of these units (when want_loss) */
    double weight;         /* out, set before the executor runs: the terms the loss averages (ranks'
                              gradients and losses are combined in proportion to it) */
    double shown_terms;    /* out (0: `loss` is shown as it is): where the loss divides by a nominal count
                              of terms, that count; the progress line and the epoch's mean show
                              loss * shown_terms / shown_count, summed over ranks first */
    double shown_count;    /* out: the terms the loss really holds (e.g. labelled positions) */
} vkr_fit_step;

/* The model side of the loop. */
typedef struct vkr_fit_model {
    void* self;       /* the model */
    uint32_t units;   /* training units (e.g. users) */
    uint32_t batch;   /* units per step on one rank: the step's whole batch is batch x ranks */
    /* One training step on step->units. */
    vkr_status (*step)(void* self, vkr_fit_step* step);
    /* Validation HR@10 of the current parameters (the model moves them into its scorer). */
    vkr_status (*validate)(void* self, double* hr10);
    vkr_exec* train_exec;   /* executor being trained (checkpoints of the training state) */
    vkr_exec* score_exec;   /* executor that scores (receives the best parameters) */
    vkr_graph* score_graph; /* its graph */
    const uint32_t* unit_len; /* per unit, a length to group batches by (NULL: no grouping): see vkr_fit */
} vkr_fit_model;

#define VKR_FIT_GROUP_STEPS 50 /* steps per chunk sorted by length (vkr_fit_model.unit_len) */
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

/* Data-parallel training (vkr_dist): each of the world's ranks takes an equal share of every step's
 * `global` units; out_local receives that share, or INVALID_ARGUMENT names a batch the ranks do not
 * divide. A world of one keeps the whole batch. */
vkr_status vkr_fit_rank_batch(uint32_t global, const char* model, uint32_t* out_local);
/* Runs the loop; at the end score_exec holds the best parameters. out_report is zeroed on entry and owns
 * its history even when the loop fails. */
vkr_status vkr_fit(const vkr_fit_model* model, const vkr_fit_options* options, vkr_fit_report* out_report);
/* Frees the report's history and zeroes it (NULL or a zeroed report: no-op). */
void vkr_fit_report_free(vkr_fit_report* report);

#endif
