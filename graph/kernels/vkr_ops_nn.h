/* Neural-network ops and losses: softmax, log-softmax, layer norm, embedding lookup, the attention
 * softmax core, cross-entropy / InfoNCE / BCE / BPR / MSE losses, argmax and top-k.
 *
 * Contract (shared by every op here):
 * - fp32 data, contiguous row-major; int32 for indices and targets. Shapes and hyper-parameters
 *   travel in a params struct; invalid params return VKR_ERR_INVALID_ARGUMENT naming the field.
 * - vkr_ref_<op> is the plain CPU reference on host pointers (double accumulation). Out-of-range
 *   indices or targets are an error there. vkr_gpu_<op> records into a sequence; ranges must hold
 *   at least the elements the shape needs (checked), and the kernels never read or write out of
 *   bounds: what they do with an out-of-range index is documented per op.
 * - Forward outputs are overwritten. Backward functions ACCUMULATE into the input gradients
 *   (dx += ...), so gradients of a tensor used twice simply add up.
 * - Row-wise kernels give each row a power-of-two number of invocations (about 8 elements each,
 *   up to 256) and pack several narrow rows into one workgroup; large dispatches fold into 2-D grids.
 * - Deterministic: no float atomics and fixed-order reductions, so a GPU result is bitwise
 *   reproducible on the same device. Losses write the mean over counted items to a 1-float buffer;
 *   their backward takes the upstream gradient of that scalar as a 1-float device buffer
 *   (`loss_grad`), so recorded sequences replay without re-recording.
 * - Input and output ranges of one call must not overlap unless stated. */
#ifndef VKR_OPS_NN_H
#define VKR_OPS_NN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vkr_runtime.h"

/* ---- Sum to scalar ------------------------------------------------------------------------- */

/* out[0] = scale * sum(x[0..n)), summed in a fixed order by one workgroup. */
typedef struct vkr_sum_params {
    uint32_t n;  /* elements, >= 1 */
    float scale; /* factor applied to the sum, e.g. 1/n for a mean */
} vkr_sum_params;

/* CPU reference of the scaled sum. */
vkr_status vkr_ref_sum_scalar(const vkr_sum_params* p, const float* x, float* out);
/* Records the scaled sum of `x` into the 1-float `out`. */
vkr_status vkr_gpu_sum_scalar(vkr_sequence* seq, const vkr_sum_params* p, vkr_range x, vkr_range out);

/* ---- Softmax and log-softmax over the last axis ------------------------------------------- */

/* A [rows, cols] matrix processed row by row (softmax, log-softmax, argmax). */
typedef struct vkr_rowwise_params {
    uint32_t rows; /* rows, >= 1 */
    uint32_t cols; /* length of the reduced last axis, >= 1 */
} vkr_rowwise_params;

/* y = softmax(x) per row (max-subtracted). */
vkr_status vkr_ref_softmax(const vkr_rowwise_params* p, const float* x, float* y);
/* dx += y * (dy - sum(dy * y)) per row, from the forward output y. */
vkr_status vkr_ref_softmax_bwd(const vkr_rowwise_params* p, const float* y, const float* dy, float* dx);
/* y = x - max - log(sum(exp(x - max))) per row. */
vkr_status vkr_ref_log_softmax(const vkr_rowwise_params* p, const float* x, float* y);
/* dx += dy - exp(y) * sum(dy) per row, from the forward output y. */
vkr_status vkr_ref_log_softmax_bwd(const vkr_rowwise_params* p, const float* y, const float* dy, float* dx);
/* GPU softmax (one dispatch). */
vkr_status vkr_gpu_softmax(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range x, vkr_range y);
/* GPU softmax backward (accumulates into dx). */
vkr_status vkr_gpu_softmax_bwd(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range y, vkr_range dy,
                               vkr_range dx);
/* GPU log-softmax (one dispatch). */
vkr_status vkr_gpu_log_softmax(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range x, vkr_range y);
/* GPU log-softmax backward (accumulates into dx). */
vkr_status vkr_gpu_log_softmax_bwd(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range y, vkr_range dy,
                                   vkr_range dx);

