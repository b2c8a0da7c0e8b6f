/* vkrec stats: counts of a prepared dataset directory. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vkr_data.h"

static const cli_positional stats_positionals[] = {{"DIR", "a dataset directory", 0, 1, 1}};
static const cli_option* const stats_shared[] = {&cli_opt_json, NULL};
const cli_spec cli_stats_spec = {
    .name = "stats",
    .description = "  Prints users, items and interactions per domain, overlapping users, average sequence length per\n"
                   "  domain, split sizes and item-text coverage of a dataset written by vkrec prepare.\n"
                   "  --json prints the same as JSON (users, interactions, overlap_users, domains[...], splits).",
    CLI_POSITIONALS(stats_positionals),
    .shared = stats_shared,
};

int cli_cmd_stats(int argc, char** argv) {
    cli_common com = {0};
    const char* dir = NULL;
    if (cli_parse(&cli_stats_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &dir}) != CLI_OK) return CLI_USAGE;
    const bool json = com.json;
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
