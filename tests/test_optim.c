/* Optimizers: N replays of one recorded GPU step equal N CPU reference steps (SGD, momentum, Adam,
 * AdamW; clipping on and off; two parameter groups; awkward sizes), the schedule at known steps on
 * both, deterministic clipping, non-finite gradients, resuming, and configuration errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_optim.h"
#include "vkr_test.h"

/* Sizes: one element, odd, prime, and one larger than an update grid (1024 x 256), so that the
 * grid-stride loop and many norm-pass workgroups are exercised. */
static const uint32_t k_sizes[] = {1, 257, 1031, 300007};
#define NPARAM (sizeof k_sizes / sizeof k_sizes[0])
#define PARAM_OFFSET 256 /* parameter 2 lives at this byte offset inside a larger buffer */

static vkr_optim_config base_config(vkr_optim_kind kind) {
    vkr_optim_config c = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
    c.schedule = (vkr_lr_schedule){.peak_lr = 0.05f, .min_lr = 0.001f, .warmup_steps = 2, .total_steps = 6,
                                   .decay = VKR_LR_COSINE};
    return c;
}

static void expect_close(const char* what, int step, double got, double want, double rel) {
    double err = fabs(got - want);
    if (err > rel * fabs(want) + 1e-30) fail_msg("step %d: %s is %.9g, expected %.9g", step, what, got, want);
}

static void check_scalars(const vkr_optim_scalars* g, const vkr_optim_scalars* c, int step) {
    assert_int_equal(g->step, c->step);
    expect_close("lr", step, g->lr, c->lr, 2e-6);
    /* Running products of correctly rounded multiplies: bit-identical. */
    assert_true(g->beta1_pow == c->beta1_pow);
    assert_true(g->beta2_pow == c->beta2_pow);
    expect_close("grad_norm", step, g->grad_norm, c->grad_norm, 1e-5);
    expect_close("clip_scale", step, g->clip_scale, c->clip_scale, 1e-5);
}

/* Runs `steps` replays of one recorded step on the GPU and the same steps on the CPU, with fresh
 * gradients uploaded before each replay, and compares everything. Group 1 has its own lr and decay.
 * shared: every parameter in one buffer and every gradient in another, at aligned offsets with gaps
 * (an executor's layout: the one-dispatch update); else a buffer each. */
