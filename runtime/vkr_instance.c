#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_dist.h"
#include "vkr_internal.h"

/* The Debian 12 headers (1.3.239) predate VK_KHR_cooperative_matrix; only its name is needed here. */
#define VKR_COOPMAT_EXTENSION "VK_KHR_cooperative_matrix"

static const char* const vkr_validation_layer = "VK_LAYER_KHRONOS_validation";

static VKAPI_ATTR VkBool32 VKAPI_CALL vkr_debug_callback(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    (void)types;
    vkr_instance* instance = user;
    const char* msg = data && data->pMessage ? data->pMessage : "(no message)";
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        instance->validation_errors++;
        vkr_log(VKR_LOG_ERROR, "validation: %s", msg);
    } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        instance->validation_warnings++;
        vkr_log(VKR_LOG_WARN, "validation: %s", msg);
    }
    return VK_FALSE;
}

static bool vkr_env_flag(const char* name) {
    const char* v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static bool vkr_layer_available(const char* layer) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
    VkLayerProperties* props = calloc(n, sizeof *props);
    if (!props) return false;
    bool found = false;
    if (vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].layerName, layer) == 0;
    free(props);
    return found;
}

static bool vkr_instance_extension_available(const char* layer, const char* ext) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0) return false;
    VkExtensionProperties* props = calloc(n, sizeof *props);
    if (!props) return false;
    bool found = false;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].extensionName, ext) == 0;
    free(props);
    return found;
}

static bool vkr_device_extension_available(VkPhysicalDevice pd, const char* ext) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0) return false;
    VkExtensionProperties* props = calloc(n, sizeof *props);
    if (!props) return false;
    bool found = false;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].extensionName, ext) == 0;
    free(props);
    return found;
}

static const char* vkr_vendor_name(uint32_t vendor_id) {
    switch (vendor_id) {
        case 0x10DE: return "NVIDIA";
        case 0x1002: return "AMD";
        case 0x1022: return "AMD";
        case 0x8086: return "Intel";
        case 0x13B5: return "ARM";
        case 0x5143: return "Qualcomm";
        case 0x106B: return "Apple";
        case 0x10005: return "Mesa";
        case 0x1AE0: return "Google";
        default: return "unknown";
    }
}

static vkr_device_type vkr_map_type(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VKR_DEVICE_DISCRETE;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VKR_DEVICE_INTEGRATED;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VKR_DEVICE_VIRTUAL;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return VKR_DEVICE_CPU;
        default: return VKR_DEVICE_OTHER;
    }
}

const char* vkr_device_type_name(vkr_device_type type) {
    static const char* const names[] = {"discrete GPU", "integrated GPU", "virtual GPU", "CPU", "other"};
    return (unsigned)type <= VKR_DEVICE_OTHER ? names[type] : "other";
}

void vkr_format_version(uint32_t v, char* buf, size_t n) {
    snprintf(buf, n, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
             VK_API_VERSION_PATCH(v));
}

/* Identity, driver, and subgroup size; the driver properties need Vulkan 1.2. */
static void vkr_query_properties(VkPhysicalDevice pd, const VkPhysicalDeviceProperties* base, vkr_device_info* info) {
    bool v12 = base->apiVersion >= VK_API_VERSION_1_2;
    VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                                   .pNext = v12 ? &driver : NULL};
    VkPhysicalDeviceIDProperties ids = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES,
                                        .pNext = &subgroup};
    VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &ids};
    vkGetPhysicalDeviceProperties2(pd, &props);

    snprintf(info->name, sizeof info->name, "%s", base->deviceName);
    info->vendor_id = base->vendorID;
    info->device_id = base->deviceID;
    info->vendor = vkr_vendor_name(base->vendorID);
    info->type = vkr_map_type(base->deviceType);
    if (v12) {
        snprintf(info->driver_name, sizeof info->driver_name, "%s", driver.driverName);
        snprintf(info->driver_info, sizeof info->driver_info, "%s", driver.driverInfo);
    }
    info->driver_version = base->driverVersion;
    info->api_version = base->apiVersion;
    memcpy(info->device_uuid, ids.deviceUUID, VK_UUID_SIZE);
    memcpy(info->pipeline_cache_uuid, base->pipelineCacheUUID, VK_UUID_SIZE);
    info->subgroup_size = subgroup.subgroupSize;
}

