/* Axis permutation of a 4-D fp32 tensor (a copy), forward and backward, GPU and CPU reference.
 * Used to split attention heads ([B, T, H, Dh] -> [B, H, T, Dh]) and merge them back. */
#ifndef VKR_PERMUTE_H
#define VKR_PERMUTE_H
#include <stdint.h>

#include "vkr_runtime.h"

/* y.shape[i] = x_shape[perm[i]]; perm is a permutation of 0..3. */
typedef struct vkr_permute_params {
    uint32_t x_shape[4]; /* input dims */
    uint32_t perm[4];    /* output axis i takes input axis perm[i] */
} vkr_permute_params;

/* Output shape into out (zeroed on entry); fails when perm is not a permutation. */
vkr_status vkr_permute_shape(const vkr_permute_params* p, uint32_t out[4]);
/* CPU: y = permute(x). */
vkr_status vkr_ref_permute(const vkr_permute_params* p, const float* x, float* y);
/* CPU: dx += inverse-permute(dy). */
vkr_status vkr_ref_permute_backward(const vkr_permute_params* p, const float* dy, float* dx);
/* GPU: records y = permute(x). */
vkr_status vkr_gpu_permute(vkr_sequence* seq, const vkr_permute_params* p, vkr_range x, vkr_range y);
/* GPU: records dx += inverse-permute(dy). */
vkr_status vkr_gpu_permute_backward(vkr_sequence* seq, const vkr_permute_params* p, vkr_range dy, vkr_range dx);

#endif
