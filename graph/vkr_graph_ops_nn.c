/* Graph ops over the neural-network kernels: softmax, layer norm, embedding, attention, losses. */
#include <stdio.h>
#include <string.h>

#include "vkr_graph_ops_internal.h"
#include "vkr_ops_nn.h"

#define SRCS(...) ((const vkr_tensor* const[]){__VA_ARGS__})

static const uint32_t vkr_scalar_shape[1] = {1};

/* ---- softmax / log-softmax ------------------------------------------------------------------ */

static vkr_tensor* vkr_rowwise(vkr_graph* g, uint32_t op, vkr_tensor* x, const char* name) {
    if (vkr_ops_missing(g, SRCS(x), 1)) return NULL;
    if (!vkr_ops_check_dtype(g, x, VKR_F32, name, "x")) return NULL;
    vkr_rowwise_params p = {.cols = x->shape[x->ndim - 1]};
    p.rows = (uint32_t)(x->numel / p.cols);
    return vkr_graph_node(g, op, VKR_F32, x->ndim, x->shape, SRCS(x), 1, &p, sizeof p);
}

vkr_tensor* vkr_op_softmax(vkr_graph* g, vkr_tensor* x) { return vkr_rowwise(g, VKR_OP_SOFTMAX, x, "softmax"); }
vkr_tensor* vkr_op_log_softmax(vkr_graph* g, vkr_tensor* x) {
    return vkr_rowwise(g, VKR_OP_LOG_SOFTMAX, x, "log_softmax");
}

static vkr_status vkr_softmax_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_rowwise_params* p = (const vkr_rowwise_params*)t->params;
    bool log = t->op == VKR_OP_LOG_SOFTMAX;
    if (vkr_ctx_gpu(ctx)) {
        vkr_range x = vkr_ctx_range(ctx, t->src[0]), y = vkr_ctx_range(ctx, t);
        return log ? vkr_gpu_log_softmax(vkr_ctx_sequence(ctx), p, x, y) : vkr_gpu_softmax(vkr_ctx_sequence(ctx), p, x, y);
    }
    return log ? vkr_ref_log_softmax(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t))
               : vkr_ref_softmax(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_softmax_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_rowwise_params* p = (const vkr_rowwise_params*)t->params;
    bool log = t->op == VKR_OP_LOG_SOFTMAX;
    if (vkr_ctx_gpu(ctx)) {
        vkr_sequence* s = vkr_ctx_sequence(ctx);
        vkr_range y = vkr_ctx_range(ctx, t), dy = vkr_ctx_range(ctx, t->grad), dx = vkr_ctx_range(ctx, vkr_ops_grad(t, 0));
        return log ? vkr_gpu_log_softmax_bwd(s, p, y, dy, dx) : vkr_gpu_softmax_bwd(s, p, y, dy, dx);
    }
    float *y = vkr_ops_f(ctx, t), *dy = vkr_ops_f(ctx, t->grad), *dx = vkr_ops_f(ctx, vkr_ops_grad(t, 0));
    return log ? vkr_ref_log_softmax_bwd(p, y, dy, dx) : vkr_ref_softmax_bwd(p, y, dy, dx);
}

/* ---- layer norm ------------------------------------------------------------------------------ */

vkr_tensor* vkr_op_layernorm(vkr_graph* g, vkr_tensor* x, vkr_tensor* gamma, vkr_tensor* beta, float eps) {
    if (vkr_ops_missing(g, SRCS(x, gamma, beta), 3)) return NULL;
    vkr_layernorm_params p = {.cols = x->shape[x->ndim - 1], .eps = eps};
    p.rows = (uint32_t)(x->numel / p.cols);
    if (gamma->numel != p.cols || beta->numel != p.cols)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "layernorm: gamma %s and beta %s need %u elements", gamma->name,
                              beta->name, p.cols);
    vkr_tensor* t = vkr_graph_node(g, VKR_OP_LAYERNORM, VKR_F32, x->ndim, x->shape, SRCS(x, gamma, beta), 3, &p, sizeof p);
    uint32_t stats = 2 * p.rows;
    vkr_graph_aux(g, t, 1, &stats, VKR_F32);
    return vkr_graph_status(g) == VKR_OK ? t : NULL;
}

static vkr_status vkr_layernorm_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_layernorm_params* p = (const vkr_layernorm_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_layernorm(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t->src[1]),
                                 vkr_ctx_range(ctx, t->src[2]), vkr_ctx_range(ctx, t), vkr_ctx_range(ctx, t->aux));
    return vkr_ref_layernorm(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t->src[1]), vkr_ops_f(ctx, t->src[2]),
                             vkr_ops_f(ctx, t), vkr_ops_f(ctx, t->aux));
}

