#include "vkr_init.h"

#include <math.h>

/* Bitwise reproducibility needs a*b+c to round twice on every compiler and target; GCC does not
 * contract in ISO C mode (-std=c11), clang needs to be told. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static const uint64_t vkr_golden = 0x9e3779b97f4a7c15ull;

/* The splitmix64 output function: a bijective avalanche mix of 64 bits. */
static uint64_t vkr_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t vkr_rand_u64(uint64_t seed, uint64_t index, uint64_t draw) {
    /* Element `index` owns the splitmix64 stream keyed by mix(seed, index); draw j is its j-th output. */
    uint64_t key = vkr_mix64(vkr_mix64(seed) + (index + 1) * vkr_golden);
    return vkr_mix64(key + (draw + 1) * vkr_golden);
}

double vkr_rand_uniform(uint64_t seed, uint64_t index, uint64_t draw) {
    return (double)(vkr_rand_u64(seed, index, draw) >> 11) * 0x1.0p-53;
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

double vkr_rand_normal(uint64_t seed, uint64_t index, uint64_t* draw) {
    /* Marsaglia's polar method: accept (u, v) uniform in the unit disc, z = u*sqrt(-2 log s / s).
     * Acceptance is pi/4 per pair, so a handful of draws suffice; the cap only bounds the loop. */
    for (int attempt = 0; attempt < 64; attempt++) {
        double u = 2.0 * vkr_rand_uniform(seed, index, (*draw)++) - 1.0;
        double v = 2.0 * vkr_rand_uniform(seed, index, (*draw)++) - 1.0;
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

uint64_t vkr_init_seed(uint64_t base, const char* name) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (const unsigned char* p = (const unsigned char*)(name ? name : ""); *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return vkr_mix64(base ^ vkr_mix64(h));
}

static vkr_status vkr_init_check(const char* what, const float* w, size_t n, double scale) {
    if (n && !w) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: weights pointer is NULL for %zu elements", what, n);
    if (!(scale >= 0.0) || !isfinite(scale))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: scale %g must be finite and non-negative", what, scale);
    return VKR_OK;
}

vkr_status vkr_init_uniform(float* w, size_t n, float lo, float hi, uint64_t seed) {
    VKR_TRY(vkr_init_check("vkr_init_uniform", w, n, (double)hi - (double)lo));
    double width = (double)hi - (double)lo;
    for (size_t i = 0; i < n; i++) {
        double d = width * vkr_rand_uniform(seed, i, 0);
        w[i] = (float)((double)lo + d);
    }
    return VKR_OK;
}

vkr_status vkr_init_normal(float* w, size_t n, float mean, float std, uint64_t seed) {
    VKR_TRY(vkr_init_check("vkr_init_normal", w, n, std));
    for (size_t i = 0; i < n; i++) {
        uint64_t draw = 0;
        double d = (double)std * vkr_rand_normal(seed, i, &draw);
        w[i] = (float)((double)mean + d);
    }
    return VKR_OK;
}

vkr_status vkr_init_trunc_normal(float* w, size_t n, float mean, float std, float k, uint64_t seed) {
    VKR_TRY(vkr_init_check("vkr_init_trunc_normal", w, n, std));
    if (!(k >= 1.0f) || !isfinite(k))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_init_trunc_normal: k = %g must be a finite value >= 1", k);
    for (size_t i = 0; i < n; i++) {
        uint64_t draw = 0;
        double z = vkr_rand_normal(seed, i, &draw);
        /* Acceptance is at least 68% (k >= 1); after 64 rejections (p < 1e-31) clamp instead. */
        for (int attempt = 0; attempt < 64 && fabs(z) > k; attempt++) z = vkr_rand_normal(seed, i, &draw);
        if (fabs(z) > k) z = z > 0 ? k : -k;
        double d = (double)std * z;
        w[i] = (float)((double)mean + d);
    }
    return VKR_OK;
}

static vkr_status vkr_init_fans(const char* what, uint64_t fan_a, uint64_t fan_b, float gain) {
    if (fan_a + fan_b == 0 || fan_a + fan_b < fan_a)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: fan must be positive (got %llu)", what,
                        (unsigned long long)(fan_a + fan_b));
    if (!(gain >= 0.0f) || !isfinite(gain))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: gain %g must be finite and non-negative", what, gain);
    return VKR_OK;
}

vkr_status vkr_init_xavier_uniform(float* w, size_t n, uint64_t fan_in, uint64_t fan_out, float gain, uint64_t seed) {
    VKR_TRY(vkr_init_fans("vkr_init_xavier_uniform", fan_in, fan_out, gain));
    double b = (double)gain * sqrt(6.0 / (double)(fan_in + fan_out));
    return vkr_init_uniform(w, n, (float)-b, (float)b, seed);
}

vkr_status vkr_init_xavier_normal(float* w, size_t n, uint64_t fan_in, uint64_t fan_out, float gain, uint64_t seed) {
    VKR_TRY(vkr_init_fans("vkr_init_xavier_normal", fan_in, fan_out, gain));
    double s = (double)gain * sqrt(2.0 / (double)(fan_in + fan_out));
    return vkr_init_normal(w, n, 0.0f, (float)s, seed);
}

vkr_status vkr_init_kaiming_uniform(float* w, size_t n, uint64_t fan, float gain, uint64_t seed) {
    VKR_TRY(vkr_init_fans("vkr_init_kaiming_uniform", fan, 0, gain));
    double b = (double)gain * sqrt(3.0 / (double)fan);
    return vkr_init_uniform(w, n, (float)-b, (float)b, seed);
}

vkr_status vkr_init_kaiming_normal(float* w, size_t n, uint64_t fan, float gain, uint64_t seed) {
    VKR_TRY(vkr_init_fans("vkr_init_kaiming_normal", fan, 0, gain));
    double s = (double)gain / sqrt((double)fan);
    return vkr_init_normal(w, n, 0.0f, (float)s, seed);
}
