/* Sanitizer builds only: the Vulkan loader unloads drivers and layers at vkDestroyInstance, so a leak
 * report at exit (LeakSanitizer) shows their frames as <unknown module>, which no suppression can
 * name (lavapipe's one-time CPU detection leaks 128 bytes on some hosts). Pinning them keeps the
 * frames symbolized, and tests/lsan.supp names the libraries. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "vkr_internal.h"

#ifdef VKR_SANITIZE_BUILD
static int vkr_pin_one(struct dl_phdr_info* info, size_t size, void* user) {
    (void)size, (void)user;
    const char* name = info->dlpi_name;
    if (name && (strstr(name, "libvulkan_") || strstr(name, "VkLayer") || strstr(name, "libLLVM")))
        (void)dlopen(name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE); /* never closed: that is the point */
    return 0;
}
#endif

void vkr_pin_driver_modules(void) {
#ifdef VKR_SANITIZE_BUILD
    dl_iterate_phdr(vkr_pin_one, NULL);
#endif
}
