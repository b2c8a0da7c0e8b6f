/* Graph ops over the matmul, elementwise and permute kernels. */
#include <string.h>

#include "vkr_graph_ops_internal.h"
#include "vkr_matmul.h"
#include "vkr_ops_ew.h"
#include "vkr_permute.h"

#define SRCS(...) ((const vkr_tensor* const[]){__VA_ARGS__})
#define NSRC(...) (sizeof((const vkr_tensor* const[]){__VA_ARGS__}) / sizeof(vkr_tensor*))

/* ---- reshape ---------------------------------------------------------------------------------- */

vkr_tensor* vkr_op_reshape(vkr_graph* g, vkr_tensor* x, uint32_t ndim, const uint32_t* shape) {
    if (vkr_ops_missing(g, SRCS(x), 1)) return NULL;
    uint64_t n = 1;
    for (uint32_t i = 0; i < ndim && shape; i++) n *= shape[i];
    if (!shape || n != x->numel)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "reshape: %s has %llu elements, the new shape %llu", x->name,
                              (unsigned long long)x->numel, (unsigned long long)n);
    vkr_tensor* t = vkr_graph_node(g, VKR_OP_RESHAPE, x->dtype, ndim, shape, SRCS(x), 1, NULL, 0);
    if (t) t->view_of = x;
    return t;
}

/* ---- matmul ---------------------------------------------------------------------------------- */

static void vkr_mm_init(vkr_matmul_params* p, uint32_t M, uint32_t N, uint32_t K) {
    memset(p, 0, sizeof *p);
    p->M = M;
    p->N = N;
    p->K = K;
    p->batch = 1;
    p->alpha = 1.0f;
}

vkr_tensor* vkr_op_matmul(vkr_graph* g, vkr_tensor* a, vkr_tensor* b, vkr_tensor* bias, bool ta, bool tb) {
    if (vkr_ops_missing(g, SRCS(a, b), 2)) return NULL;
    if (!vkr_ops_check_dtype(g, a, VKR_F32, "matmul", "a") || !vkr_ops_check_dtype(g, b, VKR_F32, "matmul", "b"))
        return NULL;
    vkr_matmul_params p;
    uint32_t out[VKR_MAX_DIMS];
    uint32_t ndim;
    if (b->ndim == 2) {
        if (ta && a->ndim != 2)
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "matmul: trans_a needs a 2-D a, %s has %u dims",
                                  a->name, a->ndim);
        uint32_t K = ta ? a->shape[0] : a->shape[a->ndim - 1];
        uint32_t M = (uint32_t)(a->numel / (ta ? a->shape[0] : a->shape[a->ndim - 1]));
        uint32_t bk = tb ? b->shape[1] : b->shape[0], N = tb ? b->shape[0] : b->shape[1];
        if (K != bk)
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "matmul: inner dims differ: %s gives K=%u, %s K=%u",
                                  a->name, K, b->name, bk);
        vkr_mm_init(&p, M, N, K);
        ndim = a->ndim;
        for (uint32_t i = 0; i < ndim; i++) out[i] = a->shape[i];
        if (ta) out[0] = M;
        out[ndim - 1] = N;
    } else {
        if (ta || tb) {
            if (a->ndim != b->ndim)
                return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "matmul: batched operands need equal ranks");
        }
        if (a->ndim != b->ndim || a->ndim < 3)
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "matmul: batched operands %s (%u dims) and %s (%u dims) "
                                  "need equal ranks of 3 or 4", a->name, a->ndim, b->name, b->ndim);
        uint32_t batch = 1;
        for (uint32_t i = 0; i + 2 < a->ndim; i++) {
            if (a->shape[i] != b->shape[i])
                return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "matmul: batch dim %u differs (%u vs %u)", i,
                                      a->shape[i], b->shape[i]);
            batch *= a->shape[i];
        }
        uint32_t r = a->ndim - 2;
        uint32_t M = ta ? a->shape[r + 1] : a->shape[r], K = ta ? a->shape[r] : a->shape[r + 1];
        uint32_t bk = tb ? b->shape[r + 1] : b->shape[r], N = tb ? b->shape[r] : b->shape[r + 1];
        if (K != bk)
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "matmul: inner dims differ: %s K=%u, %s K=%u", a->name, K,
                                  b->name, bk);
        vkr_mm_init(&p, M, N, K);
        p.batch = batch;
        p.stride_a = (uint64_t)M * K;
        p.stride_b = (uint64_t)K * N;
        p.stride_c = (uint64_t)M * N;
        ndim = a->ndim;
        for (uint32_t i = 0; i < ndim; i++) out[i] = a->shape[i];
        out[r] = M;
        out[r + 1] = N;
    }
    p.trans_a = ta;
    p.trans_b = tb;
    if (bias) {
        if (!vkr_ops_check_dtype(g, bias, VKR_F32, "matmul", "bias")) return NULL;
        if (bias->numel != p.N)
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "matmul: bias %s has %llu elements, N is %u", bias->name,
                                  (unsigned long long)bias->numel, p.N);
        p.has_bias = true;
    }
    return vkr_graph_node(g, VKR_OP_MATMUL, VKR_F32, ndim, out, SRCS(a, b, bias), 3, &p, sizeof p);
}

