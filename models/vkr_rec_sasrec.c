/* SASRec training: batches from the dataset's training interactions, Adam, per-epoch validation
 * (full protocol HR@10), early stopping, the best parameters kept, and exact resume from the last
 * epoch's checkpoint (shuffles, negatives and dropout masks all derive from the seed, the epoch and
 * the step, so a resumed run replays what the uninterrupted run would have done). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_exec.h"
#include "vkr_rec.h"
#include "vkr_safetensors.h"

void vkr_sasrec_train_defaults(vkr_sasrec_train* t) {
    memset(t, 0, sizeof *t);
    t->loss = VKR_SASREC_BCE;
    t->max_len = 50;
    t->batch = 128;
    t->hidden = 64;
    t->blocks = 2;
    t->heads = 1;
    t->dropout = 0.2f;
    t->lr = 1e-3f;
    t->epochs = 20;
    t->patience = 3;
    t->seed = 42;
    t->eval_batch = 128;
}

static uint64_t vkr_mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static vkr_sasrec_config vkr_model_config(const vkr_dataset* ds, const vkr_sasrec_train* t, uint32_t batch) {
    uint32_t begin = ds->item_begin[t->domain], end = ds->item_begin[t->domain + 1];
    return (vkr_sasrec_config){.items = ds->item_count, .max_len = t->max_len, .batch = batch, .hidden = t->hidden,
                               .blocks = t->blocks, .heads = t->heads, .dropout = t->dropout, .loss = t->loss,
                               .out_begin = begin + 1, .out_count = end - begin};
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

/* Fills row b from the events of user u before `end` (training: with next-item labels). Returns
 * the number of labelled positions. Ids are item + 1 (0 is padding). */
