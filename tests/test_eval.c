/* Evaluation a reviewer expects: HR@K and NDCG@K at every cut-off from hand-computed ranks,
 * --exclude-history on a dataset where earlier items outscore the target (scored and decoded
 * models), batched recommendations and the top-K file they make. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_test.h"

#include "vkr_rec.h"
#include "vkr_topk_io.h"

static void test_metrics_every_cutoff(void** state) {
    (void)state;
    const uint64_t ranks[] = {0, 4, 9, 19, 49, 999, 1000, VKR_RANK_MISSING};
    const uint32_t n = sizeof ranks / sizeof *ranks;
    vkr_metrics m = {0}, a = {0}, b = {0};
    for (uint32_t i = 0; i < n; i++) {
        vkr_metrics_add(&m, ranks[i]);
        vkr_metrics_add(i % 2 ? &a : &b, ranks[i]);
    }
    const uint32_t cutoffs[] = {1, 5, 10, 20, 50, 100, 1000};
    const uint32_t hits[] = {1, 2, 3, 4, 5, 5, 6}; /* rank 1000 and the missing target never hit */
    for (uint32_t c = 0; c < sizeof cutoffs / sizeof *cutoffs; c++) {
        double ndcg = 0;
        for (uint32_t i = 0; i < n; i++)
            if (ranks[i] < cutoffs[c]) ndcg += 1 / log2((double)ranks[i] + 2);
        vkr_cutoff_means at = vkr_metrics_at(&m, cutoffs[c]);
        assert_float_equal(at.hr, hits[c] / 8.0, 1e-12);
        assert_float_equal(at.ndcg, ndcg / 8, 1e-12);
    }
    vkr_metric_means v = vkr_metrics_means(&m);
    assert_true(v.hr5 == vkr_metrics_at(&m, 5).hr && v.ndcg10 == vkr_metrics_at(&m, 10).ndcg);
    assert_float_equal(v.mrr, (1 + 1 / 5.0 + 1 / 10.0 + 1 / 20.0 + 1 / 50.0 + 1 / 1000.0 + 1 / 1001.0) / 8, 1e-12);
    /* out of range cut-offs read as zeros, not as a neighbour's figures */
    assert_true(vkr_metrics_at(&m, 0).hr == 0 && vkr_metrics_at(&m, VKR_METRICS_MAX_CUTOFF + 1).hr == 0);
    vkr_metrics_merge(&a, &b);
    assert_int_equal(a.count, m.count);
    assert_memory_equal(a.at_rank, m.at_rank, sizeof m.at_rank);
    assert_float_equal(a.mrr, m.mrr, 1e-12);
}

static void test_sort_unique_and_rank_skipping(void** state) {
    (void)state;
    uint32_t k[] = {50, 1, 10, 5, 10, 1};
    assert_int_equal(vkr_sort_unique(k, 6), 4);
    assert_true(k[0] == 1 && k[1] == 5 && k[2] == 10 && k[3] == 50);
    assert_true(vkr_sorted_has(k, 4, 10) && !vkr_sorted_has(k, 4, 7) && !vkr_sorted_has(k, 4, 51));
    assert_false(vkr_sorted_has(k, 0, 1));
    const float s[5] = {0.5f, 0.9f, 0.5f, 0.1f, 0.8f};
    assert_int_equal(vkr_rank_of(s, 5, 0), 3);
    assert_int_equal(vkr_rank_skipping(s, 5, 0, (const uint32_t[]){1, 4}, 2), 1);
    assert_int_equal(vkr_rank_skipping(s, 5, 0, (const uint32_t[]){0, 1}, 2), 2); /* the target itself still ranks */
    assert_int_equal(vkr_rank_skipping(s, 5, 0, (const uint32_t[]){3}, 1), 3);    /* a lower score changes nothing */
    const float nan_s[3] = {NAN, 1.0f, 2.0f};
    assert_int_equal(vkr_rank_skipping(nan_s, 3, 0, (const uint32_t[]){2}, 1), 1); /* a NaN target ranks last */
}

