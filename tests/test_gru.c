/* GRU4Rec's encoder (vkr_gru.h): the device and the CPU backend agree on the states, the loss and every
 * gradient, the gradients match central differences, and a padded step leaves the state unchanged,
 * on awkward shapes (B 3, T 5, D 7; one row without padding, one all padding but its last step). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_test.h"

#include "vkr_exec.h"
#include "vkr_gru.h"

enum { B = 3, T = 5, D = 7 };

typedef struct gru_fixture {
    vkr_graph* g;
    vkr_tensor *x, *mask, *w, *h, *loss;
} gru_fixture;

static void gru_build(gru_fixture* f) {
    VKR_ASSERT_OK(vkr_graph_create(7, &f->g));
    f->x = vkr_graph_param_init(f->g, "x", 3, (uint32_t[]){B, T, D}, 0, VKR_INIT_XAVIER, 1.0f);
    f->mask = vkr_graph_const(f->g, "mask", VKR_F32, 3, (uint32_t[]){B, T, 1});
    f->w = vkr_graph_const(f->g, "w", VKR_F32, 3, (uint32_t[]){B, T, D});
    f->h = vkr_graph_keep(vkr_gru_encoder(f->g, "gru", f->x, f->mask, D, 0));
    vkr_tensor* s = vkr_op_mul(f->g, f->h, f->w);
    s = vkr_op_sum(f->g, vkr_op_sum(f->g, vkr_op_sum(f->g, s, -1), -2), 0);
    f->loss = vkr_graph_keep(vkr_op_reshape(f->g, s, 1, (uint32_t[]){1}));
    VKR_ASSERT_OK(vkr_graph_status(f->g));
    VKR_ASSERT_OK(vkr_graph_backward(f->g, f->loss));
}

/* Random parameters and weights; left padding: row 0 none, row 1 two steps, row 2 all but the last. */
static void gru_inputs(const gru_fixture* f, vkr_exec* ex) {
    for (uint32_t i = 0; i < vkr_graph_tensor_count(f->g); i++) {
        vkr_tensor* t = vkr_graph_tensor(f->g, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        float* v = malloc(t->numel * 4);
        vkr_test_fill_random(v, t->numel, 300 + i);
        for (uint64_t j = 0; j < t->numel; j++) v[j] *= 0.8f;
        VKR_ASSERT_OK(vkr_exec_write(ex, t, v, t->numel * 4));
        free(v);
    }
    float mask[B * T], w[B * T * D];
    const uint32_t pad[B] = {0, 2, T - 1};
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t t = 0; t < T; t++) mask[b * T + t] = t >= pad[b] ? 1.0f : 0.0f;
    vkr_test_fill_random(w, B * T * D, 11);
    VKR_ASSERT_OK(vkr_exec_write(ex, f->mask, mask, sizeof mask));
    VKR_ASSERT_OK(vkr_exec_write(ex, f->w, w, sizeof w));
}

static float gru_loss(const gru_fixture* f, vkr_exec* ex) {
    float loss;
    VKR_ASSERT_OK(vkr_exec_run(ex));
    VKR_ASSERT_OK(vkr_exec_read(ex, f->loss, &loss, 4));
    return loss;
}

/* The fixture on the CPU backend with its inputs written. */
static vkr_exec* gru_open_cpu(gru_fixture* f) {
    gru_build(f);
    vkr_exec* ex;
    VKR_ASSERT_OK(vkr_exec_create(f->g, &(vkr_exec_options){0}, &ex));
    gru_inputs(f, ex);
    return ex;
}

/* gru_loss as a vkr_test_loss_fn. */
typedef struct gru_run {
    const gru_fixture* f;
    vkr_exec* ex;
} gru_run;
static double gru_run_loss(void* user) {
    gru_run* r = user;
    return gru_loss(r->f, r->ex);
}

