/* SemaCDR on the shared training loop (vkr_fit.h): training examples, the three history windows,
 * BPR negatives, contrastive samples, the constants both executors hold (text, categories, graphs),
 * validation and scoring (vkr_semacdr.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_cdgraph.h"
#include "vkr_exec.h"
#include "vkr_fit.h"
#include "vkr_rng.h"
#include "vkr_semacdr_internal.h"

void vkr_semacdr_train_defaults(vkr_semacdr_train* t) {
    *t = (vkr_semacdr_train){.views = VKR_ITEM_VIEW_ID | VKR_ITEM_VIEW_INNER | VKR_ITEM_VIEW_AGNOSTIC,
                             .graph = true, .cross_fusion = true, .adaptive_fusion = true, .softmax = true,
                             .lambda = 0.1f,
                             .tau = 0.07f, .contrast_items = 256, .leaky_slope = 0.2f, .max_len = 20, .batch = 256,
                             .hidden = 64, .blocks = 2, .heads = 1, .dropout = 0.2f, .lr = 1e-3f,
                             .semantic_lr = 3e-4f, .epochs = 20, .patience = 3, .seed = 42, .eval_batch = 256};
}

/* Host side of a model: constants, staging and the scoring executor. */
typedef struct vkr_semacdr_state {
    vkr_device* dev;
    vkr_semacdr_shape shape;
    vkr_semacdr_graph score;  /* scoring graph (batch eval_batch) */
    vkr_exec* score_exec;     /* holds the best parameters */
    vkr_item_views_host views; /* padded item inputs */
    vkr_csr item_graph, mixed_graph;
    int32_t* rows[6];         /* staging: seq and mask of source, target, mixed [B x T] */
    int32_t *user, *pos, *neg, *contrast[2];
    float* contrast_mask;      /* [M x M] */
    float* user_norm;          /* [B] */
    uint32_t* hist;           /* scratch: a user's events */
} vkr_semacdr_state;

static bool sema_in(const vkr_dataset* ds, uint32_t item, uint32_t d) {
    return item >= ds->item_begin[d] && item < ds->item_begin[d + 1];
}

vkr_status vkr_semacdr_check_items(const vkr_dataset* ds, const vkr_semacdr_train* c, const vkr_item_semantics* it) {
    if (!ds || !c) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: no dataset or settings");
    if (ds->domain_count < 2)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR needs a source and a target domain; the dataset has %u domain",
                        ds->domain_count);
    if (c->domain >= ds->domain_count) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: target domain out of range");
    vkr_status s = vkr_item_semantics_check(ds, c->views, it);
    return s == VKR_OK ? VKR_OK : vkr_fail_context(s, "SemaCDR: ");
}

/* ---- host constants ---- */

static vkr_status sema_state_init(vkr_semacdr_state* st, const vkr_dataset* ds, const vkr_semacdr_train* c,
                                  const vkr_item_semantics* it) {
    uint32_t N = ds->item_count, d = c->domain;
    st->shape = (vkr_semacdr_shape){.items = N, .users = ds->user_count, .target_begin = ds->item_begin[d],
                                    .target_count = ds->item_begin[d + 1] - ds->item_begin[d]};
    VKR_TRY(vkr_item_views_host_make(it, N, c->views, &st->views));
    st->shape.text_dim = st->views.text_dim;
    if (c->views & VKR_ITEM_VIEW_AGNOSTIC) {
        st->shape.categories = it->categories;
        st->shape.subcategories = it->subcategories;
    }
    if (c->graph) {
        VKR_TRY(vkr_cdgraph_items(ds, VKR_CDGRAPH_ALL_DOMAINS, NULL, &st->item_graph));
        VKR_TRY(vkr_cdgraph_mixed(ds, NULL, &st->mixed_graph));
        st->shape.item_nnz = st->item_graph.nnz;
        st->shape.mixed_nnz = st->mixed_graph.nnz;
    }
    return VKR_OK;
}

