/* Domain-alignment measure: constructed unmixed, perfectly alternating and random layouts give
 * 0, a known value and about 1; GPU and CPU kNN paths agree; bad input is refused. */
#include "vkr_test.h"

#include <math.h>
#include <stdlib.h>

#include "vkr_align.h"

/* Two far-apart blobs, one per domain: no neighbour from the other domain. */
static void test_unmixed(void** state) {
    (void)state;
    uint32_t n = 101, d = 3;
    float* x = malloc(sizeof(float) * n * d);
    uint8_t* dom = malloc(n);
    vkr_test_fill_random(x, (size_t)n * d, 1);
    for (uint32_t i = 0; i < n; i++) {
        dom[i] = i < 40 ? 0 : 1;
        if (dom[i]) x[(size_t)i * d] += 100;
    }
    vkr_align_result g, r;
    VKR_ASSERT_OK(vkr_align_compute(vkr_test_shared.device, x, n, d, dom, 2, 10, &g));
    VKR_ASSERT_OK(vkr_ref_align_compute(x, n, d, dom, 2, 10, &r));
    assert_true(g.overall == 0 && r.overall == 0);
    assert_int_equal(g.items[0], 40);
    assert_int_equal(g.items[1], 61);
    assert_true(fabs(g.expected[0] - 61.0 / 100) < 1e-12);
    free(x), free(dom);
}

/* Points on a line, domains alternating: each point's 2 nearest are its two other-domain neighbours. */
static void test_alternating(void** state) {
    (void)state;
    uint32_t n = 50;
    float x[50];
    uint8_t dom[50];
    for (uint32_t i = 0; i < n; i++) {
        x[i] = (float)i + 0.01f * (float)(i % 3); /* break distance ties */
        dom[i] = (uint8_t)(i % 2);
    }
    vkr_align_result g;
    VKR_ASSERT_OK(vkr_align_compute(vkr_test_shared.device, x, n, 1, dom, 2, 2, &g));
    /* Interior points: both neighbours other-domain; end points: one of two. */
    double raw = (48.0 + 2 * 0.5) / 50;
    assert_true(fabs(g.overall_raw - raw) < 1e-12);
    assert_true(fabs(g.overall - raw / (25.0 / 49)) < 1e-9);
    assert_true(g.overall > 1.5); /* neighbours prefer the other domain */
}

/* Domains assigned at random over one Gaussian blob: mixing close to 1 (measured 0.95 .. 1.05). */
static void test_random_mix(void** state) {
    (void)state;
    uint32_t n = 3001, d = 4;
    float* x = malloc(sizeof(float) * n * d);
    uint8_t* dom = malloc(n);
    vkr_test_fill_random(x, (size_t)n * d, 3);
    uint32_t s = 12345;
    for (uint32_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        dom[i] = (uint8_t)((s >> 16) % 3 == 0 ? 0 : (s >> 16) % 3 == 1 ? 1 : 2);
    }
    vkr_align_result g;
    VKR_ASSERT_OK(vkr_align_compute(vkr_test_shared.device, x, n, d, dom, 3, 15, &g));
    if (fabs(g.overall - 1) > 0.08) fail_msg("random mix: overall %g", g.overall);
    for (int c = 0; c < 3; c++)
        if (fabs(g.mixing[c] - 1) > 0.1) fail_msg("random mix: domain %d %g", c, g.mixing[c]);
    free(x), free(dom);
}

static void test_bad_input(void** state) {
    (void)state;
    float x[4] = {0, 1, 2, 3};
    uint8_t one[4] = {0, 0, 0, 0}, bad[4] = {0, 1, 5, 0};
    vkr_align_result r;
    assert_int_equal(vkr_align_compute(vkr_test_shared.device, x, 4, 1, one, 1, 2, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_align_compute(vkr_test_shared.device, x, 4, 1, bad, 2, 2, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_align_compute(vkr_test_shared.device, x, 1, 4, one, 2, 2, &r), VKR_ERR_INVALID_ARGUMENT);
    /* k larger than the other points is clamped. */
    uint8_t two[4] = {0, 1, 0, 1};
    VKR_ASSERT_OK(vkr_align_compute(vkr_test_shared.device, x, 4, 1, two, 2, 50, &r));
    assert_int_equal(r.k, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmixed),
        cmocka_unit_test(test_alternating),
        cmocka_unit_test(test_random_mix),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
