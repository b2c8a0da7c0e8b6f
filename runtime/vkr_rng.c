#include "vkr_rng.h"

#include <math.h>

/* Bitwise reproducibility needs a*b+c to round twice on every compiler and target; GCC does not
 * contract in ISO C mode (-std=c11), clang needs to be told. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static const uint64_t vkr_golden = 0x9e3779b97f4a7c15ull;

uint64_t vkr_rng_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t vkr_rng_u64(uint64_t seed, uint64_t stream, uint64_t index) {
    /* Stream `stream` is the splitmix64 sequence keyed by mix(seed, stream); draw j is its j-th output. */
    uint64_t key = vkr_rng_mix64(vkr_rng_mix64(seed) + (stream + 1) * vkr_golden);
    return vkr_rng_mix64(key + (index + 1) * vkr_golden);
}

double vkr_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    return (double)(vkr_rng_u64(seed, stream, index) >> 11) * 0x1.0p-53;
}

/* Natural log of x > 0 from IEEE-exact operations only: x = m * 2^e with m in [sqrt(1/2), sqrt(2)),
 * log(m) = 2*atanh(s), s = (m-1)/(m+1), |s| < 0.172, summed to 1e-19 relative accuracy. */
static double vkr_det_log(double x) {
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752) {
        m *= 2.0;
        e -= 1;
    }
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double term = s;
    double sum = 0.0;
    for (int k = 1; k <= 23; k += 2) {
        double q = term / (double)k;
        sum += q;
        term *= s2;
    }
    double head = (double)e * 0.69314718055994530942;
    double tail = 2.0 * sum;
    return head + tail;
}

double vkr_rng_normal(uint64_t seed, uint64_t stream, uint64_t* index) {
    /* Marsaglia's polar method: accept (u, v) uniform in the unit disc, z = u*sqrt(-2 log s / s).
     * Acceptance is pi/4 per pair, so a handful of draws suffice; the cap only bounds the loop. */
    for (int attempt = 0; attempt < 64; attempt++) {
        double u = 2.0 * vkr_rng_uniform(seed, stream, (*index)++) - 1.0;
        double v = 2.0 * vkr_rng_uniform(seed, stream, (*index)++) - 1.0;
        double uu = u * u;
        double vv = v * v;
        double s = uu + vv;
        if (s > 0.0 && s < 1.0) {
            double r = sqrt(-2.0 * vkr_det_log(s) / s);
            return u * r;
        }
    }
    return 0.0; /* (1 - pi/4)^64 ~ 1e-43: never reached in practice, but the result stays defined */
}

vkr_rng vkr_rng_make(uint64_t seed, uint64_t stream) { return (vkr_rng){seed, stream, 0}; }

uint64_t vkr_rng_next_u64(vkr_rng* rng) { return vkr_rng_u64(rng->seed, rng->stream, rng->index++); }

double vkr_rng_next_uniform(vkr_rng* rng) { return vkr_rng_uniform(rng->seed, rng->stream, rng->index++); }

double vkr_rng_next_normal(vkr_rng* rng) { return vkr_rng_normal(rng->seed, rng->stream, &rng->index); }

uint64_t vkr_rng_next_below(vkr_rng* rng, uint64_t bound) {
    if (bound == 0) return 0;
    /* Reject the last 2^64 mod bound values so every residue is equally likely; since that tail is
     * shorter than bound, fewer than half of the draws are ever rejected. */
    uint64_t tail = (0 - bound) % bound;
    uint64_t x;
    do x = vkr_rng_next_u64(rng);
    while (x < tail);
    return x % bound;
}

void vkr_rng_shuffle_u32(vkr_rng* rng, uint32_t* values, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)vkr_rng_next_below(rng, i);
        uint32_t t = values[i - 1];
        values[i - 1] = values[j];
        values[j] = t;
    }
}
