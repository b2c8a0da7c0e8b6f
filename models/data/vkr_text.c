/* Tokenizer and TF-IDF matrix construction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_data_raw.h"
#include "vkr_text.h"

static vkr_status oom(void) { return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory building text features"); }

static bool is_word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

static bool is_stop(const char* t, uint32_t n) {
    static const char* const stop[] = {"an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it",
                                       "of", "on", "or", "the", "to", "with", "amp", "quot", "nbsp"};
    for (size_t k = 0; k < sizeof stop / sizeof stop[0]; k++)
        if (strlen(stop[k]) == n && memcmp(stop[k], t, n) == 0) return true;
    return false;
}

uint32_t vkr_text_tokens(const char* text, void (*fn)(const char* tok, uint32_t n, void* user), void* user) {
    char tok[64];
    uint32_t count = 0;
    const unsigned char* p = (const unsigned char*)(text ? text : "");
    while (*p) {
        if (*p == '&') { /* an entity is a separator: skip "&name;" or "&#123;" */
            const unsigned char* q = p + 1;
            while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '#') q++;
            p = *q == ';' ? q + 1 : p + 1;
            continue;
        }
        if (!is_word_byte(*p)) {
            p++;
            continue;
        }
        uint32_t n = 0;
        bool digits = true;
        for (; is_word_byte(*p); p++) {
            unsigned char c = *p;
            if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
            digits &= c >= '0' && c <= '9';
            if (n < sizeof tok) tok[n++] = (char)c; /* very long runs are truncated, not split */
        }
        if (n < 2 || digits || is_stop(tok, n)) continue;
        fn(tok, n, user);
        count++;
    }
    return count;
}

/* Collects the term ids of one document. */
typedef struct doc_terms {
    vkr_strmap* vocab;
    uint32_t* ids;
    uint32_t n, cap;
    bool bigrams;
    char prev[64];
    uint32_t prev_n;
    vkr_status status;
} doc_terms;

static void add_term(doc_terms* d, const char* t, uint32_t n) {
    if (d->status != VKR_OK) return;
    uint32_t id = 0;
    d->status = vkr_strmap_intern(d->vocab, t, n, &id, NULL);
    if (d->status != VKR_OK) return;
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 64;
        uint32_t* p = realloc(d->ids, cap * sizeof *p);
        if (!p) {
            d->status = oom();
            return;
        }
        d->ids = p;
        d->cap = cap;
    }
    d->ids[d->n++] = id;
}

static void on_token(const char* tok, uint32_t n, void* user) {
    doc_terms* d = user;
    add_term(d, tok, n);
    if (d->bigrams && d->prev_n) {
        char bi[129];
        memcpy(bi, d->prev, d->prev_n);
        bi[d->prev_n] = ' ';
        memcpy(bi + d->prev_n + 1, tok, n);
        add_term(d, bi, d->prev_n + 1 + n);
    }
    memcpy(d->prev, tok, n);
    d->prev_n = n;
}

