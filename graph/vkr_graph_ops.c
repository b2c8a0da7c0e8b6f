/* The op table and helpers shared by the op families. */
#include "vkr_graph_ops_internal.h"

const vkr_op_impl* const vkr_op_table[VKR_OP_COUNT] = {
    [VKR_OP_RESHAPE] = &vkr_op_reshape_impl,
    [VKR_OP_MATMUL] = &vkr_op_matmul_impl,
    [VKR_OP_BINARY] = &vkr_op_binary_impl,
    [VKR_OP_UNARY] = &vkr_op_unary_impl,
    [VKR_OP_REDUCE] = &vkr_op_reduce_impl,
    [VKR_OP_DROPOUT] = &vkr_op_dropout_impl,
    [VKR_OP_CONCAT] = &vkr_op_concat_impl,
    [VKR_OP_SLICE] = &vkr_op_slice_impl,
    [VKR_OP_PERMUTE] = &vkr_op_permute_impl,
    [VKR_OP_SOFTMAX] = &vkr_op_softmax_impl,
    [VKR_OP_LOG_SOFTMAX] = &vkr_op_log_softmax_impl,
    [VKR_OP_LAYERNORM] = &vkr_op_layernorm_impl,
    [VKR_OP_EMBEDDING] = &vkr_op_embedding_impl,
    [VKR_OP_ATTN_SOFTMAX] = &vkr_op_attn_softmax_impl,
    [VKR_OP_CROSS_ENTROPY] = &vkr_op_cross_entropy_impl,
    [VKR_OP_BCE_LOGITS] = &vkr_op_bce_logits_impl,
    [VKR_OP_BPR] = &vkr_op_bpr_impl,
    [VKR_OP_MSE] = &vkr_op_mse_impl,
    [VKR_OP_LINEAR_XENT] = &vkr_op_linear_xent_impl,
    [VKR_OP_QUANT] = &vkr_op_quant_impl,
    [VKR_OP_CSR] = &vkr_op_csr_impl,
    [VKR_OP_SPMM] = &vkr_op_spmm_impl,
};

const vkr_op_impl* vkr_op_get(uint32_t op) { return op < VKR_OP_COUNT ? vkr_op_table[op] : NULL; }

bool vkr_ops_missing(const vkr_graph* g, const vkr_tensor* const* srcs, uint32_t n) {
    if (!g || vkr_graph_status(g) != VKR_OK) return true;
    for (uint32_t i = 0; i < n; i++)
        if (!srcs[i]) return true;
    return false;
}

bool vkr_ops_check_dtype(vkr_graph* g, const vkr_tensor* t, vkr_dtype want, const char* op, const char* what) {
    if (t->dtype == want) return true;
    vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s: %s (%s) must be %s", op, what, t->name,
                   want == VKR_F32 ? "fp32" : "int32");
    return false;
}

int vkr_ops_axis4(vkr_graph* g, const vkr_tensor* t, int axis, const char* op) {
    int a = axis < 0 ? axis + (int)t->ndim : axis;
    if (a < 0 || a >= (int)t->ndim) {
        vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s: axis %d is out of range for %s with %u dims", op, axis,
                       t->name, t->ndim);
        return -1;
    }
    return a + (VKR_MAX_DIMS - (int)t->ndim);
}

vkr_tensor* vkr_ops_grad(const vkr_tensor* node, uint32_t i) {
    return i < node->src_count && node->src[i] ? node->src[i]->grad : NULL;
}

float* vkr_ops_f(vkr_exec_ctx* ctx, const vkr_tensor* t) { return vkr_ctx_host(ctx, t); }
int32_t* vkr_ops_i(vkr_exec_ctx* ctx, const vkr_tensor* t) { return vkr_ctx_host(ctx, t); }
