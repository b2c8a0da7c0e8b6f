/* realpath() and nftw() are X/Open, beyond the project-wide POSIX level */
#define _XOPEN_SOURCE 700
/* vkrec run: the main job. Prepare (the bundled sample by default), embed, tokenize, train and
 * evaluate every model for every target domain (over --seeds N seeds), map the item views, draw the
 * training curves, write RUN_DIR/report.md and RUN_DIR/metrics.json. It composes the stage functions
 * of cli_stages.h on one backend it opens itself (--device, or the CPU reference backend for --device
 * cpu), so every stage runs on it. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_output.h"
#include "vkr_fileio.h"
#include "cli_prepare.h"
#include "cli_rec.h"
#include "cli_stages.h"
#include "run_curves.h"
#include "run_data.h"
#include "run_report.h"
#include "run_seeds.h"
#include "vkr_agnostic.h"
#include "vkr_embed.h"
#include "vkr_npy.h"

static bool is_dataset(const char* dir) {
    char p[1100];
    snprintf(p, sizeof p, "%s/dataset.json", dir);
    return access(p, R_OK) == 0;
}

static const char* default_sample(char* buf, size_t n) {
    const char* env = getenv("VKR_ASSETS");
    snprintf(buf, n, "%s/food-kitchen-sample", env && *env ? env : VKR_SOURCE_DIR "/assets");
    return buf;
}

/* Whether two paths name the same file (the bundled sample given explicitly). */
static bool same_file(const char* a, const char* b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* What `vkrec run` reads beside the shared recommender and data options. */
typedef struct run_args {
    cli_str_list src;          /* a source (release, csv file(s), dump directory) or a dataset directory */
    const char* out;           /* RUN_DIR */
    uint32_t tokenizer_epochs; /* --tokenizer-epochs (0: the tokenize default) */
    uint32_t seeds;            /* --seeds */
    int id_source;             /* --id-source: index into cli_embed_source_choices */
    const char* models;        /* --models */
    bool zero_shot;            /* --zero-shot */
} run_args;

/* The models `vkrec run` can train, in the order it trains them. */
static const char* const run_model_names[] = {"pop", "sasrec-bce", "sasrec-ce", "gencdr", "semacdr", NULL};
enum { RUN_GENCDR = 3, RUN_SEMACDR = 4 };

/* --models pop,...: the bit of each model in run_model_names; 0 after printing a usage error. */
static uint32_t run_parse_models(const char* list) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    uint32_t bits = 0;
    for (char* tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        uint32_t k = 0;
        while (run_model_names[k] && strcmp(run_model_names[k], tok) != 0) k++;
        if (!run_model_names[k])
            return cli_usage_error("run", "--models: unknown model '%s' (expected pop, sasrec-bce, sasrec-ce, gencdr, "
                                   "semacdr)", tok), 0u;
        bits |= 1u << k;
    }
    if (!bits) cli_usage_error("run", "--models expects a list such as pop,sasrec-bce,semacdr");
    return bits;
}

/* The name of the item view each embedding source gives, in the maps and the report. */
static const char* const id_source_views[] = {"text", "text", "co-occurrence", "text-and-co-occurrence"};

enum { RUN_MAX_SEEDS = 100 }; /* most --seeds */

static const cli_positional run_positionals[] = {
    {"SRC|DATASET", "a source or dataset directory", offsetof(run_args, src), 0, 2}};
