/* Softmax, log-softmax and the masked attention softmax: one engine (a row softmax of scale * x with
 * optional causal and key-padding masks) on the CPU and on the GPU (shaders/nn_softmax*.comp). */
#include <math.h>
#include <string.h>

#include "vkr_ops_nn_internal.h"

/* Everything the softmax engine needs; the plain ops use q_len = heads = 1 and no masks. */
typedef struct softmax_job {
    uint32_t rows, cols, q_len, heads;
    float scale;
    bool log;
    bool causal;
    const int32_t* key_mask; /* CPU only; NULL: no padding mask */
} softmax_job;

/* Same rule as visible() in nn_softmax.comp. */
static bool job_visible(const softmax_job* j, uint64_t row, uint32_t col) {
    uint64_t i = row % j->q_len;
    if (j->causal && (uint64_t)col + j->q_len > i + j->cols) return false;
    if (j->key_mask && j->key_mask[(row / j->q_len / j->heads) * j->cols + col] == 0) return false;
    return true;
}

static void ref_softmax_rows(const softmax_job* j, const float* x, float* y) {
#pragma omp parallel for schedule(static) if ((uint64_t)j->rows * j->cols > (1u << 16))
    for (int64_t r = 0; r < (int64_t)j->rows; r++) {
        const float* xr = x + (uint64_t)r * j->cols;
        float* yr = y + (uint64_t)r * j->cols;
        double m = -INFINITY;
        for (uint32_t c = 0; c < j->cols; c++)
            if (job_visible(j, (uint64_t)r, c) && (double)j->scale * xr[c] > m) m = (double)j->scale * xr[c];
        double s = 0;
        for (uint32_t c = 0; c < j->cols; c++)
            if (job_visible(j, (uint64_t)r, c)) s += exp((double)j->scale * xr[c] - m);
        for (uint32_t c = 0; c < j->cols; c++) {
            double z = (double)j->scale * xr[c] - m;
            yr[c] = s > 0 && job_visible(j, (uint64_t)r, c) ? (float)(j->log ? z - log(s) : exp(z) / s) : 0.0f;
        }
    }
}

static void ref_softmax_bwd_rows(const softmax_job* j, const float* y, const float* dy, float* dx) {
#pragma omp parallel for schedule(static) if ((uint64_t)j->rows * j->cols > (1u << 16))
    for (int64_t r = 0; r < (int64_t)j->rows; r++) {
        uint64_t base = (uint64_t)r * j->cols;
        double d = 0;
        for (uint32_t c = 0; c < j->cols; c++) d += j->log ? dy[base + c] : (double)dy[base + c] * y[base + c];
        for (uint32_t c = 0; c < j->cols; c++) {
            double g = j->log ? dy[base + c] - exp((double)y[base + c]) * d : y[base + c] * (dy[base + c] - d);
            dx[base + c] = (float)(dx[base + c] + (double)j->scale * g);
        }
    }
}

static vkr_status check_rowwise(const vkr_rowwise_params* p, const char* op) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    return vkr_nn_check_dims(op, "rows", p->rows, "cols", p->cols);
}

static softmax_job rowwise_job(const vkr_rowwise_params* p, bool log) {
    return (softmax_job){.rows = p->rows, .cols = p->cols, .q_len = 1, .heads = 1, .scale = 1.0f, .log = log};
}

/* Checks attention params; fills the engine job (without the mask pointer). */
static vkr_status attn_job(const vkr_attn_softmax_params* p, const char* op, softmax_job* out) {
    memset(out, 0, sizeof *out);
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    if (p->batch == 0 || p->heads == 0 || p->q_len == 0 || p->k_len == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: batch %u, heads %u, q_len %u and k_len %u must all be >= 1", op,
                        p->batch, p->heads, p->q_len, p->k_len);
    if (!isfinite(p->scale)) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: scale %g is not finite", op, p->scale);
    uint64_t rows = (uint64_t)p->batch * p->heads * p->q_len;
    if (rows * p->k_len > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: scores [%u*%u, %u, %u] have 2^32 or more elements", op, p->batch,
                        p->heads, p->q_len, p->k_len);
    *out = (softmax_job){.rows = (uint32_t)rows, .cols = p->k_len, .q_len = p->q_len, .heads = p->heads,
                         .scale = p->scale, .causal = p->causal};
    return VKR_OK;
}

