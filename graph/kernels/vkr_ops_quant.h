/* Kernel tier (graph/kernels): vector quantization on raw buffer ranges. The fused nearest-codeword
 * kernel, codeword norms, sums of rows grouped by code (k-means update and codebook gradient), and
 * the residual-quantization (RQ-VAE) encode, lookup and loss kernels the RQ graph ops
 * (vkr_graph_ops_quant.h) are built on. Knows nothing of tensors or graphs.
 *
 * Contract:
 * - fp32 row-major matrices, int32 codes. vkr_ref_* are plain CPU references (double
 *   accumulation, direct differences, no norm expansion); vkr_gpu_* record into a sequence after
 *   checking params and ranges (VKR_ERR_INVALID_ARGUMENT naming the field). Deterministic: no float
 *   atomics; every sum has an order fixed by the shapes.
 * - Nearest codeword: code = argmin_j |x - c_j|^2 with ties to the lower index. The GPU ranks codes
 *   by the norm expansion |c|^2 - 2 x.c in fp32 (tiled over 32-code chunks and 32-dim slices,
 *   64 rows per workgroup), so near-ties may resolve differently from the reference; the distance it
 *   reports is recomputed directly for the winner. Codebooks may be a level of a stacked [L, K, D]
 *   tensor (c_base), and codes may be one column of an [n, L] matrix (code_stride, code_offset).
 * - Sums by code: rows are summed per code in row order within blocks of 1024 rows, then blocks in
 *   order; codes outside [0, k) are ignored. Two epilogues: MEAN (k-means: centroid = mean of its
 *   rows, unchanged when it has none) and ACCUM (out += alpha * scale[0] * sum, a gradient).
 * - Residual quantization (straight-through, Lee et al. 2022 / TIGER): with stacked codebooks
 *   C [L, K, D] and z [B, D], r_0 = z, code_l = nearest(r_l, C_l), q_l = C_l[code_l],
 *   r_{l+1} = r_l - q_l. Encode gives the int32 [B, L] codes, lookup zq = sum_l q_l, and the loss
 *   sum_l [ |sg(r_l) - q_l|^2 + beta |r_l - sg(q_l)|^2 ] / (B D) has the value
 *   (1 + beta)/(B D) sum_l |r_{l+1}|^2 and the gradients dz += 2 beta/(B D) sum_l r_{l+1} (each r_l
 *   moves with z one for one; the codewords are constants there) and
 *   dC_l[k] += -2/(B D) sum_{rows with code k} r_{l+1}. */
#ifndef VKR_OPS_QUANT_H
#define VKR_OPS_QUANT_H
#include <stdint.h>

#include "vkr_runtime.h"

/* Rows per block of the grouped sums (quant_segsum.comp). */
#define VKR_QUANT_SEG_BLOCK 1024u

/* One nearest-codeword assignment: n rows of d floats against k codes. */
typedef struct vkr_quant_assign_params {
    uint32_t n;           /* rows of X, >= 1 */
    uint32_t k;           /* codes, >= 1 */
    uint32_t d;           /* floats per row and per code, >= 1 */
    uint32_t c_base;      /* first codebook row used (its norm is norms[c_base]) */
    uint32_t code_stride; /* int32 elements between consecutive rows' codes (>= 1) */
    uint32_t code_offset; /* index of this assignment's column within a row of codes (< code_stride) */
} vkr_quant_assign_params;

/* CPU reference: codes, squared distances (dist may be NULL) and residuals x - c[code] (resid may
 * be NULL); c holds at least c_base + k rows. */
vkr_status vkr_ref_quant_assign(const vkr_quant_assign_params* p, const float* x, const float* c, int32_t* codes,
                                float* dist, float* resid);
/* Records norms[i] = |c_i|^2 for rows 0..rows-1 of the d-wide matrix c. */
vkr_status vkr_gpu_quant_norms(vkr_sequence* seq, uint32_t rows, uint32_t d, vkr_range c, vkr_range norms);
/* Records the assignment; norms from vkr_gpu_quant_norms over the same codebook. dist receives n
 * floats; resid (n x d, optional: .buffer NULL) the residuals. */
vkr_status vkr_gpu_quant_assign(vkr_sequence* seq, const vkr_quant_assign_params* p, vkr_range x, vkr_range c,
                                vkr_range norms, vkr_range codes, vkr_range dist, vkr_range resid);

/* Epilogue of the grouped sums. */
typedef enum vkr_segsum_mode {
    VKR_SEGSUM_MEAN = 0, /* out[c] = mean of the rows with code c; unchanged when there are none */
    VKR_SEGSUM_ACCUM     /* out[c] += alpha * scale[0] * sum of the rows with code c */
} vkr_segsum_mode;

