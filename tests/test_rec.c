/* Recommender evaluation and training: metrics on hand-computed cases, the protocols, SASRec
 * training with exact resume on the bundled sample, GenCDR's decode and the beams.json it writes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_test.h"

#include "test_data_util.h"
#include "vkr_beams_io.h"
#include "vkr_gencdr.h"
#include "vkr_rec.h"

static void test_metrics_hand_computed(void** state) {
    (void)state;
    vkr_metrics m = {0};
    vkr_metrics_add(&m, 0);                 /* hit everywhere: ndcg 1, mrr 1 */
    vkr_metrics_add(&m, 4);                 /* hr5 hit, ndcg 1/log2(6), mrr 1/5 */
    vkr_metrics_add(&m, 9);                 /* hr10 only, ndcg10 1/log2(11), mrr 1/10 */
    vkr_metrics_add(&m, VKR_RANK_MISSING);  /* miss */
    vkr_metric_means v = vkr_metrics_means(&m);
    assert_float_equal(v.hr5, 2.0 / 4, 1e-12);
    assert_float_equal(v.hr10, 3.0 / 4, 1e-12);
    assert_float_equal(v.ndcg5, (1 + 1 / log2(6.0)) / 4, 1e-12);
    assert_float_equal(v.ndcg10, (1 + 1 / log2(6.0) + 1 / log2(11.0)) / 4, 1e-12);
    assert_float_equal(v.mrr, (1 + 0.2 + 0.1) / 4, 1e-12);
    vkr_metrics empty = {0};
    v = vkr_metrics_means(&empty);
    assert_true(v.hr5 == 0 && v.hr10 == 0 && v.ndcg5 == 0 && v.ndcg10 == 0 && v.mrr == 0);
    /* ranks: ties count against the target, NaN targets rank last */
    const float s[5] = {0.5f, 0.9f, 0.5f, 0.1f, 0.5f};
    assert_int_equal(vkr_rank_of(s, 5, 1), 0);
    assert_int_equal(vkr_rank_of(s, 5, 0), 3); /* 0.9 and two tied 0.5s */
    assert_int_equal(vkr_rank_of(s, 5, 3), 4);
    const float nan_s[3] = {NAN, 1.0f, 2.0f};
    assert_int_equal(vkr_rank_of(nan_s, 3, 0), 2);
}

static void test_protocol_parse(void** state) {
    (void)state;
    vkr_protocol p;
    VKR_ASSERT_OK(vkr_protocol_parse("full", &p));
    assert_int_equal(p.negatives, 0);
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:999", &p));
    assert_int_equal(p.negatives, 999);
    assert_int_equal(vkr_protocol_parse("sampled:", &p), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_protocol_parse("sampled:-3", &p), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_protocol_parse("top", &p), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "'top'"));
}

/* Prepares the bundled sample (filtered down to a small dense set) into a temp directory. */
static const char* sample_dataset(void) {
    static char dir[64];
    static int ready; /* 0: not tried, 1: prepared, -1: unavailable */
    if (!ready) ready = vkr_test_sample_dataset(NULL, NULL, dir) ? 1 : -1;
    return ready > 0 ? dir : NULL;
}

/* The sample dataset loaded into ds and the device opened into env; false when there is no sample
 * (the caller skips). */
static bool sample_open(vkr_test_env* env, vkr_dataset* ds) {
    const char* dir = sample_dataset();
    if (!dir) return false;
    vkr_test_open(env, NULL);
    VKR_ASSERT_OK(vkr_dataset_load(dir, ds));
    return true;
}

/* Popularity on real data: the same seed draws the same negatives, popularity beats chance under
 * sampled:100, and full ranking is harder than sampled. */
static void test_evaluate_pop(void** state) {
    (void)state;
    const char* dir = sample_dataset();
    if (!dir) skip();
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(dir, &ds));
    vkr_pop pop;
    VKR_ASSERT_OK(vkr_pop_fit(&ds, 0, &pop));
    vkr_scorer sc = vkr_pop_scorer(&pop);
    vkr_protocol sampled, full;
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:100", &sampled));
    VKR_ASSERT_OK(vkr_protocol_parse("full", &full));
    vkr_metrics a, b, f;
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &sc, &sampled, &a));
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &sc, &sampled, &b));
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &sc, &full, &f));
    assert_true(a.count > 100);
    assert_memory_equal(&a, &b, sizeof a); /* seeded negatives */
    double ha = vkr_metrics_means(&a).hr10, hf = vkr_metrics_means(&f).hr10;
    assert_true(ha > 2 * 10.0 / 101); /* far above chance */
    assert_true(hf < ha);             /* full ranking is harder */
    vkr_pop_free(&pop);
    vkr_dataset_free(&ds);
}

