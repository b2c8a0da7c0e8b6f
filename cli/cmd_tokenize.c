/* vkrec tokenize: train the RQ-VAE tokenizer on DIR/item_emb.npy and write semantic IDs. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "vkr_fileio.h"
#include "cli_stages.h"
#include "vkr_data.h"
#include "vkr_file.h"
#include "vkr_npy.h"
#include "vkr_rqvae.h"
#include "vkr_values.h"

static void format_eta(double s, char* buf, size_t size) {
    if (s >= 3600) snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else if (s >= 60) snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, size, "%.0fs", s);
}

static void progress_line(void* user, const vkr_rqvae_progress* p) {
    (void)user;
    char eta[32];
    format_eta(p->eta_s, eta, sizeof eta);
    fprintf(stderr, "\r%-9s epoch %u/%u  loss %.5f  %.0f items/s  ETA %s%s   ", p->phase, p->epoch, p->epochs, p->loss,
            p->items_per_s, eta, p->reseeded ? "  (dead codes re-seeded)" : "");
    fflush(stderr);
}

/* Per-level use and the path figures of one assignment (all items, or the trained ones). */
static void semid_json(cJSON* j, const vkr_semid_stats* st) {
    cJSON_AddNumberToObject(j, "collision_rate", st->collision_rate);
    cJSON_AddNumberToObject(j, "distinct_paths", st->distinct_paths);
    cJSON_AddNumberToObject(j, "max_items_per_path", st->max_per_path);
    cJSON* per_path = cJSON_AddObjectToObject(j, "items_per_path");
    cJSON_AddNumberToObject(per_path, "max", st->max_per_path);
    cJSON_AddNumberToObject(per_path, "p99", st->p99_per_path);
    cJSON_AddNumberToObject(per_path, "mean", st->mean_per_path);
    cJSON_AddNumberToObject(per_path, "bound", vkr_semid_max_per_path_bound(st->items, st->levels, st->codes));
    cJSON* levels = cJSON_AddArrayToObject(j, "levels");
    for (uint32_t l = 0; l < st->levels; l++) {
        cJSON* e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "level", l + 1);
        cJSON_AddNumberToObject(e, "used", st->used[l]);
        cJSON_AddNumberToObject(e, "utilization", st->utilization[l]);
        cJSON_AddNumberToObject(e, "perplexity", st->perplexity[l]);
        cJSON_AddItemToArray(levels, e);
    }
}

