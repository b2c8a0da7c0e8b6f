/* Plumbing shared by the nn ops (checks, dispatch, workgroup widths) and the sum-to-scalar op. */
#include "vkr_ops_nn_internal.h"

vkr_status vkr_nn_check_dims(const char* op, const char* a_name, uint32_t a, const char* b_name, uint32_t b) {
    if (a == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s must be >= 1", op, a_name);
    if (b == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s must be >= 1", op, b_name);
    if ((uint64_t)a * b > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s x %s = %u x %u has 2^32 or more elements", op, a_name, b_name,
                        a, b);
    return VKR_OK;
}

/* Several narrow rows share a workgroup (lavapipe pays tens of microseconds per workgroup, and GPUs
 * would idle most lanes); wide rows get up to 256 invocations each. */
vkr_nn_rows vkr_nn_row_layout(vkr_sequence* seq, uint32_t rows, uint32_t cols) {
    /* A CPU driver runs the shared-memory tree's barriers as costly switches between its SIMD
     * invocations: one invocation per row is 2x faster there (lavapipe, 64 columns). Wide rows keep
     * their lanes so no invocation's loops near lavapipe's 65535-iteration limit. */
    const bool cpu = vkr_device_get_info(vkr_sequence_device(seq))->type == VKR_DEVICE_CPU;
    uint32_t lanes = 1;
    while (!(cpu && cols <= 1024) && lanes < VKR_NN_WG && (uint64_t)lanes * 8 < cols) lanes *= 2;
    uint32_t wg = lanes < 64 ? 64 : lanes;
    uint32_t per_group = wg / lanes;
    return (vkr_nn_rows){wg, lanes, ((uint64_t)rows + per_group - 1) / per_group};
}

vkr_status vkr_ref_sum_scalar(const vkr_sum_params* p, const float* x, float* out) {
    if (!p || !x || !out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_sum_scalar: NULL argument");
    if (p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "sum_scalar: n must be >= 1");
    double s = 0;
    for (uint32_t i = 0; i < p->n; i++) s += x[i];
    *out = (float)(s * p->scale);
    return VKR_OK;
}

vkr_status vkr_gpu_sum_scalar(vkr_sequence* seq, const vkr_sum_params* p, vkr_range x, vkr_range out) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_sum_scalar: params is NULL");
    if (p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "sum_scalar: n must be >= 1");
    vkr_range r[2];
    VKR_TRY(vkr_range_take_words(x, p->n, "sum_scalar", "x", &r[0]));
    VKR_TRY(vkr_range_take_words(out, 1, "sum_scalar", "out", &r[1]));
    struct {
        uint32_t n;
        float scale;
    } push = {p->n, p->scale};
    vkr_kernel_desc d = {.shader = "nn_sum", .binding_count = 2, .access = {VKR_READ, VKR_WRITE},
                         .push_bytes = sizeof push, .spec_count = 2, .spec = {VKR_NN_WG, VKR_NN_WG}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, 1);
}
