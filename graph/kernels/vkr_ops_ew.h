/* Elementwise, broadcasting, activation, reduction, dropout, concat and slice ops: forward and
 * backward, each as a CPU reference (vkr_ref_*, host pointers) and a GPU recorder (vkr_gpu_*).
 *
 * Contract:
 * - fp32, contiguous row-major tensors of up to 4 dims given as uint32_t shape[4]; unused leading
 *   dims are 1 and every dim is >= 1. Element counts must fit in uint32 (storage ranges are far
 *   smaller anyway).
 * - Forward outputs are overwritten. Backward functions ACCUMULATE into input gradients (dx += ...):
 *   the autograd executor zero-fills gradient buffers once per step and several consumers add into
 *   the same gradient.
 * - GPU recorders validate their parameters and ranges, then record one dispatch into the sequence
 *   (binary backward: two when both gradients are wanted and an input was broadcast); nothing runs
 *   until the sequence is submitted.
 *   A vkr_range of size VKR_WHOLE_SIZE reaches the end of its buffer; only the first numel*4 bytes
 *   are bound, so tensors may share a buffer. Inputs and outputs of one call must not overlap unless stated.
 *   An optional range is absent when its .buffer is NULL.
 * - Deterministic: no atomics; every reduction runs in an order fixed by the shapes, so the same
 *   input gives bitwise the same output on the same device. GPU and CPU results agree to rounding
 *   (reductions sum in a different order; the references accumulate in double).
 * - Dropout masks are bitwise identical on CPU and GPU (integer Philox-4x32-10 and an integer
 *   threshold compare).
 * - Invalid arguments return VKR_ERR_INVALID_ARGUMENT with a message naming the argument; nothing
 *   is recorded then. */
#ifndef VKR_OPS_EW_H
#define VKR_OPS_EW_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_runtime.h"

/* ---- shapes ---- */

/* Number of elements of a 4-D shape (product of the dims). */
uint64_t vkr_shape_numel(const uint32_t shape[4]);
/* Numpy-style broadcast of two 4-D shapes into out_shape (zeroed on entry); `what` names the op in
 * the error when a pair of dims is neither equal nor 1. */
vkr_status vkr_broadcast_shape(const uint32_t a[4], const uint32_t b[4], const char* what, uint32_t out_shape[4]);

/* ---- binary elementwise with broadcasting: y = a op b ---- */

/* The binary operator. */
typedef enum vkr_binary_op {
    VKR_BINARY_ADD = 0, /* y = a + b */
    VKR_BINARY_SUB,     /* y = a - b */
    VKR_BINARY_MUL,     /* y = a * b */
    VKR_BINARY_DIV,     /* y = a / b */
    VKR_BINARY_COUNT
} vkr_binary_op;

/* A broadcasting binary op; y has the broadcast shape of a and b (vkr_broadcast_shape). */
typedef struct vkr_binary_params {
    vkr_binary_op op;     /* operator */
    uint32_t a_shape[4];  /* shape of a */
    uint32_t b_shape[4];  /* shape of b */
} vkr_binary_params;

/* CPU: y = a op b with broadcasting. */
vkr_status vkr_ref_binary(const vkr_binary_params* p, const float* a, const float* b, float* y);
/* CPU: da += dL/da, db += dL/db given dy (gradients of broadcast inputs are summed over the broadcast
 * dims). da or db may be NULL to skip it; a and b are only read by MUL and DIV (may be NULL for
 * ADD/SUB); DIV's da needs only b. */
vkr_status vkr_ref_binary_backward(const vkr_binary_params* p, const float* a, const float* b, const float* dy,
                                   float* da, float* db);
/* GPU: records y = a op b. */
vkr_status vkr_gpu_binary(vkr_sequence* seq, const vkr_binary_params* p, vkr_range a, vkr_range b, vkr_range y);
/* GPU: records da += dL/da and db += dL/db (either may be absent; inputs as for the CPU version).
 * One dispatch when neither gradient needs a reduction or only one is wanted, else two. */
vkr_status vkr_gpu_binary_backward(vkr_sequence* seq, const vkr_binary_params* p, vkr_range a, vkr_range b,
                                   vkr_range dy, vkr_range da, vkr_range db);

/* ---- unary elementwise: y = f(x) ---- */