static cJSON* stats_json(const vkr_rqvae_result* r, const vkr_rqvae_train_options* o, const char* device) {
    const vkr_rqvae_config* c = &r->config;
    cJSON* j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "items", r->items);
    cJSON* settings = cJSON_AddObjectToObject(j, "settings");
    cJSON_AddNumberToObject(settings, "input_dim", c->input_dim);
    cJSON* hidden = cJSON_AddArrayToObject(settings, "hidden");
    for (uint32_t i = 0; i < c->hidden_count; i++) cJSON_AddItemToArray(hidden, cJSON_CreateNumber(c->hidden[i]));
    cJSON_AddNumberToObject(settings, "latent", c->latent);
    cJSON_AddNumberToObject(settings, "levels", c->levels);
    cJSON_AddNumberToObject(settings, "codes", c->codes);
    cJSON_AddNumberToObject(settings, "beta", c->beta);
    cJSON_AddBoolToObject(settings, "adapters", c->adapters);
    cJSON_AddNumberToObject(settings, "domains", c->domains);
    cJSON_AddNumberToObject(settings, "lora_rank", c->lora_rank);
    cJSON_AddNumberToObject(settings, "epochs", o->epochs);
    cJSON_AddNumberToObject(settings, "adapter_epochs", o->adapter_epochs);
    cJSON_AddNumberToObject(settings, "batch", o->batch);
    cJSON_AddNumberToObject(settings, "lr", o->lr);
    cJSON_AddNumberToObject(settings, "seed", (double)o->seed);
    cJSON_AddStringToObject(settings, "device", device);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cJSON_AddNumberToObject(j, "steps", r->steps);
    cJSON_AddNumberToObject(j, "recon_loss", r->recon_loss);
    cJSON_AddNumberToObject(j, "quant_loss", r->quant_loss);
    semid_json(j, &r->stats);
    cJSON_AddNumberToObject(j, "kmeans_empty_codes", r->kmeans_empty);
    cJSON_AddNumberToObject(j, "reseeded_codes", r->reseeded);
    cJSON_AddNumberToObject(j, "no_signal_items", r->no_signal);
    cJSON_AddNumberToObject(j, "distinct_embeddings", r->distinct_rows);
    cJSON_AddNumberToObject(j, "balanced_items", r->balanced);
    if (r->no_signal) semid_json(cJSON_AddObjectToObject(j, "signal"), &r->signal_stats);
    cJSON* rule = cJSON_AddObjectToObject(j, "collapse_rule");
    cJSON_AddNumberToObject(rule, "level_floor", vkr_semid_level_floor(r->items, r->stats.codes));
    cJSON_AddNumberToObject(rule, "max_items_per_path",
                            vkr_semid_max_per_path_bound(r->items, r->stats.levels, r->stats.codes));
    cJSON_AddStringToObject(j, "input_scaling", "per-item rescale to the median RMS of the non-zero rows");
    cJSON* vocab = cJSON_AddArrayToObject(j, "token_vocab");
    for (uint32_t l = 0; l < c->levels; l++) cJSON_AddItemToArray(vocab, cJSON_CreateNumber(c->codes));
    cJSON_AddItemToArray(vocab, cJSON_CreateNumber(r->stats.max_per_path));
    cJSON_AddStringToObject(j, "semantic_ids", "semantic_ids.npy: uint16 items x (levels + 1), row i = item i");
    return j;
}

/* Per-level use and the path figures of one assignment, each line after `indent`. */
static void print_semid(const vkr_semid_stats* st, const char* indent) {
    for (uint32_t l = 0; l < st->levels; l++)
        printf("%s  level %u: %u/%u codes used (utilization %.1f%%), perplexity %.1f\n", indent, l + 1, st->used[l],
               st->codes, 100 * st->utilization[l], st->perplexity[l]);
    printf("%s  collisions: %u distinct paths for %u items (collision rate %.2f%%)\n", indent, st->distinct_paths,
           st->items, 100 * st->collision_rate);
    printf("%s  items per path: max %u, p99 %u, mean %.3f (bound %u)\n", indent, st->max_per_path, st->p99_per_path,
           st->mean_per_path, vkr_semid_max_per_path_bound(st->items, st->levels, st->codes));
}

/* What `vkrec tokenize` reads from its command line. */
typedef struct tokenize_args {
    cli_tokenize_options o; /* the stage's options */
    cli_uint_list hidden;   /* --hidden */
} tokenize_args;

static const cli_positional tokenize_positionals[] = {
    {"DIR", "a dataset directory", offsetof(tokenize_args, o.dir), 1, 1}};
