/* Softmax, log-softmax and the masked attention softmax: GPU against the CPU reference on awkward
 * shapes (forward, and backward applied twice to check accumulation), finite-difference gradient
 * checks of the references, fully masked rows, and argument errors. */
#include "test_ops_nn.h"

typedef struct shape2 {
    uint32_t rows, cols;
} shape2;

/* 70001 rows exceed lavapipe's 65535 workgroups per dimension: the dispatch folds into a 2-D grid. */
static const shape2 shapes[] = {{1, 1},   {1, 7},     {3, 1},   {5, 13},  {67, 129},
                                {2, 10007}, {130, 64}, {1, 1025}, {70001, 3}};

/* Softmax (log = false) or log-softmax GPU vs CPU on every shape. */
static void check_rowwise_gpu(bool log) {
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        vkr_rowwise_params p = {shapes[si].rows, shapes[si].cols};
        size_t n = (size_t)p.rows * p.cols;
        float* x = nn_rand(n, 11 + (uint32_t)si, -6, 6);
        float* dy = nn_rand(n, 21 + (uint32_t)si, -1, 1);
        float* dx0 = nn_rand(n, 31 + (uint32_t)si, -1, 1);
        float* y_ref = malloc(n * sizeof(float));
        float* dx_ref = nn_copy(dx0, n);
        float* got = malloc(n * sizeof(float));
        VKR_ASSERT_OK(log ? vkr_ref_log_softmax(&p, x, y_ref) : vkr_ref_softmax(&p, x, y_ref));
        for (int rep = 0; rep < 2; rep++)
            VKR_ASSERT_OK(log ? vkr_ref_log_softmax_bwd(&p, y_ref, dy, dx_ref) : vkr_ref_softmax_bwd(&p, y_ref, dy, dx_ref));

        vkr_buffer bx = nn_buf(env.device, x, n * 4), by = nn_buf(env.device, NULL, n * 4);
        vkr_buffer bdy = nn_buf(env.device, dy, n * 4), bdx = nn_buf(env.device, dx0, n * 4);
        vkr_sequence* s = nn_seq(env.device);
        VKR_ASSERT_OK(log ? vkr_gpu_log_softmax(s, &p, nn_all(&bx), nn_all(&by))
                          : vkr_gpu_softmax(s, &p, nn_all(&bx), nn_all(&by)));
        for (int rep = 0; rep < 2; rep++)
            VKR_ASSERT_OK(log ? vkr_gpu_log_softmax_bwd(s, &p, nn_all(&by), nn_all(&bdy), nn_all(&bdx))
                              : vkr_gpu_softmax_bwd(s, &p, nn_all(&by), nn_all(&bdy), nn_all(&bdx)));
        nn_run(s);
        char what[64];
        nn_get(env.device, &by, got, n * 4);
        snprintf(what, sizeof what, "%s fwd [%u x %u]", log ? "log_softmax" : "softmax", p.rows, p.cols);
        nn_assert_close(got, y_ref, n, 1e-10, what);
        if (!log)
            for (uint32_t r = 0; r < p.rows; r++) {
                double sum = 0;
                for (uint32_t c = 0; c < p.cols; c++) sum += got[(size_t)r * p.cols + c];
                assert_true(fabs(sum - 1.0) < 1e-4);
            }
        nn_get(env.device, &bdx, got, n * 4);
        snprintf(what, sizeof what, "%s bwd x2 [%u x %u]", log ? "log_softmax" : "softmax", p.rows, p.cols);
        nn_assert_close(got, dx_ref, n, 1e-9, what);
        vkr_buffer_destroy(env.device, &bx);
        vkr_buffer_destroy(env.device, &by);
        vkr_buffer_destroy(env.device, &bdy);
        vkr_buffer_destroy(env.device, &bdx);
        free(x);
        free(dy);
        free(dx0);
        free(y_ref);
        free(dx_ref);
        free(got);
    }
    vkr_test_close(&env);
}

static void test_softmax_gpu(void** state) {
    (void)state;
    check_rowwise_gpu(false);
}

static void test_log_softmax_gpu(void** state) {
    (void)state;
    check_rowwise_gpu(true);
}

/* Gradient-check context: L = sum w * f(x), with f one of the softmax references. */
typedef struct sm_ctx {
    int kind; /* 0 softmax, 1 log-softmax, 2 attention */
    vkr_rowwise_params rp;
    vkr_attn_softmax_params ap;
    const int32_t* mask;
    float *x, *y;
    const float* w;
    size_t n;
} sm_ctx;

