/* Helpers shared by the semantic-ID tests: clustered embeddings, the uniqueness of IDs, and the IDs
 * of every scheme (RQ-VAE, residual k-means, random) for the trie and beam-search tests. */
#ifndef TEST_SEMID_UTIL_H
#define TEST_SEMID_UTIL_H
#include <stdlib.h>
#include <string.h>

#include "vkr_quantize.h"
#include "vkr_rqvae.h"
#include "vkr_semid_schemes.h"
#include "vkr_term_ids.h"
#include "vkr_test.h"

/* n x d rows around `clusters` random centres (item i in cluster i % clusters, uniform noise of
 * half-width `noise`); truth and domain (i % 2) may be NULL. Caller frees. */
static inline float* ts_clustered(uint32_t n, uint32_t d, uint32_t clusters, float noise, int32_t* truth,
                                  uint8_t* domain) {
    float* centers = malloc((size_t)clusters * d * 4);
    float* x = malloc((size_t)n * d * 4);
    assert_true(centers && x);
    vkr_test_fill_random(centers, (size_t)clusters * d, 77);
    vkr_test_fill_random(x, (size_t)n * d, 78);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = i % clusters;
        if (truth) truth[i] = (int32_t)c;
        if (domain) domain[i] = (uint8_t)(i % 2);
        for (uint32_t k = 0; k < d; k++) x[(size_t)i * d + k] = centers[(size_t)c * d + k] + noise * x[(size_t)i * d + k];
    }
    free(centers);
    return x;
}

/* Every row of ids [n, width] differs from every other. */
static inline void ts_assert_unique(const uint16_t* ids, uint32_t n, uint32_t width) {
    uint32_t* order = malloc(n * 4);
    assert_non_null(order);
    vkr_semantic_ids_order(ids, n, width, order);
    for (uint32_t r = 1; r < n; r++)
        assert_true(memcmp(ids + (size_t)order[r - 1] * width, ids + (size_t)order[r] * width, width * 2) != 0);
    free(order);
}

/* The schemes ts_scheme_ids runs. */
typedef enum ts_scheme { TS_RQVAE, TS_RKMEANS, TS_RANDOM, TS_TERM, TS_SCHEMES } ts_scheme;
static const char* const ts_scheme_names[TS_SCHEMES] = {"rqvae", "rkmeans", "random", "term"};

/* Term IDs of n items with 1..6 terms each drawn from a 40-term vocabulary (item i's first term
 * i % 40, so every term is used), without context. */
static inline void ts_term_ids(uint32_t n, uint32_t levels, uint16_t* ids) {
    uint32_t* src = malloc((size_t)n * 6 * sizeof *src);
    uint32_t* dst = malloc((size_t)n * 6 * sizeof *dst);
    float* w = malloc((size_t)n * 6 * sizeof *w);
    assert_true(src && dst && w);
    uint32_t count = 0, s = 99;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t terms = 1 + i % 6;
        for (uint32_t t = 0; t < terms; t++) {
            s = s * 1664525u + 1013904223u;
            src[count] = i;
            dst[count] = t ? (s >> 8) % 40 : i % 40;
            w[count++] = 0.1f + (float)((s >> 16) % 100) / 100.0f;
        }
    }
    vkr_csr m;
    VKR_ASSERT_OK(vkr_csr_from_edges(n, 40, count, src, dst, w, &m));
    vkr_term_ids_result r;
    VKR_ASSERT_OK(vkr_term_ids(&m, NULL, 0, &(vkr_term_ids_options){.levels = levels}, &r));
    memcpy(ids, r.ids.ids, (size_t)n * (levels + 1) * sizeof *ids);
    vkr_term_ids_result_free(&r);
    vkr_csr_free(&m);
    free(src);
    free(dst);
    free(w);
}

/* The unique IDs [n, levels + 1] of n 16-d items in 12 loose clusters under `scheme`, on device
 * (NULL: CPU reference backend), levels x k codes (term: ts_term_ids, a 41-token vocabulary); malloc'd. */
static inline uint16_t* ts_scheme_ids(ts_scheme scheme, vkr_device* device, uint32_t n, uint32_t levels, uint32_t k) {
    const uint32_t d = 16, width = levels + 1;
    float* x = ts_clustered(n, d, 12, 0.6f, NULL, NULL);
    uint16_t* ids = malloc((size_t)n * width * sizeof *ids);
    assert_non_null(ids);
    if (scheme == TS_RQVAE) {
        vkr_rqvae_config c = {.input_dim = d, .hidden = {32}, .hidden_count = 1, .latent = 8, .levels = levels,
                              .codes = k};
        vkr_rqvae_train_options o = {.device = device, .batch = 100, .epochs = 10, .lr = 3e-3f, .seed = 5};
        vkr_rqvae_result r;
        VKR_ASSERT_OK(vkr_rqvae_train(&c, &o, x, n, NULL, &r));
        memcpy(ids, r.ids, (size_t)n * width * sizeof *ids);
        vkr_rqvae_result_free(&r);
    } else if (scheme == TS_TERM) {
        ts_term_ids(n, levels, ids);
    } else {
        vkr_semid_scheme_options o = {.device = device, .levels = levels, .codes = k, .seed = 5};
        vkr_semid_scheme_result r;
        VKR_ASSERT_OK(scheme == TS_RKMEANS ? vkr_rkmeans_tokenize(&o, x, n, d, &r) : vkr_random_ids(&o, n, &r));
        assert_int_equal(r.levels, levels);
        memcpy(ids, r.ids.ids, (size_t)n * width * sizeof *ids);
        vkr_semid_scheme_result_free(&r);
    }
    ts_assert_unique(ids, n, width);
    free(x);
    return ids;
}

#endif
