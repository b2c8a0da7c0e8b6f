/* realpath() is X/Open, beyond the project-wide POSIX level */
#define _XOPEN_SOURCE 700
#include "cli_rec.h"
#include "cli_json.h"
#include "cli_stages.h"
#include "vkr_dist.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_ckpt.h"
#include "vkr_agnostic.h"
#include "vkr_beams_io.h"
#include "vkr_npy.h"

void cli_rec_table_header(FILE* t, const cli_rec_job* job) {
    char name[32];
    fprintf(t, "%-18s %-8s %-12s %7s", "model", "domain", "protocol", "examples");
    for (uint32_t c = 0; c < job->cutoffs.count; c++) {
        snprintf(name, sizeof name, "HR@%u", job->cutoffs.v[c]);
        fprintf(t, " %7s", name);
    }
    for (uint32_t c = 0; c < job->cutoffs.count; c++) {
        snprintf(name, sizeof name, "NDCG@%u", job->cutoffs.v[c]);
        fprintf(t, " %8s", name);
    }
    fprintf(t, " %7s\n", "MRR");
}

/* One result row's metrics: a table row's figures and JSON hrK and ndcgK for every requested cut-off,
 * and always at 5 and 10 (the keys report.md reads). */
static void cli_metrics_out(const vkr_metrics* m, const cli_rec_job* job, FILE* table, cJSON* o) {
    uint32_t keys[CLI_MAX_CUTOFFS + 2] = {5, 10}, n = 2;
    for (uint32_t c = 0; c < job->cutoffs.count; c++) keys[n++] = job->cutoffs.v[c];
    n = vkr_sort_unique(keys, n);
    char name[32];
    for (int ndcg = 0; ndcg < 2; ndcg++) {
        for (uint32_t c = 0; table && c < job->cutoffs.count; c++) {
            vkr_cutoff_means at = vkr_metrics_at(m, job->cutoffs.v[c]);
            fprintf(table, ndcg ? " %8.4f" : " %7.4f", ndcg ? at.ndcg : at.hr);
        }
        for (uint32_t c = 0; o && c < n; c++) {
            vkr_cutoff_means at = vkr_metrics_at(m, keys[c]);
            snprintf(name, sizeof name, "%s%u", ndcg ? "ndcg" : "hr", keys[c]);
            cJSON_AddNumberToObject(o, name, ndcg ? at.ndcg : at.hr);
        }
    }
    double mrr = vkr_metrics_means(m).mrr;
    if (table) fprintf(table, " %7.4f\n", mrr);
    if (o) cJSON_AddNumberToObject(o, "mrr", mrr);
}

/* What a checkpoint says about its model, so `vkrec recommend --ckpt` can rebuild it alone. */
typedef struct cli_meta {
    char val[24][PATH_MAX];   /* values */
    const char* kv[2 * 24 + 1]; /* key, value, ..., NULL */
    uint32_t n;               /* entries */
} cli_meta;

static void cli_meta_add(cli_meta* m, const char* key, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->val[m->n], sizeof m->val[m->n], fmt, ap);
    va_end(ap);
    m->kv[2 * m->n] = key;
    m->kv[2 * m->n + 1] = m->val[m->n];
    m->kv[2 * ++m->n] = NULL;
}

/* The model-independent entries: kind, dataset (absolute path and fingerprint) and the shared sizes. */
static void cli_meta_common(cli_meta* m, const char* model, const char* data_dir, const vkr_dataset* ds,
                            uint32_t max_len, uint32_t hidden, uint32_t blocks, uint32_t heads) {
    char abs[PATH_MAX], fp[128];
    m->n = 0;
    cli_meta_add(m, "vkrec.model", "%s", model);
    cli_meta_add(m, CLI_CKPT_DATA_PATH, "%s", data_dir && realpath(data_dir, abs) ? abs : data_dir ? data_dir : "");
    cli_ckpt_dataset_fingerprint(ds, fp, sizeof fp);
    cli_meta_add(m, CLI_CKPT_DATASET, "%s", fp);
    cli_meta_add(m, "vkrec.max_len", "%u", max_len);
    cli_meta_add(m, "vkrec.hidden", "%u", hidden);
    cli_meta_add(m, "vkrec.blocks", "%u", blocks);
    cli_meta_add(m, "vkrec.heads", "%u", heads);
}

