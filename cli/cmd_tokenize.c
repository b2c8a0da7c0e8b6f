/* vkrec tokenize: learn semantic IDs from DIR/item_emb.npy (RQ-VAE, residual k-means) or draw random
 * ones, and write them with the tokenizer's statistics. */
#include <cjson/cJSON.h>
#include <errno.h>
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
#include "vkr_safetensors.h"
#include "vkr_semid_schemes.h"
#include "vkr_embed.h"
#include "vkr_term_ids.h"
#include "vkr_text.h"
#include "vkr_tsne.h"
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

/* What every scheme reports, whichever produced it. */
typedef struct tokenize_view {
    const char* method;             /* cli_tokenize_method_choices entry */
    uint32_t items, levels, codes;  /* n, L, K */
    double seconds;                 /* wall time */
    const vkr_semid_stats* stats;   /* all items */
    const vkr_semid_stats* signal;  /* the items with a non-zero embedding (NULL: no such distinction) */
    const vkr_semid_stats* nearest; /* the nearest codes before the uniform mapping (NULL: none) */
    uint32_t no_signal, distinct, balanced, kmeans_empty; /* see vkr_rqvae_result */
    uint64_t seed;                  /* --seed */
    const char* device;             /* the backend's name */
} tokenize_view;

static cJSON* stats_json(const tokenize_view* v, cJSON* settings_out[1]) {
    cJSON* j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "method", v->method);
    cJSON_AddNumberToObject(j, "items", v->items);
    cJSON* settings = cJSON_AddObjectToObject(j, "settings");
    cJSON_AddNumberToObject(settings, "levels", v->levels);
    cJSON_AddNumberToObject(settings, "codes", v->codes);
    cJSON_AddNumberToObject(settings, "seed", (double)v->seed);
    cJSON_AddStringToObject(settings, "device", v->device);
    *settings_out = settings;
    cJSON_AddNumberToObject(j, "seconds", v->seconds);
    semid_json(j, v->stats);
    if (v->nearest) { /* the collisions LC-Rec's uniform mapping exists to cut, before it ran */
        semid_json(cJSON_AddObjectToObject(j, "before_uniform_mapping"), v->nearest);
        cJSON_AddNumberToObject(j, "balanced_items", v->balanced);
    }
    if (v->signal) {
        cJSON_AddNumberToObject(j, "no_signal_items", v->no_signal);
        cJSON_AddNumberToObject(j, "distinct_embeddings", v->distinct);
        cJSON_AddNumberToObject(j, "kmeans_empty_codes", v->kmeans_empty);
        if (v->no_signal) semid_json(cJSON_AddObjectToObject(j, "signal"), v->signal);
    }
    cJSON* rule = cJSON_AddObjectToObject(j, "collapse_rule");
    cJSON_AddNumberToObject(rule, "level_floor", vkr_semid_level_floor(v->items, v->codes));
    cJSON_AddNumberToObject(rule, "max_items_per_path", vkr_semid_max_per_path_bound(v->items, v->levels, v->codes));
    cJSON* vocab = cJSON_AddArrayToObject(j, "token_vocab");
    for (uint32_t l = 0; l < v->levels; l++) cJSON_AddItemToArray(vocab, cJSON_CreateNumber(v->codes));
    cJSON_AddItemToArray(vocab, cJSON_CreateNumber(v->stats->max_per_path));
    cJSON_AddStringToObject(j, "semantic_ids", "semantic_ids.npy: uint16 items x (levels + 1), row i = item i");
    return j;
}

