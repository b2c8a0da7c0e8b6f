/* Layer norm: GPU against the CPU reference on awkward shapes (forward with saved stats, backward
 * applied twice for dx, dgamma, dbeta), a finite-difference check of x, gamma and beta gradients,
 * and argument errors. */
#include "test_ops_nn.h"

typedef struct shape2 {
    uint32_t rows, cols;
} shape2;

static const shape2 shapes[] = {{1, 1},   {1, 7},     {3, 1},   {5, 13},  {67, 129},
                                {2, 10007}, {130, 64}, {1, 1025}, {9, 33}, {300, 40}};

static void test_layernorm_gpu(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        vkr_layernorm_params p = {shapes[si].rows, shapes[si].cols, 1e-5f};
        size_t n = (size_t)p.rows * p.cols, c = p.cols, r = p.rows;
        uint32_t seed = 100 + 10 * (uint32_t)si;
        float* x = nn_rand(n, seed, -3, 5);
        float* gamma = nn_rand(c, seed + 1, 0.5f, 1.5f);
        float* beta = nn_rand(c, seed + 2, -1, 1);
        float* dy = nn_rand(n, seed + 3, -1, 1);
        float* dx0 = nn_rand(n, seed + 4, -1, 1);
        float* dg0 = nn_rand(c, seed + 5, -1, 1);
        float* db0 = nn_rand(c, seed + 6, -1, 1);
        float *y = malloc(n * 4), *st = malloc(2 * r * 4);
        float *dx = nn_copy(dx0, n), *dg = nn_copy(dg0, c), *db = nn_copy(db0, c);
        VKR_ASSERT_OK(vkr_ref_layernorm(&p, x, gamma, beta, y, st));
        for (int rep = 0; rep < 2; rep++) VKR_ASSERT_OK(vkr_ref_layernorm_bwd(&p, x, gamma, st, dy, dx, dg, db));

        vkr_device* dev = env.device;
        vkr_buffer bx = nn_buf(dev, x, n * 4), bg = nn_buf(dev, gamma, c * 4), bb = nn_buf(dev, beta, c * 4);
        vkr_buffer by = nn_buf(dev, NULL, n * 4), bst = nn_buf(dev, NULL, 2 * r * 4), bdy = nn_buf(dev, dy, n * 4);
        vkr_buffer bdx = nn_buf(dev, dx0, n * 4), bdg = nn_buf(dev, dg0, c * 4), bdb = nn_buf(dev, db0, c * 4);
        vkr_sequence* s = nn_seq(dev);
        VKR_ASSERT_OK(vkr_gpu_layernorm(s, &p, nn_all(&bx), nn_all(&bg), nn_all(&bb), nn_all(&by), nn_all(&bst)));
        for (int rep = 0; rep < 2; rep++)
            VKR_ASSERT_OK(vkr_gpu_layernorm_bwd(s, &p, nn_all(&bx), nn_all(&bg), nn_all(&bst), nn_all(&bdy),
                                                nn_all(&bdx), nn_all(&bdg), nn_all(&bdb)));
        nn_run(s);
        float* got = malloc((n > 2 * r ? n : 2 * r) * 4);
        char what[64];
        nn_get(dev, &by, got, n * 4);
        snprintf(what, sizeof what, "layernorm y [%u x %u]", p.rows, p.cols);
        nn_assert_close(got, y, n, 1e-10, what);
        nn_get(dev, &bst, got, 2 * r * 4);
        snprintf(what, sizeof what, "layernorm stats [%u x %u]", p.rows, p.cols);
        nn_assert_close(got, st, 2 * r, 1e-10, what);
        nn_get(dev, &bdx, got, n * 4);
        snprintf(what, sizeof what, "layernorm dx x2 [%u x %u]", p.rows, p.cols);
        nn_assert_close(got, dx, n, 1e-8, what);
        nn_get(dev, &bdg, got, c * 4);
        snprintf(what, sizeof what, "layernorm dgamma x2 [%u x %u]", p.rows, p.cols);
        nn_assert_close(got, dg, c, 1e-9, what);
        nn_get(dev, &bdb, got, c * 4);
        snprintf(what, sizeof what, "layernorm dbeta x2 [%u x %u]", p.rows, p.cols);
        nn_assert_close(got, db, c, 1e-9, what);
        vkr_buffer* bufs[] = {&bx, &bg, &bb, &by, &bst, &bdy, &bdx, &bdg, &bdb};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) vkr_buffer_destroy(dev, bufs[i]);
        float* host[] = {x, gamma, beta, dy, dx0, dg0, db0, y, st, dx, dg, db, got};
        for (size_t i = 0; i < sizeof host / sizeof host[0]; i++) free(host[i]);
    }
    vkr_test_close(&env);
}

