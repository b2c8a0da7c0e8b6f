/* GRLM's term identifiers without an LLM: each item's ID is a fixed number of salient terms of its
 * text, chosen with the context of similar items, mapped to one term vocabulary.
 *
 * GRLM (../shared/seeds/grlm-readme.txt) asks an LLM for five terms per item, showing it the item and
 * its most similar items; the context made its IDs more distinct (about 4,000 unique IDs without it,
 * 7,500 with it, on Beauty). vkrec ranks item i's own terms t by its TF-IDF weight minus `context` x
 * the mean weight over its k nearest neighbours (a term its similar items share says less about it)
 * and keeps the `levels` best (ties: lower column); slots its own text cannot fill take the terms
 * of its neighbours by their mean weight, so an item without text still gets terms. The kept terms are written from the
 * most to the least common (document frequency, ties by column), so items that share their general
 * terms share ID prefixes and the trie groups them, and the rarest term comes last. An item with
 * fewer candidates than levels is padded with the pad token (the last of the vocabulary). Tokens are
 * the used terms ranked by document frequency (token 0 the most common); every level shares this
 * vocabulary, so codes = used terms + 1. Items on the same term path are told apart by the
 * disambiguation token (vkr_quantize.h), and the collision rate before it is GRLM's figure.
 * Deterministic; host code. */
#ifndef VKR_TERM_IDS_H
#define VKR_TERM_IDS_H
#include <stdint.h>

#include "vkr_csr.h"
#include "vkr_semid_rows.h"

/* Settings. Zero fields take the defaults in brackets. */
typedef struct vkr_term_ids_options {
    uint32_t levels; /* terms per item L [5, as GRLM] */
    float context;   /* >= 0: weight of the neighbours' mean TF-IDF subtracted from an own term's, used as given */
} vkr_term_ids_options;

/* Term IDs and what they are made of. */
typedef struct vkr_term_ids_result {
    vkr_semid_ids ids;      /* codes [n, L], unique IDs [n, L+1] and statistics */
    uint32_t levels;        /* L */
    uint32_t codes;         /* vocabulary size per level: used terms + the pad token */
    uint32_t* token_column; /* [codes - 1]: the TF-IDF column of each term token (owned) */
    uint32_t* token_df;     /* [codes - 1]: its document frequency (owned) */
    uint32_t padded_items;  /* items with fewer candidate terms than levels */
    uint32_t empty_items;   /* items without any candidate term (all pad tokens) */
    uint32_t context_terms; /* chosen terms the item's own text lacks (from its neighbours) */
} vkr_term_ids_result;

/* Term IDs of the tfidf rows (items x terms, non-negative weights); knn [rows, k] holds each item's
 * neighbours (-1: none; NULL or k = 0: no context, and no terms for items without their own). Invalid tfidf, neighbours out of range and
 * more levels than VKR_SEMID_MAX_LEVELS are refused; a vocabulary over VKR_SEMID_MAX_CODES - 1 used
 * terms is an error that says to cut the vocabulary. out zeroed on entry; free with
 * vkr_term_ids_result_free. */
vkr_status vkr_term_ids(const vkr_csr* tfidf, const int32_t* knn, uint32_t k, const vkr_term_ids_options* options,
                        vkr_term_ids_result* out);
/* Frees what a result owns and zeroes it. */
void vkr_term_ids_result_free(vkr_term_ids_result* result);

#endif
