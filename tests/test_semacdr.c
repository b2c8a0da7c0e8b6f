/* SemaCDR: its whole graph (views, InfoNCE, GCN over sparse graphs, three encoders, cross-attention,
 * adaptive fusion, BPR or the softmax loss) gives the same loss and gradients on the GPU as on the CPU backend and
 * gradients that match central differences, for every variant; training on the bundled sample gives
 * the same results on both backends and learns; bad item inputs are refused naming the item. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_test.h"

#include "vkr_exec.h"
#include "vkr_semacdr_internal.h"

enum { N_ITEMS = 9, N_TARGET = 4, N_USERS = 5, TT = 4, BB = 3, MM = 3, DD = 8, TEXT = 5, KK = 3, SUBS = 2 };

/* A small symmetric normalized graph over n nodes: a ring plus self-loops. */
static void ring_graph(uint32_t n, vkr_csr* out) {
    uint32_t src[64], dst[64], k = 0;
    for (uint32_t i = 0; i < n; i++) {
        src[k] = i, dst[k++] = i;
        src[k] = i, dst[k++] = (i + 1) % n;
        src[k] = (i + 1) % n, dst[k++] = i;
    }
    vkr_csr raw;
    VKR_ASSERT_OK(vkr_csr_from_edges(n, n, k, src, dst, NULL, &raw));
    VKR_ASSERT_OK(vkr_csr_normalize_sym(&raw, out));
    vkr_csr_free(&raw);
}

typedef struct fixture {
    vkr_semacdr_train cfg;
    vkr_semacdr_shape shape;
    vkr_semacdr_graph g;
    vkr_csr items, mixed;
} fixture;

static void fixture_build(fixture* f, unsigned variant) {
    memset(f, 0, sizeof *f);
    vkr_semacdr_train_defaults(&f->cfg);
    f->cfg.hidden = DD, f->cfg.max_len = TT, f->cfg.blocks = 1, f->cfg.dropout = 0;
    f->cfg.lambda = 0.5f, f->cfg.tau = 0.5f; /* a large lambda and tau so the InfoNCE terms weigh in */
    f->cfg.graph = variant != 1;
    f->cfg.cross_fusion = variant != 2;
    f->cfg.adaptive_fusion = variant != 3;
    f->cfg.graph_user = variant == 5;
    f->cfg.infonce_mask = variant == 0;
    f->cfg.softmax = variant == 6;
    if (variant == 4) f->cfg.views = VKR_ITEM_VIEW_ID;
    f->shape = (vkr_semacdr_shape){.items = N_ITEMS, .users = N_USERS, .target_begin = 0, .target_count = N_TARGET,
                                   .text_dim = TEXT, .categories = KK, .subcategories = SUBS, .batch = BB,
                                   .contrast = MM};
    ring_graph(N_ITEMS, &f->items);
    ring_graph(N_ITEMS + N_USERS, &f->mixed);
    f->shape.item_nnz = f->items.nnz, f->shape.mixed_nnz = f->mixed.nnz;
    VKR_ASSERT_OK(vkr_semacdr_build(&f->cfg, &f->shape, true, 7, &f->g));
}

static void fixture_free(fixture* f) {
    vkr_semacdr_graph_destroy(&f->g);
    vkr_csr_free(&f->items);
    vkr_csr_free(&f->mixed);
}