static vkr_status vkr_layernorm_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_layernorm_params* p = (const vkr_layernorm_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_layernorm_bwd(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]),
                                     vkr_ctx_range(ctx, t->src[1]), vkr_ctx_range(ctx, t->aux),
                                     vkr_ctx_range(ctx, t->grad), vkr_ctx_range(ctx, vkr_ops_grad(t, 0)),
                                     vkr_ctx_range(ctx, vkr_ops_grad(t, 1)), vkr_ctx_range(ctx, vkr_ops_grad(t, 2)));
    return vkr_ref_layernorm_bwd(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t->src[1]), vkr_ops_f(ctx, t->aux),
                                 vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)),
                                 vkr_ops_f(ctx, vkr_ops_grad(t, 1)), vkr_ops_f(ctx, vkr_ops_grad(t, 2)));
}

/* ---- embedding ------------------------------------------------------------------------------- */

vkr_tensor* vkr_op_embedding(vkr_graph* g, vkr_tensor* table, vkr_tensor* idx) {
    if (vkr_ops_missing(g, SRCS(table, idx), 2)) return NULL;
    if (!vkr_ops_check_dtype(g, table, VKR_F32, "embedding", "table") ||
        !vkr_ops_check_dtype(g, idx, VKR_I32, "embedding", "idx"))
        return NULL;
    if (table->ndim != 2) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "embedding: table %s must be 2-D", table->name);
    if (idx->ndim >= VKR_MAX_DIMS)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "embedding: idx %s has too many dims", idx->name);
    if (idx->role != VKR_ROLE_INPUT && idx->role != VKR_ROLE_CONST)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "embedding: ids %s must be set by the host (input or const)",
                              idx->name);
    vkr_embedding_params p = {.vocab = table->shape[0], .dim = table->shape[1], .count = (uint32_t)idx->numel};
    uint32_t out[VKR_MAX_DIMS];
    memcpy(out, idx->shape, idx->ndim * sizeof *out);
    out[idx->ndim] = p.dim;
    /* the inverse index for a deterministic backward, rebuilt by the executor whenever ids are written */
    uint32_t csr_len = (uint32_t)vkr_embedding_csr_len(p.count);
    vkr_tensor* csr = vkr_graph_input(g, NULL, VKR_I32, 1, &csr_len);
    if (!csr) return NULL;
    snprintf(csr->name, sizeof csr->name, "%.50s.csr", idx->name);
    csr->op = VKR_OP_CSR;
    csr->src_count = 1;
    csr->src[0] = idx;
    memcpy(csr->params, &p, sizeof p);
    if (idx->role == VKR_ROLE_CONST) csr->role = VKR_ROLE_CONST;
    return vkr_graph_node(g, VKR_OP_EMBEDDING, VKR_F32, idx->ndim + 1, out, SRCS(table, idx, csr), 3, &p, sizeof p);
}

static vkr_status vkr_embedding_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_embedding_params* p = (const vkr_embedding_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_embedding(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t->src[1]),
                                 vkr_ctx_range(ctx, t));
    return vkr_ref_embedding(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_i(ctx, t->src[1]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_embedding_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_embedding_params* p = (const vkr_embedding_params*)t->params;
    if (!vkr_ops_grad(t, 0)) return VKR_OK;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_embedding_bwd(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[2]), vkr_ctx_range(ctx, t->grad),
                                     vkr_ctx_range(ctx, vkr_ops_grad(t, 0)));
    return vkr_ref_embedding_bwd(p, vkr_ops_i(ctx, t->src[1]), vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)));
}

/* ---- attention softmax ----------------------------------------------------------------------- */

vkr_tensor* vkr_op_attn_softmax(vkr_graph* g, vkr_tensor* scores, vkr_tensor* key_mask, float scale, bool causal) {
    if (vkr_ops_missing(g, SRCS(scores), 1)) return NULL;
    if (scores->ndim != 4)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "attn_softmax: scores %s must be [B, H, Tq, Tk]", scores->name);
    vkr_attn_softmax_params p = {.batch = scores->shape[0], .heads = scores->shape[1], .q_len = scores->shape[2],
                                 .k_len = scores->shape[3], .scale = scale, .causal = causal};
    if (key_mask && (key_mask->dtype != VKR_I32 || key_mask->numel != (uint64_t)p.batch * p.k_len))
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "attn_softmax: key_mask %s must be int32 [%u, %u]",
                              key_mask->name, p.batch, p.k_len);
    return vkr_graph_node(g, VKR_OP_ATTN_SOFTMAX, VKR_F32, 4, scores->shape, SRCS(scores, key_mask), 2, &p, sizeof p);
}