/* Domain A = items 0..3, B = items 4..5. u0 [1 4 3 2]: target 2 after 1 and 3, which outscore it;
 * u1 [2 5 1]: target 1, the best; u2 [0 4 5]: a B target; u3 [2 3 2]: target 2 repeats its history. */
static const uint32_t tiny_items[] = {1, 4, 3, 2, 2, 5, 1, 0, 4, 5, 2, 3, 2};
static const uint64_t tiny_begin[] = {0, 4, 7, 10, 13};
static const uint32_t tiny_test[] = {0, 3, 1, 2, 2, 2, 3, 2};
static const uint8_t tiny_domain[] = {0, 0, 0, 0, 1, 1};
static const uint64_t tiny_user_off[] = {0, 3, 6, 9, 12};
static const uint64_t tiny_item_off[] = {0, 3, 6, 10, 13, 16, 19};

static vkr_dataset tiny_dataset(void) {
    vkr_dataset ds = {.domain_count = 2, .domain_name = {"A", "B"}, .item_begin = {0, 4, 6}, .item_count = 6,
                      .user_count = 4, .event_count = 13, .item_domain = tiny_domain, .seq_begin = tiny_begin,
                      .seq_item = tiny_items, .test = tiny_test, .test_count = 4};
    ds.user_key = (vkr_strtab){tiny_user_off, "u0\0u1\0u2\0u3"};
    ds.item_key = (vkr_strtab){tiny_item_off, "i0\0i1\0x,2\0i3\0i4\0i5"}; /* a comma to quote in CSV */
    return ds;
}

/* A model scoring domain A's items alike for every example, and decoding them in one fixed order. */
typedef struct fixed_model {
    float scores[4]; /* per item of A */
} fixed_model;

static vkr_status fixed_score(void* self, const uint32_t* pairs, uint32_t n, float* scores) {
    (void)pairs;
    for (uint32_t k = 0; k < n; k++) memcpy(scores + 4 * k, ((fixed_model*)self)->scores, 4 * sizeof *scores);
    return VKR_OK;
}

static const int32_t fixed_order[5] = {1, 3, 2, 0, -1}; /* width 5, the last slot empty */

static vkr_status fixed_top(void* self, const uint32_t* pairs, uint32_t n, int32_t* items, float* scores,
                            uint32_t* width) {
    (void)self, (void)pairs;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t j = 0; j < 5; j++) items[5 * k + j] = fixed_order[j], scores[5 * k + j] = -(float)j;
    *width = 5;
    return VKR_OK;
}

static vkr_status fixed_rank(void* self, const uint32_t* pairs, uint32_t n, uint64_t* ranks) {
    (void)self;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t target = tiny_items[tiny_begin[pairs[2 * k]] + pairs[2 * k + 1]];
        ranks[k] = VKR_RANK_MISSING;
        for (uint32_t j = 0; j < 4; j++)
            if ((uint32_t)fixed_order[j] == target) ranks[k] = j;
    }
    return VKR_OK;
}

/* HR@1 of domain A's test targets under the full protocol, history kept or left out. */
static double hr1(const vkr_dataset* ds, const vkr_scorer* sc, bool exclude) {
    vkr_protocol full = {.exclude_history = exclude};
    vkr_metrics m;
    VKR_ASSERT_OK(vkr_evaluate(ds, 0, ds->test, ds->test_count, sc, &full, &m));
    assert_int_equal(m.count, 3); /* u2's B target is not domain A's */
    return vkr_metrics_at(&m, 1).hr;
}

