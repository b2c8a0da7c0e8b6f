/* What every semantic-ID scheme does around its own quantizer: the training rows and the final IDs.
 *
 * Rows (vkr_semid_rows_build): every item with a non-zero embedding, rescaled to the median root mean
 * square of those rows. Per item because semantic IDs should group items by direction, as cosine
 * similarity compares text and co-occurrence embeddings alike: the norm of a co-occurrence (PPMI +
 * SVD) row measures popularity and spans orders of magnitude, so a few popular rows owned the
 * quantizer while every other item fell onto one path. To the median rather than to 1 so that inputs
 * whose rows already share a norm (text encoders) keep their units. All-zero rows carry no signal:
 * they are left out and get evenly spread paths (vkr_balance_spread).
 *
 * IDs (vkr_semid_rows_finish): the rows' codes and the spread paths of the signal-free items become
 * the codes, unique IDs and statistics of all n items (vkr_quantize.h), checked against the collapse
 * rule on the rows first (the spread items must not hide a collapse), then on all items. */
#ifndef VKR_SEMID_ROWS_H
#define VKR_SEMID_ROWS_H
#include <stdint.h>

#include "vkr_quantize.h"

/* The rows a quantizer trains on. */
typedef struct vkr_semid_rows {
    float* x;       /* n x dim rows, each of the median RMS */
    float* scale;   /* n: each row's original RMS over the median */
    uint32_t* item; /* n: the item of each row, increasing */
    uint32_t n;     /* rows (items with a non-zero embedding) */
    uint32_t dim;   /* row width */
} vkr_semid_rows;

/* The final assignment of all items. */
typedef struct vkr_semid_ids {
    int32_t* codes;            /* [items, L] codes (owned) */
    uint16_t* ids;             /* [items, L+1] unique semantic IDs (owned) */
    vkr_semid_stats stats;     /* all items */
    vkr_semid_stats signal_stats; /* the rows' items only */
    uint32_t no_signal;        /* items with an all-zero embedding (spread paths) */
} vkr_semid_ids;

/* Builds the rows of emb (n x dim); `who` prefixes errors. An all-zero input is refused. out zeroed on entry. */
vkr_status vkr_semid_rows_build(const char* who, const float* emb, uint32_t n, uint32_t dim, vkr_semid_rows* out);
/* Frees the rows and zeroes them. */
void vkr_semid_rows_free(vkr_semid_rows* rows);
/* Distinct embeddings among the rows' items (a 64-bit FNV-1a hash of each row of emb). */
vkr_status vkr_semid_rows_distinct(const float* emb, const vkr_semid_rows* rows, uint32_t* out_distinct);
/* Assembles the IDs of all n items from row_codes [rows->n, levels] in [0, codes) (rows->item NULL: row
 * i is item i, every item a row) and checks the
 * collapse rule: VKR_ERR_STATE with vkr_semid_check's message when it fails (out still filled, to be
 * freed). out zeroed on entry. */
vkr_status vkr_semid_rows_finish(const vkr_semid_rows* rows, const int32_t* row_codes, uint32_t n, uint32_t levels,
                                 uint32_t codes, vkr_semid_ids* out);
/* VKR_ERR_STATE: "WHO: <the collapse rule's message, vkr_last_error()>. The input has ... Try ADVICE". */
vkr_status vkr_semid_collapse_error(const char* who, uint32_t distinct_rows, uint32_t n, uint32_t no_signal,
                                    const char* advice);
/* Frees what an assignment owns and zeroes it. */
void vkr_semid_ids_free(vkr_semid_ids* ids);

#endif
