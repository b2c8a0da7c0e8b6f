/* Kernel tier, internal (graph/kernels/ only): what the vkr_ops_ew*.c files share: argument checks,
 * dispatch helpers, and the two broadcast engines that binary ops, their gradients and the axis
 * reductions are built on. Consumers use vkr_ops_ew.h.
 *
 * Engines (each a CPU reference and a GPU recorder computing the same thing):
 * - map: y[o] (=|+=) alpha * op(a[o'], b[o'']) over an output shape, where a and b are broadcast to
 *   it (shaders/ew_map.comp).
 * - reduce-to: g[t] (=|+=) alpha * sum over o mapping to t of term(dy[o], a[o'], b[o'']), where the
 *   target shape has 1 on every summed dim (shaders/ew_reduce.comp). */
#ifndef VKR_OPS_EW_INTERNAL_H
#define VKR_OPS_EW_INTERNAL_H
#include "vkr_ops_ew.h"

/* Workgroup size of the elementwise kernels (spec constant 0). */
#define VKR_EW_WG 256u
/* Most loop iterations one invocation may run: lavapipe (Mesa 22) silently cuts every loop short
 * once an invocation has run 65535 loop iterations in total, so kernels stay well below. */
#define VKR_EW_MAX_LOOP 32768u

/* Elements below which the CPU references stay single-threaded (an OpenMP fork costs more). */
#define VKR_EW_OMP_MIN 32768

/* Checks a 4-D shape (every dim >= 1, numel < 2^32); `op` and `name` label the error. */
vkr_status vkr_ew_check_shape(const uint32_t shape[4], const char* op, const char* name);
/* Contiguous strides of `shape`, with 0 on its size-1 dims, so that an index computed from the
 * coordinates of a broadcast-compatible larger shape lands on the broadcast element. */
void vkr_ew_broadcast_strides(const uint32_t shape[4], uint32_t strides[4]);
/* Index into `shape` (broadcast as above) of flat element `o` of `out`. */
uint32_t vkr_ew_broadcast_index(const uint32_t out[4], const uint32_t strides[4], uint32_t o);

/* True when `n` words at each of `count` ranges may be moved as vec4s: n is a multiple of 4 and every
 * range starts on a 16-byte boundary. Kernels take a vec4 path then (spec constant VEC4): on CPU
 * drivers each invocation's memory access is a loop over the SIMD lanes, so four elements per access
 * and a quarter of the invocations cut an elementwise pass 2-3x (measured on lavapipe). */
bool vkr_ew_vec4(uint64_t n, const vkr_range* ranges, uint32_t count);

/* Operators of the map engine (shader ew_map.comp uses the same codes). */
typedef enum vkr_ew_map_op {
    VKR_EW_MAP_ADD = 0, /* a + b */
    VKR_EW_MAP_SUB,     /* a - b */
    VKR_EW_MAP_MUL,     /* a * b */
    VKR_EW_MAP_DIV,     /* a / b */
    VKR_EW_MAP_A        /* a (b is not read) */
} vkr_ew_map_op;

/* One map: y (shape `out`) = alpha * op(a, b), with a and b broadcast to `out`. */
typedef struct vkr_ew_map {
    uint32_t out[4];     /* shape of y */
    uint32_t a_shape[4]; /* shape of a, broadcast-compatible with out */
    uint32_t b_shape[4]; /* shape of b (ignored for VKR_EW_MAP_A) */
    vkr_ew_map_op op;    /* operator */
    float alpha;         /* factor applied to the result */
    bool accumulate;     /* y += instead of y = */
} vkr_ew_map;

/* CPU map engine. */
void vkr_ew_ref_map(const vkr_ew_map* m, const float* a, const float* b, float* y);
/* GPU map engine (b may repeat a's range for VKR_EW_MAP_A). */
vkr_status vkr_ew_gpu_map(vkr_sequence* seq, const vkr_ew_map* m, vkr_range a, vkr_range b, vkr_range y);

/* Summands of the reduce-to engine (shader ew_reduce.comp uses the same codes). */
typedef enum vkr_ew_term {
    VKR_EW_TERM_DY = 0,      /* dy */
    VKR_EW_TERM_DY_B,        /* dy * b */
    VKR_EW_TERM_DY_A,        /* dy * a */
    VKR_EW_TERM_DY_OVER_B,   /* dy / b */
    VKR_EW_TERM_DY_A_OVER_BB /* dy * a / (b * b) */
} vkr_ew_term;

/* Whether a term reads a. */
bool vkr_ew_term_uses_a(vkr_ew_term term);
/* Whether a term reads b. */
bool vkr_ew_term_uses_b(vkr_ew_term term);

/* One reduce-to: g (shape `target`) = alpha * sum of term over the dims where target is 1 and `out`
 * is not; dy has shape `out`, a and b are broadcast to it. */
typedef struct vkr_ew_reduce {
    uint32_t out[4];     /* shape of dy */
    uint32_t target[4];  /* shape of g: each dim equals out's or is 1 */
    uint32_t a_shape[4]; /* shape of a (read by the terms that use a) */
    uint32_t b_shape[4]; /* shape of b (read by the terms that use b) */
    vkr_ew_term term;    /* summand */
    float alpha;         /* factor applied to the sum */
    bool accumulate;     /* g += instead of g = */
} vkr_ew_reduce;

/* CPU reduce-to engine (sums in double). a and b may be NULL when the term does not read them. */
void vkr_ew_ref_reduce(const vkr_ew_reduce* r, const float* dy, const float* a, const float* b, float* g);
/* GPU reduce-to engine: records g for `r`, and when `second` is not NULL also g2 for `second`,
 * which must then share r's shapes and accumulate flag, with target == out (no summed dims). Ranges
 * not read by the terms may repeat dy's. */
vkr_status vkr_ew_gpu_reduce(vkr_sequence* seq, const vkr_ew_reduce* r, const vkr_ew_reduce* second, vkr_range dy,
                             vkr_range a, vkr_range b, vkr_range g, vkr_range g2);

#endif
