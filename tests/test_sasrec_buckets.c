/* Length-bucketed SASRec training (vkr_sasrec_buckets.h) and the length-grouped order of the
 * training loop (vkr_fit_model.unit_len): a batch of short histories trained on a short window gives
 * the losses and weights of the same batch left-padded to the full window, for both losses, both
 * block layouts and the GRU, on both backends; the ladder picks the shortest window that fits; the
 * grouped order is a seeded permutation of whole batches of similar lengths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_fit.h"
#include "vkr_sasrec_buckets.h"
#include "vkr_test.h"

enum { B = 4, T = 20, ITEMS = 30, STEPS = 3 };

/* A batch in the full window: row b holds 2 + (b + step) % 6 items, left-padded; next-item labels,
 * a fixed negative per position. */
typedef struct batch {
    int32_t seq[B * T], mask[B * T], pos[B * T], neg[B * T];
    float pos_label[B * T], neg_label[B * T];
    uint32_t labelled;
} batch;

static void make_batch(batch* x, int step, bool ce) {
    memset(x, 0, sizeof *x);
    for (int b = 0; b < B; b++) {
        int n = 2 + (b + step) % 6; /* at most 7 real positions: bucket 8 */
        for (int t = 0; t < T; t++) {
            int i = b * T + t, k = t - (T - n);
            bool real = k >= 0;
            int32_t item = 1 + (7 * b + 3 * k + step) % ITEMS, next = 1 + (7 * b + 3 * (k + 1) + step) % ITEMS;
            x->seq[i] = real ? item : 0;
            x->mask[i] = real;
            x->pos[i] = ce ? (real ? next - 1 : -1) : (real ? next : 0);
            x->neg[i] = real ? 1 + (next + 11) % ITEMS : 0;
            x->pos_label[i] = real ? 1.0f : -1.0f;
            x->neg_label[i] = real ? 0.0f : -1.0f;
            x->labelled += real;
        }
    }
}

/* Columns [T - L, T) of an int32 or float [B, T] array. */
static void last_cols(const void* full, uint32_t L, void* out) {
    for (int b = 0; b < B; b++)
        memcpy((char*)out + (size_t)b * L * 4, (const char*)full + ((size_t)b * T + T - L) * 4, L * 4);
}

/* Writes batch x, cut to the graph's L positions, into its executor. */
static void write_batch(vkr_exec* ex, const vkr_sasrec* g, const batch* x, uint32_t L) {
    uint32_t n = B * L;
    int32_t* cut = malloc(n * 4);
    const void* src[6] = {x->seq, x->mask, x->pos, x->neg, x->pos_label, x->neg_label};
    vkr_tensor* dst[6] = {g->seq, g->mask, g->pos, g->neg, g->pos_label, g->neg_label};
    for (int k = 0; k < 6; k++) {
        if (!dst[k]) continue;
        last_cols(src[k], L, cut);
        VKR_ASSERT_OK(vkr_exec_write(ex, dst[k], cut, n * 4ull));
    }
    float scale = g->neg ? (float)n / (float)x->labelled : 1.0f; /* BCE: the mean over labelled pairs */
    VKR_ASSERT_OK(vkr_exec_write(ex, g->loss_scale, &scale, 4));
    free(cut);
}

static vkr_sasrec_config model(vkr_sasrec_loss loss, bool gru) {
    return (vkr_sasrec_config){.items = ITEMS, .max_len = T, .batch = B, .hidden = 16, .blocks = 2, .heads = 2,
                               .loss = loss, .gru = gru};
}

/* The graph's constants (IDs only: no view inputs). */
static vkr_status write_consts(void* user, vkr_exec* ex, const vkr_sasrec* g) {
    (void)user;
    static const vkr_item_views_host none;
    return vkr_sasrec_write_consts(ex, g, &none);
}

static vkr_exec* full_exec(const vkr_sasrec* g, vkr_device* dev, const vkr_optim_config* oc) {
    vkr_exec* ex = NULL;
    vkr_exec_options o = {.device = dev, .optimizer = oc, .training = true};
    VKR_ASSERT_OK(vkr_exec_create(g->graph, &o, &ex));
    VKR_ASSERT_OK(vkr_exec_init_params(ex, 77));
    VKR_ASSERT_OK(write_consts(NULL, ex, g));
    return ex;
}

