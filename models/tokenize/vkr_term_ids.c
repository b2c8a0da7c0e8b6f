/* GRLM-style term identifiers (vkr_term_ids.h). */
#include "vkr_term_ids.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vkr_term_ids_result_free(vkr_term_ids_result* r) {
    vkr_semid_ids_free(&r->ids);
    free(r->token_column);
    free(r->token_df);
    memset(r, 0, sizeof *r);
}

/* Per-item scratch: the candidates' scores, dense over the vocabulary, and which columns were touched. */
typedef struct term_scratch {
    double* own;        /* [V] the item's own weight */
    double* ctx;        /* [V] the neighbours' summed weight */
    uint32_t* touched;  /* columns with a non-zero own or ctx */
    uint32_t count;     /* entries of touched */
} term_scratch;

static void scratch_add(term_scratch* s, const vkr_csr* m, uint32_t row, double* into) {
    for (uint32_t e = m->row_ptr[row]; e < m->row_ptr[row + 1]; e++) {
        uint32_t c = m->col[e];
        if (!(m->val[e] > 0)) continue; /* a zero weight would enter touched twice */
        if (s->own[c] == 0 && s->ctx[c] == 0) s->touched[s->count++] = c;
        into[c] += m->val[e];
    }
}

/* Inserts column c with score into the sorted top list (higher first, ties the lower column) of
 * `levels` entries starting at `from`. */
static void top_insert(uint32_t* best, double* best_score, uint32_t from, uint32_t levels, uint32_t c, double score) {
    uint32_t at = levels;
    while (at > from && (best[at - 1] == UINT32_MAX || score > best_score[at - 1] ||
                         (score == best_score[at - 1] && c < best[at - 1])))
        at--;
    if (at == levels) return;
    for (uint32_t l = levels - 1; l > at; l--) best[l] = best[l - 1], best_score[l] = best_score[l - 1];
    best[at] = c;
    best_score[at] = score;
}

/* The item's `levels` terms into best (UINT32_MAX where fewer): its own terms first, by weight minus
 * context x the neighbours' mean weight (what tells it apart from similar items); the slots left
 * take the neighbours' terms by their mean weight. Returns how many came from the neighbours. */
static uint32_t pick_terms(term_scratch* s, double context, uint32_t neighbours, uint32_t levels, uint32_t* best) {
    double best_score[VKR_SEMID_MAX_LEVELS];
    for (uint32_t l = 0; l < levels; l++) best[l] = UINT32_MAX, best_score[l] = 0;
    const double per = neighbours ? 1.0 / neighbours : 0;
    uint32_t own = 0;
    for (uint32_t t = 0; t < s->count; t++) {
        uint32_t c = s->touched[t];
        if (s->own[c] > 0) own++, top_insert(best, best_score, 0, levels, c, s->own[c] - context * s->ctx[c] * per);
    }
    uint32_t from = own < levels ? own : levels;
    for (uint32_t t = 0; from < levels && t < s->count; t++) {
        uint32_t c = s->touched[t];
        if (s->own[c] == 0) top_insert(best, best_score, from, levels, c, s->ctx[c] * per);
    }
    for (uint32_t t = 0; t < s->count; t++) s->own[s->touched[t]] = s->ctx[s->touched[t]] = 0;
    s->count = 0;
    uint32_t filled = 0;
    while (filled < levels && best[filled] != UINT32_MAX) filled++;
    return filled - from;
}