static vkr_status vkr_mm_run(vkr_exec_ctx* ctx, const vkr_matmul_params* p, const vkr_tensor* a, const vkr_tensor* b,
                             const vkr_tensor* bias, const vkr_tensor* c) {
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_matmul(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, a), vkr_ctx_range(ctx, b),
                              vkr_ctx_range(ctx, bias), vkr_ctx_range(ctx, c));
    return vkr_ref_matmul(p, vkr_ops_f(ctx, a), vkr_ops_f(ctx, b), vkr_ops_f(ctx, bias), vkr_ops_f(ctx, c));
}

static vkr_status vkr_matmul_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    return vkr_mm_run(ctx, (const vkr_matmul_params*)t->params, t->src[0], t->src[1], t->src[2], t);
}

/* With C = op(A) op(B): dA and dB as matmuls of dC with the other operand, chosen per transpose
 * case so that each writes its gradient in the operand's stored layout; dbias sums dC's rows, inside
 * the dB product's pass over dC when that product reads dC as its op(B) (a linear layer's weight). */
static vkr_status vkr_matmul_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_matmul_params* p = (const vkr_matmul_params*)t->params;
    vkr_tensor *a = t->src[0], *b = t->src[1], *dc = t->grad;
    vkr_tensor *da = vkr_ops_grad(t, 0), *db = vkr_ops_grad(t, 1), *dbias = vkr_ops_grad(t, 2);
    bool ta = p->trans_a, tb = p->trans_b;
    if (da) {
        vkr_matmul_params q;
        if (!ta) vkr_mm_init(&q, p->M, p->K, p->N); /* dA[M,K] */
        else vkr_mm_init(&q, p->K, p->M, p->N);     /* dA stored [K,M] */
        q.batch = p->batch;
        q.accumulate = true;
        q.stride_c = p->stride_a;
        if (!ta) { /* dA = dC op(B)^T */
            q.trans_b = !tb;
            q.stride_a = p->stride_c;
            q.stride_b = p->stride_b;
            VKR_TRY(vkr_mm_run(ctx, &q, dc, b, NULL, da));
        } else { /* dA = op(B) dC^T, stored [K,M] */
            q.trans_a = tb;
            q.trans_b = true;
            q.stride_a = p->stride_b;
            q.stride_b = p->stride_c;
            VKR_TRY(vkr_mm_run(ctx, &q, b, dc, NULL, da));
        }
    }
    if (db) {
        vkr_matmul_params q;
        if (!tb) vkr_mm_init(&q, p->K, p->N, p->M); /* dB[K,N] */
        else vkr_mm_init(&q, p->N, p->K, p->M);     /* dB stored [N,K] */
        q.batch = p->batch;
        q.accumulate = true;
        q.stride_c = p->stride_b;
        if (!tb) { /* dB = op(A)^T dC */
            q.trans_a = !ta;
            q.stride_a = p->stride_a;
            q.stride_b = p->stride_c;
            q.bias_grad = dbias && p->batch == 1;
            VKR_TRY(vkr_mm_run(ctx, &q, a, dc, q.bias_grad ? dbias : NULL, db));
            if (q.bias_grad) dbias = NULL; /* done */
        } else { /* dB = dC^T op(A), stored [N,K] */
            q.trans_a = true;
            q.trans_b = ta;
            q.stride_a = p->stride_c;
            q.stride_b = p->stride_a;
            VKR_TRY(vkr_mm_run(ctx, &q, dc, a, NULL, db));
        }
    }
    if (dbias) {
        vkr_binary_params bp = {.op = VKR_BINARY_ADD, .a_shape = {1, 1, p->batch * p->M, p->N}, .b_shape = {1, 1, 1, p->N}};
        if (vkr_ctx_gpu(ctx))
            return vkr_gpu_binary_backward(vkr_ctx_sequence(ctx), &bp, (vkr_range){0}, (vkr_range){0},
                                           vkr_ctx_range(ctx, dc), (vkr_range){0}, vkr_ctx_range(ctx, dbias));
        return vkr_ref_binary_backward(&bp, NULL, NULL, vkr_ops_f(ctx, dc), NULL, vkr_ops_f(ctx, dbias));
    }
    return VKR_OK;
}

