/* Data-parallel process groups over MPI (Open MPI where the build found it, VKR_HAVE_MPI).
 *
 * Contract: one world per process, set up by vkr_dist_init before any other call and ended by
 * vkr_dist_finalize. A process started without an MPI launcher, or a build without MPI, is a world
 * of one rank in which every collective is the identity, so callers never branch on MPI's presence.
 * Collectives block and every rank must call them in the same order: vkrec's training loop and
 * evaluation do, because every rank runs the same deterministic schedule. Every rank receives the
 * same sums (Open MPI reduces each element once, or in commutative pairs), so ranks that start from
 * the same parameters and apply the same update stay bitwise equal. */
#ifndef VKR_DIST_H
#define VKR_DIST_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_status.h"

/* Joins the world when an MPI launcher started this process (a world of one otherwise). */
vkr_status vkr_dist_init(int* argc, char*** argv);
/* Leaves the world (no-op in a world of one). */
void vkr_dist_finalize(void);
/* True when the build has MPI (a launcher can then make a world of several ranks). */
bool vkr_dist_built(void);
/* This process's rank, 0 .. size-1. */
uint32_t vkr_dist_rank(void);
/* Ranks in the world (1 without a launcher). */
uint32_t vkr_dist_size(void);
/* Rank among the processes of this node (picks the node's device). */
uint32_t vkr_dist_local_rank(void);
/* Sums `count` floats over every rank, in place. */
vkr_status vkr_dist_sum_f32(float* data, uint64_t count);
/* Sums `count` doubles over every rank, in place. */
vkr_status vkr_dist_sum_f64(double* data, uint64_t count);
/* Sums `count` 64-bit counts over every rank, in place. */
vkr_status vkr_dist_sum_u64(uint64_t* data, uint64_t count);
/* Bytes this process has all-reduced so far (scaling reports). */
uint64_t vkr_dist_bytes(void);
/* Ends every rank of the world after printing `message` with this rank's number on stderr: a rank
 * that fails would otherwise leave the others waiting in a collective. Returns only in a world of one. */
void vkr_dist_abort(const char* message);

#endif
