/* Zero-shot transfer (LLM-RecG) on SASRec: no interaction of a domain outside the training domains
 * reaches training (rows, losses and parameters are bit-identical when only those interactions
 * change, and do change when a training domain's do), the item-level alignment loss against a
 * plain-C reference on the device and the CPU backend, and the zero-shot scorer with and without the
 * sequence-level alignment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_test.h"

#include "vkr_exec.h"
#include "vkr_gencdr.h"
#include "vkr_npy.h"
#include "vkr_rec.h"
#include "vkr_sasrec.h"

/* The bundled sample, prepared and embedded (text vectors) into a temp directory; NULL without it. */
static const char* zs_dataset(void) {
    static char dir[64];
    static int ready; /* 0: not tried, 1: prepared, -1: unavailable */
    if (!ready) ready = vkr_test_sample_dataset("embed", "--source text --device cpu --dim 16 --quiet", dir) ? 1 : -1;
    return ready > 0 ? dir : NULL;
}

/* The item text vectors of the dataset (items x *dim), malloc'd. */
static float* zs_text(const char* dir, uint32_t items, uint32_t* dim) {
    char path[256];
    snprintf(path, sizeof path, "%s/item_emb.npy", dir);
    vkr_npy_array a;
    VKR_ASSERT_OK(vkr_npy_load_f32(path, &a));
    assert_int_equal(a.shape[0], items);
    *dim = (uint32_t)a.shape[1];
    float* out = malloc(sizeof(float) * items * *dim);
    memcpy(out, a.data, sizeof(float) * items * *dim);
    vkr_npy_free(&a);
    return out;
}

/* A small zero-shot training job on Food (domain 0), with the item alignment. */
static vkr_sasrec_train zs_config(const vkr_item_semantics* sem) {
    vkr_sasrec_train t;
    vkr_sasrec_train_defaults(&t);
    t.domain = 0;
    t.train_domains = 1u;
    t.semantic_only = true;
    t.item_views = VKR_ITEM_VIEW_INNER;
    t.semantics = sem;
    t.max_len = 8;
    t.batch = 32;
    t.hidden = 16;
    t.blocks = 1;
    t.epochs = 2;
    t.patience = 0;
    t.quiet = true;
    t.eval_batch = 64;
    t.align_items = 16;
    return t;
}

/* The states of every Food-training user after training on ds (CPU backend), malloc'd; *n of them. */
static float* zs_train_states(const vkr_dataset* ds, const vkr_sasrec_train* t, uint32_t* n, double* hr) {
    vkr_sasrec_model m;
    VKR_ASSERT_OK(vkr_sasrec_fit(ds, NULL, t, &m));
    *hr = m.fit.best_hr10;
    uint32_t* pairs = malloc(sizeof(uint32_t) * 2 * ds->user_count);
    uint32_t* ev = malloc(sizeof(uint32_t) * (vkr_dataset_longest(ds) + 1));
    *n = 0;
    for (uint32_t u = 0; u < ds->user_count; u++)
        if (vkr_sasrec_row_events(ds, t, u, ds->train_len[u], ev) > 0) {
            pairs[2 * *n] = u;
            pairs[2 * *n + 1] = ds->train_len[u];
            (*n)++;
        }
    float* states = malloc(sizeof(float) * *n * t->hidden);
    VKR_ASSERT_OK(vkr_sasrec_user_states(&m, pairs, *n, states));
    free(pairs);
    free(ev);
    vkr_sasrec_model_free(&m);
    return states;
}

/* Replaces every event of `domain` by another item of that domain (a rotation of its ids). */
static uint32_t* zs_perturb(const vkr_dataset* ds, uint32_t domain) {
    uint64_t events = ds->seq_begin[ds->user_count];
    uint32_t* seq = malloc(sizeof(uint32_t) * events);
    uint32_t b = ds->item_begin[domain], n = ds->item_begin[domain + 1] - b;
    for (uint64_t e = 0; e < events; e++) {
        uint32_t it = ds->seq_item[e];
        seq[e] = ds->item_domain[it] == domain ? b + (it - b + 1 + (uint32_t)(e % 7)) % n : it;
    }
    return seq;
}

