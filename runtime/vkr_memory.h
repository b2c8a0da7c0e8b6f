/* Buffers sub-allocated from large device-memory blocks, and batched host transfers.
 *
 * Contract: a vkr_buffer is a range [offset, offset+size) of one VkBuffer that spans a whole block;
 * offsets honour minStorageBufferOffsetAlignment. Drivers cap allocations (often 4096), so buffers
 * never get their own VkDeviceMemory unless they are larger than a block. Uploads and downloads are
 * synchronous: they complete before returning, and the caller must not have work in flight on the
 * buffers involved. Device buffers are written directly through a mapping when the device offers
 * host-visible device-local memory (lavapipe, integrated GPUs, ReBAR); otherwise through a staging
 * buffer, with all copies of a batch in one submission. */
#ifndef VKR_MEMORY_H
#define VKR_MEMORY_H
#include <stdint.h>

#include "vkr_device.h"

/* Where a buffer lives. */
typedef enum vkr_memory_kind {
    VKR_MEMORY_DEVICE = 0, /* device-local; host-mapped too when the device allows it */
    VKR_MEMORY_UPLOAD,     /* host-visible, for data the host writes and the device reads */
    VKR_MEMORY_READBACK,   /* host-visible and cached where possible, for reading results */
    VKR_MEMORY_KIND_COUNT
} vkr_memory_kind;

/* A sub-allocated buffer range. Plain value: copy it freely, destroy it once. */
typedef struct vkr_buffer {
    VkBuffer vk;           /* VkBuffer covering the whole block */
    VkDeviceSize offset;   /* start of this buffer within `vk` */
    VkDeviceSize size;     /* usable bytes */
    void* host;            /* host pointer to the first byte when mapped, else NULL */
    uint32_t block;        /* owning block (internal) */
    vkr_memory_kind kind;  /* memory kind requested */
} vkr_buffer;

/* Allocates `size` bytes (> 0) of `kind` memory; out_buffer is zeroed on entry. */
vkr_status vkr_buffer_create(vkr_device* device, VkDeviceSize size, vkr_memory_kind kind,
                             vkr_buffer* out_buffer);
/* Frees a buffer (no-op for a zeroed one) and zeroes it. */
void vkr_buffer_destroy(vkr_device* device, vkr_buffer* buffer);

/* Copies `size` bytes from host memory into `dst` at `offset`. */
vkr_status vkr_buffer_upload(vkr_device* device, const vkr_buffer* dst, VkDeviceSize offset,
                             const void* src, VkDeviceSize size);
/* Copies `size` bytes from `src` at `offset` into host memory. */
vkr_status vkr_buffer_download(vkr_device* device, const vkr_buffer* src, VkDeviceSize offset,
                               void* dst, VkDeviceSize size);

/* A batch of uploads and downloads executed together. */
typedef struct vkr_transfer vkr_transfer;

/* Starts a batch. */
vkr_status vkr_transfer_begin(vkr_device* device, vkr_transfer** out_transfer);
/* Queues an upload; `src` must stay valid until vkr_transfer_submit returns. */
vkr_status vkr_transfer_upload(vkr_transfer* transfer, const vkr_buffer* dst, VkDeviceSize offset,
                               const void* src, VkDeviceSize size);
/* Queues a download; `dst` is filled when vkr_transfer_submit returns. */
vkr_status vkr_transfer_download(vkr_transfer* transfer, const vkr_buffer* src,
                                 VkDeviceSize offset, void* dst, VkDeviceSize size);
/* Executes every queued copy (uploads first, then downloads), waits, and frees the batch. */
vkr_status vkr_transfer_submit(vkr_transfer* transfer);
/* Frees a batch without executing it. */
void vkr_transfer_abort(vkr_transfer* transfer);

#endif