/* ---- Attention softmax core ----------------------------------------------------------------
 * probs = softmax(scale * scores) over keys, with scores [batch*heads, q_len, k_len] (row-major,
 * batch outermost) and keys excluded by
 *   - the causal mask: query i may see key j iff j + q_len <= i + k_len (aligned to the end, so
 *     q_len == k_len is the usual lower triangle and q_len == 1 sees every key, as in decoding);
 *   - the key-padding mask: int32 [batch, k_len], nonzero = attend, 0 = padding (works for left
 *     or right padding). It is optional: a NULL pointer (CPU) or a range with no buffer (GPU).
 * Excluded keys get probability 0; a row with no visible key is all zeros (never NaN) and passes
 * no gradient. The mask values are used as given on the GPU (no index can go out of bounds). */
typedef struct vkr_attn_softmax_params {
    uint32_t batch; /* sequences, >= 1 */
    uint32_t heads; /* attention heads, >= 1 */
    uint32_t q_len; /* queries per sequence, >= 1 */
    uint32_t k_len; /* keys per sequence, >= 1 */
    float scale;    /* multiplies the scores first, usually 1/sqrt(head_dim) */
    bool causal;    /* apply the causal mask */
} vkr_attn_softmax_params;

/* CPU reference of the masked, scaled softmax; key_mask may be NULL. */
vkr_status vkr_ref_attn_softmax(const vkr_attn_softmax_params* p, const float* scores, const int32_t* key_mask,
                                float* probs);
/* dscores += scale * probs * (dprobs - sum(dprobs * probs)) per row. */
vkr_status vkr_ref_attn_softmax_bwd(const vkr_attn_softmax_params* p, const float* probs, const float* dprobs,
                                    float* dscores);
/* GPU masked softmax; key_mask.buffer may be NULL for no padding mask. */
vkr_status vkr_gpu_attn_softmax(vkr_sequence* seq, const vkr_attn_softmax_params* p, vkr_range scores,
                                vkr_range key_mask, vkr_range probs);
/* GPU masked softmax backward (accumulates into dscores). */
vkr_status vkr_gpu_attn_softmax_bwd(vkr_sequence* seq, const vkr_attn_softmax_params* p, vkr_range probs,
                                    vkr_range dprobs, vkr_range dscores);

/* ---- Layer norm over the last axis ---------------------------------------------------------
 * y = (x - mean) * rstd * gamma + beta per row, rstd = 1 / sqrt(var + eps) (biased variance). The
 * forward saves `stats`, 2*rows floats: [0, rows) the row means, [rows, 2*rows) the row rstd; the
 * backward reads them (one buffer, so it fits one saved tensor). */
typedef struct vkr_layernorm_params {
    uint32_t rows; /* rows, >= 1 */
    uint32_t cols; /* normalized width, >= 1 */
    float eps;     /* variance epsilon, > 0 */
} vkr_layernorm_params;

/* CPU reference; writes y and stats (means, then rstd). */
vkr_status vkr_ref_layernorm(const vkr_layernorm_params* p, const float* x, const float* gamma, const float* beta,
                             float* y, float* stats);
/* Accumulates dx, dgamma and dbeta from dy and the saved stats. */
vkr_status vkr_ref_layernorm_bwd(const vkr_layernorm_params* p, const float* x, const float* gamma,
                                 const float* stats, const float* dy, float* dx, float* dgamma, float* dbeta);
/* GPU layer norm (one dispatch). */
vkr_status vkr_gpu_layernorm(vkr_sequence* seq, const vkr_layernorm_params* p, vkr_range x, vkr_range gamma,
                             vkr_range beta, vkr_range y, vkr_range stats);
/* GPU layer-norm backward: a row kernel for dx and a fixed-order column reduction for dgamma/dbeta
 * (two dispatches, no atomics). */
vkr_status vkr_gpu_layernorm_bwd(vkr_sequence* seq, const vkr_layernorm_params* p, vkr_range x, vkr_range gamma,
                                 vkr_range stats, vkr_range dy, vkr_range dx, vkr_range dgamma, vkr_range dbeta);

