/* Length-bucketed SASRec training, so short histories do not pay for max_len positions.
 *
 * Contract: a batch whose longest row has n real positions runs on the graph of the smallest window
 * L >= n of a fixed ladder (8, 16, 32, ... below max_len, then max_len), holding each row's last L
 * positions (vkr_sasrec_config.window). Every bucket's executor shares the full window's parameters,
 * optimizer and step counter (vkr_exec_options.share), and its positions add the full window's last
 * L rows of pos_emb; with causal attention and padding keys masked, its loss and gradients equal the
 * full window's (dropout masks differ: they are drawn per element of the graph). Bucket graphs are
 * built on first use, so a run pays only for the lengths its data has. */
#ifndef VKR_SASREC_BUCKETS_H
#define VKR_SASREC_BUCKETS_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_exec.h"
#include "vkr_sasrec.h"

#define VKR_SASREC_MAX_BUCKETS 32 /* windows of the ladder at most (8 * 2^k passes any 32-bit max_len by then) */
#define VKR_SASREC_MIN_BUCKET 8   /* the shortest window */

/* Writes the host constants of a newly built bucket (the same as the full window's). */
typedef vkr_status (*vkr_sasrec_bucket_init)(void* user, vkr_exec* exec, const vkr_sasrec* graph);

/* One window of the ladder. */
typedef struct vkr_sasrec_bucket {
    uint32_t len;    /* positions per row */
    vkr_sasrec graph; /* its training graph (zeroed until built; the last bucket's is the caller's) */
    vkr_exec* exec;  /* its executor, sharing the full window's (NULL until built) */
} vkr_sasrec_bucket;

/* The ladder around the caller's full-window graph and executor. */
typedef struct vkr_sasrec_buckets {
    uint32_t count;                             /* windows, ascending; the last is max_len */
    vkr_sasrec_bucket bucket[VKR_SASREC_MAX_BUCKETS]; /* the windows */
    vkr_sasrec_config config;                   /* the full window's model */
    uint64_t seed;                              /* graph seed */
    vkr_device* device;                         /* backend (NULL: CPU) */
    vkr_sasrec_bucket_init init;                /* writes a new bucket's constants */
    void* init_user;                            /* its first argument */
} vkr_sasrec_buckets;

/* Sets up the ladder for config->max_len (on = false: the full window alone) around `full` and its
 * executor `exec` (both stay the caller's); out is zeroed on entry. */
vkr_status vkr_sasrec_buckets_init(const vkr_sasrec_config* config, uint64_t seed, vkr_device* device, bool on,
                                   vkr_sasrec* full, vkr_exec* exec, vkr_sasrec_bucket_init init, void* init_user,
                                   vkr_sasrec_buckets* out);
/* The bucket for a batch whose longest row has `n` real positions (n > max_len: the full window),
 * building its graph and executor on first use. */
vkr_status vkr_sasrec_buckets_pick(vkr_sasrec_buckets* buckets, uint32_t n, vkr_sasrec_bucket** out_bucket);
/* Frees the buckets built here (not the caller's full window) and zeroes the ladder. */
void vkr_sasrec_buckets_free(vkr_sasrec_buckets* buckets);

#endif