/* Host staging for batches of up to `rows` examples (allocated once, with the model). */
static vkr_status sema_staging(vkr_semacdr_state* st, uint32_t rows, uint32_t T, uint32_t M, uint32_t longest) {
    bool ok = true;
    for (int k = 0; k < 6; k++) ok &= (st->rows[k] = malloc((size_t)rows * T * 4)) != NULL;
    ok &= (st->user = malloc((size_t)rows * 4)) != NULL;
    ok &= (st->user_norm = malloc((size_t)rows * 4)) != NULL;
    ok &= (st->pos = malloc((size_t)rows * 4)) != NULL;
    ok &= (st->neg = malloc((size_t)rows * 4)) != NULL;
    ok &= (st->hist = malloc(((size_t)longest + 1) * 4)) != NULL;
    for (int k = 0; k < 2; k++) ok &= (st->contrast[k] = malloc(((size_t)M + 1) * 4)) != NULL;
    ok &= (st->contrast_mask = malloc(((size_t)M * M + 1) * 4)) != NULL;
    if (!ok) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "SemaCDR: out of host memory for a batch");
    return VKR_OK;
}

/* Uploads the constants of graph m into exec. */
static vkr_status sema_write_consts(vkr_exec* ex, const vkr_semacdr_state* st, const vkr_semacdr_graph* m,
                                    const vkr_semacdr_train* c) {
    float zeros[1024] = {0};
    if (c->hidden > 1024) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: hidden %u above 1024", c->hidden);
    VKR_TRY(vkr_exec_write(ex, m->zero_row, zeros, 4ull * c->hidden));
    VKR_TRY(vkr_item_views_write(ex, &m->views, &st->views));
    if (c->graph) {
        VKR_TRY(vkr_exec_write_csr(ex, &m->item_graph, &st->item_graph));
        VKR_TRY(vkr_exec_write_csr(ex, &m->mixed_graph, &st->mixed_graph));
    }
    return VKR_OK;
}

/* ---- examples ---- */

/* Fills row b with the three windows of user u's events before position p. */
static void sema_fill(const vkr_dataset* ds, const vkr_semacdr_train* c, vkr_semacdr_state* st, uint32_t b, uint32_t u,
                      uint32_t p) {
    uint32_t T = c->max_len;
    const uint32_t* ev = ds->seq_item + ds->seq_begin[u];
    for (int k = 0; k < 3; k++) { /* 0 source, 1 target, 2 mixed */
        int32_t* seq = st->rows[2 * k] + (size_t)b * T;
        int32_t* mask = st->rows[2 * k + 1] + (size_t)b * T;
        uint32_t filled = 0;
        /* walk back from the newest event, right-aligned so the last position is the newest */
        for (uint32_t j = p; j-- > 0 && filled < T;) {
            bool in_target = sema_in(ds, ev[j], c->domain);
            if ((k == 0 && in_target) || (k == 1 && !in_target)) continue;
            filled++;
            seq[T - filled] = (int32_t)ev[j] + 1;
            mask[T - filled] = 1;
        }
        for (uint32_t t = 0; t < T - filled; t++) seq[t] = mask[t] = 0;
        if (k == 2) st->user_norm[b] = 1.0f / (1.0f + (float)filled);
    }
    st->user[b] = (int32_t)u;
}

static vkr_status sema_write_rows(vkr_exec* ex, const vkr_semacdr_graph* m, const vkr_semacdr_state* st, uint32_t B,
                                  uint32_t T) {
    for (int k = 0; k < 3; k++) {
        VKR_TRY(vkr_exec_write(ex, m->seq[k], st->rows[2 * k], 4ull * B * T));
        VKR_TRY(vkr_exec_write(ex, m->mask[k], st->rows[2 * k + 1], 4ull * B * T));
    }
    if (m->user_norm) VKR_TRY(vkr_exec_write(ex, m->user_norm, st->user_norm, 4ull * B));
    return vkr_exec_write(ex, m->user, st->user, 4ull * B);
}

