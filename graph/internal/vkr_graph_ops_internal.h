/* Graph tier, internal (graph/ only): the op-implementation contract and the one op table.
 *
 * Contract: each op family file (vkr_graph_ops_*.c) exports one named vkr_op_impl per op kind it
 * implements; vkr_graph_ops.c assembles them into vkr_op_table, indexed by vkr_op_kind, which the
 * executor consults. Every kind from 1 to VKR_OP_COUNT - 1 has an entry with a name; every kind that
 * computes something has a forward (the view RESHAPE and the host-derived CSR input have none). A
 * forward computes its node from its operands; a backward (NULL when the op has no gradient)
 * ACCUMULATES into the operands' gradients. Both run on either backend through the vkr_exec_ctx. */
#ifndef VKR_GRAPH_OPS_INTERNAL_H
#define VKR_GRAPH_OPS_INTERNAL_H
#include "vkr_exec_ctx.h"
#include "vkr_graph_internal.h"
#include "vkr_graph_ops.h"

/* Forward and backward of one op kind. */
typedef struct vkr_op_impl {
    const char* name;                                          /* e.g. "matmul" */
    vkr_status (*forward)(vkr_exec_ctx* ctx, vkr_tensor* node);  /* computes node from its operands; NULL if no work */
    vkr_status (*backward)(vkr_exec_ctx* ctx, vkr_tensor* node); /* accumulates operand grads; NULL if none */
} vkr_op_impl;

/* The implementations, indexed by vkr_op_kind (entry 0, VKR_OP_NONE, is empty). */
extern const vkr_op_impl* const vkr_op_table[VKR_OP_COUNT];
/* The implementation of op kind `op`, or NULL for VKR_OP_NONE and unknown kinds. */
const vkr_op_impl* vkr_op_get(uint32_t op);

/* True when any operand is NULL (an earlier constructor failed; its error is already recorded). */
bool vkr_ops_missing(const vkr_graph* g, const vkr_tensor* const* srcs, uint32_t n);
/* Checks that t has dtype `want`, recording an error naming `op` and `what`. */
bool vkr_ops_check_dtype(vkr_graph* g, const vkr_tensor* t, vkr_dtype want, const char* op, const char* what);
/* Maps an axis of t (negative counts from the end) to the padded 4-D axis, or -1 after an error. */
int vkr_ops_axis4(vkr_graph* g, const vkr_tensor* t, int axis, const char* op);
/* A node's operand gradient, or NULL when that operand needs none. */
vkr_tensor* vkr_ops_grad(const vkr_tensor* node, uint32_t i);
/* Host float pointer (CPU) of a tensor. */
float* vkr_ops_f(vkr_exec_ctx* ctx, const vkr_tensor* t);
/* Host int pointer (CPU) of a tensor. */
int32_t* vkr_ops_i(vkr_exec_ctx* ctx, const vkr_tensor* t);

/* ---- the op family files' entries (vkr_graph_ops_basic.c, _nn.c, _xent.c, _quant.c, _sparse.c) ---- */

extern const vkr_op_impl vkr_op_reshape_impl, vkr_op_matmul_impl, vkr_op_binary_impl, vkr_op_unary_impl,
    vkr_op_reduce_impl, vkr_op_dropout_impl, vkr_op_concat_impl, vkr_op_slice_impl, vkr_op_permute_impl;
extern const vkr_op_impl vkr_op_softmax_impl, vkr_op_log_softmax_impl, vkr_op_layernorm_impl, vkr_op_embedding_impl,
    vkr_op_attn_softmax_impl, vkr_op_cross_entropy_impl, vkr_op_bce_logits_impl, vkr_op_bpr_impl, vkr_op_mse_impl,
    vkr_op_csr_impl;
extern const vkr_op_impl vkr_op_linear_xent_impl;
extern const vkr_op_impl vkr_op_quant_impl;
extern const vkr_op_impl vkr_op_spmm_impl;

#endif
