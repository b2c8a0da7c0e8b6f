/* vkrec tokenize: train the RQ-VAE tokenizer on DIR/item_emb.npy and write semantic IDs. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "vkr_data.h"
#include "vkr_npy.h"
#include "vkr_rqvae.h"

/* Parses a positive finite float option value. */
static bool parse_float(const char* cmd, const char* option, const char* text, float* out) {
    char* end = NULL;
    double v = strtod(text, &end);
    if (!*text || *end || !isfinite(v) || v <= 0 || v > 1e6) {
        cli_usage_error(cmd, "%s expects a positive number, got '%s'", option, text);
        return false;
    }
    *out = (float)v;
    return true;
}

/* Parses "512,256,128" into hidden widths. */
static bool parse_hidden(const char* cmd, const char* text, vkr_rqvae_config* c) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    c->hidden_count = 0;
    for (char* tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        unsigned v = 0;
        if (c->hidden_count == VKR_RQVAE_MAX_HIDDEN) {
            cli_usage_error(cmd, "--hidden takes at most %u widths", VKR_RQVAE_MAX_HIDDEN);
            return false;
        }
        if (!cli_parse_uint(cmd, "--hidden", tok, &v)) return false;
        c->hidden[c->hidden_count++] = v;
    }
    if (!c->hidden_count) {
        cli_usage_error(cmd, "--hidden expects comma-separated widths such as 512,256,128");
        return false;
    }
    return true;
}

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
    cJSON_AddNumberToObject(j, "collision_rate", r->stats.collision_rate);
    cJSON_AddNumberToObject(j, "distinct_paths", r->stats.distinct_paths);
    cJSON_AddNumberToObject(j, "max_items_per_path", r->stats.max_per_path);
    cJSON_AddNumberToObject(j, "kmeans_empty_codes", r->kmeans_empty);
    cJSON_AddNumberToObject(j, "reseeded_codes", r->reseeded);
    cJSON* levels = cJSON_AddArrayToObject(j, "levels");
    for (uint32_t l = 0; l < c->levels; l++) {
        cJSON* e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "level", l + 1);
        cJSON_AddNumberToObject(e, "used", r->stats.used[l]);
        cJSON_AddNumberToObject(e, "utilization", r->stats.utilization[l]);
        cJSON_AddNumberToObject(e, "perplexity", r->stats.perplexity[l]);
        cJSON_AddItemToArray(levels, e);
    }
    cJSON* vocab = cJSON_AddArrayToObject(j, "token_vocab");
    for (uint32_t l = 0; l < c->levels; l++) cJSON_AddItemToArray(vocab, cJSON_CreateNumber(c->codes));
    cJSON_AddItemToArray(vocab, cJSON_CreateNumber(r->stats.max_per_path));
    cJSON_AddStringToObject(j, "semantic_ids", "semantic_ids.npy: uint16 items x (levels + 1), row i = item i");
    return j;
}

