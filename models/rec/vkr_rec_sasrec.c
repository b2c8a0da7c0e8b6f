/* SASRec on the shared training loop (vkr_fit.h): rows built from the training interactions (target
 * domain or mixed input), one sampled negative per position for BCE (outside the user's history),
 * candidate indices for CE, validation HR@10 under cfg.validate, and scoring of the last position over one domain's items. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_exec.h"
#include "vkr_fit.h"
#include "vkr_rec.h"
#include "vkr_rng.h"
#include "vkr_sasrec_buckets.h"

void vkr_sasrec_train_defaults(vkr_sasrec_train* t) {
    *t = (vkr_sasrec_train){.loss = VKR_SASREC_BCE, .max_len = 50, .batch = 128, .buckets = true, .hidden = 64,
                            .blocks = 2, .heads = 1, .dropout = 0.2f, .lr = 1e-3f, .epochs = 20, .patience = 3,
                            .seed = 42, .eval_batch = 128, .view_lambda = 0.1f, .view_tau = 0.07f, .semantic_lr = 3e-4f,
                            .align_weight = 0.1f, .align_tau = 0.1f, .seq_mix = 0.5f};
}

/* Items per InfoNCE of the view plug-in: 256, or the whole domain when smaller. */
static uint32_t vkr_sasrec_contrast(uint32_t domain_items) { return domain_items < 256 ? domain_items : 256; }

static vkr_sasrec_config vkr_model_config(const vkr_dataset* ds, const vkr_sasrec_train* t, uint32_t batch) {
    uint32_t begin = ds->item_begin[t->domain], end = ds->item_begin[t->domain + 1];
    const vkr_item_semantics* sem = t->semantics;
    bool agn = sem && (t->item_views & VKR_ITEM_VIEW_AGNOSTIC);
    return (vkr_sasrec_config){.items = ds->item_count, .max_len = t->max_len, .batch = batch, .hidden = t->hidden,
                               .blocks = t->blocks, .heads = t->heads, .dropout = t->dropout, .loss = t->loss, .arch = t->arch,
                               .out_begin = begin + 1, .out_count = end - begin, .views = t->item_views,
                               .text_dim = sem && (t->item_views & VKR_ITEM_VIEW_INNER) ? sem->text_dim : 0,
                               .categories = agn ? sem->categories : 0, .subcategories = agn ? sem->subcategories : 0,
                               .view_lambda = t->view_lambda, .view_tau = t->view_tau, .view_mask = t->view_mask,
                               .contrast = vkr_sasrec_contrast(end - begin), .semantic_only = t->semantic_only,
                               .semantic_mlp = t->semantic_mlp, .gru = t->gru,
                               .align_items = t->align_items, .align_weight = t->align_weight,
                               .align_tau = t->align_tau, .seq_clusters = t->seq_clusters, .seq_mix = t->seq_mix};
}

static bool vkr_in_domain(const vkr_dataset* ds, uint32_t item, uint32_t d) {
    return item >= ds->item_begin[d] && item < ds->item_begin[d + 1];
}

/* Host staging for one batch. */
typedef struct vkr_batch {
    int32_t *seq, *mask, *pos, *neg;
    float *pos_label, *neg_label;
    uint32_t* items; /* scratch: a user's events */
} vkr_batch;

static bool vkr_in_history(const uint32_t* history, uint32_t n, uint32_t item) {
    for (uint32_t j = 0; j < n; j++)
        if (history[j] == item) return true;
    return false;
}

uint32_t vkr_sasrec_negative(const vkr_dataset* ds, uint32_t domain, const uint32_t* history, uint32_t history_len,
                             uint32_t next, uint64_t seed, uint64_t index) {
    uint32_t begin = ds->item_begin[domain], n_items = ds->item_begin[domain + 1] - begin;
    vkr_rng rng = vkr_rng_make(seed, index);
    /* rejection sampling: histories are short against the domain, so a draw or two suffices; a
     * history that covers most of the domain falls through to the scan below */
    for (uint32_t tries = 0; tries < 32; tries++) {
        uint32_t neg = begin + (uint32_t)vkr_rng_next_below(&rng, n_items);
        if (neg != next && !vkr_in_history(history, history_len, neg)) return neg;
    }
    uint32_t start = (uint32_t)vkr_rng_next_below(&rng, n_items), fallback = next;
    for (uint32_t k = 0; k < n_items; k++) {
        uint32_t neg = begin + (start + k) % n_items;
        if (neg == next) continue;
        if (!vkr_in_history(history, history_len, neg)) return neg;
        fallback = neg;
    }
    return fallback;
}