/* Inputs with padding, an empty source history (row 1) and an empty target history (row 2). */
static void fixture_inputs(const fixture* f, vkr_exec* ex) {
    const vkr_semacdr_graph* g = &f->g;
    int32_t seq[3][BB * TT] = {{0, 5, 6, 7, 0, 0, 0, 0, 9, 8, 5, 6},
                               {0, 0, 1, 2, 3, 4, 1, 2, 0, 0, 0, 0},
                               {5, 1, 6, 2, 3, 4, 1, 2, 9, 8, 5, 6}};
    int32_t mask[3][BB * TT];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < BB * TT; i++) mask[k][i] = seq[k][i] != 0;
    for (int k = 0; k < 3; k++) {
        VKR_ASSERT_OK(vkr_exec_write(ex, g->seq[k], seq[k], sizeof seq[k]));
        VKR_ASSERT_OK(vkr_exec_write(ex, g->mask[k], mask[k], sizeof mask[k]));
    }
    int32_t user[BB] = {0, 3, 4}, pos[BB] = {1, 3, 4}, neg[BB] = {2, 4, 1};
    VKR_ASSERT_OK(vkr_exec_write(ex, g->user, user, sizeof user));
    if (g->user_norm) {
        float norm[BB] = {1.0f / 5, 1.0f / 5, 1.0f / 5};
        VKR_ASSERT_OK(vkr_exec_write(ex, g->user_norm, norm, sizeof norm));
    }
    if (g->label) { /* softmax: the targets' indices among the target items (which start at item 0) */
        int32_t label[BB] = {pos[0] - 1, pos[1] - 1, pos[2] - 1};
        VKR_ASSERT_OK(vkr_exec_write(ex, g->label, label, sizeof label));
    } else {
        VKR_ASSERT_OK(vkr_exec_write(ex, g->pos, pos, sizeof pos));
        VKR_ASSERT_OK(vkr_exec_write(ex, g->neg, neg, sizeof neg));
    }
    float zero[DD] = {0};
    VKR_ASSERT_OK(vkr_exec_write(ex, g->zero_row, zero, sizeof zero));
    if (g->views.text) {
        float text[(N_ITEMS + 1) * TEXT];
        vkr_test_fill_random(text, sizeof text / 4, 5);
        VKR_ASSERT_OK(vkr_exec_write(ex, g->views.text, text, sizeof text));
        int32_t cat[N_ITEMS + 1], sub[N_ITEMS + 1];
        for (int i = 0; i <= N_ITEMS; i++) cat[i] = i % (KK + 1), sub[i] = (i * 5) % (KK * SUBS + 1);
        VKR_ASSERT_OK(vkr_exec_write(ex, g->views.cat, cat, sizeof cat));
        VKR_ASSERT_OK(vkr_exec_write(ex, g->views.sub, sub, sizeof sub));
        int32_t side[2][MM] = {{1, 3, 4}, {9, 5, 7}}, ar[MM] = {0, 1, 2};
        float cmask[MM * MM] = {0, -1e4f, 0, -1e4f, 0, 0, 0, 0, 0}; /* rows 0 and 1 share a code */
        for (int s = 0; s < 2; s++) {
            VKR_ASSERT_OK(vkr_exec_write(ex, g->contrast[s], side[s], sizeof side[s]));
            if (g->contrast_mask[s]) VKR_ASSERT_OK(vkr_exec_write(ex, g->contrast_mask[s], cmask, sizeof cmask));
        }
        VKR_ASSERT_OK(vkr_exec_write(ex, g->views.arange, ar, sizeof ar));
    }
    if (f->cfg.graph) {
        VKR_ASSERT_OK(vkr_exec_write_csr(ex, &g->item_graph, &f->items));
        VKR_ASSERT_OK(vkr_exec_write_csr(ex, &g->mixed_graph, &f->mixed));
    }
}