/* The RQ-VAE's own settings and losses, and with adapters what the router did. */
static void rqvae_json(cJSON* j, cJSON* settings, const vkr_rqvae_result* r, const vkr_dataset* d) {
    const vkr_rqvae_config* c = &r->config;
    const vkr_rqvae_train_options* o = &r->options;
    cJSON_AddNumberToObject(settings, "input_dim", c->input_dim);
    cJSON* hidden = cJSON_AddArrayToObject(settings, "hidden");
    for (uint32_t i = 0; i < c->hidden_count; i++) cJSON_AddItemToArray(hidden, cJSON_CreateNumber(c->hidden[i]));
    cJSON_AddNumberToObject(settings, "latent", c->latent);
    cJSON_AddNumberToObject(settings, "beta", c->beta);
    cJSON_AddBoolToObject(settings, "adapters", c->adapters);
    cJSON_AddNumberToObject(settings, "domains", c->domains);
    cJSON_AddNumberToObject(settings, "lora_rank", c->lora_rank);
    cJSON_AddNumberToObject(settings, "epochs", o->epochs);
    cJSON_AddNumberToObject(settings, "adapter_epochs", o->adapter_epochs);
    cJSON_AddNumberToObject(settings, "batch", o->batch);
    cJSON_AddNumberToObject(settings, "lr", o->lr);
    cJSON_AddNumberToObject(j, "steps", r->steps);
    cJSON_AddNumberToObject(j, "recon_loss", r->recon_loss);
    cJSON_AddNumberToObject(j, "quant_loss", r->quant_loss);
    cJSON_AddNumberToObject(j, "reseeded_codes", r->reseeded);
    cJSON_AddStringToObject(j, "input_scaling", "per-item rescale to the median RMS of the non-zero rows");
    if (!c->adapters) return;
    cJSON_AddNumberToObject(settings, "balance", c->balance);
    cJSON* router = cJSON_AddObjectToObject(j, "router");
    cJSON* experts = cJSON_AddArrayToObject(router, "experts");
    cJSON_AddItemToArray(experts, cJSON_CreateString("universal"));
    for (uint32_t k = 0; k < c->domains; k++) cJSON_AddItemToArray(experts, cJSON_CreateString(d->domain_name[k]));
    cJSON* mean = cJSON_AddObjectToObject(router, "mean_weights");
    for (uint32_t k = 0; k < c->domains; k++) {
        cJSON* row = cJSON_AddArrayToObject(mean, d->domain_name[k]);
        for (uint32_t e = 0; e <= c->domains; e++) cJSON_AddItemToArray(row, cJSON_CreateNumber(r->route_mean[k][e]));
    }
    cJSON_AddNumberToObject(router, "items_changed_by_adapters", r->adapter_changed);
    semid_json(cJSON_AddObjectToObject(router, "adapters_off"), &r->universal_stats);
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

const char* const cli_tokenize_method_choices[] = {"rqvae", "rkmeans", "random", "term", NULL};

/* What `vkrec tokenize` reads from its command line. */
typedef struct tokenize_args {
    cli_tokenize_options o; /* the stage's options */
    cli_uint_list hidden;   /* --hidden */
} tokenize_args;

static const cli_positional tokenize_positionals[] = {
    {"DIR", "a dataset directory", offsetof(tokenize_args, o.dir), 1, 1}};
static const cli_option tokenize_opts[] = {
    CLI_CHOICE(COMMAND, "--method", tokenize_args, o.method, cli_tokenize_method_choices, "rqvae",
               "rqvae: RQ-VAE; rkmeans: residual k-means on the embeddings (GRID); random: random codes (TIGER's "
               "ablation, reads no embedding); term: GRLM's salient terms of the item text"),
    CLI_UINT(COMMAND, "--levels", "L", tokenize_args, o.config.levels, 1, VKR_SEMID_MAX_LEVELS, "3; term: 5",
             "code levels (residual codebooks; term: terms per item)"),
    CLI_UINT(COMMAND, "--codes", "K", tokenize_args, o.config.codes, 1, VKR_SEMID_MAX_CODES, "256",
             "codes per codebook (at most the item count; the default shrinks to it)"),
    CLI_FLAG(COMMAND, "--no-balance", tokenize_args, o.no_balance,
             "rqvae, rkmeans: keep every item's nearest last-level code (no uniform mapping)"),
    CLI_UINT(COMMAND, "--neighbors", "K", tokenize_args, o.term_neighbors, 0, 1000, "10",
             "term: similar items (nearest in DIR/item_emb.npy) whose text gives an item's context; 0: none"),
    CLI_FLOAT(COMMAND, "--context", "F", tokenize_args, o.term_context, 0, 1e6, 0, "0.5",
              "term: weight of the neighbours' mean TF-IDF subtracted from an item's own term's (prefers the terms "
              "that tell it apart)"),
    CLI_FLAG(COMMAND, "--bigrams", tokenize_args, o.term_bigrams, "term: word pairs are terms too"),
    CLI_UINT(COMMAND, "--latent", "D", tokenize_args, o.config.latent, 1, CLI_UINT_LIMIT, "32", "rqvae: latent width"),
    CLI_UINTS(COMMAND, "--hidden", "A,B,...", tokenize_args, hidden, 1, CLI_UINT_LIMIT, VKR_RQVAE_MAX_HIDDEN,
              "512,256,128", "rqvae: encoder hidden widths, decoder mirrored"),
    CLI_FLOAT(COMMAND, "--beta", "B", tokenize_args, o.config.beta, 0, 1e6, CLI_MIN_OPEN, "0.25",
              "rqvae: commitment weight"),
    CLI_FLAG(COMMAND, "--adapters", tokenize_args, o.config.adapters,
             "rqvae: GenCDR's per-domain LoRA adapters and a router over them and the universal encoder, trained "
             "after the universal model (tokenizer.json: the routing weights per domain, the items whose codes the "
             "adapters changed, the IDs' figures with the adapters off)"),
    CLI_UINT(COMMAND, "--rank", "R", tokenize_args, o.config.lora_rank, 1, CLI_UINT_LIMIT, "8", "rqvae: adapter rank"),
    CLI_FLOAT(COMMAND, "--balance", "W", tokenize_args, o.config.balance, 0, 1e6, 0, "0",
              "rqvae with adapters: weight of the router's load-balancing term (0: none; Switch uses 0.01)"),
    CLI_UINT(COMMAND, "--epochs", "N", tokenize_args, o.train.epochs, 1, CLI_UINT_LIMIT,
             "about 3000 steps, 10..200 epochs", "rqvae: universal-phase epochs"),
    CLI_UINT(COMMAND, "--adapter-epochs", "N", tokenize_args, o.train.adapter_epochs, 1, CLI_UINT_LIMIT, "epochs/4",
             "rqvae: adapter-phase epochs"),
    CLI_UINT(COMMAND, "--batch", "N", tokenize_args, o.train.batch, 1, CLI_UINT_LIMIT, "256", "rqvae: items per step"),
    CLI_FLOAT(COMMAND, "--lr", "F", tokenize_args, o.train.lr, 0, 1e6, CLI_MIN_OPEN, "0.001", "rqvae: Adam learning rate"),
    CLI_UINT(COMMAND, "--kmeans-iters", "N", tokenize_args, o.train.kmeans_iters, 1, CLI_UINT_LIMIT, "20",
             "Lloyd iterations of each k-means (rqvae: the codebook initialization; rkmeans: every level)"),
};
static const cli_option* const tokenize_shared[] = {&cli_opt_seed, &cli_opt_device, &cli_opt_quiet, NULL};
const cli_spec cli_tokenize_spec = {
    .name = "tokenize",
    .description =
        "  Learns semantic IDs for every item and writes DIR/semantic_ids.npy (uint16 items x (L+1), row i =\n"
        "  item i: L codes plus a token that tells apart items sharing a path, so every ID is unique) and\n"
        "  DIR/tokenizer.json (method, settings, utilization and perplexity per level, collision rate and\n"
        "  items per path, also before the uniform mapping), with DIR/tokenizer.safetensors (the RQ-VAE's\n"
        "  weights or the k-means codebooks; none for random), as one unit: replaced together, only after\n"
        "  all were written. rqvae (default) trains an RQ-VAE on DIR/item_emb.npy, its codebooks started\n"
        "  from GPU k-means and dead codes re-seeded; rkmeans clusters the embeddings level by level on\n"
        "  the residuals; random draws every code uniformly; term takes the L most salient words of each\n"
        "  item's text (TF-IDF minus --context x the mean over its --neighbors most similar items, which\n"
        "  prefers the words that tell it apart; an item with fewer words takes its neighbours'), written\n"
        "  from the most to the least common so that prefixes group items, one vocabulary for all levels\n"
        "  (tokenizer.json lists it; a pad token where an item has fewer terms). rqvae and\n"
        "  rkmeans balance the last level within each prefix (LC-Rec's uniform mapping) unless --no-balance.",
    CLI_POSITIONALS(tokenize_positionals),
    CLI_OWN_OPTIONS(tokenize_opts),
    .shared = tokenize_shared,
    .defaults = (const char* const[]){"--seed", "0", NULL},
};

int cli_cmd_tokenize(int argc, char** argv) {
    cli_common com = {0};
    tokenize_args a = {.o = {.term_neighbors = 10, .term_context = 0.5f}};
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

/* The k-means codebooks of a residual k-means tokenization as safetensors. */
static vkr_status rkmeans_save(const vkr_semid_scheme_result* r, const char* path) {
    vkr_st_writer* w = NULL;
    VKR_TRY(vkr_st_writer_create(&w));
    vkr_status s = vkr_st_writer_add(w, "codebooks", VKR_ELEM_F32, 3, (uint64_t[]){r->levels, r->codes, r->dim},
                                     r->codebooks);
    if (s == VKR_OK) s = vkr_st_writer_set_metadata(w, "format", "vkrec-rkmeans-1");
    if (s == VKR_OK) s = vkr_st_writer_write(w, path);
    vkr_st_writer_destroy(w);
    return s;
}

/* One scheme's outcome, whichever ran. */
typedef struct tokenize_outcome {
    tokenize_view view;              /* what every scheme reports */
    const vkr_rqvae_result* rqvae;   /* the RQ-VAE's result, or NULL */
    const vkr_semid_scheme_result* scheme; /* residual k-means or random, or NULL */
    const uint16_t* ids;             /* [items, L+1] */
} tokenize_outcome;

/* Writes DIR/semantic_ids.npy, tokenizer.json (j) and, for a scheme with weights, tokenizer.safetensors
 * as one unit: all are replaced only after all were written (a full disk leaves the previous files),
 * and what a killed earlier tokenize left in DIR goes first. A scheme without weights removes the
 * previous tokenizer.safetensors, which would describe other IDs. */
static vkr_status tokenize_commit(const char* dir, const tokenize_outcome* t, const cJSON* j) {
    const bool weights = t->rqvae || (t->scheme && t->scheme->codebooks);
    static const char* const names[] = {"semantic_ids.npy", "tokenizer.json", "tokenizer.safetensors"};
    const int files = weights ? 3 : 2;
    vkr_stage st;
    vkr_stage_init(&st);
    const char* tmp[3] = {NULL};
    char path[4200];
    vkr_status s = vkr_temps_clean(dir, NULL);
    for (int k = 0; k < files && s == VKR_OK; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        s = vkr_stage_add(&st, path, &tmp[k]);
    }
    uint64_t shape[2] = {t->view.items, t->view.levels + 1u};
    if (s == VKR_OK) s = vkr_npy_save(tmp[0], VKR_ELEM_U16, 2, shape, t->ids);
    if (s == VKR_OK) s = vkr_json_write(j, tmp[1]);
    if (s == VKR_OK && weights) s = t->rqvae ? vkr_rqvae_save(t->rqvae, tmp[2]) : rkmeans_save(t->scheme, tmp[2]);
    if (s != VKR_OK) {
        vkr_stage_abort(&st);
        return s;
    }
    VKR_TRY(vkr_stage_commit(&st));
    snprintf(path, sizeof path, "%s/tokenizer.safetensors", dir);
    if (!weights && unlink(path) != 0 && errno != ENOENT)
        return vkr_fail(VKR_ERR_IO, "%s: cannot remove the previous tokenizer's weights: %s", path, strerror(errno));
    return VKR_OK;
}

/* Term IDs: the item text's TF-IDF (unigrams unless --bigrams) and, with --neighbors and --context,
 * each item's nearest items in emb (none for an all-zero row, and never one). *out_terms receives
 * the TF-IDF columns' strings. */
static vkr_status tokenize_terms(vkr_device* dev, const vkr_dataset* d, const vkr_npy_array* emb,
                                 const cli_tokenize_options* opt, vkr_term_ids_result* out, char*** out_terms) {
    char** docs = NULL;
    vkr_csr tf = {0};
    int32_t* knn = NULL;
    float* dist = NULL;
    uint32_t n = d->item_count, k = 0;
    vkr_status s = vkr_embed_item_docs(d, &docs);
    vkr_tfidf_options to = {.unigrams_only = !opt->term_bigrams};
    if (s == VKR_OK) s = vkr_tfidf_terms((const char* const*)docs, n, &to, &tf, out_terms);
    vkr_embed_item_docs_free(docs, n);
    if (s == VKR_OK && tf.nnz == 0)
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: no item has text with a term shared by two items: term IDs need item "
                     "text (try --method rqvae)", opt->dir);
    if (s == VKR_OK && emb->ndim) {
        const uint32_t dim = (uint32_t)emb->shape[1];
        const float* x = emb->data;
        k = opt->term_neighbors < n - 1 ? opt->term_neighbors : n - 1;
        knn = malloc((size_t)n * (k ? k : 1) * sizeof *knn);
        dist = malloc((size_t)n * (k ? k : 1) * sizeof *dist);
        if (!knn || !dist) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "tokenize: out of host memory for %u neighbours", n);
        if (s == VKR_OK && k)
            s = dev ? vkr_tsne_knn(dev, x, n, dim, k, knn, dist) : vkr_tsne_knn_host(x, n, dim, k, knn, dist);
        /* an all-zero row has no meaningful neighbours and is no item's neighbour */
        uint8_t* zero = s == VKR_OK ? calloc(n, 1) : NULL;
        if (s == VKR_OK && !zero) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "tokenize: out of host memory");
        for (uint32_t i = 0; zero && i < n; i++) {
            const float* row = x + (size_t)i * dim;
            zero[i] = 1;
            for (uint32_t c = 0; c < dim && zero[i]; c++) zero[i] = row[c] == 0;
        }
        for (uint64_t e = 0; zero && e < (uint64_t)n * k; e++)
            if (zero[e / k] || (knn[e] >= 0 && zero[knn[e]])) knn[e] = -1;
        free(zero);
    }
    vkr_term_ids_options o = {.levels = opt->config.levels, .context = opt->term_context};
    if (s == VKR_OK) s = vkr_term_ids(&tf, knn, k, &o, out);
    vkr_csr_free(&tf);
    free(knn);
    free(dist);
    return s;
}

