/* The semantic-ID trie: round trips both ways for every item, rejection of paths that are no
 * item's prefix, domain tries (also over every semantic-ID scheme's IDs), the breadth-first layout invariants, the dense masks and node counts
 * against brute force, the packed GPU image, and malformed input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_quantize.h"
#include "vkr_test.h"
#include "vkr_trie.h"
#include "test_semid_util.h"


enum { N = 600, LEVELS = 3, K = 6, W = LEVELS + 1 };

/* Unique IDs from random codes (disambiguated like the tokenizer does) and alternating domains. */
static void make_ids(uint16_t* ids, uint8_t* domain) {
    int32_t codes[N * LEVELS];
    uint32_t s = 12345;
    for (int i = 0; i < N * LEVELS; i++) {
        s = s * 1664525u + 1013904223u;
        codes[i] = (int32_t)((s >> 16) % (i % LEVELS == 0 ? 4 : K)); /* level 1 uses 4 of the 6 codes */
    }
    VKR_ASSERT_OK(vkr_semantic_ids_build(codes, N, LEVELS, K, ids, NULL));
    for (int i = 0; i < N; i++) domain[i] = (uint8_t)(i % 3 == 0);
}

/* Number of distinct length-`len` prefixes among the kept items (brute force). */
static uint32_t distinct_prefixes(const uint16_t* ids, const uint8_t* domain, int dom, uint32_t len) {
    uint32_t count = 0;
    for (int i = 0; i < N; i++) {
        if (dom >= 0 && domain[i] != dom) continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = (dom < 0 || domain[j] == dom) && memcmp(ids + j * W, ids + i * W, len * 2) == 0;
        count += !seen;
    }
    return count;
}

