/* Graph tier: a constant sparse matrix in a graph and the product with it (VKR_OP_SPMM), the
 * propagation step of graph collaborative filtering (LightGCN: E' = A E over a fixed normalized
 * adjacency, vkr_csr_normalize_sym).
 *
 * Contract: vkr_graph_sparse declares the matrix as six constant tensors, one per CSR array of A and
 * of A^T (int32 row_ptr and col, fp32 val; nnz 0 still stores one unused element). The host fills them
 * once with vkr_exec_write_csr, which validates the matrix (vkr_csr_check) and builds the transpose,
 * so both the forward y = A x and the backward dx += A^T dy are row gathers: deterministic, no
 * atomics, the same summation order on the GPU and the CPU backend. Until written, A reads as zero.
 * Errors are recorded on the graph like every constructor's (vkr_graph_ops.h). */
#ifndef VKR_GRAPH_OPS_SPARSE_H
#define VKR_GRAPH_OPS_SPARSE_H
#include "vkr_csr.h"
#include "vkr_exec.h"
#include "vkr_graph_ops.h"

/* Which array of a vkr_graph_csr each entry of its tensors is. */
enum {
    VKR_CSR_ROW_PTR = 0, /* A: int32 [rows+1] */
    VKR_CSR_COL,         /* A: int32 [max(nnz, 1)] */
    VKR_CSR_VAL,         /* A: fp32 [max(nnz, 1)] */
    VKR_CSR_T_ROW_PTR,   /* A^T: int32 [cols+1] */
    VKR_CSR_T_COL,       /* A^T: int32 [max(nnz, 1)] */
    VKR_CSR_T_VAL,       /* A^T: fp32 [max(nnz, 1)] */
    VKR_CSR_ARRAYS       /* count */
};

/* A constant rows x cols sparse matrix of a graph; all tensors NULL when the declaration failed. */
typedef struct vkr_graph_csr {
    uint32_t rows;                        /* rows of A */
    uint32_t cols;                        /* columns of A */
    uint32_t nnz;                         /* stored entries */
    vkr_tensor* arrays[VKR_CSR_ARRAYS];   /* constants named NAME.row_ptr ... NAME.t_val */
} vkr_graph_csr;

/* Declares a constant rows x cols sparse matrix with nnz entries (and its transpose) called `name`. */
vkr_graph_csr vkr_graph_sparse(vkr_graph* g, const char* name, uint32_t rows, uint32_t cols, uint32_t nnz);
/* Uploads m into the declared matrix after checking it matches (shape, nnz) and is valid; builds and
 * uploads the transpose. */
vkr_status vkr_exec_write_csr(vkr_exec* exec, const vkr_graph_csr* a, const vkr_csr* m);
/* y = A x for x fp32 [cols, D] -> [rows, D]; the gradient dx += A^T dy. */
vkr_tensor* vkr_op_spmm(vkr_graph* g, const vkr_graph_csr* a, vkr_tensor* x);

#endif
