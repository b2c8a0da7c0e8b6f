/* Sequences: many dispatches and copies recorded once, submitted once, replayable.
 *
 * Contract: recording tracks, per buffer range, what earlier commands wrote and read since the last
 * barrier, and inserts a barrier only when a command reads or overwrites such a range (RAW, WAW,
 * WAR). Work is split into command buffers of at most max_dispatches_per_submit dispatches, each
 * its own submission, so no single submission can run long enough to trip a driver watchdog. The
 * first submit ends recording; the sequence can then be submitted again any number of times, e.g.
 * after new input was uploaded, with no re-recording. Push-constant values are fixed at record time;
 * per-step values belong in buffers. */
#ifndef VKR_SEQUENCE_H
#define VKR_SEQUENCE_H
#include <stdint.h>

#include "vkr_kernel.h"
#include "vkr_memory.h"
#include "vkr_range.h"

/* A recorded list of commands. */
typedef struct vkr_sequence vkr_sequence;

/* Creates an empty sequence in the recording state. */
vkr_status vkr_sequence_create(vkr_device* device, vkr_sequence** out_sequence);
/* Waits for any submission in flight and destroys the sequence. */
void vkr_sequence_destroy(vkr_sequence* sequence);
/* Records a dispatch of `kernel` over groups (x, y, z) with `n` bound ranges and push constants. */
vkr_status vkr_sequence_dispatch(vkr_sequence* sequence, vkr_kernel* kernel, const vkr_range* ranges,
                                 uint32_t n, const void* push, uint32_t push_bytes, uint32_t groups_x,
                                 uint32_t groups_y, uint32_t groups_z);
/* Gets the kernel for `desc` and records `groups` workgroups folded into a 2-D grid:
 * x = min(groups, maxComputeWorkGroupCount[0]), y = ceil(groups / x). Shaders recover the linear
 * group id as gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x and skip ids >= groups.
 * `ranges` has desc->binding_count entries and `push` desc->push_bytes bytes. */
vkr_status vkr_sequence_dispatch_grid(vkr_sequence* sequence, const vkr_kernel_desc* desc, const vkr_range* ranges,
                                      const void* push, uint64_t groups);
/* Records a buffer-to-buffer copy of `size` bytes. */
vkr_status vkr_sequence_copy(vkr_sequence* sequence, const vkr_buffer* src, VkDeviceSize src_offset,
                             const vkr_buffer* dst, VkDeviceSize dst_offset, VkDeviceSize size);
/* Records filling `size` bytes (a multiple of 4) at `offset` with a 32-bit pattern. */
vkr_status vkr_sequence_fill(vkr_sequence* sequence, const vkr_buffer* dst, VkDeviceSize offset,
                             VkDeviceSize size, uint32_t pattern);
/* Ends the current command buffer so later commands go to a new submission. */
vkr_status vkr_sequence_split(vkr_sequence* sequence);
/* Submits (ending recording on first use) and waits for completion. */
vkr_status vkr_sequence_submit(vkr_sequence* sequence);
/* Submits without waiting; pair with vkr_sequence_wait. */
vkr_status vkr_sequence_submit_async(vkr_sequence* sequence);
/* Waits for the submission in flight, if any (bounded by the device timeout). */
vkr_status vkr_sequence_wait(vkr_sequence* sequence);
/* Discards everything recorded and returns to the recording state. */
vkr_status vkr_sequence_reset(vkr_sequence* sequence);
/* The device the sequence records for. */
vkr_device* vkr_sequence_device(const vkr_sequence* sequence);
/* Dispatches recorded. */
uint32_t vkr_sequence_dispatch_count(const vkr_sequence* sequence);
/* Barriers inserted while recording. */
uint32_t vkr_sequence_barrier_count(const vkr_sequence* sequence);
/* Command buffers (submissions) the sequence was split into. */
uint32_t vkr_sequence_submission_count(const vkr_sequence* sequence);
/* Device time of the last completed submission in ms, when profiling (else -1). */
double vkr_sequence_last_device_ms(const vkr_sequence* sequence);

#endif