static void test_no_target_interaction_reaches_training(void** state) {
    (void)state;
    const char* dir = zs_dataset();
    if (!dir) skip();
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(dir, &ds));
    assert_int_equal(ds.domain_count, 2);
    uint32_t dim;
    float* text = zs_text(dir, ds.item_count, &dim);
    vkr_item_semantics sem = {.text = text, .text_dim = dim};
    vkr_sasrec_train t = zs_config(&sem);
    /* every row holds Food events alone */
    uint32_t* ev = malloc(sizeof(uint32_t) * (vkr_dataset_longest(&ds) + 1));
    uint64_t kept = 0, food = 0;
    for (uint32_t u = 0; u < ds.user_count; u++) {
        uint32_t m = vkr_sasrec_row_events(&ds, &t, u, ds.train_len[u], ev);
        for (uint32_t k = 0; k < m; k++) assert_int_equal(ds.item_domain[ev[k]], 0);
        kept += m;
        for (uint32_t k = 0; k < ds.train_len[u]; k++) food += ds.item_domain[ds.seq_item[ds.seq_begin[u] + k]] == 0;
    }
    assert_true(kept == food && kept > 100);
    free(ev);

    uint32_t n0, n1, n2;
    double hr0, hr1, hr2;
    float* s0 = zs_train_states(&ds, &t, &n0, &hr0);
    /* Kitchen's interactions changed: bit for bit the same model */
    const uint32_t* orig = ds.seq_item;
    uint32_t* kitchen = zs_perturb(&ds, 1);
    ds.seq_item = kitchen;
    float* s1 = zs_train_states(&ds, &t, &n1, &hr1);
    assert_int_equal(n0, n1);
    assert_memory_equal(s0, s1, sizeof(float) * n0 * t.hidden);
    assert_true(hr0 == hr1);
    /* Food's changed: a different model (the check above can fail) */
    uint32_t* foodp = zs_perturb(&ds, 0);
    ds.seq_item = foodp;
    float* s2 = zs_train_states(&ds, &t, &n2, &hr2);
    assert_int_equal(n0, n2);
    assert_true(memcmp(s0, s2, sizeof(float) * n0 * t.hidden) != 0);
    ds.seq_item = orig;
    free(s0), free(s1), free(s2), free(kitchen), free(foodp), free(text);
    vkr_dataset_free(&ds);
}

/* A codes-only GenCDR trained on Food's events (CPU backend): the mean loss of its last epoch and its
 * validation HR@10. */
static void zs_gencdr_fit(const vkr_dataset* ds, const uint16_t* ids, float* loss, double* hr, vkr_gencdr_model* keep) {
    vkr_gencdr_train t;
    vkr_gencdr_train_defaults(&t);
    t.max_len = 8, t.hidden = 16, t.blocks = 1, t.lora_rank = 4, t.batch = 64, t.epochs = 2, t.patience = 0;
    t.quiet = true, t.eval_users = 32, t.candidates = 101, t.beam = 8;
    t.item_ids = false;
    t.history_domains = 1u;
    vkr_gencdr_model m;
    VKR_ASSERT_OK(vkr_gencdr_fit(ds, NULL, ids, 2, &t, &m));
    *loss = m.fit.last_loss;
    *hr = m.fit.best_hr10;
    if (keep) *keep = m;
    else vkr_gencdr_model_free(&m);
}

/* GenCDR alike: Kitchen's interactions changed, the same training bit for bit; Food's changed, another;
 * the zero-shot scorer decodes Kitchen; a training domain is refused as a target. */
