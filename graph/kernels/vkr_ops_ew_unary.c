/* Scale, relu, leaky relu, gelu (tanh approximation), sigmoid, tanh and rsqrt: forward and backward. The
 * formulas mirror shaders/ew_unary.glsl. */
#include <math.h>

#include "vkr_ops_ew_internal.h"

#define VKR_GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define VKR_GELU_C 0.044715f

static float vkr_unary_f(vkr_unary_op op, float x, float alpha) {
    switch (op) {
        case VKR_UNARY_SCALE: return alpha * x;
        case VKR_UNARY_RELU: return x > 0.0f ? x : 0.0f;
        case VKR_UNARY_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
        case VKR_UNARY_GELU: return 0.5f * x * (1.0f + tanhf(VKR_GELU_K * (x + VKR_GELU_C * x * x * x)));
        case VKR_UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case VKR_UNARY_RSQRT: return 1.0f / sqrtf((x > 0.0f ? x : 0.0f) + alpha);
        default: return tanhf(x);
    }
}

/* dy/dx from the saved tensor s (x or y, per vkr_unary_grad_needs). */
static float vkr_unary_df(vkr_unary_op op, float s, float alpha) {
    switch (op) {
        case VKR_UNARY_SCALE: return alpha;
        case VKR_UNARY_RELU: return s > 0.0f ? 1.0f : 0.0f;
        case VKR_UNARY_LEAKY_RELU: return s > 0.0f ? 1.0f : alpha;
        case VKR_UNARY_GELU: {
            float t = tanhf(VKR_GELU_K * (s + VKR_GELU_C * s * s * s));
            return 0.5f * (1.0f + t) + 0.5f * s * (1.0f - t * t) * VKR_GELU_K * (1.0f + 3.0f * VKR_GELU_C * s * s);
        }
        case VKR_UNARY_SIGMOID: return s * (1.0f - s);
        case VKR_UNARY_RSQRT: {
            if (s <= 0.0f) return 0.0f; /* the clamp: max(x, 0) is flat there */
            float r = 1.0f / sqrtf(s + alpha);
            return -0.5f * r * r * r;
        }
        default: return 1.0f - s * s;
    }
}

vkr_unary_grad_input vkr_unary_grad_needs(vkr_unary_op op) {
    switch (op) {
        case VKR_UNARY_SCALE: return VKR_UNARY_GRAD_NONE;
        case VKR_UNARY_SIGMOID:
        case VKR_UNARY_TANH: return VKR_UNARY_GRAD_Y;
        default: return VKR_UNARY_GRAD_X;
    }
}

static vkr_status vkr_unary_check(const vkr_unary_params* p, const char* op) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    if ((unsigned)p->op >= VKR_UNARY_COUNT)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: unknown unary op %d", op, (int)p->op);
    if (p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: n is 0", op);
    return VKR_OK;
}

/* The op is a loop invariant; a switch per element keeps the loop from vectorizing (OpenMP's outlined
 * body sees op as a variable), so each block branches once and runs a loop specialized on a constant.
 * `omp simd` because x and y may be the same array (in place), which rules out restrict. */
enum { VKR_UNARY_BLOCK = 4096 };

static inline __attribute__((always_inline)) void vkr_unary_span(vkr_unary_op op, const float* x, float* y,
                                                                  int64_t n, float alpha) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = vkr_unary_f(op, x[i], alpha);
}

static inline __attribute__((always_inline)) void vkr_unary_grad_span(vkr_unary_op op, const float* s,
                                                                       const float* dy, float* dx, int64_t n,
                                                                       float alpha) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dx[i] += vkr_unary_df(op, s ? s[i] : 0.0f, alpha) * dy[i];
}

#define VKR_UNARY_CASES(CALL)                                                                                     \
    switch (op) {                                                                                                 \
        case VKR_UNARY_SCALE: CALL(VKR_UNARY_SCALE); break;                                                       \
        case VKR_UNARY_RELU: CALL(VKR_UNARY_RELU); break;                                                         \
        case VKR_UNARY_LEAKY_RELU: CALL(VKR_UNARY_LEAKY_RELU); break;                                             \
        case VKR_UNARY_GELU: CALL(VKR_UNARY_GELU); break;                                                         \
        case VKR_UNARY_SIGMOID: CALL(VKR_UNARY_SIGMOID); break;                                                   \
        case VKR_UNARY_RSQRT: CALL(VKR_UNARY_RSQRT); break;                                                       \
        default: CALL(VKR_UNARY_TANH); break;                                                                     \
    }

static void vkr_unary_block(vkr_unary_op op, const float* x, float* y, int64_t n, float alpha) {
#define VKR_UNARY_FWD(OP) vkr_unary_span(OP, x, y, n, alpha)
    VKR_UNARY_CASES(VKR_UNARY_FWD)
#undef VKR_UNARY_FWD
}