/* The training settings a resumed run must repeat to replay the same run (`train --resume` compares them). */
static void cli_meta_training(cli_meta* m, uint32_t batch, float lr, float dropout, uint64_t seed) {
    cli_meta_add(m, "vkrec.batch", "%u", batch);
    cli_meta_add(m, "vkrec.lr", "%g", (double)lr);
    cli_meta_add(m, "vkrec.dropout", "%g", (double)dropout);
    cli_meta_add(m, "vkrec.seed", "%llu", (unsigned long long)seed);
}

/* The training figures that go with every result row of a trained model. */
static cJSON* cli_fit_json(const vkr_fit_report* r, const char* hr10_key) {
    cJSON* o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epochs", r->epochs_run);
    cJSON_AddNumberToObject(o, "best_epoch", r->best_epoch);
    cJSON_AddNumberToObject(o, hr10_key, r->best_hr10);
    cJSON_AddNumberToObject(o, "seq_per_s", r->units_per_s);
    cJSON_AddNumberToObject(o, "ranks", vkr_dist_size()); /* data-parallel processes (mpirun -np) */
    cJSON_AddNumberToObject(o, "last_loss", r->last_loss);
    /* the curves, epoch by epoch: "loss", then the validation figure named as hr10_key without "best_"
     * (null: an epoch resumed from a checkpoint that did not record it) */
    cJSON* curve = cJSON_AddObjectToObject(o, "curve");
    cJSON* loss = cJSON_AddArrayToObject(curve, "loss");
    cJSON* hr10 = cJSON_AddArrayToObject(curve, hr10_key + strlen("best_"));
    for (uint32_t e = 0; e < r->epochs_run; e++) {
        double l = r->history[e].loss, h = r->history[e].valid_hr10;
        cJSON_AddItemToArray(loss, isfinite(l) ? cJSON_CreateNumber(l) : cJSON_CreateNull());
        cJSON_AddItemToArray(hr10, isfinite(h) ? cJSON_CreateNumber(h) : cJSON_CreateNull());
    }
    return o;
}

/* The (user, position) pairs of the job's evaluation split and their count. */
const uint32_t* cli_rec_split_pairs(const vkr_dataset* ds, const cli_rec_job* job, uint32_t* count) {
    const bool valid = strcmp(job->split, "valid") == 0;
    *count = valid ? ds->valid_count : ds->test_count;
    return valid ? ds->valid : ds->test;
}

/* Refuses a given sampled protocol that a domain in [first, last) cannot honour before anything
 * trains: found at evaluation, it would cost the whole training. SASRec also validates with the first
 * one. Defaults that do not fit are left out at evaluation instead (cli_stage_evaluate). */
static vkr_status check_protocols(const vkr_dataset* ds, const cli_rec_job* job, uint32_t first, uint32_t last) {
    if (!job->protocols_given) return VKR_OK;
    uint32_t count = 0;
    const uint32_t* pairs = cli_rec_split_pairs(ds, job, &count);
    for (uint32_t d = first; d < last; d++) {
        for (uint32_t k = 0; k < job->protocol_count; k++)
            VKR_TRY(vkr_protocol_check(ds, d, pairs, count, &job->protocols[k]));
        if (strcmp(job->model, "sasrec") == 0 || strcmp(job->model, "semacdr") == 0)
            VKR_TRY(vkr_protocol_check(ds, d, ds->valid, ds->valid_count, &job->sasrec.validate));
    }
    return VKR_OK;
}