static void run_compare_layout(const vkr_optim_config* cfg, int steps, bool shared) {
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_optim* opt;
    VKR_ASSERT_OK(vkr_optim_create(env.device, cfg, &opt));
    VKR_ASSERT_OK(vkr_optim_set_group(opt, 1, 0.5f, 0.03f));
    vkr_optim_set_one_dispatch(opt, shared); /* whatever the device's default */

    vkr_buffer pbuf[NPARAM] = {{0}}, gbuf[NPARAM] = {{0}};
    vkr_buffer *pb[NPARAM], *gb[NPARAM];
    uint64_t p_off[NPARAM], g_off[NPARAM], p_end = 0, g_end = 0;
    for (uint32_t i = 0; i < NPARAM; i++) {
        p_off[i] = shared ? p_end : i == 2 ? PARAM_OFFSET : 0;
        g_off[i] = shared ? g_end + 256 * (i % 2) : 0;
        p_end = (p_off[i] + k_sizes[i] * 4 + 64 + 255) / 256 * 256;
        g_end = (g_off[i] + k_sizes[i] * 4 + 255) / 256 * 256;
        pb[i] = shared ? &pbuf[0] : &pbuf[i];
        gb[i] = shared ? &gbuf[0] : &gbuf[i];
        if (shared) continue;
        VKR_ASSERT_OK(vkr_buffer_create(env.device, p_off[i] + k_sizes[i] * 4 + 64, VKR_MEMORY_DEVICE, &pbuf[i]));
        VKR_ASSERT_OK(vkr_buffer_create(env.device, k_sizes[i] * 4, VKR_MEMORY_DEVICE, &gbuf[i]));
    }
    if (shared) {
        VKR_ASSERT_OK(vkr_buffer_create(env.device, p_end, VKR_MEMORY_DEVICE, &pbuf[0]));
        VKR_ASSERT_OK(vkr_buffer_create(env.device, g_end, VKR_MEMORY_DEVICE, &gbuf[0]));
    }
    float *p[NPARAM], *g[NPARAM], *m[NPARAM], *v[NPARAM];
    for (uint32_t i = 0; i < NPARAM; i++) {
        uint32_t n = k_sizes[i];
        p[i] = malloc(n * 4);
        g[i] = malloc(n * 4);
        m[i] = calloc(n, 4);
        v[i] = calloc(n, 4);
        vkr_test_fill_random(p[i], n, 100 + i);
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, pb[i], p_off[i], p[i], n * 4));
        uint32_t index;
        VKR_ASSERT_OK(vkr_optim_add_param(opt, (vkr_range){pb[i], p_off[i], n * 4}, (vkr_range){gb[i], g_off[i], n * 4},
                                          n, i % 2, &index));
        assert_int_equal(index, i);
    }
    vkr_sequence* seq;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_optim_step(seq, opt));

    vkr_optim_scalars cs = vkr_optim_scalars_init(), gs;
    const float lr_mult[2] = {1.0f, 0.5f}, wd[2] = {cfg->weight_decay, 0.03f};
    uint64_t counts[NPARAM];
    for (uint32_t i = 0; i < NPARAM; i++) counts[i] = k_sizes[i];
    for (int s = 1; s <= steps; s++) {
        for (uint32_t i = 0; i < NPARAM; i++) {
            vkr_test_fill_random(g[i], k_sizes[i], 1000u * (uint32_t)s + i);
            VKR_ASSERT_OK(vkr_buffer_upload(env.device, gb[i], g_off[i], g[i], k_sizes[i] * 4));
        }
        VKR_ASSERT_OK(vkr_sequence_submit(seq));
        vkr_optim_cpu_tick(cfg, &cs);
        vkr_optim_cpu_clip(cfg, &cs, NPARAM, (const float* const*)g, counts);
        for (uint32_t i = 0; i < NPARAM; i++)
            vkr_optim_cpu_update(cfg, &cs, lr_mult[i % 2], wd[i % 2], p[i], g[i], m[i], v[i], k_sizes[i]);
        VKR_ASSERT_OK(vkr_optim_read_scalars(opt, &gs));
        check_scalars(&gs, &cs, s);
        if (cfg->clip_norm > 0) assert_true(gs.clip_scale < 1.0f); /* the test exercises actual clipping */
    }
    for (uint32_t i = 0; i < NPARAM; i++) {
        uint32_t n = k_sizes[i];
        float* got = malloc(n * 4);
        VKR_ASSERT_OK(vkr_buffer_download(env.device, pb[i], p_off[i], got, n * 4));
        double e = vkr_test_nmse(got, p[i], n);
        if (e > 1e-12) fail_msg("param %u (%u values): NMSE %g", i, n, e);
        for (uint32_t k = 0; k < 2; k++) {
            vkr_range mr = vkr_optim_moment(opt, i, k);
            float* want = k == 0 ? m[i] : v[i];
            bool used = cfg->kind != VKR_OPTIM_SGD || (k == 0 && cfg->momentum > 0);
            assert_int_equal(mr.buffer != NULL, used);
            if (!mr.buffer) continue;
            VKR_ASSERT_OK(vkr_buffer_download(env.device, mr.buffer, mr.offset, got, n * 4));
            e = vkr_test_nmse(got, want, n);
            if (e > 1e-12) fail_msg("param %u moment %u: NMSE %g", i, k, e);
        }
        free(got);
        free(p[i]);
        free(g[i]);
        free(m[i]);
        free(v[i]);
    }
    vkr_sequence_destroy(seq);
    vkr_optim_destroy(opt);
    for (uint32_t i = 0; i < NPARAM; i++) {
        vkr_buffer_destroy(env.device, &pbuf[i]);
        vkr_buffer_destroy(env.device, &gbuf[i]);
    }
    vkr_test_close(&env);
}

static void run_compare(const vkr_optim_config* cfg, int steps) {
    run_compare_layout(cfg, steps, false);
    run_compare_layout(cfg, steps, true);
}

