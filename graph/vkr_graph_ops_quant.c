/* The RQ graph ops (one op kind, VKR_OP_QUANT, with three sub-kinds) on the quantization kernels
 * (kernels/vkr_ops_quant.h). */
#include "vkr_graph_ops_quant.h"

#include <math.h>

#include "vkr_graph_ops_internal.h"
#include "vkr_ops_ew.h"
#include "vkr_ops_quant.h"

typedef enum q_kind { Q_CODES = 0, Q_QUANTIZED, Q_LOSS } q_kind;

/* Parameters of a VKR_OP_QUANT node. */
typedef struct q_op {
    q_kind kind;
    vkr_rq_params rq;
} q_op;

/* Checks z [B, D], codebooks [L, K, D] and (when given) codes int32 [B, L]; fills rq. */
static bool q_shapes(vkr_graph* g, const vkr_tensor* z, const vkr_tensor* cb, const vkr_tensor* codes, const char* op,
                     vkr_rq_params* rq) {
    if (!vkr_ops_check_dtype(g, z, VKR_F32, op, "z") || !vkr_ops_check_dtype(g, cb, VKR_F32, op, "codebooks"))
        return false;
    if (z->ndim != 2 || cb->ndim != 3 || cb->shape[2] != z->shape[1]) {
        vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s: z (%s) must be [B, D] and codebooks (%s) [L, K, D] with the same D",
                       op, z->name, cb->name);
        return false;
    }
    *rq = (vkr_rq_params){.rows = z->shape[0], .levels = cb->shape[0], .codes = cb->shape[1], .dim = z->shape[1]};
    if (codes && (!vkr_ops_check_dtype(g, codes, VKR_I32, op, "codes") || codes->ndim != 2 ||
                  codes->shape[0] != rq->rows || codes->shape[1] != rq->levels)) {
        if (vkr_graph_status(g) == VKR_OK)
            vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s: codes (%s) must be int32 [%u, %u]", op, codes->name, rq->rows,
                           rq->levels);
        return false;
    }
    if (vkr_rq_check(rq, op) != VKR_OK) {
        vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s", vkr_last_error());
        return false;
    }
    return true;
}

vkr_tensor* vkr_op_rq_codes(vkr_graph* g, vkr_tensor* z, vkr_tensor* codebooks) {
    const vkr_tensor* srcs[2] = {z, codebooks};
    q_op p = {.kind = Q_CODES};
    if (vkr_ops_missing(g, srcs, 2) || !q_shapes(g, z, codebooks, NULL, "rq_codes", &p.rq)) return NULL;
    vkr_tensor* t = vkr_graph_node(g, VKR_OP_QUANT, VKR_I32, 2, (uint32_t[]){p.rq.rows, p.rq.levels}, srcs, 2, &p,
                                   sizeof p);
    uint64_t scratch = vkr_rq_encode_scratch(&p.rq);
    if (scratch > UINT32_MAX) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "rq_codes: scratch too large");
    vkr_graph_aux(g, t, 1, (uint32_t[]){(uint32_t)scratch}, VKR_F32);
    return vkr_graph_status(g) == VKR_OK ? t : NULL;
}

vkr_tensor* vkr_op_rq_quantized(vkr_graph* g, vkr_tensor* z, vkr_tensor* codebooks, vkr_tensor* codes) {
    const vkr_tensor* srcs[3] = {z, codebooks, codes};
    q_op p = {.kind = Q_QUANTIZED};
    if (vkr_ops_missing(g, srcs, 3) || !q_shapes(g, z, codebooks, codes, "rq_quantized", &p.rq)) return NULL;
    vkr_tensor* t = vkr_graph_node(g, VKR_OP_QUANT, VKR_F32, 2, z->shape, srcs, 3, &p, sizeof p);
    vkr_graph_aux(g, t, 1, (uint32_t[]){(uint32_t)vkr_rq_lookup_scratch(&p.rq)}, VKR_F32);
    return vkr_graph_status(g) == VKR_OK ? t : NULL;
}