vkr_status cli_stage_evaluate(const vkr_dataset* ds, const vkr_scorer* scorer, const cli_rec_job* job,
                              const char* label, uint32_t domain, double train_s, const cJSON* fit, cJSON* results,
                              FILE* table) {
    uint32_t count = 0;
    const uint32_t* pairs = cli_rec_split_pairs(ds, job, &count);
    for (uint32_t k = 0; k < job->protocol_count; k++) {
        vkr_metrics m;
        double t0 = vkr_now_s();
        /* a default protocol this domain cannot honour is left out and said so (a given one was refused) */
        vkr_status s = job->protocols_given ? VKR_OK : vkr_protocol_check(ds, domain, pairs, count, &job->protocols[k]);
        s = s == VKR_OK ? vkr_evaluate(ds, domain, pairs, count, scorer, &job->protocols[k], &m) : VKR_ERR_UNSUPPORTED;
        if (s == VKR_ERR_UNSUPPORTED) { /* e.g. GenCDR's full ranking without beam search */
            if (table) fprintf(table, "%-18s %-8s %-12s   (skipped: %s)\n", label, ds->domain_name[domain],
                               job->protocol_names[k], vkr_last_error());
            continue;
        }
        if (s != VKR_OK) return s;
        double eval_s = vkr_now_s() - t0;
        if (table)
            fprintf(table, "%-18s %-8s %-12s %7llu", label, ds->domain_name[domain], job->protocol_names[k],
                    (unsigned long long)m.count);
        cJSON* o = results ? cJSON_CreateObject() : NULL;
        if (o) {
            cJSON_AddStringToObject(o, "model", label);
            cJSON_AddStringToObject(o, "domain", ds->domain_name[domain]);
            cJSON_AddStringToObject(o, "protocol", job->protocol_names[k]);
            cJSON_AddStringToObject(o, "split", job->split);
            cJSON_AddNumberToObject(o, "examples", (double)m.count);
        }
        cli_metrics_out(&m, job, table, o);
        if (!o) continue;
        /* sampled negatives never include the user's items; the full ranking leaves them out on request */
        cJSON_AddBoolToObject(o, "exclude_history", job->protocols[k].negatives || job->protocols[k].exclude_history);
        cJSON_AddNumberToObject(o, "train_seconds", train_s);
        cJSON_AddNumberToObject(o, "eval_seconds", eval_s);
        cJSON_AddNumberToObject(o, "eval_examples_per_s", eval_s > 0 ? (double)m.count / eval_s : 0);
        if (fit) cJSON_AddItemToObject(o, "training", cJSON_Duplicate(fit, true));
        cJSON_AddItemToArray(results, o);
    }
    return VKR_OK;
}

vkr_status cli_sema_inputs_load(const vkr_dataset* ds, const char* data_dir, const char* agnostic_file, uint32_t views,
                                cli_sema_inputs* in) {
    memset(in, 0, sizeof *in);
    char path[PATH_MAX];
    if (views & VKR_ITEM_VIEW_INNER) {
        snprintf(path, sizeof path, "%s/item_emb.npy", data_dir);
        struct stat sb;
        if (stat(path, &sb) != 0)
            return vkr_fail(VKR_ERR_NOT_FOUND, "the inner item view needs %s (run vkrec embed %s, or --item-views without "
                            "inner)", path, data_dir);
        VKR_TRY(vkr_npy_load_f32(path, &in->text));
        VKR_TRY(vkr_npy_check(&in->text, path, VKR_ELEM_F32, 2, (const uint64_t[]){ds->item_count, VKR_DIM_ANY}));
        in->items.text = in->text.data;
        in->items.text_dim = (uint32_t)in->text.shape[1];
    }
    if (!(views & VKR_ITEM_VIEW_AGNOSTIC)) return VKR_OK;
    const int32_t* assign;
    size_t flen = agnostic_file ? strlen(agnostic_file) : 0;
    if (flen && (flen < 4 || strcmp(agnostic_file + flen - 4, ".npy") != 0)) {
        VKR_TRY(vkr_agnostic_import(ds, agnostic_file, &in->imported));
        assign = in->imported.assign;
    } else {
        if (flen) snprintf(path, sizeof path, "%s", agnostic_file);
        else snprintf(path, sizeof path, "%s/agnostic.npy", data_dir);
        struct stat sb;
        if (stat(path, &sb) != 0)
            return vkr_fail(VKR_ERR_NOT_FOUND, "the agnostic item view needs %s (run vkrec categories %s), --agnostic "
                            "FILE, or --item-views without agnostic", path, data_dir);
        VKR_TRY(vkr_npy_load(path, &in->cats));
        VKR_TRY(vkr_npy_check(&in->cats, path, VKR_ELEM_I32, 2, (const uint64_t[]){ds->item_count, 2}));
        assign = in->cats.data;
    }
    int32_t kmax = -1, mmax = -1;
    for (uint32_t i = 0; i < ds->item_count; i++) {
        if (assign[2 * i] > kmax) kmax = assign[2 * i];
        if (assign[2 * i + 1] > mmax) mmax = assign[2 * i + 1];
    }
    if (kmax < 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "the agnostic item view: no item has a category (every one is none)");
    in->items.category = assign;
    in->items.categories = (uint32_t)kmax + 1;
    in->items.subcategories = (uint32_t)(mmax + 1);
    return VKR_OK;
}

