/* Graph + executor: GPU against the CPU backend on composite graphs, gradients against finite
 * differences, the memory planner, replay with new inputs, sticky construction errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_exec.h"
#include "vkr_graph_ops.h"
#include "vkr_test.h"

/* A small attention block with every op kind that models use: embedding, matmul+bias, permute,
 * batched matmul, masked softmax, reshape, layernorm, gelu, dropout (off), residual add, CE. */
typedef struct block {
    vkr_graph* g;
    vkr_tensor *ids, *mask, *targets, *loss, *logits;
    vkr_tensor* params[8];
    uint32_t n_params;
} block;

enum { B = 2, T = 5, H = 2, DH = 3, D = H * DH, V = 11 };

static vkr_tensor* param(block* b, const char* name, uint32_t ndim, const uint32_t* shape) {
    vkr_tensor* t = vkr_graph_param(b->g, name, ndim, shape, 0);
    b->params[b->n_params++] = t;
    return t;
}

static void build_block(block* b) {
    memset(b, 0, sizeof *b);
    VKR_ASSERT_OK(vkr_graph_create(7, &b->g));
    vkr_graph* g = b->g;
    b->ids = vkr_graph_input(g, "ids", VKR_I32, 2, (uint32_t[]){B, T});
    b->mask = vkr_graph_input(g, "mask", VKR_I32, 2, (uint32_t[]){B, T});
    b->targets = vkr_graph_input(g, "targets", VKR_I32, 1, (uint32_t[]){B * T});
    vkr_tensor* emb = param(b, "emb", 2, (uint32_t[]){V, D});
    vkr_tensor* wqkv = param(b, "wqkv", 2, (uint32_t[]){D, 3 * D});
    vkr_tensor* bqkv = param(b, "bqkv", 1, (uint32_t[]){3 * D});
    vkr_tensor* gamma = param(b, "ln.g", 1, (uint32_t[]){D});
    vkr_tensor* beta = param(b, "ln.b", 1, (uint32_t[]){D});
    vkr_tensor* wout = param(b, "wout", 2, (uint32_t[]){D, V});
    vkr_tensor* x = vkr_op_embedding(g, emb, b->ids);                                /* [B,T,D] */
    vkr_tensor* qkv = vkr_op_matmul(g, x, wqkv, bqkv, false, false);                 /* [B,T,3D] */
    vkr_tensor* qkv5 = vkr_op_reshape(g, qkv, 4, (uint32_t[]){B * T, 3, H, DH});
    vkr_tensor* qkvp = vkr_op_permute(g, qkv5, (uint32_t[]){1, 2, 0, 3});           /* [3,H,B*T,DH] */
    vkr_tensor* q = vkr_op_reshape(g, vkr_op_slice(g, qkvp, 0, 0, 1), 4, (uint32_t[]){H, B, T, DH});
    vkr_tensor* k = vkr_op_reshape(g, vkr_op_slice(g, qkvp, 0, 1, 1), 4, (uint32_t[]){H, B, T, DH});
    vkr_tensor* v = vkr_op_reshape(g, vkr_op_slice(g, qkvp, 0, 2, 1), 4, (uint32_t[]){H, B, T, DH});
    q = vkr_op_permute(g, q, (uint32_t[]){1, 0, 2, 3}); /* [B,H,T,DH] */
    k = vkr_op_permute(g, k, (uint32_t[]){1, 0, 2, 3});
    v = vkr_op_permute(g, v, (uint32_t[]){1, 0, 2, 3});
    vkr_tensor* scores = vkr_op_matmul(g, q, k, NULL, false, true); /* [B,H,T,T] */
    vkr_tensor* probs = vkr_op_attn_softmax(g, scores, b->mask, 1.0f / sqrtf((float)DH), true);
    vkr_tensor* ctx = vkr_op_matmul(g, probs, v, NULL, false, false);           /* [B,H,T,DH] */
    ctx = vkr_op_reshape(g, vkr_op_permute(g, ctx, (uint32_t[]){0, 2, 1, 3}), 3, (uint32_t[]){B, T, D});
    vkr_tensor* h = vkr_op_add(g, x, vkr_op_dropout(g, ctx, 0.1f));
    h = vkr_op_gelu(g, vkr_op_layernorm(g, h, gamma, beta, 1e-5f));
    b->logits = vkr_op_matmul(g, vkr_op_reshape(g, h, 2, (uint32_t[]){B * T, D}), wout, NULL, false, false);
    vkr_graph_keep(b->logits);
    b->loss = vkr_op_cross_entropy(g, b->logits, b->targets, -1);
    assert_int_equal(vkr_graph_status(g), VKR_OK);
    VKR_ASSERT_OK(vkr_graph_backward(g, b->loss));
}