/* BCE negatives come from the target domain, never the label nor an item of the user's history
 * (the SASRec paper's sampler), are seeded, and degrade gracefully when the history covers the
 * domain. */
static void test_sasrec_negatives_outside_history(void** state) {
    (void)state;
    vkr_dataset ds = {.domain_count = 2, .item_begin = {0, 40, 100}};
    const uint32_t history[] = {41, 45, 50, 51, 52, 60, 61, 62, 63, 64, 70, 99, 3, 7}; /* mixed domains */
    const uint32_t n = sizeof history / sizeof history[0];
    uint32_t seen[100] = {0};
    for (uint64_t k = 0; k < 5000; k++) {
        uint32_t neg = vkr_sasrec_negative(&ds, 1, history, n, 55, 7, k);
        assert_true(neg >= 40 && neg < 100);
        assert_int_not_equal(neg, 55);
        for (uint32_t j = 0; j < n; j++) assert_int_not_equal(neg, history[j]);
        assert_int_equal(neg, vkr_sasrec_negative(&ds, 1, history, n, 55, 7, k)); /* seeded */
        seen[neg]++;
    }
    uint32_t distinct = 0;
    for (uint32_t i = 40; i < 100; i++) distinct += seen[i] > 0;
    assert_int_equal(distinct, 60 - 12 - 1); /* every item of the domain but the 12 in the history and the label */
    /* a history covering the domain: any item but the label */
    uint32_t all[40];
    for (uint32_t i = 0; i < 40; i++) all[i] = i;
    for (uint64_t k = 0; k < 50; k++) assert_int_not_equal(vkr_sasrec_negative(&ds, 0, all, 40, 9, 3, k), 9);
    /* a one-item domain has no negative but the label */
    vkr_dataset one = {.domain_count = 1, .item_begin = {0, 1}};
    assert_int_equal(vkr_sasrec_negative(&one, 0, NULL, 0, 0, 1, 0), 0);
}

/* Recommendations from a model that scores every item: the k best by score in descending order,
 * none the user already has, and every better-scored item of the domain skipped only because the
 * user has it (checked against the popularity counts directly). */
static void test_recommend_skips_seen(void** state) {
    (void)state;
    const char* dir = sample_dataset();
    if (!dir) skip();
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(dir, &ds));
    vkr_pop pop;
    VKR_ASSERT_OK(vkr_pop_fit(&ds, 0, &pop));
    vkr_scorer sc = vkr_pop_scorer(&pop);
    uint32_t begin = ds.item_begin[0], n_items = ds.item_begin[1] - begin, checked = 0;
    for (uint32_t u = 0; u < ds.user_count && checked < 50; u++) {
        const uint32_t* ev = ds.seq_item + ds.seq_begin[u];
        uint32_t len = vkr_dataset_user_len(&ds, u), seen_here = 0;
        for (uint32_t i = 0; i < len; i++) seen_here += ev[i] >= begin && ev[i] < begin + n_items;
        if (!seen_here) continue; /* only users whose own items must be skipped */
        checked++;
        uint32_t items[10], n = 0;
        float scores[10];
        VKR_ASSERT_OK(vkr_recommend(&ds, 0, u, &sc, 10, items, scores, &n));
        assert_int_equal(n, 10);
        for (uint32_t r = 0; r < n; r++) {
            assert_true(items[r] >= begin && items[r] < begin + n_items);
            for (uint32_t i = 0; i < len; i++) assert_int_not_equal(items[r], ev[i]);
            assert_true(scores[r] == pop.counts[items[r] - begin]);
            if (r) assert_true(scores[r] <= scores[r - 1]);
        }
        /* nothing unseen scores above the last recommended item */
        for (uint32_t j = 0; j < n_items; j++) {
            bool has = false, listed = false;
            for (uint32_t i = 0; i < len; i++) has |= ev[i] == begin + j;
            for (uint32_t r = 0; r < n; r++) listed |= items[r] == begin + j;
            if (!has && !listed) assert_true(pop.counts[j] <= scores[n - 1]);
        }
    }
    assert_int_equal(checked, 50);
    vkr_pop_free(&pop);
    vkr_dataset_free(&ds);
}