static void test_exclude_history(void** state) {
    (void)state;
    vkr_dataset ds = tiny_dataset();
    fixed_model fm = {{0.1f, 0.9f, 0.5f, 0.8f}};
    vkr_scorer scored = {.self = &fm, .batch = 2, .score = fixed_score};
    vkr_scorer decoded = {.self = &fm, .batch = 2, .rank_full = fixed_rank, .top_items = fixed_top, .top_width = 5};
    /* kept: u0's target ranks 2 (items 1, 3 above), u1's 0, u3's 1 (item 1) */
    assert_float_equal(hr1(&ds, &scored, false), 1 / 3.0, 1e-12);
    assert_float_equal(hr1(&ds, &decoded, false), 1 / 3.0, 1e-12);
    /* left out: u0's target ranks 0; u3's stays 1 (item 1 is not in its history; 2, the target, still ranks) */
    assert_float_equal(hr1(&ds, &scored, true), 2 / 3.0, 1e-12);
    assert_float_equal(hr1(&ds, &decoded, true), 2 / 3.0, 1e-12);
    vkr_protocol full = {.exclude_history = true};
    vkr_metrics m;
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &scored, &full, &m));
    assert_int_equal(m.at_rank[0], 2);
    assert_int_equal(m.at_rank[1], 1);
    /* a decoding model without top_items cannot leave the history out: said, not ignored */
    vkr_scorer rank_only = {.self = &fm, .batch = 2, .rank_full = fixed_rank};
    assert_int_equal(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &rank_only, &full, &m), VKR_ERR_UNSUPPORTED);
    /* sampled negatives never include the user's items: the flag changes nothing there (sampled:1, as
     * u0 leaves one item of A unseen) */
    vkr_protocol sampled, sampled_ex;
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:1", &sampled));
    sampled_ex = sampled;
    sampled_ex.exclude_history = true;
    vkr_metrics s1, s2;
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &scored, &sampled, &s1));
    VKR_ASSERT_OK(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &scored, &sampled_ex, &s2));
    assert_memory_equal(&s1, &s2, sizeof s1);
}

/* A sampled protocol is refused, naming the user and the largest N that works, when a user has fewer
 * unseen items than N negatives: its metric would be a smaller protocol under the asked-for name. */
static void test_sampled_protocol_needs_enough_items(void** state) {
    (void)state;
    vkr_dataset ds = tiny_dataset();
    fixed_model fm = {{0.1f, 0.9f, 0.5f, 0.8f}};
    vkr_scorer scored = {.self = &fm, .batch = 2, .score = fixed_score};
    vkr_protocol pr;
    vkr_metrics m;
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:1", &pr));
    VKR_ASSERT_OK(vkr_protocol_check(&ds, 0, ds.test, ds.test_count, &pr));
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:2", &pr)); /* u0 saw items 1, 2 and 3 of A's 4 */
    assert_int_equal(vkr_protocol_check(&ds, 0, ds.test, ds.test_count, &pr), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "user 'u0'"));
    assert_non_null(strstr(vkr_last_error(), "N <= 1"));
    assert_int_equal(vkr_evaluate(&ds, 0, ds.test, ds.test_count, &scored, &pr, &m), VKR_ERR_INVALID_ARGUMENT);
    VKR_ASSERT_OK(vkr_protocol_parse("sampled:5000", &pr)); /* more than the domain holds */
    assert_int_equal(vkr_protocol_check(&ds, 1, ds.test, ds.test_count, &pr), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "domain B: it has 2 items"));
    VKR_ASSERT_OK(vkr_protocol_parse("full", &pr));
    VKR_ASSERT_OK(vkr_protocol_check(&ds, 0, ds.test, ds.test_count, &pr));
}

/* Lists at each example's position, history skipped, equal for the scored and the decoded model here,
 * and holding the target exactly when its rank with the history left out is below k. */