static void set_inputs(vkr_exec* ex, const block* b, uint32_t seed) {
    int32_t ids[B * T], mask[B * T], tg[B * T];
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)((i * 7 + seed * 3) % V);
        mask[i] = (i % T) >= (int)(seed % 2); /* left padding on odd seeds */
        tg[i] = (i % 4 == 3) ? -1 : (int32_t)((i * 5 + seed) % V);
    }
    VKR_ASSERT_OK(vkr_exec_write(ex, b->ids, ids, sizeof ids));
    VKR_ASSERT_OK(vkr_exec_write(ex, b->mask, mask, sizeof mask));
    VKR_ASSERT_OK(vkr_exec_write(ex, b->targets, tg, sizeof tg));
}

static void init_params(vkr_exec* ex, const block* b) {
    for (uint32_t i = 0; i < b->n_params; i++) {
        uint64_t n = b->params[i]->numel;
        float* w = malloc(n * 4);
        vkr_test_fill_random(w, n, 11 + i);
        if (strcmp(b->params[i]->name, "ln.g") == 0)
            for (uint64_t j = 0; j < n; j++) w[j] = 1.0f + 0.1f * w[j];
        VKR_ASSERT_OK(vkr_exec_write(ex, b->params[i], w, n * 4));
        free(w);
    }
}

static float run_loss(vkr_exec* ex, const block* b) {
    float loss = 0;
    VKR_ASSERT_OK(vkr_exec_run(ex));
    VKR_ASSERT_OK(vkr_exec_read(ex, b->loss, &loss, 4));
    return loss;
}

static void test_gpu_matches_cpu(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    block b;
    build_block(&b);
    vkr_exec *cpu = NULL, *gpu = NULL;
    VKR_ASSERT_OK(vkr_exec_create(b.g, &(vkr_exec_options){0}, &cpu));
    VKR_ASSERT_OK(vkr_exec_create(b.g, &(vkr_exec_options){.device = env.device}, &gpu));
    init_params(cpu, &b);
    init_params(gpu, &b);
    for (uint32_t step = 0; step < 3; step++) { /* replays with new inputs */
        set_inputs(cpu, &b, step);
        set_inputs(gpu, &b, step);
        float lc = run_loss(cpu, &b), lg = run_loss(gpu, &b);
        assert_true(isfinite(lc));
        assert_float_equal(lg, lc, 1e-4 * (1 + fabsf(lc)));
        float lc_logits[B * T * V], lg_logits[B * T * V];
        VKR_ASSERT_OK(vkr_exec_read(cpu, b.logits, lc_logits, sizeof lc_logits));
        VKR_ASSERT_OK(vkr_exec_read(gpu, b.logits, lg_logits, sizeof lg_logits));
        assert_true(vkr_test_nmse(lg_logits, lc_logits, B * T * V) < 1e-9);
        for (uint32_t i = 0; i < b.n_params; i++) {
            uint64_t n = b.params[i]->numel;
            float* gc = malloc(n * 4);
            float* gg = malloc(n * 4);
            VKR_ASSERT_OK(vkr_exec_read(cpu, b.params[i]->grad, gc, n * 4));
            VKR_ASSERT_OK(vkr_exec_read(gpu, b.params[i]->grad, gg, n * 4));
            double e = vkr_test_nmse(gg, gc, n);
            if (e > 1e-8) fail_msg("step %u: gradient of %s differs, NMSE %g", step, b.params[i]->name, e);
            free(gc);
            free(gg);
        }
    }
    vkr_exec_destroy(cpu);
    vkr_exec_destroy(gpu);
    vkr_graph_destroy(b.g);
    vkr_test_close(&env);
}