uint32_t vkr_sasrec_row_events(const vkr_dataset* ds, const vkr_sasrec_train* t, uint32_t user, uint32_t end,
                               uint32_t* out) {
    const uint32_t* ev = ds->seq_item + ds->seq_begin[user];
    uint32_t m = 0;
    for (uint32_t j = 0; j < end; j++) {
        bool keep = t->train_domains ? (t->train_domains >> ds->item_domain[ev[j]]) & 1u
                                     : t->mixed_input || vkr_in_domain(ds, ev[j], t->domain);
        if (keep) out[m++] = ev[j];
    }
    return m;
}

/* Fills row b, L positions wide, from the events of user u before `end` (training: with next-item
 * labels). Returns the number of labelled positions. Ids are item + 1 (0 is padding). The row is
 * the last L positions of the max_len window (a length bucket: the caller picks L no shorter than
 * the user's real positions, so only padding is left out) and everything else, negatives included,
 * is drawn as in the full window. Negatives are drawn per position of the step's whole batch, where
 * this batch's rows start at row0 (data-parallel shards draw what one process would). */
static uint32_t vkr_fill_row(const vkr_dataset* ds, const vkr_sasrec_train* t, vkr_batch* bt, uint32_t b, uint32_t L,
                             uint32_t row0, uint32_t u, uint32_t end, bool labels, uint64_t neg_seed) {
    uint32_t T = t->max_len, d = t->domain;
    uint32_t begin = ds->item_begin[d];
    uint32_t m = vkr_sasrec_row_events(ds, t, u, end, bt->items);
    /* training: inputs items[0..m-2] with labels items[1..m-1]; scoring: inputs items[0..m-1] */
    uint32_t n_in = labels ? (m ? m - 1 : 0) : m;
    uint32_t first = n_in > T ? n_in - T : 0, pad = T - (n_in - first);
    uint32_t labelled = 0;
    for (uint32_t k = T - L; k < T; k++) {
        size_t o = (size_t)b * L + (k - (T - L));
        bool real = k >= pad;
        uint32_t src = first + (k - pad);
        bt->seq[o] = real ? (int32_t)bt->items[src] + 1 : 0;
        bt->mask[o] = real;
        if (!labels) continue;
        uint32_t next = real ? bt->items[src + 1] : 0;
        /* zero-shot rows hold the training domains' events alone: each is a label in its own domain */
        bool has = real && (t->train_domains || vkr_in_domain(ds, next, d));
        labelled += has;
        if (t->loss == VKR_SASREC_CE) {
            bt->pos[o] = has ? (int32_t)(next - begin) : -1;
        } else {
            uint32_t nd = has ? ds->item_domain[next] : d;
            uint64_t draw = ((uint64_t)row0 + b) * T + k;
            uint32_t neg = has ? vkr_sasrec_negative(ds, nd, bt->items, m, next, neg_seed, draw) : 0;
            bt->pos[o] = has ? (int32_t)next + 1 : 0;
            bt->neg[o] = has ? (int32_t)neg + 1 : 0;
            bt->pos_label[o] = has ? 1.0f : -1.0f;
            bt->neg_label[o] = has ? 0.0f : -1.0f;
        }
    }
    return labelled;
}

static vkr_status vkr_batch_alloc(vkr_batch* b, uint32_t rows, uint32_t T, uint32_t max_events) {
    size_t n = (size_t)rows * T;
    b->seq = malloc(n * 4);
    b->mask = malloc(n * 4);
    b->pos = malloc(n * 4);
    b->neg = malloc(n * 4);
    b->pos_label = malloc(n * 4);
    b->neg_label = malloc(n * 4);
    b->items = malloc(((size_t)max_events + 1) * 4);
    if (!b->seq || !b->mask || !b->pos || !b->neg || !b->pos_label || !b->neg_label || !b->items)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for a batch");
    return VKR_OK;
}

