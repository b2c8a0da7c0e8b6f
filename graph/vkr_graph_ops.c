/* The op table and helpers shared by the op families. */
#include <string.h>

#include "vkr_graph_ops_internal.h"
#include "vkr_graph_ops_quant.h"

const vkr_op_impl* vkr_op_get(uint32_t op) {
    if (op == VKR_OP_NONE || op >= VKR_OP_COUNT) return NULL;
    if (op == VKR_OP_LINEAR_XENT) return &vkr_ops_linear_xent_impl;
    if (op == VKR_OP_QUANT) return &vkr_ops_quant_impl;
    if (vkr_ops_basic_impl[op].name) return &vkr_ops_basic_impl[op];
    if (vkr_ops_nn_impl[op].name) return &vkr_ops_nn_impl[op];
    return NULL;
}

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