static void sm_forward(sm_ctx* c) {
    if (c->kind == 0) VKR_ASSERT_OK(vkr_ref_softmax(&c->rp, c->x, c->y));
    if (c->kind == 1) VKR_ASSERT_OK(vkr_ref_log_softmax(&c->rp, c->x, c->y));
    if (c->kind == 2) VKR_ASSERT_OK(vkr_ref_attn_softmax(&c->ap, c->x, c->mask, c->y));
}

static double sm_loss(void* user) {
    sm_ctx* c = user;
    sm_forward(c);
    return vkr_gradcheck_dot(c->y, c->w, c->n);
}

static void gradcheck_kind(sm_ctx* c, const char* what) {
    c->x = nn_rand(c->n, 5, -2, 2);
    c->y = malloc(c->n * sizeof(float));
    float* w = nn_rand(c->n, 6, -1, 1);
    c->w = w;
    float* dx = calloc(c->n, sizeof(float));
    sm_forward(c);
    if (c->kind == 0) VKR_ASSERT_OK(vkr_ref_softmax_bwd(&c->rp, c->y, w, dx));
    if (c->kind == 1) VKR_ASSERT_OK(vkr_ref_log_softmax_bwd(&c->rp, c->y, w, dx));
    if (c->kind == 2) VKR_ASSERT_OK(vkr_ref_attn_softmax_bwd(&c->ap, c->y, w, dx));
    vkr_gradcheck_input in = {what, c->x, dx, c->n};
    nn_gradcheck(sm_loss, c, &in, 1, 1e-2);
    free(c->x);
    free(c->y);
    free(w);
    free(dx);
}

static void test_softmax_gradcheck(void** state) {
    (void)state;
    sm_ctx c = {.kind = 0, .rp = {3, 7}, .n = 21};
    gradcheck_kind(&c, "softmax");
    c = (sm_ctx){.kind = 1, .rp = {4, 5}, .n = 20};
    gradcheck_kind(&c, "log_softmax");
    c = (sm_ctx){.kind = 0, .rp = {2, 1}, .n = 2};
    gradcheck_kind(&c, "softmax C=1");
    /* Causal with left padding: some rows are fully masked and must pass no gradient. */
    static const int32_t mask[2 * 4] = {0, 1, 1, 1, 1, 1, 1, 0};
    c = (sm_ctx){.kind = 2, .ap = {2, 2, 3, 4, 0.7f, true}, .mask = mask, .n = 2 * 2 * 3 * 4};
    gradcheck_kind(&c, "attn_softmax");
}

/* One attention case: GPU vs CPU forward and backward (twice), plus the fully-masked-row rule. */
static void check_attn(vkr_device* dev, const vkr_attn_softmax_params* p, const int32_t* mask) {
    size_t rows = (size_t)p->batch * p->heads * p->q_len, n = rows * p->k_len;
    float* x = nn_rand(n, 41, -4, 4);
    float* dy = nn_rand(n, 42, -1, 1);
    float* dx0 = nn_rand(n, 43, -1, 1);
    float* y_ref = malloc(n * sizeof(float));
    float* dx_ref = nn_copy(dx0, n);
    float* got = malloc(n * sizeof(float));
    VKR_ASSERT_OK(vkr_ref_attn_softmax(p, x, mask, y_ref));
    for (int rep = 0; rep < 2; rep++) VKR_ASSERT_OK(vkr_ref_attn_softmax_bwd(p, y_ref, dy, dx_ref));

    vkr_buffer bx = nn_buf(dev, x, n * 4), by = nn_buf(dev, NULL, n * 4), bdy = nn_buf(dev, dy, n * 4);
    vkr_buffer bdx = nn_buf(dev, dx0, n * 4), bm = {0};
    if (mask) bm = nn_buf(dev, mask, (size_t)p->batch * p->k_len * 4);
    vkr_sequence* s = nn_seq(dev);
    VKR_ASSERT_OK(vkr_gpu_attn_softmax(s, p, nn_all(&bx), mask ? nn_all(&bm) : (vkr_range){0}, nn_all(&by)));
    for (int rep = 0; rep < 2; rep++)
        VKR_ASSERT_OK(vkr_gpu_attn_softmax_bwd(s, p, nn_all(&by), nn_all(&bdy), nn_all(&bdx)));
    nn_run(s);
    nn_get(dev, &by, got, n * 4);
    nn_assert_close(got, y_ref, n, 1e-10, "attn_softmax fwd");
    /* Each row sums to 1, or is all zeros when nothing is visible (and its gradient is untouched). */
    float* dx = malloc(n * sizeof(float));
    nn_get(dev, &bdx, dx, n * 4);
    uint32_t empty_rows = 0;
    for (size_t r = 0; r < rows; r++) {
        double sum = 0;
        for (uint32_t c = 0; c < p->k_len; c++) sum += got[r * p->k_len + c];
        if (sum == 0) {
            empty_rows++;
            for (uint32_t c = 0; c < p->k_len; c++) assert_true(dx[r * p->k_len + c] == dx0[r * p->k_len + c]);
        } else {
            assert_true(fabs(sum - 1.0) < 1e-4);
        }
    }
    if (mask && p->causal) assert_true(empty_rows > 0); /* the cases below are built to have some */
    nn_assert_close(dx, dx_ref, n, 1e-9, "attn_softmax bwd x2");
    vkr_buffer_destroy(dev, &bx);
    vkr_buffer_destroy(dev, &by);
    vkr_buffer_destroy(dev, &bdy);
    vkr_buffer_destroy(dev, &bdx);
    vkr_buffer_destroy(dev, &bm);
    free(x);
    free(dy);
    free(dx0);
    free(y_ref);
    free(dx_ref);
    free(got);
    free(dx);
}