static const cli_option tokenize_opts[] = {
    CLI_UINT(COMMAND, "--levels", "L", tokenize_args, o.config.levels, 1, VKR_SEMID_MAX_LEVELS, "3",
             "residual codebooks"),
    CLI_UINT(COMMAND, "--codes", "K", tokenize_args, o.config.codes, 1, VKR_SEMID_MAX_CODES, "256",
             "codes per codebook (at most the item count; the default shrinks to it)"),
    CLI_UINT(COMMAND, "--latent", "D", tokenize_args, o.config.latent, 1, CLI_UINT_LIMIT, "32", "latent width"),
    CLI_UINTS(COMMAND, "--hidden", "A,B,...", tokenize_args, hidden, 1, CLI_UINT_LIMIT, VKR_RQVAE_MAX_HIDDEN,
              "512,256,128", "encoder hidden widths, decoder mirrored"),
    CLI_FLOAT(COMMAND, "--beta", "B", tokenize_args, o.config.beta, 0, 1e6, CLI_MIN_OPEN, "0.25", "commitment weight"),
    CLI_FLAG(COMMAND, "--adapters", tokenize_args, o.config.adapters,
             "GenCDR: per-domain LoRA adapters + router, trained after the universal model"),
    CLI_UINT(COMMAND, "--rank", "R", tokenize_args, o.config.lora_rank, 1, CLI_UINT_LIMIT, "8", "adapter rank"),
    CLI_UINT(COMMAND, "--epochs", "N", tokenize_args, o.train.epochs, 1, CLI_UINT_LIMIT,
             "about 3000 steps, 10..200 epochs", "universal-phase epochs"),
    CLI_UINT(COMMAND, "--adapter-epochs", "N", tokenize_args, o.train.adapter_epochs, 1, CLI_UINT_LIMIT, "epochs/4",
             "adapter-phase epochs"),
    CLI_UINT(COMMAND, "--batch", "N", tokenize_args, o.train.batch, 1, CLI_UINT_LIMIT, "256", "items per step"),
    CLI_FLOAT(COMMAND, "--lr", "F", tokenize_args, o.train.lr, 0, 1e6, CLI_MIN_OPEN, "0.001", "Adam learning rate"),
    CLI_UINT(COMMAND, "--kmeans-iters", "N", tokenize_args, o.train.kmeans_iters, 1, CLI_UINT_LIMIT, "20",
             "Lloyd iterations of the codebook initialization"),
};
static const cli_option* const tokenize_shared[] = {&cli_opt_seed, &cli_opt_device, &cli_opt_quiet, NULL};
const cli_spec cli_tokenize_spec = {
    .name = "tokenize",
    .description =
        "  Trains an RQ-VAE on DIR/item_emb.npy (vkrec embed) and writes DIR/semantic_ids.npy (uint16 items x\n"
        "  (L+1), row i = item i: L codes plus a token that tells apart items sharing a path, so every ID is\n"
        "  unique), DIR/tokenizer.safetensors (weights) and DIR/tokenizer.json (settings, utilization and\n"
        "  perplexity per level, collision rate, losses), the three as one unit: replaced together, only\n"
        "  after all were written. Codebooks start from GPU k-means; dead codes are\n"
        "  re-seeded during training.",
    CLI_POSITIONALS(tokenize_positionals),
    CLI_OWN_OPTIONS(tokenize_opts),
    .shared = tokenize_shared,
    .defaults = (const char* const[]){"--seed", "0", NULL},
};