static void check_trie(const vkr_trie* t, const uint16_t* ids, const uint8_t* domain, int dom) {
    uint32_t kept = 0;
    for (int i = 0; i < N; i++) kept += dom < 0 || domain[i] == dom;
    assert_int_equal(t->item_count, kept);
    assert_int_equal(t->edge_count + 1, t->node_count);
    /* breadth-first layout: edge e leads to node e + 1, siblings sorted, parents consistent */
    for (uint32_t e = 0; e < t->edge_count; e++) assert_int_equal(t->child_node[e], e + 1);
    for (uint32_t v = 0; v < t->node_count; v++) {
        for (uint32_t c = 0; c < t->child_count[v]; c++) {
            uint32_t e = t->first_child[v] + c;
            assert_int_equal(t->parent[t->child_node[e]], v);
            if (c) assert_true(t->child_token[e - 1] < t->child_token[e]);
        }
        bool leaf = v >= t->level_begin[W];
        assert_int_equal(t->leaf_item[v] >= 0, leaf);
        assert_int_equal(t->child_count[v] == 0, leaf);
    }
    /* node counts per depth = distinct prefixes */
    vkr_trie_stats st;
    vkr_trie_stats_compute(t, &st);
    for (uint32_t d = 0; d <= W; d++) assert_int_equal(st.nodes[d], d ? distinct_prefixes(ids, domain, dom, d) : 1);
    assert_int_equal(st.items, kept);
    /* round trips; items outside the trie are refused */
    for (int i = 0; i < N; i++) {
        uint16_t path[W];
        int32_t item = -1;
        if (dom >= 0 && domain[i] != dom) {
            assert_int_equal(vkr_trie_item_path(t, (uint32_t)i, path), VKR_ERR_NOT_FOUND);
            assert_int_equal(vkr_trie_lookup(t, ids + i * W, &item), VKR_ERR_NOT_FOUND);
            continue;
        }
        VKR_ASSERT_OK(vkr_trie_item_path(t, (uint32_t)i, path));
        assert_memory_equal(path, ids + i * W, sizeof path);
        VKR_ASSERT_OK(vkr_trie_lookup(t, path, &item));
        assert_int_equal(item, i);
        uint32_t step = 0; /* the same path child by child */
        for (uint32_t len = 0; len <= W; len++) {
            uint32_t node = 0;
            VKR_ASSERT_OK(vkr_trie_find(t, path, len, &node));
            assert_true(node >= t->level_begin[len] && node < t->level_begin[len + 1]);
            assert_int_equal(step, node);
            assert_int_equal(vkr_trie_node_depth(t, node), len);
            if (len < W) step = vkr_trie_child(t, step, path[len]);
        }
    }
    /* paths that are no kept item's prefix are rejected, at every position */
    uint32_t rejected = 0;
    for (uint32_t probe = 0; probe < 4000; probe++) {
        uint16_t path[W] = {(uint16_t)(probe % 5), (uint16_t)(probe / 5 % 7), (uint16_t)(probe / 35 % 7),
                            (uint16_t)(probe / 245 % 17)};
        bool present = false;
        for (int i = 0; i < N && !present; i++)
            present = (dom < 0 || domain[i] == dom) && memcmp(ids + i * W, path, sizeof path) == 0;
        int32_t item = -1;
        vkr_status s = vkr_trie_lookup(t, path, &item);
        assert_int_equal(s, present ? VKR_OK : VKR_ERR_NOT_FOUND);
        uint32_t node = 0;
        for (uint32_t p = 0; p < W && node != UINT32_MAX; p++) node = vkr_trie_child(t, node, path[p]);
        assert_int_equal(node != UINT32_MAX, present);
        rejected += !present;
    }
    assert_true(rejected > 1000);
    assert_int_equal(vkr_trie_child(t, t->node_count, 0), UINT32_MAX);
    /* dense masks against brute force */
    for (uint32_t t0 = 0; t0 < t->vocab[0]; t0++) {
        bool any0 = false;
        for (int i = 0; i < N; i++) any0 |= (dom < 0 || domain[i] == dom) && ids[i * W] == t0;
        assert_int_equal((t->mask0[t0 / 32] >> (t0 % 32)) & 1u, any0);
        for (uint32_t t1 = 0; t1 < t->vocab[1]; t1++) {
            bool any1 = false;
            for (int i = 0; i < N; i++) any1 |= (dom < 0 || domain[i] == dom) && ids[i * W] == t0 && ids[i * W + 1] == t1;
            assert_int_equal((t->mask1[t0 * t->mask1_words + t1 / 32] >> (t1 % 32)) & 1u, any1);
        }
    }
}

static void global_and_domain_tries(void** state) {
    (void)state;
    uint16_t ids[N * W];
    uint8_t domain[N];
    make_ids(ids, domain);
    for (int dom = -1; dom < 2; dom++) {
        vkr_trie t;
        VKR_ASSERT_OK(vkr_trie_build(ids, N, W, domain, dom, &t));
        check_trie(&t, ids, domain, dom);
        assert_int_equal(t.vocab[0], 4);
        assert_int_equal(t.vocab[1], K);
        vkr_trie_free(&t);
    }
}

/* The IDs of every semantic-ID scheme (RQ-VAE, residual k-means, random) give valid global and
 * domain tries: every item round-trips, no other path is accepted, the masks match brute force. */
static void every_scheme_builds_a_valid_trie(void** state) {
    (void)state;
    uint8_t domain[N];
    for (int i = 0; i < N; i++) domain[i] = (uint8_t)(i % 3 == 0);
    for (int scheme = 0; scheme < TS_SCHEMES; scheme++) {
        uint16_t* ids = ts_scheme_ids((ts_scheme)scheme, vkr_test_shared.device, N, LEVELS, K);
        print_message("%s IDs\n", ts_scheme_names[scheme]);
        for (int dom = -1; dom < 2; dom++) {
            vkr_trie t;
            VKR_ASSERT_OK(vkr_trie_build(ids, N, W, domain, dom, &t));
            check_trie(&t, ids, domain, dom);
            vkr_trie_free(&t);
        }
        free(ids);
    }
}