/* The term scheme's settings, vocabulary (token order, the pad token last) and the first items' terms. */
static void term_json(cJSON* j, cJSON* settings, const vkr_term_ids_result* r, char* const* terms,
                      const vkr_dataset* d, const cli_tokenize_options* opt, bool context) {
    cJSON_AddNumberToObject(settings, "neighbors", context ? opt->term_neighbors : 0);
    cJSON_AddNumberToObject(settings, "context", context ? opt->term_context : 0);
    cJSON_AddBoolToObject(settings, "bigrams", opt->term_bigrams);
    cJSON_AddNumberToObject(j, "padded_items", r->padded_items);
    cJSON_AddNumberToObject(j, "empty_items", r->empty_items);
    cJSON_AddNumberToObject(j, "context_terms", r->context_terms);
    cJSON* vocab = cJSON_AddArrayToObject(j, "terms");
    for (uint32_t t = 0; t + 1 < r->codes; t++) cJSON_AddItemToArray(vocab, cJSON_CreateString(terms[r->token_column[t]]));
    cJSON_AddItemToArray(vocab, cJSON_CreateString("<pad>"));
    cJSON* ex = cJSON_AddArrayToObject(j, "examples");
    for (uint32_t i = 0; i < d->item_count && i < 5; i++) {
        cJSON* e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "item", vkr_strtab_get(&d->item_key, i));
        cJSON_AddStringToObject(e, "title", vkr_strtab_get(&d->item_title, i));
        cJSON* tl = cJSON_AddArrayToObject(e, "terms");
        for (uint32_t l = 0; l < r->levels; l++) {
            int32_t tok = r->ids.codes[(size_t)i * r->levels + l];
            cJSON_AddItemToArray(tl, cJSON_CreateString((uint32_t)tok + 1 < r->codes ? terms[r->token_column[tok]] : "<pad>"));
        }
        cJSON_AddItemToArray(ex, e);
    }
}

