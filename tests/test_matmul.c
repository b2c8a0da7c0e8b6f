/* Matmul and pairwise distances: GPU kernels against the CPU references on awkward shapes, the
 * cblas reference against plain loops, fp16 storage, dispatch splitting, and argument checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_fileio.h"
#include "vkr_matmul.h"
#include "vkr_test.h"

/* fp32 results differ from the references only by summation order. */
#define NMSE_F32 1e-9
/* fp16 runs compare against the reference on the same fp16-rounded inputs, so only the summation
 * order differs; the bound is looser anyway because the products of two halves feed fp32 sums
 * through a different conversion path on every device. */
#define NMSE_F16 1e-7

typedef struct mm_case {
    uint32_t M, N, K;
    bool trans_a, trans_b;
} mm_case;

/* Shapes chosen to hit every edge: ones, primes, odd sizes, non-multiples of every tile and of 4,
 * multiples of 4 (vec4 paths), a K tail of 1-3, and a large K. */
static const mm_case shapes[] = {
    {1, 1, 1, false, false},   {5, 1, 9, true, false},      {13, 17, 19, false, true},  {31, 33, 37, true, true},
    {16, 32, 64, false, false}, {33, 36, 20, true, false},  {24, 40, 12, false, true},  {67, 129, 5, false, false},
    {128, 64, 31, false, true}, {3, 5, 1031, false, false}, {40, 36, 1028, true, true}, {130, 131, 67, false, false},
};

static vkr_matmul_params mm_params(mm_case s) {
    return (vkr_matmul_params){.M = s.M, .N = s.N, .K = s.K, .trans_a = s.trans_a, .trans_b = s.trans_b, .batch = 1,
                               .alpha = 1.0f};
}

/* Element counts the operands of p span. */
static size_t span_a(const vkr_matmul_params* p) { return (size_t)(p->batch - 1) * p->stride_a + (size_t)p->M * p->K; }
static size_t span_b(const vkr_matmul_params* p) { return (size_t)(p->batch - 1) * p->stride_b + (size_t)p->K * p->N; }
static size_t span_c(const vkr_matmul_params* p) { return (size_t)(p->batch - 1) * p->stride_c + (size_t)p->M * p->N; }

/* Runs p on the GPU with random inputs (rounded to fp16 and stored so when p->dtype says so) and
 * returns the NMSE against the cblas reference (the larger of C's and, with bias_grad, the bias
 * gradient's). */
