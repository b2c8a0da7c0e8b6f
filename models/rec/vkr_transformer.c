#include "vkr_transformer.h"

#include <math.h>
#include <stdio.h>

static void vkr_name(char* out, size_t n, const char* prefix, const char* part) {
    snprintf(out, n, "%s.%s", prefix, part);
}

vkr_tensor* vkr_tf_linear(vkr_graph* g, const char* prefix, vkr_tensor* x, uint32_t in, uint32_t out, bool bias,
                          uint32_t group) {
    char name[VKR_NAME_BYTES];
    vkr_name(name, sizeof name, prefix, "w");
    vkr_tensor* w = vkr_graph_param_init(g, name, 2, (uint32_t[]){in, out}, group, VKR_INIT_XAVIER, 1.0f);
    vkr_tensor* b = NULL;
    if (bias) {
        vkr_name(name, sizeof name, prefix, "b");
        b = vkr_graph_param_init(g, name, 1, &out, group, VKR_INIT_ZEROS, 0);
    }
    return vkr_op_matmul(g, x, w, b, false, false);
}

vkr_tensor* vkr_tf_layernorm(vkr_graph* g, const char* prefix, vkr_tensor* x, uint32_t dim, uint32_t group) {
    char name[VKR_NAME_BYTES];
    vkr_name(name, sizeof name, prefix, "gamma");
    vkr_tensor* gamma = vkr_graph_param_init(g, name, 1, &dim, group, VKR_INIT_ONES, 0);
    vkr_name(name, sizeof name, prefix, "beta");
    vkr_tensor* beta = vkr_graph_param_init(g, name, 1, &dim, group, VKR_INIT_ZEROS, 0);
    return vkr_op_layernorm(g, x, gamma, beta, 1e-5f);
}

/* Splits t [B, T, parts*D] into `parts` head-major tensors [B, H, T, Dh]. One head needs no permutes:
 * the parts are sliced straight out of the last axis. */
static void vkr_tf_split_heads(vkr_graph* g, vkr_tensor* t, uint32_t parts, uint32_t H, uint32_t Dh, vkr_tensor** out) {
    uint32_t B = t ? t->shape[0] : 0, T = t ? t->shape[1] : 0, D = H * Dh;
    if (H == 1) {
        for (uint32_t i = 0; i < parts; i++)
            out[i] = vkr_op_reshape(g, vkr_op_slice(g, t, 2, i * D, D), 4, (uint32_t[]){B, 1, T, D});
        return;
    }
    vkr_tensor* split = vkr_op_reshape(g, t, 4, (uint32_t[]){B * T, parts, H, Dh});
    vkr_tensor* perm = vkr_op_permute(g, split, (uint32_t[]){1, 0, 2, 3}); /* [parts, B*T, H, Dh] */
    for (uint32_t i = 0; i < parts; i++) {
        vkr_tensor* s = vkr_op_reshape(g, vkr_op_slice(g, perm, 0, i, 1), 4, (uint32_t[]){B, T, H, Dh});
        out[i] = vkr_op_permute(g, s, (uint32_t[]){0, 2, 1, 3});
    }
}

/* Multi-head attention of queries from q_in over keys and values from kv_in (both [B, T, D]); one
 * fused QKV projection when they are the same tensor. attn_dropout applies to the attention weights. */
static vkr_tensor* vkr_tf_attention(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* q_in,
                                    vkr_tensor* kv_in, vkr_tensor* key_mask, float attn_dropout) {
    if (!q_in || !kv_in) return NULL;
    uint32_t B = q_in->shape[0], T = q_in->shape[1], D = c->hidden, H = c->heads, Dh = D / H;
    char name[VKR_NAME_BYTES];
    vkr_tensor* qkv[3];
    if (q_in == kv_in) {
        vkr_name(name, sizeof name, prefix, "qkv");
        vkr_tf_split_heads(g, vkr_tf_linear(g, name, q_in, D, 3 * D, true, c->group), 3, H, Dh, qkv);
    } else {
        vkr_name(name, sizeof name, prefix, "q");
        vkr_tf_split_heads(g, vkr_tf_linear(g, name, q_in, D, D, true, c->group), 1, H, Dh, qkv);
        vkr_name(name, sizeof name, prefix, "kv");
        vkr_tf_split_heads(g, vkr_tf_linear(g, name, kv_in, D, 2 * D, true, c->group), 2, H, Dh, qkv + 1);
    }
    vkr_tensor* scores = vkr_op_matmul(g, qkv[0], qkv[1], NULL, false, true); /* [B, H, T, T] */
    vkr_tensor* probs = vkr_op_attn_softmax(g, scores, key_mask, 1.0f / sqrtf((float)Dh), c->causal);
    if (attn_dropout > 0) probs = vkr_op_dropout(g, probs, attn_dropout);
    vkr_tensor* ctx = vkr_op_matmul(g, probs, qkv[2], NULL, false, false); /* [B, H, T, Dh] */
    if (H > 1) ctx = vkr_op_permute(g, ctx, (uint32_t[]){0, 2, 1, 3});
    ctx = vkr_op_reshape(g, ctx, 3, (uint32_t[]){B, T, D});
    vkr_name(name, sizeof name, prefix, "out");
    return vkr_tf_linear(g, name, ctx, D, D, true, c->group);
}

