/* Persistent VkPipelineCache per device UUID, with a validated header and atomic replacement. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vkr_file.h"
#include "vkr_internal.h"

#define VKR_CACHE_MAGIC "VKRPCAC1"

/* Our header in front of the driver's blob; every field must match the running device. */
typedef struct vkr_cache_header {
    char magic[8];
    uint32_t vendor_id;
    uint32_t device_id;
    uint32_t driver_version;
    uint32_t checksum; /* FNV-1a of the blob */
    uint8_t cache_uuid[VK_UUID_SIZE];
    uint64_t data_size;
} vkr_cache_header;

static uint32_t vkr_fnv1a(const uint8_t* p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static vkr_status vkr_mkdir_p(const char* path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char* p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return vkr_fail(VKR_ERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return vkr_fail(VKR_ERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
    return VKR_OK;
}

/* Reads and validates the cache file; returns a malloc'd blob or NULL (with a warning when the file
 * exists but is unusable). */
static void* vkr_cache_read(const vkr_device* dev, size_t* out_size) {
    *out_size = 0;
    FILE* f = fopen(dev->cache_path, "rb");
    if (!f) return NULL;
    vkr_cache_header h;
    const char* why = NULL;
    void* data = NULL;
    if (fread(&h, sizeof h, 1, f) != 1) why = "it is shorter than its header";
    else if (memcmp(h.magic, VKR_CACHE_MAGIC, 8) != 0) why = "it is not a vkrec pipeline cache";
    else if (h.vendor_id != dev->info.vendor_id || h.device_id != dev->info.device_id)
        why = "it was written for another device";
    else if (h.driver_version != dev->info.driver_version) why = "it was written by another driver version";
    else if (memcmp(h.cache_uuid, dev->info.pipeline_cache_uuid, VK_UUID_SIZE) != 0)
        why = "its pipeline-cache UUID does not match the driver's";
    else if (h.data_size < 32 || h.data_size > (256ull << 20)) why = "its size field is implausible";
    if (!why) {
        data = malloc(h.data_size);
        if (!data || fread(data, 1, h.data_size, f) != h.data_size) why = "it is truncated";
        else if (vkr_fnv1a(data, h.data_size) != h.checksum) why = "its checksum does not match (corrupt)";
        else {
            /* The driver's own header: length, version 1, vendor, device, UUID. */
            uint32_t vk_hdr[4];
            memcpy(vk_hdr, data, sizeof vk_hdr);
            if (vk_hdr[0] < 32 || vk_hdr[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE ||
                vk_hdr[2] != dev->info.vendor_id || vk_hdr[3] != dev->info.device_id ||
                memcmp((uint8_t*)data + 16, dev->info.pipeline_cache_uuid, VK_UUID_SIZE) != 0)
                why = "the driver's header inside it does not match this device";
        }
    }
    fclose(f);
    if (why) {
        vkr_log(VKR_LOG_WARN, "ignoring pipeline cache %s: %s; it will be rebuilt", dev->cache_path, why);
        free(data);
        return NULL;
    }
    *out_size = h.data_size;
    return data;
}

vkr_status vkr_pipeline_cache_init(vkr_device* dev, const char* cache_dir) {
    char dir[900] = "";
    if (cache_dir) {
        snprintf(dir, sizeof dir, "%s", cache_dir);
    } else {
        const char* xdg = getenv("XDG_CACHE_HOME");
        const char* home = getenv("HOME");
        if (xdg && *xdg) snprintf(dir, sizeof dir, "%s/vkrec", xdg);
        else if (home && *home) snprintf(dir, sizeof dir, "%s/.cache/vkrec", home);
    }
    size_t blob_size = 0;
    void* blob = NULL;
    if (dir[0]) {
        char uuid[2 * VK_UUID_SIZE + 1];
        for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", dev->info.device_uuid[i]);
        snprintf(dev->cache_path, sizeof dev->cache_path, "%s/%s.pcache", dir, uuid);
        blob = vkr_cache_read(dev, &blob_size);
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = blob_size, .pInitialData = blob};
    VkResult r = vkCreatePipelineCache(dev->vk, &ci, NULL, &dev->pipeline_cache);
    if (r != VK_SUCCESS && blob) {
        vkr_log(VKR_LOG_WARN, "the driver rejected pipeline cache %s (%s); starting empty", dev->cache_path,
                vkr_vk_result_name(r));
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        blob_size = 0;
        r = vkCreatePipelineCache(dev->vk, &ci, NULL, &dev->pipeline_cache);
    }
    free(blob);
    VKR_CHECK_VK(r, "vkCreatePipelineCache");
    dev->cache_loaded = blob_size;
    return VKR_OK;
}

vkr_status vkr_device_save_pipeline_cache(vkr_device* dev) {
    if (!dev->cache_path[0] || !dev->pipeline_cache) return VKR_OK;
    size_t size = 0;
    VKR_CHECK_VK(vkGetPipelineCacheData(dev->vk, dev->pipeline_cache, &size, NULL), "vkGetPipelineCacheData");
    if (size < 32) return VKR_OK;
    void* data = malloc(size);
    if (!data) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory saving the pipeline cache");
    VkResult r = vkGetPipelineCacheData(dev->vk, dev->pipeline_cache, &size, data);
    if (r != VK_SUCCESS) {
        free(data);
        return vkr_fail(vkr_status_from_vk(r), "vkGetPipelineCacheData failed: %s", vkr_vk_result_name(r));
    }
    vkr_cache_header h = {.vendor_id = dev->info.vendor_id, .device_id = dev->info.device_id,
                          .driver_version = dev->info.driver_version, .data_size = size};
    memcpy(h.magic, VKR_CACHE_MAGIC, 8);
    memcpy(h.cache_uuid, dev->info.pipeline_cache_uuid, VK_UUID_SIZE);
    h.checksum = vkr_fnv1a(data, size);

    char dir[1024];
    snprintf(dir, sizeof dir, "%s", dev->cache_path);
    char* slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    vkr_status s = slash ? vkr_mkdir_p(dir) : VKR_OK;
    vkr_atomic_file w;
    if (s == VKR_OK) s = vkr_atomic_open(dev->cache_path, &w);
    if (s == VKR_OK) {
        fwrite(&h, sizeof h, 1, w.file); /* vkr_atomic_commit reports a failed write */
        fwrite(data, 1, size, w.file);
        s = vkr_atomic_commit(&w);
    }
    free(data);
    if (s == VKR_OK) dev->cache_dirty = false;
    return s;
}

uint64_t vkr_device_pipeline_cache_loaded(const vkr_device* dev) { return dev ? dev->cache_loaded : 0; }
const char* vkr_device_pipeline_cache_path(const vkr_device* dev) { return dev ? dev->cache_path : ""; }