static void vkr_batch_free(vkr_batch* b) {
    free(b->seq);
    free(b->mask);
    free(b->pos);
    free(b->neg);
    free(b->pos_label);
    free(b->neg_label);
    free(b->items);
}

/* ---- scoring ---- */

/* Runs the scoring graph on n <= eval_batch pairs and reads `what` (rows of `width` floats) for them. */
static vkr_status vkr_sasrec_run_rows(vkr_sasrec_model* m, const uint32_t* pairs, uint32_t n, vkr_tensor* what,
                                      uint32_t width, float* dst) {
    const vkr_dataset* ds = m->ds;
    vkr_exec* ex = m->score_exec;
    uint32_t B = m->cfg.eval_batch, T = m->cfg.max_len;
    uint32_t longest = 0;
    for (uint32_t k = 0; k < n; k++)
        if (pairs[2 * k + 1] > longest) longest = pairs[2 * k + 1];
    vkr_batch b = {0};
    vkr_status s = vkr_batch_alloc(&b, B, T, longest);
    for (uint32_t k = 0; k < B && s == VKR_OK; k++) {
        uint32_t src = k < n ? k : 0; /* pad the batch by repeating the first example */
        vkr_fill_row(ds, &m->cfg, &b, k, T, 0, pairs[2 * src], pairs[2 * src + 1], false, 0);
    }
    float* out = s == VKR_OK ? malloc((size_t)B * width * sizeof *out) : NULL;
    if (s == VKR_OK && !out) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory scoring");
    if (s == VKR_OK) s = vkr_exec_write(ex, m->score_graph.seq, b.seq, 4ull * B * T);
    if (s == VKR_OK) s = vkr_exec_write(ex, m->score_graph.mask, b.mask, 4ull * B * T);
    if (s == VKR_OK) s = vkr_exec_run(ex);
    if (s == VKR_OK) s = vkr_exec_read(ex, what, out, 4ull * B * width);
    if (s == VKR_OK) memcpy(dst, out, (size_t)n * width * sizeof *out);
    free(out);
    vkr_batch_free(&b);
    return s;
}

static vkr_status vkr_sasrec_score(void* self, const uint32_t* pairs, uint32_t n, float* scores) {
    vkr_sasrec_model* m = self;
    uint32_t d = m->cfg.domain;
    return vkr_sasrec_run_rows(m, pairs, n, m->score_graph.scores, m->ds->item_begin[d + 1] - m->ds->item_begin[d], scores);
}

vkr_status vkr_sasrec_user_states(vkr_sasrec_model* m, const uint32_t* pairs, uint32_t n, float* out) {
    uint32_t B = m->cfg.eval_batch, D = m->cfg.hidden;
    for (uint32_t k = 0; k < n; k += B)
        VKR_TRY(vkr_sasrec_run_rows(m, pairs + 2 * k, n - k < B ? n - k : B, m->score_graph.last, D, out + (size_t)k * D));
    return VKR_OK;
}

vkr_scorer vkr_sasrec_scorer(vkr_sasrec_model* m) {
    return (vkr_scorer){.self = m, .batch = m->cfg.eval_batch, .score = vkr_sasrec_score};
}

/* ---- training ---- */

static vkr_status vkr_write_batch(vkr_exec* ex, const vkr_sasrec* g, const vkr_batch* b, uint32_t B, uint32_t L,
                                  float scale, bool bce) {
    uint64_t bytes = 4ull * B * L;
    VKR_TRY(vkr_exec_write(ex, g->seq, b->seq, bytes));
    VKR_TRY(vkr_exec_write(ex, g->mask, b->mask, bytes));
    VKR_TRY(vkr_exec_write(ex, g->pos, b->pos, bytes));
    VKR_TRY(vkr_exec_write(ex, g->loss_scale, &scale, 4));
    if (!bce) return VKR_OK;
    VKR_TRY(vkr_exec_write(ex, g->neg, b->neg, bytes));
    VKR_TRY(vkr_exec_write(ex, g->pos_label, b->pos_label, bytes));
    return vkr_exec_write(ex, g->neg_label, b->neg_label, bytes);
}

