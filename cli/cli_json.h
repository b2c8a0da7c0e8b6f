/* JSON helpers for the CLI (cJSON): device records and atomic file output. */
#ifndef VKR_CLI_JSON_H
#define VKR_CLI_JSON_H
#include <cjson/cJSON.h>

#include "vkr_runtime.h"

/* A JSON object describing a device (name, vendor, type, driver, api, heaps, features). */
cJSON* cli_device_json(const vkr_device_info* info);
/* Writes `json` (pretty) to `path` via path.tmp + rename, so a failure leaves any old file intact. */
vkr_status cli_write_json(const cJSON* json, const char* path);

#endif
