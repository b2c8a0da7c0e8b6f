/* Losses: cross-entropy with ignore index and InfoNCE (one fused log-softmax + NLL engine,
 * shaders/nn_xent*.comp), and the pointwise BCE-with-logits, BPR and MSE (shaders/nn_loss*.comp). */
#include <math.h>
#include <string.h>

#include "vkr_ops_nn_internal.h"

/* ---- cross-entropy engine ---- */

/* A cross-entropy problem: CE proper (targets given) or InfoNCE (targets NULL: row r -> column r). */
typedef struct xent_job {
    uint32_t rows, classes;
    const int32_t* targets; /* CPU only; NULL: diagonal targets */
    bool diagonal;
    int32_t ignore_index;
    float scale; /* logits are scale * input */
} xent_job;

/* Class row r is scored against, or -1 when the row does not count (targets already validated). */
static int64_t job_class(const xent_job* j, uint32_t r) {
    if (j->diagonal) return r;
    return j->targets[r] == j->ignore_index ? -1 : j->targets[r];
}

static vkr_status check_xent(const vkr_xent_params* p, const char* op, xent_job* out) {
    memset(out, 0, sizeof *out);
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    VKR_TRY(vkr_nn_check_dims(op, "rows", p->rows, "classes", p->classes));
    *out = (xent_job){.rows = p->rows, .classes = p->classes, .ignore_index = p->ignore_index, .scale = 1.0f};
    return VKR_OK;
}

static vkr_status check_infonce(const vkr_infonce_params* p, const char* op, xent_job* out) {
    memset(out, 0, sizeof *out);
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    VKR_TRY(vkr_nn_check_dims(op, "rows", p->rows, "cols", p->cols));
    if (p->cols < p->rows)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: cols %u < rows %u, but row i's positive is column i", op,
                        p->cols, p->rows);
    if (!(p->temperature > 0) || !isfinite(1.0f / p->temperature))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: temperature %g must be positive (and 1/temperature finite)", op,
                        p->temperature);
    *out = (xent_job){.rows = p->rows, .classes = p->cols, .diagonal = true, .ignore_index = -1,
                      .scale = 1.0f / p->temperature};
    return VKR_OK;
}

/* The CPU path rejects targets that are neither ignore_index nor a class. */
static vkr_status check_targets(const xent_job* j, const char* op) {
    for (uint32_t r = 0; r < j->rows; r++) {
        int32_t t = j->targets[r];
        if (t != j->ignore_index && (t < 0 || (uint32_t)t >= j->classes))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: targets[%u] = %d is outside [0, %u) and not ignore_index %d",
                            op, r, t, j->classes, j->ignore_index);
    }
    return VKR_OK;
}

/* logsumexp of scale * row, in double. */
static double row_lse(const xent_job* j, const float* row) {
    double m = -INFINITY, s = 0;
    for (uint32_t c = 0; c < j->classes; c++) m = fmax(m, (double)j->scale * row[c]);
    for (uint32_t c = 0; c < j->classes; c++) s += exp((double)j->scale * row[c] - m);
    return m + log(s);
}

static uint32_t job_count(const xent_job* j) {
    uint32_t n = 0;
    for (uint32_t r = 0; r < j->rows; r++) n += job_class(j, r) >= 0;
    return n;
}

static void ref_xent_fwd(const xent_job* j, const float* logits, float* loss) {
    double sum = 0;
    for (uint32_t r = 0; r < j->rows; r++) {
        int64_t t = job_class(j, r);
        if (t < 0) continue;
        const float* row = logits + (uint64_t)r * j->classes;
        sum += row_lse(j, row) - (double)j->scale * row[t];
    }
    uint32_t n = job_count(j);
    *loss = n ? (float)(sum / n) : 0.0f;
}

