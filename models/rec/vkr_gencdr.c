/* GenCDR's lifecycle (open, load, fit, free), its training step and validation, and the item
 * vectors read out of its input layer. The graphs are built in vkr_gencdr_graph.c, sampled scoring
 * runs in vkr_gencdr_score.c and the beam-search decode in vkr_gencdr_decode.c. */
#include "vkr_gencdr.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_beam.h"
#include "vkr_fit.h"
#include "vkr_gencdr_internal.h"
#include "vkr_npy.h"
#include "vkr_rng.h"

void vkr_gencdr_train_defaults(vkr_gencdr_train* t) {
    *t = (vkr_gencdr_train){.max_len = 20, .batch = 64, .hidden = 64, .blocks = 2, .heads = 2, .lora_rank = 8,
                            .item_ids = true, .dropout = 0.1f, .lr = 2e-3f, .epochs = 20, .patience = 3, .seed = 42,
                            .eval_users = 64, .candidates = 101, .beam = 20, .view_lambda = 0.1f, .view_tau = 0.07f,
                            .contrast = 256, .task_weight = 1.0f};
}

/* Codebook sizes per ID level from tokenize's DIR/tokenizer.json ("token_vocab"); *out_levels is 0
 * when the file is absent (IDs made elsewhere: nothing to check them against). */
static vkr_status gencdr_token_vocab(const char* dir, uint32_t* vocab, uint32_t* out_levels) {
    *out_levels = 0;
    char path[1100];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (access(path, F_OK) != 0) return VKR_OK;
    vkr_source src;
    VKR_TRY(vkr_source_open_file(path, &src));
    uint64_t size = src.size;
    char* text = size < (16u << 20) ? malloc((size_t)size + 1) : NULL;
    vkr_status s = text ? vkr_source_read(&src, 0, text, size)
                        : vkr_fail(VKR_ERR_IO, "cannot read %s (%llu bytes)", path, (unsigned long long)size);
    vkr_source_close(&src);
    cJSON* j = NULL;
    if (s == VKR_OK) {
        text[size] = 0;
        j = cJSON_Parse(text);
    }
    const cJSON* v = cJSON_GetObjectItem(j, "token_vocab");
    int n = cJSON_GetArraySize(v);
    if (s == VKR_OK && (!cJSON_IsArray(v) || n < 1 || n > VKR_GENCDR_MAX_DEPTH))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: expected JSON with \"token_vocab\", a list of 1..%d codebook sizes", path,
                     VKR_GENCDR_MAX_DEPTH);
    for (int l = 0; s == VKR_OK && l < n; l++) {
        double k = cJSON_GetArrayItem(v, l)->valuedouble;
        if (!cJSON_IsNumber(cJSON_GetArrayItem(v, l)) || !(k >= 1 && k <= 65536) || k != (uint32_t)k)
            s = vkr_fail(VKR_ERR_FORMAT, "%s: token_vocab[%d] is not a codebook size in 1..65536", path, l);
        else vocab[l] = (uint32_t)k;
    }
    if (s == VKR_OK) *out_levels = (uint32_t)n;
    cJSON_Delete(j);
    free(text);
    return s;
}

/* An out-of-range code would widen the model's vocabulary and train on a token no tokenizer can produce. */
vkr_status vkr_gencdr_check_codes(const char* dir, const vkr_dataset* ds, const uint16_t* ids, uint32_t depth) {
    char path[1100];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", dir);
    uint32_t vocab[VKR_GENCDR_MAX_DEPTH], levels = 0;
    VKR_TRY(gencdr_token_vocab(dir, vocab, &levels));
    if (levels == 0) return VKR_OK;
    if (levels != depth)
        return vkr_fail(VKR_ERR_FORMAT, "%s has %u tokens per item but %s/tokenizer.json lists %u codebooks (the two "
                        "files come from different tokenize runs)", path, depth, dir, levels);
    for (uint32_t i = 0; i < ds->item_count; i++)
        for (uint32_t l = 0; l < depth; l++)
            if (ids[(size_t)i * depth + l] >= vocab[l])
                return vkr_fail(VKR_ERR_FORMAT, "%s: item %u ('%s') has code %u at level %u (from 1), outside the "
                                "tokenizer's %u codes of that level (%s/tokenizer.json)", path, i,
                                vkr_strtab_get(&ds->item_key, i), ids[(size_t)i * depth + l], l + 1, vocab[l], dir);
    return VKR_OK;
}