/* Loads DIR/item_emb.npy and checks it against the dataset. */
static vkr_status tokenize_load_embeddings(const char* dir, const vkr_dataset* d, vkr_npy_array* emb) {
    char path[4200];
    snprintf(path, sizeof path, "%s/item_emb.npy", dir);
    VKR_TRY(vkr_npy_load_f32(path, emb));
    if (emb->ndim != 2 || emb->shape[0] != d->item_count || emb->shape[1] == 0 || emb->shape[1] > 65536)
        return vkr_fail(VKR_ERR_FORMAT, "%s: expected %u x d embeddings (one row per item of the dataset), got %s", path,
                        d->item_count, vkr_shape_str(emb->ndim, emb->shape, (char[64]){0}, 64));
    return vkr_check_vectors(path, emb->data, emb->shape[0], emb->shape[1]);
}

/* Prints what every scheme reports. */
static void tokenize_print(const char* dir, const tokenize_view* v) {
    print_semid(v->stats, "");
    if (v->nearest) {
        printf("  before the uniform mapping (nearest codes%s):\n", v->no_signal ? ", items with a signal" : "");
        print_semid(v->nearest, "  ");
        printf("  the uniform mapping moved %u items off their nearest last-level code\n", v->balanced);
    }
    if (v->no_signal) {
        printf("  %u items had all-zero embeddings (given spread paths); %u distinct embeddings among the rest; over "
               "the others:\n", v->no_signal, v->distinct);
        print_semid(v->signal, "  ");
    }
    printf("wrote %s/semantic_ids.npy (%u x %u uint16, all unique) and tokenizer.json\n", dir, v->items,
           v->levels + 1);
}