/* Columns ranked by decreasing document frequency, ties the lower column (a sort key). */
static int rank_cmp(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

vkr_status vkr_term_ids(const vkr_csr* m, const int32_t* knn, uint32_t k, const vkr_term_ids_options* o,
                        vkr_term_ids_result* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_term_ids: out is NULL");
    memset(out, 0, sizeof *out);
    if (!m || !o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "term IDs: no TF-IDF matrix or options");
    VKR_TRY(vkr_csr_check(m, "term IDs: the TF-IDF matrix"));
    const uint32_t n = m->rows, V = m->cols, L = o->levels ? o->levels : 5;
    if (n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "term IDs: no items");
    if (L > VKR_SEMID_MAX_LEVELS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "term IDs: levels must be 1..%u (got %u)", VKR_SEMID_MAX_LEVELS, L);
    if (!isfinite(o->context) || o->context < 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "term IDs: the context weight must be finite and >= 0 (got %g)",
                        o->context);
    for (uint32_t e = 0; e < m->nnz; e++)
        if (m->val[e] < 0)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "term IDs: the TF-IDF matrix has a negative weight (entry %u)", e);
    if (!knn) k = 0;
    for (uint64_t e = 0; e < (uint64_t)n * k; e++)
        if (knn[e] < -1 || knn[e] >= (int64_t)n)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "term IDs: item %u's neighbour %d is not an item (%u items)",
                            (uint32_t)(e / k), knn[e], n);
    out->levels = L;
    term_scratch s = {.own = calloc((size_t)V + 1, sizeof *s.own), .ctx = calloc((size_t)V + 1, sizeof *s.ctx),
                      .touched = malloc(((size_t)V + 1) * sizeof *s.touched)};
    uint32_t* chosen = malloc((size_t)n * L * sizeof *chosen);
    uint32_t* df = calloc((size_t)V + 1, sizeof *df);
    int32_t* token_of = malloc(((size_t)V + 1) * sizeof *token_of);
    uint64_t* rank = malloc(((size_t)V + 1) * sizeof *rank);
    int32_t* codes = malloc((size_t)n * L * sizeof *codes);
    vkr_status st = VKR_OK;
    if (!s.own || !s.ctx || !s.touched || !chosen || !df || !token_of || !rank || !codes)
        st = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "term IDs: out of host memory for %u items x %u terms", n, V);
    for (uint32_t e = 0; st == VKR_OK && e < m->nnz; e++) df[m->col[e]]++;
    for (uint32_t i = 0; st == VKR_OK && i < n; i++) {
        scratch_add(&s, m, i, s.own);
        uint32_t neighbours = 0;
        for (uint32_t j = 0; j < k; j++) {
            int32_t nb = knn[(size_t)i * k + j];
            if (nb < 0 || (uint32_t)nb == i) continue;
            scratch_add(&s, m, (uint32_t)nb, s.ctx);
            neighbours++;
        }
        out->context_terms += pick_terms(&s, o->context, neighbours, L, chosen + (size_t)i * L);
        uint32_t got = 0;
        while (got < L && chosen[(size_t)i * L + got] != UINT32_MAX) got++;
        out->padded_items += got < L;
        out->empty_items += got == 0;
    }
    /* tokens: the used columns by decreasing document frequency */
    uint32_t used = 0;
    for (uint32_t c = 0; st == VKR_OK && c < V; c++) token_of[c] = -1;
    for (uint64_t e = 0; st == VKR_OK && e < (uint64_t)n * L; e++)
        if (chosen[e] != UINT32_MAX && token_of[chosen[e]] < 0) {
            token_of[chosen[e]] = 0;
            rank[used++] = (uint64_t)(UINT32_MAX - df[chosen[e]]) << 32 | chosen[e];
        }
    if (st == VKR_OK && used + 1 > VKR_SEMID_MAX_CODES)
        st = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "term IDs: %u distinct terms chosen, but a level holds at most %u "
                      "tokens; cut the vocabulary (fewer TF-IDF features) or the levels", used, VKR_SEMID_MAX_CODES - 1);
    if (st == VKR_OK) {
        qsort(rank, used, sizeof *rank, rank_cmp);
        out->codes = used + 1;
        out->token_column = malloc(((size_t)used + 1) * sizeof *out->token_column);
        out->token_df = malloc(((size_t)used + 1) * sizeof *out->token_df);
        if (!out->token_column || !out->token_df)
            st = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "term IDs: out of host memory");
    }
    for (uint32_t t = 0; st == VKR_OK && t < used; t++) {
        uint32_t c = (uint32_t)rank[t];
        token_of[c] = (int32_t)t;
        out->token_column[t] = c;
        out->token_df[t] = df[c];
    }
    /* each item's terms from the most to the least common: ascending tokens, the pad token last */
    for (uint32_t i = 0; st == VKR_OK && i < n; i++) {
        int32_t* row = codes + (size_t)i * L;
        for (uint32_t l = 0; l < L; l++) {
            uint32_t c = chosen[(size_t)i * L + l];
            int32_t tok = c == UINT32_MAX ? (int32_t)used : token_of[c];
            uint32_t at = l;
            while (at > 0 && row[at - 1] > tok) row[at] = row[at - 1], at--;
            row[at] = tok;
        }
    }
    if (st == VKR_OK) {
        vkr_semid_rows all = {.n = n}; /* every item a row of its own */
        st = vkr_semid_rows_finish(&all, codes, n, L, out->codes, &out->ids);
        if (st == VKR_ERR_STATE) {
            char why[512];
            snprintf(why, sizeof why, "%s", vkr_last_error());
            st = vkr_fail(VKR_ERR_STATE, "term IDs: %s; %u of %u items have no term of their own or their "
                          "neighbours' (item text is needed)", why, out->empty_items, n);
        }
    }
    free(s.own);
    free(s.ctx);
    free(s.touched);
    free(chosen);
    free(df);
    free(token_of);
    free(rank);
    free(codes);
    if (st != VKR_OK) vkr_term_ids_result_free(out);
    return st;
}
