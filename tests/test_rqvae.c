/* The RQ-VAE tokenizer: level-1 codes recover synthetic clusters, IDs are unique after
 * disambiguation, adapter training changes only adapter and router weights, statistics are exact on
 * a hand-made assignment, a co-occurrence-like input (heavy-tailed norms, duplicate and zero rows)
 * uses its codes, a collapse is an error, and malformed input gives a clear error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_npy.h"
#include "vkr_quantize.h"
#include "vkr_rqvae.h"
#include "vkr_test.h"
#include "test_semid_util.h"


/* A co-occurrence-SVD-like release without item text (the shape of C2DSR Movie-Book): n items in d
 * dims around `topics` directions, row norms heavy-tailed (a few popular items hundreds of times
 * longer than the rest, as PPMI+SVD rows are), 10% of the rows copies of another item's row and 18%
 * all-zero (items with neither text nor co-occurrences). Seeded. */
static float* cooccurrence_like(uint32_t n, uint32_t d, uint32_t topics, uint32_t seed) {
    float* dirs = malloc((size_t)topics * d * 4);
    float* x = malloc((size_t)n * d * 4);
    vkr_test_fill_random(dirs, (size_t)topics * d, seed);
    vkr_test_fill_random(x, (size_t)n * d, seed + 1);
    float u[3];
    for (uint32_t i = 0; i < n; i++) {
        vkr_test_fill_random(u, 3, seed * 7919u + i);
        float* row = x + (size_t)i * d;
        if (u[0] < -0.64f) { /* 18% no signal */
            memset(row, 0, d * 4);
            continue;
        }
        uint32_t topic = (uint32_t)((u[1] + 1) * 0.5f * topics) % topics;
        float norm = 0.01f / powf(0.002f + (u[2] + 1) * 0.5f, 1.5f); /* heavy tail: 0.004 .. 110 */
        for (uint32_t k = 0; k < d; k++) row[k] = norm * (dirs[(size_t)topic * d + k] + 0.35f * row[k]);
    }
    for (uint32_t i = 0; i < n; i++) { /* 10% duplicates of an earlier non-zero row */
        vkr_test_fill_random(u, 2, seed * 104729u + i);
        uint32_t src = (uint32_t)((u[1] + 1) * 0.5f * i);
        if (u[0] < -0.8f && src < i && x[(size_t)src * d] != 0)
            memcpy(x + (size_t)i * d, x + (size_t)src * d, d * 4);
    }
    free(dirs);
    return x;
}

/* The Movie-Book-like input: every level uses at least half its codes, the disambiguation level
 * stays bounded, and the zero rows are counted. */
static void cooccurrence_input_uses_codes(void** state) {
    (void)state;
    const uint32_t n = 12000, d = 48;
    float* x = cooccurrence_like(n, d, 400, 5);
    uint32_t zero = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool z = true;
        for (uint32_t k = 0; k < d && z; k++) z = x[(size_t)i * d + k] == 0;
        zero += z;
    }
    vkr_rqvae_config c = {.input_dim = d, .hidden = {96, 64}, .hidden_count = 2, .latent = 16, .levels = 3,
                          .codes = 64};
    vkr_rqvae_train_options o = {.device = vkr_test_shared.device, .batch = 256, .epochs = 10, .seed = 4};
    vkr_rqvae_result r;
    vkr_status s = vkr_rqvae_train(&c, &o, x, n, NULL, &r);
    if (s != VKR_OK) fail_msg("%s", vkr_last_error());
    const vkr_semid_stats* st = &r.stats;
    printf("%u zero rows; codes used %u %u %u of %u; %u paths; items per path max %u p99 %u mean %.2f; collisions "
           "%.3f; %.1f s\n", r.no_signal, st->used[0], st->used[1], st->used[2], c.codes, st->distinct_paths,
           st->max_per_path, st->p99_per_path, st->mean_per_path, st->collision_rate, r.seconds);
    assert_int_equal(r.no_signal, zero);
    for (uint32_t l = 0; l < 3; l++) assert_true(st->used[l] * 2 >= c.codes);
    assert_true(st->max_per_path <= vkr_semid_max_per_path_bound(n, 3, c.codes));
    ts_assert_unique(r.ids, n, 4);
    vkr_rqvae_result_free(&r);
    free(x);
}

