#include <stdlib.h>
#include <string.h>

#include "vkr_internal.h"

#define VKR_SETS_PER_POOL 256

/* A byte range of one VkBuffer touched since the last barrier. */
typedef struct vkr_touch {
    VkBuffer buffer;
    VkDeviceSize begin;
    VkDeviceSize end;
} vkr_touch;

typedef struct vkr_touch_list {
    vkr_touch* items;
    uint32_t count;
    uint32_t cap;
} vkr_touch_list;

/* One command buffer = one submission. */
typedef struct vkr_chunk {
    VkCommandBuffer cb;
    VkQueryPool queries;     /* [0] begin, [1] end, then 2 per dispatch when profiling */
    uint32_t query_count;
    uint32_t dispatches;
    uint32_t* slots;         /* profile slot per dispatch (profiling only) */
    uint32_t slot_cap;
} vkr_chunk;

struct vkr_sequence {
    vkr_device* dev;
    vkr_chunk* chunks;
    uint32_t chunk_count;
    uint32_t chunk_cap;
    bool open;      /* the last chunk is recording */
    bool sealed;    /* recording ended; submits replay */
    bool in_flight;
    VkFence fence;
    VkPipeline bound;
    VkDescriptorPool* pools;
    uint32_t pool_count;
    uint32_t pool_cap;
    uint32_t sets_in_pool;
    vkr_touch_list reads;
    vkr_touch_list writes;
    uint32_t dispatch_count;
    uint32_t barrier_count;
    double last_device_ms;
};

vkr_status vkr_sequence_create(vkr_device* dev, vkr_sequence** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_create: out_sequence is NULL");
    *out = NULL;
    if (!dev) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_create: device is NULL");
    vkr_sequence* seq = calloc(1, sizeof *seq);
    if (!seq) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating a sequence");
    seq->dev = dev;
    seq->last_device_ms = -1;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkResult r = vkCreateFence(dev->vk, &fci, NULL, &seq->fence);
    if (r != VK_SUCCESS) {
        free(seq);
        return vkr_fail(vkr_status_from_vk(r), "vkCreateFence failed: %s", vkr_vk_result_name(r));
    }
    *out = seq;
    return VKR_OK;
}

static void vkr_sequence_clear(vkr_sequence* seq) {
    vkr_device* dev = seq->dev;
    for (uint32_t i = 0; i < seq->chunk_count; i++) {
        vkr_chunk* c = &seq->chunks[i];
        if (c->cb) vkFreeCommandBuffers(dev->vk, dev->command_pool, 1, &c->cb);
        if (c->queries) vkDestroyQueryPool(dev->vk, c->queries, NULL);
        free(c->slots);
    }
    for (uint32_t i = 0; i < seq->pool_count; i++) vkDestroyDescriptorPool(dev->vk, seq->pools[i], NULL);
    seq->chunk_count = 0;
    seq->pool_count = 0;
    seq->sets_in_pool = 0;
    seq->reads.count = seq->writes.count = 0;
    seq->open = seq->sealed = false;
    seq->bound = VK_NULL_HANDLE;
    seq->dispatch_count = seq->barrier_count = 0;
}

void vkr_sequence_destroy(vkr_sequence* seq) {
    if (!seq) return;
    if (seq->in_flight && vkr_sequence_wait(seq) != VKR_OK) vkr_log(VKR_LOG_WARN, "%s", vkr_last_error());
    vkr_sequence_clear(seq);
    vkDestroyFence(seq->dev->vk, seq->fence, NULL);
    free(seq->chunks);
    free(seq->pools);
    free(seq->reads.items);
    free(seq->writes.items);
    free(seq);
}

vkr_status vkr_sequence_reset(vkr_sequence* seq) {
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_reset: sequence is NULL");
    if (seq->in_flight) VKR_TRY(vkr_sequence_wait(seq));
    vkr_sequence_clear(seq);
    return VKR_OK;
}

static void vkr_full_barrier(VkCommandBuffer cb, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                             VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src_access,
                          .dstAccessMask = dst_access};
    vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

static const VkPipelineStageFlags vkr_work_stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
static const VkAccessFlags vkr_work_writes = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
static const VkAccessFlags vkr_work_access = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                             VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

static vkr_status vkr_chunk_close(vkr_sequence* seq, bool last) {
    vkr_chunk* c = &seq->chunks[seq->chunk_count - 1];
    if (last) /* results become visible to the host after the fence */
        vkr_full_barrier(c->cb, vkr_work_stages, vkr_work_writes, VK_PIPELINE_STAGE_HOST_BIT,
                         VK_ACCESS_HOST_READ_BIT);
    if (c->queries) vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries, 1);
    VKR_CHECK_VK(vkEndCommandBuffer(c->cb), "vkEndCommandBuffer");
    seq->open = false;
    seq->bound = VK_NULL_HANDLE;
    return VKR_OK;
}

