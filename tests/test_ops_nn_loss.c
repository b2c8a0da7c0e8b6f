/* Losses and the sum-to-scalar op: GPU against the CPU reference (loss value, and the backward
 * applied twice with an upstream gradient from a device buffer), ignore-index handling, all rows
 * ignored, bitwise determinism, finite-difference gradient checks, and argument errors. */
#include "test_ops_nn.h"

#define IGNORE (-100)

static void assert_loss_close(float gpu, float ref, const char* what) {
    if (!(fabs((double)gpu - ref) <= 1e-5 * fmax(1.0, fabs(ref))))
        fail_msg("%s: GPU loss %.9g, reference %.9g", what, gpu, ref);
}

/* Targets in [0, classes), with every fourth row (from row 1) set to `ignore`. */
static int32_t* make_targets(uint32_t rows, uint32_t classes, int32_t ignore, uint32_t seed) {
    int32_t* t = malloc(rows * sizeof *t);
    float* r = nn_rand(rows, seed, 0, 1);
    for (uint32_t i = 0; i < rows; i++) t[i] = i % 4 == 1 ? ignore : (int32_t)((uint32_t)(r[i] * classes) % classes);
    free(r);
    return t;
}

/* CE (targets != NULL) or InfoNCE on the GPU: loss, and dlogits after two backward passes from
 * dlogits0 with upstream gradient g. */
static void gpu_xent(vkr_device* dev, const vkr_xent_params* ce, const vkr_infonce_params* nce, const float* x,
                     const int32_t* targets, const float* dx0, float g, float* loss, float* dx, float* count) {
    uint32_t rows = ce ? ce->rows : nce->rows, cols = ce ? ce->classes : nce->cols;
    size_t n = (size_t)rows * cols, sn = vkr_xent_stats_floats(rows);
    vkr_buffer bx = nn_buf(dev, x, n * 4), bdx = nn_buf(dev, dx0, n * 4), bst = nn_buf(dev, NULL, sn * 4);
    vkr_buffer bl = nn_buf(dev, NULL, 4), bg = nn_buf(dev, &g, 4), bt = {0};
    if (ce) bt = nn_buf(dev, targets, rows * 4u);
    vkr_sequence* s = nn_seq(dev);
    if (ce)
        VKR_ASSERT_OK(vkr_gpu_cross_entropy(s, ce, nn_all(&bx), nn_all(&bt), nn_all(&bst), nn_all(&bl)));
    else
        VKR_ASSERT_OK(vkr_gpu_infonce(s, nce, nn_all(&bx), nn_all(&bst), nn_all(&bl)));
    for (int rep = 0; rep < 2; rep++) {
        if (ce)
            VKR_ASSERT_OK(vkr_gpu_cross_entropy_bwd(s, ce, nn_all(&bx), nn_all(&bt), nn_all(&bst), nn_all(&bg),
                                                    nn_all(&bdx)));
        else
            VKR_ASSERT_OK(vkr_gpu_infonce_bwd(s, nce, nn_all(&bx), nn_all(&bst), nn_all(&bg), nn_all(&bdx)));
    }
    nn_run(s);
    nn_get(dev, &bl, loss, 4);
    nn_get(dev, &bdx, dx, n * 4);
    float* st = malloc(sn * 4);
    nn_get(dev, &bst, st, sn * 4);
    *count = st[2 * rows];
    free(st);
    vkr_buffer* bufs[] = {&bx, &bdx, &bst, &bl, &bg, &bt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) vkr_buffer_destroy(dev, bufs[i]);
}