static void test_sgd(void** state) {
    (void)state;
    vkr_optim_config c = base_config(VKR_OPTIM_SGD);
    run_compare(&c, 5);
}

static void test_sgd_momentum_clip(void** state) {
    (void)state;
    vkr_optim_config c = base_config(VKR_OPTIM_SGD);
    c.momentum = 0.9f;
    c.clip_norm = 5.0f;
    c.schedule.decay = VKR_LR_LINEAR;
    run_compare(&c, 6);
}

static void test_adam(void** state) {
    (void)state;
    vkr_optim_config c = base_config(VKR_OPTIM_ADAM);
    run_compare(&c, 6);
}

static void test_adamw_clip(void** state) {
    (void)state;
    vkr_optim_config c = base_config(VKR_OPTIM_ADAMW);
    c.clip_norm = 3.0f;
    c.schedule.total_steps = 4; /* runs past the end of the decay */
    run_compare(&c, 7);
}

static void test_schedule_cpu(void** state) {
    (void)state;
    vkr_lr_schedule s = {.peak_lr = 1e-3f, .min_lr = 1e-5f, .warmup_steps = 10, .total_steps = 110,
                         .decay = VKR_LR_COSINE};
    expect_close("warm-up 1", 1, vkr_lr_at(&s, 1), 1e-4, 1e-6);
    expect_close("warm-up 5", 5, vkr_lr_at(&s, 5), 5e-4, 1e-6);
    assert_true(vkr_lr_at(&s, 10) == 1e-3f);
    expect_close("cosine midpoint", 60, vkr_lr_at(&s, 60), (1e-3 + 1e-5) / 2, 1e-6);
    expect_close("cosine quarter", 35, vkr_lr_at(&s, 35), 1e-5 + (1e-3 - 1e-5) * (1 + cos(3.14159265358979323846 / 4)) / 2, 1e-6);
    assert_true(vkr_lr_at(&s, 110) == 1e-5f);
    assert_true(vkr_lr_at(&s, 1000) == 1e-5f);
    s.decay = VKR_LR_LINEAR;
    expect_close("linear quarter", 35, vkr_lr_at(&s, 35), 1e-5 + (1e-3 - 1e-5) * 0.75, 1e-6);
    s.decay = VKR_LR_CONSTANT;
    expect_close("warm-up 5", 5, vkr_lr_at(&s, 5), 5e-4, 1e-6);
    assert_true(vkr_lr_at(&s, 5000) == 1e-3f);
    s.warmup_steps = 0;
    assert_true(vkr_lr_at(&s, 1) == 1e-3f);
}

/* The tick kernel alone, replayed past the end of each schedule. */
static void test_schedule_gpu(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (int decay = VKR_LR_CONSTANT; decay <= VKR_LR_LINEAR; decay++) {
        vkr_optim_config c = base_config(VKR_OPTIM_ADAM);
        c.schedule = (vkr_lr_schedule){.peak_lr = 3e-3f, .min_lr = 1e-4f, .warmup_steps = 7, .total_steps = 37,
                                       .decay = (vkr_lr_decay)decay};
        vkr_optim* opt;
        VKR_ASSERT_OK(vkr_optim_create(env.device, &c, &opt));
        vkr_sequence* seq;
        VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
        VKR_ASSERT_OK(vkr_gpu_optim_tick(seq, opt));
        vkr_optim_scalars cs = vkr_optim_scalars_init(), gs;
        for (int t = 1; t <= 41; t++) {
            VKR_ASSERT_OK(vkr_sequence_submit(seq));
            vkr_optim_cpu_tick(&c, &cs);
            VKR_ASSERT_OK(vkr_optim_read_scalars(opt, &gs));
            check_scalars(&gs, &cs, t);
        }
        vkr_sequence_destroy(seq);
        vkr_optim_destroy(opt);
    }
    vkr_test_close(&env);
}

/* Clipping is bitwise reproducible run to run, matches a double-precision norm, and a non-finite
 * gradient yields scale 0 (plain SGD without decay then leaves the parameter untouched). */