int cli_cmd_tokenize(int argc, char** argv) {
    cli_common com = {0};
    tokenize_args a = {0};
    if (cli_parse(&cli_tokenize_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
    a.o.config.hidden_count = a.hidden.count;
    memcpy(a.o.config.hidden, a.hidden.v, a.hidden.count * sizeof *a.hidden.v);
    a.o.train.seed = com.seed;
    a.o.quiet = com.quiet;
    if (com.quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    vkr_status s = cli_open_backend(com.device, &inst, &dev);
    if (s == VKR_OK) s = cli_stage_tokenize(dev, &a.o);
    cli_close_device(inst, dev);
    return s == VKR_OK ? CLI_OK : cli_fail("tokenize", s);
}

/* Writes DIR/semantic_ids.npy, tokenizer.safetensors and tokenizer.json as one unit: all three are
 * replaced only after all were written (a full disk leaves the previous three), and what a killed
 * earlier tokenize left in DIR goes first. */
static vkr_status tokenize_commit(const char* dir, const vkr_rqvae_result* r, vkr_device* dev) {
    static const char* const names[] = {"semantic_ids.npy", "tokenizer.safetensors", "tokenizer.json"};
    vkr_stage st;
    vkr_stage_init(&st);
    const char* tmp[3] = {NULL};
    char path[4200];
    vkr_status s = vkr_temps_clean(dir, NULL);
    for (int k = 0; k < 3 && s == VKR_OK; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        s = vkr_stage_add(&st, path, &tmp[k]);
    }
    uint64_t shape[2] = {r->items, r->config.levels + 1u};
    if (s == VKR_OK) s = vkr_npy_save(tmp[0], VKR_ELEM_U16, 2, shape, r->ids);
    if (s == VKR_OK) s = vkr_rqvae_save(r, tmp[1]);
    if (s == VKR_OK) {
        cJSON* j = stats_json(r, &r->options, cli_backend_name(dev));
        s = vkr_json_write(j, tmp[2]);
        cJSON_Delete(j);
    }
    if (s == VKR_OK) return vkr_stage_commit(&st);
    vkr_stage_abort(&st);
    return s;
}

vkr_status cli_stage_tokenize(vkr_device* dev, const cli_tokenize_options* opt) {
    const char* dir = opt->dir;
    const bool quiet = opt->quiet;
    vkr_rqvae_config c = opt->config;
    vkr_rqvae_train_options o = opt->train;
    vkr_dataset d;
    VKR_TRY(vkr_dataset_load(dir, &d));
    char path[4200];
    snprintf(path, sizeof path, "%s/item_emb.npy", dir);
    vkr_npy_array emb = {0};
    vkr_status s = vkr_npy_load_f32(path, &emb);
    if (s == VKR_OK && (emb.ndim != 2 || emb.shape[0] != d.item_count || emb.shape[1] == 0 || emb.shape[1] > 65536))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: expected %u x d embeddings (one row per item of the dataset), got %s", path,
                     d.item_count, vkr_shape_str(emb.ndim, emb.shape, (char[64]){0}, 64));
    if (s == VKR_OK && d.item_count == 0) s = vkr_fail(VKR_ERR_FORMAT, "%s: the dataset has no items", dir);
    if (s == VKR_OK) s = vkr_check_vectors(path, emb.data, emb.shape[0], emb.shape[1]);
    vkr_rqvae_result r = {0};
    if (s == VKR_OK) {
        c.input_dim = (uint32_t)emb.shape[1];
        c.domains = d.domain_count;
        o.device = dev;
        if (!quiet && isatty(fileno(stderr))) o.progress = progress_line;
        if (!quiet)
            printf("tokenizing %u items (%u-d embeddings, %u domains%s) on %s\n", d.item_count, c.input_dim,
                   d.domain_count, c.adapters ? ", with adapters" : "", cli_backend_name(dev));
        s = vkr_rqvae_train(&c, &o, emb.data, d.item_count, d.item_domain, &r);
        if (o.progress) fprintf(stderr, "\r%100s\r", "");
    }
    if (s == VKR_OK) s = tokenize_commit(dir, &r, dev);
    if (s == VKR_OK && !quiet) {
        const vkr_semid_stats* st = &r.stats;
        printf("trained in %.1f s (%u steps): reconstruction MSE %.6f, quantization loss %.6f\n", r.seconds, r.steps,
               r.recon_loss, r.quant_loss);
        print_semid(st, "");
        if (r.no_signal) {
            printf("  %u items had all-zero embeddings (not trained on, given spread paths); %u distinct embeddings "
                   "among the rest; over the trained items:\n", r.no_signal, r.distinct_rows);
            print_semid(&r.signal_stats, "  ");
        }
        if (r.balanced) printf("  the uniform mapping moved %u items off their nearest last-level code\n", r.balanced);
        printf("wrote %s/semantic_ids.npy (%u x %u uint16, all unique), tokenizer.safetensors, tokenizer.json\n", dir,
               r.items, st->levels + 1);
    }
    vkr_rqvae_result_free(&r);
    vkr_npy_free(&emb);
    vkr_dataset_free(&d);
    return s;
}
