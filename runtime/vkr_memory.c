#include <stdlib.h>
#include <string.h>

#include "vkr_internal.h"

#define VKR_DEFAULT_BLOCK (64ull << 20)
#define VKR_STAGING_BYTES (32ull << 20)

static const VkBufferUsageFlags vkr_usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_DST_BIT;

static VkDeviceSize vkr_alignment(const vkr_device* dev) {
    VkDeviceSize a = dev->info.min_storage_offset_alignment;
    return a > 64 ? a : 64;
}

/* Best memory type among `allowed` bits: must have all `required` flags; each `preferred` flag
 * adds a point, each `avoided` flag removes one. Returns -1 when none qualifies. */
static int vkr_pick_type(const VkPhysicalDeviceMemoryProperties* mp, uint32_t allowed, VkMemoryPropertyFlags required,
                         VkMemoryPropertyFlags preferred, VkMemoryPropertyFlags avoided) {
    int best = -1, best_score = -100;
    for (uint32_t t = 0; t < mp->memoryTypeCount; t++) {
        if (!(allowed & (1u << t))) continue;
        VkMemoryPropertyFlags f = mp->memoryTypes[t].propertyFlags;
        if ((f & required) != required) continue;
        int score = __builtin_popcount(f & preferred) - __builtin_popcount(f & avoided);
        if (score > best_score) best = (int)t, best_score = score;
    }
    return best;
}