static void test_cross_entropy_gpu(void** state) {
    (void)state;
    static const struct {
        uint32_t rows, classes;
        int32_t ignore;
    } cases[] = {{1, 1, IGNORE}, {1, 7, IGNORE}, {5, 13, 0}, {67, 129, IGNORE}, {3, 10007, IGNORE},
                 {130, 64, 0},   {33, 1025, IGNORE}};
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        vkr_xent_params p = {cases[ci].rows, cases[ci].classes, cases[ci].ignore};
        size_t n = (size_t)p.rows * p.classes;
        float* x = nn_rand(n, 3 + (uint32_t)ci, -5, 5);
        float* dx0 = nn_rand(n, 13 + (uint32_t)ci, -1, 1);
        int32_t* t = make_targets(p.rows, p.classes, p.ignore_index, 23 + (uint32_t)ci);
        float ref_loss, loss, count, g = 0.7f;
        float* dx_ref = nn_copy(dx0, n);
        float* dx = malloc(n * 4);
        VKR_ASSERT_OK(vkr_ref_cross_entropy(&p, x, t, &ref_loss));
        for (int rep = 0; rep < 2; rep++) VKR_ASSERT_OK(vkr_ref_cross_entropy_bwd(&p, x, t, g, dx_ref));
        gpu_xent(env.device, &p, NULL, x, t, dx0, g, &loss, dx, &count);
        char what[64];
        snprintf(what, sizeof what, "cross_entropy [%u x %u]", p.rows, p.classes);
        assert_loss_close(loss, ref_loss, what);
        uint32_t counted = 0;
        for (uint32_t r = 0; r < p.rows; r++) counted += t[r] != p.ignore_index;
        assert_true(count == (float)counted);
        nn_assert_close(dx, dx_ref, n, 1e-9, what);
        /* Ignored rows keep their gradient untouched. */
        for (uint32_t r = 0; r < p.rows; r++)
            if (t[r] == p.ignore_index)
                assert_memory_equal(dx + (size_t)r * p.classes, dx0 + (size_t)r * p.classes, p.classes * 4);
        free(x);
        free(dx0);
        free(t);
        free(dx_ref);
        free(dx);
    }
    vkr_test_close(&env);
}

/* All rows ignored: loss 0 and no gradient, never NaN. A GPU target out of range counts as ignored
 * (the CPU path rejects it). */
static void test_cross_entropy_ignored_gpu(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_xent_params p = {6, 5, IGNORE};
    float* x = nn_rand(30, 1, -3, 3);
    float* dx0 = nn_rand(30, 2, -1, 1);
    float dx[30], loss, count;
    int32_t all_ignored[6] = {IGNORE, IGNORE, IGNORE, IGNORE, IGNORE, IGNORE};
    gpu_xent(env.device, &p, NULL, x, all_ignored, dx0, 1.0f, &loss, dx, &count);
    assert_true(loss == 0.0f);
    assert_true(count == 0.0f);
    assert_memory_equal(dx, dx0, sizeof dx);
    float ref_loss;
    VKR_ASSERT_OK(vkr_ref_cross_entropy(&p, x, all_ignored, &ref_loss));
    assert_true(ref_loss == 0.0f);

    int32_t wild[6] = {1, 5, -7, 4, IGNORE, 0};  /* 5 and -7 are out of range */
    int32_t tamed[6] = {1, IGNORE, IGNORE, 4, IGNORE, 0};
    assert_int_equal(vkr_ref_cross_entropy(&p, x, wild, &ref_loss), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "targets[1] = 5"));
    float* dx_ref = nn_copy(dx0, 30);
    VKR_ASSERT_OK(vkr_ref_cross_entropy(&p, x, tamed, &ref_loss));
    for (int rep = 0; rep < 2; rep++) VKR_ASSERT_OK(vkr_ref_cross_entropy_bwd(&p, x, tamed, 1.0f, dx_ref));
    gpu_xent(env.device, &p, NULL, x, wild, dx0, 1.0f, &loss, dx, &count);
    assert_loss_close(loss, ref_loss, "cross_entropy, out-of-range targets");
    assert_true(count == 3.0f);
    nn_assert_close(dx, dx_ref, 30, 1e-9, "cross_entropy bwd, out-of-range targets");
    free(x);
    free(dx0);
    free(dx_ref);
    vkr_test_close(&env);
}

static void test_infonce_gpu(void** state) {
    (void)state;
    static const vkr_infonce_params cases[] = {{1, 1, 0.1f}, {5, 9, 0.07f}, {64, 64, 0.2f}, {7, 1300, 1.0f}};
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const vkr_infonce_params* p = &cases[ci];
        size_t n = (size_t)p->rows * p->cols;
        float* x = nn_rand(n, 50 + (uint32_t)ci, -1, 1); /* cosine-like similarities */
        float* dx0 = nn_rand(n, 60 + (uint32_t)ci, -1, 1);
        float* dx_ref = nn_copy(dx0, n);
        float* dx = malloc(n * 4);
        float ref_loss, loss, count, g = 1.3f;
        VKR_ASSERT_OK(vkr_ref_infonce(p, x, &ref_loss));
        for (int rep = 0; rep < 2; rep++) VKR_ASSERT_OK(vkr_ref_infonce_bwd(p, x, g, dx_ref));
        gpu_xent(env.device, NULL, p, x, NULL, dx0, g, &loss, dx, &count);
        char what[64];
        snprintf(what, sizeof what, "infonce [%u x %u]", p->rows, p->cols);
        assert_loss_close(loss, ref_loss, what);
        assert_true(count == (float)p->rows);
        nn_assert_close(dx, dx_ref, n, 1e-9, what);
        free(x);
        free(dx0);
        free(dx_ref);
        free(dx);
    }
    vkr_test_close(&env);
}

