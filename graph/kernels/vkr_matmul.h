/* Matrix multiplication (batched, transposes, bias, accumulate, alpha, fp16 storage) and pairwise
 * squared distances: a CPU reference and a GPU recorder for each.
 *
 * Contract:
 * - Row-major, contiguous matrices. C is M x N; op(A) is M x K and A is stored M x K, or K x M when
 *   trans_a; op(B) is K x N and B is stored K x N, or N x K when trans_b.
 * - C = alpha * op(A) op(B) (+ bias[N] added to every row when has_bias) (+ the old C when
 *   accumulate). alpha is used as given (0 gives zero products; no "0 means 1" shortcut).
 * - bias_grad (the weight gradient of a linear layer, op(B) = dY): the same call also accumulates
 *   bias[j] += sum over k of op(B)[k][j], the bias gradient, in the kernel's pass over op(B); bias is
 *   then written, never read as a bias. Not with has_bias; batch must be 1.
 * - batch items: item z of A starts at z * stride_a elements (likewise B, C); a stride of 0
 *   broadcasts A or B to every item. stride_c must be >= M * N when batch > 1. bias is shared.
 * - dtype VKR_MATMUL_F16: A and B are stored as IEEE binary16 (2 bytes per element; the device must
 *   support 16-bit storage); bias and C stay fp32 and the products accumulate in fp32. The CPU
 *   reference always takes fp32 host arrays: widen fp16 inputs first (vkr_half_to_float).
 * - GPU recorders validate parameters and ranges (each range must hold every element the call
 *   touches), then record dispatches into the sequence; nothing runs until it is submitted. Only the
 *   bytes a call touches are bound, so matrices may share a buffer. C must not overlap A, B or bias.
 * - Shapes too large for one dispatch (maxComputeWorkGroupCount) are split into several dispatches.
 * - Invalid arguments return VKR_ERR_INVALID_ARGUMENT with a message naming the argument; nothing
 *   is recorded then.
 * - There is no VK_KHR_cooperative_matrix kernel: glslang 12.0 and the Vulkan 1.3.239 headers this
 *   project builds with predate the extension (`vkrec bench matmul` records the skip and why). */
#ifndef VKR_MATMUL_H
#define VKR_MATMUL_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_runtime.h"

/* Storage type of A and B. */
typedef enum vkr_matmul_dtype {
    VKR_MATMUL_F32 = 0, /* fp32 A and B (default) */
    VKR_MATMUL_F16,     /* fp16 A and B, fp32 accumulation, bias and C */
    VKR_MATMUL_DTYPE_COUNT
} vkr_matmul_dtype;

/* GPU kernel family; AUTO picks from the device (CPU driver: SUBGROUP, GPU: TILED). */
typedef enum vkr_matmul_variant {
    VKR_MATMUL_AUTO = 0,  /* choose from vkr_device_get_info */
    VKR_MATMUL_SUBGROUP,  /* register-blocked, vec4 loads, subgroup broadcasts, no shared memory */
    VKR_MATMUL_TILED,     /* shared-memory tiles, register-blocked */
    VKR_MATMUL_VARIANT_COUNT
} vkr_matmul_variant;

/* One (batched) matmul. Zero-initialize, then set M, N, K, batch = 1 and alpha = 1. */
typedef struct vkr_matmul_params {
    uint32_t M, N, K;          /* C is M x N, op(A) is M x K, op(B) is K x N */
    bool trans_a, trans_b;     /* A stored K x M when trans_a; B stored N x K when trans_b */
    uint32_t batch;            /* number of matrices (>= 1) */
    uint64_t stride_a, stride_b, stride_c; /* elements between batch items; 0 broadcasts A or B */
    bool accumulate;           /* C += result instead of C = result */
    bool has_bias;             /* add bias[N] to every row of C (bias range ignored otherwise) */
    bool bias_grad;            /* also bias[N] += the column sums of op(B) (see the contract) */
    float alpha;               /* scale of op(A) op(B) */
    vkr_matmul_dtype dtype;    /* storage type of A and B (GPU only) */
    vkr_matmul_variant variant; /* force a kernel family (tests, benchmarks); AUTO normally */
} vkr_matmul_params;

/* Checks params alone (shapes, batch strides, flags, dtype, variant); `what` names the caller in the
 * message. */
vkr_status vkr_matmul_validate(const vkr_matmul_params* p, const char* what);
/* CPU reference: OpenBLAS cblas_sgemm per batch item; validates params; fp32 host arrays. bias may
 * be NULL unless has_bias. */
vkr_status vkr_ref_matmul(const vkr_matmul_params* p, const float* a, const float* b, const float* bias, float* c);
/* CPU reference by plain triple loops with double accumulation, to check the cblas path itself. */
vkr_status vkr_ref_matmul_naive(const vkr_matmul_params* p, const float* a, const float* b, const float* bias,
                                float* c);
/* Records C = alpha * op(A) op(B) (+ bias) (+ C if accumulate); picks the kernel variant and tile
 * sizes from the device. */
vkr_status vkr_gpu_matmul(vkr_sequence* seq, const vkr_matmul_params* p, vkr_range a, vkr_range b, vkr_range bias,
                          vkr_range c);
/* Name of the kernel vkr_gpu_matmul would use for p on this device, e.g. "subgroup" or "tiled". */
const char* vkr_matmul_variant_name(const vkr_device* device, const vkr_matmul_params* p);

/* Pairwise squared distances between the rows of X (n x d) and Y (m x d); no gradient. */
typedef struct vkr_sqdist_params {
    uint32_t n; /* rows of X and of D */
    uint32_t m; /* rows of Y and columns of D */
    uint32_t d; /* features per row */
} vkr_sqdist_params;

/* CPU reference: D[i][j] = sum_k (x[i][k] - y[j][k])^2, summed in double. */
vkr_status vkr_ref_sqdist(const vkr_sqdist_params* p, const float* x, const float* y, float* dist);
/* Records D = pairwise squared distances (n x m, row-major) of X and Y. */
vkr_status vkr_gpu_sqdist(vkr_sequence* seq, const vkr_sqdist_params* p, vkr_range x, vkr_range y, vkr_range dist);

#endif