static void test_gencdr_zero_shot(void** state) {
    (void)state;
    const char* dir = zs_dataset();
    if (!dir) skip();
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(dir, &ds));
    uint16_t* ids = malloc(sizeof(uint16_t) * 2 * ds.item_count);
    for (uint32_t i = 0; i < ds.item_count; i++) ids[2 * i] = (uint16_t)(i / 64), ids[2 * i + 1] = (uint16_t)(i % 64);
    float l0, l1, l2;
    double h0, h1, h2;
    vkr_gencdr_model m;
    zs_gencdr_fit(&ds, ids, &l0, &h0, &m);
    const uint32_t* orig = ds.seq_item;
    uint32_t* kitchen = zs_perturb(&ds, 1);
    ds.seq_item = kitchen;
    zs_gencdr_fit(&ds, ids, &l1, &h1, NULL);
    assert_true(l0 == l1 && h0 == h1);
    uint32_t* food = zs_perturb(&ds, 0);
    ds.seq_item = food;
    zs_gencdr_fit(&ds, ids, &l2, &h2, NULL);
    assert_true(l0 != l2);
    ds.seq_item = orig;
    assert_int_equal(vkr_gencdr_zero_shot(&m, 0), VKR_ERR_INVALID_ARGUMENT);
    VKR_ASSERT_OK(vkr_gencdr_zero_shot(&m, 1));
    vkr_scorer sc = vkr_gencdr_scorer(&m, 1);
    vkr_protocol full = {0};
    vkr_metrics mm;
    VKR_ASSERT_OK(vkr_evaluate(&ds, 1, ds.test, ds.test_count, &sc, &full, &mm));
    assert_true(mm.count > 0);
    vkr_gencdr_model_free(&m);
    free(ids), free(kitchen), free(food);
    vkr_dataset_free(&ds);
}

/* The alignment loss by the formula, in double. */
static double zs_align_reference(const float* table, uint32_t D, const int32_t* src, const int32_t* tgt, const float* p,
                                 uint32_t M, float tau) {
    double inter = 0, intra = 0;
    double* cs = malloc(sizeof(double) * M);
    for (uint32_t i = 0; i < M; i++) {
        const float* a = table + (size_t)src[i] * D;
        double na = 0;
        for (uint32_t k = 0; k < D; k++) na += (double)a[k] * a[k];
        for (int side = 0; side < 2; side++) {
            double top = -INFINITY;
            for (uint32_t j = 0; j < M; j++) {
                const float* b = table + (size_t)(side ? src[j] : tgt[j]) * D;
                double dot = 0, nb = 0;
                for (uint32_t k = 0; k < D; k++) dot += (double)a[k] * b[k], nb += (double)b[k] * b[k];
                double c = dot / sqrt(na * nb);
                if (!side) inter -= p[(size_t)i * M + j] * c / M;
                cs[j] = c / tau;
                if (cs[j] > top) top = cs[j];
            }
            if (!side) continue;
            double z = 0;
            for (uint32_t j = 0; j < M; j++) z += exp(cs[j] - top);
            intra += (top + log(z) - cs[i]) / M;
        }
    }
    free(cs);
    return inter + intra;
}

static void test_align_loss_reference(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    const uint32_t V = 23, D = 7, M = 5, TD = 3;
    const float tau = 0.2f;
    float table[23 * 7], text[23 * 3];
    for (uint32_t i = 0; i < V * D; i++) table[i] = sinf(0.7f * (float)i + 0.3f);
    for (uint32_t i = 0; i < V * TD; i++) text[i] = cosf(1.3f * (float)i);
    int32_t src[5] = {1, 4, 9, 4, 17}, tgt[5] = {2, 22, 13, 6, 11}, ar[5] = {0, 1, 2, 3, 4};
    float p[25];
    double norm[5];
    vkr_sasrec_align_weights(text, TD, src, tgt, M, tau, norm, p);
    for (uint32_t i = 0; i < M; i++) {
        double row = 0;
        for (uint32_t j = 0; j < M; j++) row += p[i * M + j];
        assert_float_equal(row, 1.0, 1e-5);
    }
    vkr_graph* g;
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    vkr_tensor* tt = vkr_graph_const(g, "table", VKR_F32, 2, (uint32_t[]){V, D});
    vkr_tensor* ts = vkr_graph_input(g, "src", VKR_I32, 1, &M);
    vkr_tensor* tg = vkr_graph_input(g, "tgt", VKR_I32, 1, &M);
    vkr_tensor* tp = vkr_graph_input(g, "p", VKR_F32, 2, (uint32_t[]){M, M});
    vkr_tensor* ta = vkr_graph_const(g, "arange", VKR_I32, 1, &M);
    vkr_tensor* loss = vkr_graph_keep(vkr_sasrec_align_loss(g, tt, ts, tg, tp, ta, tau));
    VKR_ASSERT_OK(vkr_graph_status(g));
    double ref = zs_align_reference(table, D, src, tgt, p, M, tau);
    for (int backend = 0; backend < 2; backend++) {
        vkr_exec* ex;
        VKR_ASSERT_OK(vkr_exec_create(g, &(vkr_exec_options){.device = backend ? env.device : NULL}, &ex));
        VKR_ASSERT_OK(vkr_exec_write(ex, tt, table, sizeof table));
        VKR_ASSERT_OK(vkr_exec_write(ex, ts, src, sizeof src));
        VKR_ASSERT_OK(vkr_exec_write(ex, tg, tgt, sizeof tgt));
        VKR_ASSERT_OK(vkr_exec_write(ex, tp, p, sizeof p));
        VKR_ASSERT_OK(vkr_exec_write(ex, ta, ar, sizeof ar));
        VKR_ASSERT_OK(vkr_exec_run(ex));
        float got;
        VKR_ASSERT_OK(vkr_exec_read(ex, loss, &got, 4));
        assert_float_equal(got, ref, 1e-4 * (1 + fabs(ref)));
        vkr_exec_destroy(ex);
    }
    vkr_graph_destroy(g);
    vkr_test_close(&env);
}