/* Two fresh checkpoint directories (uninterrupted run, resumed run). */
static void make_dirs(char* a, char* b) {
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
}

static void remove_dirs(const char* a, const char* b) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", a, b);
    assert_int_equal(system(cmd), 0);
}

static void tiny_config(vkr_sasrec_train* t, const char* ckpt) {
    vkr_sasrec_train_defaults(t);
    t->max_len = 12; /* length buckets 8 and 12 (vkr_sasrec_buckets.h): resuming covers both */
    t->hidden = 16;
    t->blocks = 1;
    t->batch = 256;
    t->eval_batch = 256;
    t->epochs = 2;
    t->patience = 0;
    t->dropout = 0.2f;
    t->quiet = true;
    t->ckpt_dir = ckpt;
}

/* Training 2 epochs equals training 1, stopping, and resuming for the 2nd: same validation figure
 * and bitwise the same test metrics. On the GPU, as the trainer runs in practice. */
static void test_sasrec_resume_equals_uninterrupted(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_dataset ds;
    if (!sample_open(&env, &ds)) skip();
    char a_dir[] = "/tmp/vkrec-ckpt-a-XXXXXX", b_dir[] = "/tmp/vkrec-ckpt-b-XXXXXX";
    make_dirs(a_dir, b_dir);
    vkr_sasrec_train t;
    vkr_sasrec_model whole, part;
    tiny_config(&t, a_dir);
    VKR_ASSERT_OK(vkr_sasrec_fit(&ds, env.device, &t, &whole));
    tiny_config(&t, b_dir);
    t.epochs = 1;
    VKR_ASSERT_OK(vkr_sasrec_fit(&ds, env.device, &t, &part));
    vkr_sasrec_model_free(&part);
    t.epochs = 2;
    t.resume = true;
    VKR_ASSERT_OK(vkr_sasrec_fit(&ds, env.device, &t, &part));
    assert_int_equal(part.fit.epochs_run, 2);
    assert_true(part.fit.best_hr10 == whole.fit.best_hr10);
    assert_int_equal(part.fit.best_epoch, whole.fit.best_epoch);
    /* the curve comes back whole: the resumed epoch's entry from the checkpoint, bitwise */
    assert_non_null(part.fit.history);
    for (uint32_t e = 0; e < 2; e++) {
        assert_true(part.fit.history[e].loss == whole.fit.history[e].loss);
        assert_true(part.fit.history[e].valid_hr10 == whole.fit.history[e].valid_hr10);
    }
    assert_true(whole.fit.history[whole.fit.best_epoch - 1].valid_hr10 == whole.fit.best_hr10);
    assert_true(whole.fit.history[1].loss == whole.fit.last_loss);
    vkr_protocol full = {0};
    vkr_metrics mw, mp;
    vkr_scorer sw = vkr_sasrec_scorer(&whole), sp = vkr_sasrec_scorer(&part);
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &sw, &full, &mw));
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &sp, &full, &mp));
    assert_memory_equal(&mw, &mp, sizeof mw);
    vkr_sasrec_model_free(&whole);
    vkr_sasrec_model_free(&part);
    vkr_dataset_free(&ds);
    vkr_test_close(&env);
    remove_dirs(a_dir, b_dir);
}

/* beams.json written from a model's decode reads back as what the decode returned: the first
 * examples' users, each beam's path the semantic ID of its item, best first. */
static void check_beams_json(const vkr_dataset* ds, const uint16_t* ids, vkr_gencdr_model* m, const char* dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/beams.json", dir);
    VKR_ASSERT_OK(vkr_beams_write(ds, m, 5, path));
    vkr_beams b;
    VKR_ASSERT_OK(vkr_beams_read(path, ds->item_count, &b));
    assert_int_equal(b.user_count, ds->test_count < 5 ? ds->test_count : 5);
    for (uint32_t u = 0; u < b.user_count; u++) {
        const vkr_beams_user* bu = &b.users[u];
        assert_int_equal(bu->user, ds->test[2 * u]);
        assert_true(bu->count > 0 && bu->count <= m->cfg.beam);
        for (uint32_t k = 0; k < bu->count; k++) {
            const vkr_beams_path* p = &bu->beams[k];
            assert_true(p->item >= 0 && p->item < ds->item_count);
            assert_int_equal(p->len, 3);
            assert_memory_equal(p->path, ids + 3 * p->item, 3 * sizeof *ids);
            if (k) assert_true(p->score <= bu->beams[k - 1].score);
        }
    }
    vkr_beams_free(&b);
    remove(path);
}