/* The unary function. */
typedef enum vkr_unary_op {
    VKR_UNARY_SCALE = 0,  /* y = alpha * x */
    VKR_UNARY_RELU,       /* y = max(x, 0); gradient 0 at x = 0 */
    VKR_UNARY_LEAKY_RELU, /* y = x > 0 ? x : alpha * x (alpha is the negative slope) */
    VKR_UNARY_GELU,       /* tanh approximation: y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    VKR_UNARY_SIGMOID,    /* y = 1 / (1 + exp(-x)) */
    VKR_UNARY_TANH,       /* y = tanh(x) */
    VKR_UNARY_RSQRT,      /* y = 1 / sqrt(max(x, 0) + alpha) (alpha > 0 keeps it finite; L2 normalization) */
    VKR_UNARY_COUNT
} vkr_unary_op;

/* Which forward tensor a unary backward reads besides dy. */
typedef enum vkr_unary_grad_input {
    VKR_UNARY_GRAD_NONE = 0, /* none (scale) */
    VKR_UNARY_GRAD_X,        /* the input x (relu, leaky relu, gelu, rsqrt) */
    VKR_UNARY_GRAD_Y         /* the output y (sigmoid, tanh) */
} vkr_unary_grad_input;

/* A unary op over n elements. */
typedef struct vkr_unary_params {
    vkr_unary_op op; /* function */
    uint32_t n;      /* element count (>= 1) */
    float alpha;     /* SCALE: the factor; LEAKY_RELU: the negative slope; RSQRT: the offset; otherwise ignored */
} vkr_unary_params;

/* Which tensor the backward of `op` needs (what autograd must keep from the forward pass). */
vkr_unary_grad_input vkr_unary_grad_needs(vkr_unary_op op);
/* CPU: y = f(x). y may equal x (in place). */
vkr_status vkr_ref_unary(const vkr_unary_params* p, const float* x, float* y);
/* CPU: dx += f'(.) * dy; `saved` is x or y as vkr_unary_grad_needs says (NULL for NONE). */
vkr_status vkr_ref_unary_backward(const vkr_unary_params* p, const float* saved, const float* dy, float* dx);
/* GPU: records y = f(x). y may be the same range as x (in place). */
vkr_status vkr_gpu_unary(vkr_sequence* seq, const vkr_unary_params* p, vkr_range x, vkr_range y);
/* GPU: records dx += f'(.) * dy; `saved` as for the CPU version (absent for NONE). */
vkr_status vkr_gpu_unary_backward(vkr_sequence* seq, const vkr_unary_params* p, vkr_range saved, vkr_range dy,
                                  vkr_range dx);

/* ---- reductions along one axis ---- */

/* Sum or mean over one axis; y has `shape` with shape[axis] = 1. */
typedef struct vkr_reduce_params {
    uint32_t shape[4]; /* shape of x */
    uint32_t axis;     /* 0..3, the reduced dimension */
    bool mean;         /* true: mean, false: sum */
} vkr_reduce_params;

/* CPU: y = sum (or mean) of x over the axis. */
vkr_status vkr_ref_reduce(const vkr_reduce_params* p, const float* x, float* y);
/* CPU: dx += dy broadcast back over the axis (divided by its length for a mean). */
vkr_status vkr_ref_reduce_backward(const vkr_reduce_params* p, const float* dy, float* dx);
/* GPU: records y = sum (or mean) of x over the axis. */
vkr_status vkr_gpu_reduce(vkr_sequence* seq, const vkr_reduce_params* p, vkr_range x, vkr_range y);
/* GPU: records dx += dy broadcast back over the axis (divided by its length for a mean). */
vkr_status vkr_gpu_reduce_backward(vkr_sequence* seq, const vkr_reduce_params* p, vkr_range dy, vkr_range dx);

/* ---- dropout ---- */

/* Inverted dropout over n elements: element i is kept iff word (i % 4) of
 * Philox4x32-10(counter = {i / 4, stream, 0, 0}, key = {seed, seed >> 32}) >= threshold, where
 * threshold = round(p * 2^32); kept elements are scaled by 1 / (1 - p), dropped ones become 0. */
typedef struct vkr_dropout_params {
    uint32_t n;    /* element count (>= 1) */
    float p;       /* drop probability in [0, 1) */
    uint64_t seed; /* mask seed: the same seed gives the same mask; use a new one per call site */
    uint32_t stream; /* Philox counter word 1, e.g. the training step, so masks differ per step */
    bool relu;       /* fused: the mask applies to max(x, 0) (the backward reads x) */
    bool residual;   /* fused: y = r + the dropout (the backward accumulates dy into dr) */
} vkr_dropout_params;

/* Philox4x32-10 (Salmon et al., SC'11): out = the 10-round bijection of ctr under key. */
void vkr_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* CPU: y = mask(x) * 1/(1-p). y may equal x. */
vkr_status vkr_ref_dropout(const vkr_dropout_params* p, const float* x, float* y);
/* CPU: dx += mask(dy) * 1/(1-p), regenerating the mask from the seed. */
vkr_status vkr_ref_dropout_backward(const vkr_dropout_params* p, const float* dy, float* dx);
/* CPU, fused form: y = [r +] mask([relu] x) * 1/(1-p) as p->relu and p->residual say; r is read only
 * with residual. y may equal x. The plain functions above are this with both flags off. */
