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

/* Multi-head self-attention on LN'd input h [B, T, D]. One QKV projection, heads split by a
 * reshape + permute, scores through the masked softmax, heads merged back. */
static vkr_tensor* vkr_tf_attention(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* h,
                                    vkr_tensor* key_mask) {
    if (!h) return NULL;
    uint32_t B = h->shape[0], T = h->shape[1], D = c->hidden, H = c->heads, Dh = D / H;
    char name[VKR_NAME_BYTES];
    vkr_name(name, sizeof name, prefix, "qkv");
    vkr_tensor* qkv = vkr_tf_linear(g, name, h, D, 3 * D, true, c->group); /* [B, T, 3D] */
    vkr_tensor *q, *k, *v;
    if (H == 1) { /* no permutes: slice Q, K, V straight out of [B, T, 3D] */
        q = vkr_op_reshape(g, vkr_op_slice(g, qkv, 2, 0, D), 4, (uint32_t[]){B, 1, T, D});
        k = vkr_op_reshape(g, vkr_op_slice(g, qkv, 2, D, D), 4, (uint32_t[]){B, 1, T, D});
        v = vkr_op_reshape(g, vkr_op_slice(g, qkv, 2, 2 * D, D), 4, (uint32_t[]){B, 1, T, D});
    } else {
        vkr_tensor* split = vkr_op_reshape(g, qkv, 4, (uint32_t[]){B * T, 3, H, Dh});
        vkr_tensor* perm = vkr_op_permute(g, split, (uint32_t[]){1, 0, 2, 3}); /* [3, B*T, H, Dh] */
        vkr_tensor* parts[3];
        for (uint32_t i = 0; i < 3; i++) {
            vkr_tensor* s = vkr_op_reshape(g, vkr_op_slice(g, perm, 0, i, 1), 4, (uint32_t[]){B, T, H, Dh});
            parts[i] = vkr_op_permute(g, s, (uint32_t[]){0, 2, 1, 3}); /* [B, H, T, Dh] */
        }
        q = parts[0];
        k = parts[1];
        v = parts[2];
    }
    vkr_tensor* scores = vkr_op_matmul(g, q, k, NULL, false, true); /* [B, H, T, T] */
    vkr_tensor* probs = vkr_op_attn_softmax(g, scores, key_mask, 1.0f / sqrtf((float)Dh), c->causal);
    vkr_tensor* ctx = vkr_op_matmul(g, probs, v, NULL, false, false); /* [B, H, T, Dh] */
    if (H > 1) ctx = vkr_op_permute(g, ctx, (uint32_t[]){0, 2, 1, 3});
    ctx = vkr_op_reshape(g, ctx, 3, (uint32_t[]){B, T, D});
    vkr_name(name, sizeof name, prefix, "out");
    return vkr_tf_linear(g, name, ctx, D, D, true, c->group);
}

vkr_tensor* vkr_tf_block(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* x, vkr_tensor* key_mask) {
    if (!x) return NULL;
    if (c->heads == 0 || c->hidden % c->heads)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "transformer %s: hidden %u is not divisible by %u heads", prefix,
                              c->hidden, c->heads);
    char name[VKR_NAME_BYTES];
    uint32_t D = c->hidden, F = c->ffn_mult ? c->ffn_mult * D : D;
    vkr_name(name, sizeof name, prefix, "ln1");
    vkr_tensor* a = vkr_tf_attention(g, prefix, c, vkr_tf_layernorm(g, name, x, D, c->group), key_mask);
    if (c->dropout > 0) a = vkr_op_dropout(g, a, c->dropout);
    vkr_tensor* h = vkr_op_add(g, x, a);
    vkr_name(name, sizeof name, prefix, "ln2");
    vkr_tensor* f = vkr_tf_layernorm(g, name, h, D, c->group);
    vkr_name(name, sizeof name, prefix, "ffn1");
    f = vkr_op_gelu(g, vkr_tf_linear(g, name, f, D, F, true, c->group));
    vkr_name(name, sizeof name, prefix, "ffn2");
    f = vkr_tf_linear(g, name, f, F, D, true, c->group);
    if (c->dropout > 0) f = vkr_op_dropout(g, f, c->dropout);
    return vkr_op_add(g, h, f);
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