static const cli_option run_opts[] = {
    CLI_STRING(COMMAND, "--out", "RUN_DIR", run_args, out, "run", "where the report, metrics, maps and checkpoints go"),
    CLI_UINT(COMMAND, "--tokenizer-epochs", "N", run_args, tokenizer_epochs, 1, CLI_UINT_LIMIT,
             "as vkrec tokenize: about 3000 steps, 10..200 epochs",
             "the RQ-VAE schedule (a fixed epoch count is too short on small data)"),
    CLI_UINT(COMMAND, "--seeds", "N", run_args, seeds, 1, RUN_MAX_SEEDS, "1",
             "train and evaluate every model with seeds SEED..SEED+N-1; mean ± std"),
    CLI_CHOICE(COMMAND, "--id-source", run_args, id_source, cli_embed_source_choices, "cooc",
               "the item vectors the semantic IDs are learned from (vkrec embed --source): PPMI co-occurrence "
               "of training interactions (items bought together share a prefix), text, both side by side, or "
               "auto (text where an item has it)"),
    CLI_STRING(COMMAND, "--models", "M,...", run_args, models, "pop,sasrec-bce,sasrec-ce,gencdr",
               "the models to train: pop, sasrec-bce, sasrec-ce, gencdr, semacdr (SemaCDR: its inner view and "
               "categories come from the items' text, embedded and clustered in memory)"),
    CLI_FLAG(COMMAND, "--zero-shot", run_args, zero_shot,
             "also zero-shot transfer (LLM-RecG) from each domain alone to every other: text-only SASRec trained on "
             "one domain's events, its --zero-shot-models, pop and the model trained on the target (vkrec train "
             "--train-domains)"),
    CLI_CHOICE(DATA, "--data-split", cli_prep_args, split, cli_prep_split_choices, "loo",
               "prepare's --split: leave-one-out, or keep a release's split"),
};
static const cli_option* const run_shared[] = {&cli_opt_seed, &cli_opt_device, &cli_opt_quiet, NULL};
const cli_spec cli_run_spec = {
    .name = "run",
    .description =
        "  Runs the whole pipeline on SRC (default: the bundled sample in assets/food-kitchen-sample,\n"
        "  domains Food and Kitchen) or on an existing dataset directory: prepare SRC in any format vkrec\n"
        "  prepare reads (found from the files present unless --format; domain names from the data unless\n"
        "  --domain-names; leave-one-out; no filters unless --min-item, --min-user or --overlap-only),\n"
        "  embed the items (--id-source: co-occurrence by default), learn semantic IDs from those vectors\n"
        "  (RQ-VAE with domain adapters), train pop and SASRec (BCE\n"
        "  and full-softmax CE) for every target domain and one GenCDR for all domains, with per-epoch\n"
        "  validation, and evaluate the test split under full, sampled:100 and sampled:999. --seeds N\n"
        "  trains and evaluates every model N times (seeds SEED..SEED+N-1; each learns its own semantic\n"
        "  IDs, all share the data and embedding) and reports mean ± sample std. Writes RUN_DIR/report.md\n"
        "  (metrics table, settings, data format and filters, training curves as PNG, timings and backend\n"
        "  per stage, device) and RUN_DIR/metrics.json. GenCDR scores a sampled candidate by the\n"
        "  likelihood of its whole semantic ID, so without --protocol the demo evaluates it under full and\n"
        "  sampled:100 only (sampled:999 is 10x the work). One device serves every stage: --device cpu\n"
        "  runs embed, tokenize, train and evaluate on the CPU reference backend; the t-SNE maps need\n"
        "  Vulkan, so there the maps stage measures alignment in the embedding spaces only and the report\n"
        "  says the maps were skipped. One vkrec at a time uses RUN_DIR (lock file RUN_DIR/.vkrec.lock);\n"
        "  a run first removes the previous run's report.md, metrics.json and beams.json and what a killed\n"
        "  run left, and writes report.md last: it is there only when the run finished. Takes every\n"
        "  option of vkrec train that describes the models and the data options of prepare.",
    CLI_POSITIONALS(run_positionals),
    CLI_OWN_OPTIONS(run_opts),
    .groups = (const cli_option_group* const[]){&cli_rec_group, &cli_prep_group, NULL},
    .shared = run_shared,
    .defaults = (const char* const[]){"--seed", "42", "--epochs", "20; GenCDR 12", "--max-len", "12; GenCDR 20",
                                      "--lr", "0.005", "--patience", "3", "--min-item", "10 when filtering",
                                      "--min-user", "3 when filtering", NULL},
};