/* Shader arithmetic and storage widths; all but 16-bit storage need Vulkan 1.2. */
static void vkr_query_features(VkPhysicalDevice pd, bool v12, vkr_device_info* info) {
    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                .pNext = v12 ? &f12 : NULL};
    VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(pd, &feats);
    info->fp16 = v12 && f12.shaderFloat16;
    info->int8 = v12 && f12.shaderInt8;
    info->storage8 = v12 && f12.storageBuffer8BitAccess;
    info->storage16 = s16.storageBuffer16BitAccess;
}

static void vkr_query_memory(VkPhysicalDevice pd, vkr_device_info* info) {
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    info->heap_count = mem.memoryHeapCount < VKR_MAX_HEAPS ? mem.memoryHeapCount : VKR_MAX_HEAPS;
    for (uint32_t h = 0; h < info->heap_count; h++) {
        info->heap_size[h] = mem.memoryHeaps[h].size;
        info->heap_device_local[h] = (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    }
    const VkMemoryPropertyFlags mapped_local =
        VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for (uint32_t t = 0; t < mem.memoryTypeCount; t++)
        if ((mem.memoryTypes[t].propertyFlags & mapped_local) == mapped_local) info->host_visible_device_local = true;
}

static void vkr_query_limits(VkPhysicalDevice pd, const VkPhysicalDeviceLimits* lim, vkr_device_info* info) {
    info->shared_memory_bytes = lim->maxComputeSharedMemorySize;
    info->max_workgroup_invocations = lim->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) info->max_workgroup_count[i] = lim->maxComputeWorkGroupCount[i];
    info->min_storage_offset_alignment = lim->minStorageBufferOffsetAlignment;
    info->max_storage_buffer_range = lim->maxStorageBufferRange;
    info->max_allocation_size = 1ull << 30; /* Vulkan's guaranteed minimum when 1.1 info is absent */
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    if (m3.maxMemoryAllocationSize) info->max_allocation_size = m3.maxMemoryAllocationSize;
}

