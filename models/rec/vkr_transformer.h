/* Transformer building blocks over the graph: linear layers, causal self-attention blocks with a
 * key-padding mask in two styles, and the stacked encoder used by SASRec and GenCDR.
 *
 * Contract: builders add parameters named "<prefix>.<part>" with initializers (Xavier for
 * projections, zeros for biases, ones/zeros for LayerNorm) and return the output tensor, or NULL
 * with the graph's sticky error set. Shapes: x [B, T, D], key_mask int32 [B, T] (nonzero = a real
 * position), D divisible by heads. */
#ifndef VKR_TRANSFORMER_H
#define VKR_TRANSFORMER_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_graph_ops.h"

/* Block layout. */
typedef enum vkr_tf_style {
    VKR_TF_PRENORM = 0, /* h = x + drop(attn(LN(x))); y = h + drop(FFN_gelu(LN(h))) (GPT-2 style) */
    VKR_TF_SASREC       /* the SASRec paper's block: q = LN(x); h = q + attn(q, keys/values x) with dropout
                           on the attention weights; f = LN(h); y = f + drop(W2 drop(relu(W1 f))) */
} vkr_tf_style;

/* Encoder settings. */
typedef struct vkr_tf_config {
    vkr_tf_style style; /* block layout */
    uint32_t blocks;   /* number of blocks */
    uint32_t hidden;   /* model width D */
    uint32_t heads;    /* attention heads (D % heads == 0) */
    uint32_t ffn_mult; /* feed-forward width = ffn_mult * D */
    float dropout;     /* dropout rate where the style puts it (0: none) */
    bool causal;       /* causal self-attention */
    uint32_t group;    /* parameter group of the encoder's weights */
} vkr_tf_config;

/* y = x @ W + b with W [in, out] (Xavier) and b [out] (zeros, when bias). */
vkr_tensor* vkr_tf_linear(vkr_graph* g, const char* prefix, vkr_tensor* x, uint32_t in, uint32_t out, bool bias,
                          uint32_t group);
/* LayerNorm over the last axis with its own gamma and beta. */
vkr_tensor* vkr_tf_layernorm(vkr_graph* g, const char* prefix, vkr_tensor* x, uint32_t dim, uint32_t group);
/* One block in c->style (see vkr_tf_style). */
vkr_tensor* vkr_tf_block(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* x, vkr_tensor* key_mask);
/* Attention of queries q_in [B, Tq, D] over keys and values kv_in [B, Tk, D] (key_mask [B, Tk]),
 * never causal, with its output projection; dropout on the weights in the SASRec style. */
vkr_tensor* vkr_tf_cross_attention(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* q_in,
                                   vkr_tensor* kv_in, vkr_tensor* key_mask);
/* c->blocks blocks followed by a final LayerNorm. */
vkr_tensor* vkr_tf_encoder(vkr_graph* g, const char* prefix, const vkr_tf_config* c, vkr_tensor* x,
                           vkr_tensor* key_mask);

#endif
