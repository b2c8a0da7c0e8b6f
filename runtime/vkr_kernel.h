/* Compute kernels: pipelines built from embedded SPIR-V.
 *
 * Contract: a kernel is an embedded shader plus specialization constants (constant_id = index into
 * `spec`, all uint32). Binding i of set 0 is a storage buffer for every i < binding_count; each
 * binding declares whether the shader reads it, writes it, or both, which is what sequences use to
 * place barriers. Shapes travel as push constants (at most VKR_MAX_PUSH_BYTES). Kernels are cached
 * on the device by (shader, spec constants) and live until the device is destroyed. */
#ifndef VKR_KERNEL_H
#define VKR_KERNEL_H
#include <stdint.h>

#include "vkr_device.h"

#define VKR_MAX_BINDINGS 12
#define VKR_MAX_SPEC 16
#define VKR_MAX_PUSH_BYTES 128

/* How a kernel uses one binding. */
typedef enum vkr_access {
    VKR_READ = 1,       /* only read */
    VKR_WRITE = 2,      /* only written */
    VKR_READ_WRITE = 3  /* read and written */
} vkr_access;

/* Describes a kernel to build. */
typedef struct vkr_kernel_desc {
    const char* shader;          /* embedded shader name, e.g. "saxpy" */
    uint32_t binding_count;      /* storage buffers at bindings 0..binding_count-1 */
    vkr_access access[VKR_MAX_BINDINGS]; /* per-binding use */
    uint32_t push_bytes;         /* bytes of push constants the shader declares */
    uint32_t spec_count;         /* number of specialization constants */
    uint32_t spec[VKR_MAX_SPEC]; /* values for constant_id 0..spec_count-1 */
} vkr_kernel_desc;

/* A compute pipeline and its binding contract. */
typedef struct vkr_kernel vkr_kernel;

/* Returns the kernel for `desc`, building it (through the pipeline cache) on first use. */
vkr_status vkr_kernel_get(vkr_device* device, const vkr_kernel_desc* desc, vkr_kernel** out_kernel);
/* Name used in profiles and errors, e.g. "saxpy" or "matmul[64,4]". */
const char* vkr_kernel_name(const vkr_kernel* kernel);
/* Number of kernels built on this device so far. */
uint32_t vkr_device_kernel_count(const vkr_device* device);

#endif