/* The trained checkpoint decoded with beam width 100 in one GPU submission and level by level on the
 * CPU backend: every list holds distinct valid items (of the requested domain unless `global`), -1
 * only after the last, in non-increasing score order, and both backends agree (identical items but
 * for near-ties). */
static void check_decoding(const vkr_dataset* ds, const uint16_t* ids, const vkr_gencdr_train* trained,
                           const char* ckpt_dir, vkr_device* dev, bool global) {
    vkr_gencdr_train t = *trained;
    t.beam = 100, t.eval_users = 8, t.resume = false, t.ckpt_dir = NULL, t.global_trie = global;
    char path[256];
    snprintf(path, sizeof path, "%s/best.safetensors", ckpt_dir);
    vkr_gencdr_model gpu, cpu;
    VKR_ASSERT_OK(vkr_gencdr_open(ds, dev, ids, 3, &t, &gpu));
    VKR_ASSERT_OK(vkr_gencdr_load(&gpu, path));
    VKR_ASSERT_OK(vkr_gencdr_open(ds, NULL, ids, 3, &t, &cpu));
    VKR_ASSERT_OK(vkr_gencdr_load(&cpu, path));
    int32_t items[2][8 * 100];
    float scores[2][8 * 100];
    uint32_t same = 0, total = 0;
    for (uint32_t d = 0; d < ds->domain_count; d++) {
        vkr_scorer sg = vkr_gencdr_scorer(&gpu, d), sc = vkr_gencdr_scorer(&cpu, d);
        assert_int_equal(sg.top_width, 100);
        uint32_t wg = 0, wc = 0;
        VKR_ASSERT_OK(sg.top_items(sg.self, ds->test, 8, items[0], scores[0], &wg));
        VKR_ASSERT_OK(sc.top_items(sc.self, ds->test, 8, items[1], scores[1], &wc));
        assert_int_equal(wg, 100);
        assert_int_equal(wc, 100);
        for (uint32_t b = 0; b < 8; b++)
            for (int k = 0; k < 2; k++) {
                const int32_t* row = items[k] + b * 100;
                const float* sr = scores[k] + b * 100;
                for (uint32_t w = 0; w < 100; w++) {
                    if (row[w] < 0) { /* a short list: everything after is empty too */
                        for (uint32_t r = w; r < 100; r++) assert_int_equal(row[r], -1);
                        break;
                    }
                    assert_true((uint32_t)row[w] < ds->item_count);
                    if (!global) assert_int_equal(ds->item_domain[row[w]], d);
                    if (w) assert_true(sr[w] <= sr[w - 1]);
                    for (uint32_t r = 0; r < w; r++) assert_int_not_equal(row[r], row[w]);
                }
            }
        for (uint32_t i = 0; i < 8 * 100; i++) same += items[0][i] == items[1][i], total++;
    }
    print_message("%s trie: GPU and CPU decodes agree on %u of %u list positions\n", global ? "global" : "domain", same,
                  total);
    if (!global) check_beams_json(ds, ids, &cpu, ckpt_dir);
    if (same < total * 95 / 100) fail_msg("GPU and CPU decodes differ on %u of %u positions", total - same, total);
    vkr_gencdr_model_free(&gpu);
    vkr_gencdr_model_free(&cpu);
}

/* GenCDR on base-16 digit IDs: training lifts sampled:100 HR@10 well above chance in both domains,
 * resuming equals the uninterrupted run, and full ranking by constrained beam search returns ranks. */