/* ---- binary ---------------------------------------------------------------------------------- */

static vkr_tensor* vkr_binary(vkr_graph* g, vkr_binary_op op, vkr_tensor* a, vkr_tensor* b) {
    if (vkr_ops_missing(g, SRCS(a, b), 2)) return NULL;
    if (!vkr_ops_check_dtype(g, a, VKR_F32, "binary op", "a") || !vkr_ops_check_dtype(g, b, VKR_F32, "binary op", "b"))
        return NULL;
    vkr_binary_params p = {.op = op};
    vkr_tensor_shape4(a, p.a_shape);
    vkr_tensor_shape4(b, p.b_shape);
    uint32_t out[4];
    if (vkr_broadcast_shape(p.a_shape, p.b_shape, "binary op", out) != VKR_OK)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s (%s, %s)", vkr_last_error(), a->name, b->name);
    uint32_t ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    return vkr_graph_node(g, VKR_OP_BINARY, VKR_F32, ndim, out + (4 - ndim), SRCS(a, b), 2, &p, sizeof p);
}

vkr_tensor* vkr_op_add(vkr_graph* g, vkr_tensor* a, vkr_tensor* b) { return vkr_binary(g, VKR_BINARY_ADD, a, b); }
vkr_tensor* vkr_op_sub(vkr_graph* g, vkr_tensor* a, vkr_tensor* b) { return vkr_binary(g, VKR_BINARY_SUB, a, b); }
vkr_tensor* vkr_op_mul(vkr_graph* g, vkr_tensor* a, vkr_tensor* b) { return vkr_binary(g, VKR_BINARY_MUL, a, b); }
vkr_tensor* vkr_op_div(vkr_graph* g, vkr_tensor* a, vkr_tensor* b) { return vkr_binary(g, VKR_BINARY_DIV, a, b); }

static vkr_status vkr_binary_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_binary_params* p = (const vkr_binary_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_binary(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t->src[1]),
                              vkr_ctx_range(ctx, t));
    return vkr_ref_binary(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t->src[1]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_binary_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_binary_params* p = (const vkr_binary_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_binary_backward(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]),
                                       vkr_ctx_range(ctx, t->src[1]), vkr_ctx_range(ctx, t->grad),
                                       vkr_ctx_range(ctx, vkr_ops_grad(t, 0)), vkr_ctx_range(ctx, vkr_ops_grad(t, 1)));
    return vkr_ref_binary_backward(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t->src[1]), vkr_ops_f(ctx, t->grad),
                                   vkr_ops_f(ctx, vkr_ops_grad(t, 0)), vkr_ops_f(ctx, vkr_ops_grad(t, 1)));
}

/* ---- unary ----------------------------------------------------------------------------------- */

static vkr_tensor* vkr_unary(vkr_graph* g, vkr_unary_op op, vkr_tensor* x, float alpha) {
    if (vkr_ops_missing(g, SRCS(x), 1)) return NULL;
    if (!vkr_ops_check_dtype(g, x, VKR_F32, "unary op", "x")) return NULL;
    if (x->numel > UINT32_MAX) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "unary op: %s is too large", x->name);
    vkr_unary_params p = {.op = op, .n = (uint32_t)x->numel, .alpha = alpha};
    return vkr_graph_node(g, VKR_OP_UNARY, VKR_F32, x->ndim, x->shape, SRCS(x), 1, &p, sizeof p);
}

