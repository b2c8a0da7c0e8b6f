/* Graph tier: the graph-op constructors models build their graphs with (the RQ ops are in
 * vkr_graph_ops_quant.h, the sparse product in vkr_graph_ops_sparse.h). Their implementations live behind graph/internal/vkr_graph_ops_internal.h.
 *
 * Contract: every constructor checks shapes and dtypes and records a clear error on the graph
 * (vkr_graph_status) instead of returning a node; operands may be views. Each op kind has a forward
 * and, when differentiable, a backward implementation for both backends (the executor, vkr_exec.h,
 * runs them); backward implementations ACCUMULATE into the gradients of operands that require one. */
#ifndef VKR_GRAPH_OPS_H
#define VKR_GRAPH_OPS_H
#include "vkr_graph.h"

/* Op kinds; 0 marks a leaf (input, parameter, constant). */
typedef enum vkr_op_kind {
    VKR_OP_NONE = 0,
    VKR_OP_RESHAPE,     /* view with another shape; no work */
    VKR_OP_MATMUL,      /* [batch] x matmul with optional bias */
    VKR_OP_BINARY,      /* add/sub/mul/div with broadcasting */
    VKR_OP_UNARY,       /* scale/relu/leaky_relu/gelu/sigmoid/tanh/rsqrt */
    VKR_OP_REDUCE,      /* sum/mean along an axis */
    VKR_OP_DROPOUT,     /* inverted dropout, fresh mask each step */
    VKR_OP_CONCAT,      /* concat along an axis */
    VKR_OP_SLICE,       /* slice along an axis */
    VKR_OP_PERMUTE,     /* axis permutation (a copy) */
    VKR_OP_SOFTMAX,     /* softmax over the last axis */
    VKR_OP_LOG_SOFTMAX, /* log-softmax over the last axis */
    VKR_OP_LAYERNORM,   /* layer normalization over the last axis */
    VKR_OP_EMBEDDING,   /* rows of a table gathered by int32 ids */
    VKR_OP_ATTN_SOFTMAX, /* scale + causal/padding mask + softmax over attention scores */
    VKR_OP_CROSS_ENTROPY, /* mean CE with ignore index */
    VKR_OP_BCE_LOGITS,  /* mean binary cross-entropy with logits */
    VKR_OP_BPR,         /* mean -log sigmoid(pos - neg) */
    VKR_OP_MSE,         /* mean squared error */
    VKR_OP_LINEAR_XENT, /* cross-entropy of h @ W^T, computed in row chunks without materializing all logits */
    VKR_OP_QUANT,       /* residual quantization: codes, straight-through lookup, codebook loss (vkr_graph_ops_quant.h) */
    VKR_OP_CSR,         /* host-derived input: inverse index of an embedding's ids (not a node) */
    VKR_OP_SPMM,        /* constant sparse matrix times dense matrix (vkr_graph_ops_sparse.h) */
    VKR_OP_COUNT
} vkr_op_kind;

/* ---- constructors (axes count from the tensor's own dims; negative axes count from the end) ---- */

/* A view of x with another shape of the same element count (no copy). */
vkr_tensor* vkr_op_reshape(vkr_graph* g, vkr_tensor* x, uint32_t ndim, const uint32_t* shape);
/* op(a) @ op(b) (+ bias[N]). b 2-D: a's leading dims are rows ([..., K] @ [K, N] -> [..., N]);
 * b 3-D/4-D: batched over matching leading dims (no transposes on a then). */