/* Everything the main job holds between its stages. */
typedef struct run_job {
    const char* out;           /* RUN_DIR */
    const char* src;           /* the source or dataset it started from */
    char data_dir[1100];       /* the prepared dataset */
    vkr_device* dev;           /* the one backend (NULL: CPU reference backend) */
    cli_rec_job rec;           /* models and protocols (seeds: the first) */
    uint32_t seeds;            /* seeds to train */
    uint32_t tokenizer_epochs; /* the RQ-VAE schedule (0: the tokenize default) */
    vkr_embed_source id_source; /* what the semantic IDs are learned from */
    vkr_dataset ds;            /* the loaded dataset */
    vkr_npy_array emb;         /* the items' input view: the vectors the semantic IDs came from */
    cli_gencdr_views views;    /* GenCDR's learned item views (the first seed's) */
    uint32_t models;           /* bits of run_model_names to train */
    bool zero_shot;            /* also zero-shot transfer from each domain alone */
    float* sema_text;          /* SemaCDR's inner view: text embeddings (items x CLI_EMBED_DIM) */
    vkr_agnostic sema_agn;     /* SemaCDR's categories, derived from sema_text */
    vkr_item_semantics sema;    /* both, as SemaCDR reads them */
    float* sema_vectors;       /* SemaCDR's graph item outputs (the first seed's first target domain) */
    float* zs_tables[2];       /* zero-shot: text-only item tables without and with item alignment (the first
                                  seed's first source domain) */
    cJSON* results;            /* one object per seed, model, domain and protocol */
    cJSON* maps_json;          /* {"maps": ...} from the maps stage */
    char* maps_md;             /* the report's maps section */
    cJSON* curves_json;        /* {"MODEL": "curves/MODEL.png"} */
    char* curves_md;           /* the report's training-curves section */
    run_state rs;              /* stage timings and backends */
} run_job;

/* SemaCDR's item inputs, whatever the semantic IDs were learned from: the items' text embedded (TF-IDF
 * + SVD) and its domain-agnostic categories (K 8, as the paper finds best). Without any item text the
 * model keeps its ID view only, and says so. */
static vkr_status run_sema_inputs(run_job* r) {
    double t0 = vkr_now_s();
    uint32_t n = r->ds.item_count, dim = CLI_EMBED_DIM;
    vkr_semacdr_train* t = &r->rec.semacdr;
    r->sema_text = malloc((size_t)n * dim * sizeof *r->sema_text);
    if (!r->sema_text) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for SemaCDR's text view");
    vkr_embed_options eo = {.source = VKR_EMBED_TEXT, .svd = {.dim = dim}};
    vkr_embed_report rep;
    VKR_TRY(vkr_embed_items(r->dev, &r->ds, &eo, r->sema_text, &rep));
    if (rep.text_items < 2) {
        if (!r->rec.quiet) printf("note: no item text, so SemaCDR and the --item-views plug-ins keep the ID view only\n");
        t->views = r->rec.sasrec.item_views = r->rec.gencdr.item_views = VKR_ITEM_VIEW_ID;
    }
    uint32_t K = 8;
    if (t->views & VKR_ITEM_VIEW_AGNOSTIC) {
        if (rep.text_items < 2 * K) K = rep.text_items / 2;
        vkr_agnostic_options ao = {.k = K, .seed = r->rec.semacdr.seed};
        VKR_TRY(vkr_agnostic_derive(r->dev, r->sema_text, n, dim, r->ds.item_domain, r->ds.domain_count, &ao,
                                    &r->sema_agn));
        vkr_agnostic_mix mix;
        VKR_TRY(vkr_agnostic_mix_compute(&r->sema_agn, r->ds.item_domain, r->ds.domain_count, &mix));
        if (!r->rec.quiet)
            printf("SemaCDR: %u domain-agnostic categories from the item text, domain balance %.3f (1 = every "
                   "category takes the same share of each domain)\n", K, mix.overall);
        vkr_agnostic_mix_free(&mix);
    }
    r->sema = (vkr_item_semantics){.text = r->sema_text, .text_dim = dim, .category = r->sema_agn.assign,
                                  .categories = r->sema_agn.k, .subcategories = r->sema_agn.m};
    run_stage_done(&r->rs, "semacdr-inputs", cli_backend_name(r->dev), t0);
    return VKR_OK;
}