void cli_sema_inputs_free(cli_sema_inputs* in) {
    vkr_npy_free(&in->text);
    vkr_npy_free(&in->cats);
    vkr_agnostic_free(&in->imported);
}

/* The plug-in's inputs (SASRec, GenCDR): those the job holds in memory, else loaded into *in. */
static vkr_status cli_plugin_inputs(const vkr_dataset* ds, const cli_rec_job* job, uint32_t views, cli_sema_inputs* in,
                                    const vkr_item_semantics** out) {
    memset(in, 0, sizeof *in);
    *out = job->semacdr_items;
    if (*out) return VKR_OK;
    VKR_TRY(cli_sema_inputs_load(ds, job->data_dir, job->agnostic_file, views, in));
    *out = &in->items;
    return VKR_OK;
}

/* The plug-in's metadata: its views, lambda, and the categories file (absolute) vkrec recommend reloads. */
static void cli_meta_views(cli_meta* meta, const cli_rec_job* job, uint32_t views, float lambda) {
    cli_meta_add(meta, "vkrec.item_views", "%u", views | VKR_ITEM_VIEW_ID);
    if (!(views & ~VKR_ITEM_VIEW_ID)) return;
    cli_meta_add(meta, "vkrec.lambda", "%g", (double)lambda);
    char abs[PATH_MAX];
    if (job->agnostic_file) cli_meta_add(meta, "vkrec.agnostic", "%s", realpath(job->agnostic_file, abs) ? abs : job->agnostic_file);
}

/* Trains pop or SASRec for target `domain` and evaluates it. */
static vkr_status train_domain(const vkr_dataset* ds, vkr_device* dev, const cli_rec_job* job, uint32_t domain,
                               cJSON* results, FILE* table) {
    vkr_scorer scorer;
    vkr_pop pop = {0};
    vkr_sasrec_model sm = {0};
    cli_sema_inputs sema_in = {0};
    char label[48];
    double train_s = 0;
    cJSON* extra = NULL;
    vkr_status s = VKR_OK;
    if (strcmp(job->model, "pop") == 0) {
        snprintf(label, sizeof label, "pop");
        s = vkr_pop_fit(ds, domain, &pop);
        scorer = vkr_pop_scorer(&pop);
    } else if (strcmp(job->model, "sasrec") == 0) {
        if (job->loss == CLI_LOSS_BPR)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--loss bpr is SemaCDR's; SASRec trains with bce or ce");
        vkr_sasrec_train t = job->sasrec;
        t.domain = domain;
        t.quiet = job->quiet;
        bool views = (t.item_views & ~VKR_ITEM_VIEW_ID) != 0;
        if (views) s = cli_plugin_inputs(ds, job, t.item_views, &sema_in, &t.semantics);
        char dir[1024];
        if (job->ckpt_root) {
            snprintf(dir, sizeof dir, "%s/%s-%s-%s%s-%s", job->ckpt_root, t.gru ? "gru4rec" : "sasrec",
                     t.loss == VKR_SASREC_CE ? "ce" : "bce",
                     t.mixed_input ? "mixed" : "target", views ? "+views" : "", ds->domain_name[domain]);
            if (s == VKR_OK) s = cli_ckpt_dir_make(job->ckpt_root, dir);
            t.ckpt_dir = dir;
        }
        snprintf(label, sizeof label, "%s-%s%s%s", t.gru ? "gru4rec" : "sasrec", t.loss == VKR_SASREC_CE ? "ce" : "bce", t.mixed_input ? "-mixed" : "",
                 views ? "+views" : "");
        static cli_meta meta; /* large: kept off the stack */
        cli_meta_common(&meta, "sasrec", job->data_dir, ds, t.max_len, t.hidden, t.blocks, t.heads);
        cli_meta_training(&meta, t.batch, t.lr, t.dropout, t.seed);
        cli_meta_add(&meta, "vkrec.domain", "%s", ds->domain_name[domain]);
        cli_meta_add(&meta, "vkrec.loss", "%s", t.loss == VKR_SASREC_CE ? "ce" : "bce");
        cli_meta_add(&meta, "vkrec.input", "%s", t.mixed_input ? "mixed" : "target");
        const char* arch = vkr_sasrec_arch_name(vkr_sasrec_arch_resolve(t.arch, t.loss));
        cli_meta_add(&meta, "vkrec.arch", "%s", arch);
        cli_meta_add(&meta, "vkrec.encoder", "%s", t.gru ? "gru" : "transformer");
        /* the batches' order and weighting: resuming exactly needs the same */
        cli_meta_add(&meta, "vkrec.buckets", "%s", t.buckets ? "auto" : "off");
        cli_meta_views(&meta, job, t.item_views, t.view_lambda);
        t.metadata = meta.kv;
        if (!job->quiet) fprintf(stderr, "training %s for %s on %s\n", label, ds->domain_name[domain], dev ? "the GPU" : "the CPU");
        if (s == VKR_OK && t.resume && t.ckpt_dir) s = cli_ckpt_check_resume(t.ckpt_dir, meta.kv);
        if (s == VKR_OK) s = vkr_sasrec_fit(ds, dev, &t, &sm);
        scorer = vkr_sasrec_scorer(&sm);
        train_s = sm.fit.seconds;
        extra = cli_fit_json(&sm.fit, "best_valid_hr10");
        if (extra) cJSON_AddStringToObject(extra, "arch", arch);
        if (extra) cJSON_AddStringToObject(extra, "buckets", t.buckets ? "auto" : "off");
    } else {
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--model '%s': expected pop, sasrec or gencdr", job->model);
    }
    if (s == VKR_OK) s = cli_stage_evaluate(ds, &scorer, job, label, domain, train_s, extra, results, table);
    cJSON_Delete(extra);
    vkr_pop_free(&pop);
    vkr_sasrec_model_free(&sm);
    cli_sema_inputs_free(&sema_in);
    return s;
}