static void test_gencdr_trains_and_resumes(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_dataset ds;
    if (!sample_open(&env, &ds)) skip();
    uint16_t* ids = malloc((size_t)ds.item_count * 3 * sizeof *ids);
    for (uint32_t i = 0; i < ds.item_count; i++) {
        ids[3 * i] = (uint16_t)(i / 256);
        ids[3 * i + 1] = (uint16_t)(i / 16 % 16);
        ids[3 * i + 2] = (uint16_t)(i % 16);
    }
    char a_dir[] = "/tmp/vkrec-gen-a-XXXXXX", b_dir[] = "/tmp/vkrec-gen-b-XXXXXX";
    make_dirs(a_dir, b_dir);
    vkr_gencdr_train t;
    vkr_gencdr_train_defaults(&t);
    t.max_len = 8, t.hidden = 16, t.blocks = 1, t.lora_rank = 4, t.batch = 64, t.epochs = 2, t.patience = 0;
    t.lr = 5e-3f;
    t.quiet = true, t.eval_users = 32, t.candidates = 101, t.ckpt_dir = a_dir;
    vkr_gencdr_model whole, part;
    VKR_ASSERT_OK(vkr_gencdr_fit(&ds, env.device, ids, 3, &t, &whole));
    t.ckpt_dir = b_dir, t.epochs = 1;
    VKR_ASSERT_OK(vkr_gencdr_fit(&ds, env.device, ids, 3, &t, &part));
    vkr_gencdr_model_free(&part);
    t.epochs = 2, t.resume = true;
    VKR_ASSERT_OK(vkr_gencdr_fit(&ds, env.device, ids, 3, &t, &part));
    assert_true(part.fit.best_hr10 == whole.fit.best_hr10);
    vkr_protocol sampled, full;
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:100", &sampled));
    VKR_ASSERT_OK(vkr_protocol_parse("full", &full));
    for (uint32_t d = 0; d < ds.domain_count; d++) {
        vkr_metrics mw, mp;
        vkr_scorer sw = vkr_gencdr_scorer(&whole, d), sp = vkr_gencdr_scorer(&part, d);
        VKR_ASSERT_OK(vkr_evaluate(&ds, d, ds.test, ds.test_count, &sw, &sampled, &mw));
        VKR_ASSERT_OK(vkr_evaluate(&ds, d, ds.test, ds.test_count, &sp, &sampled, &mp));
        assert_memory_equal(&mw, &mp, sizeof mw);
        double hr10 = vkr_metrics_means(&mw).hr10;
        print_message("domain %u: GenCDR sampled:100 HR@10 %g (chance 0.099)\n", d, hr10);
        if (!(hr10 > 1.3 * 10.0 / 101)) fail_msg("domain %u: GenCDR sampled:100 HR@10 %g is near chance", d, hr10);
        vkr_metrics f, fp;
        VKR_ASSERT_OK(vkr_evaluate(&ds, d, ds.test, ds.test_count, &sw, &full, &f));
        VKR_ASSERT_OK(vkr_evaluate(&ds, d, ds.test, ds.test_count, &sp, &full, &fp));
        assert_int_equal(f.count, mw.count);
        assert_memory_equal(&f, &fp, sizeof f);
    }
    vkr_gencdr_model_free(&whole);
    vkr_gencdr_model_free(&part);
    check_decoding(&ds, ids, &t, a_dir, env.device, false);
    check_decoding(&ds, ids, &t, a_dir, env.device, true);
    free(ids);
    vkr_dataset_free(&ds);
    vkr_test_close(&env);
    remove_dirs(a_dir, b_dir);
}

/* The auxiliary next-item loss adds w x (a softmax cross-entropy over every item, ~log(items) at
 * initialization) to the first step's loss on the same batch, and is refused without per-item
 * embeddings. On the CPU backend: the loss, not the device, is under test. */