static void ref_xent_bwd(const xent_job* j, const float* logits, float loss_grad, float* dlogits) {
    uint32_t n = job_count(j);
    if (n == 0) return;
    double coef = (double)loss_grad * j->scale / n;
#pragma omp parallel for schedule(static) if ((uint64_t)j->rows * j->classes > (1u << 16))
    for (int64_t r = 0; r < (int64_t)j->rows; r++) {
        int64_t t = job_class(j, (uint32_t)r);
        if (t < 0) continue;
        const float* row = logits + (uint64_t)r * j->classes;
        float* drow = dlogits + (uint64_t)r * j->classes;
        double lse = row_lse(j, row);
        for (uint32_t c = 0; c < j->classes; c++) {
            double prob = exp((double)j->scale * row[c] - lse);
            drow[c] = (float)(drow[c] + coef * (prob - (c == t ? 1.0 : 0.0)));
        }
    }
}

/* Push constants of nn_xent*.comp (nn_xent.glsl). */
typedef struct xent_push {
    uint32_t rows, classes;
    int32_t ignore_index;
    float scale;
    uint32_t diagonal;
} xent_push;

/* Trims the logits range and the targets range (the logits stand in for diagonal targets). */
static vkr_status xent_ranges(const xent_job* j, const char* op, vkr_range logits, vkr_range targets,
                              vkr_range stats, vkr_range* rl, vkr_range* rt, vkr_range* rs) {
    VKR_TRY(vkr_range_take_words(logits, (uint64_t)j->rows * j->classes, op, j->diagonal ? "sim" : "logits", rl));
    if (j->diagonal)
        *rt = *rl;
    else
        VKR_TRY(vkr_range_take_words(targets, j->rows, op, "targets", rt));
    return vkr_range_take_words(stats, vkr_xent_stats_floats(j->rows), op, "stats", rs);
}

static vkr_status gpu_xent_fwd(vkr_sequence* seq, const xent_job* j, const char* op, vkr_range logits,
                               vkr_range targets, vkr_range stats, vkr_range loss) {
    vkr_range rl, rt, rs, rloss;
    VKR_TRY(xent_ranges(j, op, logits, targets, stats, &rl, &rt, &rs));
    VKR_TRY(vkr_range_take_words(loss, 1, op, "loss", &rloss));
    xent_push push = {j->rows, j->classes, j->ignore_index, j->scale, j->diagonal};
    vkr_range rows_r[3] = {rl, rt, rs};
    vkr_nn_rows L = vkr_nn_row_layout(seq, j->rows, j->classes);
    vkr_kernel_desc drow = {.shader = "nn_xent", .binding_count = 3, .access = {VKR_READ, VKR_READ, VKR_WRITE},
                            .push_bytes = sizeof push, .spec_count = 2, .spec = {L.wg, L.lanes}};
    VKR_TRY(vkr_sequence_dispatch_grid(seq, &drow, rows_r, &push, L.groups));
    vkr_range mean_r[3] = {rloss, rt, rs};
    vkr_kernel_desc dmean = {.shader = "nn_xent_mean", .binding_count = 3,
                             .access = {VKR_WRITE, VKR_READ, VKR_READ_WRITE}, .push_bytes = sizeof push,
                             .spec_count = 2, .spec = {VKR_NN_WG, VKR_NN_WG}};
    return vkr_sequence_dispatch_grid(seq, &dmean, mean_r, &push, 1);
}

static vkr_status gpu_xent_bwd(vkr_sequence* seq, const xent_job* j, const char* op, vkr_range logits,
                               vkr_range targets, vkr_range stats, vkr_range loss_grad, vkr_range dlogits) {
    vkr_range r[5];
    VKR_TRY(xent_ranges(j, op, logits, targets, stats, &r[0], &r[1], &r[2]));
    VKR_TRY(vkr_range_take_words(loss_grad, 1, op, "loss_grad", &r[3]));
    VKR_TRY(vkr_range_take_words(dlogits, (uint64_t)j->rows * j->classes, op, j->diagonal ? "dsim" : "dlogits", &r[4]));
    xent_push push = {j->rows, j->classes, j->ignore_index, j->scale, j->diagonal};
    vkr_nn_rows L = vkr_nn_row_layout(seq, j->rows, j->classes);
    vkr_kernel_desc d = {.shader = "nn_xent_bwd", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ, VKR_READ_WRITE}, .push_bytes = sizeof push,
                         .spec_count = 2, .spec = {L.wg, L.lanes}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, L.groups);
}

