/* realpath() is X/Open, beyond the project-wide POSIX level */
#define _XOPEN_SOURCE 700
/* vkrec run: the main job. Prepare (the bundled sample by default), embed, tokenize, train and
 * evaluate every model for every target domain, map the item views, write RUN_DIR/report.md and
 * RUN_DIR/metrics.json. It composes the stage functions of cli_stages.h on one backend it opens
 * itself (--device, or the CPU reference backend for --device cpu), so every stage runs on it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "vkr_fileio.h"
#include "cli_rec.h"
#include "cli_stages.h"
#include "run_report.h"
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

/* What `vkrec run` reads beside the shared recommender options. */
typedef struct run_args {
    const char* src;           /* release or dataset directory */
    const char* out;           /* RUN_DIR */
    uint32_t tokenizer_epochs; /* --tokenizer-epochs */
} run_args;

static const cli_positional run_positionals[] = {
    {"SRC|DATASET", "a release or dataset directory", offsetof(run_args, src), 0, 1}};
static const cli_option run_opts[] = {
    CLI_STRING(COMMAND, "--out", "RUN_DIR", run_args, out, "run", "where the report, metrics, maps and checkpoints go"),
    CLI_UINT(COMMAND, "--tokenizer-epochs", "N", run_args, tokenizer_epochs, 1, CLI_UINT_LIMIT, "12",
             "the RQ-VAE schedule"),
};
static const cli_option* const run_shared[] = {&cli_opt_seed, &cli_opt_device, &cli_opt_quiet, NULL};
const cli_spec cli_run_spec = {
    .name = "run",
    .description =
        "  Runs the whole pipeline on SRC (an LLMCDSR-style release; default: the bundled sample in\n"
        "  assets/food-kitchen-sample) or on an existing dataset directory: prepare (leave-one-out, no\n"
        "  filters), embed item titles, learn semantic IDs (RQ-VAE with domain adapters), train pop and\n"
        "  SASRec (BCE and full-softmax CE) for every target domain and one GenCDR for all domains, with\n"
        "  per-epoch validation, and evaluate the test split under full, sampled:100 and sampled:999.\n"
        "  Writes RUN_DIR/report.md (metrics table, settings, timings and backend per stage, device) and\n"
        "  RUN_DIR/metrics.json. GenCDR scores a sampled candidate by the likelihood of its whole semantic\n"
        "  ID, so without --protocol the demo evaluates it under full and sampled:100 only (sampled:999 is\n"
        "  10x the work). One device serves every stage: --device cpu runs embed, tokenize, train and\n"
        "  evaluate on the CPU reference backend; the t-SNE maps need Vulkan, so there the maps stage\n"
        "  measures alignment in the embedding spaces only and the report says the maps were skipped.\n"
        "  Takes every option of vkrec train that describes the models.",
    CLI_POSITIONALS(run_positionals),
    CLI_OWN_OPTIONS(run_opts),
    .group = &cli_rec_group,
    .shared = run_shared,
    .defaults = (const char* const[]){"--seed", "42", "--epochs", "4", "--max-len", "20", "--patience", "2", NULL},
};

/* prepare, embed and tokenize of the main job: leaves the dataset, its embeddings and IDs in data_dir. */
static vkr_status run_data_stages(vkr_device* dev, const char* src, const char* data_dir, const run_args* ra,
                                  bool quiet, int argc, char** argv, run_state* rs) {
    double t0 = vkr_now_s();
    if (!is_dataset(src)) {
        if (!quiet) printf("== prepare %s -> %s\n", src, data_dir);
        cli_prepare_options p = {.format = "llmcdsr", .sources = {1, {src}}, .names = {"Food", "Kitchen"},
                                 .out = data_dir, .prep = vkr_prep_options_default(), .force = true, .quiet = quiet,
                                 .argc = argc, .argv = argv};
        p.prep.no_filter = true;
        VKR_TRY(cli_stage_prepare(&p));
        run_stage_done(rs, "prepare", "host", t0);
    }
    t0 = vkr_now_s();
    if (!quiet) printf("== embed %s\n", data_dir);
    cli_embed_options e = {.dir = data_dir, .embed = {.source = VKR_EMBED_AUTO, .svd = {.dim = CLI_EMBED_DIM}},
                           .quiet = quiet};
    VKR_TRY(cli_stage_embed(dev, &e));
    run_stage_done(rs, "embed", cli_backend_name(dev), t0);
    t0 = vkr_now_s();
    if (!quiet) printf("== tokenize %s\n", data_dir);
    /* demo-sized RQ-VAE: 3 x 256 codes, GenCDR domain adapters, a short schedule */
    cli_tokenize_options t = {.dir = data_dir, .config = {.adapters = true, .hidden = {256, 128}, .hidden_count = 2},
                              .train = {.epochs = ra->tokenizer_epochs}, .quiet = quiet};
    VKR_TRY(cli_stage_tokenize(dev, &t));
    run_stage_done(rs, "tokenize", cli_backend_name(dev), t0);
    return VKR_OK;
}