/* Random parameters (fusion weights and LayerNorm gains near 1 so nothing starts degenerate). */
static void fixture_params(const fixture* f, vkr_exec* ex) {
    for (uint32_t i = 0; i < vkr_graph_tensor_count(f->g.graph); i++) {
        vkr_tensor* t = vkr_graph_tensor(f->g.graph, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        float* w = malloc(t->numel * 4);
        vkr_test_fill_random(w, t->numel, 100 + i);
        bool around_one = strstr(t->name, "gamma") || strcmp(t->name, "fusion") == 0;
        for (uint64_t j = 0; j < t->numel; j++) w[j] = around_one ? 1.0f + 0.2f * w[j] : 0.5f * w[j];
        VKR_ASSERT_OK(vkr_exec_write(ex, t, w, t->numel * 4));
        free(w);
    }
}

static float fixture_loss(const fixture* f, vkr_exec* ex) {
    float loss = 0;
    VKR_ASSERT_OK(vkr_exec_run(ex));
    VKR_ASSERT_OK(vkr_exec_read(ex, f->g.loss, &loss, 4));
    return loss;
}

/* fixture_loss as a vkr_test_loss_fn. */
typedef struct fixture_run {
    const fixture* f;
    vkr_exec* ex;
} fixture_run;
static double fixture_run_loss(void* user) {
    fixture_run* r = user;
    return fixture_loss(r->f, r->ex);
}

static void test_graph_backends_agree(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    for (unsigned variant = 0; variant < 7; variant++) {
        fixture f;
        fixture_build(&f, variant);
        vkr_exec *cpu = NULL, *gpu = NULL;
        VKR_ASSERT_OK(vkr_exec_create(f.g.graph, &(vkr_exec_options){0}, &cpu));
        VKR_ASSERT_OK(vkr_exec_create(f.g.graph, &(vkr_exec_options){.device = env.device}, &gpu));
        fixture_params(&f, cpu), fixture_params(&f, gpu);
        fixture_inputs(&f, cpu), fixture_inputs(&f, gpu);
        float lc = fixture_loss(&f, cpu), lg = fixture_loss(&f, gpu);
        assert_true(isfinite(lc) && lc > 0);
        if (fabsf(lc - lg) > 1e-4f * (1 + fabsf(lc))) fail_msg("variant %u: loss %g on the CPU, %g on the GPU", variant, lc, lg);
        for (uint32_t i = 0; i < vkr_graph_tensor_count(f.g.graph); i++) {
            vkr_tensor* t = vkr_graph_tensor(f.g.graph, i);
            if (t->role != VKR_ROLE_PARAM || !t->grad) continue;
            float *gc = malloc(t->numel * 4), *gg = malloc(t->numel * 4);
            VKR_ASSERT_OK(vkr_exec_read(cpu, t->grad, gc, t->numel * 4));
            VKR_ASSERT_OK(vkr_exec_read(gpu, t->grad, gg, t->numel * 4));
            double e = vkr_test_nmse(gg, gc, t->numel);
            if (e > 1e-8) fail_msg("variant %u: gradient of %s differs, NMSE %g", variant, t->name, e);
            free(gc), free(gg);
        }
        vkr_exec_destroy(cpu), vkr_exec_destroy(gpu);
        fixture_free(&f);
    }
    vkr_test_close(&env);
}

/* Central differences against the analytic gradient of every parameter (sampled entries), CPU backend. */
static void test_graph_gradients_match_finite_differences(void** state) {
    (void)state;
    for (unsigned variant = 0; variant < 7; variant++) {
        fixture f;
        fixture_build(&f, variant);
        vkr_exec* ex = NULL;
        VKR_ASSERT_OK(vkr_exec_create(f.g.graph, &(vkr_exec_options){0}, &ex));
        fixture_params(&f, ex);
        fixture_inputs(&f, ex);
        fixture_loss(&f, ex);
        uint32_t checked = 0;
        for (uint32_t i = 0; i < vkr_graph_tensor_count(f.g.graph); i++) {
            vkr_tensor* p = vkr_graph_tensor(f.g.graph, i);
            if (p->role != VKR_ROLE_PARAM || !p->grad) continue;
            double num = 0, den = 0;
            fixture_run run = {&f, ex};
            vkr_test_param_fd(ex, p, fixture_run_loss, &run, i % 3, p->numel > 24 ? 7 : 1, &num, &den);
            /* relative error, with a floor for parameters whose sampled gradients are near float noise */
            if (num > 2e-3 * (den > 1e-4 ? den : 1e-4))
                fail_msg("variant %u: %s: gradient error %g against %g", variant, p->name, num, den);
            checked++;
        }
        assert_true(checked >= 10);
        vkr_exec_destroy(ex);
        fixture_free(&f);
    }
}

/* ---- training on the bundled sample ---- */

static char sample_dir[64];

static int sample_setup(void** state) {
    (void)state;
    if (!getenv("VKR_CLI") || !getenv("VKR_ASSETS")) return 0;
    return vkr_test_sample_dataset(NULL, NULL, sample_dir) ? 0 : -1;
}

static int sample_teardown(void** state) {
    (void)state;
    if (!sample_dir[0]) return 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(sample_dir) - 5), sample_dir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct sample_items {
    float* text;
    int32_t* cat;
    vkr_item_semantics items;
} sample_items;

/* Random text vectors and categories by item id: inputs, not semantics, are under test here. */
static void sample_items_make(const vkr_dataset* ds, sample_items* s) {
    uint32_t n = ds->item_count;
    s->text = malloc((size_t)n * 12 * sizeof *s->text);
    s->cat = malloc((size_t)n * 2 * sizeof *s->cat);
    vkr_test_fill_random(s->text, (size_t)n * 12, 3);
    for (uint32_t i = 0; i < n; i++) s->cat[2 * i] = (int32_t)(i % 5), s->cat[2 * i + 1] = (int32_t)(i % 3) - 1;
    s->items = (vkr_item_semantics){.text = s->text, .text_dim = 12, .category = s->cat, .categories = 5,
                                   .subcategories = 2};
}

static void tiny_train(vkr_semacdr_train* t, uint32_t domain) {
    vkr_semacdr_train_defaults(t);
    t->domain = domain, t->hidden = 16, t->max_len = 8, t->batch = 64, t->epochs = 2, t->patience = 0;
    t->blocks = 1, t->contrast_items = 32, t->quiet = true, t->eval_batch = 64, t->lr = 3e-3f;
}

static void test_fit_backends_agree_and_learn(void** state) {
    (void)state;
    if (!sample_dir[0]) skip();
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(sample_dir, &ds));
    sample_items si;
    sample_items_make(&ds, &si);
    vkr_protocol sampled;
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:100", &sampled));
    for (uint32_t d = 0; d < ds.domain_count; d++) {
        vkr_semacdr_train t;
        tiny_train(&t, d);
        vkr_semacdr_model cpu, gpu;
        VKR_ASSERT_OK(vkr_semacdr_fit(&ds, NULL, &t, &si.items, &cpu));
        VKR_ASSERT_OK(vkr_semacdr_fit(&ds, env.device, &t, &si.items, &gpu));
        assert_int_equal(cpu.fit.epochs_run, gpu.fit.epochs_run);
        for (uint32_t e = 0; e < cpu.fit.epochs_run; e++) {
            double a = cpu.fit.history[e].loss, b = gpu.fit.history[e].loss;
            print_message("domain %u epoch %u: loss CPU %.6f GPU %.6f, valid HR@10 %.4f / %.4f\n", d, e + 1, a, b,
                          cpu.fit.history[e].valid_hr10, gpu.fit.history[e].valid_hr10);
            if (fabs(a - b) > 2e-3 * fabs(a)) fail_msg("domain %u epoch %u: loss %g (CPU) vs %g (GPU)", d, e + 1, a, b);
        }
        vkr_metrics mc, mg;
        vkr_scorer sc = vkr_semacdr_scorer(&cpu), sg = vkr_semacdr_scorer(&gpu);
        VKR_ASSERT_OK(vkr_evaluate(&ds, d, ds.test, ds.test_count, &sc, &sampled, &mc));
        VKR_ASSERT_OK(vkr_evaluate(&ds, d, ds.test, ds.test_count, &sg, &sampled, &mg));
        double hc = vkr_metrics_means(&mc).hr10, hg = vkr_metrics_means(&mg).hr10;
        print_message("domain %u: sampled:100 HR@10 CPU %.4f GPU %.4f (chance 0.099)\n", d, hc, hg);
        if (fabs(hc - hg) > 0.02) fail_msg("domain %u: HR@10 %g (CPU) vs %g (GPU)", d, hc, hg);
        if (!(hc > 1.5 * 10.0 / 101)) fail_msg("domain %u: SemaCDR sampled:100 HR@10 %g is near chance", d, hc);
        float* vec = malloc((size_t)ds.item_count * t.hidden * sizeof *vec);
        VKR_ASSERT_OK(vkr_semacdr_item_vectors(&cpu, vec));
        for (size_t i = 0; i < (size_t)ds.item_count * t.hidden; i++) assert_true(isfinite(vec[i]));
        free(vec);
        vkr_semacdr_model_free(&cpu);
        vkr_semacdr_model_free(&gpu);
    }
    free(si.text), free(si.cat);
    vkr_dataset_free(&ds);
    vkr_test_close(&env);
}