static void level1_recovers_clusters(void** state) {
    (void)state;
    const uint32_t n = 400, d = 16, clusters = 8;
    int32_t truth[400];
    uint8_t domain[400];
    float* x = ts_clustered(n, d, clusters, 0.08f, truth, domain);
    vkr_rqvae_config c = {.input_dim = d, .hidden = {32}, .hidden_count = 1, .latent = 8, .levels = 2, .codes = 8};
    vkr_rqvae_train_options o = {.device = vkr_test_shared.device, .batch = 100, .epochs = 40, .lr = 3e-3f, .seed = 3};
    vkr_rqvae_result r;
    VKR_ASSERT_OK(vkr_rqvae_train(&c, &o, x, n, NULL, &r));
    /* purity of level 1: share of items whose code's majority cluster is their own */
    uint32_t tab[8][8] = {{0}};
    for (uint32_t i = 0; i < n; i++) tab[r.codes[(size_t)i * 2]][truth[i]]++;
    uint32_t good = 0;
    for (uint32_t k = 0; k < 8; k++) {
        uint32_t best = 0;
        for (uint32_t t = 0; t < 8; t++) best = tab[k][t] > best ? tab[k][t] : best;
        good += best;
    }
    double purity = (double)good / n;
    printf("level-1 purity %.3f, recon %.5f, collisions %.3f\n", purity, r.recon_loss, r.stats.collision_rate);
    assert_true(purity >= 0.95); /* measured 1.0; k-means initialization alone finds the clusters */
    assert_true(r.recon_loss < 0.05);
    assert_int_equal(r.stats.levels, 2);
    assert_int_equal(r.stats.items, n);
    ts_assert_unique(r.ids, n, 3);
    /* the extra token numbers the items of each shared path 0, 1, ... */
    for (uint32_t i = 0; i < n; i++) assert_true(r.ids[(size_t)i * 3 + 2] < r.stats.max_per_path);
    /* the checkpoint holds every parameter */
    char path[] = "/tmp/vkr_test_rqvae_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    VKR_ASSERT_OK(vkr_rqvae_save(&r, path));
    unlink(path);
    vkr_rqvae_result_free(&r);
    free(x);
}

/* Two runs with the same seed and universal phase, one and three adapter epochs: every universal
 * weight and the codebooks match bitwise, and adapters and router moved; the router's report adds up,
 * and its load-balancing term pulls the routing toward uniform. */