/* Every scheme's results, owned until tokenize_results_free. */
typedef struct tokenize_results {
    vkr_rqvae_result rqvae;      /* rqvae */
    vkr_semid_scheme_result scheme; /* rkmeans, random */
    vkr_term_ids_result term;    /* term */
    char** terms;                /* term: the TF-IDF columns' words */
} tokenize_results;

static void tokenize_results_free(tokenize_results* r) {
    vkr_rqvae_result_free(&r->rqvae);
    vkr_semid_scheme_result_free(&r->scheme);
    vkr_term_ids_result_free(&r->term);
    free(r->terms);
}

/* The RQ-VAE (with the router's report when it has adapters). */
static vkr_status tokenize_rqvae(vkr_device* dev, const vkr_dataset* d, const vkr_npy_array* emb,
                                 const cli_tokenize_options* opt, tokenize_results* res, tokenize_outcome* t) {
    vkr_rqvae_result* r = &res->rqvae;
    vkr_rqvae_config c = opt->config;
    vkr_rqvae_train_options o = opt->train;
    c.input_dim = (uint32_t)emb->shape[1];
    c.domains = d->domain_count;
    o.device = dev;
    o.no_balance = opt->no_balance;
    if (!opt->quiet && isatty(fileno(stderr))) o.progress = progress_line;
    vkr_status s = vkr_rqvae_train(&c, &o, emb->data, d->item_count, d->item_domain, r);
    if (o.progress) fprintf(stderr, "\r%100s\r", "");
    VKR_TRY(s);
    if (!opt->quiet) {
        printf("trained in %.1f s (%u steps): reconstruction MSE %.6f, quantization loss %.6f\n", r->seconds, r->steps,
               r->recon_loss, r->quant_loss);
        for (uint32_t k = 0; c.adapters && k < d->domain_count; k++) {
            printf("  router, %s items: universal %.3f", d->domain_name[k], (double)r->route_mean[k][0]);
            for (uint32_t e = 1; e <= d->domain_count; e++)
                printf(", %s adapter %.3f", d->domain_name[e - 1], (double)r->route_mean[k][e]);
            printf("\n");
        }
        if (c.adapters)
            printf("  the adapters changed %u items' codes (adapters off: %u distinct paths, collision rate %.2f%%)\n",
                   r->adapter_changed, r->universal_stats.distinct_paths, 100 * r->universal_stats.collision_rate);
    }
    t->rqvae = r;
    t->ids = r->ids;
    t->view.items = r->items, t->view.levels = r->config.levels, t->view.codes = r->config.codes;
    t->view.seconds = r->seconds, t->view.stats = &r->stats, t->view.signal = &r->signal_stats;
    t->view.nearest = o.no_balance ? NULL : &r->nearest_stats;
    t->view.no_signal = r->no_signal, t->view.distinct = r->distinct_rows, t->view.balanced = r->balanced;
    t->view.kmeans_empty = r->kmeans_empty;
    return VKR_OK;
}