static vkr_status vkr_attn_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_attn_softmax_params* p = (const vkr_attn_softmax_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_attn_softmax(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t->src[1]),
                                    vkr_ctx_range(ctx, t));
    return vkr_ref_attn_softmax(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_i(ctx, t->src[1]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_attn_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_attn_softmax_params* p = (const vkr_attn_softmax_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_attn_softmax_bwd(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t), vkr_ctx_range(ctx, t->grad),
                                        vkr_ctx_range(ctx, vkr_ops_grad(t, 0)));
    return vkr_ref_attn_softmax_bwd(p, vkr_ops_f(ctx, t), vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)));
}

/* ---- losses ---------------------------------------------------------------------------------- */

vkr_tensor* vkr_op_cross_entropy(vkr_graph* g, vkr_tensor* logits, vkr_tensor* targets, int32_t ignore_index) {
    if (vkr_ops_missing(g, SRCS(logits, targets), 2)) return NULL;
    if (!vkr_ops_check_dtype(g, logits, VKR_F32, "cross_entropy", "logits") ||
        !vkr_ops_check_dtype(g, targets, VKR_I32, "cross_entropy", "targets"))
        return NULL;
    vkr_xent_params p = {.classes = logits->shape[logits->ndim - 1], .ignore_index = ignore_index};
    p.rows = (uint32_t)(logits->numel / p.classes);
    if (targets->numel != p.rows)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "cross_entropy: %u rows of logits but %llu targets", p.rows,
                              (unsigned long long)targets->numel);
    vkr_tensor* t = vkr_graph_node(g, VKR_OP_CROSS_ENTROPY, VKR_F32, 1, vkr_scalar_shape, SRCS(logits, targets), 2, &p,
                                   sizeof p);
    uint32_t stats = (uint32_t)vkr_xent_stats_floats(p.rows);
    vkr_graph_aux(g, t, 1, &stats, VKR_F32);
    return vkr_graph_status(g) == VKR_OK ? t : NULL;
}

static vkr_status vkr_xent_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_xent_params* p = (const vkr_xent_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_cross_entropy(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t->src[1]),
                                     vkr_ctx_range(ctx, t->aux), vkr_ctx_range(ctx, t));
    return vkr_ref_cross_entropy(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_i(ctx, t->src[1]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_xent_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_xent_params* p = (const vkr_xent_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_cross_entropy_bwd(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]),
                                         vkr_ctx_range(ctx, t->src[1]), vkr_ctx_range(ctx, t->aux),
                                         vkr_ctx_range(ctx, t->grad), vkr_ctx_range(ctx, vkr_ops_grad(t, 0)));
    return vkr_ref_cross_entropy_bwd(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_i(ctx, t->src[1]), *vkr_ops_f(ctx, t->grad),
                                     vkr_ops_f(ctx, vkr_ops_grad(t, 0)));
}

static vkr_tensor* vkr_pointwise_loss(vkr_graph* g, uint32_t op, vkr_tensor* a, vkr_tensor* b, const char* name) {
    if (vkr_ops_missing(g, SRCS(a, b), 2)) return NULL;
    if (!vkr_ops_check_dtype(g, a, VKR_F32, name, "a") || !vkr_ops_check_dtype(g, b, VKR_F32, name, "b")) return NULL;
    if (a->numel != b->numel)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s: %s and %s differ in size (%llu vs %llu)", name, a->name,
                              b->name, (unsigned long long)a->numel, (unsigned long long)b->numel);
    vkr_pointwise_loss_params p = {.n = (uint32_t)a->numel};
    return vkr_graph_node(g, op, VKR_F32, 1, vkr_scalar_shape, SRCS(a, b), 2, &p, sizeof p);
}

vkr_tensor* vkr_op_bce_logits(vkr_graph* g, vkr_tensor* logits, vkr_tensor* targets) {
    return vkr_pointwise_loss(g, VKR_OP_BCE_LOGITS, logits, targets, "bce_logits");
}
vkr_tensor* vkr_op_bpr(vkr_graph* g, vkr_tensor* pos, vkr_tensor* neg) {
    return vkr_pointwise_loss(g, VKR_OP_BPR, pos, neg, "bpr");
}
vkr_tensor* vkr_op_mse(vkr_graph* g, vkr_tensor* pred, vkr_tensor* target) {
    return vkr_pointwise_loss(g, VKR_OP_MSE, pred, target, "mse");
}