vkr_status vkr_memory_init(vkr_device* dev, VkDeviceSize block_size, bool no_direct_map) {
    /* memoryTypeBits are the same for all buffers of one usage; probe with a small buffer. */
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 256, .usage = vkr_usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer probe;
    VKR_CHECK_VK(vkCreateBuffer(dev->vk, &bci, NULL, &probe), "vkCreateBuffer (probe)");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev->vk, probe, &req);
    vkDestroyBuffer(dev->vk, probe, NULL);

    const VkPhysicalDeviceMemoryProperties* mp = &dev->memory_properties;
    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

    /* Device memory is mapped directly when the mappable device-local heap is as large as the
     * largest device-local heap: always on UMA and CPU drivers, and on discrete GPUs with full
     * ReBAR, but not through a small 256 MiB BAR window. */
    VkDeviceSize largest_local = 0;
    for (uint32_t h = 0; h < mp->memoryHeapCount; h++)
        if ((mp->memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mp->memoryHeaps[h].size > largest_local)
            largest_local = mp->memoryHeaps[h].size;
    int mapped_local = vkr_pick_type(mp, req.memoryTypeBits, local | hv, 0, 0);
    bool direct = mapped_local >= 0 && mp->memoryHeaps[mp->memoryTypes[mapped_local].heapIndex].size >= largest_local;
    if (direct && !no_direct_map) {
        dev->memory_type[VKR_MEMORY_DEVICE] = mapped_local;
        dev->kind_mapped[VKR_MEMORY_DEVICE] = true;
    } else {
        dev->memory_type[VKR_MEMORY_DEVICE] = vkr_pick_type(mp, req.memoryTypeBits, 0, local, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
        dev->kind_mapped[VKR_MEMORY_DEVICE] = false;
    }
    dev->memory_type[VKR_MEMORY_UPLOAD] = vkr_pick_type(mp, req.memoryTypeBits, hv, 0, local);
    dev->memory_type[VKR_MEMORY_READBACK] = vkr_pick_type(mp, req.memoryTypeBits, hv, VK_MEMORY_PROPERTY_HOST_CACHED_BIT, local);
    dev->kind_mapped[VKR_MEMORY_UPLOAD] = dev->kind_mapped[VKR_MEMORY_READBACK] = true;
    for (int k = 0; k < VKR_MEMORY_KIND_COUNT; k++)
        if (dev->memory_type[k] < 0)
            return vkr_fail(VKR_ERR_UNSUPPORTED, "device %s has no suitable memory type for %s buffers", dev->info.name,
                            k == VKR_MEMORY_DEVICE ? "device" : "host-visible");
    dev->block_size = block_size ? block_size : VKR_DEFAULT_BLOCK;
    return VKR_OK;
}

static void vkr_block_free(vkr_device* dev, vkr_block* b) {
    if (b->buffer) vkDestroyBuffer(dev->vk, b->buffer, NULL);
    if (b->memory) vkFreeMemory(dev->vk, b->memory, NULL);
    free(b->free);
    memset(b, 0, sizeof *b);
}

void vkr_memory_release_all(vkr_device* dev) {
    vkr_buffer_destroy(dev, &dev->staging);
    vkr_buffer_destroy(dev, &dev->staging_read);
    for (uint32_t i = 0; i < dev->block_count; i++) vkr_block_free(dev, &dev->blocks[i]);
    free(dev->blocks);
    dev->blocks = NULL;
    dev->block_count = dev->block_cap = 0;
}

static vkr_status vkr_block_create(vkr_device* dev, vkr_memory_kind kind, VkDeviceSize size, bool dedicated,
                                   uint32_t* out_index) {
    uint32_t type = (uint32_t)dev->memory_type[kind];
    uint32_t heap = dev->memory_properties.memoryTypes[type].heapIndex;
    VkDeviceSize heap_size = dev->memory_properties.memoryHeaps[heap].size;
    const char* what = kind == VKR_MEMORY_DEVICE ? "device" : "host-visible";
    if (size > heap_size)
        return vkr_fail(VKR_ERR_OUT_OF_DEVICE_MEMORY,
                        "asked for %.1f MiB of %s memory, but its heap %u holds only %.1f MiB in all",
                        (double)size / 1048576.0, what, heap, (double)heap_size / 1048576.0);
    if (size > dev->info.max_allocation_size)
        return vkr_fail(VKR_ERR_OUT_OF_DEVICE_MEMORY,
                        "asked for %.1f MiB of %s memory in one buffer, above the device's "
                        "maxMemoryAllocationSize of %.1f MiB",
                        (double)size / 1048576.0, what, (double)dev->info.max_allocation_size / 1048576.0);
    uint32_t slot = dev->block_count;
    for (uint32_t i = 0; i < dev->block_count; i++)
        if (!dev->blocks[i].memory) {
            slot = i;
            break;
        }
    if (slot == dev->block_count) {
        VKR_TRY(vkr_grow((void**)&dev->blocks, &dev->block_cap, dev->block_count + 1, sizeof *dev->blocks));
        dev->block_count++;
    }
    vkr_block* b = &dev->blocks[slot];
    memset(b, 0, sizeof *b);
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = vkr_usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vkCreateBuffer(dev->vk, &bci, NULL, &b->buffer);
    VkMemoryRequirements req = {0};
    if (r == VK_SUCCESS) {
        vkGetBufferMemoryRequirements(dev->vk, b->buffer, &req);
        VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                   .memoryTypeIndex = type};
        r = vkAllocateMemory(dev->vk, &ai, NULL, &b->memory);
    }
    if (r == VK_SUCCESS) r = vkBindBufferMemory(dev->vk, b->buffer, b->memory, 0);
    if (r == VK_SUCCESS && dev->kind_mapped[kind]) r = vkMapMemory(dev->vk, b->memory, 0, VK_WHOLE_SIZE, 0, &b->host);
    if (r != VK_SUCCESS) {
        vkr_block_free(dev, b);
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return vkr_fail(VKR_ERR_OUT_OF_DEVICE_MEMORY,
                            "the driver could not allocate %.1f MiB of %s memory (%s); heap %u holds %.1f MiB, of "
                            "which vkrec already uses %.1f MiB",
                            (double)size / 1048576.0, what, vkr_vk_result_name(r), heap, (double)heap_size / 1048576.0,
                            (double)dev->buffer_bytes / 1048576.0);
        return vkr_fail(vkr_status_from_vk(r), "allocating a %.1f MiB memory block failed: %s",
                        (double)size / 1048576.0, vkr_vk_result_name(r));
    }
    b->size = size;
    b->kind = kind;
    b->memory_type = type;
    b->dedicated = dedicated;
    vkr_status s = vkr_grow((void**)&b->free, &b->free_cap, 1, sizeof *b->free);
    if (s != VKR_OK) {
        vkr_block_free(dev, b);
        return s;
    }
    b->free[0] = (vkr_free_range){0, size};
    b->free_count = 1;
    *out_index = slot;
    return VKR_OK;
}

/* First fit inside one block; returns true and the offset when it fits. */
static bool vkr_block_take(vkr_block* b, VkDeviceSize size, VkDeviceSize* out_offset) {
    for (uint32_t i = 0; i < b->free_count; i++) {
        vkr_free_range* f = &b->free[i];
        if (f->size < size) continue;
        *out_offset = f->offset;
        f->offset += size;
        f->size -= size;
        if (f->size == 0) {
            memmove(f, f + 1, (b->free_count - i - 1) * sizeof *f);
            b->free_count--;
        }
        return true;
    }
    return false;
}