static void test_gencdr_aux_item_loss(void** state) {
    (void)state;
    const char* dir = sample_dataset();
    if (!dir) skip();
    vkr_dataset ds;
    VKR_ASSERT_OK(vkr_dataset_load(dir, &ds));
    uint16_t* ids = malloc((size_t)ds.item_count * 2 * sizeof *ids);
    for (uint32_t i = 0; i < ds.item_count; i++) ids[2 * i] = (uint16_t)(i / 128), ids[2 * i + 1] = (uint16_t)(i % 128);
    float loss[2];
    for (int k = 0; k < 3; k++) {
        vkr_gencdr_train t;
        vkr_gencdr_train_defaults(&t);
        t.max_len = 8, t.hidden = 16, t.blocks = 1, t.batch = 16, t.beam = 0, t.quiet = true, t.dropout = 0;
        t.aux_item = k ? 2.0f : 0.0f;
        t.item_ids = k < 2;
        vkr_gencdr_model m;
        VKR_ASSERT_OK(vkr_gencdr_open(&ds, NULL, ids, 2, &t, &m));
        vkr_gencdr_trainer* tr = NULL;
        vkr_status s = vkr_gencdr_trainer_create(&m, &tr);
        if (k == 2) { /* codes only: no table to tie the auxiliary softmax to */
            assert_int_equal(s, VKR_ERR_INVALID_ARGUMENT);
            assert_non_null(strstr(vkr_last_error(), "per-item embeddings"));
        } else {
            VKR_ASSERT_OK(s);
            uint32_t units[16];
            for (uint32_t u = 0; u < 16; u++) units[u] = u;
            VKR_ASSERT_OK(vkr_gencdr_trainer_step(tr, units, 16, &loss[k]));
        }
        vkr_gencdr_trainer_destroy(tr);
        vkr_gencdr_model_free(&m);
    }
    double expect = 2.0 * log((double)ds.item_count);
    print_message("first-step loss %g without, %g with the auxiliary loss (2 log items = %g)\n", (double)loss[0],
                  (double)loss[1], expect);
    if (fabs((double)(loss[1] - loss[0]) - expect) > 0.15 * expect)
        fail_msg("auxiliary loss adds %g, expected about %g", (double)(loss[1] - loss[0]), expect);
    free(ids);
    vkr_dataset_free(&ds);
}

/* SemaCDR's item views as a GenCDR plug-in: with tau 10 (logits near 0) the InfoNCE adds about
 * lambda x 2 log M to the first step's loss; three steps give the same losses on the device and the
 * CPU backend; a NaN in the text names its item, and codes-only models refuse the views. */
static void test_gencdr_views_plugin(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_dataset ds;
    if (!sample_open(&env, &ds)) skip();
    uint32_t n = ds.item_count, dim = 7;
    uint16_t* ids = malloc((size_t)n * 2 * sizeof *ids);
    float* text = malloc((size_t)n * dim * sizeof *text);
    int32_t* cat = malloc((size_t)n * 2 * sizeof *cat);
    for (uint32_t i = 0; i < n; i++) {
        ids[2 * i] = (uint16_t)(i / 128), ids[2 * i + 1] = (uint16_t)(i % 128);
        cat[2 * i] = (int32_t)(i % 3), cat[2 * i + 1] = -1;
    }
    vkr_test_fill_random(text, (size_t)n * dim, 5);
    vkr_item_semantics sem = {.text = text, .text_dim = dim, .category = cat, .categories = 3};
    uint32_t units[16];
    for (uint32_t u = 0; u < 16; u++) units[u] = u;
    float loss[3][3]; /* [lambda 0 CPU, lambda 1 CPU, lambda 1 device][step] */
    for (int k = 0; k < 3; k++) {
        vkr_gencdr_train t;
        vkr_gencdr_train_defaults(&t);
        t.max_len = 8, t.hidden = 16, t.blocks = 1, t.batch = 16, t.beam = 0, t.quiet = true, t.dropout = 0;
        t.item_views = VKR_ITEM_VIEWS_ALL, t.semantics = &sem, t.view_tau = 10.0f, t.contrast = 64;
        t.view_lambda = k ? 1.0f : 0.0f;
        vkr_gencdr_model m;
        VKR_ASSERT_OK(vkr_gencdr_open(&ds, k == 2 ? env.device : NULL, ids, 2, &t, &m));
        vkr_gencdr_trainer* tr = NULL;
        VKR_ASSERT_OK(vkr_gencdr_trainer_create(&m, &tr));
        for (int step = 0; step < 3; step++) VKR_ASSERT_OK(vkr_gencdr_trainer_step(tr, units, 16, &loss[k][step]));
        vkr_gencdr_trainer_destroy(tr);
        vkr_gencdr_model_free(&m);
    }
    double expect = 2.0 * log(64.0);
    print_message("first-step loss %g without, %g with the views' InfoNCE (2 log M = %g); device %g %g %g, CPU %g %g %g\n",
                  (double)loss[0][0], (double)loss[1][0], expect, (double)loss[2][0], (double)loss[2][1],
                  (double)loss[2][2], (double)loss[1][0], (double)loss[1][1], (double)loss[1][2]);
    if (fabs((double)(loss[1][0] - loss[0][0]) - expect) > 0.1 * expect)
        fail_msg("the views' InfoNCE adds %g, expected about %g", (double)(loss[1][0] - loss[0][0]), expect);
    for (int step = 0; step < 3; step++)
        if (fabs((double)(loss[2][step] - loss[1][step])) > 1e-4 * fabs((double)loss[1][step]))
            fail_msg("step %d: device loss %g, CPU %g", step, (double)loss[2][step], (double)loss[1][step]);
    vkr_gencdr_train t;
    vkr_gencdr_train_defaults(&t);
    t.hidden = 16, t.blocks = 1, t.beam = 0, t.quiet = true, t.item_views = VKR_ITEM_VIEWS_ALL, t.semantics = &sem;
    text[3 * dim + 2] = NAN;
    vkr_gencdr_model m;
    assert_int_equal(vkr_gencdr_open(&ds, NULL, ids, 2, &t, &m), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "item 3"));
    text[3 * dim + 2] = 0.0f;
    t.item_ids = false;
    assert_int_equal(vkr_gencdr_open(&ds, NULL, ids, 2, &t, &m), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "per-item embedding"));
    free(ids);
    free(text);
    free(cat);
    vkr_dataset_free(&ds);
    vkr_test_close(&env);
}