/* Sums of n rows (d floats) grouped by their codes in [0, k). */
typedef struct vkr_quant_segsum_params {
    uint32_t n, k, d;                  /* rows, codes, floats per row (all >= 1) */
    uint32_t code_stride, code_offset; /* code of row i: codes[i * code_stride + code_offset] */
    uint32_t out_base;                 /* first row of `out` written (row c -> out_base + c) */
    vkr_segsum_mode mode;              /* epilogue */
    float alpha;                       /* ACCUM factor */
} vkr_quant_segsum_params;

/* Floats of GPU scratch the grouped sums need (partial sums and counts per block). */
uint64_t vkr_quant_segsum_scratch(const vkr_quant_segsum_params* p);
/* CPU reference; scale (1 float) is read in ACCUM mode only; counts (k, optional) get the counts. */
vkr_status vkr_ref_quant_segsum(const vkr_quant_segsum_params* p, const float* x, const int32_t* codes,
                                const float* scale, float* out, uint32_t* counts);
/* Records both passes; scratch holds vkr_quant_segsum_scratch floats; scale is a 1-float buffer
 * (ignored in MEAN mode: pass any bound range); counts receives k uint32. */
vkr_status vkr_gpu_quant_segsum(vkr_sequence* seq, const vkr_quant_segsum_params* p, vkr_range x, vkr_range codes,
                                vkr_range scratch, vkr_range scale, vkr_range out, vkr_range counts);

/* Residual quantization shape. */
typedef struct vkr_rq_params {
    uint32_t rows;   /* vectors, >= 1 */
    uint32_t levels; /* codebooks L, >= 1 */
    uint32_t codes;  /* codes per codebook K, >= 1 */
    uint32_t dim;    /* latent width D, >= 1 */
    float beta;      /* commitment weight (loss only) */
} vkr_rq_params;

/* CPU reference: codes [rows, levels] of z [rows, dim] against C [levels, codes, dim]. */
vkr_status vkr_ref_rq_encode(const vkr_rq_params* p, const float* z, const float* c, int32_t* codes);
/* Floats of GPU scratch vkr_gpu_rq_encode needs. */
uint64_t vkr_rq_encode_scratch(const vkr_rq_params* p);
/* Records the multi-level encoding (L norm + assignment dispatches). */
vkr_status vkr_gpu_rq_encode(vkr_sequence* seq, const vkr_rq_params* p, vkr_range z, vkr_range c, vkr_range scratch,
                             vkr_range codes);
/* CPU reference: zq [rows, dim] = sum_l C_l[code_l] (codes outside [0, K) add nothing). */
vkr_status vkr_ref_rq_lookup(const vkr_rq_params* p, const float* z, const float* c, const int32_t* codes, float* zq);
/* CPU reference of the RQ loss value (see the contract above). */
vkr_status vkr_ref_rq_loss(const vkr_rq_params* p, const float* z, const float* c, const int32_t* codes,
                           float* loss);
/* CPU reference of the RQ loss gradients times the upstream gradient g: dz and dc accumulate (either
 * may be NULL). */
vkr_status vkr_ref_rq_loss_bwd(const vkr_rq_params* p, const float* z, const float* c, const int32_t* codes, float g,
                               float* dz, float* dc);

/* Fails unless every field of p is >= 1 and the shapes fit 32-bit indexing; `what` labels the error. */
vkr_status vkr_rq_check(const vkr_rq_params* p, const char* what);
/* Floats of GPU scratch vkr_gpu_rq_lookup needs. */
uint64_t vkr_rq_lookup_scratch(const vkr_rq_params* p);
/* Records zq [rows, dim] = sum_l C_l[code_l] (the GPU twin of vkr_ref_rq_lookup). */
vkr_status vkr_gpu_rq_lookup(vkr_sequence* seq, const vkr_rq_params* p, vkr_range z, vkr_range c, vkr_range codes,
                             vkr_range scratch, vkr_range zq);
/* Floats of GPU scratch the RQ loss and its gradients share. */
uint64_t vkr_rq_loss_scratch(const vkr_rq_params* p);
/* Records the RQ loss value into `loss` (1 float); leaves the residuals in `scratch` for
 * vkr_gpu_rq_loss_bwd. */
vkr_status vkr_gpu_rq_loss(vkr_sequence* seq, const vkr_rq_params* p, vkr_range z, vkr_range c, vkr_range codes,
                           vkr_range scratch, vkr_range loss);
/* Records the RQ loss gradients times the upstream gradient g (1 float): dz and dc accumulate
 * (either may be unbound: .buffer NULL). `scratch` must still hold what vkr_gpu_rq_loss wrote. */
vkr_status vkr_gpu_rq_loss_bwd(vkr_sequence* seq, const vkr_rq_params* p, vkr_range codes, vkr_range scratch,
                               vkr_range g, vkr_range dz, vkr_range dc);

#endif
