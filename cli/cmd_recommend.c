/* vkrec recommend: rebuild a trained model from its checkpoint and print a user's top items, or write
 * the top items of every example of a split (--all). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_ckpt.h"
#include "cli_json.h"
#include "cli_output.h"
#include "cli_rec.h"
#include "vkr_fileio.h"
#include "cli_rec.h"
#include "vkr_safetensors.h"
#include "vkr_topk_io.h"

/* The model a checkpoint describes (its vkrec.* metadata). */
typedef struct rec_ckpt {
    char path[1100];     /* the safetensors file */
    char model[16];      /* "sasrec", "gencdr" or "semacdr" */
    char data[1100];     /* dataset directory */
    char domain[64];     /* SASRec, SemaCDR: the target domain */
    char loss[8];        /* SASRec: bce or ce */
    char input[8];       /* SASRec: target or mixed */
    char arch[16];       /* SASRec: original or prenorm (absent in checkpoints older than --arch: prenorm) */
    char encoder[16];    /* SASRec: transformer or gru (absent in checkpoints older than --encoder: transformer) */
    unsigned max_len, hidden, blocks, heads, lora_rank, decoder_hidden, beam, item_ids, global_trie; /* sizes, GenCDR's kind */
    unsigned item_views; /* the item views' VKR_ITEM_VIEW_* bits (SemaCDR; the SASRec and GenCDR plug-in; 0: none recorded) */
    unsigned graph, cross_fusion, adaptive_fusion, graph_user; /* SemaCDR's components (1: on) */
    char agnostic[1100]; /* its categories file ("": DATA/agnostic.npy) */
    char dataset[128];   /* the dataset's fingerprint ("": not recorded) */
    char ids[64];        /* GenCDR: the semantic IDs' fingerprint ("": not recorded) */
} rec_ckpt;

static bool rec_one_of(const char* v, const char* a, const char* b) { return strcmp(v, a) == 0 || strcmp(v, b) == 0; }

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
        {"vkrec.encoder", c->encoder, sizeof c->encoder, NULL, false},
         {"vkrec.max_len", NULL, 0, &c->max_len, true},
        {"vkrec.hidden", NULL, 0, &c->hidden, true},               {"vkrec.blocks", NULL, 0, &c->blocks, true},
        {"vkrec.heads", NULL, 0, &c->heads, true},                 {"vkrec.lora_rank", NULL, 0, &c->lora_rank, false},
        {"vkrec.beam", NULL, 0, &c->beam, false},         {"vkrec.item_ids", NULL, 0, &c->item_ids, false},
        {"vkrec.global_trie", NULL, 0, &c->global_trie, false},
        {"vkrec.decoder_hidden", NULL, 0, &c->decoder_hidden, false},
        {"vkrec.item_views", NULL, 0, &c->item_views, false},
        {"vkrec.agnostic", c->agnostic, sizeof c->agnostic, NULL, false},
        {"vkrec.graph", NULL, 0, &c->graph, false},
        {"vkrec.cross_fusion", NULL, 0, &c->cross_fusion, false},
        {"vkrec.adaptive_fusion", NULL, 0, &c->adaptive_fusion, false},
        {"vkrec.graph_user", NULL, 0, &c->graph_user, false},
        {CLI_CKPT_DATASET, c->dataset, sizeof c->dataset, NULL, false},
        {CLI_CKPT_SEMANTIC_IDS, c->ids, sizeof c->ids, NULL, false},
    };
    vkr_status s = cli_ckpt_require_digest(c->path, vkr_st_metadata_get(f, VKR_ST_DIGEST_KEY) != NULL);
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
    bool sema = strcmp(c->model, "semacdr") == 0;
    if (s == VKR_OK && strcmp(c->model, "sasrec") && strcmp(c->model, "gencdr") && !sema)
        s = vkr_fail(VKR_ERR_FORMAT, "%s: unknown model '%s'", c->path, c->model);
    if (s == VKR_OK && sema && (!c->domain[0] || !c->item_views))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: a SemaCDR checkpoint needs vkrec.domain and vkrec.item_views", c->path);
    if (s == VKR_OK && strcmp(c->model, "sasrec") == 0 && (!c->domain[0] || !c->loss[0] || !c->input[0]))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: a SASRec checkpoint needs vkrec.domain, vkrec.loss and vkrec.input", c->path);
    /* a value outside its choices would silently build another model (e.g. "bcf" as bce) */
    if (s == VKR_OK && strcmp(c->model, "sasrec") == 0 &&
        (!rec_one_of(c->loss, "bce", "ce") || !rec_one_of(c->input, "target", "mixed") ||
         (c->arch[0] && !rec_one_of(c->arch, "original", "prenorm")) ||
         (c->encoder[0] && !rec_one_of(c->encoder, "transformer", "gru"))))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: metadata vkrec.loss '%s', vkrec.input '%s', vkrec.arch '%s' or vkrec.encoder '%s' "
                     "is not one of bce|ce, target|mixed, original|prenorm, transformer|gru", c->path, c->loss, c->input,
                     c->arch, c->encoder);
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