vkr_status vkr_ref_softmax(const vkr_rowwise_params* p, const float* x, float* y) {
    VKR_TRY(check_rowwise(p, "softmax"));
    if (!x || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "softmax: x or y is NULL");
    softmax_job j = rowwise_job(p, false);
    ref_softmax_rows(&j, x, y);
    return VKR_OK;
}

vkr_status vkr_ref_softmax_bwd(const vkr_rowwise_params* p, const float* y, const float* dy, float* dx) {
    VKR_TRY(check_rowwise(p, "softmax_bwd"));
    if (!y || !dy || !dx) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "softmax_bwd: y, dy or dx is NULL");
    softmax_job j = rowwise_job(p, false);
    ref_softmax_bwd_rows(&j, y, dy, dx);
    return VKR_OK;
}

vkr_status vkr_ref_log_softmax(const vkr_rowwise_params* p, const float* x, float* y) {
    VKR_TRY(check_rowwise(p, "log_softmax"));
    if (!x || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "log_softmax: x or y is NULL");
    softmax_job j = rowwise_job(p, true);
    ref_softmax_rows(&j, x, y);
    return VKR_OK;
}

vkr_status vkr_ref_log_softmax_bwd(const vkr_rowwise_params* p, const float* y, const float* dy, float* dx) {
    VKR_TRY(check_rowwise(p, "log_softmax_bwd"));
    if (!y || !dy || !dx) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "log_softmax_bwd: y, dy or dx is NULL");
    softmax_job j = rowwise_job(p, true);
    ref_softmax_bwd_rows(&j, y, dy, dx);
    return VKR_OK;
}

vkr_status vkr_ref_attn_softmax(const vkr_attn_softmax_params* p, const float* scores, const int32_t* key_mask,
                                float* probs) {
    softmax_job j;
    VKR_TRY(attn_job(p, "attn_softmax", &j));
    if (!scores || !probs) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "attn_softmax: scores or probs is NULL");
    j.key_mask = key_mask;
    ref_softmax_rows(&j, scores, probs);
    return VKR_OK;
}

vkr_status vkr_ref_attn_softmax_bwd(const vkr_attn_softmax_params* p, const float* probs, const float* dprobs,
                                    float* dscores) {
    softmax_job j;
    VKR_TRY(attn_job(p, "attn_softmax_bwd", &j));
    if (!probs || !dprobs || !dscores)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "attn_softmax_bwd: probs, dprobs or dscores is NULL");
    ref_softmax_bwd_rows(&j, probs, dprobs, dscores);
    return VKR_OK;
}

/* Records nn_softmax for `j`; mask.buffer NULL means no padding mask (x is bound in its place and
 * never read, since the shader only reads the mask when has_mask is set). */
static vkr_status gpu_softmax_fwd(vkr_sequence* seq, const softmax_job* j, const char* op, vkr_range x,
                                  vkr_range mask, vkr_range y) {
    vkr_range r[3];
    uint64_t n = (uint64_t)j->rows * j->cols;
    VKR_TRY(vkr_range_take_words(x, n, op, "input", &r[0]));
    bool has_mask = mask.buffer != NULL;
    if (has_mask)
        VKR_TRY(vkr_range_take_words(mask, (uint64_t)(j->rows / j->q_len / j->heads) * j->cols, op, "key_mask", &r[1]));
    else
        r[1] = r[0];
    VKR_TRY(vkr_range_take_words(y, n, op, "output", &r[2]));
    struct {
        uint32_t rows, cols, q_len, heads;
        float scale;
        uint32_t causal, has_mask;
    } push = {j->rows, j->cols, j->q_len, j->heads, j->scale, j->causal, has_mask};
    vkr_nn_rows L = vkr_nn_row_layout(seq, j->rows, j->cols);
    vkr_kernel_desc d = {.shader = "nn_softmax", .binding_count = 3, .access = {VKR_READ, VKR_READ, VKR_WRITE},
                         .push_bytes = sizeof push, .spec_count = 3, .spec = {L.wg, L.lanes, j->log}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, L.groups);
}

