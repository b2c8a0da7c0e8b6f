#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_internal.h"

#ifndef VKR_VERSION_STRING
#define VKR_VERSION_STRING "0.0.0"
#endif

const char* vkr_version(void) { return VKR_VERSION_STRING; }

vkr_status vkr_grow(void** ptr, uint32_t* cap, uint32_t need, size_t elem) {
    if (need <= *cap) return VKR_OK;
    uint32_t n = *cap ? *cap : 8;
    while (n < need) n *= 2;
    void* p = realloc(*ptr, (size_t)n * elem);
    if (!p) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory growing an array to %u entries", n);
    memset((char*)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *ptr = p;
    *cap = n;
    return VKR_OK;
}

vkr_status vkr_wait_fence(vkr_device* dev, VkFence fence, const char* what) {
    VkResult r = vkWaitForFences(dev->vk, 1, &fence, VK_TRUE, dev->timeout_ns);
    if (r == VK_SUCCESS) return VKR_OK;
    if (r == VK_TIMEOUT)
        return vkr_fail(VKR_ERR_TIMEOUT, "%s: the device did not finish within %.0f s (VKR_TIMEOUT raises the limit)",
                        what, (double)dev->timeout_ns * 1e-9);
    if (r == VK_ERROR_DEVICE_LOST)
        return vkr_fail(VKR_ERR_DEVICE_LOST,
                        "%s: the device was lost (driver reset or watchdog); results are unavailable and the "
                        "device must be recreated",
                        what);
    return vkr_fail(vkr_status_from_vk(r), "%s: vkWaitForFences failed: %s", what, vkr_vk_result_name(r));
}

uint32_t vkr_profile_slot(vkr_device* dev, const char* name) {
    for (uint32_t i = 0; i < dev->profile_count; i++)
        if (strcmp(dev->profile_entries[i].name, name) == 0) return i;
    if (vkr_grow((void**)&dev->profile_entries, &dev->profile_cap, dev->profile_count + 1,
                 sizeof *dev->profile_entries) != VKR_OK)
        return UINT32_MAX;
    vkr_profile_entry* e = &dev->profile_entries[dev->profile_count];
    snprintf(e->name, sizeof e->name, "%s", name);
    return dev->profile_count++;
}

static int vkr_profile_cmp(const void* a, const void* b) {
    double x = ((const vkr_profile_entry*)a)->total_ms, y = ((const vkr_profile_entry*)b)->total_ms;
    return (x < y) - (x > y);
}

void vkr_device_print_profile(const vkr_device* dev, void* file) {
    FILE* f = file ? file : stderr;
    if (!dev || dev->profile_count == 0) return;
    vkr_profile_entry* sorted = malloc(dev->profile_count * sizeof *sorted);
    if (!sorted) return;
    memcpy(sorted, dev->profile_entries, dev->profile_count * sizeof *sorted);
    qsort(sorted, dev->profile_count, sizeof *sorted, vkr_profile_cmp);
    double total = 0;
    for (uint32_t i = 0; i < dev->profile_count; i++) total += sorted[i].total_ms;
    fprintf(f, "vkrec profile (%s, device timestamps)\n", dev->info.name);
    fprintf(f, "%-40s %10s %12s %12s %7s\n", "kernel", "calls", "total ms", "mean us", "share");
    for (uint32_t i = 0; i < dev->profile_count; i++) {
        const vkr_profile_entry* e = &sorted[i];
        if (e->calls == 0) continue;
        fprintf(f, "%-40s %10llu %12.3f %12.2f %6.1f%%\n", e->name, (unsigned long long)e->calls, e->total_ms,
                e->total_ms * 1000.0 / (double)e->calls, total > 0 ? 100.0 * e->total_ms / total : 0.0);
    }
    free(sorted);
}

vkr_status vkr_device_create(vkr_instance* inst, uint32_t index, const vkr_device_options* options,
                             vkr_device** out_device) {
    if (!out_device) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_device_create: out_device is NULL");
    *out_device = NULL;
    if (!inst || index >= inst->device_count)
        return vkr_fail(VKR_ERR_NO_DEVICE, "device index %u is out of range (%u device(s))", index,
                        inst ? inst->device_count : 0);
    vkr_device_options opts = options ? *options : (vkr_device_options){0};
    double timeout = opts.timeout_s;
    if (!(timeout > 0)) VKR_TRY(vkr_env_seconds("VKR_TIMEOUT", 300.0, &timeout));
    const vkr_device_info* info = &inst->info[index];
    if (info->compute_queue_family == UINT32_MAX || info->api_version < VK_API_VERSION_1_2)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "device %u (%s) lacks Vulkan 1.2 compute", index, info->name);

    vkr_device* dev = calloc(1, sizeof *dev);
    if (!dev) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating the device");
    dev->instance = inst;
    dev->info = *info;
    dev->physical = inst->physical[index];
    dev->max_dispatches_per_submit = opts.max_dispatches_per_submit ? opts.max_dispatches_per_submit : 256;
    dev->timeout_ns = (uint64_t)(timeout * 1e9);
    const char* prof = getenv("VKR_PROFILE");
    dev->profile = (opts.profile == 1 || (prof && *prof && strcmp(prof, "0") != 0)) && info->timestamps;

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = info->compute_queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    /* Enable exactly the optional features the device has, so kernels can use them. */
    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .shaderFloat16 = info->fp16,
        .shaderInt8 = info->int8,
        .storageBuffer8BitAccess = info->storage8,
    };
    VkPhysicalDeviceVulkan11Features f11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
        .pNext = &f12,
        .storageBuffer16BitAccess = info->storage16,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &f11,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VkResult r = vkCreateDevice(dev->physical, &dci, NULL, &dev->vk);
    if (r != VK_SUCCESS) {
        free(dev);
        return vkr_fail(vkr_status_from_vk(r), "vkCreateDevice for %s failed: %s", info->name, vkr_vk_result_name(r));
    }
    vkGetDeviceQueue(dev->vk, info->compute_queue_family, 0, &dev->queue);
    vkGetPhysicalDeviceMemoryProperties(dev->physical, &dev->memory_properties);

    vkr_status s = VKR_OK;
    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = info->compute_queue_family,
    };
    r = vkCreateCommandPool(dev->vk, &pci, NULL, &dev->command_pool);
    if (r != VK_SUCCESS) s = vkr_fail(vkr_status_from_vk(r), "vkCreateCommandPool failed: %s", vkr_vk_result_name(r));
    if (s == VKR_OK) {
        VkCommandBufferAllocateInfo ai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = dev->command_pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        r = vkAllocateCommandBuffers(dev->vk, &ai, &dev->transfer_cb);
        if (r == VK_SUCCESS) {
            VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
            r = vkCreateFence(dev->vk, &fci, NULL, &dev->transfer_fence);
        }
        if (r != VK_SUCCESS) s = vkr_fail(vkr_status_from_vk(r), "creating the transfer command buffer failed: %s",
                                          vkr_vk_result_name(r));
    }
    if (s == VKR_OK) s = vkr_memory_init(dev, opts.block_size, opts.no_direct_map || getenv("VKR_NO_DIRECT_MAP"));
    if (s == VKR_OK) s = vkr_pipeline_cache_init(dev, opts.cache_dir);
    if (s != VKR_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", vkr_last_error());
        vkr_device_destroy(dev);
        return vkr_fail(s, "%s", msg);
    }
    *out_device = dev;
    return VKR_OK;
}

