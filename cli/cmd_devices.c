/* vkrec devices: what Vulkan offers on this machine. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"

static void print_device(const vkr_device_info* d, bool picked) {
    char api[32];
    vkr_format_version(d->api_version, api, sizeof api);
    printf("%c [%u] %s\n", picked ? '*' : ' ', d->index, d->name);
    printf("      %s, vendor %s (0x%04x), driver %s %s, Vulkan %s\n", vkr_device_type_name(d->type), d->vendor,
           d->vendor_id, d->driver_name[0] ? d->driver_name : "?", d->driver_info, api);
    printf("      memory:");
    for (uint32_t h = 0; h < d->heap_count; h++)
        printf(" heap %u %.1f GiB%s;", h, (double)d->heap_size[h] / (1 << 30), d->heap_device_local[h] ? " device-local" : "");
    printf(" host-mapped device memory: %s\n", d->host_visible_device_local ? "yes" : "no");
    printf("      compute: subgroup %u, shared memory %u KiB, workgroup up to %u invocations, "
           "storage range %.0f MiB\n",
           d->subgroup_size, d->shared_memory_bytes / 1024, d->max_workgroup_invocations,
           (double)d->max_storage_buffer_range / 1048576.0);
    printf("      features: fp16 %s, int8 %s, 16-bit storage %s, cooperative matrix %s, timestamps ",
           d->fp16 ? "yes" : "no", d->int8 ? "yes" : "no", d->storage16 ? "yes" : "no",
           d->cooperative_matrix ? "yes" : "no");
    if (d->timestamps) printf("yes (%.3g ns/tick)\n", d->timestamp_period_ns);
    else printf("no\n");
}

static const cli_option* const devices_shared[] = {&cli_opt_json, &cli_opt_gpu, NULL};
const cli_spec cli_devices_spec = {
    .name = "devices",
    .description = "  Lists every Vulkan device: vendor, type, driver, API version, memory heaps, subgroup size,\n"
                   "  shared memory, fp16/int8/16-bit storage, cooperative matrix, timestamps. The device vkrec\n"
                   "  picks by default is marked with '*' (discrete > integrated > virtual > CPU; override with\n"
                   "  --device INDEX|NAME or VKR_DEVICE).",
    .shared = devices_shared,
};

int cli_cmd_devices(int argc, char** argv) {
    cli_common com = {0};
    if (cli_parse(&cli_devices_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com}) != CLI_OK) return CLI_USAGE;
    const bool json = com.json;
    const char* selector = com.device;
    vkr_instance* inst = NULL;
    vkr_instance_options opts = {.validation = VKR_VALIDATION_FROM_ENV};
    vkr_status s = vkr_instance_create(&opts, &inst);
    if (s != VKR_OK) return cli_fail("devices", s);
    uint32_t n = vkr_instance_device_count(inst);
    uint32_t picked = UINT32_MAX;
    if (vkr_instance_pick_device(inst, selector, &picked) != VKR_OK) {
        if (selector) {
            int rc = cli_fail("devices", VKR_ERR_NO_DEVICE);
            vkr_instance_destroy(inst);
            return rc;
        }
        picked = UINT32_MAX;
    }
    if (json) {
        cJSON* arr = cJSON_CreateArray();
        for (uint32_t i = 0; i < n; i++) {
            cJSON* d = cli_device_json(vkr_instance_device_info(inst, i));
            cJSON_AddBoolToObject(d, "default", i == picked);
            cJSON_AddItemToArray(arr, d);
        }
        char* text = cJSON_Print(arr);
        if (text) puts(text);
        cJSON_free(text);
        cJSON_Delete(arr);
    } else {
        if (n == 0) printf("no Vulkan devices; apt-get install mesa-vulkan-drivers for the lavapipe CPU driver\n");
        for (uint32_t i = 0; i < n; i++) print_device(vkr_instance_device_info(inst, i), i == picked);
    }
    vkr_instance_destroy(inst);
    return n == 0 ? CLI_FAILED : CLI_OK;
}