/* What the loop's hooks work on. */
typedef struct vkr_sasrec_job {
    vkr_sasrec_model* m;
    vkr_sasrec train;
    vkr_exec* tex;
    vkr_sasrec_buckets buckets; /* length buckets around train and tex (vkr_sasrec_buckets.h) */
    uint32_t* lens;  /* per training user: real positions of its row */
    double per_user; /* mean labelled positions per training user (the grouped loss's normalizer) */
    vkr_batch bt;
    uint32_t rows;   /* training graph rows: this rank's share of --batch */
    uint32_t* users; /* training users */
    uint32_t* pool;  /* the domain's item ids + 1 (InfoNCE draws of the view plug-in) */
    int32_t* drawn;  /* one step's draw */
    float* mask;     /* its InfoNCE mask */
    uint32_t *src_pool, *tgt_pool; /* item-level alignment: item ids + 1 of the training domains and the others */
    uint32_t n_src, n_tgt;         /* their sizes */
    int32_t *align_ids;            /* one step's draw: M source ids, then M target ids */
    float* align_p;                /* its pull weights */
    double* align_norm;            /* scratch: the drawn target items' squared text norms */
} vkr_sasrec_job;

/* The item-level alignment inputs of one step: M source and M target items drawn uniformly (with
 * repeats when a side has fewer), and their pull weights from the text. */
static vkr_status vkr_sasrec_align_step(vkr_sasrec_job* j, vkr_exec* ex, const vkr_sasrec* g, uint64_t rng) {
    uint32_t M = j->m->cfg.align_items;
    vkr_rng r = vkr_rng_make(rng, 0xa119);
    for (uint32_t i = 0; i < M; i++) {
        j->align_ids[i] = (int32_t)j->src_pool[vkr_rng_next_below(&r, j->n_src)];
        j->align_ids[M + i] = (int32_t)j->tgt_pool[vkr_rng_next_below(&r, j->n_tgt)];
    }
    const vkr_item_views_host* h = &j->m->views_host;
    vkr_sasrec_align_weights(h->text, h->text_dim, j->align_ids, j->align_ids + M, M, j->m->cfg.align_tau, j->align_norm,
                             j->align_p);
    VKR_TRY(vkr_exec_write(ex, g->align_src, j->align_ids, 4ull * M));
    VKR_TRY(vkr_exec_write(ex, g->align_tgt, j->align_ids + M, 4ull * M));
    return vkr_exec_write(ex, g->align_p, j->align_p, 4ull * M * M);
}

/* The pools of the item-level alignment. */
static vkr_status vkr_sasrec_align_setup(vkr_sasrec_job* j) {
    const vkr_dataset* ds = j->m->ds;
    uint32_t M = j->m->cfg.align_items, mask = j->m->cfg.train_domains;
    j->src_pool = malloc((size_t)ds->item_count * sizeof *j->src_pool);
    j->tgt_pool = malloc((size_t)ds->item_count * sizeof *j->tgt_pool);
    j->align_ids = malloc(2ull * M * sizeof *j->align_ids);
    j->align_p = malloc((size_t)M * M * sizeof *j->align_p);
    j->align_norm = malloc((size_t)M * sizeof *j->align_norm);
    if (!j->src_pool || !j->tgt_pool || !j->align_ids || !j->align_p || !j->align_norm)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the item alignment");
    for (uint32_t i = 0; i < ds->item_count; i++) {
        if ((mask >> ds->item_domain[i]) & 1u) j->src_pool[j->n_src++] = i + 1;
        else j->tgt_pool[j->n_tgt++] = i + 1;
    }
    if (!j->n_src || !j->n_tgt)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec item alignment: it needs items in the training domains and "
                        "outside them (every domain is a training domain)");
    return VKR_OK;
}

/* The host constants of a training graph (the full window's or a length bucket's): the item views'
 * inputs, the GRU's mask table and the alignment InfoNCE's targets 0..M-1. */
static vkr_status vkr_sasrec_train_consts(void* self, vkr_exec* ex, const vkr_sasrec* g) {
    vkr_sasrec_job* j = self;
    VKR_TRY(vkr_sasrec_write_consts(ex, g, &j->m->views_host));
    if (!g->align_arange) return VKR_OK;
    uint32_t M = (uint32_t)g->align_arange->numel;
    int32_t* arange = malloc((size_t)M * sizeof *arange);
    if (!arange) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the item alignment");
    for (uint32_t i = 0; i < M; i++) arange[i] = (int32_t)i;
    vkr_status s = vkr_exec_write(ex, g->align_arange, arange, 4ull * M);
    free(arange);
    return s;
}