static double gpu_vs_ref(vkr_device* dev, const vkr_matmul_params* p, uint32_t seed) {
    size_t na = span_a(p), nb = span_b(p), nc = span_c(p);
    float* a = malloc(na * sizeof *a);
    float* b = malloc(nb * sizeof *b);
    float* bias = malloc(p->N * sizeof *bias);
    float* c = malloc(nc * sizeof *c);
    float* ref = malloc(nc * sizeof *ref);
    uint16_t* ha = malloc(na * sizeof *ha);
    uint16_t* hb = malloc(nb * sizeof *hb);
    assert_non_null(a && b && bias && c && ref && ha && hb);
    vkr_test_fill_random(a, na, seed);
    vkr_test_fill_random(b, nb, seed + 1);
    vkr_test_fill_random(bias, p->N, seed + 2);
    vkr_test_fill_random(c, nc, seed + 3);
    bool f16 = p->dtype == VKR_MATMUL_F16;
    for (size_t i = 0; f16 && i < na; i++) a[i] = vkr_half_to_float(ha[i] = vkr_float_to_half(a[i]));
    for (size_t i = 0; f16 && i < nb; i++) b[i] = vkr_half_to_float(hb[i] = vkr_float_to_half(b[i]));
    memcpy(ref, c, nc * sizeof *c);
    float* ref_bias = malloc(p->N * sizeof *ref_bias);
    assert_non_null(ref_bias);
    memcpy(ref_bias, bias, p->N * sizeof *bias);
    VKR_ASSERT_OK(vkr_ref_matmul(p, a, b, ref_bias, ref));

    size_t es = f16 ? 2 : 4;
    vkr_buffer ba = {0}, bb = {0}, bbias = {0}, bc = {0};
    VKR_ASSERT_OK(vkr_buffer_create(dev, na * es, VKR_MEMORY_DEVICE, &ba));
    VKR_ASSERT_OK(vkr_buffer_create(dev, nb * es, VKR_MEMORY_DEVICE, &bb));
    VKR_ASSERT_OK(vkr_buffer_create(dev, p->N * 4, VKR_MEMORY_DEVICE, &bbias));
    VKR_ASSERT_OK(vkr_buffer_create(dev, nc * 4, VKR_MEMORY_DEVICE, &bc));
    VKR_ASSERT_OK(vkr_buffer_upload(dev, &ba, 0, f16 ? (const void*)ha : (const void*)a, na * es));
    VKR_ASSERT_OK(vkr_buffer_upload(dev, &bb, 0, f16 ? (const void*)hb : (const void*)b, nb * es));
    VKR_ASSERT_OK(vkr_buffer_upload(dev, &bbias, 0, bias, p->N * 4));
    VKR_ASSERT_OK(vkr_buffer_upload(dev, &bc, 0, c, nc * 4));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(dev, &seq));
    VKR_ASSERT_OK(vkr_gpu_matmul(seq, p, vkr_range_whole(&ba), vkr_range_whole(&bb), vkr_range_whole(&bbias),
                                 vkr_range_whole(&bc)));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_buffer_download(dev, &bc, 0, c, nc * 4));
    VKR_ASSERT_OK(vkr_buffer_download(dev, &bbias, 0, bias, p->N * 4));
    double e = vkr_test_nmse(c, ref, nc), e_bias = vkr_test_nmse(bias, ref_bias, p->N);
    if (e_bias > e) e = e_bias; /* unchanged inputs give 0 when bias_grad is off */
    free(ref_bias);
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(dev, &ba);
    vkr_buffer_destroy(dev, &bb);
    vkr_buffer_destroy(dev, &bbias);
    vkr_buffer_destroy(dev, &bc);
    free(a);
    free(b);
    free(bias);
    free(c);
    free(ref);
    free(ha);
    free(hb);
    return e;
}

static void check(vkr_device* dev, const vkr_matmul_params* p, double bound, uint32_t seed) {
    double e = gpu_vs_ref(dev, p, seed);
    if (!(e <= bound))
        fail_msg("%s %ux%ux%u ta=%d tb=%d batch=%u acc=%d bias=%d alpha=%g dtype=%d: nmse %.3g > %.3g",
                 vkr_matmul_variant_name(dev, p), p->M, p->N, p->K, p->trans_a, p->trans_b, p->batch, p->accumulate,
                 p->has_bias, p->alpha, p->dtype, e, bound);
}