/* GenCDR's training tasks (item2index, index2item, collab): with weight 0 the loss is next-item
 * prediction's bit for bit (the tasks' parameters disturb nothing), with weight 1 it grows by each
 * task's term (item2index and collab: about log of a level's vocabulary at the start), the device and
 * the CPU backend agree for three steps, and a missing text is an error naming the tasks. */
static void test_gencdr_tasks(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_dataset ds;
    if (!sample_open(&env, &ds)) skip();
    uint32_t n = ds.item_count, dim = 5;
    uint16_t* ids = malloc((size_t)n * 2 * sizeof *ids);
    float* text = malloc((size_t)n * dim * sizeof *text);
    for (uint32_t i = 0; i < n; i++) ids[2 * i] = (uint16_t)(i / 64), ids[2 * i + 1] = (uint16_t)(i % 64);
    vkr_test_fill_random(text, (size_t)n * dim, 8);
    memset(text, 0, 3 * dim * sizeof *text); /* items without text are not drawn by the text tasks */
    vkr_item_semantics sem = {.text = text, .text_dim = dim};
    uint32_t units[16];
    for (uint32_t u = 0; u < 16; u++) units[u] = u;
    const uint32_t all = VKR_GENCDR_TASK_ITEM2INDEX | VKR_GENCDR_TASK_INDEX2ITEM | VKR_GENCDR_TASK_COLLAB;
    float loss[4][3]; /* [no task, weight 0, weight 1 CPU, weight 1 device][step] */
    for (int k = 0; k < 4; k++) {
        vkr_gencdr_train t;
        vkr_gencdr_train_defaults(&t);
        t.max_len = 8, t.hidden = 16, t.blocks = 1, t.batch = 16, t.beam = 0, t.quiet = true, t.dropout = 0;
        t.tasks = k ? all : 0, t.task_weight = k >= 2 ? 1.0f : 0.0f, t.semantics = &sem;
        vkr_gencdr_model m;
        VKR_ASSERT_OK(vkr_gencdr_open(&ds, k == 3 ? env.device : NULL, ids, 2, &t, &m));
        vkr_gencdr_trainer* tr = NULL;
        VKR_ASSERT_OK(vkr_gencdr_trainer_create(&m, &tr));
        for (int step = 0; step < 3; step++) VKR_ASSERT_OK(vkr_gencdr_trainer_step(tr, units, 16, &loss[k][step]));
        vkr_gencdr_trainer_destroy(tr);
        vkr_gencdr_model_free(&m);
    }
    print_message("first-step loss %g next-item alone, %g with the tasks at weight 0, %g at weight 1 (device %g)\n",
                  (double)loss[0][0], (double)loss[1][0], (double)loss[2][0], (double)loss[3][0]);
    for (int step = 0; step < 3; step++) {
        assert_true(loss[1][step] == loss[0][step]);
        if (fabs((double)(loss[3][step] - loss[2][step])) > 1e-4 * fabs((double)loss[2][step]))
            fail_msg("step %d: device loss %g, CPU %g", step, (double)loss[3][step], (double)loss[2][step]);
    }
    /* item2index and collab each add a decoding loss of about the next-item one's size; index2item a
     * squared distance to a text vector of norm ~ sqrt(dim / 3) */
    double added = (double)(loss[2][0] - loss[0][0]);
    if (!(added > 1.5 * loss[0][0] && added < 2.5 * loss[0][0] + 2.0 * dim))
        fail_msg("the tasks add %g to a next-item loss of %g", added, (double)loss[0][0]);
    vkr_gencdr_train t;
    vkr_gencdr_train_defaults(&t);
    t.hidden = 16, t.blocks = 1, t.beam = 0, t.quiet = true, t.tasks = VKR_GENCDR_TASK_ITEM2INDEX;
    vkr_gencdr_model m;
    EXPECT_FAIL(vkr_gencdr_open(&ds, NULL, ids, 2, &t, &m), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "item2index"));
    free(ids);
    free(text);
    vkr_dataset_free(&ds);
    vkr_test_close(&env);
}