vkr_status vkr_gencdr_load_ids(const char* dir, const vkr_dataset* ds, uint16_t** out_ids, uint32_t* out_depth) {
    *out_ids = NULL;
    *out_depth = 0;
    char path[1100];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", dir);
    vkr_npy_array a;
    VKR_TRY(vkr_npy_load(path, &a));
    vkr_status s = VKR_OK;
    if (a.dtype != VKR_ELEM_U16 || a.ndim != 2 || a.shape[0] != ds->item_count || a.shape[1] == 0 ||
        a.shape[1] > VKR_GENCDR_MAX_DEPTH)
        s = vkr_fail(VKR_ERR_FORMAT, "%s: expected uint16 [%u, 1..%d], found a %u-dim %s array", path, ds->item_count,
                     VKR_GENCDR_MAX_DEPTH, a.ndim, vkr_elem_name(a.dtype));
    if (s == VKR_OK) s = vkr_gencdr_check_codes(dir, ds, a.data, (uint32_t)a.shape[1]);
    if (s == VKR_OK) {
        *out_ids = a.data;
        *out_depth = (uint32_t)a.shape[1];
        a.data = NULL;
    }
    vkr_npy_free(&a);
    return s;
}

/* ---- training -------------------------------------------------------------------------------- */

struct vkr_gencdr_trainer {
    vkr_gencdr_model* m;    /* the model whose scoring parameters validation refreshes */
    vkr_gencdr_graph train; /* training graph (loss, backward) */
    vkr_exec* tex;          /* its executor with the optimizer */
    vkr_gencdr_host h;      /* batch buffers */
    uint32_t* users;        /* training units: users with at least two training events */
    uint32_t n_users;       /* their count */
    uint32_t* pool;         /* the views' InfoNCE: every item id + 1 (permuted by the draws) */
    int32_t* drawn;         /* one step's draw */
    uint32_t* text_items;   /* the text tasks draw from the items with a text vector */
    uint32_t n_text_items;  /* their count */
    uint32_t* kept;         /* zero-shot training: one user's events in cfg.history_domains */
};

/* The first `end` events of user u, or with cfg.history_domains those of its domains, into out;
 * returns the count (out is the dataset's own array without history_domains). */
static uint32_t gencdr_user_events(const vkr_gencdr_model* m, uint32_t u, uint32_t end, uint32_t* scratch,
                                   const uint32_t** out) {
    const uint32_t* ev = m->ds->seq_item + m->ds->seq_begin[u];
    uint32_t keep = m->cfg.history_domains, n = 0;
    *out = keep ? scratch : ev;
    if (!keep) return end;
    for (uint32_t k = 0; k < end; k++)
        if ((keep >> m->ds->item_domain[ev[k]]) & 1u) scratch[n++] = ev[k];
    return n;
}

/* Item it's code at level l as a task label (code) and the decoder's next input (tok). */
static void gencdr_task_id(const vkr_gencdr_model* m, uint32_t it, uint32_t b, int32_t* const* code,
                           int32_t* const* tok) {
    for (uint32_t l = 0; l < m->depth; l++) {
        uint16_t c = m->ids[(size_t)it * m->depth + l];
        code[l][b] = c;
        if (tok[l]) tok[l][b] = (int32_t)(m->offset[l] + c);
    }
}

/* All of item it's tokens into row b of ids [B, depth]. */
static void gencdr_task_tokens(const vkr_gencdr_model* m, uint32_t it, uint32_t b, int32_t* ids) {
    for (uint32_t l = 0; l < m->depth; l++)
        ids[(size_t)b * m->depth + l] = (int32_t)(m->offset[l] + m->ids[(size_t)it * m->depth + l]);
}

/* The training tasks' rows of one step: B items with text for the text tasks, B transitions (an item
 * and the one after it in a training user's sequence) for the collaborative one. */