static vkr_status gpu_softmax_bwd(vkr_sequence* seq, const softmax_job* j, const char* op, vkr_range y,
                                  vkr_range dy, vkr_range dx) {
    vkr_range r[3];
    uint64_t n = (uint64_t)j->rows * j->cols;
    VKR_TRY(vkr_range_take_words(y, n, op, "forward output", &r[0]));
    VKR_TRY(vkr_range_take_words(dy, n, op, "output gradient", &r[1]));
    VKR_TRY(vkr_range_take_words(dx, n, op, "input gradient", &r[2]));
    struct {
        uint32_t rows, cols;
        float scale;
    } push = {j->rows, j->cols, j->scale};
    vkr_nn_rows L = vkr_nn_row_layout(seq, j->rows, j->cols);
    vkr_kernel_desc d = {.shader = "nn_softmax_bwd", .binding_count = 3, .access = {VKR_READ, VKR_READ, VKR_READ_WRITE},
                         .push_bytes = sizeof push, .spec_count = 3, .spec = {L.wg, L.lanes, j->log}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, L.groups);
}

vkr_status vkr_gpu_softmax(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range x, vkr_range y) {
    VKR_TRY(check_rowwise(p, "softmax"));
    softmax_job j = rowwise_job(p, false);
    return gpu_softmax_fwd(seq, &j, "softmax", x, (vkr_range){0}, y);
}

vkr_status vkr_gpu_softmax_bwd(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range y, vkr_range dy,
                               vkr_range dx) {
    VKR_TRY(check_rowwise(p, "softmax_bwd"));
    softmax_job j = rowwise_job(p, false);
    return gpu_softmax_bwd(seq, &j, "softmax_bwd", y, dy, dx);
}

vkr_status vkr_gpu_log_softmax(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range x, vkr_range y) {
    VKR_TRY(check_rowwise(p, "log_softmax"));
    softmax_job j = rowwise_job(p, true);
    return gpu_softmax_fwd(seq, &j, "log_softmax", x, (vkr_range){0}, y);
}

vkr_status vkr_gpu_log_softmax_bwd(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range y, vkr_range dy,
                                   vkr_range dx) {
    VKR_TRY(check_rowwise(p, "log_softmax_bwd"));
    softmax_job j = rowwise_job(p, true);
    return gpu_softmax_bwd(seq, &j, "log_softmax_bwd", y, dy, dx);
}

vkr_status vkr_gpu_attn_softmax(vkr_sequence* seq, const vkr_attn_softmax_params* p, vkr_range scores,
                                vkr_range key_mask, vkr_range probs) {
    softmax_job j;
    VKR_TRY(attn_job(p, "attn_softmax", &j));
    return gpu_softmax_fwd(seq, &j, "attn_softmax", scores, key_mask, probs);
}

vkr_status vkr_gpu_attn_softmax_bwd(vkr_sequence* seq, const vkr_attn_softmax_params* p, vkr_range probs,
                                    vkr_range dprobs, vkr_range dscores) {
    softmax_job j;
    VKR_TRY(attn_job(p, "attn_softmax_bwd", &j));
    return gpu_softmax_bwd(seq, &j, "attn_softmax_bwd", probs, dprobs, dscores);
}