static void test_ref_matches_naive(void** state) {
    (void)state;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        vkr_matmul_params p = mm_params(shapes[s]);
        if ((uint64_t)p.M * p.N * p.K > 2000000) continue;
        /* Every shape also exercises batch with a broadcast A, bias, accumulate and alpha. */
        p.batch = 2;
        p.stride_a = 0;
        p.stride_b = (uint64_t)p.K * p.N;
        p.stride_c = (uint64_t)p.M * p.N;
        p.has_bias = s % 2 == 0;
        p.accumulate = s % 3 == 0;
        p.alpha = s % 2 ? 0.5f : -1.25f;
        size_t na = span_a(&p), nb = span_b(&p), nc = span_c(&p);
        float* a = malloc(na * 4);
        float* b = malloc(nb * 4);
        float* bias = malloc(p.N * 4);
        float* c1 = malloc(nc * 4);
        float* c2 = malloc(nc * 4);
        assert_non_null(a && b && bias && c1 && c2);
        vkr_test_fill_random(a, na, 10 + (uint32_t)s);
        vkr_test_fill_random(b, nb, 20 + (uint32_t)s);
        vkr_test_fill_random(bias, p.N, 30 + (uint32_t)s);
        vkr_test_fill_random(c1, nc, 40 + (uint32_t)s);
        memcpy(c2, c1, nc * 4);
        VKR_ASSERT_OK(vkr_ref_matmul(&p, a, b, bias, c1));
        VKR_ASSERT_OK(vkr_ref_matmul_naive(&p, a, b, bias, c2));
        double e = vkr_test_nmse(c1, c2, nc);
        if (!(e <= 1e-10)) fail_msg("cblas vs naive %ux%ux%u: nmse %.3g", p.M, p.N, p.K, e);
        free(a);
        free(b);
        free(bias);
        free(c1);
        free(c2);
    }
}

/* Both kernel families on every shape; bias, accumulate and alpha vary with the shape (every
 * combination of flags is a separate pipeline, and lavapipe compiles each in 0.1-2 s). */
static void test_gpu_shapes(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (int v = VKR_MATMUL_SUBGROUP; v <= VKR_MATMUL_TILED; v++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            vkr_matmul_params p = mm_params(shapes[s]);
            p.variant = (vkr_matmul_variant)v;
            p.has_bias = s % 2 == 1;
            p.accumulate = s % 3 == 1;
            p.alpha = s % 4 == 3 ? -0.75f : 1.0f;
            check(env.device, &p, NMSE_F32, (uint32_t)s);
        }
    vkr_test_close(&env);
}

/* The fused bias gradient (column sums of op(B)) on both kernel families and every shape, beside
 * the product it rides on. */
static void test_gpu_bias_grad(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (int v = VKR_MATMUL_SUBGROUP; v <= VKR_MATMUL_TILED; v++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            vkr_matmul_params p = mm_params(shapes[s]);
            p.variant = (vkr_matmul_variant)v;
            p.bias_grad = true;
            p.accumulate = s % 2 == 0;
            check(env.device, &p, NMSE_F32, 100 + (uint32_t)s);
        }
    vkr_test_close(&env);
}

/* Batches with broadcast strides, padded strides (no vec4 path), and alpha = 0. */
static void test_gpu_batch(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (int v = VKR_MATMUL_SUBGROUP; v <= VKR_MATMUL_TILED; v++) {
        vkr_matmul_params p = {.M = 9, .N = 12, .K = 8, .batch = 5, .alpha = 1.0f, .variant = (vkr_matmul_variant)v};
        p.stride_a = 0; /* one A for every item */
        p.stride_b = 8 * 12;
        p.stride_c = 9 * 12;
        check(env.device, &p, NMSE_F32, 1);
        p.stride_a = 9 * 8 + 3; /* odd padding between items disables vec4 loads */
        p.stride_b = 0;
        p.stride_c = 9 * 12 + 1;
        p.trans_b = true;
        p.has_bias = true;
        check(env.device, &p, NMSE_F32, 2);
        p.alpha = 0.0f; /* C = bias */
        p.accumulate = true;
        check(env.device, &p, NMSE_F32, 3);
    }
    vkr_test_close(&env);
}

