/* The map and reduce-to engines (see vkr_ops_ew_internal.h): CPU references and GPU recorders. */
#include <string.h>

#include "vkr_ops_ew_internal.h"

/* ---- map ---- */

static float vkr_ew_map_apply(vkr_ew_map_op op, float a, float b) {
    switch (op) {
        case VKR_EW_MAP_ADD: return a + b;
        case VKR_EW_MAP_SUB: return a - b;
        case VKR_EW_MAP_MUL: return a * b;
        case VKR_EW_MAP_DIV: return a / b;
        default: return a;
    }
}

/* Index of output element o in an operand with broadcast strides st: o itself when the operand has
 * the output's shape (the common case, no division), else the general coordinate walk. */
static inline uint32_t vkr_ew_operand_index(bool same, const uint32_t out[4], const uint32_t st[4], uint32_t o) {
    return same ? o : vkr_ew_broadcast_index(out, st, o);
}

/* One output row of w elements: a and b step by sa and sb (1 along the row, 0 when broadcast along
 * it); the operation is chosen once per row so that the loop vectorizes. The same float operations
 * in the same order as the element-wise form. */
static void vkr_ew_map_row(const vkr_ew_map* m, const float* a, uint32_t sa, const float* b, uint32_t sb, float* y,
                           uint32_t w) {
    const float alpha = m->alpha;
#define VKR_EW_ROW(EXPR)                                                                                           \
    for (uint32_t i = 0; i < w; i++) {                                                                             \
        float v = alpha * (EXPR);                                                                                  \
        y[i] = m->accumulate ? y[i] + v : v;                                                                       \
    }                                                                                                              \
    break
    switch (m->op) {
        case VKR_EW_MAP_ADD: VKR_EW_ROW(a[i * sa] + b[i * sb]);
        case VKR_EW_MAP_SUB: VKR_EW_ROW(a[i * sa] - b[i * sb]);
        case VKR_EW_MAP_MUL: VKR_EW_ROW(a[i * sa] * b[i * sb]);
        case VKR_EW_MAP_DIV: VKR_EW_ROW(a[i * sa] / b[i * sb]);
        default: VKR_EW_ROW(a[i * sa]);
    }
#undef VKR_EW_ROW
}

void vkr_ew_ref_map(const vkr_ew_map* m, const float* a, const float* b, float* y) {
    uint32_t as[4], bs[4];
    vkr_ew_broadcast_strides(m->a_shape, as);
    vkr_ew_broadcast_strides(m->b_shape, bs);
    const bool a_same = memcmp(m->a_shape, m->out, sizeof m->out) == 0;
    const bool b_same = memcmp(m->b_shape, m->out, sizeof m->out) == 0;
    const int64_t n = (int64_t)vkr_shape_numel(m->out);
    const uint32_t w = m->out[3];
    if (w >= 16) { /* rows along the innermost dimension: one index walk per row, not per element */
        const bool no_b = m->op == VKR_EW_MAP_A;
        const int64_t rows = n / w;
#pragma omp parallel for if (n >= VKR_EW_OMP_MIN)
        for (int64_t r = 0; r < rows; r++) {
            uint32_t o0 = (uint32_t)r * w;
            const float* ar = a + vkr_ew_operand_index(a_same, m->out, as, o0);
            const float* br = no_b ? a : b + vkr_ew_operand_index(b_same, m->out, bs, o0);
            vkr_ew_map_row(m, ar, a_same ? 1u : as[3], br, no_b ? 0u : b_same ? 1u : bs[3], y + o0, w);
        }
        return;
    }
#pragma omp parallel for if (n >= VKR_EW_OMP_MIN)
    for (int64_t o = 0; o < n; o++) {
        float bv = m->op == VKR_EW_MAP_A ? 0.0f : b[vkr_ew_operand_index(b_same, m->out, bs, (uint32_t)o)];
        float v = m->alpha * vkr_ew_map_apply(m->op, a[vkr_ew_operand_index(a_same, m->out, as, (uint32_t)o)], bv);
        y[o] = m->accumulate ? y[o] + v : v;
    }
}

/* Push constants of ew_map.comp. */
typedef struct vkr_ew_map_push {
    uint32_t dims[4], a_stride[4], b_stride[4];
    uint32_t n;
    float alpha;
} vkr_ew_map_push;

static bool vkr_shape_eq(const uint32_t a[4], const uint32_t b[4]) {
    return memcmp(a, b, 4 * sizeof *a) == 0;
}

