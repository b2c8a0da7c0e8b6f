/* vkrec ablate ids: which identifiers and which training tasks make GenCDR work, in one command. Every
 * semantic-ID scheme tokenizes the dataset into its own directory of links, GenCDR trains with every
 * task mix on each, and one table (Markdown and JSON) gives per domain and protocol HR@10 and NDCG@10
 * beside each scheme's collision rate, code use and times, with a t-SNE map of each scheme's item
 * vectors (GenCDR's code embeddings). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_output.h"
#include "cli_rec.h"
#include "cli_stages.h"
#include "run_data.h"
#include "cli_json.h"
#include "run_maps.h"
#include "vkr_clock.h"
#include "vkr_data.h"
#include "vkr_file.h"
#include "vkr_fileio.h"

#define ABLATE_MAX_MIXES 8

/* What `vkrec ablate` reads beside the shared recommender options. */
typedef struct ablate_args {
    const char* what;     /* "ids" */
    const char* dir;      /* the dataset */
    const char* out;      /* --out */
    const char* schemes;  /* --schemes */
    const char* mixes;    /* --task-mixes */
    uint32_t tokenizer_epochs; /* --tokenizer-epochs */
    uint32_t levels, codes;    /* --levels, --codes (0: each scheme's default) */
} ablate_args;

static const cli_positional ablate_positionals[] = {
    {"WHAT", "what to ablate: ids", offsetof(ablate_args, what), 1, 1},
    {"DIR", "a dataset directory with item_emb.npy", offsetof(ablate_args, dir), 1, 1}};
static const cli_option ablate_opts[] = {
    CLI_STRING(COMMAND, "--out", "DIR", ablate_args, out, "ablate-ids",
               "where the schemes' directories, ablate-ids.md, ablate-ids.json and maps/ go"),
    CLI_STRING(COMMAND, "--schemes", "S,...", ablate_args, schemes, "rqvae,rqvae+adapters,rkmeans,random,term",
               "the tokenize --method schemes to compare (rqvae+adapters: with GenCDR's domain adapters and router)"),
    CLI_STRING(COMMAND, "--task-mixes", "M;M...", ablate_args, mixes, "seqrec;seqrec,item2index,index2item,collab",
               "GenCDR's --tasks lists to train on every scheme, separated by ';'"),
    CLI_UINT(COMMAND, "--tokenizer-epochs", "N", ablate_args, tokenizer_epochs, 1, CLI_UINT_LIMIT,
             "as vkrec tokenize", "RQ-VAE epochs"),
    CLI_UINT(COMMAND, "--levels", "L", ablate_args, levels, 1, VKR_SEMID_MAX_LEVELS, "3; term: 5",
             "code levels of every scheme"),
    CLI_UINT(COMMAND, "--codes", "K", ablate_args, codes, 1, VKR_SEMID_MAX_CODES, "256",
             "codes per level (rqvae, rkmeans, random)"),
};
static const cli_option* const ablate_shared[] = {&cli_opt_seed, &cli_opt_device, &cli_opt_quiet, NULL};
const cli_spec cli_ablate_spec = {
    .name = "ablate",
    .description =
        "  ablate ids DIR: for every --schemes method, tokenizes DIR (its item_emb.npy) into OUT/ids-SCHEME (links\n"
        "  to the dataset beside the scheme's semantic_ids.npy and tokenizer.json), trains GenCDR there with\n"
        "  every --task-mixes list and evaluates it, then writes OUT/ablate-ids.md and OUT/ablate-ids.json:\n"
        "  per scheme and task mix, HR@10 and NDCG@10 per domain and protocol, the collision rate (and\n"
        "  before the uniform mapping), code use (mean utilization over levels), tokenize and train seconds;\n"
        "  and OUT/maps/ids-SCHEME.* (t-SNE of GenCDR's code embeddings of the items, on the default\n"
        "  Vulkan device when training runs on --device cpu; '+' in a scheme's name is '-' in its files).\n"
        "  ablate-ids.json is rewritten after every scheme (\"complete\": false until the maps are in), so\n"
        "  an interrupted ablation keeps the rows that finished.\n"
        "  Takes every option of vkrec train that describes GenCDR (--tasks is set by --task-mixes).",
    CLI_POSITIONALS(ablate_positionals),
    CLI_OWN_OPTIONS(ablate_opts),
    .groups = (const cli_option_group* const[]){&cli_rec_group, NULL},
    .shared = ablate_shared,
    .defaults = (const char* const[]){"--seed", "42", NULL},
};

/* A scheme of --schemes: a tokenize method, the RQ-VAE also with GenCDR's adapters. */
typedef struct ablate_scheme_id {
    int method;    /* cli_tokenize_method */
    bool adapters; /* rqvae+adapters */
    char name[32]; /* as given */
    char stem[32]; /* for files and map names: '+' as '-' */
} ablate_scheme_id;