/* ---- Embedding lookup ----------------------------------------------------------------------
 * out[i] = table[idx[i]] for i < count, table [vocab, dim], out [count, dim]. The GPU forward writes
 * a zero row for an out-of-range index. The backward is deterministic without float atomics: it
 * takes the batch's inverse index in CSR form (built on the host, where every batch exists before
 * upload) so that one workgroup adds all positions of one id in increasing position order.
 *
 * CSR layout: one int32 array of vkr_embedding_csr_len(count) = 3*count + 2 elements:
 *   [0]                       U, the number of distinct ids
 *   [1, 1 + count + 1)        offsets: positions of id u are positions[offsets[u] .. offsets[u+1])
 *   [count + 2, 2*count + 2)  ids: the distinct ids in increasing order (first U used)
 *   [2*count + 2, 3*count + 2) positions, grouped by id, increasing within an id
 * The layout depends on count only, so a recorded backward replays with new batches. The GPU
 * kernel skips ids, offsets and positions that are out of range; ids must be distinct. */
typedef struct vkr_embedding_params {
    uint32_t vocab; /* rows of the table, >= 1 */
    uint32_t dim;   /* embedding width, >= 1 */
    uint32_t count; /* lookups (indices), >= 1 */
} vkr_embedding_params;

/* Number of int32 elements of the CSR inverse index for `count` lookups (3*count + 2). */
size_t vkr_embedding_csr_len(uint32_t count);
/* Builds the CSR inverse index of idx[0..count) into csr (vkr_embedding_csr_len(count) elements). */
vkr_status vkr_embedding_csr_build(const vkr_embedding_params* p, const int32_t* idx, int32_t* csr);
/* CPU reference lookup. */
vkr_status vkr_ref_embedding(const vkr_embedding_params* p, const float* table, const int32_t* idx, float* out);
/* dtable[idx[i]] += dout[i] for every i, in increasing i. */
vkr_status vkr_ref_embedding_bwd(const vkr_embedding_params* p, const int32_t* idx, const float* dout,
                                 float* dtable);
/* GPU lookup, one invocation per output element. */
vkr_status vkr_gpu_embedding(vkr_sequence* seq, const vkr_embedding_params* p, vkr_range table, vkr_range idx,
                             vkr_range out);
/* GPU backward from the CSR inverse index (accumulates into dtable). */
vkr_status vkr_gpu_embedding_bwd(vkr_sequence* seq, const vkr_embedding_params* p, vkr_range csr, vkr_range dout,
                                 vkr_range dtable);

/* ---- Cross-entropy (fused log-softmax + NLL) and InfoNCE -----------------------------------
 * loss = mean over counted rows of (logsumexp(z_r) - z_r[t_r]). The GPU path writes a `stats`
 * buffer of vkr_xent_stats_floats(rows) floats: [0, rows) per-row losses (0 for rows that do not
 * count), [rows, 2*rows) per-row logsumexp, [2*rows] the number of counted rows. The backward reads
 * it, so it must follow the forward on the same inputs. On the GPU a target outside [0, classes)
 * is treated like ignore_index (the CPU reference rejects it). All rows ignored: loss 0, grad 0. */
typedef struct vkr_xent_params {
    uint32_t rows;        /* rows (items scored), >= 1 */
    uint32_t classes;     /* logits per row, >= 1 */
    int32_t ignore_index; /* rows whose target equals this do not count (e.g. -100 or a pad id) */
} vkr_xent_params;

/* InfoNCE as cross-entropy over sim / temperature with the positive of row i at column i: sim is
 * [rows, cols] with cols >= rows (in-batch negatives, plus any extra negative columns). One
 * direction only (rows are the anchors); a symmetric loss adds the transposed call. */
typedef struct vkr_infonce_params {
    uint32_t rows;     /* anchors, >= 1 */
    uint32_t cols;     /* candidates per anchor, >= rows */
    float temperature; /* > 0; logits are sim / temperature */
} vkr_infonce_params;