/* Parameters of ex's graph g, concatenated. */
static float* params(vkr_exec* ex, vkr_graph* g, uint64_t* n) {
    *n = 0;
    for (uint32_t i = 0; i < vkr_graph_tensor_count(g); i++)
        if (vkr_graph_tensor(g, i)->role == VKR_ROLE_PARAM) *n += vkr_graph_tensor(g, i)->numel;
    float* out = malloc(*n * 4);
    uint64_t at = 0;
    for (uint32_t i = 0; i < vkr_graph_tensor_count(g); i++) {
        vkr_tensor* t = vkr_graph_tensor(g, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        VKR_ASSERT_OK(vkr_exec_read(ex, t, out + at, t->numel * 4));
        at += t->numel;
    }
    return out;
}

/* STEPS steps of the full window against the same steps on bucket 8 of a twin: equal losses and
 * weights up to float rounding (the reductions see fewer padded zeros). */
static void bucket_matches(vkr_device* dev, vkr_sasrec_loss loss, bool gru) {
    vkr_sasrec_config c = model(loss, gru);
    /* SGD: the weights move by the gradients themselves (Adam would blow float-rounding noise in a
     * near-zero gradient up to a full step) */
    vkr_optim_config oc = {.kind = VKR_OPTIM_SGD, .schedule = {.peak_lr = 0.5f}};
    vkr_sasrec ref, twin;
    VKR_ASSERT_OK(vkr_sasrec_build(&c, true, 5, &ref));
    VKR_ASSERT_OK(vkr_sasrec_build(&c, true, 5, &twin));
    vkr_exec *rex = full_exec(&ref, dev, &oc), *tex = full_exec(&twin, dev, &oc);
    vkr_sasrec_buckets bk;
    VKR_ASSERT_OK(vkr_sasrec_buckets_init(&c, 5, dev, true, &twin, tex, write_consts, NULL, &bk));
    assert_int_equal(bk.count, 3); /* 8, 16, 20 */
    vkr_sasrec_bucket* bucket = NULL;
    VKR_ASSERT_OK(vkr_sasrec_buckets_pick(&bk, 9, &bucket));
    assert_int_equal(bucket->len, 16);
    VKR_ASSERT_OK(vkr_sasrec_buckets_pick(&bk, 21, &bucket));
    assert_true(bucket->exec == tex);
    VKR_ASSERT_OK(vkr_sasrec_buckets_pick(&bk, 7, &bucket));
    assert_int_equal(bucket->len, 8);
    batch x;
    for (int s = 0; s < STEPS; s++) {
        make_batch(&x, s, loss == VKR_SASREC_CE);
        write_batch(rex, &ref, &x, T);
        write_batch(bucket->exec, &bucket->graph, &x, 8);
        VKR_ASSERT_OK(vkr_exec_run(rex));
        VKR_ASSERT_OK(vkr_exec_run(bucket->exec));
        float lf, lb;
        VKR_ASSERT_OK(vkr_exec_read(rex, ref.loss, &lf, 4));
        VKR_ASSERT_OK(vkr_exec_read(bucket->exec, bucket->graph.loss, &lb, 4));
        if (!(fabsf(lf - lb) <= 1e-5f * fmaxf(1.0f, fabsf(lf))))
            fail_msg("%s%s step %d on %s: full window loss %.8f, bucket 8 loss %.8f", gru ? "gru " : "",
                     loss == VKR_SASREC_CE ? "ce" : "bce", s, dev ? "GPU" : "CPU", (double)lf, (double)lb);
    }
    assert_int_equal(vkr_exec_steps(tex), STEPS); /* the bucket's steps are the full window's */
    uint64_t n, m;
    float *want = params(rex, ref.graph, &n), *got = params(tex, twin.graph, &m);
    assert_int_equal(n, m);
    double nmse = vkr_test_nmse(got, want, n);
    if (!(nmse < 1e-10)) fail_msg("weights after %d steps: nmse %g between the full window and bucket 8", STEPS, nmse);
    free(want), free(got);
    vkr_sasrec_buckets_free(&bk);
    vkr_exec_destroy(tex), vkr_exec_destroy(rex);
    vkr_sasrec_destroy(&twin), vkr_sasrec_destroy(&ref);
}

static void test_bucket_equals_full_window_cpu(void** state) {
    (void)state;
    bucket_matches(NULL, VKR_SASREC_BCE, false);
    bucket_matches(NULL, VKR_SASREC_CE, false);
    bucket_matches(NULL, VKR_SASREC_BCE, true);
}

static void test_bucket_equals_full_window_gpu(void** state) {
    (void)state;
    bucket_matches(vkr_test_shared.device, VKR_SASREC_BCE, false);
    bucket_matches(vkr_test_shared.device, VKR_SASREC_CE, false);
    bucket_matches(vkr_test_shared.device, VKR_SASREC_BCE, true);
}

/* Without buckets, or with a window no longer than the shortest bucket, the ladder is the full window. */
static void test_ladder_off(void** state) {
    (void)state;
    vkr_sasrec_config c = model(VKR_SASREC_BCE, false);
    vkr_sasrec g;
    VKR_ASSERT_OK(vkr_sasrec_build(&c, true, 5, &g));
    vkr_exec* ex = full_exec(&g, NULL, NULL);
    vkr_sasrec_buckets bk;
    VKR_ASSERT_OK(vkr_sasrec_buckets_init(&c, 5, NULL, false, &g, ex, write_consts, NULL, &bk));
    vkr_sasrec_bucket* b = NULL;
    VKR_ASSERT_OK(vkr_sasrec_buckets_pick(&bk, 1, &b));
    assert_true(b->exec == ex && b->len == T);
    vkr_sasrec_buckets_free(&bk);
    c.max_len = 8;
    c.window = 9;
    vkr_sasrec bad;
    EXPECT_FAIL(vkr_sasrec_build(&c, true, 5, &bad), VKR_ERR_INVALID_ARGUMENT);
    vkr_exec_destroy(ex);
    vkr_sasrec_destroy(&g);
}

/* ---- the length-grouped order ---------------------------------------------------------------- */

enum { UNITS = 203, BATCH = 8, EPOCHS = 2 };

typedef struct order_probe {
    uint32_t len[UNITS];
    uint32_t seen[EPOCHS][UNITS]; /* units in the order steps got them */
    uint32_t at, epoch, steps;
    uint32_t last_n;              /* units of the latest step */
} order_probe;

static vkr_status probe_step(void* self, vkr_fit_step* st) {
    order_probe* p = self;
    for (uint32_t k = 0; k < st->n; k++) p->seen[p->epoch][p->at++] = st->units[k];
    p->last_n = st->n;
    p->steps++;
    st->loss = 1.0f;
    return VKR_OK;
}

static vkr_status probe_validate(void* self, double* hr10) {
    order_probe* p = self;
    assert_int_equal(p->at, UNITS);
    assert_int_equal(p->last_n, UNITS % BATCH); /* the short step stays last */
    p->epoch++;
    p->at = 0;
    *hr10 = 0.5;
    return VKR_OK;
}

static void run_order(order_probe* p, vkr_exec* ex, vkr_graph* g) {
    memset(p->seen, 0, sizeof p->seen);
    p->at = p->epoch = p->steps = 0;
    vkr_fit_model m = {.self = p, .units = UNITS, .batch = BATCH, .step = probe_step, .validate = probe_validate,
                       .train_exec = ex, .score_exec = ex, .score_graph = g, .unit_len = p->len};
    vkr_fit_report r;
    VKR_ASSERT_OK(vkr_fit(&m, &(vkr_fit_options){.epochs = EPOCHS, .seed = 9, .quiet = true}, &r));
    vkr_fit_report_free(&r);
}

/* Every epoch is a permutation; within one chunk of VKR_FIT_GROUP_STEPS steps (here all of them),
 * the whole steps hold disjoint length ranges; the order is a function of (seed, epoch). */
static void test_grouped_order(void** state) {
    (void)state;
    order_probe* p = calloc(1, sizeof *p), *q = calloc(1, sizeof *q);
    for (uint32_t u = 0; u < UNITS; u++) p->len[u] = q->len[u] = (u * 37) % 23;
    vkr_graph* g;
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    vkr_graph_param_init(g, "w", 1, (uint32_t[]){1}, 0, VKR_INIT_ZEROS, 0);
    vkr_exec* ex = NULL;
    VKR_ASSERT_OK(vkr_exec_create(g, NULL, &ex));
    assert_true(UNITS <= VKR_FIT_GROUP_STEPS * BATCH);
    run_order(p, ex, g);
    run_order(q, ex, g);
    assert_memory_equal(p->seen, q->seen, sizeof p->seen);
    assert_memory_not_equal(p->seen[0], p->seen[1], sizeof p->seen[0]);
    for (int e = 0; e < EPOCHS; e++) {
        bool hit[UNITS] = {0};
        for (uint32_t i = 0; i < UNITS; i++) hit[p->seen[e][i]] = true;
        for (uint32_t u = 0; u < UNITS; u++) assert_true(hit[u]);
        uint32_t whole = UNITS / BATCH, lo[UNITS / BATCH], hi[UNITS / BATCH];
        for (uint32_t k = 0; k < whole; k++) {
            lo[k] = UINT32_MAX, hi[k] = 0;
            for (uint32_t i = 0; i < BATCH; i++) {
                uint32_t l = p->len[p->seen[e][k * BATCH + i]];
                lo[k] = l < lo[k] ? l : lo[k];
                hi[k] = l > hi[k] ? l : hi[k];
            }
        }
        bool sorted_steps = true; /* the steps are not in length order */
        for (uint32_t k = 0; k < whole; k++) {
            if (k && lo[k] < hi[k - 1]) sorted_steps = false;
            for (uint32_t j = 0; j < whole; j++)
                if (j != k) assert_true(hi[k] <= lo[j] || hi[j] <= lo[k]);
        }
        assert_false(sorted_steps);
    }
    vkr_exec_destroy(ex);
    vkr_graph_destroy(g);
    free(p), free(q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_equals_full_window_cpu),
        cmocka_unit_test(test_bucket_equals_full_window_gpu),
        cmocka_unit_test(test_ladder_off),
        cmocka_unit_test(test_grouped_order),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
