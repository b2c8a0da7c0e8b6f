/* Semantic-ID schemes beside the RQ-VAE: residual k-means recovers clusters on the device as on the
 * CPU reference path and lowers its error with every level; LC-Rec's uniform mapping cuts the
 * collisions of duplicate embeddings (and --no-balance keeps the nearest codes); random IDs are
 * seeded, use every code and collide as the birthday bound says; all-zero rows get spread paths;
 * bad input is refused with a message naming it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_semid_util.h"
#include "vkr_semid_schemes.h"
#include "vkr_test.h"

/* Share of items whose level-1 code's majority cluster is their own. */
static double level1_purity(const int32_t* codes, uint32_t levels, const int32_t* truth, uint32_t n, uint32_t k) {
    uint32_t* tab = calloc((size_t)k * k, sizeof *tab);
    assert_non_null(tab);
    for (uint32_t i = 0; i < n; i++) tab[(size_t)codes[(size_t)i * levels] * k + (uint32_t)truth[i]]++;
    uint32_t good = 0;
    for (uint32_t c = 0; c < k; c++) {
        uint32_t best = 0;
        for (uint32_t t = 0; t < k; t++) best = tab[(size_t)c * k + t] > best ? tab[(size_t)c * k + t] : best;
        good += best;
    }
    free(tab);
    return (double)good / n;
}

static void rkmeans_recovers_clusters_on_both_backends(void** state) {
    (void)state;
    const uint32_t n = 397, d = 13, k = 8; /* odd sizes: no multiple of any tile */
    int32_t truth[397];
    float* x = ts_clustered(n, d, k, 0.08f, truth, NULL);
    vkr_semid_scheme_options o = {.device = vkr_test_shared.device, .levels = 2, .codes = k, .seed = 4};
    vkr_semid_scheme_result gpu, cpu;
    VKR_ASSERT_OK(vkr_rkmeans_tokenize(&o, x, n, d, &gpu));
    o.device = NULL;
    VKR_ASSERT_OK(vkr_rkmeans_tokenize(&o, x, n, d, &cpu));
    double purity = level1_purity(gpu.ids.codes, 2, truth, n, k);
    print_message("level-1 purity %.3f, collisions %.3f (nearest %.3f), mse %.5f\n", purity,
                  gpu.ids.stats.collision_rate, gpu.nearest_stats.collision_rate, gpu.recon_mse);
    assert_true(purity >= 0.99);
    assert_int_equal(gpu.levels, 2);
    assert_int_equal(gpu.codes, k);
    assert_int_equal(gpu.dim, d);
    ts_assert_unique(gpu.ids.ids, n, 3);
    /* the device's k-means and the CPU reference path agree on every code and centroid */
    assert_memory_equal(gpu.ids.codes, cpu.ids.codes, (size_t)n * 2 * sizeof *gpu.ids.codes);
    assert_true(vkr_test_nmse(gpu.codebooks, cpu.codebooks, (size_t)2 * k * d) < 1e-10);
    assert_true(gpu.ids.stats.collision_rate <= gpu.nearest_stats.collision_rate);
    /* every level lowers the error of the rows against their codes' sum */
    double mse[3];
    for (uint32_t levels = 1; levels <= 3; levels++) {
        vkr_semid_scheme_result r;
        o.levels = levels;
        VKR_ASSERT_OK(vkr_rkmeans_tokenize(&o, x, n, d, &r));
        mse[levels - 1] = r.recon_mse;
        vkr_semid_scheme_result_free(&r);
    }
    assert_true(mse[1] < 0.8 * mse[0] && mse[2] < mse[1]);
    vkr_semid_scheme_result_free(&gpu);
    vkr_semid_scheme_result_free(&cpu);
    free(x);
}

/* 20 distinct rows, each 8 times: the nearest codes can give at most 20 paths; the uniform mapping
 * spreads each group over the last level's codes. */
static void uniform_mapping_cuts_collisions(void** state) {
    (void)state;
    const uint32_t n = 160, d = 6, k = 8;
    float* base = ts_clustered(20, d, 20, 0.0f, NULL, NULL);
    float* x = malloc((size_t)n * d * sizeof *x);
    assert_non_null(x);
    for (uint32_t i = 0; i < n; i++) memcpy(x + (size_t)i * d, base + (size_t)(i % 20) * d, d * sizeof *x);
    vkr_semid_scheme_options o = {.device = vkr_test_shared.device, .levels = 3, .codes = k, .seed = 1};
    vkr_semid_scheme_result on, off;
    VKR_ASSERT_OK(vkr_rkmeans_tokenize(&o, x, n, d, &on));
    o.no_balance = true;
    VKR_ASSERT_OK(vkr_rkmeans_tokenize(&o, x, n, d, &off));
    print_message("collisions %.3f -> %.3f, %u items moved, most per path %u -> %u\n",
                  on.nearest_stats.collision_rate, on.ids.stats.collision_rate, on.balanced,
                  on.nearest_stats.max_per_path, on.ids.stats.max_per_path);
    assert_true(on.nearest_stats.collision_rate >= 0.875 - 1e-9); /* at most 20 paths for 160 items */
    assert_true(on.ids.stats.collision_rate < on.nearest_stats.collision_rate);
    assert_true(on.balanced > 0);
    assert_true(on.ids.stats.max_per_path < on.nearest_stats.max_per_path);
    /* without the mapping the IDs keep the nearest codes */
    assert_int_equal(off.balanced, 0);
    assert_true(fabs(off.ids.stats.collision_rate - off.nearest_stats.collision_rate) < 1e-12);
    assert_int_equal(off.ids.stats.max_per_path, off.nearest_stats.max_per_path);
    ts_assert_unique(on.ids.ids, n, 4);
    ts_assert_unique(off.ids.ids, n, 4);
    vkr_semid_scheme_result_free(&on);
    vkr_semid_scheme_result_free(&off);
    free(base);
    free(x);
}