/* Returns [offset, offset+size) to the block's free list, merging with neighbours. */
static vkr_status vkr_block_give(vkr_block* b, VkDeviceSize offset, VkDeviceSize size) {
    uint32_t i = 0;
    while (i < b->free_count && b->free[i].offset < offset) i++;
    bool merge_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == offset;
    bool merge_next = i < b->free_count && offset + size == b->free[i].offset;
    if (merge_prev && merge_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->free_count - i - 1) * sizeof *b->free);
        b->free_count--;
    } else if (merge_prev) {
        b->free[i - 1].size += size;
    } else if (merge_next) {
        b->free[i].offset = offset;
        b->free[i].size += size;
    } else {
        VKR_TRY(vkr_grow((void**)&b->free, &b->free_cap, b->free_count + 1, sizeof *b->free));
        memmove(&b->free[i + 1], &b->free[i], (b->free_count - i) * sizeof *b->free);
        b->free[i] = (vkr_free_range){offset, size};
        b->free_count++;
    }
    return VKR_OK;
}

vkr_status vkr_buffer_create(vkr_device* dev, VkDeviceSize size, vkr_memory_kind kind, vkr_buffer* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_buffer_create: out_buffer is NULL");
    memset(out, 0, sizeof *out);
    if (!dev) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_buffer_create: device is NULL");
    if (size == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_buffer_create: size must be positive");
    if ((unsigned)kind >= VKR_MEMORY_KIND_COUNT)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_buffer_create: unknown memory kind %d", (int)kind);
    VkDeviceSize align = vkr_alignment(dev);
    if (size > UINT64_MAX - align)
        return vkr_fail(VKR_ERR_OUT_OF_DEVICE_MEMORY, "asked for %llu bytes, more than any device holds",
                        (unsigned long long)size);
    VkDeviceSize padded = vkr_align_up(size, align);
    uint32_t block = UINT32_MAX;
    VkDeviceSize offset = 0;
    if (padded > dev->block_size / 2) {
        VKR_TRY(vkr_block_create(dev, kind, padded, true, &block));
        vkr_block_take(&dev->blocks[block], padded, &offset);
    } else {
        for (uint32_t i = 0; i < dev->block_count && block == UINT32_MAX; i++) {
            vkr_block* b = &dev->blocks[i];
            if (b->memory && !b->dedicated && b->kind == kind && vkr_block_take(b, padded, &offset)) block = i;
        }
        if (block == UINT32_MAX) {
            VKR_TRY(vkr_block_create(dev, kind, dev->block_size, false, &block));
            vkr_block_take(&dev->blocks[block], padded, &offset);
        }
    }
    vkr_block* b = &dev->blocks[block];
    b->live++;
    dev->buffer_count++;
    dev->buffer_bytes += size;
    out->vk = b->buffer;
    out->offset = offset;
    out->size = size;
    out->host = b->host ? (char*)b->host + offset : NULL;
    out->block = block;
    out->kind = kind;
    return VKR_OK;
}

void vkr_buffer_destroy(vkr_device* dev, vkr_buffer* buf) {
    if (!dev || !buf || !buf->vk) return;
    if (buf->block < dev->block_count && dev->blocks[buf->block].buffer == buf->vk) {
        vkr_block* b = &dev->blocks[buf->block];
        VkDeviceSize padded = vkr_align_up(buf->size, vkr_alignment(dev));
        b->live--;
        dev->buffer_count--;
        dev->buffer_bytes -= buf->size;
        if (b->dedicated && b->live == 0)
            vkr_block_free(dev, b);
        else if (vkr_block_give(b, buf->offset, padded) != VKR_OK)
            vkr_log(VKR_LOG_WARN, "leaking %llu bytes of device memory: %s", (unsigned long long)padded, vkr_last_error());
    }
    memset(buf, 0, sizeof *buf);
}

void vkr_device_memory_stats(const vkr_device* dev, vkr_memory_stats* out) {
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < dev->block_count; i++)
        if (dev->blocks[i].memory) {
            out->block_count++;
            out->block_bytes += dev->blocks[i].size;
        }
    out->buffer_count = dev->buffer_count;
    out->buffer_bytes = dev->buffer_bytes;
}

