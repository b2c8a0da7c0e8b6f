/* The sparse constant and its product (VKR_OP_SPMM) on the spmm kernel (kernels/vkr_spmm.h). */
#include "vkr_graph_ops_sparse.h"

#include <stdio.h>
#include <string.h>

#include "vkr_graph_ops_internal.h"
#include "vkr_spmm.h"

static const char* const csr_suffix[VKR_CSR_ARRAYS] = {"row_ptr", "col", "val", "t_row_ptr", "t_col", "t_val"};

vkr_graph_csr vkr_graph_sparse(vkr_graph* g, const char* name, uint32_t rows, uint32_t cols, uint32_t nnz) {
    vkr_graph_csr a = {rows, cols, nnz, {NULL}};
    if (!g || vkr_graph_status(g) != VKR_OK) return a;
    /* the arrays are int32 tensors, and row_ptr has rows + 1 entries */
    if (rows == 0 || cols == 0 || rows >= INT32_MAX || cols >= INT32_MAX || nnz > INT32_MAX) {
        vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "sparse %s: %u x %u with %u entries (1..2^31-1 rows and columns, "
                       "at most 2^31-1 entries)", name ? name : "?", rows, cols, nnz);
        return a;
    }
    uint32_t len[VKR_CSR_ARRAYS] = {rows + 1, nnz ? nnz : 1, nnz ? nnz : 1, cols + 1, nnz ? nnz : 1, nnz ? nnz : 1};
    vkr_tensor* t[VKR_CSR_ARRAYS];
    for (int k = 0; k < VKR_CSR_ARRAYS; k++) {
        char full[VKR_NAME_BYTES];
        snprintf(full, sizeof full, "%.50s.%s", name ? name : "csr", csr_suffix[k]);
        bool val = k == VKR_CSR_VAL || k == VKR_CSR_T_VAL;
        t[k] = vkr_graph_const(g, full, val ? VKR_F32 : VKR_I32, 1, &len[k]);
        if (!t[k]) return a;
    }
    memcpy(a.arrays, t, sizeof t);
    return a;
}

/* Writes one array, padding an empty one with its single unused zero. */
static vkr_status write_array(vkr_exec* ex, const vkr_tensor* t, const void* data, uint32_t count) {
    static const uint32_t zero = 0;
    return vkr_exec_write(ex, t, count ? data : &zero, 4ull * (count ? count : 1));
}

vkr_status vkr_exec_write_csr(vkr_exec* ex, const vkr_graph_csr* a, const vkr_csr* m) {
    if (!ex || !a || !m || !a->arrays[0])
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_write_csr: NULL executor, matrix, or an undeclared constant");
    const char* name = a->arrays[VKR_CSR_ROW_PTR]->name;
    if (m->rows != a->rows || m->cols != a->cols || m->nnz != a->nnz)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_write_csr: %s was declared %u x %u with %u entries, "
                        "given %u x %u with %u", name, a->rows, a->cols, a->nnz, m->rows, m->cols, m->nnz);
    VKR_TRY(vkr_csr_check(m, name));
    vkr_csr mt;
    VKR_TRY(vkr_csr_transpose(m, &mt));
    const void* data[VKR_CSR_ARRAYS] = {m->row_ptr, m->col, m->val, mt.row_ptr, mt.col, mt.val};
    uint32_t count[VKR_CSR_ARRAYS] = {m->rows + 1, m->nnz, m->nnz, m->cols + 1, m->nnz, m->nnz};
    vkr_status s = VKR_OK;
    for (int k = 0; k < VKR_CSR_ARRAYS && s == VKR_OK; k++) s = write_array(ex, a->arrays[k], data[k], count[k]);
    vkr_csr_free(&mt);
    return s;
}

vkr_tensor* vkr_op_spmm(vkr_graph* g, const vkr_graph_csr* a, vkr_tensor* x) {
    if (!a) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "spmm: the sparse matrix is NULL");
    const vkr_tensor* srcs[1 + VKR_CSR_ARRAYS] = {x};
    memcpy(srcs + 1, a->arrays, sizeof a->arrays);
    if (vkr_ops_missing(g, srcs, 1 + VKR_CSR_ARRAYS) || !vkr_ops_check_dtype(g, x, VKR_F32, "spmm", "x")) return NULL;
    for (int k = 0; k < VKR_CSR_ARRAYS; k++)
        if (a->arrays[k]->role != VKR_ROLE_CONST)
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "spmm: %s is not a constant declared by vkr_graph_sparse",
                                  a->arrays[k]->name);
    if (x->ndim != 2 || x->shape[0] != a->cols)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "spmm: x (%s) must be [%u, D] for the %u x %u matrix %s",
                              x->name, a->cols, a->rows, a->cols, a->arrays[0]->name);
    vkr_spmm_params p = {a->rows, a->cols, x->shape[1], a->nnz, false};
    return vkr_graph_node(g, VKR_OP_SPMM, VKR_F32, 2, (uint32_t[]){a->rows, x->shape[1]}, srcs, 1 + VKR_CSR_ARRAYS, &p,
                          sizeof p);
}

/* y (+)= M x with M the node's A (first = VKR_CSR_ROW_PTR) or A^T (first = VKR_CSR_T_ROW_PTR). */
static vkr_status spmm_apply(vkr_exec_ctx* ctx, const vkr_spmm_params* p, vkr_tensor* const* m, const vkr_tensor* x,
                             const vkr_tensor* y) {
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_spmm(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, m[0]), vkr_ctx_range(ctx, m[1]),
                            vkr_ctx_range(ctx, m[2]), vkr_ctx_range(ctx, x), vkr_ctx_range(ctx, y));
    vkr_csr host = {p->rows, p->cols, p->nnz, vkr_ctx_host(ctx, m[0]), vkr_ctx_host(ctx, m[1]), vkr_ops_f(ctx, m[2])};
    return vkr_ref_spmm(&host, vkr_ops_f(ctx, x), p->n, p->accumulate, vkr_ops_f(ctx, y));
}

static vkr_status spmm_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_spmm_params* p = (const vkr_spmm_params*)t->params;
    return spmm_apply(ctx, p, t->src + 1 + VKR_CSR_ROW_PTR, t->src[0], t);
}

static vkr_status spmm_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_spmm_params* p = (const vkr_spmm_params*)t->params;
    const vkr_tensor* dx = vkr_ops_grad(t, 0);
    if (!dx) return VKR_OK;
    vkr_spmm_params pt = {p->cols, p->rows, p->n, p->nnz, true};
    return spmm_apply(ctx, &pt, t->src + 1 + VKR_CSR_T_ROW_PTR, t->grad, dx);
}

const vkr_op_impl vkr_op_spmm_impl = {"spmm", spmm_fwd, spmm_bwd};