vkr_tensor* vkr_op_scale(vkr_graph* g, vkr_tensor* x, float alpha) { return vkr_unary(g, VKR_UNARY_SCALE, x, alpha); }
vkr_tensor* vkr_op_relu(vkr_graph* g, vkr_tensor* x) { return vkr_unary(g, VKR_UNARY_RELU, x, 0); }
vkr_tensor* vkr_op_leaky_relu(vkr_graph* g, vkr_tensor* x, float slope) {
    return vkr_unary(g, VKR_UNARY_LEAKY_RELU, x, slope);
}
vkr_tensor* vkr_op_gelu(vkr_graph* g, vkr_tensor* x) { return vkr_unary(g, VKR_UNARY_GELU, x, 0); }
vkr_tensor* vkr_op_sigmoid(vkr_graph* g, vkr_tensor* x) { return vkr_unary(g, VKR_UNARY_SIGMOID, x, 0); }
vkr_tensor* vkr_op_tanh(vkr_graph* g, vkr_tensor* x) { return vkr_unary(g, VKR_UNARY_TANH, x, 0); }
vkr_tensor* vkr_op_rsqrt(vkr_graph* g, vkr_tensor* x, float eps) {
    if (!(eps > 0.0f)) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "rsqrt: eps must be positive (got %g)", eps);
    return vkr_unary(g, VKR_UNARY_RSQRT, x, eps);
}

static vkr_status vkr_unary_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_unary_params* p = (const vkr_unary_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_unary(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t));
    return vkr_ref_unary(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_unary_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_unary_params* p = (const vkr_unary_params*)t->params;
    vkr_unary_grad_input need = vkr_unary_grad_needs(p->op);
    const vkr_tensor* saved = need == VKR_UNARY_GRAD_X ? t->src[0] : need == VKR_UNARY_GRAD_Y ? t : NULL;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_unary_backward(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, saved), vkr_ctx_range(ctx, t->grad),
                                      vkr_ctx_range(ctx, vkr_ops_grad(t, 0)));
    return vkr_ref_unary_backward(p, vkr_ops_f(ctx, saved), vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)));
}

/* ---- reduce ---------------------------------------------------------------------------------- */

static vkr_tensor* vkr_reduce(vkr_graph* g, vkr_tensor* x, int axis, bool mean) {
    if (vkr_ops_missing(g, SRCS(x), 1)) return NULL;
    if (!vkr_ops_check_dtype(g, x, VKR_F32, mean ? "mean" : "sum", "x")) return NULL;
    int a4 = vkr_ops_axis4(g, x, axis, mean ? "mean" : "sum");
    if (a4 < 0) return NULL;
    vkr_reduce_params p = {.axis = (uint32_t)a4, .mean = mean};
    vkr_tensor_shape4(x, p.shape);
    uint32_t out[VKR_MAX_DIMS];
    memcpy(out, x->shape, sizeof out);
    out[a4 - (VKR_MAX_DIMS - (int)x->ndim)] = 1;
    return vkr_graph_node(g, VKR_OP_REDUCE, VKR_F32, x->ndim, out, SRCS(x), 1, &p, sizeof p);
}

vkr_tensor* vkr_op_sum(vkr_graph* g, vkr_tensor* x, int axis) { return vkr_reduce(g, x, axis, false); }
vkr_tensor* vkr_op_mean(vkr_graph* g, vkr_tensor* x, int axis) { return vkr_reduce(g, x, axis, true); }

static vkr_status vkr_reduce_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_reduce_params* p = (const vkr_reduce_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_reduce(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t));
    return vkr_ref_reduce(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_reduce_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_reduce_params* p = (const vkr_reduce_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_reduce_backward(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->grad),
                                       vkr_ctx_range(ctx, vkr_ops_grad(t, 0)));
    return vkr_ref_reduce_backward(p, vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)));
}

/* ---- dropout --------------------------------------------------------------------------------- */

vkr_tensor* vkr_op_dropout_fused(vkr_graph* g, vkr_tensor* x, float p, bool relu, vkr_tensor* residual) {
    if (vkr_ops_missing(g, SRCS(x), 1)) return NULL;
    if (!vkr_ops_check_dtype(g, x, VKR_F32, "dropout", "x")) return NULL;
    if (!(p >= 0.0f && p < 1.0f)) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "dropout: p=%g is not in [0, 1)", p);
    if (x->numel > UINT32_MAX) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "dropout: %s is too large", x->name);
    if (residual) {
        if (!vkr_ops_check_dtype(g, residual, VKR_F32, "dropout", "residual")) return NULL;
        if (residual->ndim != x->ndim || memcmp(residual->shape, x->shape, x->ndim * sizeof *x->shape))
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "dropout: residual %s and %s differ in shape",
                                  residual->name, x->name);
    }
    vkr_dropout_params dp = {.n = (uint32_t)x->numel, .p = p, .relu = relu, .residual = residual != NULL};
    return vkr_graph_node(g, VKR_OP_DROPOUT, VKR_F32, x->ndim, x->shape, SRCS(x, residual), residual ? 2 : 1, &dp,
                          sizeof dp);
}

