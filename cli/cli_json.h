/* JSON helpers for the CLI (cJSON): reading a file, device records (files are written by vkr_json_write, vkr_fileio.h). */
#ifndef VKR_CLI_JSON_H
#define VKR_CLI_JSON_H
#include <cjson/cJSON.h>

#include "vkr_runtime.h"

/* The JSON document in the file at path (NULL when it cannot be read or parsed; cJSON_Delete it). */
cJSON* cli_json_read(const char* path);
/* A JSON object describing a device (name, vendor, type, driver, api, heaps, features). */
cJSON* cli_device_json(const vkr_device_info* info);

#endif