/* ---- scoring ---- */

static vkr_status sema_score(void* self, const uint32_t* pairs, uint32_t n, float* scores) {
    vkr_semacdr_model* m = self;
    vkr_semacdr_state* st = m->state;
    uint32_t B = m->cfg.eval_batch, T = m->cfg.max_len, C = st->shape.target_count;
    for (uint32_t k = 0; k < B; k++) {
        uint32_t src = k < n ? k : 0; /* pad the batch by repeating the first example */
        sema_fill(m->ds, &m->cfg, st, k, pairs[2 * src], pairs[2 * src + 1]);
    }
    VKR_TRY(sema_write_rows(st->score_exec, &st->score, st, B, T));
    VKR_TRY(vkr_exec_run(st->score_exec));
    float* out = malloc((size_t)B * C * sizeof *out);
    if (!out) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "SemaCDR: out of host memory scoring");
    vkr_status s = vkr_exec_read(st->score_exec, st->score.scores, out, 4ull * B * C);
    if (s == VKR_OK) memcpy(scores, out, (size_t)n * C * sizeof *out);
    free(out);
    return s;
}

vkr_scorer vkr_semacdr_scorer(vkr_semacdr_model* m) {
    return (vkr_scorer){.self = m, .batch = m->cfg.eval_batch, .score = sema_score};
}

vkr_status vkr_semacdr_item_vectors(vkr_semacdr_model* m, float* out) {
    if (!m || !m->state || !out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semacdr_item_vectors: no model or output");
    vkr_semacdr_state* st = m->state;
    /* the item rows do not depend on the batch: score any one example and read them */
    uint32_t u = 0;
    while (u + 1 < m->ds->user_count && m->ds->train_len[u] == 0) u++;
    uint32_t pair[2] = {u, m->ds->train_len[u]};
    float* scratch = malloc((size_t)st->shape.target_count * sizeof *scratch);
    if (!scratch) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "SemaCDR: out of host memory");
    vkr_status s = sema_score(m, pair, 1, scratch);
    free(scratch);
    return s == VKR_OK ? vkr_exec_read(st->score_exec, st->score.item_out, out,
                                       4ull * st->shape.items * m->cfg.hidden)
                       : s;
}

/* ---- training ---- */

struct vkr_semacdr_trainer {
    vkr_semacdr_model* m;
    vkr_semacdr_graph train;
    vkr_exec* tex;
    uint32_t* examples;        /* (user, position) pairs */
    uint32_t contrast;         /* InfoNCE rows per side */
    uint32_t* side_items[2];   /* item ids + 1 of the target side and of the source side */
    uint32_t side_count[2];
    uint32_t n_examples;
    uint32_t rows;             /* training graph rows: this rank's share of --batch */
};
typedef vkr_semacdr_trainer sema_job;

