/* vkrec recommend: rebuild a trained model from its checkpoint and print a user's top items. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_json.h"
#include "vkr_fileio.h"
#include "cli_rec.h"
#include "vkr_safetensors.h"

/* The model a checkpoint describes (its vkrec.* metadata). */
typedef struct rec_ckpt {
    char path[1100];     /* the safetensors file */
    char model[16];      /* "sasrec" or "gencdr" */
    char data[1100];     /* dataset directory */
    char domain[64];     /* SASRec: its target domain */
    char loss[8];        /* SASRec: bce or ce */
    char input[8];       /* SASRec: target or mixed */
    char arch[16];       /* SASRec: original or prenorm (absent in checkpoints older than --arch: prenorm) */
    unsigned max_len, hidden, blocks, heads, lora_rank, beam, item_ids, global_trie; /* sizes, GenCDR's kind */
} rec_ckpt;

/* Reads the metadata vkrec train wrote; FORMAT naming the file and key when one is missing. */
static vkr_status rec_ckpt_read(const char* arg, rec_ckpt* c) {
    memset(c, 0, sizeof *c);
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(c->path, sizeof c->path, "%s/best.safetensors", arg);
    else snprintf(c->path, sizeof c->path, "%s", arg);
    vkr_st_file* f = NULL;
    VKR_TRY(vkr_st_open(c->path, &f));
    struct {
        const char* key;
        char* text;
        size_t cap;
        unsigned* num;
        bool needed;
    } fields[] = {
        {"vkrec.model", c->model, sizeof c->model, NULL, true},  {"vkrec.data", c->data, sizeof c->data, NULL, true},
        {"vkrec.domain", c->domain, sizeof c->domain, NULL, false}, {"vkrec.loss", c->loss, sizeof c->loss, NULL, false},
        {"vkrec.input", c->input, sizeof c->input, NULL, false},  {"vkrec.arch", c->arch, sizeof c->arch, NULL, false},
         {"vkrec.max_len", NULL, 0, &c->max_len, true},
        {"vkrec.hidden", NULL, 0, &c->hidden, true},               {"vkrec.blocks", NULL, 0, &c->blocks, true},
        {"vkrec.heads", NULL, 0, &c->heads, true},                 {"vkrec.lora_rank", NULL, 0, &c->lora_rank, false},
        {"vkrec.beam", NULL, 0, &c->beam, false},         {"vkrec.item_ids", NULL, 0, &c->item_ids, false},
        {"vkrec.global_trie", NULL, 0, &c->global_trie, false},
    };
    vkr_status s = VKR_OK;
    for (size_t k = 0; k < sizeof fields / sizeof *fields && s == VKR_OK; k++) {
        const char* v = vkr_st_metadata_get(f, fields[k].key);
        if (!v) {
            if (fields[k].needed)
                s = vkr_fail(VKR_ERR_FORMAT, "%s: no '%s' in its metadata (was it written by vkrec train --ckpt?)", c->path,
                             fields[k].key);
            continue;
        }
        if (fields[k].text) {
            snprintf(fields[k].text, fields[k].cap, "%s", v);
            continue;
        }
        char* end = NULL;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || n > 1u << 20) s = vkr_fail(VKR_ERR_FORMAT, "%s: metadata %s = '%s' is not a size", c->path,
                                                      fields[k].key, v);
        else *fields[k].num = (unsigned)n;
    }
    vkr_st_close(f);
    if (s == VKR_OK && strcmp(c->model, "sasrec") && strcmp(c->model, "gencdr"))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: unknown model '%s'", c->path, c->model);
    if (s == VKR_OK && strcmp(c->model, "sasrec") == 0 && (!c->domain[0] || !c->loss[0] || !c->input[0]))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: a SASRec checkpoint needs vkrec.domain, vkrec.loss and vkrec.input", c->path);
    return s;
}

/* User index from "#N" or the user's original id. */
static bool find_user(const vkr_dataset* ds, const char* text, uint32_t* out) {
    if (text[0] == '#') {
        char* end = NULL;
        unsigned long n = strtoul(text + 1, &end, 10);
        *out = (uint32_t)n;
        return text[1] && !*end && n < ds->user_count;
    }
    for (uint32_t u = 0; u < ds->user_count; u++)
        if (strcmp(vkr_strtab_get(&ds->user_key, u), text) == 0) return *out = u, true;
    return false;
}

static void print_item(const vkr_dataset* ds, uint32_t it) {
    const char* title = vkr_strtab_get(&ds->item_title, it);
    printf("%-8s %-12s %s\n", ds->domain_name[ds->item_domain[it]], vkr_strtab_get(&ds->item_key, it),
           title[0] ? title : "(no title)");
}