static vkr_status gencdr_task_batch(vkr_gencdr_trainer* j, uint64_t seed) {
    const vkr_gencdr_model* m = j->m;
    const vkr_gencdr_graph* gg = &j->train;
    vkr_gencdr_host* h = &j->h;
    const uint32_t B = gg->rows;
    vkr_rng r = vkr_rng_make(seed, 0x7a5c);
    for (uint32_t b = 0; gg->task_item && b < B; b++) {
        uint32_t it = j->text_items[vkr_rng_next_below(&r, j->n_text_items)];
        h->task_item[b] = (int32_t)it + 1;
        if (gg->task_code[0]) gencdr_task_id(m, it, b, h->task_code, h->task_tok);
        if (gg->task_ids) gencdr_task_tokens(m, it, b, h->task_ids);
    }
    for (uint32_t b = 0; gg->collab_src && b < B; b++) {
        uint32_t u = j->users[vkr_rng_next_below(&r, j->n_users)];
        const uint32_t* ev = m->ds->seq_item + m->ds->seq_begin[u];
        uint32_t p = (uint32_t)vkr_rng_next_below(&r, m->ds->train_len[u] - 1);
        gencdr_task_tokens(m, ev[p], b, h->collab_src);
        gencdr_task_id(m, ev[p + 1], b, h->collab_code, h->collab_tok);
    }
    if (gg->task_item) VKR_TRY(vkr_gencdr_write(j->tex, gg->task_item, h->task_item));
    if (gg->task_ids) VKR_TRY(vkr_gencdr_write(j->tex, gg->task_ids, h->task_ids));
    if (gg->collab_src) VKR_TRY(vkr_gencdr_write(j->tex, gg->collab_src, h->collab_src));
    for (uint32_t l = 0; l < m->depth; l++) {
        if (gg->task_code[l]) VKR_TRY(vkr_gencdr_write(j->tex, gg->task_code[l], h->task_code[l]));
        if (gg->task_tok[l]) VKR_TRY(vkr_gencdr_write(j->tex, gg->task_tok[l], h->task_tok[l]));
        if (gg->collab_code[l]) VKR_TRY(vkr_gencdr_write(j->tex, gg->collab_code[l], h->collab_code[l]));
        if (gg->collab_tok[l]) VKR_TRY(vkr_gencdr_write(j->tex, gg->collab_tok[l], h->collab_tok[l]));
    }
    return VKR_OK;
}

static vkr_status gencdr_step(void* self, vkr_fit_step* st) {
    vkr_gencdr_trainer* j = self;
    uint32_t n = st->n;
    const uint32_t* units = st->units;
    uint64_t rng = st->rng;
    uint64_t labelled = 0;
    const vkr_gencdr_model* m = j->m;
    const vkr_dataset* ds = m->ds;
    uint32_t B = j->train.rows, T = m->cfg.max_len, nd = ds->domain_count;
    vkr_gencdr_host* h = &j->h;
    memset(h->onehot, 0, (size_t)B * T * nd * 4);
    for (uint32_t b = 0; b < B; b++) {
        uint32_t len = 0;
        const uint32_t* ev = NULL;
        if (b < n) {
            uint32_t u = j->users[units[b]];
            len = gencdr_user_events(m, u, ds->train_len[u], j->kept, &ev);
        }
        /* inputs: events [0, len-1); labels: the event after each input position */
        uint32_t n_in = len ? len - 1 : 0;
        vkr_gencdr_fill_history(m, h, b, ev, n_in);
        uint32_t first = n_in > T ? n_in - T : 0, pad = T - (n_in - first);
        for (uint32_t k = 0; k < T; k++) {
            size_t o = (size_t)b * T + k;
            bool real = k >= pad;
            uint32_t next = real ? ev[first + k - pad + 1] : 0;
            h->out_dom[o] = real ? (int32_t)ds->item_domain[next] + 1 : 0;
            h->next_item[o] = real ? (int32_t)next : -1;
            if (real) h->onehot[o * nd + ds->item_domain[next]] = 1.0f;
            labelled += real;
            for (uint32_t l = 0; l < m->depth; l++) {
                uint16_t code = real ? m->ids[(size_t)next * m->depth + l] : 0;
                h->code[l][o] = real ? code : -1;
                h->tok[l][o] = real ? (int32_t)(m->offset[l] + code) : 0;
            }
        }
    }
    const vkr_gencdr_graph* gg = &j->train;
    VKR_TRY(vkr_gencdr_write_inputs(j->tex, &gg->in, h));
    if (gg->next_item) VKR_TRY(vkr_gencdr_write(j->tex, gg->next_item, h->next_item));
    for (uint32_t l = 0; l < m->depth; l++) {
        VKR_TRY(vkr_gencdr_write(j->tex, gg->code[l], h->code[l]));
        if (gg->tok[l]) VKR_TRY(vkr_gencdr_write(j->tex, gg->tok[l], h->tok[l]));
    }
    if (gg->contrast) {
        vkr_rng r = vkr_rng_make(rng, 0x91e3c0d);
        vkr_item_views_draw(j->pool, ds->item_count, (uint32_t)gg->contrast->numel, &r, j->drawn);
        VKR_TRY(vkr_gencdr_write(j->tex, gg->contrast, j->drawn));
    }
    if (m->cfg.tasks) VKR_TRY(gencdr_task_batch(j, rng));
    st->weight = (double)labelled; /* the next-item losses are means over the labelled positions */
    VKR_TRY(vkr_exec_run(j->tex));
    return st->want_loss ? vkr_exec_read(j->tex, gg->loss, &st->loss, 4) : VKR_OK;
}

