/* Private structures shared by the runtime's source files. Not installed, not for other layers. */
#ifndef VKR_INTERNAL_H
#define VKR_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vkr_runtime.h"

struct vkr_instance {
    VkInstance vk;
    VkDebugUtilsMessengerEXT messenger;
    bool validation;
    uint64_t validation_errors;
    uint64_t validation_warnings;
    uint32_t device_count;
    VkPhysicalDevice* physical;
    vkr_device_info* info;
};

/* A free range inside a block, kept sorted by offset. */
typedef struct vkr_free_range {
    VkDeviceSize offset;
    VkDeviceSize size;
} vkr_free_range;

/* One VkDeviceMemory allocation with one VkBuffer spanning it. */
typedef struct vkr_block {
    VkDeviceMemory memory;
    VkBuffer buffer;
    VkDeviceSize size;
    void* host;            /* persistent mapping, NULL if not host-visible */
    uint32_t memory_type;
    vkr_memory_kind kind;
    bool dedicated;        /* holds exactly one buffer; freed with it */
    vkr_free_range* free;  /* sorted free list */
    uint32_t free_count;
    uint32_t free_cap;
    uint32_t live;         /* buffers alive in this block */
} vkr_block;

struct vkr_kernel {
    char name[96];
    char shader[64];
    uint32_t spec_count;
    uint32_t spec[VKR_MAX_SPEC];
    uint32_t binding_count;
    vkr_access access[VKR_MAX_BINDINGS];
    uint32_t push_bytes;
    VkShaderModule module;
    VkPipeline pipeline;
    VkPipelineLayout layout; /* owned by the device (shared per binding count) */
    VkDescriptorSetLayout set_layout;
    uint32_t profile_slot;
};

/* Accumulated timestamps for one kernel name. */
typedef struct vkr_profile_entry {
    char name[96];
    uint64_t calls;
    double total_ms;
} vkr_profile_entry;

struct vkr_device {
    vkr_instance* instance;
    vkr_device_info info;
    VkPhysicalDevice physical;
    VkDevice vk;
    VkQueue queue;
    VkCommandPool command_pool;
    VkPhysicalDeviceMemoryProperties memory_properties;
    int memory_type[VKR_MEMORY_KIND_COUNT]; /* chosen memory type per kind */
    bool kind_mapped[VKR_MEMORY_KIND_COUNT];
    VkDeviceSize block_size;
    vkr_block* blocks;
    uint32_t block_count;
    uint32_t block_cap;
    uint64_t buffer_count;
    uint64_t buffer_bytes;
    /* staging for devices whose device-local memory is not mappable */
    vkr_buffer staging;      /* upload staging */
    vkr_buffer staging_read; /* download staging */
    VkCommandBuffer transfer_cb;
    VkFence transfer_fence;
    /* pipelines */
    VkPipelineCache pipeline_cache;
    char cache_path[1024];
    bool cache_dirty;
    uint64_t cache_loaded;
    VkDescriptorSetLayout set_layouts[VKR_MAX_BINDINGS + 1];
    VkPipelineLayout pipeline_layouts[VKR_MAX_BINDINGS + 1];
    vkr_kernel** kernels;
    uint32_t kernel_count;
    uint32_t kernel_cap;
    /* submission policy */
    uint32_t max_dispatches_per_submit;
    uint64_t timeout_ns;
    /* profiling */
    bool profile;
    vkr_profile_entry* profile_entries;
    uint32_t profile_count;
    uint32_t profile_cap;
};

/* Waits on a fence with the device's timeout; reports device loss and timeouts clearly. */
vkr_status vkr_wait_fence(vkr_device* device, VkFence fence, const char* what);
/* Returns the profile slot for a kernel name, creating it. */
uint32_t vkr_profile_slot(vkr_device* device, const char* name);
/* Frees all blocks (device destruction). */
void vkr_memory_release_all(vkr_device* device);
/* Sanitizer builds (VKR_SANITIZE_BUILD): keeps the loaded Vulkan drivers, layers and LLVM mapped until
 * exit so leak reports name them (vkr_pin_modules.c); otherwise nothing. */
void vkr_pin_driver_modules(void);
/* Chooses memory types per kind and the block size (device creation). */
vkr_status vkr_memory_init(vkr_device* device, VkDeviceSize block_size, bool no_direct_map);
/* Loads the pipeline cache from disk, validating its header (device creation). */
vkr_status vkr_pipeline_cache_init(vkr_device* device, const char* cache_dir);
/* Destroys every kernel and the shared layouts (device destruction). */
void vkr_kernels_release_all(vkr_device* device);

#endif