/* Makes sure a chunk with room for one more dispatch is recording. */
static vkr_status vkr_chunk_ensure(vkr_sequence* seq) {
    vkr_device* dev = seq->dev;
    if (seq->sealed)
        return vkr_fail(VKR_ERR_STATE, "sequence was already submitted; vkr_sequence_reset it to record again");
    if (seq->open && seq->chunks[seq->chunk_count - 1].dispatches < dev->max_dispatches_per_submit) return VKR_OK;
    if (seq->open) VKR_TRY(vkr_chunk_close(seq, false));
    VKR_TRY(vkr_grow((void**)&seq->chunks, &seq->chunk_cap, seq->chunk_count + 1, sizeof *seq->chunks));
    vkr_chunk* c = &seq->chunks[seq->chunk_count];
    memset(c, 0, sizeof *c);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = dev->command_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VKR_CHECK_VK(vkAllocateCommandBuffers(dev->vk, &ai, &c->cb), "vkAllocateCommandBuffers");
    seq->chunk_count++;
    if (dev->info.timestamps) {
        c->query_count = 2 + (dev->profile ? 2 * dev->max_dispatches_per_submit : 0);
        VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                     .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = c->query_count};
        VKR_CHECK_VK(vkCreateQueryPool(dev->vk, &qci, NULL, &c->queries), "vkCreateQueryPool");
    }
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VKR_CHECK_VK(vkBeginCommandBuffer(c->cb, &bi), "vkBeginCommandBuffer");
    if (c->queries) {
        vkCmdResetQueryPool(c->cb, c->queries, 0, c->query_count);
        vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, c->queries, 0);
    }
    if (seq->chunk_count == 1) /* order against earlier submissions and host writes */
        vkr_full_barrier(c->cb, vkr_work_stages | VK_PIPELINE_STAGE_HOST_BIT, vkr_work_writes | VK_ACCESS_HOST_WRITE_BIT,
                         vkr_work_stages, vkr_work_access);
    seq->open = true;
    return VKR_OK;
}

static bool vkr_overlaps(const vkr_touch_list* l, const vkr_touch* t) {
    for (uint32_t i = 0; i < l->count; i++)
        if (l->items[i].buffer == t->buffer && l->items[i].begin < t->end && t->begin < l->items[i].end) return true;
    return false;
}

static vkr_status vkr_touch_add(vkr_touch_list* l, const vkr_touch* t) {
    /* Extend an adjacent or overlapping range of the same buffer rather than growing the list. */
    for (uint32_t i = 0; i < l->count; i++) {
        vkr_touch* o = &l->items[i];
        if (o->buffer == t->buffer && o->begin <= t->end && t->begin <= o->end) {
            if (t->begin < o->begin) o->begin = t->begin;
            if (t->end > o->end) o->end = t->end;
            return VKR_OK;
        }
    }
    VKR_TRY(vkr_grow((void**)&l->items, &l->cap, l->count + 1, sizeof *l->items));
    l->items[l->count++] = *t;
    return VKR_OK;
}

/* Inserts a barrier when any access conflicts with what was touched since the last one, then
 * records the accesses. */
static vkr_status vkr_track(vkr_sequence* seq, const vkr_touch* touches, const vkr_access* access, uint32_t n) {
    bool need = false;
    for (uint32_t i = 0; i < n && !need; i++) {
        if ((access[i] & VKR_READ) && vkr_overlaps(&seq->writes, &touches[i])) need = true;
        if ((access[i] & VKR_WRITE) && (vkr_overlaps(&seq->writes, &touches[i]) || vkr_overlaps(&seq->reads, &touches[i])))
            need = true;
    }
    if (need) {
        vkr_full_barrier(seq->chunks[seq->chunk_count - 1].cb, vkr_work_stages, vkr_work_writes, vkr_work_stages,
                         vkr_work_access);
        seq->barrier_count++;
        seq->reads.count = seq->writes.count = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (access[i] & VKR_READ) VKR_TRY(vkr_touch_add(&seq->reads, &touches[i]));
        if (access[i] & VKR_WRITE) VKR_TRY(vkr_touch_add(&seq->writes, &touches[i]));
    }
    return VKR_OK;
}