/* Everything the main job holds between its stages. */
typedef struct run_job {
    const char* out;           /* RUN_DIR */
    const char* src;           /* the release or dataset it started from */
    char data_dir[1100];       /* the prepared dataset */
    vkr_device* dev;           /* the one backend (NULL: CPU reference backend) */
    cli_rec_job rec;           /* models and protocols */
    vkr_dataset ds;            /* the loaded dataset */
    vkr_npy_array emb;         /* the text view of the items */
    cli_gencdr_views views;    /* GenCDR's learned item views */
    cJSON* results;            /* one object per model, domain and protocol */
    cJSON* maps_json;          /* {"maps": ...} from the maps stage */
    char* maps_md;             /* the report's maps section */
    run_state rs;              /* stage timings and backends */
} run_job;

/* Loads the prepared dataset and its text embedding (one row per item). */
static vkr_status run_load(run_job* r) {
    VKR_TRY(vkr_dataset_load(r->data_dir, &r->ds));
    char path[1200];
    snprintf(path, sizeof path, "%s/item_emb.npy", r->data_dir);
    VKR_TRY(vkr_npy_load_f32(path, &r->emb));
    if (r->emb.ndim != 2 || r->emb.shape[0] != r->ds.item_count)
        return vkr_fail(VKR_ERR_FORMAT, "%s does not hold one row per item", path);
    return VKR_OK;
}

/* Trains and evaluates pop, SASRec (BCE, CE) for every target domain, then one GenCDR for all. */
static vkr_status run_models(run_job* r) {
    cli_rec_job job = r->rec;
    char ckpt[1200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints", r->out);
    job.ckpt_root = ckpt;
    FILE* table = job.quiet ? NULL : stdout;
    if (table) {
        printf("== train and evaluate (%s split)\n", job.split);
        cli_rec_table_header(stdout, &job);
    }
    static const struct {
        const char* model;
        vkr_sasrec_loss loss;
        const char* stage;
        bool on_host; /* counts popularity on the host, whatever the backend */
    } plan[] = {{"pop", VKR_SASREC_BCE, "pop", true},
                {"sasrec", VKR_SASREC_BCE, "sasrec-bce", false},
                {"sasrec", VKR_SASREC_CE, "sasrec-ce", false}};
    for (size_t k = 0; k < sizeof plan / sizeof plan[0]; k++) {
        double t0 = vkr_now_s();
        job.model = plan[k].model;
        job.sasrec.loss = plan[k].loss;
        VKR_TRY(cli_stage_train(r->dev, &r->ds, &job, 0, r->ds.domain_count, r->results, table));
        run_stage_done(&r->rs, plan[k].stage, plan[k].on_host ? "host" : cli_backend_name(r->dev), t0);
    }
    double t0 = vkr_now_s();
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
    job.beams_json = beams; /* the viewer's trie panel overlays these */
    job.views_out = &r->views;
    VKR_TRY(cli_stage_train(r->dev, &r->ds, &job, 0, r->ds.domain_count, r->results, table));
    run_stage_done(&r->rs, "gencdr", cli_backend_name(r->dev), t0);
    return VKR_OK;
}

/* t-SNE maps and domain alignment of each view of the items: text, and what GenCDR learned. */
static vkr_status run_maps(run_job* r) {
    double t0 = vkr_now_s();
    if (!r->rec.quiet) printf("== maps\n");
    const cli_gencdr_views* v = &r->views;
    run_map_view mv[4] = {{"text", r->emb.data, (uint32_t)r->emb.shape[1]}, {"semantic-ID", v->codes, v->dim}};
    uint32_t nv = 2;
    if (v->ids) mv[nv++] = (run_map_view){"ID", v->ids, v->dim};
    mv[nv++] = (run_map_view){"fused", v->fused, v->dim};
    size_t len = 0;
    FILE* mf = open_memstream(&r->maps_md, &len);
    if (!mf) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "cannot buffer the maps section");
    vkr_status s = cli_stage_maps(r->dev, r->out, r->data_dir, &r->ds, mv, nv, r->rec.quiet, r->maps_json, mf);
    fclose(mf);
    run_stage_done(&r->rs, "maps", cli_backend_name(r->dev), t0);
    return s;
}

