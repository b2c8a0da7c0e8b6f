/* Buffer ranges: the one way kernels name the bytes they bind, check them, and align sub-ranges.
 *
 * Contract: a vkr_range is [offset, offset + size) of a vkr_buffer; size VKR_WHOLE_SIZE means "to
 * the end of the buffer", and size 0 is an empty range, never "whole". vkr_range_check accepts a
 * range only when it has a live buffer, lies inside it and holds at least the bytes a kernel needs,
 * and names the kernel and binding in its message otherwise. Scratch buffers carved into several
 * sub-ranges start each one at a multiple of VKR_STORAGE_ALIGN bytes, which satisfies every
 * device's minStorageBufferOffsetAlignment (Vulkan caps that limit at 256). */
#ifndef VKR_RANGE_H
#define VKR_RANGE_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_memory.h"

/* A range size meaning "from the offset to the end of the buffer". */
#define VKR_WHOLE_SIZE (~(VkDeviceSize)0)
/* Alignment, in bytes, of sub-ranges carved out of one buffer (the largest storage-offset
 * alignment Vulkan allows a device to require). */
#define VKR_STORAGE_ALIGN 256u
/* VKR_STORAGE_ALIGN in 4-byte words (floats, int32s). */
#define VKR_STORAGE_ALIGN_WORDS (VKR_STORAGE_ALIGN / 4u)

/* A range of a buffer bound to one kernel binding. */
typedef struct vkr_range {
    const vkr_buffer* buffer; /* the buffer */
    VkDeviceSize offset;      /* byte offset within the buffer */
    VkDeviceSize size;        /* bytes, or VKR_WHOLE_SIZE for the rest of the buffer */
} vkr_range;

/* The whole of `buffer`. */
vkr_range vkr_range_whole(const vkr_buffer* buffer);
/* Bytes the range covers (VKR_WHOLE_SIZE resolved; 0 when it has no buffer or starts past its end). */
VkDeviceSize vkr_range_bytes(vkr_range range);
/* Checks that `range` has a live buffer, lies within it and holds `need_bytes`; INVALID_ARGUMENT
 * naming `kernel` and `binding` otherwise. */
vkr_status vkr_range_check(vkr_range range, uint64_t need_bytes, const char* kernel, const char* binding);
/* vkr_range_check, then sets *out to exactly the `need_bytes` at the start of `range` (zeroed on entry). */
vkr_status vkr_range_take(vkr_range range, uint64_t need_bytes, const char* kernel, const char* binding,
                          vkr_range* out);
/* vkr_range_take for `count` 4-byte words (floats, int32s): the range trimmed to count * 4 bytes, so
 * barriers track only what a kernel touches. */
vkr_status vkr_range_take_words(vkr_range range, uint64_t count, const char* kernel, const char* binding,
                                vkr_range* out);
/* The sub-range of `count` 4-byte words starting `first` words into `range` (not checked). */
vkr_range vkr_range_words(vkr_range range, uint64_t first, uint64_t count);
/* True when both ranges have bytes of the same VkBuffer in common. */
bool vkr_ranges_overlap(const vkr_range* a, const vkr_range* b);
/* `value` rounded up to a multiple of `align` (> 0). Inline, so that code built without the runtime
 * library (the data fuzzers) can use it. */
static inline uint64_t vkr_align_up(uint64_t value, uint64_t align) { return (value + align - 1) / align * align; }
/* `count` 4-byte words (floats, int32s) rounded up to whole VKR_STORAGE_ALIGN_WORDS slots: where, in
 * words, the next sub-range of a scratch buffer starts. */
uint64_t vkr_storage_align_words(uint64_t count);

#endif
