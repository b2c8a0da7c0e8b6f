/* Kernel tier, internal (graph/kernels/ only): what the vkr_ops_nn*.c and vkr_ops_quant.c files share:
 * argument checks, the dispatch helper, workgroup widths, and the ranking key shared by the CPU
 * references and the selection shaders (nn_common.glsl). Consumers use vkr_ops_nn.h. */
#ifndef VKR_OPS_NN_INTERNAL_H
#define VKR_OPS_NN_INTERNAL_H
#include "vkr_ops_nn.h"

/* Workgroup size of the one-workgroup reductions, the flat elementwise kernels and top-k. */
#define VKR_NN_WG 256u

/* Fails unless a and b are >= 1 and a*b < 2^32 (shaders index with uint); names label the error. */
vkr_status vkr_nn_check_dims(const char* op, const char* a_name, uint32_t a, const char* b_name, uint32_t b);
/* How a row kernel (shaders/nn_reduce.glsl) covers a [rows, cols] matrix: spec constant 0 = wg,
 * spec constant 1 = lanes, and `groups` workgroups. */
typedef struct vkr_nn_rows {
    uint32_t wg;     /* invocations per workgroup, a power of two >= lanes */
    uint32_t lanes;  /* invocations per row, a power of two */
    uint64_t groups; /* workgroups to dispatch: ceil(rows / (wg / lanes)) */
} vkr_nn_rows;

/* The row layout for rows of `cols` elements recorded into `seq`: about 8 elements per lane, up to
 * 256 lanes; one lane per row of at most 1024 elements on CPU drivers. */
vkr_nn_rows vkr_nn_row_layout(vkr_sequence* seq, uint32_t rows, uint32_t cols);

/* Key whose unsigned order is the ranking order of floats: NaN (any) highest, then +inf ... -inf,
 * with -0.0 == +0.0. Pure bit manipulation, so it is identical on every device (no FTZ effects). */
static inline uint32_t vkr_nn_rank_key(float v) {
    union {
        float f;
        uint32_t u;
    } b = {.f = v};
    uint32_t mag = b.u & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return 0xFFFFFFFFu; /* NaN */
    if (mag == 0) return 0x80000000u;          /* both zeros */
    return (b.u & 0x80000000u) ? ~b.u : (b.u | 0x80000000u);
}

#endif
