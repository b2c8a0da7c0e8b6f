/* Inverted dropout with a counter-based mask: Philox4x32-10 of the element's block index, keyed by
 * the seed, compared with an integer threshold. Integer-only mask logic and a scale computed once
 * on the host make CPU and GPU (shaders/ew_dropout.comp) agree bit for bit. */
#include <math.h>
#include <string.h>

#include "vkr_ops_ew_internal.h"

/* Philox4x32-10 on `lanes` counters at once, c[w][lane] in place (word w of each lane), one key:
 * lane-parallel loops the compiler vectorizes for the CPU mask, and the one-lane reference. */
static inline void vkr_philox_lanes(uint32_t* c0, uint32_t* c1, uint32_t* c2, uint32_t* c3, int lanes, uint32_t k0,
                                    uint32_t k1) {
    for (int round = 0; round < 10; round++) {
#pragma omp simd
        for (int j = 0; j < lanes; j++) {
            uint64_t m0 = (uint64_t)0xD2511F53u * c0[j], m1 = (uint64_t)0xCD9E8D57u * c2[j];
            uint32_t n0 = (uint32_t)(m1 >> 32) ^ c1[j] ^ k0, n2 = (uint32_t)(m0 >> 32) ^ c3[j] ^ k1;
            c1[j] = (uint32_t)m1;
            c3[j] = (uint32_t)m0;
            c0[j] = n0;
            c2[j] = n2;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}

void vkr_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    vkr_philox_lanes(&c0, &c1, &c2, &c3, 1, key[0], key[1]);
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* Mask threshold and keep scale derived from p (validated). */
typedef struct vkr_dropout_consts {
    uint32_t threshold; /* keep iff the random word >= threshold */
    float scale;        /* 1 / (1 - p) */
} vkr_dropout_consts;

static vkr_status vkr_dropout_check(const vkr_dropout_params* p, const char* op, vkr_dropout_consts* c) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    if (p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: n is 0", op);
    if (!(p->p >= 0.0f && p->p < 1.0f))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: drop probability p = %g is not in [0, 1)", op, (double)p->p);
    double t = nearbyint((double)p->p * 4294967296.0);
    c->threshold = t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
    c->scale = (float)(1.0 / (1.0 - (double)p->p));
    return VKR_OK;
}

/* Forward: y = [r +] mask([relu] x) * scale. Backward (x is dy): y += mask(dy) * scale * [saved > 0],
 * y may be NULL. Philox runs on LANES blocks at once (vectorized: the mask is most of dropout's cost
 * on the CPU). */
static void vkr_dropout_ref_apply(const vkr_dropout_params* p, const vkr_dropout_consts* c, const float* x,
                                  const float* saved, const float* r, float* y, bool backward) {
    enum { LANES = 16 };
    const int64_t blocks = ((int64_t)p->n + 3) / 4, groups = (blocks + LANES - 1) / LANES;
    const bool relu_in = p->relu && !backward, relu_out = p->relu && backward;
#pragma omp parallel for if (blocks * 4 >= VKR_EW_OMP_MIN)
    for (int64_t grp = 0; grp < groups; grp++) {
        uint32_t c0[LANES], c1[LANES], c2[LANES], c3[LANES];
        for (int j = 0; j < LANES; j++) c0[j] = (uint32_t)(grp * LANES + j), c1[j] = p->stream, c2[j] = c3[j] = 0;
        vkr_philox_lanes(c0, c1, c2, c3, LANES, (uint32_t)p->seed, (uint32_t)(p->seed >> 32));
        uint32_t word[4 * LANES]; /* element e of the group takes word e: block e / 4, output e % 4 */
        for (int j = 0; j < LANES; j++)
            word[4 * j] = c0[j], word[4 * j + 1] = c1[j], word[4 * j + 2] = c2[j], word[4 * j + 3] = c3[j];
        const size_t base = (size_t)grp * 4 * LANES;
        const size_t count = p->n - base < 4 * LANES ? p->n - base : 4 * LANES;
        const float* xs = x + base;
        const uint32_t threshold = c->threshold;
        const float scale = c->scale;
        /* a dropped element is +0 whatever x holds (inf and NaN included), as on the GPU: the product's
         * bits are masked, not multiplied by 0 */
        float v[4 * LANES];
#pragma omp simd
        for (size_t e = 0; e < count; e++) {
            int32_t bits;
            float in = relu_in ? (xs[e] > 0.0f ? xs[e] : 0.0f) : xs[e];
            float f = in * scale;
            memcpy(&bits, &f, 4);
            bits &= -(int32_t)(word[e] >= threshold && (!relu_out || saved[base + e] > 0.0f));
            memcpy(&v[e], &bits, 4);
        }
        if (r && !backward)
            for (size_t e = 0; e < count; e++) v[e] = r[base + e] + v[e];
        if (!y) continue;
        float* ys = y + base;
        if (backward)
            for (size_t e = 0; e < count; e++) ys[e] += v[e];
        else
            memcpy(ys, v, count * sizeof *ys);
    }
}

vkr_status vkr_ref_dropout_fused(const vkr_dropout_params* p, const float* x, const float* r, float* y) {
    vkr_dropout_consts c;
    VKR_TRY(vkr_dropout_check(p, "vkr_ref_dropout", &c));
    if (!x || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_dropout: x and y must not be NULL");
    if (p->residual && !r) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_dropout: residual needs r");
    vkr_dropout_ref_apply(p, &c, x, NULL, p->residual ? r : NULL, y, false);
    return VKR_OK;
}

vkr_status vkr_ref_dropout_fused_backward(const vkr_dropout_params* p, const float* x, const float* dy, float* dx,
                                          float* dr) {
    vkr_dropout_consts c;
    VKR_TRY(vkr_dropout_check(p, "vkr_ref_dropout_backward", &c));
    if (!dy || (!dx && !(p->residual && dr)))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_dropout_backward: dy and a gradient to write are needed");
    if (p->relu && dx && !x) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_dropout_backward: relu needs x");
    if (dx) vkr_dropout_ref_apply(p, &c, dy, x, NULL, dx, true);
    if (p->residual && dr)
        for (uint32_t i = 0; i < p->n; i++) dr[i] += dy[i];
    return VKR_OK;
}

vkr_status vkr_ref_dropout(const vkr_dropout_params* p, const float* x, float* y) {
    return vkr_ref_dropout_fused(p, x, NULL, y);
}

vkr_status vkr_ref_dropout_backward(const vkr_dropout_params* p, const float* dy, float* dx) {
    return vkr_ref_dropout_fused_backward(p, NULL, dy, dx, NULL);
}

/* Push constants of ew_dropout.comp. */
typedef struct vkr_dropout_push {
    uint32_t n, threshold;
    float scale;
    uint32_t key0, key1, stream;
} vkr_dropout_push;

/* Records one dropout dispatch. Forward: x, r (residual) -> y. Backward: dy in `x`, saved = the
 * forward's x (relu), dx in `y` (may be empty), dr in `r` (residual). With step.buffer set the stream
 * word is read from it on the GPU. */
static vkr_status vkr_dropout_gpu_apply(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step, vkr_range x,
                                        vkr_range saved, vkr_range r, vkr_range y, bool backward, const char* op) {
    vkr_dropout_consts c;
    VKR_TRY(vkr_dropout_check(p, op, &c));
    VKR_TRY(vkr_range_take_words(x, p->n, op, backward ? "dy" : "x", &x));
    const bool write_y = !backward || y.buffer != NULL;
    if (!write_y && !p->residual) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: there is no gradient to write", op);
    if (write_y) VKR_TRY(vkr_range_take_words(y, p->n, op, backward ? "dx" : "y", &y));
    if (p->residual) VKR_TRY(vkr_range_take_words(r, p->n, op, backward ? "dr" : "r", &r));
    /* An unused writable binding repeats the written one: validation counts a writable binding as
     * written, so it must not alias a range that other dispatches read. */
    if (!write_y) y = r;
    if (!p->residual) r = y;
    const bool read_saved = backward && p->relu && write_y;
    if (read_saved) VKR_TRY(vkr_range_take_words(saved, p->n, op, "x", &saved));
    else saved = x;
    const bool stepped = step.buffer != NULL;
    if (stepped) VKR_TRY(vkr_range_take_words(step, 1, op, "step", &step));
    vkr_dropout_push push = {p->n, c.threshold, c.scale, (uint32_t)p->seed, (uint32_t)(p->seed >> 32), p->stream};
    const vkr_range ranges[5] = {x, y, stepped ? step : x, r, saved}; /* unused bindings repeat x, never accessed */
    const vkr_access y_access = backward ? VKR_READ_WRITE : VKR_WRITE;
    const vkr_access r_access = p->residual && !backward ? VKR_READ : y_access;
    vkr_kernel_desc d = {.shader = "ew_dropout", .binding_count = 5,
                         .access = {VKR_READ, y_access, VKR_READ, r_access, VKR_READ},
                         .push_bytes = sizeof push, .spec_count = 7,
                         .spec = {VKR_EW_WG, backward, stepped, vkr_ew_vec4(p->n, ranges, 5), p->relu, p->residual,
                                  write_y}};
    const uint64_t blocks = ((uint64_t)p->n + 3) / 4;
    return vkr_sequence_dispatch_grid(seq, &d, ranges, &push, (blocks + VKR_EW_WG - 1) / VKR_EW_WG);
}

vkr_status vkr_gpu_dropout_fused(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step, vkr_range x,
                                 vkr_range r, vkr_range y) {
    return vkr_dropout_gpu_apply(seq, p, step, x, (vkr_range){0}, r, y, false, "vkr_gpu_dropout");
}

vkr_status vkr_gpu_dropout_fused_backward(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step, vkr_range x,
                                          vkr_range dy, vkr_range dx, vkr_range dr) {
    return vkr_dropout_gpu_apply(seq, p, step, dy, x, dr, dx, true, "vkr_gpu_dropout_backward");
}

vkr_status vkr_gpu_dropout(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range x, vkr_range y) {
    return vkr_dropout_gpu_apply(seq, p, (vkr_range){0}, x, (vkr_range){0}, (vkr_range){0}, y, false, "vkr_gpu_dropout");
}

vkr_status vkr_gpu_dropout_stepped(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step, vkr_range x,
                                   vkr_range y) {
    if (!step.buffer) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_dropout_stepped: step has no buffer");
    return vkr_dropout_gpu_apply(seq, p, step, x, (vkr_range){0}, (vkr_range){0}, y, false, "vkr_gpu_dropout_stepped");
}

vkr_status vkr_gpu_dropout_backward_stepped(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step,
                                            vkr_range dy, vkr_range dx) {
    if (!step.buffer) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_dropout_backward_stepped: step has no buffer");
    return vkr_dropout_gpu_apply(seq, p, step, dy, (vkr_range){0}, (vkr_range){0}, dx, true,
                                 "vkr_gpu_dropout_backward_stepped");
}

vkr_status vkr_gpu_dropout_backward(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range dy, vkr_range dx) {
    return vkr_dropout_gpu_apply(seq, p, (vkr_range){0}, dy, (vkr_range){0}, (vkr_range){0}, dx, true,
                                 "vkr_gpu_dropout_backward");
}