/* Rebuilt model: one of the three kinds. */
typedef struct rec_model {
    vkr_sasrec_model sasrec;
    vkr_gencdr_model gencdr;
    vkr_semacdr_model sema;
    bool generative; /* GenCDR (every domain), else one target domain */
} rec_model;

/* The model of the checkpoint with the views plug-in's inputs `sem` (views: VKR_ITEM_VIEW_* bits). */
static vkr_status rec_model_build(const rec_ckpt* c, const vkr_dataset* ds, vkr_device* dev, bool batched,
                                  uint32_t views, const vkr_item_semantics* sem, rec_model* rm) {
    int d = rm->generative ? 0 : vkr_dataset_domain_index(ds, c->domain); /* SASRec and SemaCDR: the target */
    if (d < 0) return vkr_fail(VKR_ERR_FORMAT, "%s: domain '%s' is not in %s", c->path, c->domain, c->data);
    if (strcmp(c->model, "semacdr") == 0) {
        vkr_semacdr_train t;
        vkr_semacdr_train_defaults(&t);
        t.domain = (uint32_t)d;
        t.views = views;
        t.graph = c->graph, t.cross_fusion = c->cross_fusion, t.adaptive_fusion = c->adaptive_fusion;
        t.graph_user = c->graph_user;
        t.max_len = c->max_len, t.hidden = c->hidden, t.blocks = c->blocks, t.heads = c->heads;
        if (!batched) t.eval_batch = 1;
        VKR_TRY(vkr_semacdr_open(ds, dev, &t, sem, &rm->sema));
        return vkr_semacdr_load(&rm->sema, c->path);
    }
    if (!rm->generative) {
        vkr_sasrec_train t;
        vkr_sasrec_train_defaults(&t);
        t.domain = (uint32_t)d;
        t.loss = strcmp(c->loss, "ce") == 0 ? VKR_SASREC_CE : VKR_SASREC_BCE;
        t.mixed_input = strcmp(c->input, "mixed") == 0;
        t.arch = strcmp(c->arch, "original") == 0 ? VKR_SASREC_ARCH_ORIGINAL : VKR_SASREC_ARCH_PRENORM;
        t.gru = strcmp(c->encoder, "gru") == 0;
        t.max_len = c->max_len, t.hidden = c->hidden, t.blocks = c->blocks, t.heads = c->heads;
        t.item_views = views;
        t.semantics = sem;
        if (!batched) t.eval_batch = 1;
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
    t.decoder_hidden = c->decoder_hidden;
    t.item_views = views;
    t.semantics = sem;
    if (!batched) t.eval_users = 1;
    vkr_status s = vkr_gencdr_open(ds, dev, ids, depth, &t, &rm->gencdr);
    free(ids);
    if (s == VKR_OK) s = vkr_gencdr_load(&rm->gencdr, c->path);
    return s;
}

/* Opens the checkpoint's model; batched: score as many examples per call as training's evaluation
 * did (--all), else one. The views plug-in's inputs are read again from the dataset directory (and
 * the categories file training used). */
static vkr_status rec_model_open(const rec_ckpt* c, const vkr_dataset* ds, vkr_device* dev, bool batched,
                                 rec_model* rm) {
    memset(rm, 0, sizeof *rm);
    rm->generative = strcmp(c->model, "gencdr") == 0;
    uint32_t views = c->item_views & VKR_ITEM_VIEWS_ALL;
    cli_sema_inputs in = {0};
    vkr_status s = views & ~VKR_ITEM_VIEW_ID
                       ? cli_sema_inputs_load(ds, c->data, c->agnostic[0] ? c->agnostic : NULL, views, &in)
                       : VKR_OK;
    if (s == VKR_OK) s = rec_model_build(c, ds, dev, batched, views ? views : VKR_ITEM_VIEW_ID, &in.items, rm);
    cli_sema_inputs_free(&in);
    return s;
}

/* The model's scorer for target domain d (vkr_topk_options.scorer). */
static vkr_scorer rec_model_scorer(void* self, uint32_t d) {
    rec_model* rm = self;
    return rm->generative ? vkr_gencdr_scorer(&rm->gencdr, d)
           : rm->sema.state ? vkr_semacdr_scorer(&rm->sema)
                            : vkr_sasrec_scorer(&rm->sasrec);
}

static void rec_model_free(rec_model* rm) {
    vkr_sasrec_model_free(&rm->sasrec);
    vkr_gencdr_model_free(&rm->gencdr);
    vkr_semacdr_model_free(&rm->sema);
}

/* What `vkrec recommend` reads from its command line. */
typedef struct recommend_args {
    const char* ckpt;   /* --ckpt */
    const char* user;   /* --user */
    uint32_t k;         /* --k */
    const char* domain; /* --domain */
    const char* data;   /* --data */
    bool all;           /* --all */
    const char* out;    /* --out */
    int split;          /* --split: index into split_choices */
} recommend_args;

static const char* const split_choices[] = {"test", "valid", NULL};

static const cli_option recommend_opts[] = {
    CLI_STRING(COMMAND, "--ckpt", "FILE|DIR", recommend_args, ckpt, NULL,
               "a `vkrec train --ckpt` checkpoint (DIR: DIR/best.safetensors; required)"),
    CLI_STRING(COMMAND, "--user", "U", recommend_args, user, NULL,
               "a user id of the dataset or #INDEX (required without --all)"),
    CLI_UINT(COMMAND, "--k", "N", recommend_args, k, 1, 1000, "10", "items per list"),
    CLI_STRING(COMMAND, "--domain", "D", recommend_args, domain, NULL, "GenCDR: only this domain's list"),
    CLI_STRING(COMMAND, "--data", "DIR", recommend_args, data, NULL, "the dataset, when it moved since training"),
    CLI_FLAG(COMMAND, "--all", recommend_args, all, "every example of --split instead of one user: lists to --out"),
    CLI_STRING(COMMAND, "--out", "FILE", recommend_args, out, NULL, "with --all: the lists, FILE.csv or FILE.json"),
    CLI_CHOICE(COMMAND, "--split", recommend_args, split, split_choices, "test", "with --all: the examples listed"),
};
static const cli_option* const recommend_shared[] = {&cli_opt_json_file, &cli_opt_device, &cli_opt_quiet, &cli_opt_force,
                                                     NULL};
const cli_spec cli_recommend_spec = {
    .name = "recommend",
    .description =
        "  Rebuilds the model a `vkrec train --ckpt` checkpoint describes (its metadata names the model,\n"
        "  sizes and dataset) and prints the user's N best items after all of the user's events, skipping\n"
        "  items the user already has, with their titles. SASRec and SemaCDR rank their target domain's\n"
        "  items; GenCDR decodes by constrained beam search for every domain, or only --domain D. Item\n"
        "  views (SemaCDR, --item-views plug-ins) are rebuilt from DIR and the categories file training read.\n"
        "  --all --out FILE.csv|FILE.json lists the N best items for every example of the split, given the\n"
        "  history before its target and skipping that history, batched as training evaluates: CSV rows\n"
        "  user,rank,item_id,item_key,domain,score; JSON adds each example's target. The share of targets\n"
        "  among their first K rows is the full protocol's HR@K under `vkrec train --exclude-history`.\n"
        "  It refuses a dataset (--data) or semantic IDs other than the checkpoint's (their fingerprints\n"
        "  differ) and a corrupt checkpoint (its digest differs). --out and --json never replace an input,\n"
        "  and replace an existing file only when it is of their kind (else --force).",
    CLI_OWN_OPTIONS(recommend_opts),
    .shared = recommend_shared,
};

/* Whether the model ranks target domain d: SASRec and SemaCDR their one domain; GenCDR every domain, or
 * `only` (>= 0). */
static bool rec_ranks(const rec_model* rm, const rec_ckpt* c, const vkr_dataset* ds, int only, uint32_t d) {
    return rm->generative ? only < 0 || (int)d == only : strcmp(ds->domain_name[d], c->domain) == 0;
}

/* Prints the user's lists (and writes them to json when not NULL). */
static vkr_status recommend_user(const vkr_dataset* ds, const rec_ckpt* c, rec_model* rm, uint32_t user, int only,
                                 uint32_t k, const char* json) {
    uint32_t* items = malloc(k * sizeof *items);
    float* scores = malloc(k * sizeof *scores);
    cJSON* root = cJSON_CreateObject();
    cJSON* lists = cJSON_AddArrayToObject(root, "recommendations");
    vkr_status s =
        items && scores ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u items", k);
    uint32_t len = vkr_dataset_user_len(ds, user), shown = len < 5 ? len : 5;
    printf("user %s (#%u): %u events; the most recent:\n", vkr_strtab_get(&ds->user_key, user), user, len);
    for (uint32_t i = len - shown; i < len; i++) {
        printf("  ");
        print_item(ds, ds->seq_item[ds->seq_begin[user] + i]);
    }
    cJSON_AddStringToObject(root, "user", vkr_strtab_get(&ds->user_key, user));
    cJSON_AddStringToObject(root, "model", c->model);
    for (uint32_t d = 0; s == VKR_OK && d < ds->domain_count; d++) {
        if (!rec_ranks(rm, c, ds, only, d)) continue;
        vkr_scorer sc = rec_model_scorer(rm, d);
        uint32_t n = 0;
        s = vkr_recommend(ds, d, user, &sc, k, items, scores, &n);
        if (s != VKR_OK) break;
        printf("top %u %s items by %s (%s):\n", n, ds->domain_name[d], c->model,
               !rm->generative          ? "score = logit"
               : c->global_trie         ? "beam search over every domain's IDs, score = log-likelihood of the ID"
                                        : "constrained beam search, score = log-likelihood of the semantic ID");
        cJSON* list = cJSON_CreateObject();
        cJSON_AddStringToObject(list, "domain", ds->domain_name[d]);
        cJSON* arr = cJSON_AddArrayToObject(list, "items");
        for (uint32_t j = 0; j < n; j++) {
            printf("%3u. %9.4f  ", j + 1, scores[j]);
            print_item(ds, items[j]);
            cJSON* o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "item", vkr_strtab_get(&ds->item_key, items[j]));
            cJSON_AddStringToObject(o, "title", vkr_strtab_get(&ds->item_title, items[j]));
            cJSON_AddNumberToObject(o, "score", scores[j]);
            cJSON_AddItemToArray(arr, o);
        }
        cJSON_AddItemToArray(lists, list);
    }
    if (s == VKR_OK && json) s = vkr_json_write(root, json);
    cJSON_Delete(root);
    free(items);
    free(scores);
    return s;
}