/* Analytic gradients of the whole block (CPU backend) against central differences. */
static void test_block_gradients_match_finite_differences(void** state) {
    (void)state;
    block b;
    build_block(&b);
    vkr_exec* ex = NULL;
    VKR_ASSERT_OK(vkr_exec_create(b.g, &(vkr_exec_options){0}, &ex));
    init_params(ex, &b);
    set_inputs(ex, &b, 1);
    run_loss(ex, &b);
    for (uint32_t i = 0; i < b.n_params; i++) {
        vkr_tensor* p = b.params[i];
        uint64_t n = p->numel;
        float* w = malloc(n * 4);
        float* grad = malloc(n * 4);
        VKR_ASSERT_OK(vkr_exec_read(ex, p, w, n * 4));
        VKR_ASSERT_OK(vkr_exec_read(ex, p->grad, grad, n * 4));
        double num = 0, den = 0;
        for (uint64_t j = 0; j < n; j += (n > 24 ? 5 : 1)) {
            const float eps = 1e-2f;
            float keep = w[j];
            w[j] = keep + eps;
            VKR_ASSERT_OK(vkr_exec_write(ex, p, w, n * 4));
            double up = run_loss(ex, &b);
            w[j] = keep - eps;
            VKR_ASSERT_OK(vkr_exec_write(ex, p, w, n * 4));
            double down = run_loss(ex, &b);
            w[j] = keep;
            VKR_ASSERT_OK(vkr_exec_write(ex, p, w, n * 4));
            double fd = (up - down) / (2.0 * eps);
            num += (fd - grad[j]) * (fd - grad[j]);
            den += fd * fd + 1e-12;
        }
        if (num / den > 1e-4) fail_msg("%s: relative gradient error %g", p->name, num / den);
        free(w);
        free(grad);
    }
    vkr_exec_destroy(ex);
    vkr_graph_destroy(b.g);
}

/* Inference over a long chain reuses memory: the arena is a small multiple of one activation. */
static void test_planner_reuses_memory(void** state) {
    (void)state;
    vkr_graph* g = NULL;
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    enum { N = 1000, L = 20 };
    vkr_tensor* x = vkr_graph_input(g, "x", VKR_F32, 1, (uint32_t[]){N});
    vkr_tensor* h = x;
    for (int i = 0; i < L; i++) h = vkr_op_tanh(g, vkr_op_scale(g, h, 1.5f));
    vkr_graph_keep(h);
    vkr_exec* ex = NULL;
    VKR_ASSERT_OK(vkr_exec_create(g, &(vkr_exec_options){0}, &ex));
    uint64_t one = 4096; /* 1000 floats, aligned */
    assert_true(vkr_exec_unplanned_bytes(ex) >= 2 * L * one);
    assert_true(vkr_exec_arena_bytes(ex) <= 3 * one);
    float in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = (float)(i - 500) / 250.0f;
    VKR_ASSERT_OK(vkr_exec_write(ex, x, in, sizeof in));
    VKR_ASSERT_OK(vkr_exec_run(ex));
    VKR_ASSERT_OK(vkr_exec_read(ex, h, out, sizeof out));
    for (int i = 0; i < N; i++) {
        float r = in[i];
        for (int l = 0; l < L; l++) r = tanhf(1.5f * r);
        assert_float_equal(out[i], r, 1e-5);
    }
    vkr_exec_destroy(ex);
    vkr_graph_destroy(g);
}

static void test_construction_errors_are_sticky(void** state) {
    (void)state;
    vkr_graph* g = NULL;
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    vkr_tensor* a = vkr_graph_input(g, "a", VKR_F32, 2, (uint32_t[]){3, 4});
    vkr_tensor* w = vkr_graph_param(g, "w", 2, (uint32_t[]){5, 6}, 0);
    vkr_tensor* y = vkr_op_matmul(g, a, w, NULL, false, false);
    assert_null(y);
    assert_int_equal(vkr_graph_status(g), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_graph_error(g), "inner dims"));
    assert_null(vkr_op_relu(g, y)); /* NULL operands propagate */
    vkr_exec* ex = NULL;
    assert_int_equal(vkr_exec_create(g, NULL, &ex), VKR_ERR_INVALID_ARGUMENT);
    assert_null(ex);
    vkr_graph_destroy(g);
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    a = vkr_graph_input(g, "a", VKR_F32, 1, (uint32_t[]){4});
    vkr_tensor* l = vkr_op_mse(g, a, a);
    assert_int_equal(vkr_graph_backward(g, l), VKR_ERR_INVALID_ARGUMENT); /* no parameter */
    vkr_graph_destroy(g);
}

