/* Embedding lookup: the CSR inverse index, GPU against the CPU reference (forward, backward twice),
 * replay of a recorded backward with a new batch, bounds safety on bad indices, a gradient check,
 * and argument errors. */
#include "test_ops_nn.h"

static void test_csr_build(void** state) {
    (void)state;
    vkr_embedding_params p = {10, 1, 6};
    const int32_t idx[6] = {7, 2, 7, 0, 2, 7};
    int32_t csr[3 * 6 + 2];
    assert_int_equal(vkr_embedding_csr_len(6), 20);
    VKR_ASSERT_OK(vkr_embedding_csr_build(&p, idx, csr));
    const int32_t want[20] = {3,                 /* distinct ids */
                              0, 1, 3, 6, 0, 0, 0, /* offsets (count + 1 slots) */
                              0, 2, 7, 0, 0, 0,  /* ids */
                              3, 1, 4, 0, 2, 5}; /* positions grouped by id, increasing */
    assert_memory_equal(csr, want, sizeof want);
    const int32_t bad[2] = {1, 10};
    p.count = 2;
    assert_int_equal(vkr_embedding_csr_build(&p, bad, csr), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "idx[1] = 10"));
}

/* Random ids in [0, vocab) with many repeats. */
static int32_t* rand_ids(uint32_t n, uint32_t vocab, uint32_t seed) {
    int32_t* idx = malloc(n * sizeof *idx);
    float* r = nn_rand(n, seed, 0, 1);
    uint32_t hot = vocab < 5 ? vocab : vocab / 5; /* draw half of them from a small hot set */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t range = (i & 1) ? hot : vocab;
        idx[i] = (int32_t)((uint32_t)(r[i] * (float)range) % range);
    }
    free(r);
    return idx;
}

static void test_embedding_gpu(void** state) {
    (void)state;
    static const vkr_embedding_params shapes[] = {{1, 1, 1}, {7, 3, 5}, {1000, 64, 257}, {13, 130, 67}, {5, 1, 300}};
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_device* dev = env.device;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const vkr_embedding_params* p = &shapes[si];
        size_t tn = (size_t)p->vocab * p->dim, on = (size_t)p->count * p->dim, cl = vkr_embedding_csr_len(p->count);
        uint32_t seed = 7 + 5 * (uint32_t)si;
        float* table = nn_rand(tn, seed, -1, 1);
        float* dout = nn_rand(on, seed + 1, -1, 1);
        float* dt0 = nn_rand(tn, seed + 2, -1, 1);
        int32_t* idx = rand_ids(p->count, p->vocab, seed + 3);
        int32_t* csr = malloc(cl * sizeof *csr);
        VKR_ASSERT_OK(vkr_embedding_csr_build(p, idx, csr));
        float *out = malloc(on * 4), *dt = nn_copy(dt0, tn);
        VKR_ASSERT_OK(vkr_ref_embedding(p, table, idx, out));
        for (int rep = 0; rep < 2; rep++) VKR_ASSERT_OK(vkr_ref_embedding_bwd(p, idx, dout, dt));

        vkr_buffer bt = nn_buf(dev, table, tn * 4), bi = nn_buf(dev, idx, p->count * 4u);
        vkr_buffer bo = nn_buf(dev, NULL, on * 4), bc = nn_buf(dev, csr, cl * 4);
        vkr_buffer bdo = nn_buf(dev, dout, on * 4), bdt = nn_buf(dev, dt0, tn * 4);
        vkr_sequence* s = nn_seq(dev);
        VKR_ASSERT_OK(vkr_gpu_embedding(s, p, nn_all(&bt), nn_all(&bi), nn_all(&bo)));
        for (int rep = 0; rep < 2; rep++)
            VKR_ASSERT_OK(vkr_gpu_embedding_bwd(s, p, nn_all(&bc), nn_all(&bdo), nn_all(&bdt)));
        nn_run(s);
        float* got = malloc((on > tn ? on : tn) * 4);
        nn_get(dev, &bo, got, on * 4);
        assert_memory_equal(got, out, on * 4); /* a gather is exact */
        nn_get(dev, &bdt, got, tn * 4);
        nn_assert_close(got, dt, tn, 1e-12, "embedding dtable x2");
        vkr_buffer* bufs[] = {&bt, &bi, &bo, &bc, &bdo, &bdt};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) vkr_buffer_destroy(dev, bufs[i]);
        free(table);
        free(dout);
        free(dt0);
        free(idx);
        free(csr);
        free(out);
        free(dt);
        free(got);
    }
    vkr_test_close(&env);
}

/* A backward recorded once replays correctly after a new batch (another set of distinct ids) is
 * uploaded: the CSR layout depends on count only. */