vkr_status vkr_ref_dropout_fused(const vkr_dropout_params* p, const float* x, const float* r, float* y);
/* CPU, fused form: dx += mask(dy) * 1/(1-p) * [x > 0] (x read only with relu; dx may be NULL when x
 * needs no gradient) and, with residual, dr += dy. */
vkr_status vkr_ref_dropout_fused_backward(const vkr_dropout_params* p, const float* x, const float* dy, float* dx,
                                          float* dr);
/* GPU: records y = mask(x) * 1/(1-p). y may be the same range as x. */
vkr_status vkr_gpu_dropout(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range x, vkr_range y);
/* GPU: records dx += mask(dy) * 1/(1-p). */
vkr_status vkr_gpu_dropout_backward(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range dy, vkr_range dx);
/* GPU: as vkr_gpu_dropout, but the stream word is read from the uint32 at `step` when the sequence
 * runs, so one recorded training step draws a fresh mask on every replay (p->stream is ignored). */
vkr_status vkr_gpu_dropout_stepped(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step, vkr_range x,
                                   vkr_range y);
/* GPU: the backward of vkr_gpu_dropout_stepped (the same step value gives the same mask). */
vkr_status vkr_gpu_dropout_backward_stepped(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step,
                                            vkr_range dy, vkr_range dx);
/* GPU, fused form of vkr_ref_dropout_fused in one dispatch; `step` as for the stepped versions, or
 * empty to use p->stream; r is bound only with residual. */
vkr_status vkr_gpu_dropout_fused(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step, vkr_range x,
                                 vkr_range r, vkr_range y);
/* GPU, fused form of vkr_ref_dropout_fused_backward in one dispatch (dx may be empty with residual). */
vkr_status vkr_gpu_dropout_fused_backward(vkr_sequence* seq, const vkr_dropout_params* p, vkr_range step, vkr_range x,
                                          vkr_range dy, vkr_range dx, vkr_range dr);

/* ---- concat and slice ---- */

/* y = concat(a, b) along `axis`; a and b agree on every other dim. */
typedef struct vkr_concat_params {
    uint32_t a_shape[4]; /* shape of a */
    uint32_t b_shape[4]; /* shape of b */
    uint32_t axis;       /* 0..3 */
} vkr_concat_params;

/* y = x[..., offset : offset + length, ...] along `axis`. */
typedef struct vkr_slice_params {
    uint32_t shape[4]; /* shape of x */
    uint32_t axis;     /* 0..3 */
    uint32_t offset;   /* first index kept along the axis */
    uint32_t length;   /* indices kept (>= 1; offset + length <= shape[axis]) */
} vkr_slice_params;

/* Shape of concat(a, b) into out_shape (zeroed on entry). */
vkr_status vkr_concat_shape(const vkr_concat_params* p, uint32_t out_shape[4]);
/* CPU: y = concat(a, b). */
vkr_status vkr_ref_concat(const vkr_concat_params* p, const float* a, const float* b, float* y);
/* CPU: da += dy[a part], db += dy[b part]; either may be NULL to skip it. */
vkr_status vkr_ref_concat_backward(const vkr_concat_params* p, const float* dy, float* da, float* db);
/* GPU: records y = concat(a, b). */
vkr_status vkr_gpu_concat(vkr_sequence* seq, const vkr_concat_params* p, vkr_range a, vkr_range b, vkr_range y);
/* GPU: records da += dy[a part], db += dy[b part]; either may be absent. */
vkr_status vkr_gpu_concat_backward(vkr_sequence* seq, const vkr_concat_params* p, vkr_range dy, vkr_range da,
                                   vkr_range db);
/* CPU: y = the slice of x. */
vkr_status vkr_ref_slice(const vkr_slice_params* p, const float* x, float* y);
/* CPU: dx[slice] += dy; the rest of dx is untouched. */
vkr_status vkr_ref_slice_backward(const vkr_slice_params* p, const float* dy, float* dx);
/* GPU: records y = the slice of x. */
vkr_status vkr_gpu_slice(vkr_sequence* seq, const vkr_slice_params* p, vkr_range x, vkr_range y);
/* GPU: records dx[slice] += dy; the rest of dx is untouched. */
vkr_status vkr_gpu_slice_backward(vkr_sequence* seq, const vkr_slice_params* p, vkr_range dy, vkr_range dx);

#endif