/* Residual k-means or random IDs. */
static vkr_status tokenize_scheme(vkr_device* dev, const vkr_dataset* d, const vkr_npy_array* emb,
                                  const cli_tokenize_options* opt, tokenize_results* res, tokenize_outcome* t) {
    vkr_semid_scheme_result* sr = &res->scheme;
    vkr_semid_scheme_options so = {.device = dev, .levels = opt->config.levels, .codes = opt->config.codes,
                                   .kmeans_iters = opt->train.kmeans_iters, .no_balance = opt->no_balance,
                                   .seed = opt->train.seed};
    const bool learned = opt->method == CLI_TOKENIZE_RKMEANS;
    VKR_TRY(learned ? vkr_rkmeans_tokenize(&so, emb->data, d->item_count, (uint32_t)emb->shape[1], sr)
                    : vkr_random_ids(&so, d->item_count, sr));
    if (!opt->quiet && learned)
        printf("clustered in %.1f s: reconstruction MSE %.6f (rows at the median norm)\n", sr->seconds, sr->recon_mse);
    t->scheme = sr;
    t->ids = sr->ids.ids;
    t->view.items = sr->items, t->view.levels = sr->levels, t->view.codes = sr->codes;
    t->view.seconds = sr->seconds, t->view.stats = &sr->ids.stats;
    t->view.signal = learned ? &sr->ids.signal_stats : NULL;
    t->view.nearest = learned && !opt->no_balance ? &sr->nearest_stats : NULL;
    t->view.no_signal = sr->ids.no_signal, t->view.distinct = sr->distinct_rows, t->view.balanced = sr->balanced;
    t->view.kmeans_empty = sr->kmeans_empty;
    return VKR_OK;
}