/* --all's progress line on a terminal. */
static void recommend_progress(uint32_t done, uint32_t total) {
    fprintf(stderr, "\rrecommend: %u/%u examples", done, total);
    if (done == total) fputc('\n', stderr);
}

/* Writes the lists of every example of the split whose target domain the model ranks to `out`. */
static vkr_status recommend_all(const vkr_dataset* ds, const rec_ckpt* c, rec_model* rm, int only, uint32_t k,
                                const char* split, const char* out, bool quiet) {
    bool valid = strcmp(split, "valid") == 0, ranks[VKR_DATA_MAX_DOMAINS] = {0};
    uint32_t listed = 0;
    for (uint32_t d = 0; d < ds->domain_count; d++) ranks[d] = rec_ranks(rm, c, ds, only, d);
    vkr_topk_options o = {.pairs = valid ? ds->valid : ds->test, .count = valid ? ds->valid_count : ds->test_count,
                          .domains = ranks, .scorer = rec_model_scorer, .model = rm, .k = k, .model_name = c->model,
                          .split = split, .progress = !quiet && isatty(fileno(stderr)) ? recommend_progress : NULL};
    VKR_TRY(vkr_topk_write(ds, &o, out, &listed));
    if (!quiet) printf("wrote the top %u items of %u %s examples to %s\n", k, listed, split, out);
    return VKR_OK;
}