/* Rebuilt model: one of the two kinds. */
typedef struct rec_model {
    vkr_sasrec_model sasrec;
    vkr_gencdr_model gencdr;
    bool generative;
} rec_model;

static vkr_status rec_model_open(const rec_ckpt* c, const vkr_dataset* ds, vkr_device* dev, rec_model* rm) {
    memset(rm, 0, sizeof *rm);
    rm->generative = strcmp(c->model, "gencdr") == 0;
    if (!rm->generative) {
        vkr_sasrec_train t;
        vkr_sasrec_train_defaults(&t);
        int d = vkr_dataset_domain_index(ds, c->domain);
        if (d < 0) return vkr_fail(VKR_ERR_FORMAT, "%s: domain '%s' is not in %s", c->path, c->domain, c->data);
        t.domain = (uint32_t)d;
        t.loss = strcmp(c->loss, "ce") == 0 ? VKR_SASREC_CE : VKR_SASREC_BCE;
        t.mixed_input = strcmp(c->input, "mixed") == 0;
        t.arch = strcmp(c->arch, "original") == 0 ? VKR_SASREC_ARCH_ORIGINAL : VKR_SASREC_ARCH_PRENORM;
        t.max_len = c->max_len, t.hidden = c->hidden, t.blocks = c->blocks, t.heads = c->heads;
        t.eval_batch = 1;
        VKR_TRY(vkr_sasrec_open(ds, dev, &t, &rm->sasrec));
        return vkr_sasrec_load(&rm->sasrec, c->path);
    }
    uint16_t* ids = NULL;
    uint32_t depth = 0;
    VKR_TRY(vkr_gencdr_load_ids(c->data, ds, &ids, &depth));
    vkr_gencdr_train t;
    vkr_gencdr_train_defaults(&t);
    t.max_len = c->max_len, t.hidden = c->hidden, t.blocks = c->blocks, t.heads = c->heads, t.lora_rank = c->lora_rank;
    t.beam = c->beam ? c->beam : t.beam;
    t.item_ids = c->item_ids != 0;
    t.global_trie = c->global_trie != 0;
    t.eval_users = 1;
    vkr_status s = vkr_gencdr_open(ds, dev, ids, depth, &t, &rm->gencdr);
    free(ids);
    if (s == VKR_OK) s = vkr_gencdr_load(&rm->gencdr, c->path);
    return s;
}

static void rec_model_free(rec_model* rm) {
    vkr_sasrec_model_free(&rm->sasrec);
    vkr_gencdr_model_free(&rm->gencdr);
}

/* What `vkrec recommend` reads from its command line. */
typedef struct recommend_args {
    const char* ckpt;   /* --ckpt */
    const char* user;   /* --user */
    uint32_t k;         /* --k */
    const char* domain; /* --domain */
    const char* data;   /* --data */
} recommend_args;

static const cli_option recommend_opts[] = {
    CLI_STRING(COMMAND, "--ckpt", "FILE|DIR", recommend_args, ckpt, NULL,
               "a `vkrec train --ckpt` checkpoint (DIR: DIR/best.safetensors; required)"),
    CLI_STRING(COMMAND, "--user", "U", recommend_args, user, NULL, "a user id of the dataset or #INDEX (required)"),
    CLI_UINT(COMMAND, "--k", "N", recommend_args, k, 1, 1000, "10", "items per list"),
    CLI_STRING(COMMAND, "--domain", "D", recommend_args, domain, NULL, "GenCDR: only this domain's list"),
    CLI_STRING(COMMAND, "--data", "DIR", recommend_args, data, NULL, "the dataset, when it moved since training"),
};
static const cli_option* const recommend_shared[] = {&cli_opt_json_file, &cli_opt_device, &cli_opt_quiet, NULL};
const cli_spec cli_recommend_spec = {
    .name = "recommend",
    .description =
        "  Rebuilds the model a `vkrec train --ckpt` checkpoint describes (its metadata names the model,\n"
        "  sizes and dataset) and prints the user's N best items after all of the user's events, skipping\n"
        "  items the user already has, with their titles. SASRec ranks its target domain's items; GenCDR\n"
        "  decodes by constrained beam search for every domain, or only --domain D.",
    CLI_OWN_OPTIONS(recommend_opts),
    .shared = recommend_shared,
};