/* Loads the prepared dataset and its item embedding (one row per item). */
static vkr_status run_load(run_job* r) {
    VKR_TRY(vkr_dataset_load(r->data_dir, &r->ds));
    char path[1200];
    snprintf(path, sizeof path, "%s/item_emb.npy", r->data_dir);
    VKR_TRY(vkr_npy_load_f32(path, &r->emb));
    if (r->emb.ndim != 2 || r->emb.shape[0] != r->ds.item_count)
        return vkr_fail(VKR_ERR_FORMAT, "%s does not hold one row per item", path);
    bool plugins = ((r->rec.sasrec.item_views | r->rec.gencdr.item_views) & ~VKR_ITEM_VIEW_ID) != 0;
    return (r->models & (1u << RUN_SEMACDR)) || plugins || r->zero_shot ? run_sema_inputs(r) : VKR_OK;
}

/* The models of one seed (job), rows into rows; first: write the beams and keep GenCDR's views. */
static vkr_status run_seed_models(run_job* r, const cli_rec_job* seed_job, bool first, cJSON* rows, FILE* table) {
    cli_rec_job job = *seed_job;
    job.semacdr_items = r->sema_text ? &r->sema : NULL; /* SemaCDR's inputs, and the --item-views plug-ins' */
    static const struct {
        const char* model;
        vkr_sasrec_loss loss;
        const char* stage;
        bool on_host; /* counts popularity on the host, whatever the backend */
    } plan[] = {{"pop", VKR_SASREC_BCE, "pop", true},
                {"sasrec", VKR_SASREC_BCE, "sasrec-bce", false},
                {"sasrec", VKR_SASREC_CE, "sasrec-ce", false}};
    for (size_t k = 0; k < sizeof plan / sizeof plan[0]; k++) {
        if (!(r->models & (1u << k))) continue;
        double t0 = vkr_now_s();
        cli_rec_job stage = job; /* the plan names SASRec's loss: a --loss bpr meant for SemaCDR is not an error here */
        stage.model = plan[k].model;
        stage.sasrec.loss = plan[k].loss;
        stage.loss = CLI_LOSS_AUTO;
        stage.gencdr.tasks = 0; /* GenCDR's --tasks, not this stage's */
        VKR_TRY(cli_stage_train(r->dev, &r->ds, &stage, 0, r->ds.domain_count, rows, table));
        run_stage_done(&r->rs, plan[k].stage, plan[k].on_host ? "host" : cli_backend_name(r->dev), t0);
    }
    double t0 = vkr_now_s();
    if (r->models & (1u << RUN_SEMACDR)) {
        cli_rec_job stage = job;
        stage.model = "semacdr";
        stage.gencdr.tasks = 0;
        stage.semacdr_vectors_out = first ? &r->sema_vectors : NULL;
        VKR_TRY(cli_stage_train(r->dev, &r->ds, &stage, 0, r->ds.domain_count, rows, table));
        run_stage_done(&r->rs, "semacdr", cli_backend_name(r->dev), t0);
        t0 = vkr_now_s();
    }
    for (uint32_t d = 0; r->zero_shot && d < r->ds.domain_count; d++) { /* text-only SASRec from domain d alone */
        cli_rec_job stage = job;
        stage.model = "sasrec";
        stage.sasrec.loss = VKR_SASREC_BCE;
        stage.loss = CLI_LOSS_AUTO;
        stage.gencdr.tasks = 0;
        stage.train_domains = r->ds.domain_name[d];
        stage.zero_shot_tables_out = first && d == 0 ? r->zs_tables : NULL;
        VKR_TRY(cli_stage_train(r->dev, &r->ds, &stage, 0, r->ds.domain_count, rows, table));
        run_stage_done(&r->rs, "zero-shot", cli_backend_name(r->dev), t0);
        t0 = vkr_now_s();
    }
    if (!(r->models & (1u << RUN_GENCDR))) return VKR_OK;
    job.model = "gencdr";
    if (!job.protocols_given) { /* scoring 1000 IDs per user is minutes on a CPU driver: the demo stops at 100 */
        uint32_t kept = 0;
        for (uint32_t k = 0; k < job.protocol_count; k++)
            if (job.protocols[k].negatives <= 100) {
                job.protocols[kept] = job.protocols[k];
                memmove(job.protocol_names[kept++], job.protocol_names[k], 32);
            }
        job.protocol_count = kept;
    }
    char beams[1200];
    snprintf(beams, sizeof beams, "%s/beams.json", r->out);
    job.beams_json = first ? beams : NULL; /* the viewer's trie panel overlays these */
    job.views_out = first ? &r->views : NULL;
    VKR_TRY(cli_stage_train(r->dev, &r->ds, &job, 0, r->ds.domain_count, rows, table));
    run_stage_done(&r->rs, "gencdr", cli_backend_name(r->dev), t0);
    return VKR_OK;
}