/* Pointwise losses: 0 BCE, 1 BPR, 2 MSE. */
static vkr_status ref_pw(int kind, const vkr_pointwise_loss_params* p, const float* a, const float* b, float* loss) {
    if (kind == 0) return vkr_ref_bce_logits(p, a, b, loss);
    if (kind == 1) return vkr_ref_bpr(p, a, b, loss);
    return vkr_ref_mse(p, a, b, loss);
}

static vkr_status ref_pw_bwd(int kind, const vkr_pointwise_loss_params* p, const float* a, const float* b, float g,
                             float* da, float* db) {
    if (kind == 0) return vkr_ref_bce_logits_bwd(p, a, b, g, da);
    if (kind == 1) return vkr_ref_bpr_bwd(p, a, b, g, da, db);
    return vkr_ref_mse_bwd(p, a, b, g, da);
}

static const char* const pw_names[] = {"bce_logits", "bpr", "mse"};

/* Inputs for kind: BCE logits up to +-40 (stability) with hard and soft targets; BPR scores; MSE. */
static void pw_inputs(int kind, uint32_t n, uint32_t seed, float** a, float** b) {
    *a = nn_rand(n, seed, kind == 0 ? -40.0f : -4.0f, kind == 0 ? 40.0f : 4.0f);
    *b = nn_rand(n, seed + 1, kind == 0 ? 0.0f : -4.0f, kind == 0 ? 1.0f : 4.0f);
    if (kind == 0) {
        for (uint32_t i = 0; i < n; i += 3) (*b)[i] = (float)(i % 2); /* hard labels too */
        for (uint32_t i = 1; i < n; i += 5) (*b)[i] = -1.0f;          /* ignored pairs (padding) */
    }
}

static void test_pointwise_losses_gpu(void** state) {
    (void)state;
    static const uint32_t sizes[] = {1, 7, 1000, 65537};
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_device* dev = env.device;
    for (int kind = 0; kind < 3; kind++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            vkr_pointwise_loss_params p = {sizes[si]};
            uint32_t n = p.n;
            float *a, *b;
            pw_inputs(kind, n, 70 + 10 * (uint32_t)si + (uint32_t)kind, &a, &b);
            float* da0 = nn_rand(n, 5, -1, 1);
            float* db0 = nn_rand(n, 6, -1, 1);
            float *da_ref = nn_copy(da0, n), *db_ref = nn_copy(db0, n);
            float ref_loss, loss, g = -0.6f;
            VKR_ASSERT_OK(ref_pw(kind, &p, a, b, &ref_loss));
            for (int rep = 0; rep < 2; rep++) VKR_ASSERT_OK(ref_pw_bwd(kind, &p, a, b, g, da_ref, db_ref));
            for (uint32_t i = 0; kind == 0 && i < n; i++)
                if (b[i] < 0) assert_true(da_ref[i] == da0[i]); /* ignored pairs pass no gradient */

            vkr_buffer ba = nn_buf(dev, a, n * 4u), bb = nn_buf(dev, b, n * 4u), bl = nn_buf(dev, NULL, 4);
            vkr_buffer bg = nn_buf(dev, &g, 4), bda = nn_buf(dev, da0, n * 4u), bdb = nn_buf(dev, db0, n * 4u);
            vkr_range ra = nn_all(&ba), rb = nn_all(&bb), rl = nn_all(&bl), rg = nn_all(&bg), rda = nn_all(&bda),
                      rdb = nn_all(&bdb);
            vkr_sequence* s = nn_seq(dev);
            if (kind == 0) VKR_ASSERT_OK(vkr_gpu_bce_logits(s, &p, ra, rb, rl));
            if (kind == 1) VKR_ASSERT_OK(vkr_gpu_bpr(s, &p, ra, rb, rl));
            if (kind == 2) VKR_ASSERT_OK(vkr_gpu_mse(s, &p, ra, rb, rl));
            for (int rep = 0; rep < 2; rep++) {
                if (kind == 0) VKR_ASSERT_OK(vkr_gpu_bce_logits_bwd(s, &p, ra, rb, rg, rda));
                if (kind == 1) VKR_ASSERT_OK(vkr_gpu_bpr_bwd(s, &p, ra, rb, rg, rda, rdb));
                if (kind == 2) VKR_ASSERT_OK(vkr_gpu_mse_bwd(s, &p, ra, rb, rg, rda));
            }
            nn_run(s);
            char what[64];
            snprintf(what, sizeof what, "%s n=%u", pw_names[kind], n);
            nn_get(dev, &bl, &loss, 4);
            assert_loss_close(loss, ref_loss, what);
            float* got = malloc(n * 4u);
            nn_get(dev, &bda, got, n * 4u);
            nn_assert_close(got, da_ref, n, 1e-9, what);
            nn_get(dev, &bdb, got, n * 4u);
            if (kind == 1) nn_assert_close(got, db_ref, n, 1e-9, what);
            else assert_memory_equal(got, db0, n * 4u); /* targets get no gradient */
            vkr_buffer* bufs[] = {&ba, &bb, &bl, &bg, &bda, &bdb};
            for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) vkr_buffer_destroy(dev, bufs[i]);
            float* host[] = {a, b, da0, db0, da_ref, db_ref, got};
            for (size_t i = 0; i < sizeof host / sizeof host[0]; i++) free(host[i]);
        }
    }
    vkr_test_close(&env);
}

