/* The top-K file `vkrec recommend --all` writes: each example's k best unseen items, for every
 * example of a split, in one run.
 *
 * Schema, by the path's extension:
 *   .csv   header `user,rank,item_id,item_key,domain,score`, then k rows per example (fewer when a
 *          decoding model found fewer unseen items): user = the user's original id, rank 1..k,
 *          item_id = the dataset's item index, item_key = the item's original id, domain = its
 *          domain name, score = the model's score (%.9g). Fields with a comma or quote are quoted.
 *   .json  {"model": M, "split": S, "k": K, "exclude_history": true, "lists": [LIST, ...]} with one
 *          LIST per line: {"user": id, "position": P, "domain": D, "target": item key,
 *          "items": [{"rank": 1, "item_id": I, "item_key": key, "domain": D, "score": X}, ...]}
 *          (position: the target's index in the user's sequence; domain, target: the target's).
 *
 * Contract: an example's list is what vkr_recommend_batch gives for its target's domain: the items
 * ranked given the history before the target, none of that history. Examples are grouped by target
 * domain (in domain order), in split order within a domain; examples whose target is in a domain the
 * model does not rank are left out. So the share of examples whose target is among their first K
 * rows is the full protocol's HR@K with exclude_history (ties and repeated items aside, see
 * vkr_recommend_batch). The file is replaced atomically; any other extension is INVALID_ARGUMENT. */
#ifndef VKR_TOPK_IO_H
#define VKR_TOPK_IO_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_rec.h"

/* What vkr_topk_write lists and with which model. */
typedef struct vkr_topk_options {
    const uint32_t* pairs; /* the split's examples (user, position), e.g. ds->test */
    uint32_t count;        /* examples */
    const bool* domains;   /* [domain_count]: true for the target domains the model ranks */
    vkr_scorer (*scorer)(void* model, uint32_t domain); /* the model's scorer for a target domain */
    void* model;           /* passed to scorer */
    uint32_t k;            /* items per example, >= 1 */
    const char* model_name; /* recorded in the JSON */
    const char* split;      /* recorded in the JSON */
    void (*progress)(uint32_t done, uint32_t total); /* called after each chunk of examples (may be NULL) */
} vkr_topk_options;

/* *out_json = whether path names a .json (else .csv) file; INVALID_ARGUMENT naming it otherwise. */
vkr_status vkr_topk_format(const char* path, bool* out_json);
/* The first line of the CSV vkr_topk_write writes. */
#define VKR_TOPK_CSV_HEADER "user,rank,item_id,item_key,domain,score"

/* Computes every listed example's top k and writes them to path (.csv or .json); *out_listed (may be
 * NULL) = examples listed, zeroed on entry. */
vkr_status vkr_topk_write(const vkr_dataset* ds, const vkr_topk_options* options, const char* path,
                          uint32_t* out_listed);

#endif