static void vkr_unary_grad_block(vkr_unary_op op, const float* s, const float* dy, float* dx, int64_t n,
                                 float alpha) {
#define VKR_UNARY_BWD(OP) vkr_unary_grad_span(OP, s, dy, dx, n, alpha)
    VKR_UNARY_CASES(VKR_UNARY_BWD)
#undef VKR_UNARY_BWD
}

vkr_status vkr_ref_unary(const vkr_unary_params* p, const float* x, float* y) {
    VKR_TRY(vkr_unary_check(p, "vkr_ref_unary"));
    if (!x || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_unary: x and y must not be NULL");
    const int64_t n = p->n, blocks = (n + VKR_UNARY_BLOCK - 1) / VKR_UNARY_BLOCK;
#pragma omp parallel for if (n >= VKR_EW_OMP_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t lo = b * VKR_UNARY_BLOCK, len = n - lo < VKR_UNARY_BLOCK ? n - lo : VKR_UNARY_BLOCK;
        vkr_unary_block(p->op, x + lo, y + lo, len, p->alpha);
    }
    return VKR_OK;
}

vkr_status vkr_ref_unary_backward(const vkr_unary_params* p, const float* saved, const float* dy, float* dx) {
    VKR_TRY(vkr_unary_check(p, "vkr_ref_unary_backward"));
    if (!dy || !dx) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_unary_backward: dy and dx must not be NULL");
    const bool needs = vkr_unary_grad_needs(p->op) != VKR_UNARY_GRAD_NONE;
    if (needs && !saved)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_unary_backward: saved is NULL but op %d needs %s",
                        (int)p->op, vkr_unary_grad_needs(p->op) == VKR_UNARY_GRAD_X ? "x" : "y");
    const int64_t n = p->n, blocks = (n + VKR_UNARY_BLOCK - 1) / VKR_UNARY_BLOCK;
#pragma omp parallel for if (n >= VKR_EW_OMP_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t lo = b * VKR_UNARY_BLOCK, len = n - lo < VKR_UNARY_BLOCK ? n - lo : VKR_UNARY_BLOCK;
        vkr_unary_grad_block(p->op, needs ? saved + lo : NULL, dy + lo, dx + lo, len, p->alpha);
    }
    return VKR_OK;
}

/* Push constants of ew_unary.comp and ew_unary_grad.comp. */
typedef struct vkr_unary_push {
    uint32_t n;
    float alpha;
} vkr_unary_push;

/* Records `shader` over n elements with the op and the vec4 choice as spec constants. */
static vkr_status vkr_unary_dispatch(vkr_sequence* seq, const vkr_unary_params* p, const char* shader,
                                     const vkr_range* r, uint32_t count) {
    vkr_unary_push push = {p->n, p->alpha};
    const bool vec4 = vkr_ew_vec4(p->n, r, count);
    vkr_kernel_desc d = {.shader = shader, .binding_count = count, .access = {VKR_READ, VKR_WRITE},
                         .push_bytes = sizeof push, .spec_count = 3, .spec = {VKR_EW_WG, (uint32_t)p->op, vec4}};
    if (count == 3) d.access[1] = VKR_READ, d.access[2] = VKR_READ_WRITE;
    const uint32_t invocations = vec4 ? p->n / 4 : p->n;
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, (invocations + VKR_EW_WG - 1) / VKR_EW_WG);
}

vkr_status vkr_gpu_unary(vkr_sequence* seq, const vkr_unary_params* p, vkr_range x, vkr_range y) {
    static const char* op = "vkr_gpu_unary";
    VKR_TRY(vkr_unary_check(p, op));
    VKR_TRY(vkr_range_take_words(x, p->n, op, "x", &x));
    VKR_TRY(vkr_range_take_words(y, p->n, op, "y", &y));
    const vkr_range r[2] = {x, y};
    return vkr_unary_dispatch(seq, p, "ew_unary", r, 2);
}

vkr_status vkr_gpu_unary_backward(vkr_sequence* seq, const vkr_unary_params* p, vkr_range saved, vkr_range dy,
                                  vkr_range dx) {
    static const char* op = "vkr_gpu_unary_backward";
    VKR_TRY(vkr_unary_check(p, op));
    VKR_TRY(vkr_range_take_words(dy, p->n, op, "dy", &dy));
    VKR_TRY(vkr_range_take_words(dx, p->n, op, "dx", &dx));
    /* scale reads nothing saved: bind dy there, a read that adds no barrier */
    if (vkr_unary_grad_needs(p->op) != VKR_UNARY_GRAD_NONE)
        VKR_TRY(vkr_range_take_words(saved, p->n, op, "saved", &saved));
    else
        saved = dy;
    const vkr_range r[3] = {saved, dy, dx};
    return vkr_unary_dispatch(seq, p, "ew_unary_grad", r, 3);
}
