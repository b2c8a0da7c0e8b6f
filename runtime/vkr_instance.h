/* Vulkan instance, validation, and physical-device discovery.
 *
 * Contract: an instance enumerates every physical device once, at creation, into plain
 * vkr_device_info records. With validation on, the Khronos validation layer (plus synchronization
 * validation) is enabled and a debug messenger counts every error and warning it reports, so tests
 * can assert that none occurred. */
#ifndef VKR_INSTANCE_H
#define VKR_INSTANCE_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_status.h"

#define VKR_MAX_HEAPS 16

/* Physical device class, in default preference order. */
typedef enum vkr_device_type {
    VKR_DEVICE_DISCRETE = 0, /* discrete GPU */
    VKR_DEVICE_INTEGRATED,   /* integrated GPU */
    VKR_DEVICE_VIRTUAL,      /* virtual GPU */
    VKR_DEVICE_CPU,          /* CPU driver such as Mesa lavapipe */
    VKR_DEVICE_OTHER         /* anything else */
} vkr_device_type;

/* Everything vkrec needs to know about one physical device. */
typedef struct vkr_device_info {
    uint32_t index;                    /* position in the instance's device list */
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE]; /* e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" */
    uint32_t vendor_id;                /* PCI vendor id */
    uint32_t device_id;                /* PCI device id */
    const char* vendor;                /* vendor name ("NVIDIA", "AMD", "Intel", "Mesa", ...) */
    vkr_device_type type;              /* device class */
    char driver_name[VK_MAX_DRIVER_NAME_SIZE]; /* driver name, e.g. "llvmpipe" */
    char driver_info[VK_MAX_DRIVER_INFO_SIZE]; /* driver version string */
    uint32_t driver_version;           /* raw driverVersion */
    uint32_t api_version;              /* Vulkan API version the device supports */
    uint8_t device_uuid[VK_UUID_SIZE]; /* identifies the device across drivers */
    uint8_t pipeline_cache_uuid[VK_UUID_SIZE]; /* pipeline-cache compatibility key */
    uint32_t heap_count;               /* number of memory heaps */
    uint64_t heap_size[VKR_MAX_HEAPS]; /* bytes per heap */
    bool heap_device_local[VKR_MAX_HEAPS]; /* heap is device-local */
    bool host_visible_device_local;    /* device-local memory can be mapped (UMA, ReBAR, CPU) */
    uint32_t subgroup_size;            /* default subgroup (warp/wave) width */
    uint32_t shared_memory_bytes;      /* maxComputeSharedMemorySize */
    uint32_t max_workgroup_invocations; /* maxComputeWorkGroupInvocations */
    uint32_t max_workgroup_count[3];   /* maxComputeWorkGroupCount */
    uint64_t min_storage_offset_alignment; /* minStorageBufferOffsetAlignment */
    uint64_t max_storage_buffer_range; /* largest bindable storage-buffer range */
    uint64_t max_allocation_size;      /* maxMemoryAllocationSize */
    bool fp16;                         /* shaderFloat16 */
    bool int8;                         /* shaderInt8 */
    bool storage16;                    /* storageBuffer16BitAccess */
    bool storage8;                     /* storageBuffer8BitAccess */
    bool cooperative_matrix;           /* VK_KHR_cooperative_matrix is exposed */
    bool timestamps;                   /* compute queue supports timestamp queries */
    float timestamp_period_ns;         /* nanoseconds per timestamp tick */
    uint32_t timestamp_valid_bits;     /* valid bits of a timestamp on the compute queue */
    uint32_t compute_queue_family;     /* queue family used for compute */
} vkr_device_info;

/* Whether to enable the Khronos validation layer. */
typedef enum vkr_validation_mode {
    VKR_VALIDATION_FROM_ENV = 0, /* on when VKR_VALIDATE=1 in the environment (the default) */
    VKR_VALIDATION_OFF,          /* never */
    VKR_VALIDATION_ON            /* always; creation fails when the layer is not installed */
} vkr_validation_mode;

/* Options for vkr_instance_create; zero-initialize for defaults. */
typedef struct vkr_instance_options {
    vkr_validation_mode validation; /* validation layer policy */
} vkr_instance_options;

/* An instance and its enumerated devices. */
typedef struct vkr_instance vkr_instance;

/* Creates an instance and enumerates devices; fails plainly when no loader or driver exists. */
vkr_status vkr_instance_create(const vkr_instance_options* options, vkr_instance** out_instance);
/* Destroys the instance; all devices created from it must be destroyed first. */
void vkr_instance_destroy(vkr_instance* instance);
/* Number of physical devices found. */
uint32_t vkr_instance_device_count(const vkr_instance* instance);
/* Info for device `index`, or NULL when out of range. */
const vkr_device_info* vkr_instance_device_info(const vkr_instance* instance, uint32_t index);
/* Picks a device: `selector` (an index or a case-insensitive name substring), else VKR_DEVICE from
 * the environment, else the best by type (discrete > integrated > virtual > CPU); data-parallel ranks
 * of one node take the devices of that type in turn by local rank (vkr_dist). */
vkr_status vkr_instance_pick_device(const vkr_instance* instance, const char* selector,
                                    uint32_t* out_index);
/* True when the validation layer is active. */
bool vkr_instance_validation_enabled(const vkr_instance* instance);
/* Validation errors reported so far. */
uint64_t vkr_instance_validation_errors(const vkr_instance* instance);
/* Validation warnings reported so far. */
uint64_t vkr_instance_validation_warnings(const vkr_instance* instance);
/* Raw VkInstance handle. */
VkInstance vkr_instance_handle(const vkr_instance* instance);

/* Readable name of a device type, e.g. "discrete GPU". */
const char* vkr_device_type_name(vkr_device_type type);
/* Formats a Vulkan version as "1.3.239" into buf. */
void vkr_format_version(uint32_t version, char* buf, size_t buf_size);

#endif