/* The beams.json reader takes the viewer's minimal entries (no domain or target; a missing or
 * unknown item reads as -1) and refuses malformed files with FORMAT errors naming the file. */
static void test_beams_read(void** state) {
    (void)state;
    char dir[512], path[600];
    td_mkdtemp(dir);
    snprintf(path, sizeof path, "%s/beams.json", dir);
    td_put(dir, "beams.json",
           "{\"users\": [{\"user\": 3, \"beams\": [{\"path\": [1, 0], \"score\": -0.5, \"item\": 2},"
           " {\"path\": [4], \"score\": -0.75}, {\"path\": [0, 1, 2], \"score\": -1, \"item\": 99}]}]}", 0);
    vkr_beams b;
    VKR_ASSERT_OK(vkr_beams_read(path, 10, &b));
    assert_int_equal(b.user_count, 1);
    assert_int_equal(b.users[0].user, 3);
    assert_int_equal(b.users[0].count, 3);
    const vkr_beams_path* p = b.users[0].beams;
    assert_int_equal(p[0].len, 2);
    assert_int_equal(p[0].path[0], 1);
    assert_int_equal(p[0].path[1], 0);
    assert_true(p[0].score == -0.5);
    assert_int_equal(p[0].item, 2);
    assert_int_equal(p[1].item, -1);
    assert_int_equal(p[2].item, -1);
    vkr_beams_free(&b);
    static const char* const bad[] = {
        "not json",
        "{\"beams\": []}",
        "{\"users\": [{\"beams\": []}]}",
        "{\"users\": [{\"user\": 1, \"beams\": [{\"path\": [], \"score\": 0}]}]}",
        "{\"users\": [{\"user\": 1, \"beams\": [{\"path\": [1, 2]}]}]}",
        "{\"users\": [{\"user\": 1, \"beams\": [{\"path\": [1, 70000], \"score\": 0}]}]}",
        "{\"users\": [{\"user\": 1, \"beams\": [{\"path\": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],"
        " \"score\": 0}]}]}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        td_put(dir, "beams.json", bad[k], 0);
        assert_int_equal(vkr_beams_read(path, 10, &b), VKR_ERR_FORMAT);
        assert_non_null(strstr(vkr_last_error(), path));
        assert_int_equal(b.user_count, 0);
        assert_null(b.users);
    }
    remove(path);
    assert_int_equal(vkr_beams_read(path, 10, &b), VKR_ERR_NOT_FOUND);
    rmdir(dir);
}

static int cleanup(void** state) {
    (void)state;
    const char* dir = sample_dataset();
    if (dir) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf %.*s", (int)(strlen(dir) - 5), dir);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_hand_computed),
        cmocka_unit_test(test_protocol_parse),
        cmocka_unit_test(test_evaluate_pop),
        cmocka_unit_test(test_recommend_skips_seen),
        cmocka_unit_test(test_sasrec_negatives_outside_history),
        cmocka_unit_test(test_sasrec_resume_equals_uninterrupted),
        cmocka_unit_test(test_gencdr_trains_and_resumes),
        cmocka_unit_test(test_gencdr_aux_item_loss),
        cmocka_unit_test(test_gencdr_views_plugin),
        cmocka_unit_test(test_gencdr_tasks),
        cmocka_unit_test(test_beams_read),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
