/* Argmax and top-k: a hand-checked reference case, GPU equal to the CPU reference (exactly: indices
 * and bitwise values) on awkward shapes with continuous data, heavy ties, constant rows and special
 * values (NaN, +-inf, -0.0), and argument errors. */
#include "test_ops_nn.h"

/* Data patterns. */
enum { DATA_RANDOM, DATA_TIES, DATA_CONSTANT, DATA_SPECIAL, DATA_COUNT };

static float* make_data(size_t n, int pattern, uint32_t seed) {
    float* x = nn_rand(n, seed, -10, 10);
    for (size_t i = 0; i < n; i++) {
        if (pattern == DATA_TIES) x[i] = floorf(x[i] * 0.2f); /* a handful of distinct values */
        if (pattern == DATA_CONSTANT) x[i] = 0.5f;
        if (pattern == DATA_SPECIAL) {
            static const float special[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 1e-40f, -1e-40f};
            if (i % 5 == 0) x[i] = special[(i / 5) % 7];
        }
    }
    return x;
}

static void test_reference_by_hand(void** state) {
    (void)state;
    const float x[8] = {3, -0.0f, 7, 0.0f, 7, NAN, -INFINITY, 3};
    vkr_topk_params p = {1, 8, 6};
    float v[6];
    int32_t idx[6];
    VKR_ASSERT_OK(vkr_ref_topk(&p, x, v, idx));
    const int32_t want_idx[6] = {5, 2, 4, 0, 7, 1}; /* NaN first; ties by lower index; -0 == +0 */
    assert_memory_equal(idx, want_idx, sizeof idx);
    assert_true(isnan(v[0]) && v[1] == 7 && v[3] == 3 && v[5] == 0.0f && signbit(v[5]));
    vkr_rowwise_params rp = {2, 4};
    int32_t am[2];
    VKR_ASSERT_OK(vkr_ref_argmax(&rp, x, am));
    assert_int_equal(am[0], 2);
    assert_int_equal(am[1], 1); /* NaN ranks highest */
}

static void check_case(vkr_device* dev, uint32_t rows, uint32_t cols, uint32_t k, int pattern) {
    size_t n = (size_t)rows * cols, nk = (size_t)rows * k;
    float* x = make_data(n, pattern, rows * 7u + cols + k);
    vkr_topk_params p = {rows, cols, k};
    vkr_rowwise_params rp = {rows, cols};
    float* v_ref = malloc(nk * 4);
    int32_t* i_ref = malloc(nk * 4);
    int32_t* am_ref = malloc(rows * 4u);
    VKR_ASSERT_OK(vkr_ref_topk(&p, x, v_ref, i_ref));
    VKR_ASSERT_OK(vkr_ref_argmax(&rp, x, am_ref));
    vkr_buffer bx = nn_buf(dev, x, n * 4), bv = nn_buf(dev, NULL, nk * 4), bi = nn_buf(dev, NULL, nk * 4);
    vkr_buffer bam = nn_buf(dev, NULL, rows * 4u);
    vkr_sequence* s = nn_seq(dev);
    VKR_ASSERT_OK(vkr_gpu_topk(s, &p, nn_all(&bx), nn_all(&bv), nn_all(&bi)));
    VKR_ASSERT_OK(vkr_gpu_argmax(s, &rp, nn_all(&bx), nn_all(&bam)));
    nn_run(s);
    float* v = malloc(nk * 4);
    int32_t* idx = malloc(nk * 4);
    int32_t* am = malloc(rows * 4u);
    nn_get(dev, &bv, v, nk * 4);
    nn_get(dev, &bi, idx, nk * 4);
    nn_get(dev, &bam, am, rows * 4u);
    for (size_t i = 0; i < nk; i++)
        if (idx[i] != i_ref[i] || memcmp(&v[i], &v_ref[i], 4) != 0)
            fail_msg("topk [%u x %u] k=%u pattern %d: entry %zu (row %zu) is (%g, %d), reference (%g, %d)", rows, cols,
                     k, pattern, i, i / k, v[i], idx[i], v_ref[i], i_ref[i]);
    for (uint32_t r = 0; r < rows; r++)
        if (am[r] != am_ref[r] || am[r] != i_ref[(size_t)r * k])
            fail_msg("argmax [%u x %u] pattern %d: row %u is %d, reference %d", rows, cols, pattern, r, am[r],
                     am_ref[r]);
    vkr_buffer_destroy(dev, &bx);
    vkr_buffer_destroy(dev, &bv);
    vkr_buffer_destroy(dev, &bi);
    vkr_buffer_destroy(dev, &bam);
    free(x);
    free(v_ref);
    free(i_ref);
    free(am_ref);
    free(v);
    free(idx);
    free(am);
}

static void test_topk_gpu(void** state) {
    (void)state;
    static const struct {
        uint32_t rows, cols, k;
    } cases[] = {{1, 1, 1},     {3, 7, 7},       {5, 13, 1},       {67, 300, 37}, {2, 10007, 100},
                 {3, 100003, 100}, {4, 2000, 1024}, {130, 64, 5}, {1, 257, 256}};
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
        for (int pattern = 0; pattern < DATA_COUNT; pattern++)
            check_case(env.device, cases[ci].rows, cases[ci].cols, cases[ci].k, pattern);
    vkr_test_close(&env);
}

static void test_select_errors(void** state) {
    (void)state;
    float x[8] = {0}, v[8];
    int32_t idx[8];
    vkr_topk_params p = {1, 8, 9};
    assert_int_equal(vkr_ref_topk(&p, x, v, idx), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "k 9"));
    p.k = 0;
    assert_int_equal(vkr_ref_topk(&p, x, v, idx), VKR_ERR_INVALID_ARGUMENT);
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_buffer big = nn_buf(env.device, NULL, 8192 * 4), small = nn_buf(env.device, NULL, 16);
    vkr_sequence* s = nn_seq(env.device);
    p = (vkr_topk_params){1, 8192, VKR_TOPK_MAX_K + 1};
    assert_int_equal(vkr_gpu_topk(s, &p, nn_all(&big), nn_all(&big), nn_all(&big)), VKR_ERR_INVALID_ARGUMENT);
    p.k = 5;
    assert_int_equal(vkr_gpu_topk(s, &p, nn_all(&big), nn_all(&small), nn_all(&big)), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "values"));
    vkr_rowwise_params rp = {8, 1024};
    assert_int_equal(vkr_gpu_argmax(s, &rp, nn_all(&big), nn_all(&small)), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "idx"));
    vkr_sequence_destroy(s);
    vkr_buffer_destroy(env.device, &big);
    vkr_buffer_destroy(env.device, &small);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_by_hand),
        cmocka_unit_test(test_topk_gpu),
        cmocka_unit_test(test_select_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