/* ---- transfers ---------------------------------------------------------------------------- */

typedef struct vkr_transfer_op {
    vkr_buffer buffer;
    VkDeviceSize offset;
    VkDeviceSize size;
    const void* src; /* upload source */
    void* dst;       /* download destination */
} vkr_transfer_op;

struct vkr_transfer {
    vkr_device* dev;
    vkr_transfer_op* ops;
    uint32_t count;
    uint32_t cap;
};

vkr_status vkr_transfer_begin(vkr_device* dev, vkr_transfer** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_transfer_begin: out_transfer is NULL");
    *out = NULL;
    vkr_transfer* t = calloc(1, sizeof *t);
    if (!t) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory starting a transfer");
    t->dev = dev;
    *out = t;
    return VKR_OK;
}

void vkr_transfer_abort(vkr_transfer* t) {
    if (!t) return;
    free(t->ops);
    free(t);
}

static vkr_status vkr_transfer_add(vkr_transfer* t, const vkr_buffer* buf, VkDeviceSize offset, const void* src,
                                   void* dst, VkDeviceSize size) {
    VKR_TRY(vkr_range_check((vkr_range){buf, offset, size}, size, "transfer", src ? "destination" : "source"));
    if (!src && !dst) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "transfer: host pointer is NULL");
    if (size == 0) return VKR_OK;
    VKR_TRY(vkr_grow((void**)&t->ops, &t->cap, t->count + 1, sizeof *t->ops));
    t->ops[t->count++] = (vkr_transfer_op){*buf, offset, size, src, dst};
    return VKR_OK;
}

vkr_status vkr_transfer_upload(vkr_transfer* t, const vkr_buffer* dst, VkDeviceSize offset, const void* src,
                               VkDeviceSize size) {
    return vkr_transfer_add(t, dst, offset, src, NULL, size);
}

vkr_status vkr_transfer_download(vkr_transfer* t, const vkr_buffer* src, VkDeviceSize offset, void* dst,
                                 VkDeviceSize size) {
    return vkr_transfer_add(t, src, offset, NULL, dst, size);
}

static vkr_status vkr_ensure_staging(vkr_device* dev, vkr_buffer* staging, vkr_memory_kind kind) {
    if (staging->vk) return VKR_OK;
    return vkr_buffer_create(dev, VKR_STAGING_BYTES, kind, staging);
}

/* One submission of staged copies: `count` pieces, uploads then downloads. */
typedef struct vkr_piece {
    const vkr_transfer_op* op;
    VkDeviceSize op_offset; /* within the op */
    VkDeviceSize size;
    VkDeviceSize staging_offset;
} vkr_piece;