/* Trains and evaluates pop, SASRec (BCE, CE) for every target domain, then one GenCDR for all, with seed
 * number k (the first seed + k): rows tagged "seed" go to r->results, checkpoints to RUN_DIR/checkpoints
 * (one seed) or RUN_DIR/checkpoints/seed-S; seeds after the first tokenize their own view of the dataset
 * in RUN_DIR/seed-S/data (run_data.h); the first seed writes the beams and keeps GenCDR's views. */
static vkr_status run_models(run_job* r, uint32_t k) {
    cli_rec_job job = r->rec;
    job.sasrec.seed += k;
    job.gencdr.seed += k;
    job.semacdr.seed += k;
    char ckpt[1200], seed_dir[1200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints", r->out);
    if (r->seeds > 1) {
        if (mkdir(ckpt, 0755) != 0 && errno != EEXIST)
            return vkr_fail(VKR_ERR_IO, "cannot create %s: %s", ckpt, strerror(errno));
        snprintf(ckpt + strlen(ckpt), sizeof ckpt - strlen(ckpt), "/seed-%llu", (unsigned long long)job.sasrec.seed);
    }
    job.ckpt_root = ckpt;
    if (k && (r->models & (1u << RUN_GENCDR))) { /* GenCDR's seeds learn their own semantic IDs */
        snprintf(seed_dir, sizeof seed_dir, "%s/seed-%llu", r->out, (unsigned long long)job.sasrec.seed);
        if (mkdir(seed_dir, 0755) != 0 && errno != EEXIST)
            return vkr_fail(VKR_ERR_IO, "cannot create %s: %s", seed_dir, strerror(errno));
        snprintf(seed_dir + strlen(seed_dir), sizeof seed_dir - strlen(seed_dir), "/data");
        VKR_TRY(run_seed_data(r->dev, r->data_dir, seed_dir, k, r->tokenizer_epochs, job.quiet, &r->rs));
        job.data_dir = seed_dir;
    }
    FILE* table = job.quiet ? NULL : stdout;
    if (table) {
        printf("== train and evaluate (%s split", job.split);
        if (r->seeds > 1) printf(", seed %llu, %u of %u", (unsigned long long)job.sasrec.seed, k + 1, r->seeds);
        printf(")\n");
        cli_rec_table_header(stdout, &job);
    }
    cJSON* rows = cJSON_CreateArray();
    if (!rows) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    vkr_status s = run_seed_models(r, &job, k == 0, rows, table);
    run_seeds_append(r->results, rows, job.sasrec.seed);
    cJSON_Delete(rows);
    return s;
}

/* t-SNE maps and domain alignment of each view of the items: text, and what GenCDR learned. */
static vkr_status run_maps(run_job* r) {
    double t0 = vkr_now_s();
    if (!r->rec.quiet) printf("== maps\n");
    const cli_gencdr_views* v = &r->views;
    run_map_view mv[7] = {{id_source_views[r->id_source], r->emb.data, (uint32_t)r->emb.shape[1]}};
    uint32_t nv = 1;
    if (v->codes) mv[nv++] = (run_map_view){"semantic-ID", v->codes, v->dim};
    if (v->ids) mv[nv++] = (run_map_view){"ID", v->ids, v->dim};
    if (v->fused) mv[nv++] = (run_map_view){"fused", v->fused, v->dim};
    if (r->sema_vectors) mv[nv++] = (run_map_view){"SemaCDR-graph", r->sema_vectors, r->rec.semacdr.hidden};
    if (r->zs_tables[0]) mv[nv++] = (run_map_view){"zero-shot", r->zs_tables[0], r->rec.sasrec.hidden};
    if (r->zs_tables[1]) mv[nv++] = (run_map_view){"zero-shot-aligned", r->zs_tables[1], r->rec.sasrec.hidden};
    size_t len = 0;
    FILE* mf = open_memstream(&r->maps_md, &len);
    if (!mf) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "cannot buffer the maps section");
    vkr_status s = cli_stage_maps(r->dev, r->out, r->data_dir, &r->ds, mv, nv, r->rec.quiet, r->maps_json, mf);
    fclose(mf);
    run_stage_done(&r->rs, "maps", cli_backend_name(r->dev), t0);
    return s;
}