static void test_sum_scalar_gpu(void** state) {
    (void)state;
    static const uint32_t sizes[] = {1, 255, 1000, 100003};
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        vkr_sum_params p = {sizes[si], 1.0f / (float)sizes[si]};
        float* x = nn_rand(p.n, 9 + (uint32_t)si, -1, 3);
        float ref, got;
        VKR_ASSERT_OK(vkr_ref_sum_scalar(&p, x, &ref));
        vkr_buffer bx = nn_buf(env.device, x, p.n * 4u), bo = nn_buf(env.device, NULL, 4);
        vkr_sequence* s = nn_seq(env.device);
        VKR_ASSERT_OK(vkr_gpu_sum_scalar(s, &p, nn_all(&bx), nn_all(&bo)));
        nn_run(s);
        nn_get(env.device, &bo, &got, 4);
        assert_loss_close(got, ref, "sum_scalar");
        vkr_buffer_destroy(env.device, &bx);
        vkr_buffer_destroy(env.device, &bo);
        free(x);
    }
    vkr_test_close(&env);
}

/* The same recorded losses give bitwise identical results on every replay. */
static void test_losses_deterministic(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_device* dev = env.device;
    vkr_xent_params p = {300, 517, IGNORE};
    size_t n = 300 * 517;
    float* x = nn_rand(n, 77, -8, 8);
    int32_t* t = make_targets(300, 517, IGNORE, 78);
    float g = 1.0f;
    vkr_buffer bx = nn_buf(dev, x, n * 4), bt = nn_buf(dev, t, 1200), bst = nn_buf(dev, NULL, 601 * 4);
    vkr_buffer bl = nn_buf(dev, NULL, 4), bg = nn_buf(dev, &g, 4), bdx = nn_buf(dev, NULL, n * 4);
    vkr_sequence* s = nn_seq(dev);
    VKR_ASSERT_OK(vkr_sequence_fill(s, &bdx, 0, n * 4, 0));
    VKR_ASSERT_OK(vkr_gpu_cross_entropy(s, &p, nn_all(&bx), nn_all(&bt), nn_all(&bst), nn_all(&bl)));
    VKR_ASSERT_OK(
        vkr_gpu_cross_entropy_bwd(s, &p, nn_all(&bx), nn_all(&bt), nn_all(&bst), nn_all(&bg), nn_all(&bdx)));
    float loss[2];
    float* dx[2] = {malloc(n * 4), malloc(n * 4)};
    for (int run = 0; run < 2; run++) {
        VKR_ASSERT_OK(vkr_sequence_submit(s));
        nn_get(dev, &bl, &loss[run], 4);
        nn_get(dev, &bdx, dx[run], n * 4);
    }
    assert_memory_equal(&loss[0], &loss[1], 4);
    assert_memory_equal(dx[0], dx[1], n * 4);
    vkr_sequence_destroy(s);
    vkr_buffer* bufs[] = {&bx, &bt, &bst, &bl, &bg, &bdx};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) vkr_buffer_destroy(dev, bufs[i]);
    free(x);
    free(t);
    free(dx[0]);
    free(dx[1]);
    vkr_test_close(&env);
}

/* Gradient checks: L = loss itself (the backward runs with loss_grad = 1). */
typedef struct loss_ctx {
    int kind; /* 0 BCE, 1 BPR, 2 MSE, 3 CE, 4 InfoNCE */
    vkr_pointwise_loss_params pw;
    vkr_xent_params ce;
    vkr_infonce_params nce;
    float *a, *b;
    const int32_t* targets;
} loss_ctx;

