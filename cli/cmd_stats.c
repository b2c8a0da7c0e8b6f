/* vkrec stats: counts of a prepared dataset directory. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vkr_data.h"

int cli_cmd_stats(int argc, char** argv) {
    const char* dir = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (argv[i][0] == '-') return cli_usage_error("stats", "unknown option '%s'", argv[i]);
        else if (dir) return cli_usage_error("stats", "one dataset directory expected (got '%s' and '%s')", dir, argv[i]);
        else dir = argv[i];
    }
    if (!dir) return cli_usage_error("stats", "a dataset directory is required");
    vkr_dataset d;
    vkr_status s = vkr_dataset_load(dir, &d);
    if (s != VKR_OK) return cli_fail("stats", s);
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(&d, &st);
    if (json) {
        cJSON* j = vkr_dataset_stats_json(&d, &st);
        cJSON_AddStringToObject(j, "split", d.split == VKR_SPLIT_GIVEN ? "given" : "loo");
        if (d.target_domain >= 0) cJSON_AddStringToObject(j, "target", d.domain_name[d.target_domain]);
        else cJSON_AddNullToObject(j, "target");
        cJSON_AddNumberToObject(j, "max_len", d.max_len);
        char* text = cJSON_Print(j);
        if (text) puts(text);
        free(text);
        cJSON_Delete(j);
    } else {
        printf("%s\n", dir);
        vkr_dataset_stats_print(&d, &st, stdout);
    }
    vkr_dataset_free(&d);
    return CLI_OK;
}