/* Training curves of every model (RUN_DIR/curves/MODEL.png) and their report section. */
static vkr_status run_curves(run_job* r) {
    size_t len = 0;
    FILE* f = open_memstream(&r->curves_md, &len);
    if (!f) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "cannot buffer the curves section");
    vkr_status s = run_curves_write(r->out, r->results, r->seeds, r->curves_json, f);
    fclose(f);
    return s;
}

/* The seeds, what they share and where each one's semantic IDs are, for metrics.json. */
static cJSON* seeds_json(const run_job* r) {
    cJSON* o = cJSON_CreateObject();
    cJSON* list = cJSON_AddArrayToObject(o, "seeds");
    bool gencdr = (r->models & (1u << RUN_GENCDR)) != 0; /* semantic IDs are learned for GenCDR only */
    cJSON* tok = gencdr ? cJSON_AddArrayToObject(o, "tokenizer_seeds") : NULL; /* seed k's RQ-VAE: seed k - first */
    cJSON* ids = gencdr ? cJSON_AddArrayToObject(o, "semantic_ids") : NULL; /* relative to RUN_DIR, the first absolute */
    char abs[PATH_MAX], first[PATH_MAX + 32];
    snprintf(first, sizeof first, "%s/semantic_ids.npy", realpath(r->data_dir, abs) ? abs : r->data_dir);
    for (uint32_t k = 0; k < r->seeds; k++) {
        unsigned long long seed = (unsigned long long)(r->rec.sasrec.seed + k);
        char dir[64];
        snprintf(dir, sizeof dir, "seed-%llu/data/semantic_ids.npy", seed);
        cJSON_AddItemToArray(list, cJSON_CreateNumber((double)seed));
        if (!gencdr) continue;
        cJSON_AddItemToArray(tok, cJSON_CreateNumber(k));
        cJSON_AddItemToArray(ids, cJSON_CreateString(k ? dir : first));
    }
    cJSON* shared = cJSON_AddArrayToObject(o, "shared_by_all_seeds"); /* computed once */
    cJSON_AddItemToArray(shared, cJSON_CreateString("dataset"));
    cJSON_AddItemToArray(shared, cJSON_CreateString("item embedding"));
    return o;
}

/* RUN_DIR/metrics.json (results of every seed, their summary, curves, maps, data, timings and backend per
 * stage), then RUN_DIR/report.md. */
static vkr_status run_write(run_job* r) {
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.json", r->out);
    cJSON* summary = run_seeds_summary(r->results);
    if (!summary) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    cJSON* root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "vkrec", vkr_version());
    if (r->dev) cJSON_AddItemToObject(root, "device", cli_device_json(vkr_device_get_info(r->dev)));
    else cJSON_AddStringToObject(root, "device", "cpu");
    cJSON_AddStringToObject(root, "data", r->src);
    char abs[PATH_MAX]; /* where the dataset lies, for `vkrec view RUN_DIR` */
    cJSON_AddStringToObject(root, "dataset_dir", realpath(r->data_dir, abs) ? abs : r->data_dir);
    static const char* const from_dataset[] = {"source", "filters"}; /* the format and filters used */
    for (size_t k = 0; k < sizeof from_dataset / sizeof *from_dataset; k++) {
        const cJSON* v = cJSON_GetObjectItemCaseSensitive(r->ds.meta, from_dataset[k]);
        if (v) cJSON_AddItemToObject(root, from_dataset[k], cJSON_Duplicate(v, true));
    }
    cJSON_AddItemToObject(root, "seeds", seeds_json(r));
    cJSON_AddItemToObject(root, "results", cJSON_Duplicate(r->results, true));
    cJSON_AddItemToObject(root, "summary", cJSON_Duplicate(summary, true));
    cJSON_AddItemToObject(root, "curves", cJSON_Duplicate(r->curves_json, true));
    cJSON* maps = cJSON_DetachItemFromObject(r->maps_json, "maps");
    if (maps) cJSON_AddItemToObject(root, "maps", maps);
    cJSON* timings = cJSON_AddObjectToObject(root, "seconds");
    cJSON* backends = cJSON_AddObjectToObject(root, "backends"); /* what each stage ran on */
    for (uint32_t i = 0; i < r->rs.n; i++) {
        cJSON_AddNumberToObject(timings, r->rs.stages[i].name, r->rs.stages[i].seconds);
        cJSON_AddStringToObject(backends, r->rs.stages[i].name, r->rs.stages[i].backend);
    }
    vkr_status s = vkr_json_write(root, path);
    cJSON_Delete(root);
    run_report_in in = {.out = r->out, .ds = &r->ds, .dev = r->dev ? vkr_device_get_info(r->dev) : NULL,
                        .job = &r->rec, .stages = &r->rs, .results = r->results, .summary = summary,
                        .seed_count = r->seeds, .source = r->src,
                        .id_view = id_source_views[r->id_source], .maps_md = r->maps_md, .curves_md = r->curves_md};
    uint32_t weak = 0;
    if (s == VKR_OK) s = run_report_write(&in, &weak);
    cJSON_Delete(summary);
    if (s == VKR_OK && !r->rec.quiet) printf("wrote %s/report.md and %s\n", r->out, path);
    if (s == VKR_OK && weak && !r->rec.quiet)
        printf("note: %u result row(s) are not above popularity's HR (report.md, \"Against popularity\")\n", weak);
    return s;
}

