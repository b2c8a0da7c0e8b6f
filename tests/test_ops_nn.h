/* Helpers shared by the test_ops_nn*.c tests: device buffers from host arrays, one-shot sequences,
 * closeness assertions, and a finite-difference gradient check of the CPU references.
 *
 * The gradient check perturbs one float input element by +-h, recomputes a scalar loss in double
 * (usually L = sum w * y, so dL/dy = w) through the float CPU reference (which accumulates in
 * double), and compares the central difference, divided by the step the float perturbation really
 * made, with the analytic gradient. */
#ifndef TEST_OPS_NN_H
#define TEST_OPS_NN_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_ops_nn.h"
#include "vkr_test.h"

/* A device buffer of `bytes`, filled from `host` when it is not NULL. */
static inline vkr_buffer nn_buf(vkr_device* dev, const void* host, size_t bytes) {
    vkr_buffer b;
    VKR_ASSERT_OK(vkr_buffer_create(dev, bytes, VKR_MEMORY_DEVICE, &b));
    if (host) VKR_ASSERT_OK(vkr_buffer_upload(dev, &b, 0, host, bytes));
    return b;
}

/* The whole buffer as a range. */
static inline vkr_range nn_all(const vkr_buffer* b) { return (vkr_range){b, 0, 0}; }

/* Downloads `bytes` of a buffer. */
static inline void nn_get(vkr_device* dev, const vkr_buffer* b, void* host, size_t bytes) {
    VKR_ASSERT_OK(vkr_buffer_download(dev, b, 0, host, bytes));
}

/* malloc'd floats in [lo, hi), deterministic per seed. */
static inline float* nn_rand(size_t n, uint32_t seed, float lo, float hi) {
    float* v = malloc(n * sizeof *v);
    assert_non_null(v);
    vkr_test_fill_random(v, n, seed);
    for (size_t i = 0; i < n; i++) v[i] = lo + (v[i] + 1.0f) * 0.5f * (hi - lo);
    return v;
}

/* malloc'd copy of n floats. */
static inline float* nn_copy(const float* src, size_t n) {
    float* v = malloc(n * sizeof *v);
    assert_non_null(v);
    memcpy(v, src, n * sizeof *v);
    return v;
}

/* Fails unless every GPU value is finite and NMSE(gpu, ref) <= bound. */
static inline void nn_assert_close(const float* gpu, const float* ref, size_t n, double bound, const char* what) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(gpu[i])) fail_msg("%s: element %zu is %g (reference %g)", what, i, gpu[i], ref[i]);
    double e = vkr_test_nmse(gpu, ref, n);
    if (!(e <= bound)) fail_msg("%s: NMSE %.3g exceeds %.3g", what, e, bound);
}

/* A new sequence on the device. */
static inline vkr_sequence* nn_seq(vkr_device* dev) {
    vkr_sequence* s = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(dev, &s));
    return s;
}

/* Submits, waits and destroys a sequence. */
static inline void nn_run(vkr_sequence* s) {
    VKR_ASSERT_OK(vkr_sequence_submit(s));
    vkr_sequence_destroy(s);
}

/* sum y * w in double. */
static inline double nn_dot(const float* y, const float* w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * w[i];
    return s;
}

/* Recomputes the scalar loss from the current inputs. */
typedef double (*nn_loss_fn)(void* user);

/* Checks analytic dL/dx[i] against central differences at up to 48 evenly spaced elements of x;
 * fails with the first mismatch. */
static inline void nn_gradcheck(nn_loss_fn loss, void* user, float* x, const float* grad, size_t n, double h,
                                const char* what) {
    size_t points = n < 48 ? n : 48;
    for (size_t j = 0; j < points; j++) {
        size_t i = points == 1 ? 0 : j * (n - 1) / (points - 1);
        float saved = x[i];
        float plus = (float)(saved + h), minus = (float)(saved - h);
        x[i] = plus;
        double lp = loss(user);
        x[i] = minus;
        double lm = loss(user);
        x[i] = saved;
        double fd = (lp - lm) / ((double)plus - (double)minus);
        double an = grad[i];
        if (fabs(fd - an) > 2e-4 + 2e-3 * fmax(fabs(fd), fabs(an)))
            fail_msg("%s: gradient of element %zu: analytic %.8g, finite difference %.8g", what, i, an, fd);
    }
}

#endif