size_t vkr_xent_stats_floats(uint32_t rows) { return 2 * (size_t)rows + 1; }

vkr_status vkr_ref_cross_entropy(const vkr_xent_params* p, const float* logits, const int32_t* targets, float* loss) {
    xent_job j;
    VKR_TRY(check_xent(p, "cross_entropy", &j));
    if (!logits || !targets || !loss)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "cross_entropy: logits, targets or loss is NULL");
    j.targets = targets;
    VKR_TRY(check_targets(&j, "cross_entropy"));
    ref_xent_fwd(&j, logits, loss);
    return VKR_OK;
}

vkr_status vkr_ref_cross_entropy_bwd(const vkr_xent_params* p, const float* logits, const int32_t* targets,
                                     float loss_grad, float* dlogits) {
    xent_job j;
    VKR_TRY(check_xent(p, "cross_entropy_bwd", &j));
    if (!logits || !targets || !dlogits)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "cross_entropy_bwd: logits, targets or dlogits is NULL");
    j.targets = targets;
    VKR_TRY(check_targets(&j, "cross_entropy_bwd"));
    ref_xent_bwd(&j, logits, loss_grad, dlogits);
    return VKR_OK;
}

vkr_status vkr_gpu_cross_entropy(vkr_sequence* seq, const vkr_xent_params* p, vkr_range logits, vkr_range targets,
                                 vkr_range stats, vkr_range loss) {
    xent_job j;
    VKR_TRY(check_xent(p, "cross_entropy", &j));
    return gpu_xent_fwd(seq, &j, "cross_entropy", logits, targets, stats, loss);
}

vkr_status vkr_gpu_cross_entropy_bwd(vkr_sequence* seq, const vkr_xent_params* p, vkr_range logits,
                                     vkr_range targets, vkr_range stats, vkr_range loss_grad, vkr_range dlogits) {
    xent_job j;
    VKR_TRY(check_xent(p, "cross_entropy_bwd", &j));
    return gpu_xent_bwd(seq, &j, "cross_entropy_bwd", logits, targets, stats, loss_grad, dlogits);
}

/* Records shaders/graph_xent_combine.comp: forward (out = the loss) or backward (out = the chunks'
 * gradients, from the upstream gradient `up`). */
static vkr_status gpu_xent_combine(vkr_sequence* seq, const vkr_xent_combine_params* p, bool backward, vkr_range stats,
                                   vkr_range means, vkr_range out, vkr_range up) {
    const char* op = backward ? "xent_combine_bwd" : "xent_combine";
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    if (p->chunks == 0 || p->slot == 0 || p->last_rows == 0 || p->last_rows > p->chunk_rows ||
        p->stats_stride < vkr_xent_stats_floats(p->chunk_rows))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: bad chunking (chunks %u, rows %u/%u, stride %u, slot %u)", op,
                        p->chunks, p->chunk_rows, p->last_rows, p->stats_stride, p->slot);
    uint64_t slots = (uint64_t)p->chunks * p->slot;
    vkr_range r[4];
    VKR_TRY(vkr_range_take_words(stats, (uint64_t)p->chunks * p->stats_stride, op, "stats", &r[0]));
    VKR_TRY(vkr_range_take_words(means, slots, op, "means", &r[1]));
    VKR_TRY(vkr_range_take_words(out, backward ? slots : 1, op, backward ? "grads" : "loss", &r[2]));
    VKR_TRY(vkr_range_take_words(up, 1, op, "loss_grad", &r[3]));
    /* a chunk's counted rows sit at 2 * rows in its stats (vkr_xent_stats_floats' layout) */
    struct {
        uint32_t chunks, stride, count_at, last_count_at, backward, slot;
    } push = {p->chunks, p->stats_stride, 2 * p->chunk_rows, 2 * p->last_rows, backward, p->slot};
    vkr_kernel_desc d = {.shader = "graph_xent_combine", .binding_count = 4,
                         .access = {VKR_READ, VKR_READ, VKR_WRITE, VKR_READ}, .push_bytes = sizeof push};
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(vkr_sequence_device(seq), &d, &k));
    return vkr_sequence_dispatch(seq, k, r, 4, &push, sizeof push, 1, 1, 1);
}