static int cmp_u32(const void* a, const void* b) {
    uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

/* Every document's sorted term ids in one list, with df and the kept terms' columns. */
typedef struct tfidf_terms {
    uint64_t* doc_off; /* [n_docs+1] ranges in all */
    uint32_t* all;
    uint64_t all_n, all_cap;
    uint32_t* df;     /* per vocabulary term: documents holding it */
    uint32_t* order;  /* kept term ids */
    uint32_t* col_of; /* per vocabulary term: its column, or UINT32_MAX */
    uint32_t kept;
} tfidf_terms;

static vkr_status append_terms(tfidf_terms* tt, const uint32_t* ids, uint32_t n) {
    if (tt->all_n + n > tt->all_cap) {
        uint64_t cap = tt->all_cap ? tt->all_cap * 2 : 4096;
        while (cap < tt->all_n + n) cap *= 2;
        uint32_t* p = realloc(tt->all, cap * sizeof *p);
        if (!p) return oom();
        tt->all = p;
        tt->all_cap = cap;
    }
    memcpy(tt->all + tt->all_n, ids, n * sizeof *ids);
    tt->all_n += n;
    return VKR_OK;
}

/* Pass 1: term ids per document (sorted), kept in one list with offsets. */
static vkr_status collect_terms(const char* const* docs, uint32_t n_docs, doc_terms* d, tfidf_terms* tt) {
    for (uint32_t i = 0; i < n_docs && d->status == VKR_OK; i++) {
        d->n = 0;
        d->prev_n = 0;
        vkr_text_tokens(docs[i], on_token, d);
        if (d->status != VKR_OK) break;
        qsort(d->ids, d->n, sizeof *d->ids, cmp_u32);
        d->status = append_terms(tt, d->ids, d->n);
        if (d->status != VKR_OK) break;
        tt->doc_off[i + 1] = tt->all_n;
    }
    return d->status;
}

/* Whether entry k is a document's first occurrence of its term (ids are sorted per document). */
static bool first_in_doc(const tfidf_terms* tt, uint32_t doc, uint64_t k) {
    return k == tt->doc_off[doc] || tt->all[k] != tt->all[k - 1];
}

/* Keeps the max_features terms of highest df (at least min_df) and numbers them as columns. */
static vkr_status select_terms(tfidf_terms* tt, uint32_t n_docs, uint32_t nv, uint32_t min_df, uint32_t max_features) {
    vkr_status s = VKR_OK;
    for (uint32_t i = 0; i < n_docs; i++)
        for (uint64_t k = tt->doc_off[i]; k < tt->doc_off[i + 1]; k++)
            if (first_in_doc(tt, i, k)) tt->df[tt->all[k]]++;
    /* Rank candidates by decreasing df, then first seen: key (~df, id) sorts ascending. */
    uint64_t* rank = malloc(((size_t)nv + 1) * sizeof *rank);
    uint32_t cand = 0;
    for (uint32_t t = 0; rank && t < nv; t++)
        if (tt->df[t] >= min_df) rank[cand++] = (uint64_t)(UINT32_MAX - tt->df[t]) << 32 | t;
    if (rank) qsort(rank, cand, sizeof *rank, cmp_u64);
    tt->kept = cand < max_features ? cand : max_features;
    for (uint32_t k = 0; rank && k < tt->kept; k++) tt->order[k] = (uint32_t)rank[k];
    if (!rank) s = oom(), tt->kept = 0;
    free(rank);
    /* Columns in first-seen order among the kept terms, for a deterministic layout. */
    qsort(tt->order, tt->kept, sizeof *tt->order, cmp_u32);
    for (uint32_t t = 0; t < nv; t++) tt->col_of[t] = UINT32_MAX;
    for (uint32_t k = 0; k < tt->kept; k++) tt->col_of[tt->order[k]] = k;
    return s;
}

static uint32_t count_nnz(const tfidf_terms* tt, uint32_t n_docs) {
    uint32_t nnz = 0;
    for (uint32_t i = 0; i < n_docs; i++)
        for (uint64_t k = tt->doc_off[i]; k < tt->doc_off[i + 1]; k++)
            nnz += first_in_doc(tt, i, k) && tt->col_of[tt->all[k]] != UINT32_MAX;
    return nnz;
}

/* Writes document i's row after row i-1: (1 + log tf) * idf per kept term, L2-normalized; returns its end. */
static uint32_t fill_row(const tfidf_terms* tt, uint32_t n_docs, uint32_t i, vkr_csr* out) {
    uint32_t start = out->row_ptr[i], pos = start;
    for (uint64_t k = tt->doc_off[i]; k < tt->doc_off[i + 1];) {
        uint64_t e = k;
        while (e < tt->doc_off[i + 1] && tt->all[e] == tt->all[k]) e++;
        uint32_t c = tt->col_of[tt->all[k]];
        if (c != UINT32_MAX) {
            double idf = log((1.0 + n_docs) / (1.0 + tt->df[tt->all[k]])) + 1.0;
            out->col[pos] = c;
            out->val[pos++] = (float)((1.0 + log((double)(e - k))) * idf);
        }
        k = e;
    }
    /* Kept term ids are sorted and columns follow id order, so columns are increasing. */
    double norm = 0;
    for (uint32_t k = start; k < pos; k++) norm += (double)out->val[k] * out->val[k];
    for (uint32_t k = start; k < pos && norm > 0; k++) out->val[k] = (float)(out->val[k] / sqrt(norm));
    return pos;
}

vkr_status vkr_tfidf(const char* const* docs, uint32_t n_docs, const vkr_tfidf_options* opt, vkr_csr* out) {
    return vkr_tfidf_terms(docs, n_docs, opt, out, NULL);
}

/* The kept terms' strings in column order, as one malloc'd block (pointers, then the bytes). */
static vkr_status column_terms(const tfidf_terms* tt, const vkr_strmap* vocab, char*** out) {
    size_t bytes = 0;
    for (uint32_t k = 0; k < tt->kept; k++) bytes += strlen(vkr_strmap_get(vocab, tt->order[k])) + 1;
    char** terms = malloc(((size_t)tt->kept + 1) * sizeof *terms + bytes);
    if (!terms) return oom();
    char* p = (char*)(terms + tt->kept + 1);
    for (uint32_t k = 0; k < tt->kept; k++) { /* order holds the kept ids sorted, so k is the column */
        const char* t = vkr_strmap_get(vocab, tt->order[k]);
        size_t n = strlen(t) + 1;
        memcpy(p, t, n);
        terms[k] = p;
        p += n;
    }
    terms[tt->kept] = NULL;
    *out = terms;
    return VKR_OK;
}

vkr_status vkr_tfidf_terms(const char* const* docs, uint32_t n_docs, const vkr_tfidf_options* opt, vkr_csr* out,
                           char*** out_terms) {
    memset(out, 0, sizeof *out);
    if (out_terms) *out_terms = NULL;
    uint32_t min_df = opt && opt->min_df ? opt->min_df : 2;
    uint32_t max_features = opt && opt->max_features ? opt->max_features : 65536;
    vkr_strmap vocab = {0};
    doc_terms d = {.vocab = &vocab, .bigrams = !(opt && opt->unigrams_only)};
    tfidf_terms tt = {.doc_off = calloc((size_t)n_docs + 1, sizeof *tt.doc_off)};
    if (!tt.doc_off) return oom();
    vkr_status s = collect_terms(docs, n_docs, &d, &tt);
    free(d.ids);
    uint32_t nv = vocab.count;
    tt.df = calloc((size_t)nv + 1, sizeof *tt.df);
    tt.order = malloc(((size_t)nv + 1) * sizeof *tt.order);
    tt.col_of = malloc(((size_t)nv + 1) * sizeof *tt.col_of);
    if (s == VKR_OK && (!tt.df || !tt.order || !tt.col_of)) s = oom();
    if (s == VKR_OK && tt.all_n > UINT32_MAX)
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "text features exceed 2^32 entries");
    if (s == VKR_OK) s = select_terms(&tt, n_docs, nv, min_df, max_features);
    if (s == VKR_OK) s = vkr_csr_alloc(n_docs, tt.kept, count_nnz(&tt, n_docs), out);
    for (uint32_t i = 0; s == VKR_OK && i < n_docs; i++) out->row_ptr[i + 1] = fill_row(&tt, n_docs, i, out);
    if (s == VKR_OK && out_terms) s = column_terms(&tt, &vocab, out_terms);
    if (s != VKR_OK) vkr_csr_free(out);
    free(tt.doc_off);
    free(tt.all);
    free(tt.df);
    free(tt.order);
    free(tt.col_of);
    vkr_strmap_free(&vocab);
    return s;
}