static void test_gru_backends_agree(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    gru_fixture f;
    gru_build(&f);
    vkr_exec *cpu, *gpu;
    VKR_ASSERT_OK(vkr_exec_create(f.g, &(vkr_exec_options){0}, &cpu));
    VKR_ASSERT_OK(vkr_exec_create(f.g, &(vkr_exec_options){.device = env.device}, &gpu));
    gru_inputs(&f, cpu), gru_inputs(&f, gpu);
    float lc = gru_loss(&f, cpu), lg = gru_loss(&f, gpu);
    assert_true(isfinite(lc));
    assert_float_equal(lc, lg, 1e-4 * (1 + fabsf(lc)));
    float hc[B * T * D], hg[B * T * D];
    VKR_ASSERT_OK(vkr_exec_read(cpu, f.h, hc, sizeof hc));
    VKR_ASSERT_OK(vkr_exec_read(gpu, f.h, hg, sizeof hg));
    assert_true(vkr_test_nmse(hg, hc, B * T * D) < 1e-10);
    /* padded steps keep the zero state: row 2 is zero until its last step, row 1 for two steps */
    for (uint32_t k = 0; k < D; k++) {
        for (uint32_t t = 0; t < T - 1; t++) assert_true(hc[(2 * T + t) * D + k] == 0.0f);
        assert_true(hc[(1 * T + 0) * D + k] == 0.0f && hc[(1 * T + 1) * D + k] == 0.0f);
    }
    uint32_t checked = 0;
    for (uint32_t i = 0; i < vkr_graph_tensor_count(f.g); i++) {
        vkr_tensor* t = vkr_graph_tensor(f.g, i);
        if (t->role != VKR_ROLE_PARAM || !t->grad) continue;
        float *gc = malloc(t->numel * 4), *gg = malloc(t->numel * 4);
        VKR_ASSERT_OK(vkr_exec_read(cpu, t->grad, gc, t->numel * 4));
        VKR_ASSERT_OK(vkr_exec_read(gpu, t->grad, gg, t->numel * 4));
        double e = vkr_test_nmse(gg, gc, t->numel);
        if (e > 1e-8) fail_msg("gradient of %s differs, NMSE %g", t->name, e);
        free(gc), free(gg);
        checked++;
    }
    assert_int_equal(checked, 4); /* x, gru.x.w, gru.x.b, gru.u */
    vkr_exec_destroy(cpu), vkr_exec_destroy(gpu);
    vkr_graph_destroy(f.g);
    vkr_test_close(&env);
}

/* A padded row's state after its real steps equals the state of the same steps run without padding. */
static void test_gru_padding_invariant(void** state) {
    (void)state;
    gru_fixture f;
    vkr_exec* ex = gru_open_cpu(&f);
    /* row 1 (padded by 2) gets row 0's first T - 2 inputs: its last state must be row 0's at step T - 3 */
    float x[B * T * D];
    VKR_ASSERT_OK(vkr_exec_read(ex, f.x, x, sizeof x));
    memcpy(x + (1 * T + 2) * D, x, sizeof(float) * (T - 2) * D);
    VKR_ASSERT_OK(vkr_exec_write(ex, f.x, x, sizeof x));
    gru_loss(&f, ex);
    float h[B * T * D];
    VKR_ASSERT_OK(vkr_exec_read(ex, f.h, h, sizeof h));
    for (uint32_t k = 0; k < D; k++) assert_float_equal(h[(1 * T + T - 1) * D + k], h[(T - 3) * D + k], 1e-6);
    vkr_exec_destroy(ex);
    vkr_graph_destroy(f.g);
}

/* Central differences against the analytic gradient of every parameter, CPU backend. */
static void test_gru_gradients(void** state) {
    (void)state;
    gru_fixture f;
    vkr_exec* ex = gru_open_cpu(&f);
    gru_loss(&f, ex);
    gru_run run = {&f, ex};
    for (uint32_t i = 0; i < vkr_graph_tensor_count(f.g); i++) {
        vkr_tensor* p = vkr_graph_tensor(f.g, i);
        if (p->role != VKR_ROLE_PARAM || !p->grad) continue;
        double num = 0, den = 0;
        vkr_test_param_fd(ex, p, gru_run_loss, &run, i % 3, p->numel > 24 ? 5 : 1, &num, &den);
        if (num > 1e-4 * (den > 1e-4 ? den : 1e-4)) fail_msg("%s: gradient error %g against %g", p->name, num, den);
    }
    vkr_exec_destroy(ex);
    vkr_graph_destroy(f.g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gru_backends_agree),
        cmocka_unit_test(test_gru_padding_invariant),
        cmocka_unit_test(test_gru_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