/* "semacdr", or with the ablations and views that differ from the paper's model named. */
static void cli_sema_label(const vkr_semacdr_train* t, char* out, size_t n) {
    uint32_t all = VKR_ITEM_VIEW_ID | VKR_ITEM_VIEW_INNER | VKR_ITEM_VIEW_AGNOSTIC;
    snprintf(out, n, "semacdr%s%s%s%s%s%s%s%s%s", (t->views | VKR_ITEM_VIEW_ID) == all ? "" : "-",
             (t->views | VKR_ITEM_VIEW_ID) == all        ? ""
             : (t->views & VKR_ITEM_VIEW_INNER)          ? "inner"
             : (t->views & VKR_ITEM_VIEW_AGNOSTIC)       ? "agn"
                                                            : "idonly",
             t->graph ? "" : "-nograph", t->cross_fusion ? "" : "-nocross", t->adaptive_fusion ? "" : "-avgfusion",
             t->lambda > 0 || !(t->views & VKR_ITEM_VIEW_AGNOSTIC) ? "" : "-nocl", t->graph_user ? "-graphuser" : "",
             t->infonce_mask && t->lambda > 0 ? "-mask" : "", t->softmax ? "" : "-bpr");
}

/* Trains SemaCDR for target `domain` and evaluates it. */
static vkr_status train_semacdr(const vkr_dataset* ds, vkr_device* dev, const cli_rec_job* job, uint32_t domain,
                                cJSON* results, FILE* table) {
    if (job->loss == CLI_LOSS_BCE)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--loss bce is SASRec's; SemaCDR trains with ce (the default) or bpr "
                        "(the paper's)");
    vkr_semacdr_train t = job->semacdr;
    t.domain = domain;
    t.quiet = job->quiet;
    char label[64], dir[1024];
    cli_sema_label(&t, label, sizeof label);
    vkr_status s = VKR_OK;
    if (job->ckpt_root) {
        snprintf(dir, sizeof dir, "%s/%s-%s", job->ckpt_root, label, ds->domain_name[domain]);
        s = cli_ckpt_dir_make(job->ckpt_root, dir);
        t.ckpt_dir = dir;
    }
    static cli_meta meta;
    cli_meta_common(&meta, "semacdr", job->data_dir, ds, t.max_len, t.hidden, t.blocks, t.heads);
    cli_meta_training(&meta, t.batch, t.lr, t.dropout, t.seed);
    cli_meta_add(&meta, "vkrec.domain", "%s", ds->domain_name[domain]);
    cli_meta_add(&meta, "vkrec.variant", "%s", label);
    cli_meta_views(&meta, job, t.views, t.lambda);
    cli_meta_add(&meta, "vkrec.graph", "%u", t.graph ? 1u : 0u);
    cli_meta_add(&meta, "vkrec.cross_fusion", "%u", t.cross_fusion ? 1u : 0u);
    cli_meta_add(&meta, "vkrec.adaptive_fusion", "%u", t.adaptive_fusion ? 1u : 0u);
    cli_meta_add(&meta, "vkrec.graph_user", "%u", t.graph_user ? 1u : 0u);
    cli_meta_add(&meta, "vkrec.semantic_lr", "%g", (double)t.semantic_lr);
    cli_meta_add(&meta, "vkrec.loss", "%s", t.softmax ? "ce" : "bpr");
    t.metadata = meta.kv;
    cli_sema_inputs in;
    memset(&in, 0, sizeof in);
    if (s == VKR_OK && job->semacdr_items) in.items = *job->semacdr_items;
    else if (s == VKR_OK) s = cli_sema_inputs_load(ds, job->data_dir, job->agnostic_file, t.views, &in);
    if (!job->quiet && s == VKR_OK)
        fprintf(stderr, "training %s for %s on %s\n", label, ds->domain_name[domain], dev ? "the GPU" : "the CPU");
    if (s == VKR_OK && t.resume && t.ckpt_dir) s = cli_ckpt_check_resume(t.ckpt_dir, meta.kv);
    vkr_semacdr_model m = {0};
    if (s == VKR_OK) s = vkr_semacdr_fit(ds, dev, &t, &in.items, &m);
    cli_sema_inputs_free(&in);
    cJSON* extra = s == VKR_OK ? cli_fit_json(&m.fit, "best_valid_hr10") : NULL;
    vkr_scorer scorer = vkr_semacdr_scorer(&m);
    if (s == VKR_OK) s = cli_stage_evaluate(ds, &scorer, job, label, domain, m.fit.seconds, extra, results, table);
    if (s == VKR_OK && job->semacdr_vectors_out && !*job->semacdr_vectors_out) {
        float* v = malloc((size_t)ds->item_count * t.hidden * sizeof *v);
        s = v ? vkr_semacdr_item_vectors(&m, v) : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        if (s == VKR_OK) *job->semacdr_vectors_out = v;
        else free(v);
    }
    cJSON_Delete(extra);
    vkr_semacdr_model_free(&m);
    return s;
}