vkr_status vkr_ew_gpu_map(vkr_sequence* seq, const vkr_ew_map* m, vkr_range a, vkr_range b, vkr_range y) {
    vkr_ew_map_push push = {.n = (uint32_t)vkr_shape_numel(m->out), .alpha = m->alpha};
    memcpy(push.dims, m->out, sizeof push.dims);
    vkr_ew_broadcast_strides(m->a_shape, push.a_stride);
    vkr_ew_broadcast_strides(m->b_shape, push.b_stride);
    const bool same = vkr_shape_eq(m->a_shape, m->out) && (m->op == VKR_EW_MAP_A || vkr_shape_eq(m->b_shape, m->out));
    const vkr_range r[3] = {a, b, y};
    /* vec4s along y's last dim when it is a multiple of 4 and each operand either runs along it
     * (stride 1, aligned) or is constant along it (stride 0: a splat). */
    const bool uses_b = m->op != VKR_EW_MAP_A;
    const bool a_splat = push.a_stride[3] == 0, b_splat = uses_b && push.b_stride[3] == 0;
    const bool vec4 = push.dims[3] % 4 == 0 && vkr_ew_vec4(0, &y, 1) && (a_splat || vkr_ew_vec4(0, &a, 1)) &&
                      (!uses_b || b_splat || vkr_ew_vec4(0, &b, 1));
    vkr_kernel_desc d = {.shader = "ew_map", .binding_count = 3,
                         .access = {VKR_READ, VKR_READ, m->accumulate ? VKR_READ_WRITE : VKR_WRITE},
                         .push_bytes = sizeof push, .spec_count = 7,
                         .spec = {VKR_EW_WG, m->accumulate, same, (uint32_t)m->op, vec4, vec4 && a_splat,
                                  vec4 && b_splat}};
    const uint32_t invocations = vec4 ? push.n / 4 : push.n;
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, (invocations + VKR_EW_WG - 1) / VKR_EW_WG);
}

/* ---- reduce-to ---- */

static double vkr_ew_term_value(vkr_ew_term term, double dy, double a, double b) {
    switch (term) {
        case VKR_EW_TERM_DY: return dy;
        case VKR_EW_TERM_DY_B: return dy * b;
        case VKR_EW_TERM_DY_A: return dy * a;
        case VKR_EW_TERM_DY_OVER_B: return dy / b;
        default: return dy * a / (b * b);
    }
}

/* Extents of the summed dims (1 elsewhere) and their element count. */
static uint32_t vkr_ew_summed_dims(const vkr_ew_reduce* r, uint32_t rdims[4]) {
    uint32_t nr = 1;
    for (int d = 0; d < 4; d++) {
        rdims[d] = r->target[d] == 1 ? r->out[d] : 1;
        nr *= rdims[d];
    }
    return nr;
}

bool vkr_ew_term_uses_a(vkr_ew_term term) {
    return term == VKR_EW_TERM_DY_A || term == VKR_EW_TERM_DY_A_OVER_BB;
}

bool vkr_ew_term_uses_b(vkr_ew_term term) {
    return term != VKR_EW_TERM_DY && term != VKR_EW_TERM_DY_A;
}

/* Whether offsets along the summed dims (extents rdims) with strides `st` are r * step for the flat
 * term index r, i.e. each summed dim's stride is the next summed dim's stride times its extent. */
static bool vkr_ew_linear(const uint32_t rdims[4], const uint32_t st[4], uint32_t* step) {
    int inner = -1;
    for (int d = 3; d >= 0; d--) {
        if (rdims[d] == 1) continue;
        if (inner >= 0 && st[d] != st[inner] * rdims[inner]) return false;
        if (inner < 0) *step = st[d];
        inner = d;
    }
    if (inner < 0) *step = 0;
    return true;
}

/* One term per output (an operand the size of the output, alpha = +-1): float arithmetic rounds these
 * terms exactly as the double path does (one correctly rounded product or quotient, then an exact
 * sign), in loops the compiler vectorizes. */
static void vkr_ew_reduce_single(const vkr_ew_reduce* r, const float* dy, const float* a, const float* b, float* g,
                                 int64_t n) {
    const float s = r->alpha;
    const bool acc = r->accumulate;
    const float* m = r->term == VKR_EW_TERM_DY_A ? a : b;
    if (r->term == VKR_EW_TERM_DY) {
#pragma omp parallel for simd if (n >= VKR_EW_OMP_MIN)
        for (int64_t t = 0; t < n; t++) g[t] = acc ? g[t] + s * dy[t] : s * dy[t];
    } else if (r->term == VKR_EW_TERM_DY_OVER_B) {
#pragma omp parallel for simd if (n >= VKR_EW_OMP_MIN)
        for (int64_t t = 0; t < n; t++) g[t] = acc ? g[t] + s * (dy[t] / b[t]) : s * (dy[t] / b[t]);
    } else {
#pragma omp parallel for simd if (n >= VKR_EW_OMP_MIN)
        for (int64_t t = 0; t < n; t++) g[t] = acc ? g[t] + s * (dy[t] * m[t]) : s * (dy[t] * m[t]);
    }
}

