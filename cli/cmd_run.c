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
    cli_rec_job job = rec.job;
    const char* out = ra.out;
    const char* src = ra.src;
    if (job.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "vkrec run: cannot create %s: %s\n", out, strerror(errno));
        return CLI_FAILED;
    }
    run_state rs = {0};
    char sample[1024], data_dir[1100];
    if (!src) src = default_sample(sample, sizeof sample);
    if (is_dataset(src)) snprintf(data_dir, sizeof data_dir, "%s", src);
    else snprintf(data_dir, sizeof data_dir, "%s/data", out);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    vkr_status s = cli_open_backend(com.device, &inst, &dev);
    if (s == VKR_OK) s = run_data_stages(dev, src, data_dir, &ra, job.quiet, argc, argv, &rs);
    if (s != VKR_OK) {
        cli_close_device(inst, dev);
        return cli_fail("run", s);
    }
    vkr_dataset ds;
    s = vkr_dataset_load(data_dir, &ds);
    if (s != VKR_OK) {
        cli_close_device(inst, dev);
        return cli_fail("run", s);
    }
    job.data_dir = data_dir;
    /* the text view of the items, mapped beside the model's views at the end */
    char emb_path[1100];
    snprintf(emb_path, sizeof emb_path, "%s/item_emb.npy", data_dir);
    vkr_npy_array emb;
    s = vkr_npy_load_f32(emb_path, &emb);
    if (s == VKR_OK && (emb.ndim != 2 || emb.shape[0] != ds.item_count))
        s = vkr_fail(VKR_ERR_FORMAT, "%s does not hold one row per item", emb_path);
    if (s != VKR_OK) {
        vkr_npy_free(&emb);
        vkr_dataset_free(&ds);
        cli_close_device(inst, dev);
        return cli_fail("run", s);
    }
    cJSON* results = cJSON_CreateArray();
    char ckpt[1100];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints", out);
    job.ckpt_root = ckpt;
    if (!job.quiet) {
        printf("== train and evaluate (%s split)\n", job.split);
        cli_rec_table_header(stdout);
    }
    static const struct {
        const char* model;
        vkr_sasrec_loss loss;
        const char* stage;
        bool on_host; /* counts popularity on the host, whatever the backend */
    } plan[] = {{"pop", VKR_SASREC_BCE, "pop", true},
                {"sasrec", VKR_SASREC_BCE, "sasrec-bce", false},
                {"sasrec", VKR_SASREC_CE, "sasrec-ce", false}};
    double t0 = 0;
    for (size_t k = 0; k < sizeof plan / sizeof plan[0] && s == VKR_OK; k++) {
        t0 = vkr_now_s();
        job.model = plan[k].model;
        job.sasrec.loss = plan[k].loss;
        s = cli_stage_train(dev, &ds, &job, 0, ds.domain_count, results, job.quiet ? NULL : stdout);
        run_stage_done(&rs, plan[k].stage, plan[k].on_host ? "host" : cli_backend_name(dev), t0);
    }
    cli_gencdr_views views = {0};
    if (s == VKR_OK) {
        t0 = vkr_now_s();
        job.model = "gencdr";
        cli_rec_job gj = job;
        if (!job.protocols_given) { /* scoring 1000 IDs per user is minutes on a CPU driver: the demo stops at 100 */
            gj.protocol_count = 0;
            for (uint32_t k = 0; k < job.protocol_count; k++)
                if (job.protocols[k].negatives <= 100) {
                    gj.protocols[gj.protocol_count] = job.protocols[k];
                    memcpy(gj.protocol_names[gj.protocol_count++], job.protocol_names[k], 32);
                }
        }
        char beams[1100];
        snprintf(beams, sizeof beams, "%s/beams.json", out);
        gj.beams_json = beams; /* the viewer's trie panel overlays these */
        gj.views_out = &views;
        s = cli_stage_train(dev, &ds, &gj, 0, ds.domain_count, results, job.quiet ? NULL : stdout);
        run_stage_done(&rs, "gencdr", cli_backend_name(dev), t0);
    }
    /* t-SNE maps and domain alignment of each view of the items: text, and what GenCDR learned */
    char* maps_md = NULL;
    size_t maps_len = 0;
    cJSON* maps_json = cJSON_CreateObject();
    if (s == VKR_OK) {
        t0 = vkr_now_s();
        if (!job.quiet) printf("== maps\n");
        run_map_view mv[4] = {{"text", emb.data, (uint32_t)emb.shape[1]}, {"semantic-ID", views.codes, views.dim}};
        uint32_t nv = 2;
        if (views.ids) mv[nv++] = (run_map_view){"ID", views.ids, views.dim};
        mv[nv++] = (run_map_view){"fused", views.fused, views.dim};
        FILE* mf = open_memstream(&maps_md, &maps_len);
        s = mf ? cli_stage_maps(dev, out, data_dir, &ds, mv, nv, job.quiet, maps_json, mf)
               : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "cannot buffer the maps section");
        if (mf) fclose(mf);
        run_stage_done(&rs, "maps", cli_backend_name(dev), t0);
    }
    vkr_npy_free(&emb);
    free(views.codes);
    free(views.ids);
    free(views.fused);
    int rc = CLI_OK;
    if (s != VKR_OK) rc = cli_fail("run", s);
    if (rc == CLI_OK) {
        char path[1100];
        snprintf(path, sizeof path, "%s/metrics.json", out);
        cJSON* root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "vkrec", vkr_version());
        if (dev) cJSON_AddItemToObject(root, "device", cli_device_json(vkr_device_get_info(dev)));
        else cJSON_AddStringToObject(root, "device", "cpu");
        cJSON_AddStringToObject(root, "data", src);
        char abs[PATH_MAX]; /* where the dataset lies, for `vkrec view RUN_DIR` */
        cJSON_AddStringToObject(root, "dataset_dir", realpath(data_dir, abs) ? abs : data_dir);
        cJSON_AddItemToObject(root, "results", cJSON_Duplicate(results, true));
        cJSON* maps = cJSON_DetachItemFromObject(maps_json, "maps");
        if (maps) cJSON_AddItemToObject(root, "maps", maps);
        cJSON* timings = cJSON_AddObjectToObject(root, "seconds");
        for (uint32_t i = 0; i < rs.n; i++) cJSON_AddNumberToObject(timings, rs.stages[i].name, rs.stages[i].seconds);
        cJSON* backends = cJSON_AddObjectToObject(root, "backends"); /* what each stage ran on */
        for (uint32_t i = 0; i < rs.n; i++) cJSON_AddStringToObject(backends, rs.stages[i].name, rs.stages[i].backend);
        s = cli_write_json(root, path);
        cJSON_Delete(root);
        if (s == VKR_OK)
            s = run_report_write(out, &ds, dev ? vkr_device_get_info(dev) : NULL, &job, &rs, results, src, maps_md);
        if (s != VKR_OK) rc = cli_fail("run", s);
        if (rc == CLI_OK && !job.quiet) printf("wrote %s/report.md and %s\n", out, path);
    }
    cJSON_Delete(results);
    cJSON_Delete(maps_json);
    free(maps_md);
    vkr_dataset_free(&ds);
    cli_close_device(inst, dev);
    return rc;
}
