/* Argmax and top-k per row (no gradient): CPU references and GPU recorders
 * (shaders/nn_argmax.comp, shaders/nn_topk.comp), ranked by vkr_nn_rank_key with ties to the lower
 * index on both sides. */
#include <stdlib.h>

#include "vkr_ops_nn_internal.h"

vkr_status vkr_ref_argmax(const vkr_rowwise_params* p, const float* x, int32_t* idx) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "argmax: params is NULL");
    VKR_TRY(vkr_nn_check_dims("argmax", "rows", p->rows, "cols", p->cols));
    if (!x || !idx) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "argmax: x or idx is NULL");
    for (uint32_t r = 0; r < p->rows; r++) {
        const float* row = x + (uint64_t)r * p->cols;
        uint32_t best = 0;
        for (uint32_t c = 1; c < p->cols; c++)
            if (vkr_nn_rank_key(row[c]) > vkr_nn_rank_key(row[best])) best = c;
        idx[r] = (int32_t)best;
    }
    return VKR_OK;
}

vkr_status vkr_gpu_argmax(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range x, vkr_range idx) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "argmax: params is NULL");
    VKR_TRY(vkr_nn_check_dims("argmax", "rows", p->rows, "cols", p->cols));
    if (p->cols > INT32_MAX) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "argmax: cols %u exceeds int32", p->cols);
    vkr_range r[2];
    VKR_TRY(vkr_range_take_words(x, (uint64_t)p->rows * p->cols, "argmax", "x", &r[0]));
    VKR_TRY(vkr_range_take_words(idx, p->rows, "argmax", "idx", &r[1]));
    struct {
        uint32_t rows, cols;
    } push = {p->rows, p->cols};
    vkr_nn_rows L = vkr_nn_row_layout(seq, p->rows, p->cols);
    vkr_kernel_desc d = {.shader = "nn_argmax", .binding_count = 2, .access = {VKR_READ, VKR_WRITE},
                         .push_bytes = sizeof push, .spec_count = 2, .spec = {L.wg, L.lanes}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, L.groups);
}

static vkr_status check_topk(const vkr_topk_params* p, const char* op) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    VKR_TRY(vkr_nn_check_dims(op, "rows", p->rows, "cols", p->cols));
    if (p->k == 0 || p->k > p->cols || p->k > VKR_TOPK_MAX_K)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: k %u must be in [1, min(cols %u, %u)]", op, p->k, p->cols,
                        VKR_TOPK_MAX_K);
    if (p->cols > INT32_MAX) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: cols %u exceeds int32", op, p->cols);
    return vkr_nn_check_dims(op, "rows", p->rows, "k", p->k);
}

/* A candidate of the reference sort. */
typedef struct ranked {
    uint32_t key, idx;
} ranked;

static int cmp_ranked(const void* a, const void* b) {
    const ranked *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

vkr_status vkr_ref_topk(const vkr_topk_params* p, const float* x, float* values, int32_t* indices) {
    VKR_TRY(check_topk(p, "topk"));
    if (!x || !values || !indices) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "topk: x, values or indices is NULL");
    ranked* buf = malloc((size_t)p->cols * sizeof *buf);
    if (!buf) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "topk: no memory for a row of %u", p->cols);
    for (uint32_t r = 0; r < p->rows; r++) {
        const float* row = x + (uint64_t)r * p->cols;
        for (uint32_t c = 0; c < p->cols; c++) buf[c] = (ranked){vkr_nn_rank_key(row[c]), c};
        qsort(buf, p->cols, sizeof *buf, cmp_ranked);
        for (uint32_t i = 0; i < p->k; i++) {
            values[(uint64_t)r * p->k + i] = row[buf[i].idx];
            indices[(uint64_t)r * p->k + i] = (int32_t)buf[i].idx;
        }
    }
    free(buf);
    return VKR_OK;
}

vkr_status vkr_gpu_topk(vkr_sequence* seq, const vkr_topk_params* p, vkr_range x, vkr_range values,
                        vkr_range indices) {
    VKR_TRY(check_topk(p, "topk"));
    vkr_range r[3];
    VKR_TRY(vkr_range_take_words(x, (uint64_t)p->rows * p->cols, "topk", "x", &r[0]));
    VKR_TRY(vkr_range_take_words(values, (uint64_t)p->rows * p->k, "topk", "values", &r[1]));
    VKR_TRY(vkr_range_take_words(indices, (uint64_t)p->rows * p->k, "topk", "indices", &r[2]));
    struct {
        uint32_t rows, cols, k;
    } push = {p->rows, p->cols, p->k};
    vkr_kernel_desc d = {.shader = "nn_topk", .binding_count = 3, .access = {VKR_READ, VKR_WRITE, VKR_WRITE},
                         .push_bytes = sizeof push};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, p->rows);
}