static uint32_t vkr_fill_row(const vkr_dataset* ds, const vkr_sasrec_train* t, vkr_batch* bt, uint32_t b, uint32_t u,
                             uint32_t end, bool labels, uint64_t neg_seed) {
    uint32_t T = t->max_len, d = t->domain;
    uint32_t begin = ds->item_begin[d], n_items = ds->item_begin[d + 1] - begin;
    const uint32_t* ev = ds->seq_item + ds->seq_begin[u];
    uint32_t m = 0;
    for (uint32_t j = 0; j < end; j++)
        if (t->mixed_input || vkr_in_domain(ds, ev[j], d)) bt->items[m++] = ev[j];
    /* training: inputs items[0..m-2] with labels items[1..m-1]; scoring: inputs items[0..m-1] */
    uint32_t n_in = labels ? (m ? m - 1 : 0) : m;
    uint32_t first = n_in > T ? n_in - T : 0, pad = T - (n_in - first);
    uint32_t labelled = 0;
    for (uint32_t k = 0; k < T; k++) {
        size_t o = (size_t)b * T + k;
        bool real = k >= pad;
        uint32_t src = first + (k - pad);
        bt->seq[o] = real ? (int32_t)bt->items[src] + 1 : 0;
        bt->mask[o] = real;
        if (!labels) continue;
        uint32_t next = real ? bt->items[src + 1] : 0;
        bool has = real && vkr_in_domain(ds, next, d);
        labelled += has;
        if (t->loss == VKR_SASREC_CE) {
            bt->pos[o] = has ? (int32_t)(next - begin) : -1;
        } else {
            uint64_t r = vkr_mix64(neg_seed ^ o);
            uint32_t neg = begin + (uint32_t)(r % n_items);
            if (neg == next && n_items > 1) neg = begin + (neg - begin + 1) % n_items;
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

static vkr_status vkr_sasrec_score(void* self, const uint32_t* pairs, uint32_t n, float* scores) {
    vkr_sasrec_model* m = self;
    const vkr_dataset* ds = m->ds;
    vkr_exec* ex = m->score_exec;
    uint32_t B = m->cfg.eval_batch, T = m->cfg.max_len;
    uint32_t items = ds->item_begin[m->cfg.domain + 1] - ds->item_begin[m->cfg.domain];
    uint32_t longest = 0;
    for (uint32_t k = 0; k < n; k++)
        if (pairs[2 * k + 1] > longest) longest = pairs[2 * k + 1];
    vkr_batch b = {0};
    vkr_status s = vkr_batch_alloc(&b, B, T, longest);
    for (uint32_t k = 0; k < B && s == VKR_OK; k++) {
        uint32_t src = k < n ? k : 0; /* pad the batch by repeating the first example */
        vkr_fill_row(ds, &m->cfg, &b, k, pairs[2 * src], pairs[2 * src + 1], false, 0);
    }
    float* out = s == VKR_OK ? malloc((size_t)B * items * sizeof *out) : NULL;
    if (s == VKR_OK && !out) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory scoring");
    if (s == VKR_OK) s = vkr_exec_write(ex, m->score_graph.seq, b.seq, 4ull * B * T);
    if (s == VKR_OK) s = vkr_exec_write(ex, m->score_graph.mask, b.mask, 4ull * B * T);
    if (s == VKR_OK) s = vkr_exec_run(ex);
    if (s == VKR_OK) s = vkr_exec_read(ex, m->score_graph.scores, out, 4ull * B * items);
    if (s == VKR_OK) memcpy(scores, out, (size_t)n * items * sizeof *out);
    free(out);
    vkr_batch_free(&b);
    return s;
}

vkr_scorer vkr_sasrec_scorer(vkr_sasrec_model* m) { return (vkr_scorer){m, m->cfg.eval_batch, vkr_sasrec_score}; }

/* Copies every parameter of `dst_graph` from the same-named parameter of `src`. */
static vkr_status vkr_copy_params(vkr_exec* dst, vkr_graph* dst_graph, vkr_exec* src, vkr_graph* src_graph) {
    for (uint32_t i = 0; i < vkr_graph_tensor_count(dst_graph); i++) {
        vkr_tensor* t = vkr_graph_tensor(dst_graph, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        vkr_tensor* from = vkr_graph_find(src_graph, t->name);
        if (!from || from->numel != t->numel)
            return vkr_fail(VKR_ERR_NOT_FOUND, "parameter %s is missing from the training graph", t->name);
        void* buf = malloc(vkr_tensor_bytes(t));
        if (!buf) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory copying %s", t->name);
        vkr_status s = vkr_exec_read(src, from, buf, vkr_tensor_bytes(t));
        if (s == VKR_OK) s = vkr_exec_write(dst, t, buf, vkr_tensor_bytes(t));
        free(buf);
        VKR_TRY(s);
    }
    return VKR_OK;
}

/* ---- training ---- */

static int vkr_is_tty(bool quiet) { return !quiet && isatty(STDERR_FILENO); }

static vkr_status vkr_write_batch(vkr_exec* ex, const vkr_sasrec* g, const vkr_batch* b, uint32_t B, uint32_t T,
                                  uint32_t labelled, bool bce) {
    uint64_t bytes = 4ull * B * T;
    VKR_TRY(vkr_exec_write(ex, g->seq, b->seq, bytes));
    VKR_TRY(vkr_exec_write(ex, g->mask, b->mask, bytes));
    VKR_TRY(vkr_exec_write(ex, g->pos, b->pos, bytes));
    if (!bce) return VKR_OK;
    VKR_TRY(vkr_exec_write(ex, g->neg, b->neg, bytes));
    VKR_TRY(vkr_exec_write(ex, g->pos_label, b->pos_label, bytes));
    VKR_TRY(vkr_exec_write(ex, g->neg_label, b->neg_label, bytes));
    float scale = labelled ? (float)(B * T) / (float)labelled : 0.0f; /* mean over real pairs */
    return vkr_exec_write(ex, g->loss_scale, &scale, 4);
}

static void vkr_ckpt_path(char* out, size_t n, const char* dir, const char* name) { snprintf(out, n, "%s/%s", dir, name); }

vkr_status vkr_sasrec_fit(const vkr_dataset* ds, vkr_device* dev, const vkr_sasrec_train* cfg, vkr_sasrec_model* m) {
    memset(m, 0, sizeof *m);
    if (!ds || !cfg || cfg->domain >= ds->domain_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: bad dataset or target domain");
    if (cfg->batch == 0 || cfg->max_len == 0 || cfg->eval_batch == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: batch, max_len and eval_batch must be positive");
    m->ds = ds;
    m->cfg = *cfg;
    m->dev = dev;
    uint32_t B = cfg->batch, T = cfg->max_len, d = cfg->domain;
    bool bce = cfg->loss == VKR_SASREC_BCE;
    /* training users: someone with at least one labelled position */
    uint32_t* users = malloc((size_t)ds->user_count * sizeof *users);
    uint32_t n_users = 0, longest = 0;
    if (!users) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing users");
    for (uint32_t u = 0; u < ds->user_count; u++) {
        uint32_t L = ds->train_len[u], in_d = 0, first_d = UINT32_MAX;
        for (uint32_t j = 0; j < L; j++)
            if (vkr_in_domain(ds, ds->seq_item[ds->seq_begin[u] + j], d)) in_d++, first_d = first_d == UINT32_MAX ? j : first_d;
        bool ok = cfg->mixed_input ? (in_d >= 1 && (in_d >= 2 || first_d > 0)) : in_d >= 2;
        if (ok) users[n_users++] = u;
        if (vkr_dataset_user_len(ds, u) > longest) longest = vkr_dataset_user_len(ds, u);
    }
    if (n_users == 0) {
        free(users);
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: no user has training interactions in domain %s",
                        ds->domain_name[d]);
    }
    vkr_sasrec train = {0};
    vkr_exec* tex = NULL;
    vkr_batch bt = {0};
    float** best = NULL;
    vkr_sasrec_config mc = vkr_model_config(ds, cfg, B);
    vkr_status s = vkr_sasrec_build(&mc, true, cfg->seed, &train);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = cfg->lr}, .beta1 = 0.9f, .beta2 = 0.98f,
                           .eps = 1e-8f};
    if (s == VKR_OK)
        s = vkr_exec_create(train.graph, &(vkr_exec_options){.device = dev, .optimizer = &oc, .training = true}, &tex);
    if (s == VKR_OK) s = vkr_exec_init_params(tex, cfg->seed);
    vkr_sasrec_config sc = vkr_model_config(ds, cfg, cfg->eval_batch);
    if (s == VKR_OK) s = vkr_sasrec_build(&sc, false, cfg->seed, &m->score_graph);
    if (s == VKR_OK) s = vkr_exec_create(m->score_graph.graph, &(vkr_exec_options){.device = dev},
                                         (vkr_exec**)&m->score_exec);
    if (s == VKR_OK) s = vkr_batch_alloc(&bt, B, T, longest);
    /* host copy of the best parameters, in score-graph order */
    uint32_t n_t = s == VKR_OK ? vkr_graph_tensor_count(m->score_graph.graph) : 0;
    best = calloc(n_t ? n_t : 1, sizeof *best);
    if (s == VKR_OK && !best) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    uint32_t start_epoch = 0, bad = 0;
    m->best_valid_hr10 = -1;
    char path[1200];
    if (s == VKR_OK && cfg->ckpt_dir && cfg->resume) {
        vkr_ckpt_path(path, sizeof path, cfg->ckpt_dir, "last.safetensors");
        if (access(path, R_OK) == 0) {
            s = vkr_exec_load(tex, path);
            vkr_st_file* f = NULL;
            if (s == VKR_OK) s = vkr_st_open(path, &f);
            if (s == VKR_OK) {
                const char* e = vkr_st_metadata_get(f, "epoch");
                const char* bh = vkr_st_metadata_get(f, "best_hr10");
                const char* be = vkr_st_metadata_get(f, "best_epoch");
                const char* bd = vkr_st_metadata_get(f, "bad_epochs");
                if (!e || !bh || !be || !bd) s = vkr_fail(VKR_ERR_FORMAT, "%s lacks the training-loop metadata", path);
                else {
                    start_epoch = (uint32_t)strtoul(e, NULL, 10);
                    m->best_valid_hr10 = strtod(bh, NULL);
                    m->best_epoch = (uint32_t)strtoul(be, NULL, 10);
                    bad = (uint32_t)strtoul(bd, NULL, 10);
                }
                vkr_st_close(f);
            }
            char best_path[1200];
            vkr_ckpt_path(best_path, sizeof best_path, cfg->ckpt_dir, "best.safetensors");
            if (s == VKR_OK && m->best_epoch) { /* the best parameters so far come from best.safetensors */
                s = vkr_exec_load(m->score_exec, best_path);
                for (uint32_t i = 0; i < n_t && s == VKR_OK; i++) {
                    vkr_tensor* t = vkr_graph_tensor(m->score_graph.graph, i);
                    if (t->role != VKR_ROLE_PARAM) continue;
                    best[i] = malloc(vkr_tensor_bytes(t));
                    s = best[i] ? vkr_exec_read(m->score_exec, t, best[i], vkr_tensor_bytes(t))
                                : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
                }
            }
            if (s == VKR_OK && !cfg->quiet)
                fprintf(stderr, "resuming %s from epoch %u (best HR@10 %.4f at epoch %u)\n", path, start_epoch,
                        m->best_valid_hr10, m->best_epoch);
        }
    }
    uint32_t steps_per_epoch = (n_users + B - 1) / B;
    double t_start = vkr_now_s();
    uint64_t seqs = 0;
    m->epochs_run = start_epoch;
    for (uint32_t epoch = start_epoch; s == VKR_OK && epoch < cfg->epochs; epoch++) {
        /* Fisher-Yates with a stream that depends only on (seed, epoch) */
        uint64_t r = vkr_mix64(cfg->seed ^ (0xE90C0000ull + epoch));
        for (uint32_t i = n_users; i > 1; i--) {
            r = vkr_mix64(r);
            uint32_t j = (uint32_t)(r % i), tmp = users[i - 1];
            users[i - 1] = users[j];
            users[j] = tmp;
        }
        double loss_sum = 0, e0 = vkr_now_s();
        uint32_t loss_n = 0;
        for (uint32_t step = 0; s == VKR_OK && step < steps_per_epoch; step++) {
            uint32_t labelled = 0;
            uint64_t neg_seed = vkr_mix64(cfg->seed ^ ((uint64_t)epoch << 32 | step));
            for (uint32_t k = 0; k < B; k++) {
                uint32_t idx = step * B + k;
                if (idx < n_users) {
                    uint32_t u = users[idx];
                    labelled += vkr_fill_row(ds, cfg, &bt, k, u, ds->train_len[u], true, neg_seed);
                } else { /* a short last batch: empty rows carry no labels */
                    for (uint32_t j = 0; j < T; j++) {
                        size_t o = (size_t)k * T + j;
                        bt.seq[o] = bt.mask[o] = bt.pos[o] = bt.neg[o] = 0;
                        if (!bce) bt.pos[o] = -1;
                        bt.pos_label[o] = bt.neg_label[o] = -1.0f;
                    }
                }
            }
            s = vkr_write_batch(tex, &train, &bt, B, T, labelled, bce);
            if (s == VKR_OK) s = vkr_exec_run(tex);
            seqs += B;
            if (s == VKR_OK && (step % 8 == 7 || step + 1 == steps_per_epoch)) {
                float l = 0;
                s = vkr_exec_read(tex, train.loss, &l, 4);
                loss_sum += l;
                loss_n++;
                if (vkr_is_tty(cfg->quiet)) {
                    double el = vkr_now_s() - e0, rate = (step + 1) * (double)B / (el > 0 ? el : 1e-9);
                    double eta = (double)(steps_per_epoch - step - 1) * B / rate;
                    fprintf(stderr, "\r  epoch %u/%u  step %u/%u  loss %.4f  %.0f seq/s  ETA %.0fs   ", epoch + 1, cfg->epochs,
                            step + 1, steps_per_epoch, l, rate, eta);
                }
            }
        }
        if (s != VKR_OK) break;
        m->last_loss = loss_n ? (float)(loss_sum / loss_n) : 0.0f;
        m->epochs_run = epoch + 1;
        /* validate with the current parameters */
        vkr_metrics vm;
        vkr_protocol full = {0};
        vkr_scorer scorer = vkr_sasrec_scorer(m);
        s = vkr_copy_params(m->score_exec, m->score_graph.graph, tex, train.graph);
        if (s == VKR_OK) s = vkr_evaluate(ds, d, ds->valid, ds->valid_count, &scorer, &full, &vm);
        if (s != VKR_OK) break;
        double means[5];
        vkr_metrics_means(&vm, means);
        bool better = means[1] > m->best_valid_hr10;
        if (better) {
            m->best_valid_hr10 = means[1];
            m->best_epoch = epoch + 1;
            bad = 0;
            for (uint32_t i = 0; i < n_t && s == VKR_OK; i++) {
                vkr_tensor* t = vkr_graph_tensor(m->score_graph.graph, i);
                if (t->role != VKR_ROLE_PARAM) continue;
                if (!best[i] && !(best[i] = malloc(vkr_tensor_bytes(t))))
                    s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
                if (s == VKR_OK) s = vkr_exec_read(m->score_exec, t, best[i], vkr_tensor_bytes(t));
            }
            if (s == VKR_OK && cfg->ckpt_dir) {
                vkr_ckpt_path(path, sizeof path, cfg->ckpt_dir, "best.safetensors");
                s = vkr_exec_save(m->score_exec, path, NULL);
            }
        } else {
            bad++;
        }
        if (!cfg->quiet)
            fprintf(stderr, "%sepoch %u/%u  loss %.4f  valid HR@10 %.4f NDCG@10 %.4f (%llu examples)%s  %.1fs\n",
                    vkr_is_tty(cfg->quiet) ? "\r" : "", epoch + 1, cfg->epochs, m->last_loss, means[1], means[3],
                    (unsigned long long)vm.count, better ? "  best" : "", vkr_now_s() - e0);
        if (s == VKR_OK && cfg->ckpt_dir) {
            char e[16], bh[32], be[16], bd[16];
            snprintf(e, sizeof e, "%u", epoch + 1);
            snprintf(bh, sizeof bh, "%.17g", m->best_valid_hr10);
            snprintf(be, sizeof be, "%u", m->best_epoch);
            snprintf(bd, sizeof bd, "%u", bad);
            const char* meta[] = {"epoch", e, "best_hr10", bh, "best_epoch", be, "bad_epochs", bd, NULL};
            vkr_ckpt_path(path, sizeof path, cfg->ckpt_dir, "last.safetensors");
            s = vkr_exec_save(tex, path, meta);
        }
        if (cfg->patience && bad >= cfg->patience) break;
    }
    m->train_seconds = vkr_now_s() - t_start;
    m->seq_per_s = m->train_seconds > 0 ? (double)seqs / m->train_seconds : 0;
    /* leave the best parameters in the scoring executor */
    for (uint32_t i = 0; i < n_t && s == VKR_OK; i++) {
        vkr_tensor* t = vkr_graph_tensor(m->score_graph.graph, i);
        if (t->role == VKR_ROLE_PARAM && best[i]) s = vkr_exec_write(m->score_exec, t, best[i], vkr_tensor_bytes(t));
    }
    for (uint32_t i = 0; best && i < n_t; i++) free(best[i]);
    free(best);
    vkr_batch_free(&bt);
    vkr_exec_destroy(tex);
    vkr_sasrec_destroy(&train);
    free(users);
    if (s != VKR_OK) vkr_sasrec_model_free(m);
    return s;
}

void vkr_sasrec_model_free(vkr_sasrec_model* m) {
    if (!m) return;
    vkr_exec_destroy(m->score_exec);
    vkr_sasrec_destroy(&m->score_graph);
    memset(m, 0, sizeof *m);
}