static vkr_status vkr_sasrec_step(void* self, vkr_fit_step* st) {
    vkr_sasrec_job* j = self;
    const vkr_sasrec_train* cfg = &j->m->cfg;
    const vkr_dataset* ds = j->m->ds;
    uint32_t B = j->rows, labelled = 0, longest = 0;
    for (uint32_t k = 0; k < st->n; k++)
        if (j->lens[st->units[k]] > longest) longest = j->lens[st->units[k]];
    vkr_sasrec_bucket* bucket = NULL;
    VKR_TRY(vkr_sasrec_buckets_pick(&j->buckets, longest, &bucket));
    vkr_exec* ex = bucket->exec;
    const vkr_sasrec* g = &bucket->graph;
    uint32_t L = bucket->len;
    uint64_t rng = st->rng;
    bool bce = cfg->loss == VKR_SASREC_BCE;
    for (uint32_t k = 0; k < B; k++) {
        if (k < st->n) {
            uint32_t u = j->users[st->units[k]];
            labelled += vkr_fill_row(ds, cfg, &j->bt, k, L, st->row0, u, ds->train_len[u], true, rng);
            continue;
        }
        for (uint32_t t = 0; t < L; t++) { /* a short last batch: empty rows carry no labels */
            size_t o = (size_t)k * L + t;
            j->bt.seq[o] = j->bt.mask[o] = j->bt.neg[o] = 0;
            j->bt.pos[o] = bce ? 0 : -1;
            j->bt.pos_label[o] = j->bt.neg_label[o] = -1.0f;
        }
    }
    /* The loss: the mean over the labelled positions; with grouped batches (length buckets) their sum
     * over the positions st->n users have on average instead, so a batch of short histories weighs as
     * little as its positions (as a mean, each such batch would weigh a whole step) */
    bool grouped = j->buckets.count > 1;
    double terms = grouped ? j->per_user * st->n : labelled;
    float scale = 0.0f; /* the BCE kernel averages over all B*L pairs (x2), CE's over the labelled ones */
    if (labelled && grouped) scale = (float)((bce ? (double)B * L : (double)labelled) / terms);
    else if (labelled) scale = bce ? (float)(B * L) / (float)labelled : 1.0f;
    VKR_TRY(vkr_write_batch(ex, g, &j->bt, B, L, scale, bce));
    st->weight = grouped ? st->n : labelled; /* what the loss averages over */
    /* shown per labelled position: a grouped batch's sum over a nominal count swings with its lengths */
    if (grouped) st->shown_terms = terms, st->shown_count = labelled;
    if (g->contrast) { /* distinct items of the domain */
        uint32_t M = (uint32_t)g->contrast->numel, n_pool = ds->item_begin[cfg->domain + 1] - ds->item_begin[cfg->domain];
        vkr_rng r = vkr_rng_make(rng, 0x7ab1e2);
        vkr_item_views_draw(j->pool, n_pool, M, &r, j->drawn);
        VKR_TRY(vkr_exec_write(ex, g->contrast, j->drawn, 4ull * M));
        if (g->contrast_mask) {
            vkr_item_views_mask(&j->m->views_host, j->drawn, M, j->mask);
            VKR_TRY(vkr_exec_write(ex, g->contrast_mask, j->mask, 4ull * M * M));
        }
    }
    if (g->align_src) VKR_TRY(vkr_sasrec_align_step(j, ex, g, rng));
    VKR_TRY(vkr_exec_run(ex));
    return st->want_loss ? vkr_exec_read(ex, g->loss, &st->loss, 4) : VKR_OK;
}

static vkr_status vkr_sasrec_validate(void* self, double* hr10) {
    vkr_sasrec_job* j = self;
    VKR_TRY(vkr_exec_copy_params(j->m->score_exec, j->tex));
    vkr_metrics vm;
    vkr_scorer scorer = vkr_sasrec_scorer(j->m);
    VKR_TRY(vkr_evaluate(j->m->ds, j->m->cfg.domain, j->m->ds->valid, j->m->ds->valid_count, &scorer,
                         &j->m->cfg.validate, &vm));
    *hr10 = vkr_metrics_means(&vm).hr10;
    return VKR_OK;
}