static vkr_status vkr_run_round(vkr_device* dev, vkr_piece* ups, uint32_t n_up, vkr_piece* downs, uint32_t n_down) {
    VkCommandBuffer cb = dev->transfer_cb;
    VKR_CHECK_VK(vkResetCommandBuffer(cb, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VKR_CHECK_VK(vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
    /* Earlier sequences may have written the buffers; make that visible to the copies. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    for (uint32_t i = 0; i < n_up; i++) {
        VkBufferCopy c = {dev->staging.offset + ups[i].staging_offset,
                          ups[i].op->buffer.offset + ups[i].op->offset + ups[i].op_offset, ups[i].size};
        vkCmdCopyBuffer(cb, dev->staging.vk, ups[i].op->buffer.vk, 1, &c);
    }
    if (n_up && n_down) {
        mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    }
    for (uint32_t i = 0; i < n_down; i++) {
        VkBufferCopy c = {downs[i].op->buffer.offset + downs[i].op->offset + downs[i].op_offset,
                          dev->staging_read.offset + downs[i].staging_offset, downs[i].size};
        vkCmdCopyBuffer(cb, downs[i].op->buffer.vk, dev->staging_read.vk, 1, &c);
    }
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         0, 1, &mb, 0, NULL, 0, NULL);
    VKR_CHECK_VK(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
    VKR_CHECK_VK(vkResetFences(dev->vk, 1, &dev->transfer_fence), "vkResetFences");
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    VKR_CHECK_VK(vkQueueSubmit(dev->queue, 1, &si, dev->transfer_fence), "vkQueueSubmit (transfer)");
    VKR_TRY(vkr_wait_fence(dev, dev->transfer_fence, "transfer"));
    for (uint32_t i = 0; i < n_down; i++)
        memcpy((char*)downs[i].op->dst + downs[i].op_offset, (char*)dev->staging_read.host + downs[i].staging_offset,
               downs[i].size);
    return VKR_OK;
}

/* Packs staged ops of one direction into rounds of at most VKR_STAGING_BYTES each. */
static vkr_status vkr_transfer_staged(vkr_device* dev, const vkr_transfer* t, bool upload) {
    enum { MAX_PIECES = 256 };
    vkr_piece pieces[MAX_PIECES];
    uint32_t n = 0;
    VkDeviceSize used = 0;
    VkDeviceSize align = vkr_alignment(dev);
    for (uint32_t i = 0; i <= t->count; i++) {
        const vkr_transfer_op* op = i < t->count ? &t->ops[i] : NULL;
        bool mine = op && !op->buffer.host && (upload ? op->src != NULL : op->dst != NULL);
        VkDeviceSize done = 0;
        while (mine && done < op->size) {
            VkDeviceSize room = VKR_STAGING_BYTES - used;
            if (room == 0 || n == MAX_PIECES) {
                VKR_TRY(upload ? vkr_run_round(dev, pieces, n, NULL, 0) : vkr_run_round(dev, NULL, 0, pieces, n));
                n = 0;
                used = 0;
                continue;
            }
            VkDeviceSize chunk = op->size - done < room ? op->size - done : room;
            pieces[n] = (vkr_piece){op, done, chunk, used};
            if (upload) memcpy((char*)dev->staging.host + used, (const char*)op->src + done, chunk);
            n++;
            used = vkr_align_up(used + chunk, align);
            if (used > VKR_STAGING_BYTES) used = VKR_STAGING_BYTES;
            done += chunk;
        }
    }
    if (n) VKR_TRY(upload ? vkr_run_round(dev, pieces, n, NULL, 0) : vkr_run_round(dev, NULL, 0, pieces, n));
    return VKR_OK;
}

vkr_status vkr_transfer_submit(vkr_transfer* t) {
    if (!t) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_transfer_submit: transfer is NULL");
    vkr_device* dev = t->dev;
    vkr_status s = VKR_OK;
    bool staged_up = false, staged_down = false;
    for (uint32_t i = 0; i < t->count; i++) {
        const vkr_transfer_op* op = &t->ops[i];
        if (op->src && op->buffer.host) memcpy((char*)op->buffer.host + op->offset, op->src, op->size);
        if (!op->buffer.host) *(op->src ? &staged_up : &staged_down) = true;
    }
    if (staged_up) s = vkr_ensure_staging(dev, &dev->staging, VKR_MEMORY_UPLOAD);
    if (s == VKR_OK && staged_up) s = vkr_transfer_staged(dev, t, true);
    if (s == VKR_OK && staged_down) s = vkr_ensure_staging(dev, &dev->staging_read, VKR_MEMORY_READBACK);
    if (s == VKR_OK && staged_down) s = vkr_transfer_staged(dev, t, false);
    for (uint32_t i = 0; s == VKR_OK && i < t->count; i++) {
        const vkr_transfer_op* op = &t->ops[i];
        if (op->dst && op->buffer.host) memcpy(op->dst, (const char*)op->buffer.host + op->offset, op->size);
    }
    vkr_transfer_abort(t);
    return s;
}

vkr_status vkr_buffer_upload(vkr_device* dev, const vkr_buffer* dst, VkDeviceSize offset, const void* src,
                             VkDeviceSize size) {
    vkr_transfer* t = NULL;
    VKR_TRY(vkr_transfer_begin(dev, &t));
    vkr_status s = vkr_transfer_upload(t, dst, offset, src, size);
    if (s != VKR_OK) {
        vkr_transfer_abort(t);
        return s;
    }
    return vkr_transfer_submit(t);
}

vkr_status vkr_buffer_download(vkr_device* dev, const vkr_buffer* src, VkDeviceSize offset, void* dst,
                               VkDeviceSize size) {
    vkr_transfer* t = NULL;
    VKR_TRY(vkr_transfer_begin(dev, &t));
    vkr_status s = vkr_transfer_download(t, src, offset, dst, size);
    if (s != VKR_OK) {
        vkr_transfer_abort(t);
        return s;
    }
    return vkr_transfer_submit(t);
}