void vkr_ew_ref_reduce(const vkr_ew_reduce* r, const float* dy, const float* a, const float* b, float* g) {
    uint32_t rdims[4], as[4], bs[4], os[4];
    const uint32_t nr = vkr_ew_summed_dims(r, rdims);
    vkr_ew_broadcast_strides(r->a_shape, as);
    vkr_ew_broadcast_strides(r->b_shape, bs);
    vkr_ew_broadcast_strides(r->out, os);
    const bool uses_a = vkr_ew_term_uses_a(r->term), uses_b = vkr_ew_term_uses_b(r->term);
    /* when each operand's offsets over the summed dims are k * step (the usual row or column sums),
     * the inner loop strides instead of decomposing k into coordinates */
    uint32_t step_o = 0, step_a = 0, step_b = 0;
    const bool linear = vkr_ew_linear(rdims, os, &step_o) && vkr_ew_linear(rdims, as, &step_a) &&
                        vkr_ew_linear(rdims, bs, &step_b);
    const int64_t nt = (int64_t)vkr_shape_numel(r->target);
    /* sums over leading dims of row-major [nr, nt] operands (bias and scale gradients), and nr = 1 (the
     * gradient of an operand the size of the output): rows outer, a block of columns inner, so reads
     * are contiguous instead of one stride-nt walk or coordinate decomposition per column */
    const bool a_same = !uses_a || memcmp(r->a_shape, r->out, sizeof r->out) == 0;
    const bool b_same = !uses_b || memcmp(r->b_shape, r->out, sizeof r->out) == 0;
    if (linear && nr == 1 && a_same && b_same && (r->alpha == 1.0f || r->alpha == -1.0f) &&
        r->term != VKR_EW_TERM_DY_A_OVER_BB) {
        vkr_ew_reduce_single(r, dy, a, b, g, nt);
        return;
    }
    if (linear && (nr == 1 || step_o == (uint32_t)nt) && a_same && b_same) {
        enum { BLOCK = 16 };
        const int64_t blocks = (nt + BLOCK - 1) / BLOCK;
#pragma omp parallel for if (nt * nr >= VKR_EW_OMP_MIN)
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int64_t t0 = blk * BLOCK, w = nt - t0 < BLOCK ? nt - t0 : BLOCK;
            double acc[BLOCK] = {0};
            for (uint32_t k = 0; k < nr; k++) {
                const size_t row = (size_t)k * (size_t)nt + (size_t)t0;
                for (int64_t j = 0; j < w; j++)
                    acc[j] += vkr_ew_term_value(r->term, dy[row + j], uses_a ? a[row + j] : 0.0, uses_b ? b[row + j] : 0.0);
            }
            for (int64_t j = 0; j < w; j++) {
                float v = (float)(r->alpha * acc[j]);
                g[t0 + j] = r->accumulate ? g[t0 + j] + v : v;
            }
        }
        return;
    }
#pragma omp parallel for if (nt * nr >= VKR_EW_OMP_MIN)
    for (int64_t t = 0; t < nt; t++) {
        /* dy's coordinates of term (t, k) are t's coordinates plus k's over the summed dims; the two
         * never overlap because a summed dim has target extent 1. */
        uint32_t tc[4], rem = (uint32_t)t, o0 = 0, a0 = 0, b0 = 0;
        for (int d = 3; d >= 0; d--) {
            tc[d] = rem % r->target[d];
            rem /= r->target[d];
            o0 += tc[d] * os[d];
            a0 += tc[d] * as[d];
            b0 += tc[d] * bs[d];
        }
        double sum = 0;
        for (uint32_t k = 0; k < nr; k++) {
            uint32_t o = o0, ia = a0, ib = b0;
            if (linear) {
                o += k * step_o, ia += k * step_a, ib += k * step_b;
            } else {
                uint32_t kr = k;
                for (int d = 3; d >= 0; d--) {
                    uint32_t c = kr % rdims[d];
                    kr /= rdims[d];
                    o += c * os[d];
                    ia += c * as[d];
                    ib += c * bs[d];
                }
            }
            sum += vkr_ew_term_value(r->term, dy[o], uses_a ? a[ia] : 0.0, uses_b ? b[ib] : 0.0);
        }
        float v = (float)(r->alpha * sum);
        g[t] = r->accumulate ? g[t] + v : v;
    }
}