/* Floats in the stats buffer of a cross-entropy or InfoNCE forward over `rows` rows. */
size_t vkr_xent_stats_floats(uint32_t rows);
/* CPU reference cross-entropy; *loss = mean over counted rows. */
vkr_status vkr_ref_cross_entropy(const vkr_xent_params* p, const float* logits, const int32_t* targets, float* loss);
/* dlogits += loss_grad * d(loss)/d(logits). */
vkr_status vkr_ref_cross_entropy_bwd(const vkr_xent_params* p, const float* logits, const int32_t* targets,
                                     float loss_grad, float* dlogits);
/* GPU cross-entropy: a row kernel then a one-workgroup mean (two dispatches). */
vkr_status vkr_gpu_cross_entropy(vkr_sequence* seq, const vkr_xent_params* p, vkr_range logits, vkr_range targets,
                                 vkr_range stats, vkr_range loss);
/* GPU cross-entropy backward; loss_grad is a 1-float buffer (accumulates into dlogits). */
vkr_status vkr_gpu_cross_entropy_bwd(vkr_sequence* seq, const vkr_xent_params* p, vkr_range logits,
                                     vkr_range targets, vkr_range stats, vkr_range loss_grad, vkr_range dlogits);
/* One cross-entropy split into row chunks (vkr_op_linear_xent): chunk k ran vkr_gpu_cross_entropy
 * with its stats at k * stats_stride floats and its mean at k * slot floats. */
typedef struct vkr_xent_combine_params {
    uint32_t chunks;       /* chunks, >= 1 */
    uint32_t chunk_rows;   /* rows of every chunk but the last */
    uint32_t last_rows;    /* rows of the last chunk, 1..chunk_rows */
    uint32_t stats_stride; /* floats between chunks' stats, >= vkr_xent_stats_floats(chunk_rows) */
    uint32_t slot;         /* floats between chunks' means (and gradients), >= 1 */
} vkr_xent_combine_params;

/* GPU: loss (1 float) = the chunk means weighted by their counted rows, over all counted rows. */
vkr_status vkr_gpu_xent_combine(vkr_sequence* seq, const vkr_xent_combine_params* p, vkr_range stats, vkr_range means,
                                vkr_range loss);
/* GPU: chunk k's gradient grads[k * slot] = loss_grad[0] * count_k / total (0 when nothing counts),
 * the loss_grad each chunk's vkr_gpu_cross_entropy_bwd takes. */
vkr_status vkr_gpu_xent_combine_bwd(vkr_sequence* seq, const vkr_xent_combine_params* p, vkr_range stats,
                                    vkr_range means, vkr_range loss_grad, vkr_range grads);
/* CPU reference InfoNCE. */
vkr_status vkr_ref_infonce(const vkr_infonce_params* p, const float* sim, float* loss);
/* dsim += loss_grad * d(loss)/d(sim). */
vkr_status vkr_ref_infonce_bwd(const vkr_infonce_params* p, const float* sim, float loss_grad, float* dsim);
/* GPU InfoNCE (the cross-entropy kernels with diagonal targets). */
vkr_status vkr_gpu_infonce(vkr_sequence* seq, const vkr_infonce_params* p, vkr_range sim, vkr_range stats,
                           vkr_range loss);
/* GPU InfoNCE backward (accumulates into dsim). */
vkr_status vkr_gpu_infonce_bwd(vkr_sequence* seq, const vkr_infonce_params* p, vkr_range sim, vkr_range stats,
                               vkr_range loss_grad, vkr_range dsim);

/* ---- Pointwise losses: BCE-with-logits, BPR, MSE --------------------------------------------
 * Each is the mean over n pairs (a[i], b[i]); the forward is one fused workgroup (per-pair loss and
 * fixed-order sum, one dispatch), the backward one invocation per pair. Targets are constants:
 *   BCE:  a = logit, b = target in [0, 1]; max(a, 0) - a*b + log1p(exp(-|a|)); grad a: sigmoid(a) - b;
 *         a negative target marks an ignored pair (padding): loss 0 and gradient 0, still counted in n
 *   BPR:  a = positive score, b = negative score; -log sigmoid(a - b) = softplus(b - a);
 *         grad a: -sigmoid(b - a), grad b: +sigmoid(b - a)
 *   MSE:  a = prediction, b = target; (a - b)^2; grad a: 2 (a - b) */
