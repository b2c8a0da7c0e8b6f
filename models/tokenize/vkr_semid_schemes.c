/* Residual k-means and random semantic IDs (vkr_semid_schemes.h). */
#include "vkr_semid_schemes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_balance.h"
#include "vkr_clock.h"
#include "vkr_kmeans.h"
#include "vkr_rng.h"
#include "vkr_values.h"

void vkr_semid_scheme_result_free(vkr_semid_scheme_result* r) {
    vkr_semid_ids_free(&r->ids);
    free(r->codebooks);
    memset(r, 0, sizeof *r);
}

/* Fills the defaults of levels and codes (codes shrink to `n` when left at the default). */
static vkr_status scheme_resolve(const char* who, const vkr_semid_scheme_options* o, uint32_t n,
                                 vkr_semid_scheme_result* out) {
    if (!o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: options is NULL", who);
    if (n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: no items", who);
    out->levels = o->levels ? o->levels : 3;
    out->codes = o->codes ? o->codes : (n < 256 ? n : 256);
    if (out->levels > VKR_SEMID_MAX_LEVELS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: levels must be 1..%u (got %u)", who, VKR_SEMID_MAX_LEVELS,
                        out->levels);
    if (out->codes > VKR_SEMID_MAX_CODES)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: codes must be 1..%u (got %u)", who, VKR_SEMID_MAX_CODES,
                        out->codes);
    out->items = n;
    return VKR_OK;
}

vkr_status vkr_random_ids(const vkr_semid_scheme_options* o, uint32_t n, vkr_semid_scheme_result* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_random_ids: out is NULL");
    memset(out, 0, sizeof *out);
    VKR_TRY(scheme_resolve("random IDs", o, n, out));
    double start = vkr_now_s();
    const uint32_t L = out->levels;
    int32_t* codes = malloc((size_t)n * L * sizeof *codes);
    if (!codes) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "random IDs: out of host memory for %u items", n);
    vkr_rng rng = vkr_rng_make(o->seed, 31);
    for (size_t e = 0; e < (size_t)n * L; e++) codes[e] = (int32_t)vkr_rng_next_below(&rng, out->codes);
    /* every item is a row of its own: random IDs read no embedding, so none lacks signal */
    vkr_semid_rows all = {.n = n};
    vkr_status s = vkr_semid_rows_finish(&all, codes, n, L, out->codes, &out->ids);
    free(codes);
    out->seconds = vkr_now_s() - start;
    if (s != VKR_OK) vkr_semid_scheme_result_free(out);
    return s;
}

/* The collapse error (vkr_last_error() holds the rule's message). */
static vkr_status rk_collapse_error(const vkr_semid_scheme_result* out, uint32_t no_signal) {
    return vkr_semid_collapse_error("rkmeans", out->distinct_rows, out->items, no_signal,
                                    "fewer codes per level or embeddings with more signal (item text)");
}

vkr_status vkr_rkmeans_tokenize(const vkr_semid_scheme_options* o, const float* emb, uint32_t n, uint32_t d,
                                vkr_semid_scheme_result* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_rkmeans_tokenize: out is NULL");
    memset(out, 0, sizeof *out);
    VKR_TRY(scheme_resolve("rkmeans", o, n, out));
    if (!emb || d == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rkmeans: no item embeddings");
    VKR_TRY(vkr_check_vectors("rkmeans: item embeddings", emb, n, d));
    double start = vkr_now_s();
    out->dim = d;
    vkr_semid_rows rows;
    VKR_TRY(vkr_semid_rows_build("rkmeans", emb, n, d, &rows));
    const uint32_t m = rows.n, L = out->levels;
    if (!o->codes && out->codes > m) out->codes = m;
    const uint32_t K = out->codes;
    vkr_status s = VKR_OK;
    if (K > m) /* k-means cannot fill more codes than there are rows */
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rkmeans: %u codes per level for %u items with a non-zero embedding; "
                     "at most %u codes can be used", K, m, m);
    float* resid = malloc((size_t)m * d * sizeof *resid);
    int32_t* codes = malloc((size_t)m * L * sizeof *codes);
    out->codebooks = malloc((size_t)L * K * d * sizeof *out->codebooks);
    if (s == VKR_OK && (!resid || !codes || !out->codebooks))
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rkmeans: out of host memory for %u items", n);
    if (s == VKR_OK) s = vkr_semid_rows_distinct(emb, &rows, &out->distinct_rows);
    if (s == VKR_OK) {
        memcpy(resid, rows.x, (size_t)m * d * sizeof *resid);
        vkr_kmeans_options ko = {.k = K, .iters = o->kmeans_iters ? o->kmeans_iters : 20, .seed = o->seed};
        s = vkr_kmeans_residual(o->device, resid, m, d, L, &ko, out->codebooks, codes, &out->kmeans_empty);
    }
    /* the nearest codes must use every level before the uniform mapping spreads the last one, which
     * would otherwise hide a collapse (as for the RQ-VAE) */
    if (s == VKR_OK) s = vkr_semantic_ids_build(codes, m, L, K, NULL, &out->nearest_stats);
    if (s == VKR_OK && vkr_semid_check_levels(&out->nearest_stats) != VKR_OK) s = rk_collapse_error(out, n - m);
    const float* last = out->codebooks ? out->codebooks + (size_t)(L - 1) * K * d : NULL;
    if (s == VKR_OK && !o->no_balance) { /* the mapping wants the residual entering the last level */
        for (uint32_t i = 0; i < m; i++)
            for (uint32_t j = 0; j < d; j++) resid[(size_t)i * d + j] += last[(size_t)codes[(size_t)i * L + L - 1] * d + j];
        s = vkr_balance_last_level(resid, last, m, d, K, L, codes, &out->balanced);
        for (uint32_t i = 0; s == VKR_OK && i < m; i++)
            for (uint32_t j = 0; j < d; j++) resid[(size_t)i * d + j] -= last[(size_t)codes[(size_t)i * L + L - 1] * d + j];
    }
    if (s == VKR_OK) {
        double sq = 0;
        for (size_t e = 0; e < (size_t)m * d; e++) sq += (double)resid[e] * resid[e];
        out->recon_mse = sq / ((double)m * d);
        s = vkr_semid_rows_finish(&rows, codes, n, L, K, &out->ids);
        if (s == VKR_ERR_STATE) s = rk_collapse_error(out, n - m);
    }
    free(resid);
    free(codes);
    vkr_semid_rows_free(&rows);
    out->seconds = vkr_now_s() - start;
    if (s != VKR_OK) vkr_semid_scheme_result_free(out);
    return s;
}