static void test_recommend_batch(void** state) {
    (void)state;
    vkr_dataset ds = tiny_dataset();
    fixed_model fm = {{0.1f, 0.9f, 0.5f, 0.8f}};
    vkr_scorer scored = {.self = &fm, .batch = 1, .score = fixed_score}; /* batch 1: two calls */
    vkr_scorer decoded = {.self = &fm, .batch = 2, .top_items = fixed_top, .top_width = 5};
    const uint32_t pairs[] = {0, 3, 1, 2, 0, 2};
    const uint32_t want[3][2] = {{2, 0}, {1, 3}, {3, 2}}; /* u0 at 2 has seen 1 only, so 3 (0.8) leads */
    uint32_t items[6], counts[3];
    float scores[6];
    VKR_ASSERT_OK(vkr_recommend_batch(&ds, 0, pairs, 3, &scored, 2, items, scores, counts));
    for (uint32_t e = 0; e < 3; e++) {
        assert_int_equal(counts[e], 2);
        assert_memory_equal(items + 2 * e, want[e], sizeof want[e]);
    }
    assert_true(scores[0] == 0.5f && scores[1] == 0.1f && scores[4] == 0.8f);
    VKR_ASSERT_OK(vkr_recommend_batch(&ds, 0, pairs, 3, &decoded, 2, items, scores, counts));
    for (uint32_t e = 0; e < 3; e++) assert_memory_equal(items + 2 * e, want[e], sizeof want[e]);
    /* ties: the lower item id first */
    fixed_model flat = {{0.5f, 0.5f, 0.5f, 0.5f}};
    scored.self = &flat;
    VKR_ASSERT_OK(vkr_recommend_batch(&ds, 0, pairs, 1, &scored, 4, items, scores, counts));
    assert_int_equal(counts[0], 2); /* only 0 and 2 are unseen */
    assert_true(items[0] == 0 && items[1] == 2);
    const uint32_t beyond[] = {0, 5};
    assert_int_equal(vkr_recommend_batch(&ds, 0, beyond, 1, &scored, 2, items, scores, counts),
                     VKR_ERR_INVALID_ARGUMENT);
}

/* A 1000-item domain with ties and NaNs: the heap's k best equal a full sort's. */
static vkr_status random_score(void* self, const uint32_t* pairs, uint32_t n, float* scores) {
    (void)pairs;
    for (uint32_t k = 0; k < n; k++) memcpy(scores + 1000 * k, self, 1000 * sizeof *scores);
    return VKR_OK;
}

static void test_recommend_top_k_large(void** state) {
    (void)state;
    static float s[1000];
    vkr_test_fill_random(s, 1000, 7);
    for (uint32_t j = 0; j < 1000; j++) s[j] = j % 97 == 0 ? NAN : roundf(s[j] * 50) / 50; /* many ties */
    const uint32_t seq[] = {5, 9};
    const uint64_t begin[] = {0, 2};
    vkr_dataset ds = {.domain_count = 1, .item_begin = {0, 1000}, .item_count = 1000, .user_count = 1,
                      .seq_begin = begin, .seq_item = seq};
    vkr_scorer sc = {.self = s, .batch = 1, .score = random_score};
    const uint32_t pair[] = {0, 2};
    uint32_t items[40], count;
    float scores[40];
    VKR_ASSERT_OK(vkr_recommend_batch(&ds, 0, pair, 1, &sc, 40, items, scores, &count));
    assert_int_equal(count, 40);
    bool taken[1000] = {0};
    for (uint32_t r = 0; r < 40; r++) { /* the best remaining by (score, then lower id), by a plain scan */
        int64_t best = -1;
        for (uint32_t j = 0; j < 1000; j++)
            if (!taken[j] && j != 5 && j != 9 && !isnan(s[j]) && (best < 0 || s[j] > s[best])) best = j;
        taken[best] = true;
        assert_int_equal(items[r], best);
        assert_true(scores[r] == s[best]);
    }
}

/* vkr_topk_options.scorer over a scorer passed as the model. */
static vkr_scorer pass_scorer(void* model, uint32_t domain) {
    (void)domain;
    return *(vkr_scorer*)model;
}