typedef struct vkr_pointwise_loss_params {
    uint32_t n; /* pairs, >= 1 */
} vkr_pointwise_loss_params;

/* CPU reference BCE-with-logits. */
vkr_status vkr_ref_bce_logits(const vkr_pointwise_loss_params* p, const float* logits, const float* targets,
                              float* loss);
/* dlogits += loss_grad * d(loss)/d(logits). */
vkr_status vkr_ref_bce_logits_bwd(const vkr_pointwise_loss_params* p, const float* logits, const float* targets,
                                  float loss_grad, float* dlogits);
/* GPU BCE-with-logits. */
vkr_status vkr_gpu_bce_logits(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range logits,
                              vkr_range targets, vkr_range loss);
/* GPU BCE-with-logits backward (accumulates into dlogits). */
vkr_status vkr_gpu_bce_logits_bwd(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range logits,
                                  vkr_range targets, vkr_range loss_grad, vkr_range dlogits);
/* CPU reference BPR. */
vkr_status vkr_ref_bpr(const vkr_pointwise_loss_params* p, const float* pos, const float* neg, float* loss);
/* dpos += loss_grad * d(loss)/d(pos); dneg likewise. */
vkr_status vkr_ref_bpr_bwd(const vkr_pointwise_loss_params* p, const float* pos, const float* neg, float loss_grad,
                           float* dpos, float* dneg);
/* GPU BPR. */
vkr_status vkr_gpu_bpr(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pos, vkr_range neg,
                       vkr_range loss);
/* GPU BPR backward (accumulates into dpos and dneg, which must not overlap). */
vkr_status vkr_gpu_bpr_bwd(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pos, vkr_range neg,
                           vkr_range loss_grad, vkr_range dpos, vkr_range dneg);
/* CPU reference MSE. */
vkr_status vkr_ref_mse(const vkr_pointwise_loss_params* p, const float* pred, const float* target, float* loss);
/* dpred += loss_grad * d(loss)/d(pred). */
vkr_status vkr_ref_mse_bwd(const vkr_pointwise_loss_params* p, const float* pred, const float* target,
                           float loss_grad, float* dpred);
/* GPU MSE. */
vkr_status vkr_gpu_mse(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pred, vkr_range target,
                       vkr_range loss);
/* GPU MSE backward (accumulates into dpred). */
vkr_status vkr_gpu_mse_bwd(vkr_sequence* seq, const vkr_pointwise_loss_params* p, vkr_range pred,
                           vkr_range target, vkr_range loss_grad, vkr_range dpred);

/* ---- Selection (no gradient) ----------------------------------------------------------------
 * Values are ranked by a total order: NaN above +inf, -0.0 equal to +0.0, and equal values by
 * lower index first. argmax writes int32 [rows]; top-k writes values [rows, k] and int32 indices
 * [rows, k], sorted descending (one workgroup per row: 8-bit radix select of the k-th value over
 * four passes, a gather pass, and a bitonic sort of the k winners in shared memory). */
#define VKR_TOPK_MAX_K 1024

/* Top-k shape. */
typedef struct vkr_topk_params {
    uint32_t rows; /* rows, >= 1 */
    uint32_t cols; /* candidates per row, >= k */
    uint32_t k;    /* winners per row, 1..min(cols, VKR_TOPK_MAX_K) */
} vkr_topk_params;

/* CPU reference argmax per row. */
vkr_status vkr_ref_argmax(const vkr_rowwise_params* p, const float* x, int32_t* idx);
/* GPU argmax per row. */
vkr_status vkr_gpu_argmax(vkr_sequence* seq, const vkr_rowwise_params* p, vkr_range x, vkr_range idx);
/* CPU reference top-k per row (full sort of each row). */
vkr_status vkr_ref_topk(const vkr_topk_params* p, const float* x, float* values, int32_t* indices);
/* GPU top-k per row. */
vkr_status vkr_gpu_topk(vkr_sequence* seq, const vkr_topk_params* p, vkr_range x, vkr_range values,
                        vkr_range indices);

#endif