void vkr_device_destroy(vkr_device* dev) {
    if (!dev) return;
    if (dev->vk) vkDeviceWaitIdle(dev->vk);
    if (dev->profile) vkr_device_print_profile(dev, stderr);
    if (dev->cache_dirty && vkr_device_save_pipeline_cache(dev) != VKR_OK)
        vkr_log(VKR_LOG_WARN, "%s", vkr_last_error());
    vkr_kernels_release_all(dev);
    if (dev->pipeline_cache) vkDestroyPipelineCache(dev->vk, dev->pipeline_cache, NULL);
    vkr_memory_release_all(dev);
    if (dev->transfer_fence) vkDestroyFence(dev->vk, dev->transfer_fence, NULL);
    if (dev->command_pool) vkDestroyCommandPool(dev->vk, dev->command_pool, NULL);
    if (dev->vk) vkDestroyDevice(dev->vk, NULL);
    free(dev->profile_entries);
    free(dev);
}

const vkr_device_info* vkr_device_get_info(const vkr_device* dev) { return dev ? &dev->info : NULL; }
vkr_instance* vkr_device_instance(const vkr_device* dev) { return dev ? dev->instance : NULL; }
bool vkr_device_profiling(const vkr_device* dev) { return dev && dev->profile; }

vkr_status vkr_device_wait_idle(vkr_device* dev) {
    VKR_CHECK_VK(vkDeviceWaitIdle(dev->vk), "vkDeviceWaitIdle");
    return VKR_OK;
}

vkr_status vkr_open_default(const char* selector, vkr_instance** out_instance, vkr_device** out_device) {
    if (!out_instance || !out_device) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_open_default: NULL argument");
    *out_instance = NULL;
    *out_device = NULL;
    vkr_instance* inst = NULL;
    VKR_TRY(vkr_instance_create(NULL, &inst));
    uint32_t index = 0;
    vkr_status s = vkr_instance_pick_device(inst, selector, &index);
    if (s == VKR_OK) s = vkr_device_create(inst, index, NULL, out_device);
    if (s != VKR_OK) {
        vkr_instance_destroy(inst);
        return s;
    }
    *out_instance = inst;
    return VKR_OK;
}
