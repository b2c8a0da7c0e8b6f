#include "cli_json.h"

#include <stdio.h>
#include <stdlib.h>

cJSON* cli_json_read(const char* path) {
    FILE* f = fopen(path, "rb");
    char* text = NULL;
    long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size)) &&
        fread(text, 1, (size_t)size, f) == (size_t)size) {
        cJSON* j = cJSON_ParseWithLength(text, (size_t)size);
        free(text);
        fclose(f);
        return j;
    }
    free(text);
    if (f) fclose(f);
    return NULL;
}

cJSON* cli_device_json(const vkr_device_info* d) {
    char api[32];
    vkr_format_version(d->api_version, api, sizeof api);
    cJSON* o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", d->index);
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "vendor", d->vendor);
    cJSON_AddNumberToObject(o, "vendor_id", d->vendor_id);
    cJSON_AddNumberToObject(o, "device_id", d->device_id);
    cJSON_AddStringToObject(o, "type", vkr_device_type_name(d->type));
    char driver[600];
    snprintf(driver, sizeof driver, "%s%s%s", d->driver_name, d->driver_info[0] ? " " : "", d->driver_info);
    cJSON_AddStringToObject(o, "driver", driver);
    cJSON_AddStringToObject(o, "api_version", api);
    cJSON* heaps = cJSON_AddArrayToObject(o, "memory_heaps");
    for (uint32_t h = 0; h < d->heap_count; h++) {
        cJSON* ho = cJSON_CreateObject();
        cJSON_AddNumberToObject(ho, "bytes", (double)d->heap_size[h]);
        cJSON_AddBoolToObject(ho, "device_local", d->heap_device_local[h]);
        cJSON_AddItemToArray(heaps, ho);
    }
    cJSON_AddBoolToObject(o, "host_visible_device_local", d->host_visible_device_local);
    cJSON_AddNumberToObject(o, "subgroup_size", d->subgroup_size);
    cJSON_AddNumberToObject(o, "shared_memory_bytes", d->shared_memory_bytes);
    cJSON_AddNumberToObject(o, "max_workgroup_invocations", d->max_workgroup_invocations);
    cJSON_AddBoolToObject(o, "fp16", d->fp16);
    cJSON_AddBoolToObject(o, "int8", d->int8);
    cJSON_AddBoolToObject(o, "storage16", d->storage16);
    cJSON_AddBoolToObject(o, "cooperative_matrix", d->cooperative_matrix);
    cJSON_AddBoolToObject(o, "timestamps", d->timestamps);
    cJSON_AddNumberToObject(o, "timestamp_period_ns", d->timestamp_period_ns);
    return o;
}