static void adapters_train_only_adapters(void** state) {
    (void)state;
    const uint32_t n = 96, d = 12;
    int32_t truth[96];
    uint8_t domain[96];
    float* x = ts_clustered(n, d, 6, 0.08f, truth, domain);
    vkr_rqvae_config c = {.input_dim = d, .hidden = {24, 16}, .hidden_count = 2, .latent = 6, .levels = 2,
                          .codes = 6, .adapters = true, .domains = 2, .lora_rank = 2};
    vkr_rqvae_result r[2];
    for (int k = 0; k < 2; k++) {
        vkr_rqvae_train_options o = {.device = vkr_test_shared.device, .batch = 32, .epochs = 4, .adapter_epochs = k ? 3 : 1,
                                     .lr = 3e-3f, .seed = 9};
        VKR_ASSERT_OK(vkr_rqvae_train(&c, &o, x, n, domain, &r[k]));
    }
    assert_int_equal(r[0].param_count, r[1].param_count);
    uint32_t adapters = 0;
    for (uint32_t i = 0; i < r[0].param_count; i++) {
        const vkr_rqvae_param *a = &r[0].params[i], *b = &r[1].params[i];
        assert_string_equal(a->name, b->name);
        bool same = memcmp(a->data, b->data, a->numel * 4) == 0;
        bool is_adapter = strstr(a->name, "lora") || strstr(a->name, "router");
        assert_int_equal(a->group, is_adapter ? 2 : strcmp(a->name, "codebooks") == 0 ? 1 : 0);
        if (!is_adapter) {
            if (!same) fail_msg("universal parameter %s changed during adapter training", a->name);
        } else {
            adapters++;
            if (strstr(a->name, "lora_a")) continue; /* its gradient is 0 until lora_b moves: may barely change */
            if (same) fail_msg("adapter parameter %s did not train", a->name);
        }
    }
    assert_int_equal(adapters, 2 * 3 + 3); /* lora_a, lora_b per encoder layer, router w, u and b */
    /* the router's report: each domain's weights over the 3 experts sum to 1, and the adapters-off codes */
    for (uint32_t dom = 0; dom < 2; dom++) {
        double sum = 0;
        for (uint32_t e = 0; e < 3; e++) sum += r[1].route_mean[dom][e];
        assert_true(fabs(sum - 1) < 1e-4);
        assert_true(r[1].route_mean[dom][0] > 0.05f && r[1].route_mean[dom][0] < 0.95f);
    }
    assert_int_equal(r[1].universal_stats.items, r[1].signal_stats.items);
    assert_true(r[1].adapter_changed <= r[1].signal_stats.items);
    print_message("routing (domain 0) %.3f %.3f %.3f; %u items' codes changed by the adapters\n",
                  (double)r[1].route_mean[0][0], (double)r[1].route_mean[0][1], (double)r[1].route_mean[0][2],
                  r[1].adapter_changed);
    /* a strong load-balancing term pulls the routing toward 1/3 per expert */
    vkr_rqvae_config cb = c;
    cb.balance = 5.0f;
    vkr_rqvae_result rb;
    vkr_rqvae_train_options ob = {.device = vkr_test_shared.device, .batch = 32, .epochs = 4, .adapter_epochs = 3,
                                  .lr = 3e-3f, .seed = 9};
    VKR_ASSERT_OK(vkr_rqvae_train(&cb, &ob, x, n, domain, &rb));
    double off_free = 0, off_balanced = 0; /* distance of domain 0's routing from uniform */
    for (uint32_t e = 0; e < 3; e++) {
        off_free += fabs(r[1].route_mean[0][e] - 1.0 / 3);
        off_balanced += fabs(rb.route_mean[0][e] - 1.0 / 3);
    }
    print_message("routing off uniform by %.3f without the balance term, %.3f with it\n", off_free, off_balanced);
    assert_true(off_balanced < off_free);
    vkr_rqvae_result_free(&rb);
    const vkr_rqvae_param* lb = vkr_rqvae_result_param(&r[1], "enc0.lora_b");
    assert_non_null(lb);
    double norm = 0;
    for (uint64_t e = 0; e < lb->numel; e++) norm += fabs(lb->data[e]);
    assert_true(norm > 0); /* starts at zero */
    vkr_rqvae_result_free(&r[0]);
    vkr_rqvae_result_free(&r[1]);
    free(x);
}

/* The CPU reference backend trains the same model (a tiny run). */
static void cpu_backend_runs(void** state) {
    (void)state;
    const uint32_t n = 40, d = 6;
    int32_t truth[40];
    uint8_t domain[40];
    float* x = ts_clustered(n, d, 4, 0.08f, truth, domain);
    vkr_rqvae_config c = {.input_dim = d, .hidden = {8}, .hidden_count = 1, .latent = 4, .levels = 3, .codes = 4,
                          .adapters = true, .domains = 2};
    vkr_rqvae_train_options o = {.batch = 16, .epochs = 2, .adapter_epochs = 1, .seed = 1};
    vkr_rqvae_result r;
    VKR_ASSERT_OK(vkr_rqvae_train(&c, &o, x, n, domain, &r));
    ts_assert_unique(r.ids, n, 4);
    assert_int_equal(r.steps, 3 * 3);
    vkr_rqvae_result_free(&r);
    free(x);
}

static void stats_and_disambiguation(void** state) {
    (void)state;
    /* 5 items, 2 levels of 4 codes; items 0, 2, 4 share path (1, 3) */
    const int32_t codes[10] = {1, 3, 0, 0, 1, 3, 2, 3, 1, 3};
    uint16_t ids[15];
    vkr_semid_stats st;
    VKR_ASSERT_OK(vkr_semantic_ids_build(codes, 5, 2, 4, ids, &st));
    const uint16_t want[15] = {1, 3, 0, 0, 0, 0, 1, 3, 1, 2, 3, 0, 1, 3, 2};
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(st.distinct_paths, 3);
    assert_float_equal(st.collision_rate, 0.4, 1e-12);
    assert_int_equal(st.max_per_path, 3);
    assert_int_equal(st.used[0], 3); /* codes 0, 1, 2 */
    assert_int_equal(st.used[1], 2); /* codes 0, 3 */
    assert_float_equal(st.utilization[0], 0.75, 1e-12);
    /* level 2: code 3 four times, code 0 once: exp(-(0.8 ln 0.8 + 0.2 ln 0.2)) */
    assert_float_equal(st.perplexity[1], exp(-(0.8 * log(0.8) + 0.2 * log(0.2))), 1e-12);
    const int32_t bad[2] = {0, 4};
    assert_int_equal(vkr_semantic_ids_build(bad, 1, 2, 4, ids, &st), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "outside [0, 4)"));
}