/* The zero-shot scorer ranks Kitchen with a Food-trained model; the sequence-level alignment changes
 * its scores; a training domain is refused as a target. */
static void test_zero_shot_scorer(void** state) {
    (void)state;
    const char* dir = zs_dataset();
    if (!dir) skip();
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(dir, &ds));
    uint32_t dim;
    float* text = zs_text(dir, ds.item_count, &dim);
    vkr_item_semantics sem = {.text = text, .text_dim = dim};
    vkr_sasrec_train t = zs_config(&sem);
    t.epochs = 1;
    vkr_sasrec_model src, zs, zseq;
    VKR_ASSERT_OK(vkr_sasrec_fit(&ds, NULL, &t, &src));
    assert_int_equal(vkr_sasrec_zero_shot(&src, 0, 0, 0.5f, &zs), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "trained on"));
    VKR_ASSERT_OK(vkr_sasrec_zero_shot(&src, 1, 0, 0.5f, &zs));
    VKR_ASSERT_OK(vkr_sasrec_zero_shot(&src, 1, 4, 0.5f, &zseq));
    uint32_t items = ds.item_begin[2] - ds.item_begin[1], n = 0;
    uint32_t pairs[8];
    for (uint32_t k = 0; k < ds.test_count && n < 4; k++)
        if (ds.item_domain[ds.seq_item[ds.seq_begin[ds.test[2 * k]] + ds.test[2 * k + 1]]] == 1)
            pairs[2 * n] = ds.test[2 * k], pairs[2 * n + 1] = ds.test[2 * k + 1], n++;
    assert_int_equal(n, 4);
    float* a = malloc(sizeof(float) * n * items);
    float* b = malloc(sizeof(float) * n * items);
    vkr_scorer sa = vkr_sasrec_scorer(&zs), sb = vkr_sasrec_scorer(&zseq);
    VKR_ASSERT_OK(sa.score(sa.self, pairs, n, a));
    VKR_ASSERT_OK(sb.score(sb.self, pairs, n, b));
    for (uint32_t k = 0; k < n * items; k++) assert_true(isfinite(a[k]) && isfinite(b[k]));
    assert_true(memcmp(a, b, sizeof(float) * n * items) != 0);
    vkr_protocol full = {0};
    vkr_metrics mm;
    VKR_ASSERT_OK(vkr_evaluate(&ds, 1, ds.test, ds.test_count, &sa, &full, &mm));
    assert_true(mm.count > 0);
    free(a), free(b), free(text);
    vkr_sasrec_model_free(&zseq);
    vkr_sasrec_model_free(&zs);
    vkr_sasrec_model_free(&src);
    vkr_dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_target_interaction_reaches_training),
        cmocka_unit_test(test_align_loss_reference),
        cmocka_unit_test(test_zero_shot_scorer),
        cmocka_unit_test(test_gencdr_zero_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