static vkr_status cli_gencdr_vectors(vkr_gencdr_model* m, cli_gencdr_views* v) {
    size_t bytes = (size_t)m->ds->item_count * m->cfg.hidden * sizeof(float);
    v->dim = m->cfg.hidden;
    v->codes = malloc(bytes);
    v->fused = malloc(bytes);
    v->ids = m->cfg.item_ids ? malloc(bytes) : NULL;
    if (!v->codes || !v->fused || (m->cfg.item_ids && !v->ids))
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the item vectors");
    VKR_TRY(vkr_gencdr_item_vectors(m, VKR_GENCDR_VIEW_CODES, v->codes));
    VKR_TRY(vkr_gencdr_item_vectors(m, VKR_GENCDR_VIEW_FUSED, v->fused));
    return v->ids ? vkr_gencdr_item_vectors(m, VKR_GENCDR_VIEW_IDS, v->ids) : VKR_OK;
}

/* Trains one GenCDR model for every domain and evaluates it per target domain. */
static vkr_status train_gencdr(const vkr_dataset* ds, vkr_device* dev, const cli_rec_job* job, cJSON* results,
                               FILE* table) {
    uint16_t* ids = NULL;
    uint32_t depth = 0;
    VKR_TRY(vkr_gencdr_load_ids(job->data_dir, ds, &ids, &depth));
    vkr_gencdr_train t = job->gencdr;
    t.quiet = job->quiet;
    bool views = (t.item_views & ~VKR_ITEM_VIEW_ID) != 0;
    char label[64];
    snprintf(label, sizeof label, "gencdr%s%s%s%s", views ? "+views" : "",
             t.tasks & VKR_GENCDR_TASK_ITEM2INDEX ? "+item2index" : "",
             t.tasks & VKR_GENCDR_TASK_INDEX2ITEM ? "+index2item" : "", t.tasks & VKR_GENCDR_TASK_COLLAB ? "+collab" : "");
    char dir[1024];
    if (job->ckpt_root) {
        snprintf(dir, sizeof dir, "%s/%s", job->ckpt_root, label);
        t.ckpt_dir = dir;
    }
    static cli_meta meta;
    cli_meta_common(&meta, "gencdr", job->data_dir, ds, t.max_len, t.hidden, t.blocks, t.heads);
    cli_meta_training(&meta, t.batch, t.lr, t.dropout, t.seed);
    char ids_fp[64] = "";
    vkr_status s = job->ckpt_root ? cli_ckpt_dir_make(job->ckpt_root, dir) : VKR_OK;
    if (s == VKR_OK) s = cli_ckpt_ids_fingerprint(job->data_dir, ids_fp, sizeof ids_fp);
    cli_meta_add(&meta, CLI_CKPT_SEMANTIC_IDS, "%s", ids_fp);
    cli_meta_add(&meta, "vkrec.lora_rank", "%u", t.lora_rank);
    cli_meta_add(&meta, "vkrec.beam", "%u", t.beam);
    cli_meta_add(&meta, "vkrec.item_ids", "%u", t.item_ids ? 1u : 0u);
    cli_meta_add(&meta, "vkrec.aux_item", "%g", (double)t.aux_item);
    cli_meta_add(&meta, "vkrec.decoder_hidden", "%u", t.decoder_hidden);
    cli_meta_add(&meta, "vkrec.global_trie", "%u", t.global_trie ? 1u : 0u);
    cli_meta_views(&meta, job, t.item_views, t.view_lambda);
    cli_meta_add(&meta, "vkrec.tasks", "%u", t.tasks);
    cli_meta_add(&meta, "vkrec.task_weight", "%g", (double)t.task_weight);
    t.metadata = meta.kv;
    cli_sema_inputs sema_in = {0};
    /* the text tasks read the inner view's input, DIR/item_emb.npy, with or without the views */
    const uint32_t text_tasks = VKR_GENCDR_TASK_ITEM2INDEX | VKR_GENCDR_TASK_INDEX2ITEM;
    const uint32_t inputs = t.item_views | (t.tasks & text_tasks ? VKR_ITEM_VIEW_INNER : 0);
    if (s == VKR_OK && (inputs & ~VKR_ITEM_VIEW_ID)) s = cli_plugin_inputs(ds, job, inputs, &sema_in, &t.semantics);
    if (!job->quiet) fprintf(stderr, "training %s (all domains, %u-token semantic IDs) on %s\n", label, depth,
                             dev ? "the GPU" : "the CPU");
    vkr_gencdr_model m = {0};
    if (s == VKR_OK && t.resume && t.ckpt_dir) s = cli_ckpt_check_resume(t.ckpt_dir, meta.kv);
    if (s == VKR_OK) s = vkr_gencdr_fit(ds, dev, ids, depth, &t, &m);
    free(ids);
    cli_sema_inputs_free(&sema_in);
    cJSON* extra = NULL;
    if (s == VKR_OK) extra = cli_fit_json(&m.fit, m.beam ? "best_valid_hr10" : "best_valid_hr10_sampled100");
    for (uint32_t d = 0; d < ds->domain_count && s == VKR_OK; d++) {
        vkr_scorer sc = vkr_gencdr_scorer(&m, d);
        s = cli_stage_evaluate(ds, &sc, job, label, d, m.fit.seconds, extra, results, table);
    }
    if (s == VKR_OK && job->beams_json && m.beam) s = vkr_beams_write(ds, &m, 32, job->beams_json);
    if (s == VKR_OK && job->views_out) s = cli_gencdr_vectors(&m, job->views_out);
    cJSON_Delete(extra);
    vkr_gencdr_model_free(&m);
    return s;
}

vkr_status cli_stage_train(vkr_device* dev, const vkr_dataset* ds, const cli_rec_job* job, uint32_t first,
                           uint32_t last, cJSON* results, FILE* table) {
    if (job->train_domains) {
        VKR_TRY(check_protocols(ds, job, first, last));
        return cli_stage_zero_shot(dev, ds, job, first, last, results, table);
    }
    if (strcmp(job->model, "gencdr") == 0) {
        VKR_TRY(check_protocols(ds, job, 0, ds->domain_count));
        return train_gencdr(ds, dev, job, results, table);
    }
    if (job->gencdr.tasks)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--tasks is GenCDR's (--model gencdr); %s trains on next-item "
                        "prediction alone", job->model);
    VKR_TRY(check_protocols(ds, job, first, last));
    vkr_status s = VKR_OK;
    bool sema = strcmp(job->model, "semacdr") == 0;
    for (uint32_t d = first; d < last && s == VKR_OK; d++)
        s = sema ? train_semacdr(ds, dev, job, d, results, table) : train_domain(ds, dev, job, d, results, table);
    return s;
}