/* Validation HR@10 averaged over domains: full ranking by beam search when the model has one (what
 * the full protocol reports, and cheaper than scoring 101 candidates per user), else sampled:100. */
static vkr_status gencdr_validate(void* self, double* hr10) {
    vkr_gencdr_trainer* j = self;
    vkr_gencdr_model* m = j->m;
    vkr_gencdr_scoring* sc = m->score;
    VKR_TRY(vkr_exec_copy_params(sc->ex, j->tex));
    if (m->beam) VKR_TRY(vkr_gencdr_beam_sync(m));
    vkr_protocol pr;
    VKR_TRY(vkr_protocol_parse(m->beam ? "full" : "sampled:100", &pr));
    double sum = 0;
    uint32_t counted = 0;
    for (uint32_t d = 0; d < m->ds->domain_count; d++) {
        if (m->cfg.history_domains && !((m->cfg.history_domains >> d) & 1u)) continue; /* zero-shot: sources only */
        counted++;
        vkr_metrics vm;
        vkr_scorer s = vkr_gencdr_scorer(m, d);
        VKR_TRY(vkr_evaluate(m->ds, d, m->ds->valid, m->ds->valid_count, &s, &pr, &vm));
        sum += vkr_metrics_means(&vm).hr10;
    }
    *hr10 = counted ? sum / counted : 0;
    return VKR_OK;
}

vkr_status vkr_gencdr_open(const vkr_dataset* ds, vkr_device* dev, const uint16_t* ids, uint32_t depth,
                           const vkr_gencdr_train* cfg, vkr_gencdr_model* m) {
    memset(m, 0, sizeof *m);
    if (!ds || !ids || !cfg || depth == 0 || depth > VKR_GENCDR_MAX_DEPTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: bad dataset, semantic IDs or depth %u", depth);
    if (cfg->batch == 0 || cfg->max_len == 0 || cfg->hidden == 0 || cfg->heads == 0 || cfg->hidden % cfg->heads ||
        cfg->eval_users == 0 || cfg->candidates < 2)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: batch, max_len, hidden (divisible by heads), eval_users "
                        "must be positive and candidates >= 2");
    if (cfg->beam > VKR_BEAM_MAX_WIDTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: beam width %u exceeds %u", cfg->beam, VKR_BEAM_MAX_WIDTH);
    m->ds = ds;
    m->cfg = *cfg;
    m->dev = dev;
    m->depth = depth;
    const uint32_t text_tasks = VKR_GENCDR_TASK_ITEM2INDEX | VKR_GENCDR_TASK_INDEX2ITEM;
    if (cfg->tasks & ~(text_tasks | VKR_GENCDR_TASK_COLLAB))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: unknown task bits 0x%x", cfg->tasks);
    if (cfg->tasks && !(cfg->task_weight >= 0 && isfinite(cfg->task_weight)))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: the task weight must be finite and >= 0");
    /* the text tasks read the views' padded text: the inner view's input, with or without that view */
    const uint32_t host_views = cfg->item_views | (cfg->tasks & text_tasks ? VKR_ITEM_VIEW_INNER : 0);
    if (cfg->tasks & text_tasks) {
        vkr_status s = vkr_item_semantics_check(ds, VKR_ITEM_VIEW_INNER, cfg->semantics);
        if (s != VKR_OK) return vkr_fail_context(s, "GenCDR's item2index / index2item tasks: ");
    }
    if (cfg->item_views & ~VKR_ITEM_VIEW_ID) {
        if (!cfg->item_ids)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: the item views add to the per-item embedding, which "
                            "the model has not (item_ids off, --codes-only)");
        if (!(cfg->view_tau > 0)) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: the views' tau must be positive");
        vkr_status s = vkr_item_semantics_check(ds, cfg->item_views, cfg->semantics);
        if (s != VKR_OK) return vkr_fail_context(s, "GenCDR: ");
    }
    if (host_views & ~VKR_ITEM_VIEW_ID) {
        vkr_status s = vkr_item_views_host_make(cfg->semantics, ds->item_count, host_views, &m->views_host);
        if (s != VKR_OK) return vkr_fail_context(s, "GenCDR: ");
    }
    m->ids = malloc((size_t)ds->item_count * depth * sizeof *m->ids);
    if (!m->ids) {
        vkr_item_views_host_free(&m->views_host);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for semantic IDs");
    }
    memcpy(m->ids, ids, (size_t)ds->item_count * depth * sizeof *m->ids);
    for (uint32_t l = 0; l < depth; l++) {
        uint32_t mx = 0;
        for (uint32_t i = 0; i < ds->item_count; i++)
            if (ids[(size_t)i * depth + l] > mx) mx = ids[(size_t)i * depth + l];
        m->vocab[l] = mx + 1;
        m->offset[l] = l ? m->offset[l - 1] + m->vocab[l - 1] : 1; /* token 0 is padding */
    }
    uint32_t longest = vkr_dataset_longest(ds);
    vkr_status s = vkr_gencdr_scoring_create(m, longest);
    if (s == VKR_OK && cfg->beam) s = vkr_gencdr_beam_init(m, cfg->beam, longest);
    if (s == VKR_OK && cfg->beam) s = vkr_gencdr_beam_sync(m);
    if (s != VKR_OK) vkr_gencdr_model_free(m);
    return s;
}

