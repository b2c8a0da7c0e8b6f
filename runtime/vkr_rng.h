/* The one random number generator of vkrec: counter-based streams on the host.
 *
 * Contract: every value is a pure function of (seed, stream, index): draw `index` of stream
 * `stream` is mix(mix(mix(seed) + (stream+1)*phi) + (index+1)*phi) with the splitmix64 finalizer
 * `mix`, so results do not depend on thread count, chunking or call order, and the same seed gives
 * bitwise-identical values on every machine. Only IEEE-exact operations (+ - * / sqrt, frexp) are
 * used, never libm transcendentals whose last bit varies between C libraries: normal samples use
 * Marsaglia's polar method with a fixed-series natural log, and floating-point contraction is off.
 * Bounded integers are unbiased (rejection of the short tail), never `% n`.
 * Use the pure functions where each element owns a stream; use a vkr_rng cursor to walk one stream
 * sequentially. The GPU dropout mask uses Philox (shaders/ and its CPU mirror), not this generator. */
#ifndef VKR_RNG_H
#define VKR_RNG_H
#include <stddef.h>
#include <stdint.h>

/* The splitmix64 finalizer: a bijective avalanche mix of 64 bits (also a cheap hash of a key). */
uint64_t vkr_rng_mix64(uint64_t z);
/* 64 random bits: draw `index` of stream `stream` under `seed`. */
uint64_t vkr_rng_u64(uint64_t seed, uint64_t stream, uint64_t index);
/* A double uniform in [0, 1) with 53 random bits (draw `index` of stream `stream`). */
double vkr_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/* A standard normal sample from stream `stream`, consuming draws from `*index` on (advancing it). */
double vkr_rng_normal(uint64_t seed, uint64_t stream, uint64_t* index);

/* A cursor over one stream: the next draw is vkr_rng_u64(seed, stream, index). */
typedef struct vkr_rng {
    uint64_t seed;   /* generator seed */
    uint64_t stream; /* stream within the seed */
    uint64_t index;  /* index of the next draw */
} vkr_rng;

/* A cursor at the start of stream `stream` under `seed`. */
vkr_rng vkr_rng_make(uint64_t seed, uint64_t stream);
/* The next 64 random bits. */
uint64_t vkr_rng_next_u64(vkr_rng* rng);
/* The next double uniform in [0, 1). */
double vkr_rng_next_uniform(vkr_rng* rng);
/* The next standard normal sample. */
double vkr_rng_next_normal(vkr_rng* rng);
/* An unbiased integer in [0, bound) (0 when bound is 0). */
uint64_t vkr_rng_next_below(vkr_rng* rng, uint64_t bound);
/* Shuffles `n` values in place (Fisher-Yates, unbiased). */
void vkr_rng_shuffle_u32(vkr_rng* rng, uint32_t* values, size_t n);

#endif