/* res + dropout(y): one fused kernel each way when dropout is on. */
static vkr_tensor* vkr_tf_residual(vkr_graph* g, const vkr_tf_config* c, vkr_tensor* res, vkr_tensor* y) {
    return c->dropout > 0 ? vkr_op_dropout_fused(g, y, c->dropout, false, res) : vkr_op_add(g, res, y);
}

/* The feed-forward W2 act(W1 f) (the caller applies its output dropout with the residual): GELU for
 * the pre-norm style, ReLU with dropout on the hidden activations (fused) for the SASRec style (its
 * point-wise convolutions). */
static vkr_tensor* vkr_tf_ffn(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* f) {
    char name[VKR_NAME_BYTES];
    uint32_t D = c->hidden, F = c->ffn_mult ? c->ffn_mult * D : D;
    vkr_name(name, sizeof name, prefix, "ffn1");
    f = vkr_tf_linear(g, name, f, D, F, true, c->group);
    if (c->style == VKR_TF_SASREC) {
        f = c->dropout > 0 ? vkr_op_dropout_fused(g, f, c->dropout, true, NULL) : vkr_op_relu(g, f);
    } else {
        f = vkr_op_gelu(g, f);
    }
    vkr_name(name, sizeof name, prefix, "ffn2");
    return vkr_tf_linear(g, name, f, F, D, true, c->group);
}

vkr_tensor* vkr_tf_block(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* x, vkr_tensor* key_mask) {
    if (!x) return NULL;
    if (c->heads == 0 || c->hidden % c->heads)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "transformer %s: hidden %u is not divisible by %u heads", prefix,
                              c->hidden, c->heads);
    char name[VKR_NAME_BYTES];
    uint32_t D = c->hidden;
    vkr_name(name, sizeof name, prefix, "ln1");
    vkr_tensor* q = vkr_tf_layernorm(g, name, x, D, c->group);
    vkr_name(name, sizeof name, prefix, "ln2");
    if (c->style == VKR_TF_SASREC) {
        /* residual around the attention from the normalized queries, as in the paper's code */
        vkr_tensor* h = vkr_op_add(g, q, vkr_tf_attention(g, prefix, c, q, x, key_mask, c->dropout));
        vkr_tensor* f = vkr_tf_layernorm(g, name, h, D, c->group);
        return vkr_tf_residual(g, c, f, vkr_tf_ffn(g, prefix, c, f));
    }
    vkr_tensor* a = vkr_tf_attention(g, prefix, c, q, q, key_mask, 0.0f);
    vkr_tensor* h = vkr_tf_residual(g, c, x, a);
    return vkr_tf_residual(g, c, h, vkr_tf_ffn(g, prefix, c, vkr_tf_layernorm(g, name, h, D, c->group)));
}

vkr_tensor* vkr_tf_encoder(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* x,
                           vkr_tensor* key_mask) {
    char name[VKR_NAME_BYTES];
    for (uint32_t i = 0; i < c->blocks; i++) {
        snprintf(name, sizeof name, "%s.block%u", prefix, i);
        x = vkr_tf_block(g, name, c, x, key_mask);
    }
    vkr_name(name, sizeof name, prefix, "ln_f");
    return x ? vkr_tf_layernorm(g, name, x, c->hidden, c->group) : NULL;
}

vkr_tensor* vkr_tf_cross_attention(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* q_in,
                                   vkr_tensor* kv_in, vkr_tensor* key_mask) {
    if (c->heads == 0 || c->hidden % c->heads)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "cross-attention %s: hidden %u is not divisible by %u heads",
                              prefix, c->hidden, c->heads);
    vkr_tf_config x = *c;
    x.causal = false; /* every key precedes every query by construction */
    return vkr_tf_attention(g, prefix, &x, q_in, kv_in, key_mask, c->style == VKR_TF_SASREC ? c->dropout : 0.0f);
}
