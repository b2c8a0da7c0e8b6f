#include "vkr_status.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char vkr_error_buf[1024];
static int vkr_log_level_value = -2; /* -2: not yet read from the environment */

const char* vkr_status_name(vkr_status status) {
    switch (status) {
        case VKR_OK: return "ok";
        case VKR_ERR_INVALID_ARGUMENT: return "invalid argument";
        case VKR_ERR_NO_LOADER: return "no Vulkan loader";
        case VKR_ERR_NO_DEVICE: return "no device";
        case VKR_ERR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
        case VKR_ERR_OUT_OF_HOST_MEMORY: return "out of host memory";
        case VKR_ERR_DEVICE_LOST: return "device lost";
        case VKR_ERR_TIMEOUT: return "timeout";
        case VKR_ERR_VULKAN: return "Vulkan error";
        case VKR_ERR_IO: return "I/O error";
        case VKR_ERR_FORMAT: return "malformed input";
        case VKR_ERR_UNSUPPORTED: return "unsupported";
        case VKR_ERR_NOT_FOUND: return "not found";
        case VKR_ERR_STATE: return "invalid state";
    }
    return "unknown status";
}

const char* vkr_last_error(void) { return vkr_error_buf; }

void vkr_clear_error(void) { vkr_error_buf[0] = '\0'; }

vkr_status vkr_fail(vkr_status status, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vkr_error_buf, sizeof vkr_error_buf, fmt, ap);
    va_end(ap);
    return status;
}

vkr_status vkr_fail_context(vkr_status status, const char* fmt, ...) {
    char prefix[512];
    char old[sizeof vkr_error_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, vkr_error_buf, sizeof old);
    snprintf(vkr_error_buf, sizeof vkr_error_buf, "%s%s", prefix, old);
    return status;
}

vkr_status vkr_status_from_vk(VkResult result) {
    switch (result) {
        case VK_SUCCESS: return VKR_OK;
        case VK_ERROR_OUT_OF_HOST_MEMORY: return VKR_ERR_OUT_OF_HOST_MEMORY;
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return VKR_ERR_OUT_OF_DEVICE_MEMORY;
        case VK_ERROR_DEVICE_LOST: return VKR_ERR_DEVICE_LOST;
        case VK_TIMEOUT: return VKR_ERR_TIMEOUT;
        case VK_ERROR_INCOMPATIBLE_DRIVER: return VKR_ERR_NO_LOADER;
        case VK_ERROR_FEATURE_NOT_PRESENT:
        case VK_ERROR_EXTENSION_NOT_PRESENT:
        case VK_ERROR_LAYER_NOT_PRESENT: return VKR_ERR_UNSUPPORTED;
        default: return VKR_ERR_VULKAN;
    }
}

const char* vkr_vk_result_name(VkResult result) {
    switch (result) {
#define VKR_NAME(x) \
    case x: return #x;
        VKR_NAME(VK_SUCCESS)
        VKR_NAME(VK_NOT_READY)
        VKR_NAME(VK_TIMEOUT)
        VKR_NAME(VK_EVENT_SET)
        VKR_NAME(VK_EVENT_RESET)
        VKR_NAME(VK_INCOMPLETE)
        VKR_NAME(VK_ERROR_OUT_OF_HOST_MEMORY)
        VKR_NAME(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        VKR_NAME(VK_ERROR_INITIALIZATION_FAILED)
        VKR_NAME(VK_ERROR_DEVICE_LOST)
        VKR_NAME(VK_ERROR_MEMORY_MAP_FAILED)
        VKR_NAME(VK_ERROR_LAYER_NOT_PRESENT)
        VKR_NAME(VK_ERROR_EXTENSION_NOT_PRESENT)
        VKR_NAME(VK_ERROR_FEATURE_NOT_PRESENT)
        VKR_NAME(VK_ERROR_INCOMPATIBLE_DRIVER)
        VKR_NAME(VK_ERROR_TOO_MANY_OBJECTS)
        VKR_NAME(VK_ERROR_FORMAT_NOT_SUPPORTED)
        VKR_NAME(VK_ERROR_FRAGMENTED_POOL)
        VKR_NAME(VK_ERROR_UNKNOWN)
        VKR_NAME(VK_ERROR_OUT_OF_POOL_MEMORY)
        VKR_NAME(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        VKR_NAME(VK_ERROR_FRAGMENTATION)
        VKR_NAME(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
        VKR_NAME(VK_PIPELINE_COMPILE_REQUIRED)
#undef VKR_NAME
        default: return "VkResult(unknown)";
    }
}

/* VKR_LOG as a level, or VKR_LOG_WARN when unset; false when it is set to anything but -1..3. */
static bool vkr_log_level_env(int* level) {
    const char* env = getenv("VKR_LOG");
    *level = VKR_LOG_WARN;
    if (!env || !*env) return true;
    char* end = NULL;
    long v = strtol(env, &end, 10);
    if (*end != '\0' || v < VKR_LOG_QUIET || v > VKR_LOG_DEBUG) return false;
    *level = (int)v;
    return true;
}

static vkr_log_level vkr_log_level_current(void) {
    if (vkr_log_level_value == -2) {
        int level;
        vkr_log_level_env(&level); /* a bad value keeps the default here; vkr_env_check reports it */
        vkr_log_level_value = level;
    }
    return (vkr_log_level)vkr_log_level_value;
}

vkr_status vkr_env_seconds(const char* name, double fallback, double* out) {
    *out = fallback;
    const char* v = getenv(name);
    if (!v || !*v) return VKR_OK;
    char* end = NULL;
    double d = strtod(v, &end);
    if (*end != '\0' || !(d > 0) || !isfinite(d))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s='%s' is not a positive number of seconds", name, v);
    *out = d;
    return VKR_OK;
}

vkr_status vkr_env_check(void) {
    int level;
    if (!vkr_log_level_env(&level))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "VKR_LOG='%s' is not a log level (-1 quiet, 0 errors, 1 warnings, "
                        "2 info, 3 debug)", getenv("VKR_LOG"));
    double t;
    return vkr_env_seconds("VKR_TIMEOUT", 1, &t);
}

void vkr_log_set_level(vkr_log_level level) { vkr_log_level_value = (int)level; }

vkr_log_level vkr_log_get_level(void) { return vkr_log_level_current(); }

void vkr_log(vkr_log_level level, const char* fmt, ...) {
    if ((int)level > (int)vkr_log_level_current()) return;
    static const char* const prefix[] = {"error", "warning", "info", "debug"};
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vkrec: %s: ", prefix[level < 0 ? 0 : level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