static vkr_status vkr_pointwise_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_pointwise_loss_params* p = (const vkr_pointwise_loss_params*)t->params;
    if (vkr_ctx_gpu(ctx)) {
        vkr_sequence* s = vkr_ctx_sequence(ctx);
        vkr_range a = vkr_ctx_range(ctx, t->src[0]), b = vkr_ctx_range(ctx, t->src[1]), y = vkr_ctx_range(ctx, t);
        if (t->op == VKR_OP_BCE_LOGITS) return vkr_gpu_bce_logits(s, p, a, b, y);
        if (t->op == VKR_OP_BPR) return vkr_gpu_bpr(s, p, a, b, y);
        return vkr_gpu_mse(s, p, a, b, y);
    }
    float *a = vkr_ops_f(ctx, t->src[0]), *b = vkr_ops_f(ctx, t->src[1]), *y = vkr_ops_f(ctx, t);
    if (t->op == VKR_OP_BCE_LOGITS) return vkr_ref_bce_logits(p, a, b, y);
    if (t->op == VKR_OP_BPR) return vkr_ref_bpr(p, a, b, y);
    return vkr_ref_mse(p, a, b, y);
}

static vkr_status vkr_pointwise_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_pointwise_loss_params* p = (const vkr_pointwise_loss_params*)t->params;
    if (vkr_ctx_gpu(ctx)) {
        vkr_sequence* s = vkr_ctx_sequence(ctx);
        vkr_range a = vkr_ctx_range(ctx, t->src[0]), b = vkr_ctx_range(ctx, t->src[1]), dl = vkr_ctx_range(ctx, t->grad);
        vkr_range da = vkr_ctx_range(ctx, vkr_ops_grad(t, 0)), db = vkr_ctx_range(ctx, vkr_ops_grad(t, 1));
        if (t->op == VKR_OP_BCE_LOGITS) return da.buffer ? vkr_gpu_bce_logits_bwd(s, p, a, b, dl, da) : VKR_OK;
        if (t->op == VKR_OP_BPR) return vkr_gpu_bpr_bwd(s, p, a, b, dl, da, db);
        return da.buffer ? vkr_gpu_mse_bwd(s, p, a, b, dl, da) : VKR_OK;
    }
    float *a = vkr_ops_f(ctx, t->src[0]), *b = vkr_ops_f(ctx, t->src[1]), dl = *vkr_ops_f(ctx, t->grad);
    float *da = vkr_ops_f(ctx, vkr_ops_grad(t, 0)), *db = vkr_ops_f(ctx, vkr_ops_grad(t, 1));
    if (t->op == VKR_OP_BCE_LOGITS) return da ? vkr_ref_bce_logits_bwd(p, a, b, dl, da) : VKR_OK;
    if (t->op == VKR_OP_BPR) return vkr_ref_bpr_bwd(p, a, b, dl, da, db);
    return da ? vkr_ref_mse_bwd(p, a, b, dl, da) : VKR_OK;
}

const vkr_op_impl vkr_op_softmax_impl = {"softmax", vkr_softmax_fwd, vkr_softmax_bwd};
const vkr_op_impl vkr_op_log_softmax_impl = {"log_softmax", vkr_softmax_fwd, vkr_softmax_bwd};
const vkr_op_impl vkr_op_layernorm_impl = {"layernorm", vkr_layernorm_fwd, vkr_layernorm_bwd};
const vkr_op_impl vkr_op_embedding_impl = {"embedding", vkr_embedding_fwd, vkr_embedding_bwd};
const vkr_op_impl vkr_op_attn_softmax_impl = {"attn_softmax", vkr_attn_fwd, vkr_attn_bwd};
const vkr_op_impl vkr_op_cross_entropy_impl = {"cross_entropy", vkr_xent_fwd, vkr_xent_bwd};
const vkr_op_impl vkr_op_bce_logits_impl = {"bce_logits", vkr_pointwise_fwd, vkr_pointwise_bwd};
const vkr_op_impl vkr_op_bpr_impl = {"bpr", vkr_pointwise_fwd, vkr_pointwise_bwd};
const vkr_op_impl vkr_op_mse_impl = {"mse", vkr_pointwise_fwd, vkr_pointwise_bwd};
const vkr_op_impl vkr_op_csr_impl = {"csr", NULL, NULL}; /* a host-derived input: the executor builds it */
