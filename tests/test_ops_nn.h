/* Helpers shared by the test_ops_nn*.c tests: device buffers from host arrays, one-shot sequences,
 * closeness assertions, and an asserting wrapper of the shared finite-difference gradient check
 * (vkr_gradcheck.h), which the tests run on the CPU references (they accumulate in double). */
#ifndef TEST_OPS_NN_H
#define TEST_OPS_NN_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_gradcheck.h"
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
static inline vkr_range nn_all(const vkr_buffer* b) { return vkr_range_whole(b); }

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

/* Fails unless the analytic gradients of `inputs` match central differences of `loss` (the shared
 * vkr_gradcheck with default tolerances and perturbation h). */
static inline void nn_gradcheck(vkr_gradcheck_loss_fn loss, void* user, const vkr_gradcheck_input* inputs,
                                size_t count, double h) {
    vkr_gradcheck_options o = {.h = h};
    size_t bad = vkr_gradcheck(loss, user, inputs, count, &o);
    if (bad) fail_msg("gradient check of %s: %zu element(s) out of tolerance", inputs[0].name, bad);
}

#endif