/* Before a run: removes what a killed run left in RUN_DIR (temporaries) and the previous run's record
 * (report.md, metrics.json, beams.json), so that a run stopped midway never leaves the old report beside
 * new checkpoints: report.md, written last, says the run finished. */
static vkr_status run_clear(const char* out) {
    static const char* const record[] = {"report.md", "metrics.json", "beams.json"};
    char path[1200];
    for (size_t k = 0; k < sizeof record / sizeof *record; k++) {
        snprintf(path, sizeof path, "%s/%s", out, record[k]);
        if (unlink(path) != 0 && errno != ENOENT)
            return vkr_fail(VKR_ERR_IO, "cannot remove the previous run's %s: %s", path, strerror(errno));
    }
    return vkr_temps_clean_locked(out, NULL);
}

static void run_job_free(run_job* r) {
    vkr_npy_free(&r->emb);
    free(r->sema_text);
    vkr_agnostic_free(&r->sema_agn);
    free(r->sema_vectors);
    free(r->zs_tables[0]);
    free(r->zs_tables[1]);
    free(r->views.codes);
    free(r->views.ids);
    free(r->views.fused);
    cJSON_Delete(r->results);
    cJSON_Delete(r->maps_json);
    free(r->maps_md);
    cJSON_Delete(r->curves_json);
    free(r->curves_md);
    vkr_dataset_free(&r->ds);
}

/* Where the data comes from: a dataset directory, linked into RUN_DIR/data (*prep_out NULL; no data option
 * may be given), else the source to prepare into RUN_DIR/data (the bundled sample without SRC, its domains Food and
 * Kitchen). CLI_OK or CLI_USAGE. */
static int run_source(run_args* ra, cli_prep_args* prep, int argc, char** argv, run_job* r, cli_prep_args** prep_out) {
    static char sample[1024];
    default_sample(sample, sizeof sample);
    const bool given = ra->src.count > 0, amazon = prep->o.amazon.count > 0;
    if (!given && !amazon) ra->src = (cli_str_list){1, {sample}};
    r->src = ra->src.count ? ra->src.v[0] : prep->o.amazon.v[0];
    *prep_out = NULL;
    snprintf(r->data_dir, sizeof r->data_dir, "%s/data", r->out);
    if (ra->src.count && is_dataset(r->src)) {
        static cli_prep_args untouched; /* what parsing left alone: no data option was given */
        cli_prep_args_init(&untouched, false, argc, argv);
        if (memcmp(&untouched, prep, sizeof untouched) != 0)
            return cli_usage_error("run", "%s is a prepared dataset: the data options (--format, filters, "
                                   "--domain-names, ...) apply to a source", r->src);
        if (ra->src.count > 1) return cli_usage_error("run", "%s is a dataset: give it alone", r->src);
        return CLI_OK;
    }
    prep->o.sources = ra->src;
    bool bundled = !amazon && (!given || same_file(ra->src.v[0], sample));
    if (bundled && !prep->domain_names) prep->domain_names = "Food,Kitchen";
    *prep_out = prep;
    return cli_prep_args_apply(prep, "run");
}