/* The chunked classifier equals matmul + cross-entropy, on both backends, across chunk borders. */
static void test_linear_xent_matches_unchunked(void** state) {
    (void)state;
    enum { R = 300, DD = 8, VV = 70001 }; /* 70001 classes: 192 rows per 64 MiB chunk, so 2 chunks */
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    float* h = malloc(R * DD * 4);
    float* w = malloc((size_t)VV * DD * 4);
    int32_t tg[R];
    vkr_test_fill_random(h, R * DD, 1);
    vkr_test_fill_random(w, (size_t)VV * DD, 2);
    for (int i = 0; i < R; i++) tg[i] = i % 7 == 0 ? -100 : (int32_t)((i * 7919) % VV);
    float loss[3], *dh[3], *dw[3];
    for (int variant = 0; variant < 3; variant++) { /* 0: reference graph on CPU, 1: fused CPU, 2: fused GPU */
        vkr_graph* g = NULL;
        VKR_ASSERT_OK(vkr_graph_create(1, &g));
        vkr_tensor* th = vkr_graph_param(g, "h", 2, (uint32_t[]){R, DD}, 0);
        vkr_tensor* tw = vkr_graph_param(g, "w", 2, (uint32_t[]){VV, DD}, 0);
        vkr_tensor* tt = vkr_graph_input(g, "t", VKR_I32, 1, (uint32_t[]){R});
        vkr_tensor* l = variant == 0 ? vkr_op_cross_entropy(g, vkr_op_matmul(g, th, tw, NULL, false, true), tt, -100)
                                     : vkr_op_linear_xent(g, th, tw, tt, -100);
        VKR_ASSERT_OK(vkr_graph_backward(g, l));
        vkr_exec* ex = NULL;
        VKR_ASSERT_OK(vkr_exec_create(g, &(vkr_exec_options){.device = variant == 2 ? env.device : NULL}, &ex));
        VKR_ASSERT_OK(vkr_exec_write(ex, th, h, R * DD * 4));
        VKR_ASSERT_OK(vkr_exec_write(ex, tw, w, (size_t)VV * DD * 4));
        VKR_ASSERT_OK(vkr_exec_write(ex, tt, tg, sizeof tg));
        VKR_ASSERT_OK(vkr_exec_run(ex));
        VKR_ASSERT_OK(vkr_exec_read(ex, l, &loss[variant], 4));
        dh[variant] = malloc(R * DD * 4);
        dw[variant] = malloc((size_t)VV * DD * 4);
        VKR_ASSERT_OK(vkr_exec_read(ex, th->grad, dh[variant], R * DD * 4));
        VKR_ASSERT_OK(vkr_exec_read(ex, tw->grad, dw[variant], (size_t)VV * DD * 4));
        vkr_exec_destroy(ex);
        vkr_graph_destroy(g);
    }
    for (int v = 1; v < 3; v++) {
        assert_float_equal(loss[v], loss[0], 1e-4 * fabsf(loss[0]));
        if (vkr_test_nmse(dh[v], dh[0], R * DD) > 1e-9) fail_msg("variant %d: dh NMSE %g", v, vkr_test_nmse(dh[v], dh[0], R * DD));
        if (vkr_test_nmse(dw[v], dw[0], (size_t)VV * DD) > 1e-9)
            fail_msg("variant %d: dw NMSE %g", v, vkr_test_nmse(dw[v], dw[0], (size_t)VV * DD));
    }
    for (int v = 0; v < 3; v++) {
        free(dh[v]);
        free(dw[v]);
    }
    free(h);
    free(w);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_matches_cpu),
        cmocka_unit_test(test_block_gradients_match_finite_differences),
        cmocka_unit_test(test_planner_reuses_memory),
        cmocka_unit_test(test_construction_errors_are_sticky),
        cmocka_unit_test(test_linear_xent_matches_unchunked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
