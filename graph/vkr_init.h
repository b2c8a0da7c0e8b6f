/* Seeded weight initializers on the host (fill a float array, then upload it).
 *
 * Contract: every value is a pure function of (seed, element index): element i draws from stream i
 * of the runtime generator (vkr_rng.h), so results do not depend on thread count, chunking or the
 * order of calls, and the same seed gives bitwise-identical weights on every machine (vkr_rng.h
 * states how). Distribution parameters follow PyTorch's nn.init:
 * Xavier/Glorot bound = gain*sqrt(6/(fan_in+fan_out)), std = gain*sqrt(2/(fan_in+fan_out));
 * Kaiming/He bound = gain*sqrt(3/fan), std = gain/sqrt(fan) (gain sqrt(2) for ReLU). */
#ifndef VKR_INIT_H
#define VKR_INIT_H
#include <stddef.h>
#include <stdint.h>

#include "vkr_status.h"

/* Recommended gain for ReLU layers (Kaiming/He). */
#define VKR_INIT_GAIN_RELU 1.4142135623730951f

/* Derives a per-tensor seed from a base seed and a tensor name, so tensors are independent. */
uint64_t vkr_init_seed(uint64_t base, const char* name);

/* w[i] ~ U[lo, hi) for i < n (drawn in double; rounding to float may reach hi). */
vkr_status vkr_init_uniform(float* w, size_t n, float lo, float hi, uint64_t seed);
/* w[i] ~ N(mean, std^2). */
vkr_status vkr_init_normal(float* w, size_t n, float mean, float std, uint64_t seed);
/* w[i] ~ N(mean, std^2) conditioned on |w[i] - mean| <= k*std (k >= 1), by resampling. */
vkr_status vkr_init_trunc_normal(float* w, size_t n, float mean, float std, float k, uint64_t seed);
/* Xavier/Glorot uniform: U[-b, b], b = gain*sqrt(6/(fan_in+fan_out)). */
vkr_status vkr_init_xavier_uniform(float* w, size_t n, uint64_t fan_in, uint64_t fan_out, float gain, uint64_t seed);
/* Xavier/Glorot normal: N(0, s^2), s = gain*sqrt(2/(fan_in+fan_out)). */
vkr_status vkr_init_xavier_normal(float* w, size_t n, uint64_t fan_in, uint64_t fan_out, float gain, uint64_t seed);
/* Kaiming/He uniform: U[-b, b], b = gain*sqrt(3/fan) (fan = fan_in or fan_out by mode). */
vkr_status vkr_init_kaiming_uniform(float* w, size_t n, uint64_t fan, float gain, uint64_t seed);
/* Kaiming/He normal: N(0, s^2), s = gain/sqrt(fan). */
vkr_status vkr_init_kaiming_normal(float* w, size_t n, uint64_t fan, float gain, uint64_t seed);

#endif