vkr_tensor* vkr_op_rq_loss(vkr_graph* g, vkr_tensor* z, vkr_tensor* codebooks, vkr_tensor* codes, float beta) {
    const vkr_tensor* srcs[3] = {z, codebooks, codes};
    q_op p = {.kind = Q_LOSS};
    if (vkr_ops_missing(g, srcs, 3) || !q_shapes(g, z, codebooks, codes, "rq_loss", &p.rq)) return NULL;
    if (!(beta >= 0) || !isfinite(beta))
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "rq_loss: beta must be finite and >= 0 (got %g)", beta);
    p.rq.beta = beta;
    uint64_t total = vkr_rq_loss_scratch(&p.rq);
    if (total > UINT32_MAX) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "rq_loss: scratch too large");
    vkr_tensor* t = vkr_graph_node(g, VKR_OP_QUANT, VKR_F32, 1, (uint32_t[]){1}, srcs, 3, &p, sizeof p);
    vkr_graph_aux(g, t, 1, (uint32_t[]){(uint32_t)total}, VKR_F32);
    return vkr_graph_status(g) == VKR_OK ? t : NULL;
}

static vkr_status q_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const q_op* p = (const q_op*)t->params;
    bool gpu = vkr_ctx_gpu(ctx);
    vkr_sequence* seq = gpu ? vkr_ctx_sequence(ctx) : NULL;
    vkr_tensor *z = t->src[0], *cb = t->src[1], *codes = t->src[2];
    switch (p->kind) {
    case Q_CODES:
        if (gpu)
            return vkr_gpu_rq_encode(seq, &p->rq, vkr_ctx_range(ctx, z), vkr_ctx_range(ctx, cb),
                                     vkr_ctx_range(ctx, t->aux), vkr_ctx_range(ctx, t));
        return vkr_ref_rq_encode(&p->rq, vkr_ops_f(ctx, z), vkr_ops_f(ctx, cb), vkr_ops_i(ctx, t));
    case Q_QUANTIZED:
        if (gpu)
            return vkr_gpu_rq_lookup(seq, &p->rq, vkr_ctx_range(ctx, z), vkr_ctx_range(ctx, cb),
                                     vkr_ctx_range(ctx, codes), vkr_ctx_range(ctx, t->aux), vkr_ctx_range(ctx, t));
        return vkr_ref_rq_lookup(&p->rq, vkr_ops_f(ctx, z), vkr_ops_f(ctx, cb), vkr_ops_i(ctx, codes), vkr_ops_f(ctx, t));
    case Q_LOSS:
        if (gpu)
            return vkr_gpu_rq_loss(seq, &p->rq, vkr_ctx_range(ctx, z), vkr_ctx_range(ctx, cb),
                                   vkr_ctx_range(ctx, codes), vkr_ctx_range(ctx, t->aux), vkr_ctx_range(ctx, t));
        return vkr_ref_rq_loss(&p->rq, vkr_ops_f(ctx, z), vkr_ops_f(ctx, cb), vkr_ops_i(ctx, codes), vkr_ops_f(ctx, t));
    }
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant op: unknown kind %d", (int)p->kind);
}

static vkr_status q_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const q_op* p = (const q_op*)t->params;
    bool gpu = vkr_ctx_gpu(ctx);
    if (p->kind == Q_CODES) return VKR_OK; /* integer output: no gradient */
    if (p->kind == Q_QUANTIZED) {          /* straight-through: dz += dzq */
        const vkr_tensor* dz = vkr_ops_grad(t, 0);
        if (!dz) return VKR_OK;
        vkr_binary_params bp = {.op = VKR_BINARY_ADD};
        vkr_tensor_shape4(t, bp.a_shape);
        vkr_tensor_shape4(t, bp.b_shape);
        if (gpu)
            return vkr_gpu_binary_backward(vkr_ctx_sequence(ctx), &bp, (vkr_range){0}, (vkr_range){0},
                                           vkr_ctx_range(ctx, t->grad), vkr_ctx_range(ctx, dz), (vkr_range){0});
        return vkr_ref_binary_backward(&bp, NULL, NULL, vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, dz), NULL);
    }
    if (gpu)
        return vkr_gpu_rq_loss_bwd(vkr_ctx_sequence(ctx), &p->rq, vkr_ctx_range(ctx, t->src[2]),
                                   vkr_ctx_range(ctx, t->aux), vkr_ctx_range(ctx, t->grad),
                                   vkr_ctx_range(ctx, vkr_ops_grad(t, 0)), vkr_ctx_range(ctx, vkr_ops_grad(t, 1)));
    return vkr_ref_rq_loss_bwd(&p->rq, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t->src[1]), vkr_ops_i(ctx, t->src[2]),
                               *vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)),
                               vkr_ops_f(ctx, vkr_ops_grad(t, 1)));
}

const vkr_op_impl vkr_op_quant_impl = {"quant", q_fwd, q_bwd};
