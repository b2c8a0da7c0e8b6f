/* vkrec runtime: the one header to include for the Vulkan compute runtime. */
#ifndef VKR_RUNTIME_H
#define VKR_RUNTIME_H
#include "vkr_array.h"
#include "vkr_clock.h"
#include "vkr_device.h"
#include "vkr_instance.h"
#include "vkr_kernel.h"
#include "vkr_memory.h"
#include "vkr_sequence.h"
#include "vkr_status.h"

/* vkrec version string, e.g. "0.1.0". */
const char* vkr_version(void);

#endif