void vkr_gencdr_trainer_destroy(vkr_gencdr_trainer* j) {
    if (!j) return;
    vkr_gencdr_host_free(&j->h, j->m->depth);
    vkr_exec_destroy(j->tex);
    vkr_graph_destroy(j->train.g);
    free(j->users);
    free(j->pool);
    free(j->drawn);
    free(j->text_items);
    free(j->kept);
    free(j);
}

vkr_status vkr_gencdr_trainer_create(vkr_gencdr_model* m, vkr_gencdr_trainer** out) {
    *out = NULL;
    if (!m || !m->score) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_trainer_create: no opened model");
    const vkr_dataset* ds = m->ds;
    const vkr_gencdr_train* cfg = &m->cfg;
    vkr_gencdr_trainer* j = calloc(1, sizeof *j);
    if (!j) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for a GenCDR trainer");
    j->m = m;
    j->users = malloc((size_t)ds->user_count * sizeof *j->users);
    vkr_status s = j->users ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing users");
    j->kept = malloc(((size_t)vkr_dataset_longest(ds) + 1) * sizeof *j->kept);
    if (s == VKR_OK && !j->kept) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing users");
    if (s == VKR_OK && cfg->history_domains && (cfg->item_ids || cfg->tasks))
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR zero-shot training takes the codes alone (no per-item embedding) "
                     "and next-item prediction alone (no --tasks)");
    for (uint32_t u = 0; s == VKR_OK && u < ds->user_count; u++) {
        const uint32_t* ev;
        if (gencdr_user_events(m, u, ds->train_len[u], j->kept, &ev) >= 2) j->users[j->n_users++] = u;
    }
    if (s == VKR_OK && !j->n_users) s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: no user has two training events");
    uint32_t rows = 0;
    if (s == VKR_OK) s = vkr_fit_rank_batch(cfg->batch, "GenCDR", &rows);
    if (s == VKR_OK) s = vkr_gencdr_build(m, true, rows, 1, &j->train);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAMW, .schedule = {.peak_lr = cfg->lr}, .beta1 = 0.9f, .beta2 = 0.98f,
                           .eps = 1e-8f, .weight_decay = 0.01f, .clip_norm = 1.0f};
    if (s == VKR_OK)
        s = vkr_exec_create(j->train.g, &(vkr_exec_options){.device = m->dev, .optimizer = &oc, .training = true},
                            &j->tex);
    if (s == VKR_OK) s = vkr_exec_init_params(j->tex, cfg->seed);
    if (s == VKR_OK) s = vkr_item_views_write(j->tex, &j->train.in.views, &m->views_host);
    if (s == VKR_OK && j->train.task_text) s = vkr_gencdr_write(j->tex, j->train.task_text, m->views_host.text);
    if (s == VKR_OK && j->train.task_item) { /* the items whose text vector is not all zero */
        const uint32_t td = m->views_host.text_dim;
        j->text_items = malloc((size_t)ds->item_count * sizeof *j->text_items);
        if (!j->text_items) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing items");
        for (uint32_t i = 0; s == VKR_OK && i < ds->item_count; i++) {
            const float* row = m->views_host.text + (size_t)(i + 1) * td;
            bool any = false;
            for (uint32_t k = 0; k < td && !any; k++) any = row[k] != 0;
            if (any) j->text_items[j->n_text_items++] = i;
        }
        if (s == VKR_OK && !j->n_text_items)
            s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: the item2index / index2item tasks need items with a text "
                         "vector, and every item's is all zero");
    }
    if (s == VKR_OK) s = vkr_gencdr_host_alloc(&j->h, m, &j->train, true, vkr_dataset_longest(ds));
    if (s == VKR_OK && j->train.contrast) {
        j->pool = malloc((size_t)ds->item_count * sizeof *j->pool);
        j->drawn = malloc((size_t)j->train.contrast->numel * sizeof *j->drawn);
        if (!j->pool || !j->drawn) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the InfoNCE items");
        for (uint32_t i = 0; s == VKR_OK && i < ds->item_count; i++) j->pool[i] = i + 1;
    }
    if (s != VKR_OK) {
        vkr_gencdr_trainer_destroy(j);
        return s;
    }
    *out = j;
    return VKR_OK;
}