static void test_clip(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_optim_config c = base_config(VKR_OPTIM_SGD);
    c.weight_decay = 0.0f;
    c.clip_norm = 1.0f;
    const uint32_t n = 300007;
    vkr_optim* opt;
    VKR_ASSERT_OK(vkr_optim_create(env.device, &c, &opt));
    vkr_buffer pb, gb;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, n * 4, VKR_MEMORY_DEVICE, &pb));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, n * 4, VKR_MEMORY_DEVICE, &gb));
    float* p = malloc(n * 4);
    float* g = malloc(n * 4);
    float* got = malloc(n * 4);
    vkr_test_fill_random(p, n, 5);
    vkr_test_fill_random(g, n, 6);
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &pb, 0, p, n * 4));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &gb, 0, g, n * 4));
    VKR_ASSERT_OK(vkr_optim_add_param(opt, vkr_range_whole(&pb), vkr_range_whole(&gb), n, 0, NULL));
    vkr_sequence* seq;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_optim_tick(seq, opt));
    VKR_ASSERT_OK(vkr_gpu_optim_clip(seq, opt));
    vkr_optim_scalars first, again, cs = vkr_optim_scalars_init();
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_optim_read_scalars(opt, &first));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_optim_read_scalars(opt, &again));
    assert_memory_equal(&first.grad_norm, &again.grad_norm, sizeof(float));
    assert_memory_equal(&first.clip_scale, &again.clip_scale, sizeof(float));
    vkr_optim_cpu_tick(&c, &cs);
    const float* grads[1] = {g};
    const uint64_t counts[1] = {n};
    vkr_optim_cpu_clip(&c, &cs, 1, grads, counts);
    expect_close("norm", 1, first.grad_norm, cs.grad_norm, 1e-5);
    expect_close("scale", 1, first.clip_scale, cs.clip_scale, 1e-5);
    expect_close("norm vs sqrt(n/3)", 1, first.grad_norm, sqrt(n / 3.0), 0.01); /* U[-1,1) has E[x^2] = 1/3 */

    /* A NaN gradient element: scale 0, so the update is a no-op. */
    vkr_sequence* full;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &full));
    VKR_ASSERT_OK(vkr_gpu_optim_step(full, opt));
    g[n / 2] = NAN;
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &gb, 0, g, n * 4));
    VKR_ASSERT_OK(vkr_sequence_submit(full));
    VKR_ASSERT_OK(vkr_optim_read_scalars(opt, &first));
    assert_true(isnan(first.grad_norm));
    assert_true(first.clip_scale == 0.0f);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &pb, 0, got, n * 4));
    assert_memory_equal(got, p, n * 4);
    free(p);
    free(g);
    free(got);
    vkr_sequence_destroy(seq);
    vkr_sequence_destroy(full);
    vkr_optim_destroy(opt);
    vkr_test_close(&env);
}

/* set_step puts the device state where k ticks would have; reset zeroes moments and the step. */
static void test_resume_and_reset(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_optim_config c = base_config(VKR_OPTIM_ADAMW);
    vkr_optim* opt;
    VKR_ASSERT_OK(vkr_optim_create(env.device, &c, &opt));
    vkr_buffer pb, gb;
    const uint32_t n = 37;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, n * 4, VKR_MEMORY_DEVICE, &pb));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, n * 4, VKR_MEMORY_DEVICE, &gb));
    float ones[37];
    for (uint32_t i = 0; i < n; i++) ones[i] = 1.0f;
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &pb, 0, ones, sizeof ones));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &gb, 0, ones, sizeof ones));
    VKR_ASSERT_OK(vkr_optim_add_param(opt, vkr_range_whole(&pb), vkr_range_whole(&gb), n, 0, NULL));
    vkr_sequence* seq;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_optim_step(seq, opt));

    VKR_ASSERT_OK(vkr_optim_set_step(opt, 50));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    vkr_optim_scalars cs = vkr_optim_scalars_init(), gs;
    for (int t = 0; t < 51; t++) vkr_optim_cpu_tick(&c, &cs);
    VKR_ASSERT_OK(vkr_optim_read_scalars(opt, &gs));
    check_scalars(&gs, &cs, 51);
    float m[37];
    vkr_range m0 = vkr_optim_moment(opt, 0, 0), v0 = vkr_optim_moment(opt, 0, 1);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, m0.buffer, m0.offset, m, sizeof m));
    assert_true(m[0] != 0.0f);

    VKR_ASSERT_OK(vkr_optim_reset(opt));
    VKR_ASSERT_OK(vkr_optim_read_scalars(opt, &gs));
    assert_int_equal(gs.step, 0);
    assert_true(gs.beta1_pow == 1.0f && gs.clip_scale == 1.0f);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, v0.buffer, v0.offset, m, sizeof m));
    for (uint32_t i = 0; i < n; i++) assert_true(m[i] == 0.0f);
    vkr_sequence_destroy(seq);
    vkr_optim_destroy(opt);
    vkr_test_close(&env);
}