vkr_status vkr_sasrec_open(const vkr_dataset* ds, vkr_device* dev, const vkr_sasrec_train* cfg, vkr_sasrec_model* m) {
    memset(m, 0, sizeof *m);
    if (!ds || !cfg || cfg->domain >= ds->domain_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: bad dataset or target domain");
    if (cfg->batch == 0 || cfg->max_len == 0 || cfg->eval_batch == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: batch, max_len and eval_batch must be positive");
    if (cfg->semantic_only && cfg->item_views != VKR_ITEM_VIEW_INNER)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: a text-only item table takes the inner view alone");
    if (cfg->train_domains && cfg->loss == VKR_SASREC_CE && cfg->train_domains != 1u << cfg->domain)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: ce ranks one domain's items; train on several domains with "
                        "bce");
    if (cfg->train_domains && !((cfg->train_domains >> cfg->domain) & 1u))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: domain %s validates the model but is no training domain",
                        ds->domain_name[cfg->domain]);
    if (cfg->align_items && (!cfg->semantic_only || !cfg->train_domains))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: item alignment is for zero-shot training (training domains, "
                        "text-only items)");
    m->ds = ds;
    m->cfg = *cfg;
    m->dev = dev;
    if (cfg->item_views & ~VKR_ITEM_VIEW_ID) {
        VKR_TRY(vkr_item_semantics_check(ds, cfg->item_views, cfg->semantics));
        VKR_TRY(vkr_item_views_host_make(cfg->semantics, ds->item_count, cfg->item_views, &m->views_host));
    }
    vkr_sasrec_config sc = vkr_model_config(ds, cfg, cfg->eval_batch);
    vkr_status s = vkr_sasrec_build(&sc, false, cfg->seed, &m->score_graph);
    if (s == VKR_OK)
        s = vkr_exec_create(m->score_graph.graph, &(vkr_exec_options){.device = dev}, &m->score_exec);
    if (s == VKR_OK) s = vkr_exec_init_params(m->score_exec, cfg->seed);
    if (s == VKR_OK) s = vkr_sasrec_write_consts(m->score_exec, &m->score_graph, &m->views_host);
    if (s != VKR_OK) vkr_sasrec_model_free(m);
    return s;
}