/* An input with three distinct directions cannot be told apart below the first level: the model's
 * second level uses one code (the uniform mapping must not hide that), so training fails with a
 * message that names the level and the input, and returns no result. */
static void collapse_is_an_error(void** state) {
    (void)state;
    const uint32_t n = 600, d = 8;
    float* x = calloc((size_t)n * d, 4);
    for (uint32_t i = 0; i < n; i++)
        if (i % 10) x[(size_t)i * d + i % 3] = 1 + 3.0f * (i % 3); /* every 10th row all zero */
    vkr_rqvae_config c = {.input_dim = d, .hidden = {16}, .hidden_count = 1, .latent = 4, .levels = 2, .codes = 32};
    vkr_rqvae_train_options o = {.device = vkr_test_shared.device, .batch = 64, .epochs = 3, .seed = 2};
    vkr_rqvae_result r;
    assert_int_equal(vkr_rqvae_train(&c, &o, x, n, NULL, &r), VKR_ERR_STATE);
    printf("%s\n", vkr_last_error());
    assert_non_null(strstr(vkr_last_error(), "level 2 uses 1/32 codes"));
    assert_non_null(strstr(vkr_last_error(), "3 distinct non-zero embeddings among 600 items (60 all zero)"));
    assert_null(r.codes);
    assert_null(r.ids);
    memset(x, 0, (size_t)n * d * 4);
    assert_int_equal(vkr_rqvae_train(&c, &o, x, n, NULL, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "all zero"));
    free(x);
}

/* The collapse rule on hand-made statistics: level floors, the per-path bound, items per path. */
static void collapse_rule(void** state) {
    (void)state;
    assert_int_equal(vkr_semid_max_per_path_bound(62696, 3, 256), 256);  /* ideal 1 per path: K wins */
    assert_int_equal(vkr_semid_max_per_path_bound(1000, 1, 10), 400);    /* 4 x 100 */
    assert_int_equal(vkr_semid_max_per_path_bound(1001, 1, 10), 404);    /* 4 x ceil(100.1) */
    assert_int_equal(vkr_semid_level_floor(62696, 256), 4);
    assert_int_equal(vkr_semid_level_floor(100, 4), 2);
    assert_int_equal(vkr_semid_level_floor(1, 256), 1);
    /* 20 items, one level of 16 codes: 2 codes used (floor max(2, ceil(16/64)) = 2), paths of 10 and 10 */
    int32_t codes[20];
    for (uint32_t i = 0; i < 20; i++) codes[i] = i < 10 ? 3 : 9;
    vkr_semid_stats st;
    VKR_ASSERT_OK(vkr_semantic_ids_build(codes, 20, 1, 16, NULL, &st));
    assert_int_equal(st.max_per_path, 10);
    assert_int_equal(st.p99_per_path, 10);
    assert_float_equal(st.mean_per_path, 10.0, 1e-12);
    VKR_ASSERT_OK(vkr_semid_check(&st)); /* bound max(16, 4 x ceil(20/16)) = 16 */
    codes[0] = 9;                         /* 11 items on one path, 9 on the other: still within bounds */
    VKR_ASSERT_OK(vkr_semantic_ids_build(codes, 20, 1, 16, NULL, &st));
    VKR_ASSERT_OK(vkr_semid_check(&st));
    for (uint32_t i = 0; i < 20; i++) codes[i] = 5; /* one code: below the floor */
    VKR_ASSERT_OK(vkr_semantic_ids_build(codes, 20, 1, 16, NULL, &st));
    assert_int_equal(vkr_semid_check(&st), VKR_ERR_STATE);
    assert_non_null(strstr(vkr_last_error(), "level 1 uses 1/16 codes (at least 2 needed); 1 distinct paths for 20 "
                                             "items, up to 20 items on one path"));
    /* 100 items, 2 levels of 4 codes: every level-1 code used, 97 items on one path (bound 28) */
    int32_t two[200];
    for (uint32_t i = 0; i < 100; i++) {
        two[2 * i] = (int32_t)(i < 97 ? 0 : i - 96);
        two[2 * i + 1] = (int32_t)(i % 4 == 0 || i >= 97 ? 1 + (i >= 97) : 1);
    }
    VKR_ASSERT_OK(vkr_semantic_ids_build(two, 100, 2, 4, NULL, &st));
    assert_int_equal(st.max_per_path, 97);
    assert_int_equal(vkr_semid_check(&st), VKR_ERR_STATE);
    assert_non_null(strstr(vkr_last_error(), "97 items share one code path (at most 28 allowed)"));
    /* p99 over paths: 100 singleton paths and one of 50 */
    int32_t many[150];
    for (uint32_t i = 0; i < 150; i++) many[i] = (int32_t)(i < 100 ? i : 100);
    VKR_ASSERT_OK(vkr_semantic_ids_build(many, 150, 1, 128, NULL, &st));
    assert_int_equal(st.distinct_paths, 101);
    assert_int_equal(st.max_per_path, 50);
    assert_int_equal(st.p99_per_path, 1); /* 100 of 101 paths hold one item */
    assert_float_equal(st.mean_per_path, 150.0 / 101, 1e-12);
}

