/* Graph tier: the residual-quantization (RQ-VAE) graph ops, one op kind (VKR_OP_QUANT) on the
 * quantization kernels (kernels/vkr_ops_quant.h, whose contract gives the math).
 *
 * Contract: with stacked codebooks C [L, K, D] (a parameter or constant) and z [B, D]:
 *   vkr_op_rq_codes:     int32 [B, L] codes (no gradient).
 *   vkr_op_rq_quantized: sum_l q_l with the straight-through gradient dz += dzq (no codebook gradient
 *                        from the decoder).
 *   vkr_op_rq_loss:      the codebook + beta * commitment loss, with gradients to z and C.
 * The codes are an operand of the other two ops, so all three see the same assignment. Errors are
 * recorded on the graph like every constructor's (vkr_graph_ops.h). */
#ifndef VKR_GRAPH_OPS_QUANT_H
#define VKR_GRAPH_OPS_QUANT_H
#include "vkr_graph_ops.h"

/* int32 [B, L] codes of z [B, D] against codebooks [L, K, D] (a parameter or constant). */
vkr_tensor* vkr_op_rq_codes(vkr_graph* g, vkr_tensor* z, vkr_tensor* codebooks);
/* The quantized z (sum of the chosen codewords) with the straight-through gradient to z. */
vkr_tensor* vkr_op_rq_quantized(vkr_graph* g, vkr_tensor* z, vkr_tensor* codebooks, vkr_tensor* codes);
/* The codebook + beta * commitment loss (scalar). */
vkr_tensor* vkr_op_rq_loss(vkr_graph* g, vkr_tensor* z, vkr_tensor* codebooks, vkr_tensor* codes, float beta);

#endif
