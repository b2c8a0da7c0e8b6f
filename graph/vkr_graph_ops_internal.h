/* Helpers shared by the graph-op files. */
#ifndef VKR_GRAPH_OPS_INTERNAL_H
#define VKR_GRAPH_OPS_INTERNAL_H
#include "vkr_graph_ops.h"

/* True when any operand is NULL (an earlier constructor failed; its error is already recorded). */
bool vkr_ops_missing(const vkr_graph* g, const vkr_tensor* const* srcs, uint32_t n);
/* Checks that t is fp32 (or int32 when want_int), recording an error naming `op` and `what`. */
bool vkr_ops_check_dtype(vkr_graph* g, const vkr_tensor* t, vkr_dtype want, const char* op, const char* what);
/* Maps an axis of t (negative counts from the end) to the padded 4-D axis, or -1 after an error. */
int vkr_ops_axis4(vkr_graph* g, const vkr_tensor* t, int axis, const char* op);
/* A node's operand gradient, or NULL when that operand needs none. */
vkr_tensor* vkr_ops_grad(const vkr_tensor* node, uint32_t i);
/* Host float pointer (CPU) of a tensor. */
float* vkr_ops_f(vkr_exec_ctx* ctx, const vkr_tensor* t);
/* Host int pointer (CPU) of a tensor. */
int32_t* vkr_ops_i(vkr_exec_ctx* ctx, const vkr_tensor* t);

/* Implementation tables of the two op families. */
extern const vkr_op_impl vkr_ops_basic_impl[VKR_OP_COUNT];
extern const vkr_op_impl vkr_ops_nn_impl[VKR_OP_COUNT];
extern const vkr_op_impl vkr_ops_linear_xent_impl;

#endif