static void malformed_input_is_refused(void** state) {
    (void)state;
    float x[8 * 4];
    vkr_test_fill_random(x, 32, 1);
    uint8_t dom[8] = {0, 1, 0, 1, 0, 1, 0, 5};
    vkr_rqvae_config c = {.input_dim = 4, .hidden = {4}, .hidden_count = 1, .latent = 2, .codes = 2,
                          .adapters = true, .domains = 2};
    vkr_rqvae_train_options o = {.epochs = 1};
    vkr_rqvae_result r;
    assert_int_equal(vkr_rqvae_train(&c, &o, x, 8, dom, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "item 7 has domain 5"));
    dom[7] = 1;
    x[5] = NAN;
    assert_int_equal(vkr_rqvae_train(&c, &o, x, 8, dom, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "row 1, column 1"));
    x[5] = 0;
    c.levels = 9;
    assert_int_equal(vkr_rqvae_train(&c, &o, x, 8, dom, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "levels"));
    c.levels = 0;
    c.input_dim = 0;
    assert_int_equal(vkr_rqvae_train(&c, &o, x, 8, dom, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "input_dim"));
    /* semantic_ids.npy: wrong dtype, wrong item count, duplicate IDs */
    char dir[] = "/tmp/vkr_test_semid_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", dir);
    uint16_t* ids = NULL;
    uint32_t n = 0, w = 0;
    const int32_t wrong[6] = {0, 1, 2, 3, 4, 5};
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_I32, 2, (uint64_t[]){3, 2}, wrong));
    assert_int_equal(vkr_semantic_ids_load(dir, 3, &ids, &n, &w), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "semantic_ids.npy"));
    const uint16_t dup[6] = {1, 0, 2, 0, 1, 0};
    VKR_ASSERT_OK(vkr_semantic_ids_save(dir, dup, 3, 2));
    assert_int_equal(vkr_semantic_ids_load(dir, 4, &ids, &n, &w), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_semantic_ids_load(dir, 3, &ids, &n, &w), VKR_ERR_FORMAT);
    assert_non_null(strstr(vkr_last_error(), "items 0 and 2 have the same semantic ID"));
    const uint16_t good[6] = {1, 0, 2, 0, 1, 1};
    VKR_ASSERT_OK(vkr_semantic_ids_save(dir, good, 3, 2));
    VKR_ASSERT_OK(vkr_semantic_ids_load(dir, 3, &ids, &n, &w));
    assert_int_equal(n, 3);
    assert_int_equal(w, 2);
    assert_memory_equal(ids, good, sizeof good);
    free(ids);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(level1_recovers_clusters),
        cmocka_unit_test(adapters_train_only_adapters),
        cmocka_unit_test(cpu_backend_runs),
        cmocka_unit_test(stats_and_disambiguation),
        cmocka_unit_test(cooccurrence_input_uses_codes),
        cmocka_unit_test(collapse_is_an_error),
        cmocka_unit_test(collapse_rule),
        cmocka_unit_test(malformed_input_is_refused),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