static vkr_status sema_step(void* self, vkr_fit_step* fs) {
    sema_job* j = self;
    vkr_semacdr_state* st = j->m->state;
    const vkr_dataset* ds = j->m->ds;
    const vkr_semacdr_train* c = &j->m->cfg;
    const uint32_t* units = fs->units;
    uint32_t B = j->rows, T = c->max_len, n = fs->n;
    uint64_t rng_seed = fs->rng;
    fs->weight = B; /* the loss is a mean over the graph's rows */
    for (uint32_t k = 0; k < B; k++) {
        /* a short last batch repeats its examples: BPR has no ignore label */
        const uint32_t* ex = j->examples + 2 * (size_t)units[k % n];
        uint32_t u = ex[0], p = ex[1];
        sema_fill(ds, c, st, k, u, p);
        const uint32_t* evs = ds->seq_item + ds->seq_begin[u];
        uint32_t next = evs[p], h = 0;
        if (j->train.label) { /* softmax: the target's index among the candidates, no negative */
            st->pos[k] = (int32_t)(next - ds->item_begin[c->domain]);
            continue;
        }
        for (uint32_t i = 0; i < p; i++)
            if (sema_in(ds, evs[i], c->domain)) st->hist[h++] = evs[i];
        st->pos[k] = (int32_t)next + 1;
        st->neg[k] = (int32_t)vkr_sasrec_negative(ds, c->domain, st->hist, h, next, rng_seed, fs->row0 + k) + 1;
    }
    VKR_TRY(sema_write_rows(j->tex, &j->train, st, B, T));
    if (j->train.label) {
        VKR_TRY(vkr_exec_write(j->tex, j->train.label, st->pos, 4ull * B));
    } else {
        VKR_TRY(vkr_exec_write(j->tex, j->train.pos, st->pos, 4ull * B));
        VKR_TRY(vkr_exec_write(j->tex, j->train.neg, st->neg, 4ull * B));
    }
    if (j->train.contrast[0]) {
        vkr_rng rng = vkr_rng_make(rng_seed, 0x5e3acd7);
        for (int side = 0; side < 2; side++) {
            vkr_item_views_draw(j->side_items[side], j->side_count[side], j->contrast, &rng, st->contrast[side]);
            VKR_TRY(vkr_exec_write(j->tex, j->train.contrast[side], st->contrast[side], 4ull * j->contrast));
            if (!j->train.contrast_mask[side]) continue;
            vkr_item_views_mask(&st->views, st->contrast[side], j->contrast, st->contrast_mask);
            VKR_TRY(vkr_exec_write(j->tex, j->train.contrast_mask[side], st->contrast_mask,
                                   4ull * j->contrast * j->contrast));
        }
    }
    VKR_TRY(vkr_exec_run(j->tex));
    return fs->want_loss ? vkr_exec_read(j->tex, j->train.loss, &fs->loss, 4) : VKR_OK;
}

static vkr_status sema_validate(void* self, double* hr10) {
    sema_job* j = self;
    VKR_TRY(vkr_exec_copy_params(j->m->state->score_exec, j->tex));
    vkr_metrics vm;
    vkr_scorer scorer = vkr_semacdr_scorer(j->m);
    VKR_TRY(vkr_evaluate(j->m->ds, j->m->cfg.domain, j->m->ds->valid, j->m->ds->valid_count, &scorer,
                         &j->m->cfg.validate, &vm));
    *hr10 = vkr_metrics_means(&vm).hr10;
    return VKR_OK;
}

/* The training examples: every training event of the target domain after the user's first event. */
static vkr_status sema_examples(const vkr_dataset* ds, uint32_t d, uint32_t** out, uint32_t* count) {
    uint64_t n = 0;
    for (uint32_t u = 0; u < ds->user_count; u++)
        for (uint32_t p = 1; p < ds->train_len[u]; p++) n += sema_in(ds, ds->seq_item[ds->seq_begin[u] + p], d);
    if (n == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: no training event in domain %s follows another event",
                        ds->domain_name[d]);
    if (n > UINT32_MAX) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: %llu training examples exceed 2^32",
                                        (unsigned long long)n);
    *out = malloc(2 * n * sizeof **out);
    if (!*out) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "SemaCDR: out of host memory for the examples");
    uint64_t k = 0;
    for (uint32_t u = 0; u < ds->user_count; u++)
        for (uint32_t p = 1; p < ds->train_len[u]; p++)
            if (sema_in(ds, ds->seq_item[ds->seq_begin[u] + p], d)) (*out)[k++] = u, (*out)[k++] = p;
    *count = (uint32_t)n;
    return VKR_OK;
}

static vkr_status sema_sides(const vkr_dataset* ds, uint32_t d, sema_job* j) {
    uint32_t nt = ds->item_begin[d + 1] - ds->item_begin[d];
    j->side_count[0] = nt;
    j->side_count[1] = ds->item_count - nt;
    for (int s = 0; s < 2; s++)
        if (!(j->side_items[s] = malloc(((size_t)j->side_count[s] + 1) * sizeof *j->side_items[s])))
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "SemaCDR: out of host memory");
    uint32_t a = 0, b = 0;
    for (uint32_t i = 0; i < ds->item_count; i++) {
        if (sema_in(ds, i, d)) j->side_items[0][a++] = i + 1;
        else j->side_items[1][b++] = i + 1;
    }
    uint32_t smallest = j->side_count[0] < j->side_count[1] ? j->side_count[0] : j->side_count[1];
    j->contrast = j->m->cfg.contrast_items < smallest ? j->m->cfg.contrast_items : smallest;
    return VKR_OK;
}

