/* Sparse x dense products Y = A X (A CSR rows x cols, X cols x n, Y rows x n, row-major fp32): the
 * GPU kernel (shaders/spmm.comp) and its plain CPU reference.
 *
 * Contract: both sum each row's entries in stored order, one output element at a time, with no
 * atomics, so results are deterministic and match each other up to the device's fp contraction. With
 * accumulate set they add into Y instead of overwriting it (a backward dX += A^T dY runs the same
 * product on a precomputed transpose). The CPU reference validates the matrix (vkr_csr_check); the
 * GPU kernel trusts it, so callers check before uploading. */
#ifndef VKR_SPMM_H
#define VKR_SPMM_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_csr.h"

/* Shape of one sparse x dense product. */
typedef struct vkr_spmm_params {
    uint32_t rows;   /* rows of A and Y */
    uint32_t cols;   /* columns of A, rows of X */
    uint32_t n;      /* columns of X and Y */
    uint32_t nnz;    /* entries of A */
    bool accumulate; /* Y += A X instead of Y = A X */
} vkr_spmm_params;

/* CPU reference: y = A x, or y += A x with accumulate (x has n columns). */
vkr_status vkr_ref_spmm(const vkr_csr* a, const float* x, uint32_t n, bool accumulate, float* y);
/* Records Y = A X (or Y += A X); ranges hold row_ptr (rows+1 u32), col (nnz u32), val (nnz f32), X and Y. */
vkr_status vkr_gpu_spmm(vkr_sequence* seq, const vkr_spmm_params* p, vkr_range row_ptr, vkr_range col,
                        vkr_range val, vkr_range x, vkr_range y);

#endif