static void test_attn_softmax_gpu(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    /* Left padding (batch 0) under a causal mask empties the first query rows. */
    static const int32_t mask5[2 * 5] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 0};
    vkr_attn_softmax_params p = {2, 3, 5, 5, 0.35f, true};
    check_attn(env.device, &p, mask5);
    p.causal = false;
    check_attn(env.device, &p, mask5);
    p = (vkr_attn_softmax_params){3, 1, 4, 7, 1.0f, true}; /* q_len < k_len: causal aligned to the end */
    check_attn(env.device, &p, NULL);
    p = (vkr_attn_softmax_params){1, 2, 1, 131, 0.125f, true}; /* decoding: one query sees all keys */
    check_attn(env.device, &p, NULL);
    static const int32_t mask_long[2 * 1100] = {[0] = 1, [5] = 1, [1099] = 1, [1100 + 600] = 1};
    p = (vkr_attn_softmax_params){2, 2, 3, 1100, 0.05f, false}; /* wide rows, sparse key mask */
    check_attn(env.device, &p, mask_long);
    vkr_test_close(&env);
}

static void test_softmax_errors(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    float x[4] = {0}, y[4];
    vkr_rowwise_params bad = {0, 4};
    assert_int_equal(vkr_ref_softmax(&bad, x, y), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "rows"));
    vkr_attn_softmax_params ap = {1, 0, 2, 2, 1.0f, false};
    assert_int_equal(vkr_ref_attn_softmax(&ap, x, NULL, y), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "heads"));
    vkr_buffer small = nn_buf(env.device, NULL, 12), big = nn_buf(env.device, NULL, 64);
    vkr_sequence* s = nn_seq(env.device);
    vkr_rowwise_params p = {2, 2};
    assert_int_equal(vkr_gpu_softmax(s, &p, nn_all(&small), nn_all(&big)), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "input"));
    assert_int_equal(vkr_gpu_softmax_bwd(s, &p, nn_all(&big), nn_all(&big), (vkr_range){0}),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "no buffer"));
    ap = (vkr_attn_softmax_params){1, 1, 2, 2, 1.0f, true};
    assert_int_equal(vkr_gpu_attn_softmax(s, &ap, nn_all(&big), nn_all(&small), nn_all(&big)), VKR_OK);
    ap.batch = 4;
    assert_int_equal(vkr_gpu_attn_softmax(s, &ap, nn_all(&big), nn_all(&small), nn_all(&big)),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "key_mask"));
    vkr_sequence_destroy(s);
    vkr_buffer_destroy(env.device, &small);
    vkr_buffer_destroy(env.device, &big);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_gpu),
        cmocka_unit_test(test_log_softmax_gpu),
        cmocka_unit_test(test_softmax_gradcheck),
        cmocka_unit_test(test_attn_softmax_gpu),
        cmocka_unit_test(test_softmax_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