static vkr_status vkr_resolve_range(const vkr_device* dev, const vkr_range* r, uint32_t index, const char* kernel,
                                    VkDeviceSize* out_offset, VkDeviceSize* out_size) {
    /* Names for the messages, fixed so that recording formats nothing unless a check fails. */
    static const char* const names[VKR_MAX_BINDINGS] = {"binding 0", "binding 1", "binding 2", "binding 3",
                                                        "binding 4", "binding 5", "binding 6", "binding 7",
                                                        "binding 8", "binding 9", "binding 10", "binding 11"};
    _Static_assert(VKR_MAX_BINDINGS == 12, "one name per binding");
    VKR_TRY(vkr_range_check(*r, 0, kernel, names[index]));
    VkDeviceSize off = r->buffer->offset + r->offset;
    VkDeviceSize size = vkr_range_bytes(*r);
    if (off % dev->info.min_storage_offset_alignment)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: binding %u offset %llu is not a multiple of the device's %llu-byte "
                        "storage alignment", kernel, index, (unsigned long long)r->offset,
                        (unsigned long long)dev->info.min_storage_offset_alignment);
    if (size == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: binding %u range is empty", kernel, index);
    if (size > dev->info.max_storage_buffer_range)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: binding %u spans %llu bytes, above the device's "
                        "maxStorageBufferRange of %llu", kernel, index, (unsigned long long)size,
                        (unsigned long long)dev->info.max_storage_buffer_range);
    *out_offset = off;
    *out_size = size;
    return VKR_OK;
}

static vkr_status vkr_alloc_set(vkr_sequence* seq, VkDescriptorSetLayout layout, VkDescriptorSet* out) {
    vkr_device* dev = seq->dev;
    if (seq->pool_count == 0 || seq->sets_in_pool == VKR_SETS_PER_POOL) {
        VKR_TRY(vkr_grow((void**)&seq->pools, &seq->pool_cap, seq->pool_count + 1, sizeof *seq->pools));
        VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VKR_SETS_PER_POOL * VKR_MAX_BINDINGS};
        VkDescriptorPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                          .maxSets = VKR_SETS_PER_POOL, .poolSizeCount = 1, .pPoolSizes = &size};
        VKR_CHECK_VK(vkCreateDescriptorPool(dev->vk, &pci, NULL, &seq->pools[seq->pool_count]), "vkCreateDescriptorPool");
        seq->pool_count++;
        seq->sets_in_pool = 0;
    }
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = seq->pools[seq->pool_count - 1], .descriptorSetCount = 1,
                                      .pSetLayouts = &layout};
    VKR_CHECK_VK(vkAllocateDescriptorSets(dev->vk, &ai, out), "vkAllocateDescriptorSets");
    seq->sets_in_pool++;
    return VKR_OK;
}

vkr_status vkr_sequence_dispatch(vkr_sequence* seq, vkr_kernel* k, const vkr_range* ranges, uint32_t n,
                                 const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    if (!seq || !k) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_dispatch: NULL sequence or kernel");
    vkr_device* dev = seq->dev;
    if (n != k->binding_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %u buffers bound, the kernel has %u bindings", k->name, n,
                        k->binding_count);
    if (push_bytes != k->push_bytes || (push_bytes && !push))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %u push-constant bytes given, the kernel takes %u", k->name,
                        push_bytes, k->push_bytes);
    const uint32_t g[3] = {gx, gy, gz};
    for (int i = 0; i < 3; i++)
        if (g[i] > dev->info.max_workgroup_count[i])
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %u workgroups in dimension %d exceed the device limit %u",
                            k->name, g[i], i, dev->info.max_workgroup_count[i]);
    VkDescriptorBufferInfo infos[VKR_MAX_BINDINGS];
    vkr_touch touches[VKR_MAX_BINDINGS];
    for (uint32_t i = 0; i < n; i++) {
        VkDeviceSize off = 0, size = 0;
        VKR_TRY(vkr_resolve_range(dev, &ranges[i], i, k->name, &off, &size));
        infos[i] = (VkDescriptorBufferInfo){ranges[i].buffer->vk, off, size};
        touches[i] = (vkr_touch){ranges[i].buffer->vk, off, off + size};
    }
    if (gx == 0 || gy == 0 || gz == 0) return VKR_OK; /* nothing to run */
    VKR_TRY(vkr_chunk_ensure(seq));
    vkr_chunk* c = &seq->chunks[seq->chunk_count - 1];
    VKR_TRY(vkr_track(seq, touches, k->access, n));

    VkDescriptorSet set = VK_NULL_HANDLE;
    if (n) {
        VKR_TRY(vkr_alloc_set(seq, k->set_layout, &set));
        VkWriteDescriptorSet w[VKR_MAX_BINDINGS];
        for (uint32_t i = 0; i < n; i++)
            w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = i,
                                          .descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                          .pBufferInfo = &infos[i]};
        vkUpdateDescriptorSets(dev->vk, n, w, 0, NULL);
    }
    if (seq->bound != k->pipeline) {
        vkCmdBindPipeline(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
        seq->bound = k->pipeline;
    }
    if (n) vkCmdBindDescriptorSets(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1, &set, 0, NULL);
    if (push_bytes) vkCmdPushConstants(c->cb, k->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    bool prof = dev->profile && c->queries;
    if (prof) {
        VKR_TRY(vkr_grow((void**)&c->slots, &c->slot_cap, c->dispatches + 1, sizeof *c->slots));
        c->slots[c->dispatches] = k->profile_slot;
        vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries, 2 + 2 * c->dispatches);
    }
    vkCmdDispatch(c->cb, gx, gy, gz);
    if (prof) vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries, 3 + 2 * c->dispatches);
    c->dispatches++;
    seq->dispatch_count++;
    return VKR_OK;
}

