/* SemaCDR's collaborative graphs (models/rec/vkr_cdgraph.h) on a hand-worked dataset: binary edges,
 * self-loops and degree normalization, the window, the entry bound, and that no validation or test
 * event enters a graph. */
#include <math.h>
#include <string.h>

#include "vkr_cdgraph.h"
#include "vkr_test.h"

/* Domain A = items 0..3, B = items 4..5; the last event of each user is its test target.
 * u0 [0 4 1 | 2], u1 [1 3 | 5], u2 [0 1 3 | 5]: items 2 and 5 occur only as test targets. */
static const uint32_t g_items[] = {0, 4, 1, 2, 1, 3, 5, 0, 1, 3, 5};
static const uint64_t g_begin[] = {0, 4, 7, 11};
static const uint32_t g_train_len[] = {3, 2, 3};
static const uint32_t g_test[] = {0, 3, 1, 2, 2, 3};
static const uint8_t g_domain[] = {0, 0, 0, 0, 1, 1};

static vkr_dataset graph_dataset(void) {
    return (vkr_dataset){.domain_count = 2, .domain_name = {"A", "B"}, .item_begin = {0, 4, 6}, .item_count = 6,
                         .user_count = 3, .event_count = 11, .item_domain = g_domain, .seq_begin = g_begin,
                         .seq_item = g_items, .train_len = g_train_len, .test = g_test, .test_count = 3};
}

/* The value at (i, j), or 0 when not stored. */
static float entry(const vkr_csr* m, uint32_t i, uint32_t j) {
    for (uint32_t k = m->row_ptr[i]; k < m->row_ptr[i + 1]; k++)
        if (m->col[k] == j) return m->val[k];
    return 0.0f;
}

static uint32_t row_len(const vkr_csr* m, uint32_t i) {
    return m->row_ptr[i + 1] - m->row_ptr[i];
}

static void test_item_graph(void** state) {
    (void)state;
    vkr_dataset ds = graph_dataset();
    vkr_csr a;
    /* every pair of a user's items: 0-1, 1-3, 0-3, each node of {0, 1, 3} has degree 3 with its loop */
    VKR_ASSERT_OK(vkr_cdgraph_items(&ds, 0, NULL, &a));
    VKR_ASSERT_OK(vkr_csr_check(&a, "item graph"));
    assert_int_equal(a.rows, 4);
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t j = 0; j < 4; j++) {
            float want = (i == 2 || j == 2) ? (i == j ? 1.0f : 0.0f) : 1.0f / 3.0f;
            assert_float_equal(entry(&a, i, j), want, 1e-6);
        }
    assert_int_equal(row_len(&a, 2), 1); /* item 2 is only a test target: its self-loop alone */
    vkr_csr_free(&a);
    /* window 1: u2's 0 and 3 are two positions apart, so 0-3 goes */
    VKR_ASSERT_OK(vkr_cdgraph_items(&ds, 0, &(vkr_cdgraph_options){.window = 1}, &a));
    assert_float_equal(entry(&a, 0, 3), 0.0f, 0);
    assert_float_equal(entry(&a, 0, 1), 1.0f / sqrtf(6.0f), 1e-6);
    assert_float_equal(entry(&a, 0, 0), 0.5f, 1e-6);
    vkr_csr_free(&a);
    /* domain B: item 4 in u0's training, item 5 only in tests */
    VKR_ASSERT_OK(vkr_cdgraph_items(&ds, 1, NULL, &a));
    assert_int_equal(a.rows, 2);
    assert_int_equal(a.nnz, 2);
    assert_float_equal(entry(&a, 1, 1), 1.0f, 0);
    vkr_csr_free(&a);
}

static void test_mixed_graph(void** state) {
    (void)state;
    vkr_dataset ds = graph_dataset();
    vkr_csr a;
    VKR_ASSERT_OK(vkr_cdgraph_mixed(&ds, NULL, &a));
    VKR_ASSERT_OK(vkr_csr_check(&a, "mixed graph"));
    assert_int_equal(a.rows, 9); /* 3 users, then 6 items */
    /* u0 has 3 training items + its loop; item 1 has 3 users + its loop */
    assert_float_equal(entry(&a, 0, 3 + 1), 0.25f, 1e-6);
    assert_float_equal(entry(&a, 3 + 1, 0), 0.25f, 1e-6);
    /* u1 (2 items + loop) and item 3 (u1, u2 + loop) */
    assert_float_equal(entry(&a, 1, 3 + 3), 1.0f / 3.0f, 1e-6);
    /* test targets 2 and 5 never link to a user */
    assert_int_equal(row_len(&a, 3 + 2), 1);
    assert_int_equal(row_len(&a, 3 + 5), 1);
    assert_float_equal(entry(&a, 0, 3 + 2), 0.0f, 0);
    for (uint32_t i = 0; i < a.rows; i++) /* symmetric */
        for (uint32_t k = a.row_ptr[i]; k < a.row_ptr[i + 1]; k++)
            assert_float_equal(entry(&a, a.col[k], i), a.val[k], 0);
    vkr_csr_free(&a);
}

static void test_bounds(void** state) {
    (void)state;
    vkr_dataset ds = graph_dataset();
    vkr_csr a;
    EXPECT_FAIL(vkr_cdgraph_mixed(&ds, &(vkr_cdgraph_options){.max_entries = 5}, &a), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "more than 5 entries"));
    assert_null(a.row_ptr);
    EXPECT_FAIL(vkr_cdgraph_items(&ds, 2, NULL, &a), VKR_ERR_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_item_graph), cmocka_unit_test(test_mixed_graph),
                                       cmocka_unit_test(test_bounds)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
