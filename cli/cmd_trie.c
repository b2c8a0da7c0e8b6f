/* vkrec trie: the prefix trie of a dataset's semantic IDs, its statistics and lookups. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vkr_data.h"
#include "vkr_quantize.h"
#include "vkr_trie.h"

/* Parses "T1,T2,..." into exactly `depth` tokens. */
static bool parse_path(const char* cmd, const char* text, uint32_t depth, uint16_t* path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    uint32_t n = 0;
    for (char* tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char* end = NULL;
        unsigned long v = strtoul(tok, &end, 10);
        if (!*tok || *end || v > UINT16_MAX || tok[0] == '-' || n == depth) {
            cli_usage_error(cmd, "--path expects %u comma-separated tokens in 0..65535, got '%s'", depth, text);
            return false;
        }
        path[n++] = (uint16_t)v;
    }
    if (n != depth) {
        cli_usage_error(cmd, "--path expects %u tokens (the ID length), got %u", depth, n);
        return false;
    }
    return true;
}

static void print_path(const uint16_t* path, uint32_t depth) {
    for (uint32_t p = 0; p < depth; p++) printf("%s%u", p ? "," : "", path[p]);
}

/* What `vkrec trie` reads from its command line. */
typedef struct trie_args {
    const char* dir;    /* the dataset */
    const char* domain; /* --domain */
    uint32_t item;      /* --item (UINT32_MAX: not given) */
    const char* path;   /* --path (parsed once the ID length is known) */
} trie_args;

static const cli_positional trie_positionals[] = {{"DIR", "a dataset directory", offsetof(trie_args, dir), 1, 1}};
static const cli_option trie_opts[] = {
    CLI_STRING(COMMAND, "--domain", "NAME|INDEX", trie_args, domain, NULL,
               "the trie of this domain instead of the global one"),
    CLI_UINT(COMMAND, "--item", "I", trie_args, item, 0, CLI_UINT_LIMIT, NULL,
             "also print item I's semantic ID (found through the trie)"),
    CLI_STRING(COMMAND, "--path", "T1,T2,...", trie_args, path, NULL,
               "also look up the item with this full ID (an error if it is no item's ID)"),
};
static const cli_option* const trie_shared[] = {&cli_opt_json, NULL};
const cli_spec cli_trie_spec = {
    .name = "trie",
    .description = "  Builds the trie of DIR/semantic_ids.npy (vkrec tokenize) over all items or one domain's, and\n"
                   "  prints nodes per level, mean and largest branching per level, depth and items per code path.",
    CLI_POSITIONALS(trie_positionals),
    CLI_OWN_OPTIONS(trie_opts),
    .shared = trie_shared,
};

int cli_cmd_trie(int argc, char** argv) {
    const char* cmd = "trie";
    cli_common com = {0};
    trie_args a = {.item = UINT32_MAX};
    if (cli_parse(&cli_trie_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    const char *dir = a.dir, *domain_arg = a.domain, *path_arg = a.path;
    const bool json = com.json, has_item = a.item != UINT32_MAX;
    const unsigned item = a.item;
    vkr_dataset d;
    vkr_status s = vkr_dataset_load(dir, &d);
    if (s != VKR_OK) return cli_fail(cmd, s);
    int domain = -1;
    if (domain_arg) {
        domain = vkr_dataset_domain_index(&d, domain_arg);
        char* end = NULL;
        unsigned long v = strtoul(domain_arg, &end, 10);
        if (domain < 0 && *domain_arg && !*end && v < d.domain_count) domain = (int)v;
        if (domain < 0) {
            vkr_dataset_free(&d);
            return cli_usage_error(cmd, "--domain '%s' is neither a domain name nor an index below %u", domain_arg,
                                   d.domain_count);
        }
    }
    uint16_t* ids = NULL;
    uint32_t n = 0, width = 0;
    vkr_trie t = {0};
    s = vkr_semantic_ids_load(dir, d.item_count, &ids, &n, &width);
    if (s == VKR_OK) s = vkr_trie_build(ids, n, width, d.item_domain, domain, &t);
    uint16_t found_path[VKR_TRIE_MAX_DEPTH], query[VKR_TRIE_MAX_DEPTH];
    int32_t found_item = -1;
    if (s == VKR_OK && has_item) s = vkr_trie_item_path(&t, item, found_path);
    if (s == VKR_OK && path_arg && !parse_path(cmd, path_arg, width, query)) {
        vkr_trie_free(&t);
        free(ids);
        vkr_dataset_free(&d);
        return CLI_USAGE;
    }
    if (s == VKR_OK && path_arg) s = vkr_trie_lookup(&t, query, &found_item);
    if (s != VKR_OK) {
        int rc = cli_fail(cmd, s);
        vkr_trie_free(&t);
        free(ids);
        vkr_dataset_free(&d);
        return rc;
    }
    vkr_trie_stats st;
    vkr_trie_stats_compute(&t, &st);
    const char* scope = domain < 0 ? "all domains" : d.domain_name[domain];
    if (json) {
        cJSON* j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "scope", scope);
        cJSON_AddNumberToObject(j, "items", st.items);
        cJSON_AddNumberToObject(j, "depth", st.depth);
        cJSON_AddNumberToObject(j, "nodes_total", t.node_count);
        cJSON* levels = cJSON_AddArrayToObject(j, "levels");
        for (uint32_t l = 0; l <= st.depth; l++) {
            cJSON* e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "depth", l);
            cJSON_AddNumberToObject(e, "nodes", st.nodes[l]);
            if (l < st.depth) {
                cJSON_AddNumberToObject(e, "mean_children", st.mean_children[l]);
                cJSON_AddNumberToObject(e, "max_children", st.max_children[l]);
                cJSON_AddNumberToObject(e, "vocab", t.vocab[l]);
            }
            cJSON_AddItemToArray(levels, e);
        }
        cJSON_AddNumberToObject(j, "items_per_path", st.items_per_path);
        cJSON_AddNumberToObject(j, "max_items_per_path", st.max_items_per_path);
        if (has_item) {
            cJSON* p = cJSON_AddArrayToObject(j, "item_path");
            for (uint32_t l = 0; l < width; l++) cJSON_AddItemToArray(p, cJSON_CreateNumber(found_path[l]));
        }
        if (path_arg) cJSON_AddNumberToObject(j, "path_item", found_item);
        char* text = cJSON_Print(j);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
    } else {
        printf("trie of %s: %u items, IDs of %u tokens, %u nodes\n", scope, st.items, st.depth, t.node_count);
        printf("%-7s %10s %14s %13s %8s\n", "depth", "nodes", "mean children", "max children", "vocab");
        for (uint32_t l = 0; l <= st.depth; l++) {
            printf("%-7u %10u", l, st.nodes[l]);
            if (l < st.depth) printf(" %14.2f %13u %8u", st.mean_children[l], st.max_children[l], t.vocab[l]);
            printf("\n");
        }
        printf("items per %u-code path: mean %.3f, max %u (the last token tells them apart)\n", st.depth - 1,
               st.items_per_path, st.max_items_per_path);
        if (has_item) {
            printf("item %u (%s): ", item, vkr_strtab_get(&d.item_title, item));
            print_path(found_path, width);
            printf("\n");
        }
        if (path_arg) {
            print_path(query, width);
            printf(" -> item %d (%s)\n", found_item, vkr_strtab_get(&d.item_title, (uint64_t)found_item));
        }
    }
    vkr_trie_free(&t);
    free(ids);
    vkr_dataset_free(&d);
    return CLI_OK;
}