/* Parses one --schemes entry; false when unknown. */
static bool ablate_method(const char* name, ablate_scheme_id* out) {
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->stem, sizeof out->stem, "%s", name);
    for (char* c = out->stem; *c; c++) *c = *c == '+' ? '-' : *c;
    out->adapters = strcmp(name, "rqvae+adapters") == 0;
    if (out->adapters) return out->method = CLI_TOKENIZE_RQVAE, true;
    for (int k = 0; cli_tokenize_method_choices[k]; k++)
        if (strcmp(cli_tokenize_method_choices[k], name) == 0) return out->method = k, true;
    return false;
}

/* What a scheme's tokenizer.json says: collision rates and the mean utilization over levels. */
static void ablate_tokenizer_figures(const char* sdir, cJSON* row) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/tokenizer.json", sdir);
    cJSON* j = cli_json_read(path);
    const cJSON* cr = cJSON_GetObjectItem(j, "collision_rate");
    cJSON_AddNumberToObject(row, "collision_rate", cJSON_IsNumber(cr) ? cr->valuedouble : -1);
    const cJSON* before = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "before_uniform_mapping"), "collision_rate");
    if (cJSON_IsNumber(before)) cJSON_AddNumberToObject(row, "collision_rate_before_mapping", before->valuedouble);
    double use = 0;
    int n = 0;
    const cJSON* level = NULL;
    cJSON_ArrayForEach(level, cJSON_GetObjectItem(j, "levels")) {
        use += cJSON_GetObjectItem(level, "utilization")->valuedouble;
        n++;
    }
    cJSON_AddNumberToObject(row, "code_use", n ? use / n : -1);
    cJSON_Delete(j);
}

/* The metric of `results` (rows of cli_stage_evaluate) for a domain and protocol, or -1. */
static double ablate_metric(const cJSON* results, const char* domain, const char* protocol, const char* key) {
    const cJSON* r = NULL;
    cJSON_ArrayForEach(r, results) {
        const cJSON* d = cJSON_GetObjectItem(r, "domain");
        const cJSON* p = cJSON_GetObjectItem(r, "protocol");
        if (cJSON_IsString(d) && cJSON_IsString(p) && strcmp(d->valuestring, domain) == 0 &&
            strcmp(p->valuestring, protocol) == 0)
            return cJSON_GetObjectItem(r, key)->valuedouble;
    }
    return -1;
}

/* The Markdown table: one row per scheme and task mix. */
static void ablate_table(FILE* f, const cJSON* rows, const vkr_dataset* ds, const cli_rec_job* job) {
    fprintf(f, "| scheme | tasks |");
    for (uint32_t d = 0; d < ds->domain_count; d++)
        for (uint32_t p = 0; p < job->protocol_count; p++)
            fprintf(f, " %s %s HR@10 | NDCG@10 |", ds->domain_name[d], job->protocol_names[p]);
    fprintf(f, " collisions (before mapping) | code use | tokenize s | train s |\n|---|---|");
    for (uint32_t k = 0; k < 2 * ds->domain_count * job->protocol_count + 4; k++) fprintf(f, "---:|");
    fprintf(f, "\n");
    const cJSON* r = NULL;
    cJSON_ArrayForEach(r, rows) {
        fprintf(f, "| %s | %s |", cJSON_GetObjectItem(r, "scheme")->valuestring, cJSON_GetObjectItem(r, "tasks")->valuestring);
        const cJSON* res = cJSON_GetObjectItem(r, "results");
        for (uint32_t d = 0; d < ds->domain_count; d++)
            for (uint32_t p = 0; p < job->protocol_count; p++)
                fprintf(f, " %.4f | %.4f |", ablate_metric(res, ds->domain_name[d], job->protocol_names[p], "hr10"),
                        ablate_metric(res, ds->domain_name[d], job->protocol_names[p], "ndcg10"));
        const cJSON* before = cJSON_GetObjectItem(r, "collision_rate_before_mapping");
        char b[32] = "";
        if (before) snprintf(b, sizeof b, " (%.2f%%)", 100 * before->valuedouble);
        fprintf(f, " %.2f%%%s | %.3f | %.1f | %.1f |\n", 100 * cJSON_GetObjectItem(r, "collision_rate")->valuedouble, b,
                cJSON_GetObjectItem(r, "code_use")->valuedouble, cJSON_GetObjectItem(r, "tokenize_seconds")->valuedouble,
                cJSON_GetObjectItem(r, "train_seconds")->valuedouble);
    }
}