int cli_cmd_recommend(int argc, char** argv) {
    cli_common com = {0};
    recommend_args a = {.k = 10};
    if (cli_parse(&cli_recommend_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    const char *ckpt = a.ckpt, *user_text = a.user, *domain_name = a.domain, *data = a.data;
    bool out_json = false;
    if (!ckpt || !(a.all ? a.out != NULL : user_text != NULL))
        return cli_usage_error("recommend", "needs --ckpt FILE and --user U, or --ckpt FILE --all --out FILE");
    if (a.all && user_text) return cli_usage_error("recommend", "--all lists every example: drop --user");
    if (!a.all && a.out) return cli_usage_error("recommend", "--out goes with --all (one user: --json FILE)");
    if (a.all && com.json_file) return cli_usage_error("recommend", "--json goes with --user (--all: --out FILE.json)");
    if (a.all && vkr_topk_format(a.out, &out_json) != VKR_OK)
        return cli_usage_error("recommend", "--out %s", vkr_last_error());
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    rec_ckpt c;
    vkr_status s = rec_ckpt_read(ckpt, &c);
    if (s != VKR_OK) return cli_fail("recommend", s);
    if (data) snprintf(c.data, sizeof c.data, "%s", data);
    const char* inputs[] = {c.path, c.data};
    const char* out = a.all ? a.out : com.json_file;
    if (out && cli_output_check("recommend", a.all ? "--out" : "--json", out, inputs, 2,
                                a.all && !out_json ? CLI_OUTPUT_CSV : CLI_OUTPUT_JSON, VKR_TOPK_CSV_HEADER,
                                com.force) != CLI_OK)
        return CLI_USAGE;
    vkr_dataset ds;
    if ((s = vkr_dataset_load(c.data, &ds)) != VKR_OK) return cli_fail("recommend", s);
    if ((s = cli_ckpt_check_data(c.path, c.dataset, c.ids, &ds, c.data, strcmp(c.model, "gencdr") == 0)) != VKR_OK) {
        vkr_dataset_free(&ds);
        return cli_fail("recommend", s);
    }
    uint32_t user = 0;
    int domain = domain_name ? vkr_dataset_domain_index(&ds, domain_name) : -1;
    int rc = CLI_OK;
    if (!a.all && !find_user(&ds, user_text, &user))
        rc = cli_usage_error("recommend", "--user '%s' is neither a user id of %s nor #N below %u", user_text, c.data,
                             ds.user_count);
    else if (domain_name && domain < 0)
        rc = cli_usage_error("recommend", "--domain '%s' is not a domain of %s", domain_name, c.data);
    else if (domain_name && strcmp(c.model, "gencdr") && strcmp(domain_name, c.domain))
        rc = cli_usage_error("recommend", "this %s checkpoint ranks %s items, not %s", c.model, c.domain, domain_name);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    rec_model rm = {0};
    if (rc == CLI_OK) s = cli_open_backend(com.device, &inst, &dev);
    if (rc == CLI_OK && s == VKR_OK) s = rec_model_open(&c, &ds, dev, a.all, &rm);
    if (rc == CLI_OK && s == VKR_OK)
        s = a.all ? recommend_all(&ds, &c, &rm, domain, a.k, split_choices[a.split], a.out, com.quiet)
                  : recommend_user(&ds, &c, &rm, user, domain, a.k, com.json_file);
    if (rc == CLI_OK && s != VKR_OK) rc = cli_fail("recommend", s);
    rec_model_free(&rm);
    cli_close_device(inst, dev);
    vkr_dataset_free(&ds);
    return rc;
}