/* Grids beyond maxComputeWorkGroupCount (65535 on lavapipe) in z (batch), y (rows) and x (columns). */
static void test_gpu_dispatch_limits(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    const uint32_t* lim = vkr_device_get_info(env.device)->max_workgroup_count;
    if (lim[2] < 1u << 20) {
        vkr_matmul_params p = {.M = 1, .N = 1, .K = 2, .batch = lim[2] + 3, .alpha = 1.0f, .stride_a = 2,
                               .stride_b = 2, .stride_c = 1};
        check(env.device, &p, NMSE_F32, 7);
    }
    if (lim[1] < 1u << 16) {
        vkr_matmul_params p = {.M = lim[1] * 32 + 5, .N = 1, .K = 1, .batch = 1, .alpha = 1.0f,
                               .variant = VKR_MATMUL_SUBGROUP};
        check(env.device, &p, NMSE_F32, 8);
    }
    if (lim[0] < 1u << 16) {
        vkr_matmul_params p = {.M = 1, .N = lim[0] * 128 + 5, .K = 1, .batch = 1, .alpha = 1.0f,
                               .variant = VKR_MATMUL_SUBGROUP};
        check(env.device, &p, NMSE_F32, 9);
    }
    vkr_test_close(&env);
}

static void test_gpu_f16(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    if (!vkr_device_get_info(env.device)->storage16) {
        vkr_test_close(&env);
        skip();
    }
    for (int v = VKR_MATMUL_SUBGROUP; v <= VKR_MATMUL_TILED; v++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s += 3) {
            vkr_matmul_params p = mm_params(shapes[s]);
            p.variant = (vkr_matmul_variant)v;
            p.dtype = VKR_MATMUL_F16;
            p.has_bias = s % 2 == 0;
            check(env.device, &p, NMSE_F16, 200 + (uint32_t)s);
        }
    vkr_test_close(&env);
}

static void test_sqdist(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    static const vkr_sqdist_params cases[] = {{1, 1, 1}, {7, 5, 3}, {33, 65, 64}, {100, 37, 17}};
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        vkr_sqdist_params p = cases[s];
        size_t nx = (size_t)p.n * p.d, ny = (size_t)p.m * p.d, nd = (size_t)p.n * p.m;
        float* x = malloc(nx * 4);
        float* y = malloc(ny * 4);
        float* d = malloc(nd * 4);
        float* ref = malloc(nd * 4);
        assert_non_null(x && y && d && ref);
        vkr_test_fill_random(x, nx, 50 + (uint32_t)s);
        vkr_test_fill_random(y, ny, 60 + (uint32_t)s);
        if (p.m > 1) memcpy(y + p.d, x, p.d * 4); /* a zero distance */
        VKR_ASSERT_OK(vkr_ref_sqdist(&p, x, y, ref));
        vkr_buffer bx = {0}, by = {0}, bd = {0};
        VKR_ASSERT_OK(vkr_buffer_create(env.device, nx * 4, VKR_MEMORY_DEVICE, &bx));
        VKR_ASSERT_OK(vkr_buffer_create(env.device, ny * 4, VKR_MEMORY_DEVICE, &by));
        VKR_ASSERT_OK(vkr_buffer_create(env.device, nd * 4, VKR_MEMORY_DEVICE, &bd));
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, &bx, 0, x, nx * 4));
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, &by, 0, y, ny * 4));
        vkr_sequence* seq = NULL;
        VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
        VKR_ASSERT_OK(vkr_gpu_sqdist(seq, &p, vkr_range_whole(&bx), vkr_range_whole(&by), vkr_range_whole(&bd)));
        VKR_ASSERT_OK(vkr_sequence_submit(seq));
        VKR_ASSERT_OK(vkr_buffer_download(env.device, &bd, 0, d, nd * 4));
        double e = vkr_test_nmse(d, ref, nd);
        if (!(e <= NMSE_F32)) fail_msg("sqdist n=%u m=%u d=%u: nmse %.3g", p.n, p.m, p.d, e);
        if (p.m > 1) assert_true(d[1] == 0.0f); /* x_0 against its copy y_1: exactly zero */
        vkr_sequence_destroy(seq);
        vkr_buffer_destroy(env.device, &bx);
        vkr_buffer_destroy(env.device, &by);
        vkr_buffer_destroy(env.device, &bd);
        free(x);
        free(y);
        free(d);
        free(ref);
    }
    vkr_test_close(&env);
}