vkr_tensor* vkr_op_dropout(vkr_graph* g, vkr_tensor* x, float p) { return vkr_op_dropout_fused(g, x, p, false, NULL); }

/* The mask seed: the graph's seed and the node; the step is the Philox stream word, so masks differ
 * per node and per step (on the GPU the step is read from the executor's step counter). */
static vkr_dropout_params vkr_dropout_for(vkr_exec_ctx* ctx, const vkr_tensor* t) {
    vkr_dropout_params p = *(const vkr_dropout_params*)t->params;
    p.seed = vkr_ctx_seed(ctx) * 0x9E3779B97F4A7C15ull + (uint64_t)t->index * 0xBF58476D1CE4E5B9ull;
    if (!vkr_ctx_training(ctx)) p.p = 0.0f;
    return p;
}

static vkr_status vkr_dropout_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    vkr_dropout_params p = vkr_dropout_for(ctx, t);
    const vkr_tensor* r = p.residual ? t->src[1] : NULL;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_dropout_fused(vkr_ctx_sequence(ctx), &p, vkr_ctx_step_range(ctx), vkr_ctx_range(ctx, t->src[0]),
                                     r ? vkr_ctx_range(ctx, r) : (vkr_range){0}, vkr_ctx_range(ctx, t));
    p.stream = (uint32_t)vkr_ctx_step(ctx);
    return vkr_ref_dropout_fused(&p, vkr_ops_f(ctx, t->src[0]), r ? vkr_ops_f(ctx, r) : NULL, vkr_ops_f(ctx, t));
}

static vkr_status vkr_dropout_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    vkr_dropout_params p = vkr_dropout_for(ctx, t);
    const vkr_tensor *dx = vkr_ops_grad(t, 0), *dr = p.residual ? vkr_ops_grad(t, 1) : NULL;
    p.residual = dr != NULL; /* a residual that needs no gradient leaves only the mask to apply */
    if (!dx && !dr) return VKR_OK;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_dropout_fused_backward(vkr_ctx_sequence(ctx), &p, vkr_ctx_step_range(ctx),
                                              vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t->grad),
                                              dx ? vkr_ctx_range(ctx, dx) : (vkr_range){0},
                                              dr ? vkr_ctx_range(ctx, dr) : (vkr_range){0});
    p.stream = (uint32_t)vkr_ctx_step(ctx);
    return vkr_ref_dropout_fused_backward(&p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t->grad),
                                          dx ? vkr_ops_f(ctx, dx) : NULL, dr ? vkr_ops_f(ctx, dr) : NULL);
}

/* ---- concat / slice -------------------------------------------------------------------------- */

vkr_tensor* vkr_op_concat(vkr_graph* g, vkr_tensor* a, vkr_tensor* b, int axis) {
    if (vkr_ops_missing(g, SRCS(a, b), 2)) return NULL;
    if (a->ndim != b->ndim)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "concat: %s and %s have different ranks", a->name, b->name);
    int a4 = vkr_ops_axis4(g, a, axis, "concat");
    if (a4 < 0) return NULL;
    vkr_concat_params p = {.axis = (uint32_t)a4};
    vkr_tensor_shape4(a, p.a_shape);
    vkr_tensor_shape4(b, p.b_shape);
    uint32_t out[4];
    if (vkr_concat_shape(&p, out) != VKR_OK) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s", vkr_last_error());
    return vkr_graph_node(g, VKR_OP_CONCAT, VKR_F32, a->ndim, out + (4 - a->ndim), SRCS(a, b), 2, &p, sizeof p);
}

static vkr_status vkr_concat_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_concat_params* p = (const vkr_concat_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_concat(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t->src[1]),
                              vkr_ctx_range(ctx, t));
    return vkr_ref_concat(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t->src[1]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_concat_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_concat_params* p = (const vkr_concat_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_concat_backward(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->grad),
                                       vkr_ctx_range(ctx, vkr_ops_grad(t, 0)), vkr_ctx_range(ctx, vkr_ops_grad(t, 1)));
    return vkr_ref_concat_backward(p, vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)),
                                   vkr_ops_f(ctx, vkr_ops_grad(t, 1)));
}

