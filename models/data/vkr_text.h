/* Item text to sparse features: tokenizer and TF-IDF (word uni- and bi-grams, sublinear tf).
 *
 * Contract: tokens are maximal runs of ASCII letters/digits and non-ASCII bytes (so UTF-8 words
 * stay whole), ASCII lowercased; HTML entities (&amp; &#39; ...) separate tokens; tokens of one
 * byte, pure numbers and a short English stop list are dropped. Bigrams join adjacent kept tokens.
 * A term is kept when it occurs in at least min_df documents; when more than max_features remain,
 * those with the highest document frequency win (ties: first seen). Weights are
 * (1 + ln tf) * (ln((1 + n) / (1 + df)) + 1), and each non-empty row is L2-normalized; a document
 * without kept terms is an empty row. */
#ifndef VKR_TEXT_H
#define VKR_TEXT_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_csr.h"
#include "vkr_runtime.h"

/* TF-IDF settings. */
typedef struct vkr_tfidf_options {
    uint32_t min_df;       /* keep terms in at least this many documents (default 2) */
    uint32_t max_features; /* keep at most this many terms (default 65536) */
    bool unigrams_only;    /* skip bigrams */
} vkr_tfidf_options;

/* Calls fn(token, length, user) for each kept token of text (without bigrams); returns the count. */
uint32_t vkr_text_tokens(const char* text, void (*fn)(const char* tok, uint32_t n, void* user), void* user);
/* Builds the n_docs x vocabulary TF-IDF matrix of docs (NULL entries are empty documents). */
vkr_status vkr_tfidf(const char* const* docs, uint32_t n_docs, const vkr_tfidf_options* options, vkr_csr* out);
/* vkr_tfidf, and *out_terms (optional) receives each column's term (bigrams as "a b"), NULL-terminated,
 * in one malloc'd block: free(*out_terms) frees it all. */
vkr_status vkr_tfidf_terms(const char* const* docs, uint32_t n_docs, const vkr_tfidf_options* options, vkr_csr* out,
                           char*** out_terms);

#endif