vkr_status vkr_sasrec_load(vkr_sasrec_model* m, const char* path) {
    if (!m || !m->score_exec || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_load: no model or path");
    return vkr_exec_load(m->score_exec, path);
}

vkr_status vkr_sasrec_fit(const vkr_dataset* ds, vkr_device* dev, const vkr_sasrec_train* cfg, vkr_sasrec_model* m) {
    VKR_TRY(vkr_sasrec_open(ds, dev, cfg, m));
    uint32_t d = cfg->domain;
    vkr_sasrec_job j = {.m = m};
    /* training users: someone with at least one labelled position */
    j.users = malloc((size_t)ds->user_count * sizeof *j.users);
    j.lens = malloc((size_t)ds->user_count * sizeof *j.lens);
    uint32_t n_users = 0;
    vkr_status s = j.users && j.lens ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing users");
    /* a training user's row has a labelled position: an event after the first that is a label (as in vkr_fill_row) */
    uint32_t* scratch = malloc(((size_t)vkr_dataset_longest(ds) + 1) * sizeof *scratch);
    if (s == VKR_OK && !scratch) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing users");
    for (uint32_t u = 0; s == VKR_OK && u < ds->user_count; u++) {
        uint32_t n_ev = vkr_sasrec_row_events(ds, cfg, u, ds->train_len[u], scratch);
        bool ok = false;
        for (uint32_t k = 1; k < n_ev && !ok; k++) ok = cfg->train_domains || vkr_in_domain(ds, scratch[k], d);
        if (!ok) continue;
        j.lens[n_users] = n_ev - 1 < cfg->max_len ? n_ev - 1 : cfg->max_len; /* real positions, as vkr_fill_row */
        for (uint32_t k = n_ev - j.lens[n_users]; k < n_ev; k++) /* the labels of those positions */
            j.per_user += cfg->train_domains || vkr_in_domain(ds, scratch[k], d);
        j.users[n_users++] = u;
    }
    free(scratch);
    if (s == VKR_OK && n_users == 0)
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: no user has training interactions in %s %s",
                     cfg->train_domains ? "the training domains, e.g." : "domain", ds->domain_name[d]);
    j.per_user /= n_users ? n_users : 1;
    if (s == VKR_OK) s = vkr_fit_rank_batch(cfg->batch, "SASRec", &j.rows);
    vkr_sasrec_config mc = vkr_model_config(ds, cfg, j.rows);
    if (s == VKR_OK) s = vkr_sasrec_build(&mc, true, cfg->seed, &j.train);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = cfg->lr}, .beta1 = 0.9f, .beta2 = 0.98f,
                           .eps = 1e-8f};
    float lr_mult[2] = {1.0f, cfg->semantic_lr > 0 && cfg->lr > 0 ? cfg->semantic_lr / cfg->lr : 1.0f};
    if (s == VKR_OK)
        s = vkr_exec_create(j.train.graph,
                            &(vkr_exec_options){.device = dev, .optimizer = &oc, .training = true, .group_count = 2,
                                                .group_lr_mult = lr_mult},
                            &j.tex);
    if (s == VKR_OK) s = vkr_exec_init_params(j.tex, cfg->seed);
    if (s == VKR_OK) s = vkr_sasrec_train_consts(&j, j.tex, &j.train);
    if (s == VKR_OK)
        s = vkr_sasrec_buckets_init(&mc, cfg->seed, dev, cfg->buckets, &j.train, j.tex, vkr_sasrec_train_consts, &j,
                                    &j.buckets);
    if (s == VKR_OK && j.train.contrast) {
        uint32_t M = (uint32_t)j.train.contrast->numel, n_pool = ds->item_begin[d + 1] - ds->item_begin[d];
        j.pool = malloc((size_t)n_pool * sizeof *j.pool);
        j.drawn = malloc((size_t)M * sizeof *j.drawn);
        j.mask = malloc((size_t)M * M * sizeof *j.mask);
        if (!j.pool || !j.drawn || !j.mask) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        for (uint32_t i = 0; s == VKR_OK && i < n_pool; i++) j.pool[i] = ds->item_begin[d] + i + 1;
    }
    if (s == VKR_OK && j.train.align_src) s = vkr_sasrec_align_setup(&j);
    if (s == VKR_OK) s = vkr_batch_alloc(&j.bt, j.rows, cfg->max_len, vkr_dataset_longest(ds));
    vkr_fit_model fm = {.self = &j, .units = n_users, .batch = j.rows, .step = vkr_sasrec_step,
                        .validate = vkr_sasrec_validate, .train_exec = j.tex, .score_exec = m->score_exec,
                        .score_graph = m->score_graph.graph,
                        /* batches of similar lengths, so most of them fit a short bucket */
                        .unit_len = j.buckets.count > 1 ? j.lens : NULL};
    vkr_fit_options fo = {.epochs = cfg->epochs, .patience = cfg->patience, .seed = cfg->seed, .ckpt_dir = cfg->ckpt_dir,
                          .resume = cfg->resume, .quiet = cfg->quiet, .metadata = cfg->metadata};
    if (s == VKR_OK) s = vkr_fit(&fm, &fo, &m->fit);
    vkr_batch_free(&j.bt);
    vkr_sasrec_buckets_free(&j.buckets);
    vkr_exec_destroy(j.tex);
    vkr_sasrec_destroy(&j.train);
    free(j.users);
    free(j.lens);
    free(j.pool);
    free(j.drawn);
    free(j.mask);
    free(j.src_pool);
    free(j.tgt_pool);
    free(j.align_ids);
    free(j.align_p);
    free(j.align_norm);
    if (s != VKR_OK) vkr_sasrec_model_free(m);
    return s;
}

void vkr_sasrec_model_free(vkr_sasrec_model* m) {
    if (!m) return;
    vkr_exec_destroy(m->score_exec);
    vkr_sasrec_destroy(&m->score_graph);
    vkr_fit_report_free(&m->fit);
    vkr_item_views_host_free(&m->views_host);
    memset(m, 0, sizeof *m);
}