vkr_tensor* vkr_op_matmul(vkr_graph* g, vkr_tensor* a, vkr_tensor* b, vkr_tensor* bias, bool trans_a, bool trans_b);
/* a + b with numpy broadcasting. */
vkr_tensor* vkr_op_add(vkr_graph* g, vkr_tensor* a, vkr_tensor* b);
/* a - b with broadcasting. */
vkr_tensor* vkr_op_sub(vkr_graph* g, vkr_tensor* a, vkr_tensor* b);
/* a * b with broadcasting. */
vkr_tensor* vkr_op_mul(vkr_graph* g, vkr_tensor* a, vkr_tensor* b);
/* a / b with broadcasting. */
vkr_tensor* vkr_op_div(vkr_graph* g, vkr_tensor* a, vkr_tensor* b);
/* alpha * x. */
vkr_tensor* vkr_op_scale(vkr_graph* g, vkr_tensor* x, float alpha);
/* max(x, 0). */
vkr_tensor* vkr_op_relu(vkr_graph* g, vkr_tensor* x);
/* x > 0 ? x : slope * x. */
vkr_tensor* vkr_op_leaky_relu(vkr_graph* g, vkr_tensor* x, float slope);
/* GELU, tanh approximation. */
vkr_tensor* vkr_op_gelu(vkr_graph* g, vkr_tensor* x);
/* 1 / (1 + exp(-x)). */
vkr_tensor* vkr_op_sigmoid(vkr_graph* g, vkr_tensor* x);
/* tanh(x). */
vkr_tensor* vkr_op_tanh(vkr_graph* g, vkr_tensor* x);
/* 1 / sqrt(max(x, 0) + eps), eps > 0 (the scale of an L2 normalization). */
vkr_tensor* vkr_op_rsqrt(vkr_graph* g, vkr_tensor* x, float eps);
/* Sum over one axis (kept as size 1). */
vkr_tensor* vkr_op_sum(vkr_graph* g, vkr_tensor* x, int axis);
/* Mean over one axis (kept as size 1). */
vkr_tensor* vkr_op_mean(vkr_graph* g, vkr_tensor* x, int axis);
/* Inverted dropout with drop probability p, a fresh mask every training step; identity otherwise. */
vkr_tensor* vkr_op_dropout(vkr_graph* g, vkr_tensor* x, float p);
/* Dropout with its neighbours fused into one kernel each way: [residual +] dropout([relu] x, p).
 * Same shapes; residual may be NULL. Equal to the unfused ops, mask for mask. */
vkr_tensor* vkr_op_dropout_fused(vkr_graph* g, vkr_tensor* x, float p, bool relu, vkr_tensor* residual);
/* Concatenation along an axis. */
vkr_tensor* vkr_op_concat(vkr_graph* g, vkr_tensor* a, vkr_tensor* b, int axis);
/* x[offset : offset + length] along an axis. */
vkr_tensor* vkr_op_slice(vkr_graph* g, vkr_tensor* x, int axis, uint32_t offset, uint32_t length);
/* Axis permutation (perm has x->ndim entries; output axis i is input axis perm[i]). */
vkr_tensor* vkr_op_permute(vkr_graph* g, vkr_tensor* x, const uint32_t* perm);
/* Softmax over the last axis. */
vkr_tensor* vkr_op_softmax(vkr_graph* g, vkr_tensor* x);
/* Log-softmax over the last axis. */
vkr_tensor* vkr_op_log_softmax(vkr_graph* g, vkr_tensor* x);
/* Layer normalization over the last axis with gamma and beta (both [D]). */
vkr_tensor* vkr_op_layernorm(vkr_graph* g, vkr_tensor* x, vkr_tensor* gamma, vkr_tensor* beta, float eps);
/* table[idx]: table [V, D] fp32, idx int32 (any shape) -> idx.shape + [D]. */
vkr_tensor* vkr_op_embedding(vkr_graph* g, vkr_tensor* table, vkr_tensor* idx);
/* softmax(scale * scores) over keys with the causal and key-padding masks; scores [B, H, Tq, Tk],
 * key_mask int32 [B, Tk] (nonzero attends) or NULL. */
vkr_tensor* vkr_op_attn_softmax(vkr_graph* g, vkr_tensor* scores, vkr_tensor* key_mask, float scale, bool causal);
/* Mean cross-entropy of logits [R, C] against int32 targets [R], skipping ignore_index. */
vkr_tensor* vkr_op_cross_entropy(vkr_graph* g, vkr_tensor* logits, vkr_tensor* targets, int32_t ignore_index);
/* Mean cross-entropy of the logits h @ table^T (h [..., D], table [V, D]) against int32 targets,
 * skipping ignore_index. Rows are processed in chunks whose logits fit one storage binding, and the
 * backward recomputes each chunk's logits, so memory stays O(chunk x V) instead of O(rows x V). */
vkr_tensor* vkr_op_linear_xent(vkr_graph* g, vkr_tensor* h, vkr_tensor* table, vkr_tensor* targets,
                               int32_t ignore_index);
/* Mean binary cross-entropy of logits against targets in [0, 1] (same shape). */
vkr_tensor* vkr_op_bce_logits(vkr_graph* g, vkr_tensor* logits, vkr_tensor* targets);
/* Mean BPR loss -log sigmoid(pos - neg) (same shape). */
vkr_tensor* vkr_op_bpr(vkr_graph* g, vkr_tensor* pos, vkr_tensor* neg);
/* Mean squared error (same shape). */
vkr_tensor* vkr_op_mse(vkr_graph* g, vkr_tensor* pred, vkr_tensor* target);

#endif