uint32_t vkr_gencdr_trainer_units(const vkr_gencdr_trainer* t) { return t ? t->n_users : 0; }

vkr_status vkr_gencdr_trainer_step(vkr_gencdr_trainer* t, const uint32_t* units, uint32_t n, float* loss) {
    if (!t || !units || n == 0 || n > t->train.rows)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_trainer_step: 1..%u units expected, %u given",
                        t ? t->train.rows : 0, n);
    for (uint32_t k = 0; k < n; k++)
        if (units[k] >= t->n_users)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_trainer_step: unit %u of %u", units[k], t->n_users);
    vkr_fit_step st = {.units = units, .n = n, .want_loss = loss != NULL};
    VKR_TRY(gencdr_step(t, &st));
    if (loss) *loss = st.loss;
    return VKR_OK;
}

vkr_status vkr_gencdr_fit(const vkr_dataset* ds, vkr_device* dev, const uint16_t* ids, uint32_t depth,
                          const vkr_gencdr_train* cfg, vkr_gencdr_model* m) {
    VKR_TRY(vkr_gencdr_open(ds, dev, ids, depth, cfg, m));
    vkr_gencdr_trainer* j = NULL;
    vkr_status s = vkr_gencdr_trainer_create(m, &j);
    vkr_gencdr_scoring* sc = m->score;
    vkr_fit_model fm = {.self = j, .units = j ? j->n_users : 0, .batch = j ? j->train.rows : 0, .step = gencdr_step,
                        .validate = gencdr_validate, .train_exec = j ? j->tex : NULL, .score_exec = sc->ex,
                        .score_graph = sc->gg.g};
    vkr_fit_options fo = {.epochs = cfg->epochs, .patience = cfg->patience, .seed = cfg->seed, .ckpt_dir = cfg->ckpt_dir,
                          .resume = cfg->resume, .quiet = cfg->quiet, .metadata = cfg->metadata};
    if (s == VKR_OK) s = vkr_fit(&fm, &fo, &m->fit);
    if (s == VKR_OK && m->beam) s = vkr_gencdr_beam_sync(m);
    vkr_gencdr_trainer_destroy(j);
    if (s != VKR_OK) vkr_gencdr_model_free(m);
    return s;
}