vkr_status vkr_gpu_xent_combine(vkr_sequence* seq, const vkr_xent_combine_params* p, vkr_range stats, vkr_range means,
                                vkr_range loss) {
    return gpu_xent_combine(seq, p, false, stats, means, loss, means);
}

vkr_status vkr_gpu_xent_combine_bwd(vkr_sequence* seq, const vkr_xent_combine_params* p, vkr_range stats,
                                    vkr_range means, vkr_range loss_grad, vkr_range grads) {
    return gpu_xent_combine(seq, p, true, stats, means, grads, loss_grad);
}

vkr_status vkr_ref_infonce(const vkr_infonce_params* p, const float* sim, float* loss) {
    xent_job j;
    VKR_TRY(check_infonce(p, "infonce", &j));
    if (!sim || !loss) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "infonce: sim or loss is NULL");
    ref_xent_fwd(&j, sim, loss);
    return VKR_OK;
}

vkr_status vkr_ref_infonce_bwd(const vkr_infonce_params* p, const float* sim, float loss_grad, float* dsim) {
    xent_job j;
    VKR_TRY(check_infonce(p, "infonce_bwd", &j));
    if (!sim || !dsim) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "infonce_bwd: sim or dsim is NULL");
    ref_xent_bwd(&j, sim, loss_grad, dsim);
    return VKR_OK;
}

vkr_status vkr_gpu_infonce(vkr_sequence* seq, const vkr_infonce_params* p, vkr_range sim, vkr_range stats,
                           vkr_range loss) {
    xent_job j;
    VKR_TRY(check_infonce(p, "infonce", &j));
    return gpu_xent_fwd(seq, &j, "infonce", sim, (vkr_range){0}, stats, loss);
}

vkr_status vkr_gpu_infonce_bwd(vkr_sequence* seq, const vkr_infonce_params* p, vkr_range sim, vkr_range stats,
                               vkr_range loss_grad, vkr_range dsim) {
    xent_job j;
    VKR_TRY(check_infonce(p, "infonce_bwd", &j));
    return gpu_xent_bwd(seq, &j, "infonce_bwd", sim, (vkr_range){0}, stats, loss_grad, dsim);
}

/* ---- pointwise losses ---- */

/* Kind codes of nn_loss.glsl. */
typedef enum pw_kind { PW_BCE = 0, PW_BPR = 1, PW_MSE = 2 } pw_kind;

/* Names of a pointwise loss and its operands, for messages. */
typedef struct pw_names {
    const char *op, *a, *b, *da, *db;
} pw_names;

static const pw_names pw_fwd_names[] = {
    [PW_BCE] = {"bce_logits", "logits", "targets", NULL, NULL},
    [PW_BPR] = {"bpr", "pos", "neg", NULL, NULL},
    [PW_MSE] = {"mse", "pred", "target", NULL, NULL},
};
static const pw_names pw_bwd_names[] = {
    [PW_BCE] = {"bce_logits_bwd", "logits", "targets", "dlogits", NULL},
    [PW_BPR] = {"bpr_bwd", "pos", "neg", "dpos", "dneg"},
    [PW_MSE] = {"mse_bwd", "pred", "target", "dpred", NULL},
};

/* log(1 + exp(-t)) for t >= 0. */
static double log1p_exp_neg(double t) { return log1p(exp(-t)); }