int cli_cmd_recommend(int argc, char** argv) {
    cli_common com = {0};
    recommend_args a = {.k = 10};
    if (cli_parse(&cli_recommend_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    const char *ckpt = a.ckpt, *user_text = a.user, *domain_name = a.domain, *data = a.data, *json = com.json_file;
    const unsigned k = a.k;
    if (!ckpt || !user_text) return cli_usage_error("recommend", "needs --ckpt FILE and --user U");
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    rec_ckpt c;
    vkr_status s = rec_ckpt_read(ckpt, &c);
    if (s != VKR_OK) return cli_fail("recommend", s);
    if (data) snprintf(c.data, sizeof c.data, "%s", data);
    vkr_dataset ds;
    if ((s = vkr_dataset_load(c.data, &ds)) != VKR_OK) return cli_fail("recommend", s);
    uint32_t user = 0;
    int domain = domain_name ? vkr_dataset_domain_index(&ds, domain_name) : -1;
    int rc = CLI_OK;
    if (!find_user(&ds, user_text, &user))
        rc = cli_usage_error("recommend", "--user '%s' is neither a user id of %s nor #N below %u", user_text, c.data,
                             ds.user_count);
    else if (domain_name && domain < 0)
        rc = cli_usage_error("recommend", "--domain '%s' is not a domain of %s", domain_name, c.data);
    else if (domain_name && strcmp(c.model, "sasrec") == 0 && strcmp(domain_name, c.domain))
        rc = cli_usage_error("recommend", "this SASRec checkpoint ranks %s items, not %s", c.domain, domain_name);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    rec_model rm = {0};
    if (rc == CLI_OK) s = cli_open_backend(com.device, &inst, &dev);
    if (rc == CLI_OK && s == VKR_OK) s = rec_model_open(&c, &ds, dev, &rm);
    uint32_t* items = malloc(k * sizeof *items);
    float* scores = malloc(k * sizeof *scores);
    cJSON* root = cJSON_CreateObject();
    cJSON* lists = cJSON_AddArrayToObject(root, "recommendations");
    if (rc == CLI_OK && s == VKR_OK) {
        uint32_t len = vkr_dataset_user_len(&ds, user), shown = len < 5 ? len : 5;
        printf("user %s (#%u): %u events; the most recent:\n", vkr_strtab_get(&ds.user_key, user), user, len);
        for (uint32_t i = len - shown; i < len; i++) {
            printf("  ");
            print_item(&ds, ds.seq_item[ds.seq_begin[user] + i]);
        }
        cJSON_AddStringToObject(root, "user", vkr_strtab_get(&ds.user_key, user));
        cJSON_AddStringToObject(root, "model", c.model);
    }
    /* SASRec ranks its one domain; GenCDR serves every domain (or the one asked for) */
    for (uint32_t d = 0; rc == CLI_OK && s == VKR_OK && d < ds.domain_count; d++) {
        if (rm.generative ? domain >= 0 && (int)d != domain : strcmp(ds.domain_name[d], c.domain) != 0) continue;
        vkr_scorer sc = rm.generative ? vkr_gencdr_scorer(&rm.gencdr, d) : vkr_sasrec_scorer(&rm.sasrec);
        uint32_t n = 0;
        s = vkr_recommend(&ds, d, user, &sc, k, items, scores, &n);
        if (s != VKR_OK) break;
        printf("top %u %s items by %s (%s):\n", n, ds.domain_name[d], c.model,
               !rm.generative           ? "score = logit"
               : c.global_trie          ? "beam search over every domain's IDs, score = log-likelihood of the ID"
                                        : "constrained beam search, score = log-likelihood of the semantic ID");
        cJSON* list = cJSON_CreateObject();
        cJSON_AddStringToObject(list, "domain", ds.domain_name[d]);
        cJSON* arr = cJSON_AddArrayToObject(list, "items");
        for (uint32_t j = 0; j < n; j++) {
            printf("%3u. %9.4f  ", j + 1, scores[j]);
            print_item(&ds, items[j]);
            cJSON* o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "item", vkr_strtab_get(&ds.item_key, items[j]));
            cJSON_AddStringToObject(o, "title", vkr_strtab_get(&ds.item_title, items[j]));
            cJSON_AddNumberToObject(o, "score", scores[j]);
            cJSON_AddItemToArray(arr, o);
        }
        cJSON_AddItemToArray(lists, list);
    }
    if (rc == CLI_OK && s == VKR_OK && json) s = vkr_json_write(root, json);
    if (rc == CLI_OK && s != VKR_OK) rc = cli_fail("recommend", s);
    cJSON_Delete(root);
    free(items);
    free(scores);
    rec_model_free(&rm);
    cli_close_device(inst, dev);
    vkr_dataset_free(&ds);
    return rc;
}