vkr_status vkr_gencdr_load(vkr_gencdr_model* m, const char* path) {
    if (!m || !m->score || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_load: no model or path");
    vkr_gencdr_scoring* sc = m->score;
    VKR_TRY(vkr_exec_load(sc->ex, path));
    return m->beam ? vkr_gencdr_beam_sync(m) : VKR_OK;
}

/* Reads parameter `name` of the scoring graph into a new host array. */
static vkr_status gencdr_read_param(vkr_gencdr_scoring* sc, const char* name, float** out) {
    *out = NULL;
    vkr_tensor* t = vkr_graph_find(sc->gg.g, name);
    if (!t) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: the model has no parameter %s", name);
    if (!(*out = malloc(vkr_tensor_bytes(t)))) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %s", name);
    vkr_status s = vkr_exec_read(sc->ex, t, *out, vkr_tensor_bytes(t));
    if (s != VKR_OK) free(*out), *out = NULL;
    return s;
}

vkr_status vkr_gencdr_item_vectors(vkr_gencdr_model* m, vkr_gencdr_view view, float* out) {
    if (!m || !m->score || !out || view > VKR_GENCDR_VIEW_FUSED)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_item_vectors: no model, output or a bad view");
    if (view == VKR_GENCDR_VIEW_IDS && !m->cfg.item_ids)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_item_vectors: the model has no item embeddings (item_ids)");
    uint32_t D = m->cfg.hidden, n = m->ds->item_count;
    float *codes = NULL, *dom = NULL, *ids = NULL;
    vkr_status s = view != VKR_GENCDR_VIEW_IDS ? gencdr_read_param(m->score, "code_emb", &codes) : VKR_OK;
    if (s == VKR_OK && view == VKR_GENCDR_VIEW_FUSED) s = gencdr_read_param(m->score, "dom_emb", &dom);
    if (s == VKR_OK && view != VKR_GENCDR_VIEW_CODES && m->cfg.item_ids) s = gencdr_read_param(m->score, "item_emb", &ids);
    for (uint32_t i = 0; s == VKR_OK && i < n; i++) {
        float* row = out + (size_t)i * D;
        memset(row, 0, D * sizeof *row);
        for (uint32_t l = 0; codes && l < m->depth; l++) {
            const float* e = codes + (size_t)(m->offset[l] + m->ids[(size_t)i * m->depth + l]) * D;
            for (uint32_t k = 0; k < D; k++) row[k] += e[k];
        }
        /* the inputs' index 0 is padding: domain d and item i sit at d + 1 and i + 1 */
        const float* de = dom ? dom + (size_t)(m->ds->item_domain[i] + 1) * D : NULL;
        const float* ie = ids ? ids + (size_t)(i + 1) * D : NULL;
        for (uint32_t k = 0; k < D; k++) row[k] += (de ? de[k] : 0.0f) + (ie ? ie[k] : 0.0f);
    }
    free(codes);
    free(dom);
    free(ids);
    return s;
}

void vkr_gencdr_model_free(vkr_gencdr_model* m) {
    if (!m) return;
    vkr_gencdr_beam_free(m->beam, m->dev, m->depth);
    vkr_gencdr_scoring_free(m->score, m->depth);
    free(m->ids);
    vkr_item_views_host_free(&m->views_host);
    vkr_fit_report_free(&m->fit);
    memset(m, 0, sizeof *m);
}

vkr_status vkr_gencdr_zero_shot(vkr_gencdr_model* m, uint32_t target) {
    if (m && !m->trained_on) m->trained_on = m->cfg.history_domains;
    if (!m || !m->score || !m->trained_on)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR zero-shot: the model must be trained on history_domains");
    uint32_t sources = m->trained_on, nd = m->ds->domain_count, D = m->cfg.hidden;
    if (target >= nd || (sources >> target) & 1u)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR zero-shot: domain %u is %s", target,
                        target >= nd ? "out of range" : "a training domain");
    static const char* const tables[] = {"dom_emb", "target_dom_emb"};
    float* rows = malloc((size_t)(nd + 1) * D * sizeof *rows);
    vkr_status s = rows ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int k = 0; k < 2 && s == VKR_OK; k++) {
        vkr_tensor* t = vkr_graph_find(m->score->gg.g, tables[k]);
        if (!t) continue;
        s = vkr_exec_read(m->score->ex, t, rows, 4ull * (nd + 1) * D);
        float* row = rows + (size_t)(target + 1) * D;
        uint32_t c = 0;
        for (uint32_t d = 0; d < nd; d++) c += (sources >> d) & 1u;
        for (uint32_t i = 0; i < D; i++) {
            double sum = 0;
            for (uint32_t d = 0; d < nd; d++)
                if ((sources >> d) & 1u) sum += rows[(size_t)(d + 1) * D + i];
            row[i] = (float)(sum / c);
        }
        if (s == VKR_OK) s = vkr_exec_write(m->score->ex, t, rows, 4ull * (nd + 1) * D);
    }
    free(rows);
    if (s != VKR_OK) return s;
    m->cfg.history_domains = 1u << target;
    return m->beam ? vkr_gencdr_beam_sync(m) : VKR_OK;
}