static int remove_entry(const char* path, const struct stat* st, int type, struct FTW* ftw) {
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

int cli_cmd_run(int argc, char** argv) {
    cli_common com = {0};
    run_args ra = {.out = "run", .seeds = 1, .id_source = VKR_EMBED_COOC, .models = "pop,sasrec-bce,sasrec-ce,gencdr"};
    cli_rec_args rec;
    cli_rec_args_init(&rec);
    static cli_prep_args prep; /* large (paths found in a source directory): kept off the stack */
    cli_prep_args_init(&prep, false, argc, argv);
    /* demo-sized defaults, tuned on the bundled sample (assets/PROVENANCE.md): 90% of its users have at
     * most 12 items in a domain (SASRec's history) and 22 in all (GenCDR's); a 23-step epoch needs the
     * higher rate to converge within the 10-minute demo on a CPU driver */
    rec.job.sasrec.max_len = 12;
    rec.job.gencdr.max_len = 20;
    rec.job.sasrec.lr = rec.job.gencdr.lr = 0.005f;
    rec.job.sasrec.epochs = 20;
    rec.job.gencdr.epochs = 12;
    rec.job.sasrec.patience = rec.job.gencdr.patience = 3;
    if (cli_parse(&cli_run_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &ra, &rec, &prep}) != CLI_OK)
        return CLI_USAGE;
    cli_rec_args_apply(&rec, &com);
    /* data-parallel: ranks other than 0 run every stage in a private directory, removed at the end, and
     * train collectively with rank 0, which alone writes RUN_DIR */
    char rank_dir[] = "/tmp/vkrec-rank-XXXXXX";
    bool lead = cli_is_lead();
    if (!lead && !mkdtemp(rank_dir)) return cli_fail("run", vkr_fail(VKR_ERR_IO, "cannot create %s", rank_dir));
    if (!lead) ra.out = rank_dir;
    run_job r = {.out = ra.out, .rec = rec.job, .seeds = ra.seeds, .tokenizer_epochs = ra.tokenizer_epochs,
                 .id_source = (vkr_embed_source)ra.id_source, .models = run_parse_models(ra.models), .zero_shot = ra.zero_shot};
    if (!r.models) return CLI_USAGE;
    cli_prep_args* to_prepare = NULL;
    if (run_source(&ra, &prep, argc, argv, &r, &to_prepare) != CLI_OK) return CLI_USAGE;
    if (r.rec.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_lock lock;
    vkr_status s = cli_output_lock(r.out, &lock);
    if (s == VKR_OK) s = run_clear(r.out);
    if (s != VKR_OK) {
        vkr_lock_release(&lock);
        return cli_fail("run", s);
    }
    r.rec.data_dir = r.data_dir;
    r.results = cJSON_CreateArray();
    r.maps_json = cJSON_CreateObject();
    r.curves_json = cJSON_CreateObject();
    vkr_instance* inst = NULL;
    s = r.results && r.maps_json && r.curves_json
                       ? cli_open_backend(com.device, &inst, &r.dev)
                       : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == VKR_OK) s = run_data_stages(r.dev, to_prepare, r.src, r.data_dir, r.id_source, (r.models & (1u << RUN_GENCDR)) != 0,
                                         ra.tokenizer_epochs, r.rec.quiet, &r.rs);
    if (s == VKR_OK) s = run_load(&r);
    for (uint32_t k = 0; k < r.seeds && s == VKR_OK; k++) s = run_models(&r, k);
    if (s == VKR_OK && lead) s = run_curves(&r);
    if (s == VKR_OK && lead) s = run_maps(&r);
    if (s == VKR_OK && lead) s = run_write(&r);
    int rc = s == VKR_OK ? CLI_OK : cli_fail("run", s);
    run_job_free(&r);
    cli_close_device(inst, r.dev);
    vkr_lock_release(&lock);
    if (!lead) nftw(rank_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