static double sigmoid(double v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

/* Same formulas as nn_loss_value in nn_loss.glsl, in double. */
static double pw_value(pw_kind k, double a, double b) {
    if (k == PW_BCE) return b < 0 ? 0 : fmax(a, 0) - a * b + log1p_exp_neg(fabs(a));
    if (k == PW_BPR) return fmax(b - a, 0) + log1p_exp_neg(fabs(b - a));
    return (a - b) * (a - b);
}

/* d loss / d a; for BPR d loss / d b is its negation. */
static double pw_grad_a(pw_kind k, double a, double b) {
    if (k == PW_BCE) return b < 0 ? 0 : sigmoid(a) - b;
    if (k == PW_BPR) return -sigmoid(b - a);
    return 2 * (a - b);
}

static vkr_status check_pw(const vkr_pointwise_loss_params* p, const char* op) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    if (p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: n must be >= 1", op);
    return VKR_OK;
}

static vkr_status ref_pw_fwd(pw_kind k, const vkr_pointwise_loss_params* p, const float* a, const float* b,
                             float* loss) {
    const pw_names* nm = &pw_fwd_names[k];
    VKR_TRY(check_pw(p, nm->op));
    if (!a || !b || !loss)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s, %s or loss is NULL", nm->op, nm->a, nm->b);
    double s = 0;
    for (uint32_t i = 0; i < p->n; i++) s += pw_value(k, a[i], b[i]);
    *loss = (float)(s / p->n);
    return VKR_OK;
}

static vkr_status ref_pw_bwd(pw_kind k, const vkr_pointwise_loss_params* p, const float* a, const float* b,
                             float loss_grad, float* da, float* db) {
    const pw_names* nm = &pw_bwd_names[k];
    VKR_TRY(check_pw(p, nm->op));
    if (!a || !b || !da || (k == PW_BPR && !db))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s, %s or a gradient is NULL", nm->op, nm->a, nm->b);
    double g = (double)loss_grad / p->n;
    for (uint32_t i = 0; i < p->n; i++) {
        double ga = pw_grad_a(k, a[i], b[i]);
        da[i] = (float)(da[i] + g * ga);
        if (k == PW_BPR) db[i] = (float)(db[i] - g * ga);
    }
    return VKR_OK;
}

static vkr_status gpu_pw_fwd(vkr_sequence* seq, pw_kind k, const vkr_pointwise_loss_params* p, vkr_range a,
                             vkr_range b, vkr_range loss) {
    const pw_names* nm = &pw_fwd_names[k];
    VKR_TRY(check_pw(p, nm->op));
    vkr_range r[3];
    VKR_TRY(vkr_range_take_words(a, p->n, nm->op, nm->a, &r[0]));
    VKR_TRY(vkr_range_take_words(b, p->n, nm->op, nm->b, &r[1]));
    VKR_TRY(vkr_range_take_words(loss, 1, nm->op, "loss", &r[2]));
    uint32_t push = p->n;
    vkr_kernel_desc d = {.shader = "nn_loss", .binding_count = 3, .access = {VKR_READ, VKR_READ, VKR_WRITE},
                         .push_bytes = sizeof push, .spec_count = 3, .spec = {VKR_NN_WG, VKR_NN_WG, k}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, 1);
}

/* db.buffer is NULL except for BPR. The other kinds bind da in its place: the shader declares the
 * binding writable (so validation counts it as written), but only BPR writes it. */
static vkr_status gpu_pw_bwd(vkr_sequence* seq, pw_kind k, const vkr_pointwise_loss_params* p, vkr_range a,
                             vkr_range b, vkr_range loss_grad, vkr_range da, vkr_range db) {
    const pw_names* nm = &pw_bwd_names[k];
    VKR_TRY(check_pw(p, nm->op));
    vkr_range r[5];
    VKR_TRY(vkr_range_take_words(a, p->n, nm->op, nm->a, &r[0]));
    VKR_TRY(vkr_range_take_words(b, p->n, nm->op, nm->b, &r[1]));
    VKR_TRY(vkr_range_take_words(loss_grad, 1, nm->op, "loss_grad", &r[2]));
    VKR_TRY(vkr_range_take_words(da, p->n, nm->op, nm->da, &r[3]));
    if (k == PW_BPR) {
        VKR_TRY(vkr_range_take_words(db, p->n, nm->op, nm->db, &r[4]));
        if (vkr_ranges_overlap(&r[3], &r[4]))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: dpos and dneg overlap", nm->op);
    } else {
        r[4] = r[3];
    }
    uint32_t push = p->n;
    vkr_kernel_desc d = {.shader = "nn_loss_bwd", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ_WRITE, VKR_READ_WRITE},
                         .push_bytes = sizeof push, .spec_count = 3, .spec = {VKR_NN_WG, 1, k}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, (p->n + VKR_NN_WG - 1) / VKR_NN_WG);
}