/* Term IDs. */
static vkr_status tokenize_term(vkr_device* dev, const vkr_dataset* d, const vkr_npy_array* emb,
                                const cli_tokenize_options* opt, tokenize_results* res, tokenize_outcome* t) {
    vkr_term_ids_result* tr = &res->term;
    double start = vkr_now_s();
    VKR_TRY(tokenize_terms(dev, d, emb, opt, tr, &res->terms));
    if (!opt->quiet)
        printf("%u terms in the vocabulary; %u items padded (fewer than %u terms), %u without any; %u terms came from "
               "neighbours\n", tr->codes - 1, tr->padded_items, tr->levels, tr->empty_items, tr->context_terms);
    t->ids = tr->ids.ids;
    t->view.items = d->item_count, t->view.levels = tr->levels, t->view.codes = tr->codes;
    t->view.seconds = vkr_now_s() - start, t->view.stats = &tr->ids.stats;
    return VKR_OK;
}

/* The JSON of the outcome, with each scheme's own part. */
static cJSON* tokenize_json(const tokenize_outcome* t, const tokenize_results* res, const vkr_dataset* d,
                            const cli_tokenize_options* opt, bool context) {
    cJSON* settings = NULL;
    cJSON* j = stats_json(&t->view, &settings);
    if (t->rqvae) rqvae_json(j, settings, t->rqvae, d);
    else if (t->scheme && t->scheme->codebooks) {
        cJSON_AddNumberToObject(settings, "input_dim", t->scheme->dim);
        cJSON_AddNumberToObject(j, "recon_mse", t->scheme->recon_mse);
        cJSON_AddStringToObject(j, "input_scaling", "per-item rescale to the median RMS of the non-zero rows");
    } else if (opt->method == CLI_TOKENIZE_TERM)
        term_json(j, settings, &res->term, res->terms, d, opt, context);
    return j;
}