vkr_status vkr_sequence_dispatch_grid(vkr_sequence* seq, const vkr_kernel_desc* desc, const vkr_range* ranges,
                                      const void* push, uint64_t groups) {
    if (!seq || !desc) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_dispatch_grid: NULL sequence or kernel");
    const uint32_t* max = seq->dev->info.max_workgroup_count;
    uint64_t gx = groups < max[0] ? groups : max[0];
    uint64_t gy = gx ? (groups + gx - 1) / gx : 0;
    if (gy > max[1])
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %llu workgroups exceed the device's %u x %u grid", desc->shader,
                        (unsigned long long)groups, max[0], max[1]);
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(seq->dev, desc, &k));
    return vkr_sequence_dispatch(seq, k, ranges, desc->binding_count, push, desc->push_bytes, (uint32_t)gx,
                                 (uint32_t)gy, 1);
}

vkr_status vkr_sequence_copy(vkr_sequence* seq, const vkr_buffer* src, VkDeviceSize src_off, const vkr_buffer* dst,
                             VkDeviceSize dst_off, VkDeviceSize size) {
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_copy: sequence is NULL");
    vkr_range from = {src, src_off, size}, to = {dst, dst_off, size};
    VKR_TRY(vkr_range_check(from, size, "copy", "source"));
    VKR_TRY(vkr_range_check(to, size, "copy", "destination"));
    if (size == 0) return VKR_OK;
    if (vkr_ranges_overlap(&from, &to))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "copy: source and destination ranges overlap");
    VkDeviceSize s0 = src->offset + src_off, d0 = dst->offset + dst_off;
    VKR_TRY(vkr_chunk_ensure(seq));
    vkr_touch t[2] = {{src->vk, s0, s0 + size}, {dst->vk, d0, d0 + size}};
    vkr_access a[2] = {VKR_READ, VKR_WRITE};
    VKR_TRY(vkr_track(seq, t, a, 2));
    VkBufferCopy region = {s0, d0, size};
    vkCmdCopyBuffer(seq->chunks[seq->chunk_count - 1].cb, src->vk, dst->vk, 1, &region);
    return VKR_OK;
}

vkr_status vkr_sequence_fill(vkr_sequence* seq, const vkr_buffer* dst, VkDeviceSize offset, VkDeviceSize size,
                             uint32_t pattern) {
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_fill: sequence is NULL");
    VKR_TRY(vkr_range_check((vkr_range){dst, offset, size}, size, "fill", "destination"));
    if (offset % 4 || size % 4)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "fill: offset %llu and size %llu must be multiples of 4",
                        (unsigned long long)offset, (unsigned long long)size);
    if (size == 0) return VKR_OK;
    VKR_TRY(vkr_chunk_ensure(seq));
    VkDeviceSize d0 = dst->offset + offset;
    vkr_touch t = {dst->vk, d0, d0 + size};
    vkr_access a = VKR_WRITE;
    VKR_TRY(vkr_track(seq, &t, &a, 1));
    vkCmdFillBuffer(seq->chunks[seq->chunk_count - 1].cb, dst->vk, d0, size, pattern);
    return VKR_OK;
}

vkr_status vkr_sequence_split(vkr_sequence* seq) {
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_split: sequence is NULL");
    if (seq->sealed) return vkr_fail(VKR_ERR_STATE, "sequence was already submitted");
    if (seq->open) VKR_TRY(vkr_chunk_close(seq, false));
    return VKR_OK;
}

