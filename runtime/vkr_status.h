/* Status codes, the thread-local last-error message, and logging.
 *
 * Contract: every fallible vkr_ function returns a vkr_status. On failure it has recorded a
 * human-readable message (naming the argument, file or Vulkan call at fault) retrievable with
 * vkr_last_error() on the same thread. Library code never aborts or exits. */
#ifndef VKR_STATUS_H
#define VKR_STATUS_H
#include <stdarg.h>
#include <vulkan/vulkan.h>

/* Result of a fallible vkr_ call; VKR_OK is zero. */
typedef enum vkr_status {
    VKR_OK = 0,
    VKR_ERR_INVALID_ARGUMENT,     /* a caller-supplied value is out of range or inconsistent */
    VKR_ERR_NO_LOADER,            /* no Vulkan loader or driver could create an instance */
    VKR_ERR_NO_DEVICE,            /* no usable Vulkan device, or the selector matched none */
    VKR_ERR_OUT_OF_DEVICE_MEMORY, /* a device-memory allocation failed or cannot fit the heap */
    VKR_ERR_OUT_OF_HOST_MEMORY,   /* malloc or the driver's host allocation failed */
    VKR_ERR_DEVICE_LOST,          /* the device was lost (driver reset, watchdog, crash) */
    VKR_ERR_TIMEOUT,              /* a wait on the device exceeded its limit */
    VKR_ERR_VULKAN,               /* any other Vulkan error */
    VKR_ERR_IO,                   /* a file could not be read or written */
    VKR_ERR_FORMAT,               /* a file or input is malformed */
    VKR_ERR_UNSUPPORTED,          /* the device lacks a required feature */
    VKR_ERR_NOT_FOUND,            /* a named object (shader, device, key) does not exist */
    VKR_ERR_STATE                 /* the call is not valid in the object's current state */
} vkr_status;

/* Log verbosity; messages at or below the current level are printed to stderr. */
typedef enum vkr_log_level {
    VKR_LOG_QUIET = -1, /* print nothing */
    VKR_LOG_ERROR = 0,  /* errors only */
    VKR_LOG_WARN = 1,   /* errors and warnings (default) */
    VKR_LOG_INFO = 2,   /* plus progress and informational lines */
    VKR_LOG_DEBUG = 3   /* plus debugging detail */
} vkr_log_level;

/* Short stable name of a status, e.g. "out of device memory". */
const char* vkr_status_name(vkr_status status);
/* Message recorded by the last failing vkr_ call on this thread ("" if none). */
const char* vkr_last_error(void);
/* Records a formatted error message for this thread and returns `status` (for `return vkr_fail(...)`). */
vkr_status vkr_fail(vkr_status status, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with context, e.g. "loading model.safetensors: ", and returns status. */
vkr_status vkr_fail_context(vkr_status status, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clears this thread's error message. */
void vkr_clear_error(void);
/* Maps a VkResult to a vkr_status (VK_SUCCESS -> VKR_OK). */
vkr_status vkr_status_from_vk(VkResult result);
/* Name of a VkResult, e.g. "VK_ERROR_DEVICE_LOST". */
const char* vkr_vk_result_name(VkResult result);

/* Sets the global log level (default VKR_LOG_WARN, or VKR_LOG from the environment). */
void vkr_log_set_level(vkr_log_level level);
/* Current global log level. */
vkr_log_level vkr_log_get_level(void);
/* Reads seconds from environment variable `name` into *out (fallback when unset or empty);
 * INVALID_ARGUMENT naming the variable when it is not a positive finite number. */
vkr_status vkr_env_seconds(const char* name, double fallback, double* out);
/* Checks the environment variables the runtime reads (VKR_LOG: -1..3, VKR_TIMEOUT: seconds > 0), so
 * that a mistyped value is an error instead of a silent default. */
vkr_status vkr_env_check(void);
/* Prints one line to stderr when `level` is enabled. */
void vkr_log(vkr_log_level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks a VkResult; on failure records "<what>: <VkResult name>" and returns the mapped status. */
#define VKR_CHECK_VK(expr, what)                                                        \
    do {                                                                                \
        VkResult vkr_r_ = (expr);                                                       \
        if (vkr_r_ != VK_SUCCESS)                                                       \
            return vkr_fail(vkr_status_from_vk(vkr_r_), "%s failed: %s", (what),        \
                            vkr_vk_result_name(vkr_r_));                                \
    } while (0)

/* Propagates a non-OK vkr_status. */
#define VKR_TRY(expr)                        \
    do {                                     \
        vkr_status vkr_s_ = (expr);          \
        if (vkr_s_ != VKR_OK) return vkr_s_; \
    } while (0)

#endif