typedef struct ln_ctx {
    vkr_layernorm_params p;
    float *x, *gamma, *beta, *y, *stats;
    const float* w;
} ln_ctx;

static double ln_loss(void* user) {
    ln_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_layernorm(&c->p, c->x, c->gamma, c->beta, c->y, c->stats));
    return vkr_gradcheck_dot(c->y, c->w, (size_t)c->p.rows * c->p.cols);
}

static void test_layernorm_gradcheck(void** state) {
    (void)state;
    ln_ctx c = {.p = {3, 6, 1e-5f}};
    size_t n = 18, d = 6;
    c.x = nn_rand(n, 1, -2, 2);
    c.gamma = nn_rand(d, 2, 0.5f, 1.5f);
    c.beta = nn_rand(d, 3, -1, 1);
    c.y = malloc(n * 4);
    c.stats = malloc(2 * 3 * 4);
    float* w = nn_rand(n, 4, -1, 1);
    c.w = w;
    float *dx = calloc(n, 4), *dg = calloc(d, 4), *db = calloc(d, 4);
    ln_loss(&c);
    VKR_ASSERT_OK(vkr_ref_layernorm_bwd(&c.p, c.x, c.gamma, c.stats, w, dx, dg, db));
    vkr_gradcheck_input in[3] = {
        {"layernorm dx", c.x, dx, n}, {"layernorm dgamma", c.gamma, dg, d}, {"layernorm dbeta", c.beta, db, d}};
    nn_gradcheck(ln_loss, &c, in, 3, 1e-2);
    float* host[] = {c.x, c.gamma, c.beta, c.y, c.stats, w, dx, dg, db};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++) free(host[i]);
}

static void test_layernorm_errors(void** state) {
    (void)state;
    float x[4] = {0}, g[2] = {1, 1}, b[2] = {0}, y[4], st[4];
    vkr_layernorm_params p = {2, 2, 0.0f};
    assert_int_equal(vkr_ref_layernorm(&p, x, g, b, y, st), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "eps"));
    p = (vkr_layernorm_params){2, 0, 1e-5f};
    assert_int_equal(vkr_ref_layernorm(&p, x, g, b, y, st), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "cols"));
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_buffer big = nn_buf(env.device, NULL, 64), small = nn_buf(env.device, NULL, 4);
    vkr_sequence* s = nn_seq(env.device);
    p = (vkr_layernorm_params){2, 2, 1e-5f};
    assert_int_equal(vkr_gpu_layernorm(s, &p, nn_all(&big), nn_all(&big), nn_all(&big), nn_all(&big), nn_all(&small)),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "stats"));
    assert_int_equal(vkr_gpu_layernorm_bwd(s, &p, nn_all(&big), nn_all(&small), nn_all(&big), nn_all(&big),
                                           nn_all(&big), nn_all(&big), nn_all(&big)),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "gamma"));
    vkr_sequence_destroy(s);
    vkr_buffer_destroy(env.device, &big);
    vkr_buffer_destroy(env.device, &small);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm_gpu),
        cmocka_unit_test(test_layernorm_gradcheck),
        cmocka_unit_test(test_layernorm_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