static void test_embedding_bwd_replay(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_device* dev = env.device;
    vkr_embedding_params p = {50, 9, 40};
    size_t tn = 450, on = 360, cl = vkr_embedding_csr_len(40);
    float* dout = nn_rand(on, 3, -1, 1);
    int32_t* csr = malloc(cl * sizeof *csr);
    vkr_buffer bc = nn_buf(dev, NULL, cl * 4), bdo = nn_buf(dev, dout, on * 4), bdt = nn_buf(dev, NULL, tn * 4);
    vkr_sequence* s = nn_seq(dev);
    VKR_ASSERT_OK(vkr_sequence_fill(s, &bdt, 0, tn * 4, 0));
    VKR_ASSERT_OK(vkr_gpu_embedding_bwd(s, &p, nn_all(&bc), nn_all(&bdo), nn_all(&bdt)));
    float* want = malloc(tn * 4);
    float* got = malloc(tn * 4);
    for (uint32_t batch = 0; batch < 2; batch++) {
        int32_t* idx = rand_ids(p.count, batch == 0 ? p.vocab : 3, 90 + batch);
        VKR_ASSERT_OK(vkr_embedding_csr_build(&p, idx, csr));
        VKR_ASSERT_OK(vkr_buffer_upload(dev, &bc, 0, csr, cl * 4));
        VKR_ASSERT_OK(vkr_sequence_submit(s));
        memset(want, 0, tn * 4);
        VKR_ASSERT_OK(vkr_ref_embedding_bwd(&p, idx, dout, want));
        nn_get(dev, &bdt, got, tn * 4);
        nn_assert_close(got, want, tn, 1e-12, "embedding bwd replay");
        free(idx);
    }
    vkr_sequence_destroy(s);
    vkr_buffer_destroy(dev, &bc);
    vkr_buffer_destroy(dev, &bdo);
    vkr_buffer_destroy(dev, &bdt);
    free(dout);
    free(csr);
    free(want);
    free(got);
    vkr_test_close(&env);
}

/* Out-of-range indices give zero rows in the forward; a corrupt CSR touches nothing outside its
 * valid entries (and validation stays silent). */
static void test_embedding_bad_indices_gpu(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_device* dev = env.device;
    vkr_embedding_params p = {4, 3, 4};
    float table[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    int32_t idx[4] = {1, -1, 4, 3};
    /* U too large, offsets past the end, one id out of range, one position out of range. */
    int32_t csr[14] = {99, 0, 3, 9, 4, -3, 3, 77, 2, 0, 1, 2, 1000, 3};
    float dout[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    vkr_buffer bt = nn_buf(dev, table, 48), bi = nn_buf(dev, idx, 16), bo = nn_buf(dev, NULL, 48);
    vkr_buffer bc = nn_buf(dev, csr, sizeof csr), bdo = nn_buf(dev, dout, 48), bdt = nn_buf(dev, NULL, 48);
    vkr_sequence* s = nn_seq(dev);
    VKR_ASSERT_OK(vkr_sequence_fill(s, &bdt, 0, 48, 0));
    VKR_ASSERT_OK(vkr_gpu_embedding(s, &p, nn_all(&bt), nn_all(&bi), nn_all(&bo)));
    VKR_ASSERT_OK(vkr_gpu_embedding_bwd(s, &p, nn_all(&bc), nn_all(&bdo), nn_all(&bdt)));
    nn_run(s);
    float out[12], dt[12];
    nn_get(dev, &bo, out, 48);
    const float want_out[12] = {4, 5, 6, 0, 0, 0, 0, 0, 0, 10, 11, 12};
    assert_memory_equal(out, want_out, sizeof out);
    nn_get(dev, &bdt, dt, 48);
    /* Group 0: id 3 over positions {1, 2, 1000}; 1000 is skipped -> 2 per element. Group 1: id 77
     * is skipped. Groups 2 and 3: their offsets clamp to the empty [4, 4). U = 99 clamps to count. */
    const float want_dt[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2};
    assert_memory_equal(dt, want_dt, sizeof dt);
    vkr_buffer* bufs[] = {&bt, &bi, &bo, &bc, &bdo, &bdt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) vkr_buffer_destroy(dev, bufs[i]);
    vkr_test_close(&env);
}

typedef struct emb_ctx {
    vkr_embedding_params p;
    float *table, *out;
    const int32_t* idx;
    const float* w;
} emb_ctx;

static double emb_loss(void* user) {
    emb_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_embedding(&c->p, c->table, c->idx, c->out));
    return vkr_gradcheck_dot(c->out, c->w, (size_t)c->p.count * c->p.dim);
}

static void test_embedding_gradcheck(void** state) {
    (void)state;
    const int32_t idx[5] = {2, 0, 2, 3, 2};
    emb_ctx c = {.p = {4, 3, 5}, .idx = idx};
    c.table = nn_rand(12, 1, -1, 1);
    c.out = malloc(15 * 4);
    float* w = nn_rand(15, 2, -1, 1);
    c.w = w;
    float* dt = calloc(12, 4);
    VKR_ASSERT_OK(vkr_ref_embedding_bwd(&c.p, idx, w, dt));
    vkr_gradcheck_input in = {"embedding dtable", c.table, dt, 12};
    nn_gradcheck(emb_loss, &c, &in, 1, 1e-2);
    free(c.table);
    free(c.out);
    free(w);
    free(dt);
}

static void test_embedding_errors(void** state) {
    (void)state;
    float table[4] = {0}, out[4];
    int32_t idx[2] = {0, 2};
    vkr_embedding_params p = {2, 2, 2};
    assert_int_equal(vkr_ref_embedding(&p, table, idx, out), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "idx[1]"));
    p.dim = 0;
    assert_int_equal(vkr_ref_embedding(&p, table, idx, out), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "dim"));
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_buffer b = nn_buf(env.device, NULL, 16);
    vkr_sequence* s = nn_seq(env.device);
    p = (vkr_embedding_params){2, 2, 2};
    assert_int_equal(vkr_gpu_embedding_bwd(s, &p, nn_all(&b), nn_all(&b), nn_all(&b)), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "csr"));
    vkr_sequence_destroy(s);
    vkr_buffer_destroy(env.device, &b);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csr_build),
        cmocka_unit_test(test_embedding_gpu),
        cmocka_unit_test(test_embedding_bwd_replay),
        cmocka_unit_test(test_embedding_bad_indices_gpu),
        cmocka_unit_test(test_embedding_gradcheck),
        cmocka_unit_test(test_embedding_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
