/* The benchmark harness behind `vkrec bench`: warm-up, repeated timed runs, median/min/max, device
 * timestamps beside wall time, a CPU peer measured in the same run, and a stable JSON contract:
 *   {"vkrec": VERSION, "device": {"name","vendor","type","driver",...}, "results": [
 *     {"suite","name","params":{...},"unit","median","min","max","runs",
 *      "device_median" (optional), "peer": {"name","median"} | null, "ratio": number | null}]}
 * For time units ("s", "ms", "us") ratio = peer.median / median, otherwise median / peer.median, so
 * a ratio above 1 always means vkrec is ahead. Peers run at their best: the thread count that serves
 * them best, measured alone before vkrec's row ("standalone", what the ratio uses) and again after it
 * ("in_run"); a peer more than 15% below its standalone figure is flagged ("peer_flag"). */
#ifndef VKR_BENCH_H
#define VKR_BENCH_H
#include <cjson/cJSON.h>
#include <stdbool.h>

#include "vkr_exec.h"
#include "vkr_runtime.h"
#include "vkr_sasrec.h"

#define VKR_BENCH_MAX_SIZES 8 /* most --sizes values */

/* State shared by all suites of one `vkrec bench` run. */
typedef struct vkr_bench {
    vkr_device* dev;   /* the Vulkan device under test */
    unsigned runs;     /* timed repetitions per measurement */
    unsigned warmup;   /* untimed repetitions first */
    bool quiet;        /* no table on stdout */
    cJSON* results;    /* JSON array collecting results */
    uint32_t sizes[VKR_BENCH_MAX_SIZES]; /* --sizes: problem sizes for suites that take them (tsne) */
    uint32_t size_count; /* entries of sizes; 0: each suite's own */
    uint32_t ranks[VKR_BENCH_MAX_SIZES]; /* --ranks: train measures data-parallel launches of these sizes */
    uint32_t rank_count; /* entries of ranks; 0: the single-process train suite */
    const char* device_selector; /* --device as given (the launches open the same device) */
} vkr_bench;

/* One timed body: does the work once; may report the device time it measured in seconds (or < 0). */
typedef vkr_status (*vkr_bench_fn)(void* user, double* out_device_s);

/* Summary of repeated measurements, already converted to the result's unit. */
typedef struct vkr_bench_stats {
    double median; /* median value */
    double min;    /* smallest value */
    double max;    /* largest value */
    unsigned runs; /* number of samples */
} vkr_bench_stats;

/* How a time in seconds becomes the reported value. */
typedef struct vkr_bench_unit {
    const char* name; /* "us", "ms", "s", "GB/s", "GFLOP/s", "items/s", ... */
    double work;      /* for rates: units of work per run (bytes/1e9, flops/1e9, items); for times:
                         divisor, e.g. dispatches per run for "us per dispatch" */
} vkr_bench_unit;

/* Runs `fn` warmup + runs times; fills wall and (when every run reported one) device statistics. */
vkr_status vkr_bench_measure(const vkr_bench* b, vkr_bench_fn fn, void* user, vkr_bench_unit unit,
                             vkr_bench_stats* out_wall, vkr_bench_stats* out_device, bool* out_has_device);
/* Submits `seq` once and reports its device time in seconds (or -1 without timestamps): the body of
 * every suite that times a recorded sequence. */
vkr_status vkr_bench_submit(vkr_sequence* seq, double* out_device_s);
/* Records one result (params is adopted by the JSON tree; peer may be NULL) and prints its row. */
void vkr_bench_report(vkr_bench* b, const char* suite, const char* name, cJSON* params, vkr_bench_unit unit,
                      const vkr_bench_stats* wall, const vkr_bench_stats* device, const char* peer_name,
                      const vkr_bench_stats* peer);
/* A peer at its best and as measured again in the run. */
typedef struct vkr_bench_peer_check {
    double standalone; /* alone before vkrec's row, at its best thread count (what the ratio uses) */
    double in_run;     /* the same peer measured again after vkrec's row (0: not measured) */
    int threads;       /* that thread count */
} vkr_bench_peer_check;

/* The thread counts a peer is tried at, to find its best: start at 1, then 2, 4, ... and the core
 * count; 0 after the last. */
int vkr_bench_next_threads(int threads);
/* Adds the peer's standalone figure, thread count and in-run figure to the last result, and flags it
 * ("peer_flag": true and a printed warning) when the in-run figure is more than 15% below the
 * standalone one: a loaded machine was handicapping the peer. */
void vkr_bench_peer_note(vkr_bench* b, const vkr_bench_peer_check* check);
/* True for time units, where smaller is better. */
bool vkr_bench_unit_is_time(const char* unit);

/* The bench's SASRec training step (bench train, bench dp): the model, its Adam executor and one
 * fixed batch. */
typedef struct bench_sasrec_step {
    vkr_sasrec m;  /* the training graph */
    vkr_exec* ex;  /* its executor */
} bench_sasrec_step;
/* The bench's SASRec sizes (2 blocks, hidden 64, 1 head, length 50, 10,000 items) with `batch` rows. */
vkr_sasrec_config bench_sasrec_config(vkr_sasrec_loss loss, uint32_t batch);
/* Builds the step on dev (NULL: the CPU backend) with a batch from random stream `stream`; *out is
 * zeroed on entry and on failure. */
vkr_status bench_sasrec_open(vkr_device* dev, const vkr_sasrec_config* c, uint64_t stream, bench_sasrec_step* out);
/* Frees the step and zeroes it. */
void bench_sasrec_close(bench_sasrec_step* step);
/* One training step, as a vkr_bench_fn (user: the bench_sasrec_step). */
vkr_status bench_sasrec_run(void* user, double* out_device_s);

/* Suites (bench_runtime.c and later files). */
vkr_status vkr_bench_suite_dispatch(vkr_bench* b);
vkr_status vkr_bench_suite_copy(vkr_bench* b);
vkr_status vkr_bench_suite_train(vkr_bench* b);
vkr_status vkr_bench_suite_peak(vkr_bench* b);   /* bench_matmul.c */
vkr_status vkr_bench_suite_matmul(vkr_bench* b); /* bench_matmul.c */
vkr_status vkr_bench_suite_data(vkr_bench* b);   /* bench_data.c */
vkr_status vkr_bench_suite_embed(vkr_bench* b);  /* bench_data.c */
vkr_status vkr_bench_suite_optim(vkr_bench* b);  /* bench_optim.c */
vkr_status vkr_bench_suite_tsne(vkr_bench* b);   /* bench_tsne.c */
vkr_status vkr_bench_suite_quantize(vkr_bench* b); /* bench_quantize.c */
vkr_status vkr_bench_suite_beam(vkr_bench* b);   /* bench_beam.c */
vkr_status vkr_bench_suite_spmm(vkr_bench* b);   /* bench_spmm.c */
vkr_status vkr_bench_suite_ew(vkr_bench* b);     /* bench_ew.c */
vkr_status vkr_bench_suite_dp(vkr_bench* b);     /* bench_scaling.c: inside each rank of an MPI launch */
/* bench train --ranks: one `mpirun -np R vkrec bench dp` launch per rank count, beside 1 rank. */
vkr_status vkr_bench_train_ranks(vkr_bench* b);

#endif