/* Picks the compute queue family and whether it has timestamps. */
static void vkr_query_queues(VkPhysicalDevice pd, const VkPhysicalDeviceLimits* lim, vkr_device_info* info) {
    uint32_t qn = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qn, NULL);
    VkQueueFamilyProperties* qf = calloc(qn ? qn : 1, sizeof *qf);
    info->compute_queue_family = UINT32_MAX;
    if (qf) {
        vkGetPhysicalDeviceQueueFamilyProperties(pd, &qn, qf);
        /* Prefer a queue family with compute; among those, one that also does graphics is the
         * main queue on every desktop driver and the one with timestamps. */
        for (uint32_t q = 0; q < qn; q++) {
            if (!(qf[q].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
            if (info->compute_queue_family == UINT32_MAX || (qf[q].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
                if (info->compute_queue_family != UINT32_MAX &&
                    (qf[info->compute_queue_family].queueFlags & VK_QUEUE_GRAPHICS_BIT))
                    continue;
                info->compute_queue_family = q;
            }
        }
        if (info->compute_queue_family != UINT32_MAX) {
            info->timestamp_valid_bits = qf[info->compute_queue_family].timestampValidBits;
            info->timestamps = info->timestamp_valid_bits > 0 && lim->timestampPeriod > 0;
        }
        free(qf);
    }
    info->timestamp_period_ns = lim->timestampPeriod;
}

static void vkr_query_device(VkPhysicalDevice pd, uint32_t index, vkr_device_info* info) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(pd, &base);
    info->index = index;
    vkr_query_properties(pd, &base, info);
    vkr_query_features(pd, base.apiVersion >= VK_API_VERSION_1_2, info);
    vkr_query_memory(pd, info);
    vkr_query_limits(pd, &base.limits, info);
    info->cooperative_matrix = vkr_device_extension_available(pd, VKR_COOPMAT_EXTENSION);
    vkr_query_queues(pd, &base.limits, info);
}

/* The layers and instance extensions vkr_instance_create enables. */
typedef struct vkr_instance_setup {
    const char* layers[1];
    uint32_t layer_count;
    const char* exts[2];
    uint32_t ext_count;
    bool debug_utils;
    bool features_ext;
} vkr_instance_setup;

static vkr_status vkr_check_loader(void) {
    uint32_t loader_version = 0;
    if (vkEnumerateInstanceVersion(&loader_version) != VK_SUCCESS || loader_version < VK_API_VERSION_1_1)
        return vkr_fail(VKR_ERR_NO_LOADER,
                        "the Vulkan loader is missing or older than 1.1; install libvulkan1 and a driver "
                        "(apt-get install mesa-vulkan-drivers gives the lavapipe CPU driver)");
    return VKR_OK;
}

/* The validation layer, with debug utils and validation features where it offers them. */
static vkr_status vkr_setup_validation(vkr_instance_setup* su) {
    if (!vkr_layer_available(vkr_validation_layer))
        return vkr_fail(VKR_ERR_UNSUPPORTED,
                        "validation was requested (VKR_VALIDATE=1) but %s is not installed; "
                        "apt-get install vulkan-validationlayers",
                        vkr_validation_layer);
    su->layers[su->layer_count++] = vkr_validation_layer;
    su->debug_utils = vkr_instance_extension_available(NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                      vkr_instance_extension_available(vkr_validation_layer, VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (su->debug_utils) su->exts[su->ext_count++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    su->features_ext = vkr_instance_extension_available(vkr_validation_layer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (su->features_ext) su->exts[su->ext_count++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    return VKR_OK;
}

static VkDebugUtilsMessengerCreateInfoEXT vkr_messenger_info(vkr_instance* inst, const void* next) {
    return (VkDebugUtilsMessengerCreateInfoEXT){
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .pNext = next,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = vkr_debug_callback,
        .pUserData = inst,
    };
}

/* Creates inst->vk, and its debug messenger when debug utils are enabled. */
static vkr_status vkr_create_vk_instance(vkr_instance* inst, const vkr_instance_setup* su) {
    /* Synchronization validation checks that the sequences' barriers are sufficient. */
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT vfeatures = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = enables,
    };
    VkDebugUtilsMessengerCreateInfoEXT messenger_info =
        vkr_messenger_info(inst, su->features_ext && !vkr_env_flag("VKR_NO_SYNC_VALIDATION") ? &vfeatures : NULL);
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkrec",
        .applicationVersion = VK_MAKE_API_VERSION(0, 0, 1, 0),
        .pEngineName = "vkrec",
        .apiVersion = VK_API_VERSION_1_2,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = su->debug_utils ? (const void*)&messenger_info : (su->features_ext ? (const void*)&vfeatures : NULL),
        .pApplicationInfo = &app,
        .enabledLayerCount = su->layer_count,
        .ppEnabledLayerNames = su->layers,
        .enabledExtensionCount = su->ext_count,
        .ppEnabledExtensionNames = su->exts,
    };
    VkResult r = vkCreateInstance(&ci, NULL, &inst->vk);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return vkr_fail(VKR_ERR_NO_LOADER,
                        "no Vulkan driver is installed (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); "
                        "apt-get install mesa-vulkan-drivers for the lavapipe CPU driver");
    if (r != VK_SUCCESS) return vkr_fail(vkr_status_from_vk(r), "vkCreateInstance failed: %s", vkr_vk_result_name(r));
    if (su->debug_utils) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(inst->vk, "vkCreateDebugUtilsMessengerEXT");
        messenger_info.pNext = NULL;
        if (create) create(inst->vk, &messenger_info, NULL, &inst->messenger);
    }
    return VKR_OK;
}

/* Lists the physical devices and queries each one's info. */
static vkr_status vkr_enumerate_devices(vkr_instance* inst) {
    VkResult r = vkEnumeratePhysicalDevices(inst->vk, &inst->device_count, NULL);
    if (r == VK_SUCCESS && inst->device_count > 0) {
        inst->physical = calloc(inst->device_count, sizeof *inst->physical);
        inst->info = calloc(inst->device_count, sizeof *inst->info);
        if (!inst->physical || !inst->info)
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory enumerating devices");
        r = vkEnumeratePhysicalDevices(inst->vk, &inst->device_count, inst->physical);
    }
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return vkr_fail(vkr_status_from_vk(r), "vkEnumeratePhysicalDevices failed: %s", vkr_vk_result_name(r));
    for (uint32_t i = 0; i < inst->device_count; i++) vkr_query_device(inst->physical[i], i, &inst->info[i]);
    return VKR_OK;
}

vkr_status vkr_instance_create(const vkr_instance_options* options, vkr_instance** out_instance) {
    if (!out_instance) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_instance_create: out_instance is NULL");
    *out_instance = NULL;
    vkr_validation_mode mode = options ? options->validation : VKR_VALIDATION_FROM_ENV;
    bool validate = mode == VKR_VALIDATION_ON || (mode == VKR_VALIDATION_FROM_ENV && vkr_env_flag("VKR_VALIDATE"));
    VKR_TRY(vkr_check_loader());

    vkr_instance* inst = calloc(1, sizeof *inst);
    if (!inst) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating the instance");
    vkr_instance_setup su = {0};
    vkr_status s = validate ? vkr_setup_validation(&su) : VKR_OK;
    if (s == VKR_OK) s = vkr_create_vk_instance(inst, &su);
    if (s != VKR_OK) { /* no VkInstance exists yet */
        free(inst);
        return s;
    }
    inst->validation = validate;
    s = vkr_enumerate_devices(inst);
    vkr_pin_driver_modules(); /* the drivers are loaded now */
    if (s != VKR_OK) {
        vkr_instance_destroy(inst);
        return s;
    }
    *out_instance = inst;
    return VKR_OK;
}

void vkr_instance_destroy(vkr_instance* inst) {
    if (!inst) return;
    if (inst->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(inst->vk, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy) destroy(inst->vk, inst->messenger, NULL);
    }
    if (inst->vk) vkDestroyInstance(inst->vk, NULL);
    free(inst->physical);
    free(inst->info);
    free(inst);
}

uint32_t vkr_instance_device_count(const vkr_instance* inst) { return inst ? inst->device_count : 0; }

const vkr_device_info* vkr_instance_device_info(const vkr_instance* inst, uint32_t index) {
    return inst && index < inst->device_count ? &inst->info[index] : NULL;
}

bool vkr_instance_validation_enabled(const vkr_instance* inst) { return inst && inst->validation; }
uint64_t vkr_instance_validation_errors(const vkr_instance* inst) { return inst ? inst->validation_errors : 0; }
uint64_t vkr_instance_validation_warnings(const vkr_instance* inst) { return inst ? inst->validation_warnings : 0; }
VkInstance vkr_instance_handle(const vkr_instance* inst) { return inst ? inst->vk : VK_NULL_HANDLE; }

static bool vkr_contains_nocase(const char* hay, const char* needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return n == 0;
}

static bool vkr_usable(const vkr_device_info* info) {
    return info->api_version >= VK_API_VERSION_1_2 && info->compute_queue_family != UINT32_MAX;
}

vkr_status vkr_instance_pick_device(const vkr_instance* inst, const char* selector, uint32_t* out_index) {
    if (!inst || !out_index) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_instance_pick_device: NULL argument");
    *out_index = 0;
    if (inst->device_count == 0)
        return vkr_fail(VKR_ERR_NO_DEVICE,
                        "no Vulkan device found; apt-get install mesa-vulkan-drivers for the lavapipe CPU driver");
    const char* source = "--device";
    if (!selector || !*selector) {
        selector = getenv("VKR_DEVICE");
        source = "VKR_DEVICE";
    }
    if (selector && *selector) {
        char* end = NULL;
        unsigned long idx = strtoul(selector, &end, 10);
        bool numeric = end && *end == '\0' && isdigit((unsigned char)selector[0]);
        for (uint32_t i = 0; i < inst->device_count; i++) {
            const vkr_device_info* d = &inst->info[i];
            if (numeric ? idx == i : (vkr_contains_nocase(d->name, selector) || vkr_contains_nocase(d->driver_name, selector))) {
                if (!vkr_usable(d))
                    return vkr_fail(VKR_ERR_UNSUPPORTED, "%s '%s' matched device %u (%s), which lacks Vulkan 1.2 compute",
                                    source, selector, i, d->name);
                *out_index = i;
                return VKR_OK;
            }
        }
        return vkr_fail(VKR_ERR_NO_DEVICE, "%s '%s' matches none of the %u Vulkan device(s); see 'vkrec devices'",
                        source, selector, inst->device_count);
    }
    int best = -1;
    for (uint32_t i = 0; i < inst->device_count; i++) {
        if (!vkr_usable(&inst->info[i])) continue;
        if (best < 0 || inst->info[i].type < inst->info[best].type) best = (int)i;
    }
    if (best < 0)
        return vkr_fail(VKR_ERR_NO_DEVICE, "none of the %u Vulkan device(s) supports Vulkan 1.2 compute",
                        inst->device_count);
    /* data-parallel ranks of one node spread over the devices of the best kind, in turn */
    uint32_t peers = 0;
    for (uint32_t i = 0; i < inst->device_count; i++)
        peers += vkr_usable(&inst->info[i]) && inst->info[i].type == inst->info[best].type;
    for (uint32_t i = 0, k = 0, want = vkr_dist_local_rank() % peers; i < inst->device_count; i++) {
        if (!vkr_usable(&inst->info[i]) || inst->info[i].type != inst->info[best].type) continue;
        if (k++ == want) best = (int)i;
    }
    *out_index = (uint32_t)best;
    return VKR_OK;
}
