#include "vkr_permute.h"

#include <string.h>

vkr_status vkr_permute_shape(const vkr_permute_params* p, uint32_t out[4]) {
    memset(out, 0, 4 * sizeof *out);
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "permute: params is NULL");
    bool seen[4] = {0};
    for (int i = 0; i < 4; i++) {
        if (p->perm[i] > 3 || seen[p->perm[i]])
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "permute: perm (%u %u %u %u) is not a permutation of 0..3",
                            p->perm[0], p->perm[1], p->perm[2], p->perm[3]);
        if (p->x_shape[i] == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "permute: x_shape[%d] is zero", i);
        seen[p->perm[i]] = true;
    }
    for (int i = 0; i < 4; i++) out[i] = p->x_shape[p->perm[i]];
    return VKR_OK;
}

/* Output shape and, per output axis, the stride of the input axis it reads. */
static vkr_status vkr_permute_layout(const vkr_permute_params* p, uint32_t y_shape[4], uint32_t x_strides[4]) {
    VKR_TRY(vkr_permute_shape(p, y_shape));
    uint32_t stride[4];
    stride[3] = 1;
    for (int i = 2; i >= 0; i--) stride[i] = stride[i + 1] * p->x_shape[i + 1];
    for (int i = 0; i < 4; i++) x_strides[i] = stride[p->perm[i]];
    return VKR_OK;
}

/* The inverse permutation as params over the output shape. */
static vkr_status vkr_permute_inverse(const vkr_permute_params* p, vkr_permute_params* inv) {
    VKR_TRY(vkr_permute_shape(p, inv->x_shape));
    for (uint32_t i = 0; i < 4; i++) inv->perm[p->perm[i]] = i;
    return VKR_OK;
}

static vkr_status vkr_permute_cpu(const vkr_permute_params* p, const float* x, float* y, bool accumulate) {
    uint32_t ys[4], xs[4];
    VKR_TRY(vkr_permute_layout(p, ys, xs));
    uint64_t i = 0;
    for (uint32_t a = 0; a < ys[0]; a++)
        for (uint32_t b = 0; b < ys[1]; b++)
            for (uint32_t c = 0; c < ys[2]; c++)
                for (uint32_t d = 0; d < ys[3]; d++, i++) {
                    float v = x[(uint64_t)a * xs[0] + (uint64_t)b * xs[1] + (uint64_t)c * xs[2] + (uint64_t)d * xs[3]];
                    y[i] = accumulate ? y[i] + v : v;
                }
    return VKR_OK;
}

vkr_status vkr_ref_permute(const vkr_permute_params* p, const float* x, float* y) {
    return vkr_permute_cpu(p, x, y, false);
}

vkr_status vkr_ref_permute_backward(const vkr_permute_params* p, const float* dy, float* dx) {
    vkr_permute_params inv;
    VKR_TRY(vkr_permute_inverse(p, &inv));
    return vkr_permute_cpu(&inv, dy, dx, true);
}

static vkr_status vkr_permute_gpu(vkr_sequence* seq, const vkr_permute_params* p, vkr_range x, vkr_range y,
                                  bool accumulate) {
    struct {
        uint32_t y_shape[4], x_strides[4], n, accumulate;
    } push;
    VKR_TRY(vkr_permute_layout(p, push.y_shape, push.x_strides));
    uint64_t n = (uint64_t)push.y_shape[0] * push.y_shape[1] * push.y_shape[2] * push.y_shape[3];
    if (n > UINT32_MAX) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "permute: %llu elements is too many",
                                        (unsigned long long)n);
    if ((x.size && x.size < n * 4) || (y.size && y.size < n * 4))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "permute: ranges hold fewer than %llu floats", (unsigned long long)n);
    push.n = (uint32_t)n;
    push.accumulate = accumulate;
    vkr_kernel_desc d = {.shader = "graph_permute", .binding_count = 2,
                         .access = {VKR_READ, accumulate ? VKR_READ_WRITE : VKR_WRITE}, .push_bytes = sizeof push};
    vkr_range r[2] = {{x.buffer, x.offset, n * 4}, {y.buffer, y.offset, n * 4}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, (n + 255) / 256);
}

vkr_status vkr_gpu_permute(vkr_sequence* seq, const vkr_permute_params* p, vkr_range x, vkr_range y) {
    return vkr_permute_gpu(seq, p, x, y, false);
}

vkr_status vkr_gpu_permute_backward(vkr_sequence* seq, const vkr_permute_params* p, vkr_range dy, vkr_range dx) {
    vkr_permute_params inv;
    VKR_TRY(vkr_permute_inverse(p, &inv));
    return vkr_permute_gpu(seq, &inv, dy, dx, true);
}
