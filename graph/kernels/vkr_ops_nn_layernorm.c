/* Layer norm over the last axis: CPU reference and GPU recorders (shaders/nn_layernorm*.comp). */
#include <math.h>

#include "vkr_ops_nn_internal.h"

/* Columns per workgroup of nn_layernorm_bwd_params.comp (its local_size_x). */
#define LN_PARAM_COLS 32u

static vkr_status check_ln(const vkr_layernorm_params* p, const char* op) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    VKR_TRY(vkr_nn_check_dims(op, "rows", p->rows, "cols", p->cols));
    if (!(p->eps > 0) || !isfinite(p->eps))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: eps %g must be positive and finite", op, p->eps);
    return VKR_OK;
}

vkr_status vkr_ref_layernorm(const vkr_layernorm_params* p, const float* x, const float* gamma, const float* beta,
                             float* y, float* stats) {
    VKR_TRY(check_ln(p, "layernorm"));
    if (!x || !gamma || !beta || !y || !stats)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "layernorm: x, gamma, beta, y or stats is NULL");
    const uint32_t rows = p->rows, cols = p->cols;
#pragma omp parallel for schedule(static) if ((uint64_t)rows * cols > (1u << 16))
    for (int64_t r = 0; r < (int64_t)rows; r++) {
        const float* xr = x + (uint64_t)r * cols;
        float* yr = y + (uint64_t)r * cols;
        double mean = 0, var = 0;
        for (uint32_t c = 0; c < cols; c++) mean += xr[c];
        mean /= cols;
        for (uint32_t c = 0; c < cols; c++) var += (xr[c] - mean) * (xr[c] - mean);
        double rstd = 1.0 / sqrt(var / cols + p->eps);
        for (uint32_t c = 0; c < cols; c++) yr[c] = (float)((xr[c] - mean) * rstd * gamma[c] + beta[c]);
        stats[r] = (float)mean;
        stats[rows + r] = (float)rstd;
    }
    return VKR_OK;
}

vkr_status vkr_ref_layernorm_bwd(const vkr_layernorm_params* p, const float* x, const float* gamma,
                                 const float* stats, const float* dy, float* dx, float* dgamma, float* dbeta) {
    VKR_TRY(check_ln(p, "layernorm_bwd"));
    if (!x || !gamma || !stats || !dy || !dx || !dgamma || !dbeta)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "layernorm_bwd: x, gamma, stats, dy, dx, dgamma or dbeta is NULL");
    const uint32_t rows = p->rows, cols = p->cols;
#pragma omp parallel for schedule(static) if ((uint64_t)rows * cols > (1u << 16))
    for (int64_t r = 0; r < (int64_t)rows; r++) {
        uint64_t base = (uint64_t)r * cols;
        double mean = stats[r], rstd = stats[rows + r], a = 0, b = 0;
        for (uint32_t c = 0; c < cols; c++) {
            double g = (double)dy[base + c] * gamma[c];
            a += g;
            b += g * (x[base + c] - mean) * rstd;
        }
        a /= cols;
        b /= cols;
        for (uint32_t c = 0; c < cols; c++) {
            double g = (double)dy[base + c] * gamma[c];
            double xhat = (x[base + c] - mean) * rstd;
            dx[base + c] = (float)(dx[base + c] + rstd * (g - a - xhat * b));
        }
    }
#pragma omp parallel for schedule(static) if ((uint64_t)rows * cols > (1u << 16))
    for (int64_t c = 0; c < (int64_t)cols; c++) {
        double sg = 0, sb = 0;
        for (uint32_t r = 0; r < rows; r++) {
            double d = dy[(uint64_t)r * cols + c];
            sg += d * (x[(uint64_t)r * cols + c] - (double)stats[r]) * stats[rows + r];
            sb += d;
        }
        dgamma[c] = (float)(dgamma[c] + sg);
        dbeta[c] = (float)(dbeta[c] + sb);
    }
    return VKR_OK;
}

vkr_status vkr_gpu_layernorm(vkr_sequence* seq, const vkr_layernorm_params* p, vkr_range x, vkr_range gamma,
                             vkr_range beta, vkr_range y, vkr_range stats) {
    VKR_TRY(check_ln(p, "layernorm"));
    uint64_t n = (uint64_t)p->rows * p->cols;
    vkr_range r[5];
    VKR_TRY(vkr_range_take_words(x, n, "layernorm", "x", &r[0]));
    VKR_TRY(vkr_range_take_words(gamma, p->cols, "layernorm", "gamma", &r[1]));
    VKR_TRY(vkr_range_take_words(beta, p->cols, "layernorm", "beta", &r[2]));
    VKR_TRY(vkr_range_take_words(y, n, "layernorm", "y", &r[3]));
    VKR_TRY(vkr_range_take_words(stats, 2ull * p->rows, "layernorm", "stats", &r[4]));
    struct {
        uint32_t rows, cols;
        float eps;
    } push = {p->rows, p->cols, p->eps};
    vkr_nn_rows L = vkr_nn_row_layout(seq, p->rows, p->cols);
    vkr_kernel_desc d = {.shader = "nn_layernorm", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_WRITE, VKR_WRITE}, .push_bytes = sizeof push,
                         .spec_count = 2, .spec = {L.wg, L.lanes}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, L.groups);
}

vkr_status vkr_gpu_layernorm_bwd(vkr_sequence* seq, const vkr_layernorm_params* p, vkr_range x, vkr_range gamma,
                                 vkr_range stats, vkr_range dy, vkr_range dx, vkr_range dgamma, vkr_range dbeta) {
    VKR_TRY(check_ln(p, "layernorm_bwd"));
    const char* op = "layernorm_bwd";
    uint64_t n = (uint64_t)p->rows * p->cols;
    vkr_range rx, rg, rs, rdy, rdx, rdg, rdb;
    VKR_TRY(vkr_range_take_words(x, n, op, "x", &rx));
    VKR_TRY(vkr_range_take_words(gamma, p->cols, op, "gamma", &rg));
    VKR_TRY(vkr_range_take_words(stats, 2ull * p->rows, op, "stats", &rs));
    VKR_TRY(vkr_range_take_words(dy, n, op, "dy", &rdy));
    VKR_TRY(vkr_range_take_words(dx, n, op, "dx", &rdx));
    VKR_TRY(vkr_range_take_words(dgamma, p->cols, op, "dgamma", &rdg));
    VKR_TRY(vkr_range_take_words(dbeta, p->cols, op, "dbeta", &rdb));
    struct {
        uint32_t rows, cols;
    } push = {p->rows, p->cols};
    vkr_range rows_r[5] = {rx, rg, rs, rdy, rdx};
    vkr_nn_rows L = vkr_nn_row_layout(seq, p->rows, p->cols);
    vkr_kernel_desc drow = {.shader = "nn_layernorm_bwd", .binding_count = 5,
                            .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ, VKR_READ_WRITE},
                            .push_bytes = sizeof push, .spec_count = 2, .spec = {L.wg, L.lanes}};
    VKR_TRY(vkr_sequence_dispatch_grid(seq, &drow, rows_r, &push, L.groups));
    vkr_range cols_r[5] = {rx, rs, rdy, rdg, rdb};
    vkr_kernel_desc dcol = {.shader = "nn_layernorm_bwd_params", .binding_count = 5,
                            .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ_WRITE, VKR_READ_WRITE},
                            .push_bytes = sizeof push};
    return vkr_sequence_dispatch_grid(seq, &dcol, cols_r, &push, (p->cols + LN_PARAM_COLS - 1) / LN_PARAM_COLS);
}