/* Tokenizes with one scheme into OUT/ids-METHOD and trains every task mix there; rows appended. */
/* OUT/ablate-ids.json: the rows so far and, once every scheme has run, the maps ("complete": true). */
static vkr_status ablate_write_json(const ablate_args* a, const vkr_device* dev, uint64_t seed, cJSON* rows,
                                    cJSON* maps) {
    cJSON* j = cJSON_CreateObject();
    if (!j) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    cJSON_AddStringToObject(j, "dataset", a->dir);
    cJSON_AddStringToObject(j, "device", cli_backend_name(dev));
    cJSON_AddNumberToObject(j, "seed", (double)seed);
    cJSON_AddBoolToObject(j, "complete", maps != NULL);
    cJSON_AddItemReferenceToObject(j, "rows", rows);
    if (maps) cJSON_AddItemReferenceToObject(j, "maps", maps);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/ablate-ids.json", a->out);
    vkr_status s = vkr_json_write(j, path);
    cJSON_Delete(j);
    return s;
}

static vkr_status ablate_scheme(vkr_device* dev, const ablate_args* a, const vkr_dataset* ds, const cli_rec_job* base,
                                const ablate_scheme_id* scheme, char mixes[][128], const uint32_t* mix_tasks,
                                uint32_t n_mixes, uint64_t seed, cJSON* rows, cli_gencdr_views* views) {
    char sdir[PATH_MAX];
    snprintf(sdir, sizeof sdir, "%s/ids-%s", a->out, scheme->stem);
    /* the dataset, and the embedding files that exist: random IDs need none, and every other scheme's
     * tokenize names a missing item_emb.npy itself */
    const char* files[4] = {"dataset.json", "data.bin"};
    size_t n_files = 2;
    static const char* const optional[] = {"item_emb.npy", "item_emb.json"};
    for (size_t k = 0; k < 2; k++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", a->dir, optional[k]);
        if (vkr_path_exists(path)) files[n_files++] = optional[k];
    }
    VKR_TRY(run_link_files(a->dir, sdir, files, n_files));
    if (!base->quiet) printf("== tokenize %s (%s)\n", scheme->name, sdir);
    cli_tokenize_options t = {.dir = sdir, .method = scheme->method, .config = {.adapters = scheme->adapters, .levels = a->levels, .codes = a->codes},
                              .train = {.epochs = a->tokenizer_epochs, .seed = seed}, .term_neighbors = 10,
                              .term_context = 0.5f, .quiet = true};
    double t0 = vkr_now_s();
    VKR_TRY(cli_stage_tokenize(dev, &t));
    double tokenize_s = vkr_now_s() - t0;
    for (uint32_t k = 0; k < n_mixes; k++) {
        cli_rec_job job = *base;
        job.model = "gencdr";
        job.data_dir = sdir;
        job.gencdr.tasks = mix_tasks[k];
        const char* label = mixes[k];
        job.views_out = k == 0 ? views : NULL;
        if (!base->quiet) printf("== GenCDR on %s IDs, tasks %s\n", scheme->name, label);
        cJSON* results = cJSON_CreateArray();
        t0 = vkr_now_s();
        vkr_status s = results ? cli_stage_train(dev, ds, &job, 0, ds->domain_count, results, base->quiet ? NULL : stdout)
                               : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        cJSON* row = s == VKR_OK ? cJSON_CreateObject() : NULL;
        if (row) {
            cJSON_AddStringToObject(row, "scheme", scheme->name);
            cJSON_AddStringToObject(row, "tasks", label);
            ablate_tokenizer_figures(sdir, row);
            cJSON_AddNumberToObject(row, "tokenize_seconds", tokenize_s);
            cJSON_AddNumberToObject(row, "train_seconds", vkr_now_s() - t0);
            cJSON_AddItemToObject(row, "results", results);
            cJSON_AddItemToArray(rows, row);
        } else {
            cJSON_Delete(results);
            if (s == VKR_OK) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        }
        VKR_TRY(s);
    }
    return VKR_OK;
}

/* Splits --task-mixes into lists, each parsed as --tasks is (mixes[k] its text, bits[k] its tasks). */
static int ablate_parse_mixes(const char* value, char mixes[][128], uint32_t* bits, uint32_t* n) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", value);
    *n = 0;
    for (char* save = NULL, *mix = strtok_r(buf, ";", &save); mix; mix = strtok_r(NULL, ";", &save)) {
        if (*n == ABLATE_MAX_MIXES) return cli_usage_error("ablate", "--task-mixes: at most %d lists", ABLATE_MAX_MIXES);
        if (!cli_parse_tasks("ablate", "--task-mixes", mix, &bits[*n])) return CLI_USAGE;
        snprintf(mixes[(*n)++], 128, "%s", mix);
    }
    return *n ? CLI_OK : cli_usage_error("ablate", "--task-mixes: no task list");
}

