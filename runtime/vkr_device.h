/* Logical device: queue, command pool, memory blocks, pipeline cache, profiler.
 *
 * Contract: a device and everything created from it (buffers, kernels, sequences) is used from one
 * thread at a time. Destroying the device frees everything still alive, saves the pipeline cache
 * when it changed, and prints the profile table when profiling is on. */
#ifndef VKR_DEVICE_H
#define VKR_DEVICE_H
#include <stdint.h>

#include "vkr_instance.h"

/* Options for vkr_device_create; zero-initialize for defaults. */
typedef struct vkr_device_options {
    const char* cache_dir;      /* pipeline-cache directory; NULL: $XDG_CACHE_HOME/vkrec or
                                   ~/.cache/vkrec; "" disables the persistent cache */
    int profile;                /* 1: timestamp every dispatch; 0: VKR_PROFILE from environment */
    uint32_t max_dispatches_per_submit; /* bound per submitted command buffer (0: 256) so that no
                                           single submission trips a driver watchdog */
    uint64_t block_size;        /* device-memory block size for sub-allocation (0: 64 MiB) */
    double timeout_s;           /* longest wait for one submission (0: VKR_TIMEOUT or 300 s) */
    bool no_direct_map;         /* never map device-local memory: always go through staging (tests
                                   use it to exercise the discrete-GPU path on lavapipe) */
} vkr_device_options;

/* A logical device. */
typedef struct vkr_device vkr_device;

/* Memory accounting for one device. */
typedef struct vkr_memory_stats {
    uint64_t block_count;     /* device-memory allocations made (blocks) */
    uint64_t block_bytes;     /* bytes held in blocks */
    uint64_t buffer_count;    /* live sub-allocated buffers */
    uint64_t buffer_bytes;    /* bytes in live buffers (before alignment) */
} vkr_memory_stats;

/* Creates device `index` of `instance`. */
vkr_status vkr_device_create(vkr_instance* instance, uint32_t index,
                             const vkr_device_options* options, vkr_device** out_device);
/* Destroys the device and everything created from it. */
void vkr_device_destroy(vkr_device* device);
/* The device's info record. */
const vkr_device_info* vkr_device_get_info(const vkr_device* device);
/* The instance the device was created from. */
vkr_instance* vkr_device_instance(const vkr_device* device);
/* Waits until the device is idle. */
vkr_status vkr_device_wait_idle(vkr_device* device);
/* Writes the pipeline cache to disk now (atomically) if it is enabled. */
vkr_status vkr_device_save_pipeline_cache(vkr_device* device);
/* Bytes of pipeline-cache data accepted from disk at creation (0 when none or rejected). */
uint64_t vkr_device_pipeline_cache_loaded(const vkr_device* device);
/* Path of the pipeline-cache file ("" when disabled). */
const char* vkr_device_pipeline_cache_path(const vkr_device* device);
/* Fills memory statistics. */
void vkr_device_memory_stats(const vkr_device* device, vkr_memory_stats* out_stats);
/* True when per-dispatch timestamps are being collected. */
bool vkr_device_profiling(const vkr_device* device);
/* Prints the per-kernel profile table (calls, total ms, mean us, share) to `file` (a FILE*). */
void vkr_device_print_profile(const vkr_device* device, void* file);

/* Opens a device in one call: instance (validation per VKR_VALIDATE), pick by selector/VKR_DEVICE,
 * device with default options. On failure nothing is left allocated. */
vkr_status vkr_open_default(const char* selector, vkr_instance** out_instance,
                            vkr_device** out_device);

#endif
