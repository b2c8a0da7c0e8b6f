/* vkrec trie: the prefix trie of a dataset's semantic IDs, its statistics and lookups. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vkr_data.h"
#include "vkr_gencdr.h"
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

/* The trie of one scope and the answers to the command line's lookups. */
typedef struct trie_report {
    const vkr_dataset* d;                      /* the dataset (titles) */
    const vkr_trie* t;                         /* the trie */
    vkr_trie_stats st;                         /* its statistics */
    const char* scope;                         /* "all domains" or the domain's name */
    uint32_t width;                            /* tokens per ID */
    bool has_item;                             /* --item was given */
    uint32_t item;                             /* --item */
    uint16_t item_path[VKR_TRIE_MAX_DEPTH];    /* its ID */
    bool has_path;                             /* --path was given */
    uint16_t query[VKR_TRIE_MAX_DEPTH];        /* --path */
    int32_t path_item;                         /* the item with that ID */
} trie_report;

/* --domain as a name or an index; -1 (the global trie) when not given, -2 after a usage error. */
static int trie_domain(const char* cmd, const vkr_dataset* d, const char* arg) {
    if (!arg) return -1;
    int domain = vkr_dataset_domain_index(d, arg);
    char* end = NULL;
    unsigned long v = strtoul(arg, &end, 10);
    if (domain < 0 && *arg && !*end && v < d->domain_count) domain = (int)v;
    if (domain < 0) {
        cli_usage_error(cmd, "--domain '%s' is neither a domain name nor an index below %u", arg, d->domain_count);
        return -2;
    }
    return domain;
}

static void trie_print_json(const trie_report* r) {
    const vkr_trie_stats* st = &r->st;
    cJSON* j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "scope", r->scope);
    cJSON_AddNumberToObject(j, "items", st->items);
    cJSON_AddNumberToObject(j, "depth", st->depth);
    cJSON_AddNumberToObject(j, "nodes_total", r->t->node_count);
    cJSON* levels = cJSON_AddArrayToObject(j, "levels");
    for (uint32_t l = 0; l <= st->depth; l++) {
        cJSON* e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "depth", l);
        cJSON_AddNumberToObject(e, "nodes", st->nodes[l]);
        if (l < st->depth) {
            cJSON_AddNumberToObject(e, "mean_children", st->mean_children[l]);
            cJSON_AddNumberToObject(e, "max_children", st->max_children[l]);
            cJSON_AddNumberToObject(e, "vocab", r->t->vocab[l]);
        }
        cJSON_AddItemToArray(levels, e);
    }
    cJSON_AddNumberToObject(j, "items_per_path", st->items_per_path);
    cJSON_AddNumberToObject(j, "max_items_per_path", st->max_items_per_path);
    if (r->has_item) {
        cJSON* p = cJSON_AddArrayToObject(j, "item_path");
        for (uint32_t l = 0; l < r->width; l++) cJSON_AddItemToArray(p, cJSON_CreateNumber(r->item_path[l]));
    }
    if (r->has_path) cJSON_AddNumberToObject(j, "path_item", r->path_item);
    char* text = cJSON_Print(j);
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(j);
}

static void trie_print_text(const trie_report* r) {
    const vkr_trie_stats* st = &r->st;
    printf("trie of %s: %u items, IDs of %u tokens, %u nodes\n", r->scope, st->items, st->depth, r->t->node_count);
    printf("%-7s %10s %14s %13s %8s\n", "depth", "nodes", "mean children", "max children", "vocab");
    for (uint32_t l = 0; l <= st->depth; l++) {
        printf("%-7u %10u", l, st->nodes[l]);
        if (l < st->depth) printf(" %14.2f %13u %8u", st->mean_children[l], st->max_children[l], r->t->vocab[l]);
        printf("\n");
    }
    printf("items per %u-code path: mean %.3f, max %u (the last token tells them apart)\n", st->depth - 1,
           st->items_per_path, st->max_items_per_path);
    if (r->has_item) {
        printf("item %u (%s): ", r->item, vkr_strtab_get(&r->d->item_title, r->item));
        print_path(r->item_path, r->width);
        printf("\n");
    }
    if (r->has_path) {
        print_path(r->query, r->width);
        printf(" -> item %d (%s)\n", r->path_item, vkr_strtab_get(&r->d->item_title, (uint64_t)r->path_item));
    }
}

int cli_cmd_trie(int argc, char** argv) {
    const char* cmd = "trie";
    cli_common com = {0};
    trie_args a = {.item = UINT32_MAX};
    if (cli_parse(&cli_trie_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    vkr_dataset d;
    vkr_status s = vkr_dataset_load(a.dir, &d);
    if (s != VKR_OK) return cli_fail(cmd, s);
    int domain = trie_domain(cmd, &d, a.domain);
    if (domain == -2) {
        vkr_dataset_free(&d);
        return CLI_USAGE;
    }
    trie_report r = {.d = &d, .scope = domain < 0 ? "all domains" : d.domain_name[domain],
                     .has_item = a.item != UINT32_MAX, .item = a.item, .has_path = a.path != NULL, .path_item = -1};
    uint16_t* ids = NULL;
    uint32_t n = 0;
    vkr_trie t = {0};
    int rc = CLI_OK;
    s = vkr_semantic_ids_load(a.dir, d.item_count, &ids, &n, &r.width);
    if (s == VKR_OK) s = vkr_gencdr_check_codes(a.dir, &d, ids, r.width); /* as GenCDR reads them */
    if (s == VKR_OK) s = vkr_trie_build(ids, n, r.width, d.item_domain, domain, &t);
    if (s == VKR_OK && r.has_item) s = vkr_trie_item_path(&t, r.item, r.item_path);
    if (s == VKR_OK && r.has_path && !parse_path(cmd, a.path, r.width, r.query)) rc = CLI_USAGE;
    if (s == VKR_OK && rc == CLI_OK && r.has_path) s = vkr_trie_lookup(&t, r.query, &r.path_item);
    if (s != VKR_OK) rc = cli_fail(cmd, s);
    if (rc == CLI_OK) {
        r.t = &t;
        vkr_trie_stats_compute(&t, &r.st);
        if (com.json) trie_print_json(&r);
        else trie_print_text(&r);
    }
    vkr_trie_free(&t);
    free(ids);
    vkr_dataset_free(&d);
    return rc;
}