int cli_cmd_ablate(int argc, char** argv) {
    cli_common com = {0};
    ablate_args a = {.out = "ablate-ids", .schemes = "rqvae,rqvae+adapters,rkmeans,random,term",
                     .mixes = "seqrec;seqrec,item2index,index2item,collab"};
    cli_rec_args rec;
    cli_rec_args_init(&rec);
    com.seed = 42;
    if (cli_parse(&cli_ablate_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a, &rec, NULL}) != CLI_OK)
        return CLI_USAGE;
    if (strcmp(a.what, "ids") != 0) return cli_usage_error("ablate", "WHAT must be ids (got '%s')", a.what);
    cli_rec_args_apply(&rec, &com);
    if (rec.job.gencdr.tasks) return cli_usage_error("ablate", "--tasks is set per run by --task-mixes");
    char mixes[ABLATE_MAX_MIXES][128];
    uint32_t mix_tasks[ABLATE_MAX_MIXES], n_mixes = 0;
    if (ablate_parse_mixes(a.mixes, mixes, mix_tasks, &n_mixes) != CLI_OK) return CLI_USAGE;
    ablate_scheme_id methods[8];
    uint32_t n_methods = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", a.schemes);
    for (char* save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n_methods == 8) return cli_usage_error("ablate", "--schemes: at most 8");
        if (!ablate_method(tok, &methods[n_methods++]))
            return cli_usage_error("ablate", "--schemes: unknown scheme '%s' (expected rqvae, rqvae+adapters, rkmeans, "
                                   "random, term)", tok);
    }
    if (!n_methods) return cli_usage_error("ablate", "--schemes: no scheme");
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_lock lock;
    vkr_status s = cli_output_lock(a.out, &lock);
    if (s != VKR_OK) return cli_fail("ablate", s);
    vkr_dataset ds = {0};
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    cJSON* rows = cJSON_CreateArray();
    cli_gencdr_views views[8] = {{0}};
    s = rows ? vkr_dataset_load(a.dir, &ds) : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == VKR_OK) s = cli_open_backend(com.device, &inst, &dev);
    for (uint32_t k = 0; k < n_methods && s == VKR_OK; k++) {
        s = ablate_scheme(dev, &a, &ds, &rec.job, &methods[k], mixes, mix_tasks, n_mixes, com.seed, rows, &views[k]);
        /* the rows so far, after every scheme: an interrupted ablation keeps what finished */
        if (s == VKR_OK) s = ablate_write_json(&a, dev, com.seed, rows, NULL);
    }
    run_map_view mv[8];
    char names[8][48];
    for (uint32_t k = 0; k < n_methods; k++) {
        snprintf(names[k], sizeof names[k], "ids-%s", methods[k].stem);
        mv[k] = (run_map_view){.name = names[k], .emb = views[k].codes, .dim = views[k].dim};
    }
    cJSON* maps = cJSON_CreateObject();
    /* Training on the CPU backend is the fast choice on a machine without a GPU, but t-SNE runs on
     * Vulkan only: the maps then use the default Vulkan device (lavapipe included) where one opens. */
    vkr_instance* map_inst = NULL;
    vkr_device* map_dev = dev;
    if (s == VKR_OK && !dev && cli_open_device(NULL, &map_inst, &map_dev) != VKR_OK) {
        if (!com.quiet) printf("== maps: no Vulkan device (%s); alignment figures only\n", vkr_last_error());
        map_dev = NULL;
    }
    if (s == VKR_OK) s = cli_stage_maps(map_dev, a.out, a.dir, &ds, mv, n_methods, com.quiet, maps, NULL);
    if (map_inst) cli_close_device(map_inst, map_dev);
    char path[PATH_MAX + 32];
    if (s == VKR_OK) s = ablate_write_json(&a, dev, com.seed, rows, maps);
    if (s == VKR_OK) {
        snprintf(path, sizeof path, "%s/ablate-ids.md", a.out);
        char tmp[PATH_MAX + 64];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE* f = fopen(tmp, "w");
        if (!f) s = vkr_fail(VKR_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        else {
            fprintf(f, "# Semantic-ID schemes x GenCDR training tasks on %s (seed %llu, %s)\n\n", a.dir,
                    (unsigned long long)com.seed, cli_backend_name(dev));
            ablate_table(f, rows, &ds, &rec.job);
            if (fclose(f) != 0 || rename(tmp, path) != 0) s = vkr_fail(VKR_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        }
        if (s == VKR_OK && !com.quiet) {
            printf("\n");
            ablate_table(stdout, rows, &ds, &rec.job);
            printf("\nwrote %s and %s/ablate-ids.json\n", path, a.out);
        }
    }
    for (uint32_t k = 0; k < 8; k++) free(views[k].codes), free(views[k].ids), free(views[k].fused);
    cJSON_Delete(maps);
    cJSON_Delete(rows);
    vkr_dataset_free(&ds);
    cli_close_device(inst, dev);
    vkr_lock_release(&lock);
    return s == VKR_OK ? CLI_OK : cli_fail("ablate", s);
}
