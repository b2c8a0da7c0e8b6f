#include "vkr_init.h"

#include <math.h>

#include "vkr_rng.h"

uint64_t vkr_init_seed(uint64_t base, const char* name) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (const unsigned char* p = (const unsigned char*)(name ? name : ""); *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return vkr_rng_mix64(base ^ vkr_rng_mix64(h));
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
        double d = width * vkr_rng_uniform(seed, i, 0);
        w[i] = (float)((double)lo + d);
    }
    return VKR_OK;
}

vkr_status vkr_init_normal(float* w, size_t n, float mean, float std, uint64_t seed) {
    VKR_TRY(vkr_init_check("vkr_init_normal", w, n, std));
    for (size_t i = 0; i < n; i++) {
        uint64_t draw = 0;
        double d = (double)std * vkr_rng_normal(seed, i, &draw);
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
        double z = vkr_rng_normal(seed, i, &draw);
        /* Acceptance is at least 68% (k >= 1); after 64 rejections (p < 1e-31) clamp instead. */
        for (int attempt = 0; attempt < 64 && fabs(z) > k; attempt++) z = vkr_rng_normal(seed, i, &draw);
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