/* The whole text of a file (malloc'd). */
static char* slurp(const char* path) {
    FILE* f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* The top-K file: CSV rows exactly, JSON fields read back, examples of unranked domains left out,
 * bad names and options refused without writing. */
static void test_topk_write(void** state) {
    (void)state;
    vkr_dataset ds = tiny_dataset();
    fixed_model fm = {{0.1f, 0.9f, 0.5f, 0.8f}};
    vkr_scorer sc = {.self = &fm, .batch = 4, .score = fixed_score};
    const bool domains[2] = {true, false};
    vkr_topk_options o = {.pairs = ds.test, .count = 3, .domains = domains, .scorer = pass_scorer, .model = &sc,
                          .k = 2, .model_name = "fixed", .split = "test"};
    char csv[256], json[256], bad[256];
    vkr_test_tmpdir_path(csv, sizeof csv, "top.csv");
    vkr_test_tmpdir_path(json, sizeof json, "top.json");
    vkr_test_tmpdir_path(bad, sizeof bad, "top.txt");
    uint32_t listed = 0;
    VKR_ASSERT_OK(vkr_topk_write(&ds, &o, csv, &listed));
    assert_int_equal(listed, 2); /* u2's target is in B */
    char* text = slurp(csv);
    assert_string_equal(text, "user,rank,item_id,item_key,domain,score\n"
                              "u0,1,2,\"x,2\",A,0.5\n"
                              "u0,2,0,i0,A,0.100000001\n"
                              "u1,1,1,i1,A,0.899999976\n"
                              "u1,2,3,i3,A,0.800000012\n");
    free(text);
    VKR_ASSERT_OK(vkr_topk_write(&ds, &o, json, NULL));
    text = slurp(json);
    cJSON* root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "model")->valuestring, "fixed");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "exclude_history")));
    assert_int_equal(cJSON_GetObjectItem(root, "k")->valueint, 2);
    cJSON* lists = cJSON_GetObjectItem(root, "lists");
    assert_int_equal(cJSON_GetArraySize(lists), 2);
    cJSON* first = cJSON_GetArrayItem(lists, 0);
    assert_string_equal(cJSON_GetObjectItem(first, "user")->valuestring, "u0");
    assert_int_equal(cJSON_GetObjectItem(first, "position")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(first, "target")->valuestring, "x,2");
    cJSON* top = cJSON_GetArrayItem(cJSON_GetObjectItem(first, "items"), 0);
    assert_int_equal(cJSON_GetObjectItem(top, "item_id")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(top, "item_key")->valuestring, "x,2");
    assert_true(cJSON_GetObjectItem(top, "score")->valuedouble == 0.5);
    cJSON_Delete(root);
    /* an unknown extension and a missing scorer are refused before anything is written */
    bool is_json = true;
    assert_int_equal(vkr_topk_format(bad, &is_json), VKR_ERR_INVALID_ARGUMENT);
    assert_false(is_json);
    assert_non_null(strstr(vkr_last_error(), "top.txt"));
    assert_int_equal(vkr_topk_write(&ds, &o, bad, &listed), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(listed, 0);
    assert_null(fopen(bad, "r"));
    o.scorer = NULL;
    assert_int_equal(vkr_topk_write(&ds, &o, csv, NULL), VKR_ERR_INVALID_ARGUMENT);
}

static int setup(void** state) {
    (void)state;
    return vkr_test_tmpdir_open("vkr_eval");
}

static int teardown(void** state) {
    (void)state;
    return vkr_test_tmpdir_close();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_every_cutoff),
        cmocka_unit_test(test_sort_unique_and_rank_skipping),
        cmocka_unit_test(test_exclude_history),
        cmocka_unit_test(test_sampled_protocol_needs_enough_items),
        cmocka_unit_test(test_recommend_batch),
        cmocka_unit_test(test_recommend_top_k_large),
        cmocka_unit_test(test_topk_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
