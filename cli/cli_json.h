/* JSON helpers for the CLI (cJSON): device records (files are written by vkr_json_write, vkr_fileio.h). */
#ifndef VKR_CLI_JSON_H
#define VKR_CLI_JSON_H
#include <cjson/cJSON.h>

#include "vkr_runtime.h"

/* A JSON object describing a device (name, vendor, type, driver, api, heaps, features). */
cJSON* cli_device_json(const vkr_device_info* info);

#endif
