/* The training rows and the final IDs shared by the semantic-ID schemes (vkr_semid_rows.h). */
#include "vkr_semid_rows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_balance.h"

void vkr_semid_rows_free(vkr_semid_rows* r) {
    free(r->x);
    free(r->scale);
    free(r->item);
    memset(r, 0, sizeof *r);
}

static int semid_float_cmp(const void* a, const void* b) {
    float x = *(const float*)a, y = *(const float*)b;
    return x < y ? -1 : x > y;
}

vkr_status vkr_semid_rows_build(const char* who, const float* emb, uint32_t n, uint32_t d, vkr_semid_rows* out) {
    memset(out, 0, sizeof *out);
    out->dim = d;
    out->x = malloc((size_t)n * d * sizeof *out->x);
    out->scale = malloc((size_t)n * sizeof *out->scale);
    out->item = malloc((size_t)n * sizeof *out->item);
    float* sorted = malloc((size_t)n * sizeof *sorted);
    if (!out->x || !out->scale || !out->item || !sorted) {
        free(sorted);
        vkr_semid_rows_free(out);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory for %u items", who, n);
    }
    for (uint32_t i = 0; i < n; i++) {
        double sq = 0;
        for (uint32_t k = 0; k < d; k++) sq += (double)emb[(size_t)i * d + k] * emb[(size_t)i * d + k];
        if (!(sq > 0)) continue;
        out->scale[out->n] = (float)sqrt(sq / d);
        out->item[out->n++] = i;
    }
    if (out->n == 0) {
        free(sorted);
        vkr_semid_rows_free(out);
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: every item embedding is all zero: nothing to tokenize", who);
    }
    memcpy(sorted, out->scale, (size_t)out->n * sizeof *sorted);
    qsort(sorted, out->n, sizeof *sorted, semid_float_cmp);
    double median = sorted[out->n / 2];
    free(sorted);
    for (uint32_t r = 0; r < out->n; r++) {
        const float* row = emb + (size_t)out->item[r] * d;
        double f = median / out->scale[r];
        for (uint32_t k = 0; k < d; k++) out->x[(size_t)r * d + k] = (float)(row[k] * f);
        out->scale[r] = (float)(out->scale[r] / median);
    }
    return VKR_OK;
}

static int semid_u64_cmp(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

/* A hash collision undercounts by one. */
vkr_status vkr_semid_rows_distinct(const float* emb, const vkr_semid_rows* rows, uint32_t* out) {
    const uint32_t n = rows->n, d = rows->dim;
    *out = 0;
    uint64_t* h = malloc((size_t)n * sizeof *h);
    if (!h) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "semantic IDs: out of host memory for %u hashes", n);
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char* b = (const unsigned char*)(emb + (size_t)rows->item[i] * d);
        h[i] = 0xcbf29ce484222325ull;
        for (size_t e = 0; e < (size_t)d * sizeof *emb; e++) h[i] = (h[i] ^ b[e]) * 0x100000001b3ull;
    }
    qsort(h, n, sizeof *h, semid_u64_cmp);
    for (uint32_t i = 0; i < n; i++) *out += i == 0 || h[i] != h[i - 1];
    free(h);
    return VKR_OK;
}

void vkr_semid_ids_free(vkr_semid_ids* ids) {
    free(ids->codes);
    free(ids->ids);
    memset(ids, 0, sizeof *ids);
}

vkr_status vkr_semid_rows_finish(const vkr_semid_rows* rows, const int32_t* row_codes, uint32_t n, uint32_t L,
                                 uint32_t K, vkr_semid_ids* out) {
    memset(out, 0, sizeof *out);
    out->no_signal = n - rows->n;
    out->codes = malloc((size_t)n * L * sizeof *out->codes);
    out->ids = malloc((size_t)n * (L + 1) * sizeof *out->ids);
    if (!out->codes || !out->ids)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "semantic IDs: out of host memory for %u items", n);
    vkr_balance_spread(out->no_signal, L, K, out->codes); /* rows 0.. of the signal-free items, moved below */
    /* back to front, so that no spread row is overwritten before it is read */
    for (uint32_t i = n, r = rows->n, z = out->no_signal; i-- > 0;) {
        int32_t* dst = out->codes + (size_t)i * L;
        if (r > 0 && (rows->item ? rows->item[r - 1] : r - 1) == i) memcpy(dst, row_codes + (size_t)--r * L, L * sizeof *dst);
        else memmove(dst, out->codes + (size_t)--z * L, L * sizeof *dst);
    }
    VKR_TRY(vkr_semantic_ids_build(out->codes, n, L, K, out->ids, &out->stats));
    VKR_TRY(vkr_semantic_ids_build(row_codes, rows->n, L, K, NULL, &out->signal_stats));
    VKR_TRY(vkr_semid_check(&out->signal_stats));
    return vkr_semid_check(&out->stats);
}

vkr_status vkr_semid_collapse_error(const char* who, uint32_t distinct_rows, uint32_t n, uint32_t no_signal,
                                    const char* advice) {
    char why[512];
    snprintf(why, sizeof why, "%s", vkr_last_error());
    return vkr_fail(VKR_ERR_STATE, "%s: %s. The input has %u distinct non-zero embeddings among %u items (%u all zero). "
                    "Try %s", who, why, distinct_rows, n, no_signal, advice);
}