/* RUN_DIR/metrics.json (results, maps, timings and backend per stage), then RUN_DIR/report.md. */
static vkr_status run_write(run_job* r) {
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.json", r->out);
    cJSON* root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "vkrec", vkr_version());
    if (r->dev) cJSON_AddItemToObject(root, "device", cli_device_json(vkr_device_get_info(r->dev)));
    else cJSON_AddStringToObject(root, "device", "cpu");
    cJSON_AddStringToObject(root, "data", r->src);
    char abs[PATH_MAX]; /* where the dataset lies, for `vkrec view RUN_DIR` */
    cJSON_AddStringToObject(root, "dataset_dir", realpath(r->data_dir, abs) ? abs : r->data_dir);
    cJSON_AddItemToObject(root, "results", cJSON_Duplicate(r->results, true));
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
    VKR_TRY(s);
    VKR_TRY(run_report_write(r->out, &r->ds, r->dev ? vkr_device_get_info(r->dev) : NULL, &r->rec, &r->rs,
                             r->results, r->src, r->maps_md));
    if (!r->rec.quiet) printf("wrote %s/report.md and %s\n", r->out, path);
    return VKR_OK;
}

static void run_job_free(run_job* r) {
    vkr_npy_free(&r->emb);
    free(r->views.codes);
    free(r->views.ids);
    free(r->views.fused);
    cJSON_Delete(r->results);
    cJSON_Delete(r->maps_json);
    free(r->maps_md);
    vkr_dataset_free(&r->ds);
}

int cli_cmd_run(int argc, char** argv) {
    cli_common com = {0};
    run_args ra = {.out = "run", .tokenizer_epochs = 12};
    cli_rec_args rec;
    cli_rec_args_init(&rec);
    /* demo-sized defaults: the bundled sample's histories are short */
    rec.job.sasrec.max_len = rec.job.gencdr.max_len = 20;
    rec.job.sasrec.epochs = rec.job.gencdr.epochs = 4;
    rec.job.sasrec.patience = rec.job.gencdr.patience = 2;
    if (cli_parse(&cli_run_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &ra, &rec}) != CLI_OK)
        return CLI_USAGE;
    cli_rec_args_apply(&rec, &com);
    run_job r = {.out = ra.out, .src = ra.src, .rec = rec.job};
    if (r.rec.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    if (mkdir(r.out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "vkrec run: cannot create %s: %s\n", r.out, strerror(errno));
        return CLI_FAILED;
    }
    char sample[1024];
    if (!r.src) r.src = default_sample(sample, sizeof sample);
    if (is_dataset(r.src)) snprintf(r.data_dir, sizeof r.data_dir, "%s", r.src);
    else snprintf(r.data_dir, sizeof r.data_dir, "%s/data", r.out);
    r.rec.data_dir = r.data_dir;
    r.results = cJSON_CreateArray();
    r.maps_json = cJSON_CreateObject();
    vkr_instance* inst = NULL;
    vkr_status s = r.results && r.maps_json ? cli_open_backend(com.device, &inst, &r.dev)
                                            : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == VKR_OK) s = run_data_stages(r.dev, r.src, r.data_dir, &ra, r.rec.quiet, argc, argv, &r.rs);
    if (s == VKR_OK) s = run_load(&r);
    if (s == VKR_OK) s = run_models(&r);
    if (s == VKR_OK) s = run_maps(&r);
    if (s == VKR_OK) s = run_write(&r);
    int rc = s == VKR_OK ? CLI_OK : cli_fail("run", s);
    run_job_free(&r);
    cli_close_device(inst, r.dev);
    return rc;
}