static vkr_status sema_open(const vkr_dataset* ds, vkr_device* dev, const vkr_semacdr_train* cfg,
                            const vkr_item_semantics* items, vkr_semacdr_model* m) {
    memset(m, 0, sizeof *m);
    VKR_TRY(vkr_semacdr_check_items(ds, cfg, items));
    if (cfg->batch == 0 || cfg->max_len == 0 || cfg->eval_batch == 0 || cfg->hidden == 0 || !(cfg->tau > 0))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: batch, max_len, eval_batch, hidden and tau must be positive");
    m->ds = ds;
    m->cfg = *cfg;
    m->cfg.views |= VKR_ITEM_VIEW_ID;
    if (!(m->cfg.views & VKR_ITEM_VIEW_AGNOSTIC)) m->cfg.lambda = 0; /* nothing to align to */
    m->state = calloc(1, sizeof *m->state);
    if (!m->state) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "SemaCDR: out of host memory");
    vkr_semacdr_state* st = m->state;
    st->dev = dev;
    vkr_status s = sema_state_init(st, ds, &m->cfg, items);
    if (s == VKR_OK) s = sema_staging(st, cfg->eval_batch > cfg->batch ? cfg->eval_batch : cfg->batch, cfg->max_len,
                                      cfg->contrast_items, vkr_dataset_longest(ds));
    vkr_semacdr_shape sh = st->shape;
    sh.batch = cfg->eval_batch;
    if (s == VKR_OK) s = vkr_semacdr_build(&m->cfg, &sh, false, cfg->seed, &st->score);
    if (s == VKR_OK) s = vkr_exec_create(st->score.graph, &(vkr_exec_options){.device = dev}, &st->score_exec);
    if (s == VKR_OK) s = vkr_exec_init_params(st->score_exec, cfg->seed);
    if (s == VKR_OK) s = sema_write_consts(st->score_exec, st, &st->score, &m->cfg);
    return s;
}

vkr_status vkr_semacdr_open(const vkr_dataset* ds, vkr_device* dev, const vkr_semacdr_train* cfg,
                            const vkr_item_semantics* items, vkr_semacdr_model* m) {
    if (!m) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semacdr_open: out is NULL");
    vkr_status s = sema_open(ds, dev, cfg, items, m);
    if (s != VKR_OK) vkr_semacdr_model_free(m);
    return s;
}

vkr_status vkr_semacdr_load(vkr_semacdr_model* m, const char* path) {
    if (!m || !m->state || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semacdr_load: no model or path");
    return vkr_exec_load(m->state->score_exec, path);
}

vkr_status vkr_semacdr_trainer_create(const vkr_dataset* ds, vkr_device* dev, const vkr_semacdr_train* cfg,
                                      const vkr_item_semantics* items, vkr_semacdr_model* m, vkr_semacdr_trainer** out) {
    if (!m || !out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semacdr_trainer_create: no model or output");
    *out = NULL;
    VKR_TRY(sema_open(ds, dev, cfg, items, m));
    sema_job* j = calloc(1, sizeof *j);
    if (!j) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "SemaCDR: out of host memory");
    j->m = m;
    vkr_status s = sema_examples(ds, cfg->domain, &j->examples, &j->n_examples);
    if (s == VKR_OK) s = sema_sides(ds, cfg->domain, j);
    if (s == VKR_OK) s = vkr_fit_rank_batch(cfg->batch, "SemaCDR", &j->rows);
    vkr_semacdr_shape sh = m->state->shape;
    sh.batch = j->rows;
    sh.contrast = j->contrast;
    if (s == VKR_OK) s = vkr_semacdr_build(&m->cfg, &sh, true, cfg->seed, &j->train);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = cfg->lr}, .beta1 = 0.9f, .beta2 = 0.98f,
                           .eps = 1e-8f};
    float lr_mult[2] = {1.0f, cfg->lr > 0 ? cfg->semantic_lr / cfg->lr : 1.0f};
    if (s == VKR_OK)
        s = vkr_exec_create(j->train.graph,
                            &(vkr_exec_options){.device = dev, .optimizer = &oc, .training = true, .group_count = 2,
                                                .group_lr_mult = lr_mult},
                            &j->tex);
    if (s == VKR_OK) s = vkr_exec_init_params(j->tex, cfg->seed);
    if (s == VKR_OK) s = sema_write_consts(j->tex, m->state, &j->train, &m->cfg);
    if (s == VKR_OK) *out = j;
    else vkr_semacdr_trainer_destroy(j);
    return s;
}

