/* beams.json: what GenCDR's constrained beam search decoded for a few test examples, written by
 * `vkrec run` and overlaid by the viewer on the semantic-ID trie.
 *
 * Schema (one JSON object):
 *   {"users": [{"user": 12, "domain": "Food", "target": 345,
 *               "beams": [{"path": [3, 17, 200], "score": -1.25, "item": 345}, ...]}, ...]}
 *   - users: one entry per decoded example, in test-split order.
 *   - user: the user id (number). domain, target: the target item's domain name and id (written for
 *     people reading the file; the reader ignores them).
 *   - beams: the decoded items, best first. path: the item's semantic ID, one code per level from
 *     the root (1..VKR_BEAMS_MAX_LEVELS integers in [0, 65535]); score: the beam's log-likelihood
 *     (number); item: the decoded item id (optional).
 *
 * Contract: the writer replaces the file atomically. The reader accepts exactly this schema and
 * names the file and the offending entry in a VKR_ERR_FORMAT error otherwise; an item that is
 * missing, not a number or not below the reader's item count reads as -1 (no item). */
#ifndef VKR_BEAMS_IO_H
#define VKR_BEAMS_IO_H
#include <stdint.h>

#include "vkr_data.h"
#include "vkr_gencdr.h"

#define VKR_BEAMS_MAX_LEVELS 16u /* longest path the reader accepts */

/* One beam: a path through the trie and its score. */
typedef struct vkr_beams_path {
    uint32_t len;                            /* codes in path */
    uint16_t path[VKR_BEAMS_MAX_LEVELS];     /* code per level from the root */
    double score;                            /* log-likelihood */
    int64_t item;                            /* decoded item, or -1 */
} vkr_beams_path;

/* The beams of one example. */
typedef struct vkr_beams_user {
    int64_t user;          /* user id */
    uint32_t count;        /* beams */
    vkr_beams_path* beams; /* [count], best first */
} vkr_beams_user;

/* A beams.json read into memory. */
typedef struct vkr_beams {
    uint32_t user_count;   /* entries */
    vkr_beams_user* users; /* [user_count] */
} vkr_beams;

/* Decodes the first `n` test examples of ds with m's beam search (over each target's domain) and
 * writes them to `path`; INVALID_ARGUMENT when m has no beam search. */
vkr_status vkr_beams_write(const vkr_dataset* ds, vkr_gencdr_model* m, uint32_t n, const char* path);
/* Reads `path`; items at or above item_count read as -1. out_beams is zeroed on entry. */
vkr_status vkr_beams_read(const char* path, uint32_t item_count, vkr_beams* out_beams);
/* Frees what vkr_beams_read allocated and zeroes beams. */
void vkr_beams_free(vkr_beams* beams);

#endif
