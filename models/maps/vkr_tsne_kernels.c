/* GPU recorders of the t-SNE kernels other than the FFT repulsion: binary search, attraction,
 * exact repulsion and the optimizer step; and the host attraction of CPU drivers. */
#include <math.h>

#include "vkr_tsne_internal.h"

vkr_status vkr_tsne_dispatch(vkr_sequence* seq, const vkr_kernel_desc* desc, const vkr_range* ranges,
                             const void* push, uint64_t invocations, uint32_t wg) {
    uint64_t groups = (invocations + wg - 1) / wg;
    return vkr_sequence_dispatch_grid(seq, desc, ranges, push, groups ? groups : 1);
}

vkr_status vkr_gpu_tsne_sigma(vkr_sequence* seq, uint32_t n, uint32_t k, float perplexity, vkr_range dist,
                              vkr_range cond) {
    const char* op = "tsne_sigma";
    if (n == 0 || k == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: n and k must be >= 1", op);
    if (!(perplexity >= 1.0f)) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: perplexity must be >= 1", op);
    uint64_t bytes = (uint64_t)n * k * 4;
    vkr_range r[2];
    VKR_TRY(vkr_range_take(dist, bytes, op, "dist", &r[0]));
    VKR_TRY(vkr_range_take(cond, bytes, op, "cond", &r[1]));
    vkr_kernel_desc d = {.shader = "tsne_sigma", .binding_count = 2, .access = {VKR_READ, VKR_WRITE},
                         .push_bytes = 12};
    struct { uint32_t n, k; float log_perp; } push = {n, k, logf(perplexity)};
    return vkr_tsne_dispatch(seq, &d, r, &push, n, 64);
}

vkr_status vkr_tsne_attract_host(const vkr_tsne_p* p, const float* y, float* attr) {
    if (!p || !p->row_ptr || !y || !attr || p->n == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_attract_host: NULL argument or no points");
    /* One thread: OpenMP workers spin-wait after a parallel region, which takes the cores from the
     * driver's threads that run the next submission (measured slower than the kernel that way). */
    const int64_t n = p->n;
    for (int64_t i = 0; i < n; i++) {
        float yx = y[2 * i], yy = y[2 * i + 1], ax = 0.0f, ay = 0.0f;
        for (uint32_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
            const uint32_t j = p->col[e] < p->n ? p->col[e] : p->n - 1; /* clamped as the kernel does */
            float dx = yx - y[2 * (size_t)j], dy = yy - y[2 * (size_t)j + 1];
            float w = p->val[e] / (1.0f + dx * dx + dy * dy);
            ax += w * dx;
            ay += w * dy;
        }
        attr[2 * i] = ax;
        attr[2 * i + 1] = ay;
    }
    return VKR_OK;
}

vkr_status vkr_gpu_tsne_attract(vkr_sequence* seq, uint32_t n, vkr_range row_ptr, vkr_range col, vkr_range val,
                                vkr_range y, vkr_range attr) {
    const char* op = "tsne_attract";
    if (!seq || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: need a sequence and n >= 1", op);
    vkr_range r[5];
    VKR_TRY(vkr_range_take(row_ptr, ((uint64_t)n + 1) * 4, op, "row_ptr", &r[0]));
    /* nnz is only known on the device: bind col and val whole (the kernel reads row_ptr's ranges). */
    VKR_TRY(vkr_range_check(col, 4, op, "col"));
    VKR_TRY(vkr_range_check(val, 4, op, "val"));
    r[1] = col;
    r[2] = val;
    VKR_TRY(vkr_range_take(y, (uint64_t)n * 8, op, "y", &r[3]));
    VKR_TRY(vkr_range_take(attr, (uint64_t)n * 8, op, "attr", &r[4]));
    /* Lanes per row: 8 covers a row of 3 x perplexity (+ transposed) entries in a few strides; fewer
     * only where the subgroup itself is narrower. */
    uint32_t sg = vkr_device_get_info(vkr_sequence_device(seq))->subgroup_size;
    uint32_t lanes = sg >= 8 ? 8 : sg >= 4 ? 4 : sg >= 2 ? 2 : 1;
    vkr_kernel_desc d = {.shader = "tsne_attract", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ, VKR_WRITE}, .push_bytes = 4,
                         .spec_count = 1, .spec = {lanes}};
    return vkr_tsne_dispatch(seq, &d, r, &n, (uint64_t)n * lanes, 64);
}

vkr_status vkr_gpu_tsne_repulse_exact(vkr_sequence* seq, uint32_t n, vkr_range y, vkr_range rep, vkr_range zrow) {
    const char* op = "tsne_repulse";
    if (!seq || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: need a sequence and n >= 1", op);
    vkr_range r[3];
    VKR_TRY(vkr_range_take(y, (uint64_t)n * 8, op, "y", &r[0]));
    VKR_TRY(vkr_range_take(rep, (uint64_t)n * 8, op, "rep", &r[1]));
    VKR_TRY(vkr_range_take(zrow, (uint64_t)n * 4, op, "zrow", &r[2]));
    /* Register blocking (points per invocation) pays most on a CPU driver, where the per-tile
     * barriers are coroutine switches and SIMD lanes are few; a GPU wants more, smaller threads. */
    bool cpu = vkr_device_get_info(vkr_sequence_device(seq))->type == VKR_DEVICE_CPU;
    uint32_t wg = 64, ppi = cpu ? 16 : 2;
    vkr_kernel_desc d = {.shader = "tsne_repulse", .binding_count = 3, .access = {VKR_READ, VKR_WRITE, VKR_WRITE},
                         .push_bytes = 4, .spec_count = 2, .spec = {wg, ppi}};
    return vkr_tsne_dispatch(seq, &d, r, &n, ((uint64_t)n + ppi - 1) / ppi, wg);
}

vkr_status vkr_gpu_tsne_step(vkr_sequence* seq, const vkr_tsne_step_params* p, vkr_range attr, vkr_range rep,
                             vkr_range z, vkr_range y, vkr_range update, vkr_range gains) {
    const char* op = "tsne_step";
    if (!p || p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: n must be >= 1", op);
    uint64_t bytes = (uint64_t)p->n * 8;
    vkr_range r[6];
    VKR_TRY(vkr_range_take(attr, bytes, op, "attr", &r[0]));
    VKR_TRY(vkr_range_take(rep, bytes, op, "rep", &r[1]));
    VKR_TRY(vkr_range_take(z, 4, op, "z", &r[2]));
    VKR_TRY(vkr_range_take(y, bytes, op, "y", &r[3]));
    VKR_TRY(vkr_range_take(update, bytes, op, "update", &r[4]));
    VKR_TRY(vkr_range_take(gains, bytes, op, "gains", &r[5]));
    vkr_kernel_desc d = {.shader = "tsne_step", .binding_count = 6,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ_WRITE, VKR_READ_WRITE, VKR_READ_WRITE},
                         .push_bytes = 16};
    struct { uint32_t count; float a, m, lr; } push = {p->n * 2, p->exaggeration, p->momentum, p->learning_rate};
    return vkr_tsne_dispatch(seq, &d, r, &push, (uint64_t)p->n * 2, 64);
}