static void gpu_image_matches_layout(void** state) {
    (void)state;
    uint16_t ids[N * W];
    uint8_t domain[N];
    make_ids(ids, domain);
    vkr_trie t;
    VKR_ASSERT_OK(vkr_trie_build(ids, N, W, domain, 1, &t));
    vkr_trie_gpu g;
    VKR_ASSERT_OK(vkr_trie_upload(vkr_test_shared.device, &t, &g));
    uint32_t words = vkr_trie_packed_words(&t);
    assert_int_equal(g.words, words);
    uint32_t* img = malloc(words * 4);
    VKR_ASSERT_OK(vkr_buffer_download(vkr_test_shared.device, &g.buf, 0, img, words * 4));
    /* the documented header */
    assert_int_equal(img[0], VKR_TRIE_MAGIC);
    assert_int_equal(img[1], W);
    assert_int_equal(img[2], t.node_count);
    assert_int_equal(img[3], t.edge_count);
    assert_int_equal(img[4], t.item_count);
    for (uint32_t p = 0; p < W; p++) assert_int_equal(img[16 + p], t.vocab[p]);
    /* every section where the header says, 256-byte aligned, equal to the host arrays */
    struct {
        uint32_t off_word;
        const void* host;
        uint32_t count;
        const vkr_range* range;
    } sec[] = {{5, t.first_child, t.node_count, &g.first_child}, {6, t.child_count, t.node_count, &g.child_count},
               {7, t.child_token, t.edge_count, &g.child_token}, {8, t.child_node, t.edge_count, &g.child_node},
               {9, t.leaf_item, t.node_count, &g.leaf_item},     {10, t.mask0, t.mask0_words, &g.mask0},
               {12, t.mask1, t.vocab[0] * t.mask1_words, &g.mask1}, {14, t.level_begin, W + 2, &g.level_begin},
               {15, t.parent, t.node_count, &g.parent}};
    for (size_t i = 0; i < sizeof sec / sizeof sec[0]; i++) {
        uint32_t off = img[sec[i].off_word];
        assert_int_equal(off % 64, 0);
        assert_int_equal(sec[i].range->offset, (uint64_t)off * 4);
        assert_memory_equal(img + off, sec[i].host, (size_t)sec[i].count * 4);
    }
    assert_int_equal(img[11], t.mask0_words);
    assert_int_equal(img[13], t.mask1_words);
    free(img);
    vkr_trie_gpu_free(vkr_test_shared.device, &g);
    vkr_trie_free(&t);
}

static void malformed_input_is_refused(void** state) {
    (void)state;
    const uint16_t dup[6] = {1, 2, 0, 0, 1, 2};
    vkr_trie t;
    assert_int_equal(vkr_trie_build(dup, 3, 2, NULL, -1, &t), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "same semantic ID"));
    assert_int_equal(vkr_trie_build(dup, 3, 0, NULL, -1, &t), VKR_ERR_INVALID_ARGUMENT);
    const uint16_t ok[6] = {1, 2, 0, 0, 1, 3};
    const uint8_t dom[3] = {0, 0, 0};
    assert_int_equal(vkr_trie_build(ok, 3, 2, dom, 1, &t), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "no items"));
    VKR_ASSERT_OK(vkr_trie_build(ok, 3, 2, dom, 0, &t));
    uint32_t node = 0;
    const uint16_t longer[3] = {1, 2, 0};
    assert_int_equal(vkr_trie_find(&t, longer, 3, &node), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_trie_item_path(&t, 7, (uint16_t[2]){0}), VKR_ERR_NOT_FOUND);
    /* a depth-1 trie has no second-token mask */
    vkr_trie_free(&t);
    const uint16_t single[3] = {4, 0, 9};
    VKR_ASSERT_OK(vkr_trie_build(single, 3, 1, NULL, -1, &t));
    assert_int_equal(t.mask1_words, 0);
    assert_int_equal(t.node_count, 4);
    vkr_trie_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(global_and_domain_tries),
        cmocka_unit_test(every_scheme_builds_a_valid_trie),
        cmocka_unit_test(gpu_image_matches_layout),
        cmocka_unit_test(malformed_input_is_refused),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