vkr_status vkr_ref_bce_logits(const vkr_pointwise_loss_params* p, const float* logits, const float* targets,
                              float* loss) {
    return ref_pw_fwd(PW_BCE, p, logits, targets, loss);
}

vkr_status vkr_ref_bce_logits_bwd(const vkr_pointwise_loss_params* p, const float* logits, const float* targets,
                                  float loss_grad, float* dlogits) {
    return ref_pw_bwd(PW_BCE, p, logits, targets, loss_grad, dlogits, NULL);
}

vkr_status vkr_gpu_bce_logits(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range logits,
                              vkr_range targets, vkr_range loss) {
    return gpu_pw_fwd(seq, PW_BCE, p, logits, targets, loss);
}

vkr_status vkr_gpu_bce_logits_bwd(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range logits,
                                  vkr_range targets, vkr_range loss_grad, vkr_range dlogits) {
    return gpu_pw_bwd(seq, PW_BCE, p, logits, targets, loss_grad, dlogits, (vkr_range){0});
}

vkr_status vkr_ref_bpr(const vkr_pointwise_loss_params* p, const float* pos, const float* neg, float* loss) {
    return ref_pw_fwd(PW_BPR, p, pos, neg, loss);
}

vkr_status vkr_ref_bpr_bwd(const vkr_pointwise_loss_params* p, const float* pos, const float* neg, float loss_grad,
                           float* dpos, float* dneg) {
    return ref_pw_bwd(PW_BPR, p, pos, neg, loss_grad, dpos, dneg);
}

vkr_status vkr_gpu_bpr(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pos, vkr_range neg,
                       vkr_range loss) {
    return gpu_pw_fwd(seq, PW_BPR, p, pos, neg, loss);
}

vkr_status vkr_gpu_bpr_bwd(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pos, vkr_range neg,
                           vkr_range loss_grad, vkr_range dpos, vkr_range dneg) {
    return gpu_pw_bwd(seq, PW_BPR, p, pos, neg, loss_grad, dpos, dneg);
}

vkr_status vkr_ref_mse(const vkr_pointwise_loss_params* p, const float* pred, const float* target, float* loss) {
    return ref_pw_fwd(PW_MSE, p, pred, target, loss);
}

vkr_status vkr_ref_mse_bwd(const vkr_pointwise_loss_params* p, const float* pred, const float* target,
                           float loss_grad, float* dpred) {
    return ref_pw_bwd(PW_MSE, p, pred, target, loss_grad, dpred, NULL);
}

vkr_status vkr_gpu_mse(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pred, vkr_range target,
                       vkr_range loss) {
    return gpu_pw_fwd(seq, PW_MSE, p, pred, target, loss);
}

vkr_status vkr_gpu_mse_bwd(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pred,
                           vkr_range target, vkr_range loss_grad, vkr_range dpred) {
    return gpu_pw_bwd(seq, PW_MSE, p, pred, target, loss_grad, dpred, (vkr_range){0});
}