int cli_cmd_tokenize(int argc, char** argv) {
    const char* cmd = "tokenize";
    const char *dir = NULL, *selector = NULL;
    bool quiet = false;
    vkr_rqvae_config c = {0};
    vkr_rqvae_train_options o = {0};
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = NULL;
        unsigned n = 0;
        if (strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--adapters") == 0) {
            c.adapters = true;
        } else if (strcmp(a, "--device") == 0) {
            if (!(selector = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--hidden") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i)) || !parse_hidden(cmd, v, &c)) return CLI_USAGE;
        } else if (strcmp(a, "--beta") == 0 || strcmp(a, "--lr") == 0) {
            float f = 0;
            if (!(v = cli_value(cmd, argc, argv, &i)) || !parse_float(cmd, a, v, &f)) return CLI_USAGE;
            if (a[2] == 'b') c.beta = f;
            else o.lr = f;
        } else if (strcmp(a, "--levels") == 0 || strcmp(a, "--codes") == 0 || strcmp(a, "--latent") == 0 ||
                   strcmp(a, "--rank") == 0 || strcmp(a, "--epochs") == 0 || strcmp(a, "--adapter-epochs") == 0 ||
                   strcmp(a, "--batch") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--kmeans-iters") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i)) || !cli_parse_uint(cmd, a, v, &n)) return CLI_USAGE;
            if (strcmp(a, "--levels") == 0) c.levels = n;
            else if (strcmp(a, "--codes") == 0) c.codes = n;
            else if (strcmp(a, "--latent") == 0) c.latent = n;
            else if (strcmp(a, "--rank") == 0) c.lora_rank = n;
            else if (strcmp(a, "--epochs") == 0) o.epochs = n;
            else if (strcmp(a, "--adapter-epochs") == 0) o.adapter_epochs = n;
            else if (strcmp(a, "--batch") == 0) o.batch = n;
            else if (strcmp(a, "--seed") == 0) o.seed = n;
            else o.kmeans_iters = n;
        } else if (a[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (dir) {
            return cli_usage_error(cmd, "one dataset directory expected (got '%s' and '%s')", dir, a);
        } else {
            dir = a;
        }
    }
    if (!dir) return cli_usage_error(cmd, "a dataset directory is required");
    if (c.levels > VKR_SEMID_MAX_LEVELS) return cli_usage_error(cmd, "--levels must be at most %u", VKR_SEMID_MAX_LEVELS);
    if (c.codes > VKR_SEMID_MAX_CODES) return cli_usage_error(cmd, "--codes must be at most %u", VKR_SEMID_MAX_CODES);
    if (quiet) vkr_log_set_level(VKR_LOG_ERROR);
    vkr_dataset d;
    vkr_status s = vkr_dataset_load(dir, &d);
    if (s != VKR_OK) return cli_fail(cmd, s);
    char path[4200];
    snprintf(path, sizeof path, "%s/item_emb.npy", dir);
    vkr_npy_array emb = {0};
    s = vkr_npy_load_f32(path, &emb);
    if (s == VKR_OK && (emb.ndim != 2 || emb.shape[0] != d.item_count || emb.shape[1] == 0 || emb.shape[1] > 65536))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: expected %u x d embeddings (one row per item of the dataset), got %s", path,
                     d.item_count, vkr_shape_str(emb.ndim, emb.shape, (char[64]){0}, 64));
    if (s == VKR_OK && d.item_count == 0) s = vkr_fail(VKR_ERR_FORMAT, "%s: the dataset has no items", dir);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    if (s == VKR_OK) s = cli_open_device(selector, &inst, &dev);
    vkr_rqvae_result r = {0};
    if (s == VKR_OK) {
        c.input_dim = (uint32_t)emb.shape[1];
        c.domains = d.domain_count;
        o.device = dev;
        if (!quiet && isatty(fileno(stderr))) o.progress = progress_line;
        if (!quiet)
            printf("tokenizing %u items (%u-d embeddings, %u domains%s) on %s\n", d.item_count, c.input_dim,
                   d.domain_count, c.adapters ? ", with adapters" : "", vkr_device_get_info(dev)->name);
        s = vkr_rqvae_train(&c, &o, emb.data, d.item_count, d.item_domain, &r);
        if (o.progress) fprintf(stderr, "\r%100s\r", "");
    }
    if (s == VKR_OK) s = vkr_semantic_ids_save(dir, r.ids, r.items, r.config.levels + 1);
    if (s == VKR_OK) {
        snprintf(path, sizeof path, "%s/tokenizer.safetensors", dir);
        s = vkr_rqvae_save(&r, path);
    }
    if (s == VKR_OK) {
        cJSON* j = stats_json(&r, &r.options, vkr_device_get_info(dev)->name);
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        s = cli_write_json(j, path);
        cJSON_Delete(j);
    }
    int rc = s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
    if (rc == CLI_OK && !quiet) {
        const vkr_semid_stats* st = &r.stats;
        printf("trained in %.1f s (%u steps): reconstruction MSE %.6f, quantization loss %.6f\n", r.seconds, r.steps,
               r.recon_loss, r.quant_loss);
        for (uint32_t l = 0; l < st->levels; l++)
            printf("  level %u: %u/%u codes used (utilization %.1f%%), perplexity %.1f\n", l + 1, st->used[l], st->codes,
                   100 * st->utilization[l], st->perplexity[l]);
        printf("  collisions: %u distinct paths for %u items (collision rate %.2f%%), at most %u items per path\n",
               st->distinct_paths, st->items, 100 * st->collision_rate, st->max_per_path);
        printf("wrote %s/semantic_ids.npy (%u x %u uint16, all unique), tokenizer.safetensors, tokenizer.json\n", dir,
               r.items, st->levels + 1);
    }
    vkr_rqvae_result_free(&r);
    vkr_npy_free(&emb);
    vkr_dataset_free(&d);
    if (dev) cli_close_device(inst, dev);
    return rc;
}