/* The first items' words (term IDs), from the JSON's examples. */
static void tokenize_print_examples(const cJSON* j) {
    const cJSON* e = NULL;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "examples")) {
        printf("  %s: ", cJSON_GetObjectItem(e, "title")->valuestring);
        const cJSON* term = NULL;
        cJSON_ArrayForEach(term, cJSON_GetObjectItem(e, "terms")) printf("[%s] ", term->valuestring);
        printf("\n");
    }
}

vkr_status cli_stage_tokenize(vkr_device* dev, const cli_tokenize_options* opt) {
    const char* dir = opt->dir;
    const bool quiet = opt->quiet;
    vkr_dataset d;
    VKR_TRY(vkr_dataset_load(dir, &d));
    vkr_npy_array emb = {0};
    vkr_status s = d.item_count ? VKR_OK : vkr_fail(VKR_ERR_FORMAT, "%s: the dataset has no items", dir);
    /* random IDs read no embedding; term IDs only for their context */
    const bool context = opt->method == CLI_TOKENIZE_TERM && opt->term_neighbors > 0;
    char emb_path[4200];
    snprintf(emb_path, sizeof emb_path, "%s/item_emb.npy", dir);
    if (s == VKR_OK && context && !vkr_path_exists(emb_path))
        s = vkr_fail(VKR_ERR_NOT_FOUND, "%s not found: term IDs take each item's context from its nearest items there "
                     "(vkrec embed %s), or --neighbors 0 for none", emb_path, dir);
    if (s == VKR_OK && (opt->method == CLI_TOKENIZE_RQVAE || opt->method == CLI_TOKENIZE_RKMEANS || context))
        s = tokenize_load_embeddings(dir, &d, &emb);
    const char* method = cli_tokenize_method_choices[opt->method];
    if (s == VKR_OK && !quiet) {
        printf("tokenizing %u items with %s (", d.item_count, method);
        if (emb.ndim) printf("%u-d embeddings, ", (uint32_t)emb.shape[1]);
        printf("%u domains%s) on %s\n", d.domain_count,
               opt->method == CLI_TOKENIZE_RQVAE && opt->config.adapters ? ", with adapters" : "", cli_backend_name(dev));
    }
    tokenize_results res = {0};
    tokenize_outcome t = {.view = {.method = method, .seed = opt->train.seed, .device = cli_backend_name(dev)}};
    if (s == VKR_OK)
        s = opt->method == CLI_TOKENIZE_RQVAE  ? tokenize_rqvae(dev, &d, &emb, opt, &res, &t)
            : opt->method == CLI_TOKENIZE_TERM ? tokenize_term(dev, &d, &emb, opt, &res, &t)
                                               : tokenize_scheme(dev, &d, &emb, opt, &res, &t);
    cJSON* j = s == VKR_OK ? tokenize_json(&t, &res, &d, opt, context) : NULL;
    if (s == VKR_OK) s = tokenize_commit(dir, &t, j);
    if (s == VKR_OK && !quiet && opt->method == CLI_TOKENIZE_TERM) tokenize_print_examples(j);
    if (s == VKR_OK && !quiet) tokenize_print(dir, &t.view);
    cJSON_Delete(j);
    tokenize_results_free(&res);
    vkr_npy_free(&emb);
    vkr_dataset_free(&d);
    return s;
}
