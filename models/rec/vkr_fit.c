#include "vkr_fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_dist.h"
#include "vkr_rng.h"
#include "vkr_safetensors.h"

/* Host copies of the scoring graph's parameters (the best so far). */
typedef struct vkr_snapshot {
    float** data;
    uint32_t count;
} vkr_snapshot;

static vkr_status vkr_snapshot_take(vkr_snapshot* s, vkr_exec* ex, vkr_graph* g) {
    if (!s->data) {
        s->count = vkr_graph_tensor_count(g);
        s->data = calloc(s->count ? s->count : 1, sizeof *s->data);
        if (!s->data) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory keeping the best parameters");
    }
    for (uint32_t i = 0; i < s->count; i++) {
        vkr_tensor* t = vkr_graph_tensor(g, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        if (!s->data[i] && !(s->data[i] = malloc(vkr_tensor_bytes(t))))
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory keeping the best parameters");
        VKR_TRY(vkr_exec_read(ex, t, s->data[i], vkr_tensor_bytes(t)));
    }
    return VKR_OK;
}

static vkr_status vkr_snapshot_restore(const vkr_snapshot* s, vkr_exec* ex, vkr_graph* g) {
    for (uint32_t i = 0; s->data && i < s->count; i++)
        if (s->data[i]) VKR_TRY(vkr_exec_write(ex, vkr_graph_tensor(g, i), s->data[i], vkr_tensor_bytes(vkr_graph_tensor(g, i))));
    return VKR_OK;
}

static void vkr_snapshot_free(vkr_snapshot* s) {
    for (uint32_t i = 0; s->data && i < s->count; i++) free(s->data[i]);
    free(s->data);
}

typedef struct vkr_loop_state {
    uint32_t epoch;
    uint32_t bad;
    uint32_t history_cap; /* entries r->history can hold */
} vkr_loop_state;

/* Sets history entry `epoch` (0-based), growing the array; epochs_run is the caller's. */
static vkr_status vkr_fit_record(vkr_fit_report* r, vkr_loop_state* st, uint32_t epoch, float loss, double hr10) {
    if (epoch >= st->history_cap) {
        uint32_t cap = st->history_cap ? st->history_cap : 16;
        while (cap <= epoch) cap *= 2;
        vkr_fit_epoch* h = realloc(r->history, (size_t)cap * sizeof *h);
        if (!h) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the training history");
        r->history = h;
        st->history_cap = cap;
    }
    r->history[epoch] = (vkr_fit_epoch){loss, hr10};
    return VKR_OK;
}

/* The history of epochs [0, epochs) from a checkpoint's "history" metadata ("loss:hr10;" per epoch); NaN
 * entries when the checkpoint predates it. */
static vkr_status vkr_fit_history_parse(const char* text, const char* path, uint32_t epochs, vkr_fit_report* r,
                                        vkr_loop_state* st) {
    for (uint32_t e = 0; e < epochs; e++) {
        float loss = NAN;
        double hr10 = NAN;
        if (text) {
            char* end = NULL;
            loss = strtof(text, &end);
            if (*end != ':') return vkr_fail(VKR_ERR_FORMAT, "%s: history entry %u is not loss:hr10", path, e + 1);
            hr10 = strtod(end + 1, &end);
            if (*end != ';') return vkr_fail(VKR_ERR_FORMAT, "%s: history entry %u is not loss:hr10", path, e + 1);
            text = end + 1;
        }
        VKR_TRY(vkr_fit_record(r, st, e, loss, hr10));
    }
    if (text && *text) return vkr_fail(VKR_ERR_FORMAT, "%s: history has more entries than its %u epochs", path, epochs);
    return VKR_OK;
}

/* Reads metadata number `key` of checkpoint f (path) strictly: decimal digits only, at most `max`. */
static vkr_status vkr_fit_meta_u32(const vkr_st_file* f, const char* path, const char* key, uint32_t max,
                                   uint32_t* out) {
    const char* v = vkr_st_metadata_get(f, key);
    if (!v) return vkr_fail(VKR_ERR_FORMAT, "%s lacks the training-loop metadata '%s'", path, key);
    char* end = NULL;
    unsigned long long n = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    if (!end || *end || n > max)
        return vkr_fail(VKR_ERR_FORMAT, "%s: metadata %s = '%.40s' is not a whole number in [0, %u]", path, key, v, max);
    *out = (uint32_t)n;
    return VKR_OK;
}

/* The loop position of checkpoint f (path): epochs done (>= 1), best HR@10 in [0, 1] at epoch 1..epoch,
 * epochs without improvement; FORMAT naming the key otherwise. */
static vkr_status vkr_fit_meta_loop(const vkr_st_file* f, const char* path, vkr_fit_report* r, vkr_loop_state* st) {
    enum { EPOCH_MAX = 1u << 20 }; /* far beyond any schedule; bounds the history allocation */
    VKR_TRY(vkr_fit_meta_u32(f, path, "epoch", EPOCH_MAX, &st->epoch));
    VKR_TRY(vkr_fit_meta_u32(f, path, "best_epoch", st->epoch, &r->best_epoch));
    VKR_TRY(vkr_fit_meta_u32(f, path, "bad_epochs", st->epoch, &st->bad));
    if (st->epoch == 0 || r->best_epoch == 0)
        return vkr_fail(VKR_ERR_FORMAT, "%s: metadata epoch %u, best_epoch %u: a checkpoint follows a finished epoch",
                        path, st->epoch, r->best_epoch);
    const char* bh = vkr_st_metadata_get(f, "best_hr10");
    char* end = NULL;
    r->best_hr10 = bh ? strtod(bh, &end) : NAN;
    if (!bh || end == bh || *end || !(r->best_hr10 >= 0 && r->best_hr10 <= 1))
        return vkr_fail(VKR_ERR_FORMAT, "%s: metadata best_hr10 = '%.40s' is not a number in [0, 1]", path,
                        bh ? bh : "(missing)");
    return VKR_OK;
}

/* Restores the loop from ckpt_dir/last.safetensors (and the best parameters from best.safetensors). */
static vkr_status vkr_fit_resume(const vkr_fit_model* m, const vkr_fit_options* o, vkr_fit_report* r, vkr_loop_state* st,
                                 vkr_snapshot* best) {
    char path[1200];
    snprintf(path, sizeof path, "%s/last.safetensors", o->ckpt_dir);
    if (access(path, F_OK) != 0)
        return vkr_fail(VKR_ERR_NOT_FOUND, "cannot resume: %s does not exist (train without resuming to start afresh)",
                        path);
    VKR_TRY(vkr_exec_load(m->train_exec, path));
    vkr_st_file* f = NULL;
    VKR_TRY(vkr_st_open(path, &f));
    vkr_status s = vkr_fit_meta_loop(f, path, r, st);
    if (s == VKR_OK) s = vkr_fit_history_parse(vkr_st_metadata_get(f, "history"), path, st->epoch, r, st);
    vkr_st_close(f);
    if (s == VKR_OK && r->best_epoch) {
        snprintf(path, sizeof path, "%s/best.safetensors", o->ckpt_dir);
        s = vkr_exec_load(m->score_exec, path);
        if (s == VKR_OK) s = vkr_snapshot_take(best, m->score_exec, m->score_graph);
    }
    r->epochs_run = st->epoch;
    if (s == VKR_OK && !o->quiet)
        fprintf(stderr, "resuming from epoch %u (best HR@10 %.4f at epoch %u)\n", st->epoch, r->best_hr10, r->best_epoch);
    return s;
}

enum { HISTORY_ENTRY_MAX = 64 }; /* "%.9g:%.17g;" fits */

static vkr_status vkr_fit_save_last(const vkr_fit_model* m, const vkr_fit_options* o, const vkr_fit_report* r,
                                    const vkr_loop_state* st) {
    char e[16], bh[32], be[16], bd[16], path[1200];
    snprintf(e, sizeof e, "%u", st->epoch);
    snprintf(bh, sizeof bh, "%.17g", r->best_hr10);
    snprintf(be, sizeof be, "%u", r->best_epoch);
    snprintf(bd, sizeof bd, "%u", st->bad);
    char* history = malloc((size_t)st->epoch * HISTORY_ENTRY_MAX + 1);
    if (!history) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory saving the training history");
    size_t len = 0;
    history[0] = 0;
    for (uint32_t k = 0; k < st->epoch; k++)
        len += (size_t)snprintf(history + len, HISTORY_ENTRY_MAX, "%.9g:%.17g;", (double)r->history[k].loss,
                                r->history[k].valid_hr10);
    const char* meta[11 + VKR_FIT_MAX_METADATA] = {"epoch",      e,  "best_hr10", bh,     "best_epoch", be,
                                                   "bad_epochs", bd, "history",   history};
    uint32_t n = 10;
    for (uint32_t k = 0; o->metadata && o->metadata[k] && n + 2 <= 10 + VKR_FIT_MAX_METADATA; k += 2) {
        meta[n++] = o->metadata[k];
        meta[n++] = o->metadata[k + 1];
    }
    meta[n] = NULL;
    snprintf(path, sizeof path, "%s/last.safetensors", o->ckpt_dir);
    vkr_status s = vkr_exec_save(m->train_exec, path, meta);
    free(history);
    return s;
}

vkr_status vkr_fit_rank_batch(uint32_t global, const char* model, uint32_t* out) {
    uint32_t ranks = vkr_dist_size();
    *out = 0;
    if (global % ranks)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: --batch %u cannot be split evenly between %u ranks (use a "
                        "multiple of %u)", model, global, ranks, ranks);
    *out = global / ranks;
    return VKR_OK;
}

/* The gradient all-reduce of a data-parallel step: each rank's gradient of its own mean loss,
 * weighted by its share of the loss terms, summed over ranks, is the gradient of the whole batch's
 * mean loss. */
typedef struct vkr_fit_dp {
    vkr_fit_step* step;
    bool empty;   /* this rank has no units in the step (a short last batch) */
    double share; /* this rank's weight / the total, after the hook */
} vkr_fit_dp;

static vkr_status vkr_fit_allreduce(void* user, float* grads, uint64_t count) {
    vkr_fit_dp* dp = user;
    double w = dp->empty ? 0.0 : dp->step->weight, total = w;
    VKR_TRY(vkr_dist_sum_f64(&total, 1));
    dp->share = total > 0 ? w / total : 0.0;
    float scale = (float)dp->share;
    if (scale == 0.0f) memset(grads, 0, count * sizeof *grads); /* also clears an empty share's NaN */
    else if (scale != 1.0f)
        for (uint64_t i = 0; i < count; i++) grads[i] *= scale;
    return vkr_dist_sum_f32(grads, count);
}

static int vkr_u64_cmp(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return (x > y) - (x < y);
}

/* Groups the shuffled `order` by unit_len (see vkr_fit.h): chunks of VKR_FIT_GROUP_STEPS whole steps
 * of `global` units sorted by (length, shuffled position), then the whole steps shuffled with rng.
 * The units of a short last step stay as shuffled (sorted, they would be the longest of their chunk
 * every epoch). keys holds `units` entries, scratch twice as many. */
static void vkr_fit_group(const uint32_t* unit_len, uint32_t units, uint32_t global, vkr_rng* rng, uint32_t* order,
                          uint64_t* keys, uint32_t* scratch) {
    uint64_t chunk = (uint64_t)VKR_FIT_GROUP_STEPS * global, sorted = (uint64_t)(units / global) * global;
    for (uint64_t c0 = 0; c0 < sorted; c0 += chunk) {
        uint32_t n = (uint32_t)(sorted - c0 < chunk ? sorted - c0 : chunk);
        for (uint32_t i = 0; i < n; i++) keys[i] = (uint64_t)unit_len[order[c0 + i]] << 32 | i;
        qsort(keys, n, sizeof *keys, vkr_u64_cmp);
        for (uint32_t i = 0; i < n; i++) scratch[i] = order[c0 + (uint32_t)keys[i]];
        memcpy(order + c0, scratch, (size_t)n * sizeof *order);
    }
    uint32_t whole = units / global, *perm = scratch + units;
    for (uint32_t k = 0; k < whole; k++) perm[k] = k;
    vkr_rng_shuffle_u32(rng, perm, whole);
    memcpy(scratch, order, (size_t)units * sizeof *order);
    for (uint32_t k = 0; k < whole; k++)
        memcpy(order + (size_t)k * global, scratch + (size_t)perm[k] * global, (size_t)global * sizeof *order);
}

vkr_status vkr_fit(const vkr_fit_model* m, const vkr_fit_options* o, vkr_fit_report* r) {
    memset(r, 0, sizeof *r);
    if (!m || !o || m->units == 0 || m->batch == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_fit: no training units or a zero batch");
    uint32_t* order = malloc((size_t)m->units * sizeof *order);
    uint64_t* keys = m->unit_len ? malloc((size_t)m->units * sizeof *keys) : NULL;
    uint32_t* scratch = m->unit_len ? malloc(2 * (size_t)m->units * sizeof *scratch) : NULL;
    if (!order || (m->unit_len && (!keys || !scratch))) {
        free(order), free(keys), free(scratch);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the training order");
    }
    vkr_snapshot best = {0};
    vkr_loop_state st = {0};
    r->best_hr10 = -1;
    vkr_status s = VKR_OK;
    uint32_t ranks = vkr_dist_size(), rank = vkr_dist_rank();
    bool lead = rank == 0;
    vkr_fit_options own = *o;
    own.quiet = o->quiet || !lead;
    o = &own;
    vkr_fit_step step = {0};
    vkr_fit_dp dp = {.step = &step};
    if (ranks > 1) s = vkr_exec_set_grad_hook(m->train_exec, vkr_fit_allreduce, &dp);
    if (s == VKR_OK && o->ckpt_dir && o->resume) s = vkr_fit_resume(m, o, r, &st, &best);
    const char* save_dir = lead ? o->ckpt_dir : NULL; /* rank 0 writes; every rank resumes */
    bool tty = !o->quiet && isatty(STDERR_FILENO);
    uint32_t global = m->batch * ranks, steps = (m->units + global - 1) / global;
    double t0 = vkr_now_s();
    uint64_t units_done = 0;
    for (; s == VKR_OK && st.epoch < o->epochs; st.epoch++) {
        for (uint32_t i = 0; i < m->units; i++) order[i] = i;
        vkr_rng rng = vkr_rng_make(o->seed, 0xE90C0000ull + st.epoch); /* the (seed, epoch) stream */
        vkr_rng_shuffle_u32(&rng, order, m->units);
        if (m->unit_len) vkr_fit_group(m->unit_len, m->units, global, &rng, order, keys, scratch);
        double e0 = vkr_now_s(), loss_sum = 0;
        uint32_t loss_n = 0;
        for (uint32_t k = 0; s == VKR_OK && k < steps; k++) {
            size_t first = (size_t)k * global;
            uint32_t n = m->units - first < global ? (uint32_t)(m->units - first) : global;
            uint32_t lo = rank * m->batch < n ? rank * m->batch : n, hi = lo + m->batch < n ? lo + m->batch : n;
            bool want = k % 8 == 7 || k + 1 == steps; /* reading the loss is a device round trip */
            /* a rank without units in a short last batch runs the first unit with weight 0 */
            dp.empty = hi == lo;
            step = (vkr_fit_step){.units = order + first + (dp.empty ? 0 : lo), .n = dp.empty ? 1 : hi - lo,
                                  .row0 = dp.empty ? 0 : lo, .rng = vkr_rng_u64(o->seed, st.epoch, k),
                                  .want_loss = want, .weight = 1.0};
            s = m->step(m->self, &step);
            units_done += n;
            float loss = step.loss;
            double shown[2] = {step.shown_terms, step.shown_count};
            if (s == VKR_OK && want && ranks > 1) { /* the whole batch's loss, as one process computes it */
                double v[3] = {dp.share > 0 ? dp.share * (double)loss : 0.0, dp.empty ? 0.0 : shown[0],
                               dp.empty ? 0.0 : shown[1]};
                s = vkr_dist_sum_f64(v, 3);
                loss = (float)v[0];
                shown[0] = v[1], shown[1] = v[2];
            }
            if (shown[1] > 0) loss = (float)(loss * shown[0] / shown[1]);
            if (s != VKR_OK || !want) continue;
            if (!isfinite(loss)) { /* stop before the diverged state reaches a checkpoint */
                s = vkr_fail(VKR_ERR_STATE, "training diverged: the loss is %g at epoch %u, step %u of %u; nothing of "
                             "this epoch was saved (try a lower learning rate)", (double)loss, st.epoch + 1, k + 1, steps);
                break;
            }
            loss_sum += loss;
            loss_n++;
            if (tty) {
                double el = vkr_now_s() - e0, rate = (double)(k + 1) * global / (el > 0 ? el : 1e-9);
                fprintf(stderr, "\r  epoch %u/%u  step %u/%u  loss %.4f  %.0f units/s  ETA %.0fs   ", st.epoch + 1,
                        o->epochs, k + 1, steps, loss, rate, (double)(steps - k - 1) * global / rate);
            }
        }
        if (s != VKR_OK) break;
        r->last_loss = loss_n ? (float)(loss_sum / loss_n) : 0.0f;
        double hr10 = 0;
        s = m->validate(m->self, &hr10);
        if (s == VKR_OK) s = vkr_fit_record(r, &st, st.epoch, r->last_loss, hr10);
        if (s != VKR_OK) break;
        r->epochs_run = st.epoch + 1;
        bool better = hr10 > r->best_hr10;
        if (better) {
            r->best_hr10 = hr10;
            r->best_epoch = st.epoch + 1;
            st.bad = 0;
            s = vkr_snapshot_take(&best, m->score_exec, m->score_graph);
            if (s == VKR_OK && save_dir) {
                char path[1200];
                snprintf(path, sizeof path, "%s/best.safetensors", save_dir);
                s = vkr_exec_save(m->score_exec, path, o->metadata);
            }
        } else {
            st.bad++;
        }
        if (!o->quiet)
            fprintf(stderr, "%sepoch %u/%u  loss %.4f  valid HR@10 %.4f%s  %.1fs\n", tty ? "\r" : "", st.epoch + 1,
                    o->epochs, r->last_loss, hr10, better ? "  best" : "", vkr_now_s() - e0);
        struct vkr_loop_state next = {st.epoch + 1, st.bad, st.history_cap};
        if (s == VKR_OK && save_dir) s = vkr_fit_save_last(m, o, r, &next);
        if (o->patience && st.bad >= o->patience) {
            st.epoch++;
            break;
        }
    }
    r->seconds = vkr_now_s() - t0;
    r->units_per_s = r->seconds > 0 ? (double)units_done / r->seconds : 0;
    if (s == VKR_OK) s = vkr_snapshot_restore(&best, m->score_exec, m->score_graph);
    if (ranks > 1) { /* the executor outlives the loop; its hook points into this frame */
        vkr_status h = vkr_exec_set_grad_hook(m->train_exec, NULL, NULL);
        if (s == VKR_OK) s = h;
    }
    vkr_snapshot_free(&best);
    free(order);
    free(keys);
    free(scratch);
    return s;
}

void vkr_fit_report_free(vkr_fit_report* r) {
    if (!r) return;
    free(r->history);
    memset(r, 0, sizeof *r);
}
