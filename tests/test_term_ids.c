/* GRLM-style term IDs: own terms by weight, written from the most to the least common term, the pad
 * token where an item has fewer terms; the neighbours' context prefers the terms that tell an item
 * apart and fills the slots of items without text; the vocabulary is ranked by document frequency;
 * items with the same terms are told apart; bad input is refused with a message naming it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_csr.h"
#include "vkr_term_ids.h"
#include "vkr_test.h"

/* 5 items x 6 terms: item 3 has no text; item 4 repeats item 1's terms. */
static void make_tfidf(vkr_csr* m) {
    static const uint32_t src[] = {0, 0, 0, 1, 1, 2, 2, 2, 4, 4};
    static const uint32_t dst[] = {0, 1, 2, 0, 3, 0, 1, 4, 0, 3};
    static const float w[] = {0.9f, 0.5f, 0.3f, 0.8f, 0.6f, 0.2f, 0.7f, 0.9f, 0.8f, 0.6f};
    VKR_ASSERT_OK(vkr_csr_from_edges(5, 6, 10, src, dst, w, m));
}

static void own_terms_by_weight_ordered_by_frequency(void** state) {
    (void)state;
    vkr_csr m;
    make_tfidf(&m);
    vkr_term_ids_result r;
    VKR_ASSERT_OK(vkr_term_ids(&m, NULL, 0, &(vkr_term_ids_options){.levels = 3}, &r));
    /* df: t0 4, t3 2, t1 2, t2 1, t4 1 -> tokens t0, t1, t3, t2, t4 (ties by column), pad 5 */
    assert_int_equal(r.codes, 6);
    static const uint32_t columns[] = {0, 1, 3, 2, 4}, dfs[] = {4, 2, 2, 1, 1};
    assert_memory_equal(r.token_column, columns, sizeof columns);
    assert_memory_equal(r.token_df, dfs, sizeof dfs);
    static const int32_t want[5][3] = {{0, 1, 3}, {0, 2, 5}, {0, 1, 4}, {5, 5, 5}, {0, 2, 5}};
    assert_memory_equal(r.ids.codes, want, sizeof want);
    assert_int_equal(r.padded_items, 3);
    assert_int_equal(r.empty_items, 1);
    assert_int_equal(r.context_terms, 0);
    /* items 1 and 4 share their terms: one collision, told apart by the last token */
    assert_int_equal(r.ids.stats.distinct_paths, 4);
    assert_int_equal(r.ids.ids[1 * 4 + 3], 0);
    assert_int_equal(r.ids.ids[4 * 4 + 3], 1);
    assert_true(fabs(r.ids.stats.collision_rate - 0.2) < 1e-12);
    vkr_term_ids_result_free(&r);
    vkr_csr_free(&m);
}

static void context_prefers_distinct_terms_and_fills_empty_items(void** state) {
    (void)state;
    vkr_csr m;
    make_tfidf(&m);
    /* item 0's neighbours share t0 (mean 0.5) and t1 (mean 0.35); item 3 (no text) has item 0 */
    const int32_t knn[5 * 2] = {1, 2, -1, -1, -1, -1, 0, -1, -1, -1};
    vkr_term_ids_result r;
    VKR_ASSERT_OK(vkr_term_ids(&m, knn, 2, &(vkr_term_ids_options){.levels = 2, .context = 1}, &r));
    /* item 0: t0 0.9 - 0.5 = 0.4, t2 0.3, t1 0.5 - 0.35 = 0.15 -> t0, t2 (t1 without the context) */
    const uint32_t tok_t2 = 3; /* tokens: t0 0, t1 1, t3 2, t2 3, t4 4 (the vocabulary of the chosen terms) */
    assert_int_equal(r.token_column[tok_t2], 2);
    assert_int_equal(r.ids.codes[0], 0);
    assert_int_equal(r.ids.codes[1], (int32_t)tok_t2);
    /* item 3 takes its neighbour's terms t0 and t1 */
    assert_int_equal(r.ids.codes[3 * 2 + 0], 0);
    assert_int_equal(r.ids.codes[3 * 2 + 1], 1);
    assert_int_equal(r.context_terms, 2);
    assert_int_equal(r.empty_items, 0);
    vkr_term_ids_result_free(&r);
    VKR_ASSERT_OK(vkr_term_ids(&m, knn, 2, &(vkr_term_ids_options){.levels = 2, .context = 0}, &r));
    assert_int_equal(r.token_column[r.ids.codes[1]], 1); /* no penalty: t0, t1 */
    vkr_term_ids_result_free(&r);
    vkr_csr_free(&m);
}

static void bad_input_is_refused(void** state) {
    (void)state;
    vkr_csr m;
    make_tfidf(&m);
    vkr_term_ids_result r;
    int32_t knn[5] = {1, 2, 3, 4, 5};
    EXPECT_FAIL(vkr_term_ids(&m, knn, 1, &(vkr_term_ids_options){.levels = 2}, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "item 4's neighbour 5"));
    EXPECT_FAIL(vkr_term_ids(&m, NULL, 0, &(vkr_term_ids_options){.levels = VKR_SEMID_MAX_LEVELS + 1}, &r),
                VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "levels"));
    EXPECT_FAIL(vkr_term_ids(&m, NULL, 0, &(vkr_term_ids_options){.context = NAN}, &r), VKR_ERR_INVALID_ARGUMENT);
    EXPECT_FAIL(vkr_term_ids(&m, NULL, 0, &(vkr_term_ids_options){.context = -1}, &r), VKR_ERR_INVALID_ARGUMENT);
    m.val[3] = -0.5f;
    EXPECT_FAIL(vkr_term_ids(&m, NULL, 0, &(vkr_term_ids_options){0}, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "negative weight (entry 3)"));
    m.col[0] = 9;
    EXPECT_FAIL(vkr_term_ids(&m, NULL, 0, &(vkr_term_ids_options){0}, &r), VKR_ERR_INVALID_ARGUMENT);
    assert_null(r.ids.ids);
    vkr_csr_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(own_terms_by_weight_ordered_by_frequency),
        cmocka_unit_test(context_prefers_distinct_terms_and_fills_empty_items),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