static void test_bad_items_refused(void** state) {
    (void)state;
    if (!sample_dir[0]) skip();
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(sample_dir, &ds));
    sample_items si;
    sample_items_make(&ds, &si);
    vkr_semacdr_train t;
    tiny_train(&t, 0);
    VKR_ASSERT_OK(vkr_semacdr_check_items(&ds, &t, &si.items));
    si.cat[2 * 7] = 5; /* category K is out of range */
    EXPECT_FAIL(vkr_semacdr_check_items(&ds, &t, &si.items), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "item 7"));
    si.cat[2 * 7] = -1, si.cat[2 * 7 + 1] = 0; /* a subcategory without a category */
    EXPECT_FAIL(vkr_semacdr_check_items(&ds, &t, &si.items), VKR_ERR_INVALID_ARGUMENT);
    si.cat[2 * 7 + 1] = -1;
    si.text[12 * 3 + 4] = NAN;
    EXPECT_FAIL(vkr_semacdr_check_items(&ds, &t, &si.items), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "item 3"));
    t.views = VKR_ITEM_VIEW_ID; /* neither input is read without its view */
    VKR_ASSERT_OK(vkr_semacdr_check_items(&ds, &t, &(vkr_item_semantics){0}));
    free(si.text), free(si.cat);
    vkr_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_backends_agree),
        cmocka_unit_test(test_graph_gradients_match_finite_differences),
        cmocka_unit_test(test_bad_items_refused),
        cmocka_unit_test(test_fit_backends_agree_and_learn),
    };
    return cmocka_run_group_tests(tests, sample_setup, sample_teardown);
}