vkr_tensor* vkr_op_slice(vkr_graph* g, vkr_tensor* x, int axis, uint32_t offset, uint32_t length) {
    if (vkr_ops_missing(g, SRCS(x), 1)) return NULL;
    int a4 = vkr_ops_axis4(g, x, axis, "slice");
    if (a4 < 0) return NULL;
    vkr_slice_params p = {.axis = (uint32_t)a4, .offset = offset, .length = length};
    vkr_tensor_shape4(x, p.shape);
    if (length == 0 || offset > p.shape[a4] || length > p.shape[a4] - offset)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "slice: [%u, +%u) is outside axis %d of %s (length %u)", offset,
                              length, axis, x->name, p.shape[a4]);
    uint32_t out[VKR_MAX_DIMS];
    memcpy(out, x->shape, sizeof out);
    out[a4 - (VKR_MAX_DIMS - (int)x->ndim)] = length;
    return vkr_graph_node(g, VKR_OP_SLICE, VKR_F32, x->ndim, out, SRCS(x), 1, &p, sizeof p);
}

static vkr_status vkr_slice_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_slice_params* p = (const vkr_slice_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_slice(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t));
    return vkr_ref_slice(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_slice_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_slice_params* p = (const vkr_slice_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_slice_backward(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->grad),
                                      vkr_ctx_range(ctx, vkr_ops_grad(t, 0)));
    return vkr_ref_slice_backward(p, vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)));
}

/* ---- permute --------------------------------------------------------------------------------- */

vkr_tensor* vkr_op_permute(vkr_graph* g, vkr_tensor* x, const uint32_t* perm) {
    if (vkr_ops_missing(g, SRCS(x), 1)) return NULL;
    if (!perm) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "permute: perm is NULL");
    uint32_t pad = VKR_MAX_DIMS - x->ndim;
    vkr_permute_params p;
    vkr_tensor_shape4(x, p.x_shape);
    for (uint32_t i = 0; i < VKR_MAX_DIMS; i++) p.perm[i] = i < pad ? i : perm[i - pad] + pad;
    uint32_t out[4];
    if (vkr_permute_shape(&p, out) != VKR_OK) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "%s", vkr_last_error());
    return vkr_graph_node(g, VKR_OP_PERMUTE, VKR_F32, x->ndim, out + pad, SRCS(x), 1, &p, sizeof p);
}

static vkr_status vkr_permute_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_permute_params* p = (const vkr_permute_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_permute(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->src[0]), vkr_ctx_range(ctx, t));
    return vkr_ref_permute(p, vkr_ops_f(ctx, t->src[0]), vkr_ops_f(ctx, t));
}

static vkr_status vkr_permute_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_permute_params* p = (const vkr_permute_params*)t->params;
    if (vkr_ctx_gpu(ctx))
        return vkr_gpu_permute_backward(vkr_ctx_sequence(ctx), p, vkr_ctx_range(ctx, t->grad),
                                        vkr_ctx_range(ctx, vkr_ops_grad(t, 0)));
    return vkr_ref_permute_backward(p, vkr_ops_f(ctx, t->grad), vkr_ops_f(ctx, vkr_ops_grad(t, 0)));
}

const vkr_op_impl vkr_op_reshape_impl = {"reshape", NULL, NULL}; /* a view: its gradient is a view too */
const vkr_op_impl vkr_op_matmul_impl = {"matmul", vkr_matmul_fwd, vkr_matmul_bwd};
const vkr_op_impl vkr_op_binary_impl = {"binary", vkr_binary_fwd, vkr_binary_bwd};
const vkr_op_impl vkr_op_unary_impl = {"unary", vkr_unary_fwd, vkr_unary_bwd};
const vkr_op_impl vkr_op_reduce_impl = {"reduce", vkr_reduce_fwd, vkr_reduce_bwd};
const vkr_op_impl vkr_op_dropout_impl = {"dropout", vkr_dropout_fwd, vkr_dropout_bwd};
const vkr_op_impl vkr_op_concat_impl = {"concat", vkr_concat_fwd, vkr_concat_bwd};
const vkr_op_impl vkr_op_slice_impl = {"slice", vkr_slice_fwd, vkr_slice_bwd};
const vkr_op_impl vkr_op_permute_impl = {"permute", vkr_permute_fwd, vkr_permute_bwd};