static void expect_config_error(const vkr_optim_config* c, const char* expect) {
    assert_int_equal(vkr_optim_config_check(c), VKR_ERR_INVALID_ARGUMENT);
    if (!strstr(vkr_last_error(), expect)) fail_msg("message '%s' lacks '%s'", vkr_last_error(), expect);
}

static void test_config_errors(void** state) {
    (void)state;
    vkr_optim_config c = base_config(VKR_OPTIM_ADAM);
    VKR_ASSERT_OK(vkr_optim_config_check(&c));
    c.beta2 = 1.0f;
    expect_config_error(&c, "beta2 1 must be in [0, 1)");
    c = base_config(VKR_OPTIM_ADAM);
    c.eps = 0.0f;
    expect_config_error(&c, "eps 0 must be positive");
    c = base_config(VKR_OPTIM_SGD);
    c.momentum = -0.5f;
    expect_config_error(&c, "momentum -0.5");
    c = base_config(VKR_OPTIM_SGD);
    c.schedule.total_steps = 2;
    expect_config_error(&c, "total_steps (2) > warmup_steps (2)");
    c = base_config(VKR_OPTIM_SGD);
    c.clip_norm = -1.0f;
    expect_config_error(&c, "clip_norm -1");
    c = base_config(VKR_OPTIM_SGD);
    c.schedule.peak_lr = NAN;
    expect_config_error(&c, "peak_lr");
    c = base_config(VKR_OPTIM_SGD);
    c.kind = (vkr_optim_kind)7;
    expect_config_error(&c, "kind 7");

    vkr_test_env env;
    vkr_test_open(&env, NULL);
    c = base_config(VKR_OPTIM_SGD);
    vkr_optim* opt = (vkr_optim*)1;
    c.weight_decay = -1.0f;
    assert_int_equal(vkr_optim_create(env.device, &c, &opt), VKR_ERR_INVALID_ARGUMENT);
    assert_null(opt);
    c.weight_decay = 0.0f;
    VKR_ASSERT_OK(vkr_optim_create(env.device, &c, &opt));
    vkr_buffer small;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 64, VKR_MEMORY_DEVICE, &small));
    assert_int_equal(vkr_optim_add_param(opt, vkr_range_whole(&small), vkr_range_whole(&small), 17, 0, NULL),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "param range (offset 0, 64 bytes) does not hold 17 floats"));
    assert_int_equal(vkr_optim_add_param(opt, vkr_range_whole(&small), vkr_range_whole(&small), 4, 16, NULL),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_optim_set_group(opt, 0, -1.0f, 0.0f), VKR_ERR_INVALID_ARGUMENT);
    vkr_sequence* seq;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    assert_int_equal(vkr_gpu_optim_update(seq, opt, 0), VKR_ERR_INVALID_ARGUMENT);
    vkr_sequence_destroy(seq);
    vkr_optim_destroy(opt);
    vkr_test_close(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_cpu), cmocka_unit_test(test_schedule_gpu),
        cmocka_unit_test(test_sgd),          cmocka_unit_test(test_sgd_momentum_clip),
        cmocka_unit_test(test_adam),         cmocka_unit_test(test_adamw_clip),
        cmocka_unit_test(test_clip),         cmocka_unit_test(test_resume_and_reset),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