static void random_ids_follow_the_birthday_bound(void** state) {
    (void)state;
    const uint32_t n = 5001, L = 2, K = 16, P = K * K;
    vkr_semid_scheme_options o = {.levels = L, .codes = K, .seed = 9};
    vkr_semid_scheme_result a, b, c;
    VKR_ASSERT_OK(vkr_random_ids(&o, n, &a));
    VKR_ASSERT_OK(vkr_random_ids(&o, n, &b));
    o.seed = 10;
    VKR_ASSERT_OK(vkr_random_ids(&o, n, &c));
    assert_memory_equal(a.ids.ids, b.ids.ids, (size_t)n * (L + 1) * sizeof *a.ids.ids);
    assert_memory_not_equal(a.ids.codes, c.ids.codes, (size_t)n * L * sizeof *a.ids.codes);
    for (size_t e = 0; e < (size_t)n * L; e++) assert_true(a.ids.codes[e] >= 0 && a.ids.codes[e] < (int32_t)K);
    for (uint32_t l = 0; l < L; l++) {
        assert_int_equal(a.ids.stats.used[l], K);
        assert_true(a.ids.stats.perplexity[l] > 0.98 * K);
    }
    /* expected distinct paths of n uniform draws over P paths */
    double expected = 1.0 - P * (1.0 - pow(1.0 - 1.0 / P, n)) / n;
    print_message("collision rate %.4f, expected %.4f\n", a.ids.stats.collision_rate, expected);
    assert_true(fabs(a.ids.stats.collision_rate - expected) < 0.01);
    assert_int_equal(a.ids.no_signal, 0);
    ts_assert_unique(a.ids.ids, n, L + 1);
    vkr_semid_scheme_result_free(&a);
    vkr_semid_scheme_result_free(&b);
    vkr_semid_scheme_result_free(&c);
}

/* Items without a signal (all-zero rows) are left out of the clustering and spread over the codes. */
static void zero_rows_get_spread_paths(void** state) {
    (void)state;
    const uint32_t n = 120, d = 5;
    float* x = ts_clustered(n, d, 6, 0.3f, NULL, NULL);
    for (uint32_t i = 0; i < n; i += 4) memset(x + (size_t)i * d, 0, d * sizeof *x);
    vkr_semid_scheme_options o = {.levels = 2, .codes = 6, .seed = 2};
    vkr_semid_scheme_result r;
    VKR_ASSERT_OK(vkr_rkmeans_tokenize(&o, x, n, d, &r));
    assert_int_equal(r.ids.no_signal, 30);
    assert_int_equal(r.ids.signal_stats.items, 90);
    assert_int_equal(r.distinct_rows, 90);
    ts_assert_unique(r.ids.ids, n, 3);
    vkr_semid_scheme_result_free(&r);
    free(x);
}

static void bad_input_is_refused(void** state) {
    (void)state;
    float x[10 * 3];
    vkr_test_fill_random(x, 30, 3);
    vkr_semid_scheme_options o = {.levels = 2, .codes = 11};
    vkr_semid_scheme_result r;
    EXPECT_FAIL(vkr_rkmeans_tokenize(&o, x, 10, 3, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "11 codes per level for 10 items"));
    o.codes = 4;
    x[7] = NAN;
    EXPECT_FAIL(vkr_rkmeans_tokenize(&o, x, 10, 3, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "row 2, column 1"));
    memset(x, 0, sizeof x);
    EXPECT_FAIL(vkr_rkmeans_tokenize(&o, x, 10, 3, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "all zero"));
    o.levels = VKR_SEMID_MAX_LEVELS + 1;
    EXPECT_FAIL(vkr_random_ids(&o, 10, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "levels"));
    o.levels = 2;
    EXPECT_FAIL(vkr_random_ids(&o, 0, &r), VKR_ERR_INVALID_ARGUMENT);
    /* a collapsed input (every row the same direction) is an error naming the level, not IDs */
    for (uint32_t i = 0; i < 10; i++) x[i * 3] = 1.0f;
    o.codes = 4;
    EXPECT_FAIL(vkr_rkmeans_tokenize(&o, x, 10, 3, &r), VKR_ERR_STATE);
    print_message("%s\n", vkr_last_error());
    assert_non_null(strstr(vkr_last_error(), "level"));
    assert_null(r.ids.ids);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rkmeans_recovers_clusters_on_both_backends),
        cmocka_unit_test(uniform_mapping_cuts_collisions),
        cmocka_unit_test(random_ids_follow_the_birthday_bound),
        cmocka_unit_test(zero_rows_get_spread_paths),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