/* Push constants of ew_reduce.comp. */
typedef struct vkr_ew_reduce_push {
    uint32_t dims[4], target[4], a_stride[4], b_stride[4];
    uint32_t nt, nr;
    float alpha, alpha2;
    uint32_t lin_dy, lin_a, lin_b;
} vkr_ew_reduce_push;


#define VKR_EW_TERM_NONE 0xffffffffu

vkr_status vkr_ew_gpu_reduce(vkr_sequence* seq, const vkr_ew_reduce* r, const vkr_ew_reduce* second, vkr_range dy,
                             vkr_range a, vkr_range b, vkr_range g, vkr_range g2) {
    uint32_t rdims[4];
    vkr_ew_reduce_push push = {.nt = (uint32_t)vkr_shape_numel(r->target), .nr = vkr_ew_summed_dims(r, rdims),
                               .alpha = r->alpha};
    uint32_t term2 = VKR_EW_TERM_NONE;
    memcpy(push.dims, r->out, sizeof push.dims);
    memcpy(push.target, r->target, sizeof push.target);
    vkr_ew_broadcast_strides(r->a_shape, push.a_stride);
    vkr_ew_broadcast_strides(r->b_shape, push.b_stride);
    /* indexing mode (spec constant 3 of ew_reduce.comp): 0 direct, 1 linear, 2 general */
    const bool uses_a = vkr_ew_term_uses_a(r->term) || (second && vkr_ew_term_uses_a(second->term));
    const bool uses_b = vkr_ew_term_uses_b(r->term) || (second && vkr_ew_term_uses_b(second->term));
    uint32_t mode = 2, ostride[4];
    vkr_ew_broadcast_strides(r->out, ostride);
    if (vkr_shape_eq(r->target, r->out) && (!uses_a || vkr_shape_eq(r->a_shape, r->out)) &&
        (!uses_b || vkr_shape_eq(r->b_shape, r->out)))
        mode = 0;
    else if (vkr_ew_linear(rdims, ostride, &push.lin_dy) && vkr_ew_linear(rdims, push.a_stride, &push.lin_a) &&
             vkr_ew_linear(rdims, push.b_stride, &push.lin_b))
        mode = 1;
    if (second) {
        if (push.nr != 1 || second->accumulate != r->accumulate)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "ew_reduce: a paired reduction must sum nothing and share the "
                                                      "accumulate flag");
        term2 = (uint32_t)second->term;
        push.alpha2 = second->alpha;
    } else {
        g2 = g; /* never written; binding it to g keeps the recorded accesses exact */
    }
    /* One workgroup per target when each target sums many terms and there are too few targets to
     * fill the device with one invocation each; otherwise one invocation per target. A CPU driver
     * is filled by a few hundred targets, and its shared-memory tree costs more than the loop. */
    const vkr_device_info* info = vkr_device_get_info(vkr_sequence_device(seq));
    const uint32_t fill = info->type == VKR_DEVICE_CPU ? 256 : 16384;
    const bool per_group = push.nr >= 64 && (push.nt < fill || push.nr > VKR_EW_MAX_LOOP);
    uint32_t wg = VKR_EW_WG;
    if (per_group) {
        const uint32_t cap = info->max_workgroup_invocations;
        wg = 64;
        while ((push.nr + wg - 1) / wg > VKR_EW_MAX_LOOP && wg * 4 <= cap && wg < 1024) wg *= 4;
        if ((push.nr + wg - 1) / wg > VKR_EW_MAX_LOOP)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "ew_reduce: %u terms per element exceed %u per invocation with "
                            "the device's %u-invocation workgroups", push.nr, VKR_EW_MAX_LOOP, cap);
    }
    const vkr_access gacc = r->accumulate ? VKR_READ_WRITE : VKR_WRITE;
    const vkr_range ranges[5] = {dy, a, b, g, g2};
    const bool vec4 = mode == 0 && vkr_ew_vec4(push.nt, ranges, 5);
    vkr_kernel_desc d = {.shader = "ew_reduce", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, gacc, gacc}, .push_bytes = sizeof push,
                         .spec_count = 7, .spec = {wg, r->accumulate, per_group, mode, (uint32_t)r->term, term2, vec4}};
    const uint32_t invocations = vec4 ? push.nt / 4 : push.nt;
    return vkr_sequence_dispatch_grid(seq, &d, ranges, &push, per_group ? push.nt : (invocations + wg - 1) / wg);
}