/* Asserts an invalid-argument failure whose message mentions `needle`. */
static void expect_invalid(vkr_status s, const char* needle) {
    if (s != VKR_ERR_INVALID_ARGUMENT) fail_msg("expected invalid argument (%s), got %s", needle, vkr_status_name(s));
    if (!strstr(vkr_last_error(), needle)) fail_msg("message '%s' does not mention '%s'", vkr_last_error(), needle);
}

static void test_invalid(void** state) {
    (void)state;
    float x[16] = {0};
    vkr_matmul_params good = {.M = 2, .N = 2, .K = 2, .batch = 1, .alpha = 1.0f};
    vkr_matmul_params p = good;
    expect_invalid(vkr_ref_matmul(NULL, x, x, NULL, x), "params");
    p.K = 0;
    expect_invalid(vkr_ref_matmul(&p, x, x, NULL, x), "K");
    p = good;
    p.batch = 0;
    expect_invalid(vkr_ref_matmul(&p, x, x, NULL, x), "batch");
    p = good;
    p.batch = 2;
    p.stride_c = 3;
    expect_invalid(vkr_ref_matmul(&p, x, x, NULL, x), "stride_c");
    p = good;
    p.has_bias = true;
    expect_invalid(vkr_ref_matmul(&p, x, x, NULL, x), "bias");
    p.bias_grad = true; /* with has_bias */
    expect_invalid(vkr_matmul_validate(&p, "test"), "bias_grad");
    p = good;
    p.bias_grad = true;
    expect_invalid(vkr_ref_matmul(&p, x, x, NULL, x), "bias");
    p.batch = 2;
    p.stride_c = 64;
    expect_invalid(vkr_matmul_validate(&p, "test"), "bias_grad");
    p = good;
    p.alpha = NAN;
    expect_invalid(vkr_ref_matmul_naive(&p, x, x, NULL, x), "alpha");
    p = good;
    p.dtype = (vkr_matmul_dtype)7;
    expect_invalid(vkr_matmul_validate(&p, "test"), "dtype");
    vkr_sqdist_params sp = {0, 1, 1};
    expect_invalid(vkr_ref_sqdist(&sp, x, x, x), "n, m and d");

    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_buffer small = {0}, big = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 12, VKR_MEMORY_DEVICE, &small));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 64, VKR_MEMORY_DEVICE, &big));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    vkr_range rs = vkr_range_whole(&small), rb = vkr_range_whole(&big), none = {0};
    expect_invalid(vkr_gpu_matmul(NULL, &good, rb, rb, none, rb), "sequence");
    expect_invalid(vkr_gpu_matmul(seq, &good, rs, rb, none, rb), "range a");
    expect_invalid(vkr_gpu_matmul(seq, &good, rb, rb, none, rs), "range c");
    expect_invalid(vkr_gpu_matmul(seq, &good, rb, (vkr_range){&big, 32, 64}, none, rb), "overruns");
    p = good;
    p.has_bias = true;
    expect_invalid(vkr_gpu_matmul(seq, &p, rb, rb, none, rb), "range bias");
    p = good;
    p.M = 0;
    expect_invalid(vkr_gpu_matmul(seq, &p, rb, rb, none, rb), "M");
    vkr_sqdist_params sq = {4, 4, 4};
    expect_invalid(vkr_gpu_sqdist(seq, &sq, rb, rb, rs), "range dist");
    assert_int_equal(vkr_sequence_dispatch_count(seq), 0);
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(env.device, &small);
    vkr_buffer_destroy(env.device, &big);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_matches_naive), cmocka_unit_test(test_gpu_shapes),
        cmocka_unit_test(test_gpu_batch),         cmocka_unit_test(test_gpu_dispatch_limits),
        cmocka_unit_test(test_gpu_bias_grad),
        cmocka_unit_test(test_gpu_f16),           cmocka_unit_test(test_sqdist),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