static vkr_status vkr_seal(vkr_sequence* seq) {
    if (seq->sealed) return VKR_OK;
    if (!seq->open) VKR_TRY(vkr_chunk_ensure(seq)); /* an empty sequence still round-trips */
    VKR_TRY(vkr_chunk_close(seq, true));
    seq->sealed = true;
    return VKR_OK;
}

vkr_status vkr_sequence_submit_async(vkr_sequence* seq) {
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_submit: sequence is NULL");
    if (seq->in_flight) return vkr_fail(VKR_ERR_STATE, "sequence is already in flight; wait for it first");
    VKR_TRY(vkr_seal(seq));
    vkr_device* dev = seq->dev;
    VkSubmitInfo stack_infos[16];
    VkSubmitInfo* infos = seq->chunk_count <= 16 ? stack_infos : calloc(seq->chunk_count, sizeof *infos);
    if (!infos) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory submitting a sequence");
    for (uint32_t i = 0; i < seq->chunk_count; i++)
        infos[i] = (VkSubmitInfo){.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                                  .pCommandBuffers = &seq->chunks[i].cb};
    VkResult r = vkResetFences(dev->vk, 1, &seq->fence);
    if (r == VK_SUCCESS) r = vkQueueSubmit(dev->queue, seq->chunk_count, infos, seq->fence);
    if (infos != stack_infos) free(infos);
    if (r == VK_ERROR_DEVICE_LOST)
        return vkr_fail(VKR_ERR_DEVICE_LOST, "vkQueueSubmit: the device was lost (driver reset or watchdog)");
    VKR_CHECK_VK(r, "vkQueueSubmit");
    seq->in_flight = true;
    return VKR_OK;
}

static void vkr_collect_timestamps(vkr_sequence* seq) {
    vkr_device* dev = seq->dev;
    double ns_per_tick = dev->info.timestamp_period_ns;
    uint64_t mask = dev->info.timestamp_valid_bits >= 64 ? UINT64_MAX : ((1ull << dev->info.timestamp_valid_bits) - 1);
    double total_ms = 0;
    for (uint32_t i = 0; i < seq->chunk_count; i++) {
        vkr_chunk* c = &seq->chunks[i];
        if (!c->queries) {
            seq->last_device_ms = -1;
            return;
        }
        uint32_t count = 2 + (dev->profile ? 2 * c->dispatches : 0);
        uint64_t stack[2 + 2 * 64];
        uint64_t* ts = count <= 2 + 2 * 64 ? stack : malloc(count * sizeof *ts);
        if (!ts) return;
        VkResult r = vkGetQueryPoolResults(dev->vk, c->queries, 0, count, count * sizeof *ts, ts, sizeof *ts,
                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (r == VK_SUCCESS) {
            total_ms += (double)((ts[1] - ts[0]) & mask) * ns_per_tick * 1e-6;
            for (uint32_t d = 0; dev->profile && d < c->dispatches; d++) {
                uint32_t slot = c->slots[d];
                if (slot >= dev->profile_count) continue;
                dev->profile_entries[slot].calls++;
                dev->profile_entries[slot].total_ms += (double)((ts[3 + 2 * d] - ts[2 + 2 * d]) & mask) * ns_per_tick * 1e-6;
            }
        }
        if (ts != stack) free(ts);
    }
    seq->last_device_ms = total_ms;
}

vkr_status vkr_sequence_wait(vkr_sequence* seq) {
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sequence_wait: sequence is NULL");
    if (!seq->in_flight) return VKR_OK;
    vkr_status s = vkr_wait_fence(seq->dev, seq->fence, "sequence");
    if (s == VKR_ERR_TIMEOUT) return s; /* still in flight; the caller may wait again */
    seq->in_flight = false;
    if (s == VKR_OK) vkr_collect_timestamps(seq);
    return s;
}

vkr_status vkr_sequence_submit(vkr_sequence* seq) {
    VKR_TRY(vkr_sequence_submit_async(seq));
    return vkr_sequence_wait(seq);
}

vkr_device* vkr_sequence_device(const vkr_sequence* seq) { return seq ? seq->dev : NULL; }
uint32_t vkr_sequence_dispatch_count(const vkr_sequence* seq) { return seq ? seq->dispatch_count : 0; }
uint32_t vkr_sequence_barrier_count(const vkr_sequence* seq) { return seq ? seq->barrier_count : 0; }
uint32_t vkr_sequence_submission_count(const vkr_sequence* seq) { return seq ? seq->chunk_count : 0; }
double vkr_sequence_last_device_ms(const vkr_sequence* seq) { return seq ? seq->last_device_ms : -1; }