static double loss_value(void* user) {
    loss_ctx* c = user;
    float loss = 0;
    if (c->kind < 3) VKR_ASSERT_OK(ref_pw(c->kind, &c->pw, c->a, c->b, &loss));
    if (c->kind == 3) VKR_ASSERT_OK(vkr_ref_cross_entropy(&c->ce, c->a, c->targets, &loss));
    if (c->kind == 4) VKR_ASSERT_OK(vkr_ref_infonce(&c->nce, c->a, &loss));
    return loss;
}

static void test_loss_gradcheck(void** state) {
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        loss_ctx c = {.kind = kind, .pw = {9}};
        pw_inputs(kind, 9, 3, &c.a, &c.b);
        if (kind == 0)
            for (int i = 0; i < 9; i++) c.a[i] *= 0.1f; /* keep the logits where the loss is not flat */
        float *da = calloc(9, 4), *db = calloc(9, 4);
        VKR_ASSERT_OK(ref_pw_bwd(kind, &c.pw, c.a, c.b, 1.0f, da, db));
        vkr_gradcheck_input in[2] = {{pw_names[kind], c.a, da, 9}, {"bpr neg", c.b, db, 9}};
        nn_gradcheck(loss_value, &c, in, kind == 1 ? 2 : 1, 1e-2);
        free(c.a);
        free(c.b);
        free(da);
        free(db);
    }
    const int32_t targets[5] = {2, IGNORE, 0, 3, 3};
    loss_ctx c = {.kind = 3, .ce = {5, 4, IGNORE}, .targets = targets};
    c.a = nn_rand(20, 8, -2, 2);
    float* da = calloc(20, 4);
    VKR_ASSERT_OK(vkr_ref_cross_entropy_bwd(&c.ce, c.a, targets, 1.0f, da));
    vkr_gradcheck_input in = {"cross_entropy", c.a, da, 20};
    nn_gradcheck(loss_value, &c, &in, 1, 1e-2);
    for (int i = 4; i < 8; i++) assert_true(da[i] == 0.0f); /* the ignored row */
    free(c.a);
    free(da);
    c = (loss_ctx){.kind = 4, .nce = {3, 5, 0.5f}};
    c.a = nn_rand(15, 9, -1, 1);
    da = calloc(15, 4);
    VKR_ASSERT_OK(vkr_ref_infonce_bwd(&c.nce, c.a, 1.0f, da));
    in = (vkr_gradcheck_input){"infonce", c.a, da, 15};
    nn_gradcheck(loss_value, &c, &in, 1, 3e-3);
    free(c.a);
    free(da);
}

static void test_loss_errors(void** state) {
    (void)state;
    float x[4] = {0}, loss;
    vkr_infonce_params nce = {3, 2, 0.1f};
    assert_int_equal(vkr_ref_infonce(&nce, x, &loss), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "cols"));
    nce = (vkr_infonce_params){2, 2, 0.0f};
    assert_int_equal(vkr_ref_infonce(&nce, x, &loss), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "temperature"));
    vkr_pointwise_loss_params pw = {0};
    assert_int_equal(vkr_ref_mse(&pw, x, x, &loss), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "n must"));
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_buffer b = nn_buf(env.device, NULL, 64);
    vkr_sequence* s = nn_seq(env.device);
    pw.n = 4;
    vkr_range whole = nn_all(&b), first = {&b, 0, 16}, second = {&b, 16, 16}, overlap = {&b, 0, 32};
    assert_int_equal(vkr_gpu_bpr_bwd(s, &pw, whole, whole, whole, first, overlap), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "overlap"));
    VKR_ASSERT_OK(vkr_gpu_bpr_bwd(s, &pw, whole, whole, whole, first, second));
    vkr_xent_params ce = {4, 4, IGNORE};
    assert_int_equal(vkr_gpu_cross_entropy(s, &ce, whole, whole, first, whole), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "stats"));
    vkr_sequence_destroy(s);
    vkr_buffer_destroy(env.device, &b);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_gpu),
        cmocka_unit_test(test_cross_entropy_ignored_gpu),
        cmocka_unit_test(test_infonce_gpu),
        cmocka_unit_test(test_pointwise_losses_gpu),
        cmocka_unit_test(test_sum_scalar_gpu),
        cmocka_unit_test(test_losses_deterministic),
        cmocka_unit_test(test_loss_gradcheck),
        cmocka_unit_test(test_loss_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