uint32_t vkr_semacdr_trainer_examples(const vkr_semacdr_trainer* t) { return t ? t->n_examples : 0; }

vkr_status vkr_semacdr_trainer_step(vkr_semacdr_trainer* t, const uint32_t* units, uint32_t n, uint64_t seed) {
    if (!t || !units || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semacdr_trainer_step: nothing to train");
    for (uint32_t k = 0; k < n; k++)
        if (units[k] >= t->n_examples)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: example %u of %u", units[k], t->n_examples);
    vkr_fit_step st = {.units = units, .n = n, .rng = seed};
    return sema_step(t, &st);
}

void vkr_semacdr_trainer_destroy(vkr_semacdr_trainer* j) {
    if (!j) return;
    vkr_exec_destroy(j->tex);
    vkr_semacdr_graph_destroy(&j->train);
    free(j->examples);
    free(j->side_items[0]);
    free(j->side_items[1]);
    free(j);
}

vkr_status vkr_semacdr_fit(const vkr_dataset* ds, vkr_device* dev, const vkr_semacdr_train* cfg,
                           const vkr_item_semantics* items, vkr_semacdr_model* m) {
    if (!m) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semacdr_fit: out is NULL");
    sema_job* j = NULL;
    vkr_status s = vkr_semacdr_trainer_create(ds, dev, cfg, items, m, &j);
    if (s == VKR_OK) {
        vkr_fit_model fm = {.self = j, .units = j->n_examples, .batch = j->rows, .step = sema_step,
                            .validate = sema_validate, .train_exec = j->tex, .score_exec = m->state->score_exec,
                            .score_graph = m->state->score.graph};
        vkr_fit_options fo = {.epochs = cfg->epochs, .patience = cfg->patience, .seed = cfg->seed,
                              .ckpt_dir = cfg->ckpt_dir, .resume = cfg->resume, .quiet = cfg->quiet,
                              .metadata = cfg->metadata};
        s = vkr_fit(&fm, &fo, &m->fit);
    }
    vkr_semacdr_trainer_destroy(j);
    if (s != VKR_OK) vkr_semacdr_model_free(m);
    return s;
}

void vkr_semacdr_model_free(vkr_semacdr_model* m) {
    if (!m) return;
    vkr_semacdr_state* st = m->state;
    if (st) {
        vkr_exec_destroy(st->score_exec);
        vkr_semacdr_graph_destroy(&st->score);
        vkr_item_views_host_free(&st->views);
        vkr_csr_free(&st->item_graph);
        vkr_csr_free(&st->mixed_graph);
        for (int k = 0; k < 6; k++) free(st->rows[k]);
        free(st->user), free(st->user_norm), free(st->pos), free(st->neg), free(st->hist);
        free(st->contrast_mask);
        free(st->contrast[0]), free(st->contrast[1]);
        free(st);
    }
    vkr_fit_report_free(&m->fit);
    memset(m, 0, sizeof *m);
}
