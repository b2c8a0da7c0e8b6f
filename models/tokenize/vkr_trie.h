/* The prefix trie over semantic IDs that keeps generation valid: a global trie and one per domain
 * (GenCDR), flattened into arrays the constrained beam search indexes on the GPU.
 *
 * Contract: IDs are uint16 rows of `depth` tokens (vkr_quantize.h), row i = item i, all distinct.
 * A trie holds the items of one domain (or all). Nodes are numbered breadth-first: the root is 0,
 * nodes of depth t occupy [level_begin[t], level_begin[t+1]), and the children of a node are
 * contiguous and sorted by token. Every node but the root has exactly one incoming edge and edges
 * are numbered in the same order, so edge e leads to node e + 1 (child_node[e] == e + 1; the array
 * is kept so kernels need no such knowledge). Leaves are the nodes of depth `depth`, one per item.
 * Token vocabularies (vocab[t] = 1 + the largest token at position t) come from ALL items' IDs, so
 * the global trie and every domain trie share one token space and mask width.
 * Lookups: path -> item walks the tree with a binary search among at most vocab[t] children per
 * level, O(depth log vocab); item -> path climbs parent links from the item's leaf, O(depth). A
 * path that is not a prefix of any item's ID is rejected (VKR_ERR_NOT_FOUND).
 *
 * GPU layout (vkr_trie_upload): one buffer of uint32 words; a 64-word header, then sections that
 * each start at a multiple of 64 words (256 bytes, any device's storage-offset alignment):
 *   header[0]  VKR_TRIE_MAGIC          header[1]  depth             header[2]  node_count
 *   header[3]  edge_count              header[4]  item_count        header[5]  off first_child
 *   header[6]  off child_count         header[7]  off child_token   header[8]  off child_node
 *   header[9]  off leaf_item           header[10] off mask0         header[11] mask0_words
 *   header[12] off mask1               header[13] mask1_words       header[14] off level_begin
 *   header[15] off parent              header[16 + t] vocab[t] for t < depth; the rest 0.
 * "off" values are word offsets from the buffer start. Sections: first_child [node_count] (edge
 * index of the first child), child_count [node_count], child_token [edge_count], child_node
 * [edge_count], leaf_item [node_count] (int32 item id at a leaf, -1 elsewhere), mask0 [mask0_words]
 * (bit t%32 of word t/32: the root has a child with token t), mask1 [vocab[0] * mask1_words] (row
 * t0: the tokens that may follow first token t0), level_begin [depth + 2], parent [node_count]
 * (parent node; the root's is 0). */
#ifndef VKR_TRIE_H
#define VKR_TRIE_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_runtime.h"

#define VKR_TRIE_MAGIC 0x45495254u /* "TRIE" */
#define VKR_TRIE_MAX_DEPTH 9u      /* tokens per ID (8 RQ levels + disambiguation) */
#define VKR_TRIE_HEADER_WORDS 64u  /* header words before the first section */

/* A flattened trie (host arrays). */
typedef struct vkr_trie {
    uint32_t depth;                                /* tokens per ID */
    uint32_t node_count;                           /* nodes including the root */
    uint32_t edge_count;                           /* node_count - 1 */
    uint32_t item_count;                           /* leaves (items in the trie) */
    uint32_t total_items;                          /* items of the dataset (item ids are below this) */
    uint32_t level_begin[VKR_TRIE_MAX_DEPTH + 2];  /* first node of each depth, then node_count */
    uint32_t vocab[VKR_TRIE_MAX_DEPTH];            /* token count per position (shared by all tries) */
    uint32_t* first_child;                         /* [node_count] first edge of the node */
    uint32_t* child_count;                         /* [node_count] children */
    uint32_t* child_token;                         /* [edge_count] token of each edge */
    uint32_t* child_node;                          /* [edge_count] node each edge leads to */
    int32_t* leaf_item;                            /* [node_count] item at a leaf, -1 elsewhere */
    uint32_t* parent;                              /* [node_count] parent (root: 0) */
    uint32_t* item_leaf;                           /* [total_items] leaf of each item, UINT32_MAX if absent */
    uint32_t mask0_words;                          /* words of mask0 */
    uint32_t* mask0;                               /* valid first tokens (bits) */
    uint32_t mask1_words;                          /* words per row of mask1 */
    uint32_t* mask1;                               /* [vocab[0] x mask1_words] valid second tokens per first */
} vkr_trie;

/* Branching statistics of a trie. */
typedef struct vkr_trie_stats {
    uint32_t depth;                              /* tokens per ID */
    uint32_t nodes[VKR_TRIE_MAX_DEPTH + 1];      /* nodes per depth (depth 0: the root) */
    double mean_children[VKR_TRIE_MAX_DEPTH];    /* mean children of the nodes at each depth < depth */
    uint32_t max_children[VKR_TRIE_MAX_DEPTH];   /* most children of a node at each depth < depth */
    uint32_t items;                              /* leaves */
    double items_per_path;                       /* mean items per (depth-1)-token path (collision groups) */
    uint32_t max_items_per_path;                 /* most items on one (depth-1)-token path */
} vkr_trie_stats;

/* Builds the trie of the items with item_domain[i] == domain (domain < 0 or item_domain NULL: all
 * items) from ids [n, depth]; out_trie is zeroed on entry. Duplicate IDs are an error. */
vkr_status vkr_trie_build(const uint16_t* ids, uint32_t n, uint32_t depth, const uint8_t* item_domain, int domain,
                          vkr_trie* out_trie);
/* Frees the arrays and zeroes the trie. */
void vkr_trie_free(vkr_trie* trie);
/* The node reached by `prefix` (len tokens, len <= depth); NOT_FOUND when it is no item's prefix. */
vkr_status vkr_trie_find(const vkr_trie* trie, const uint16_t* prefix, uint32_t len, uint32_t* out_node);
/* The child of `node` reached by `token` (binary search over its sorted edges), or UINT32_MAX when
 * there is none or `node` is out of range. */
uint32_t vkr_trie_child(const vkr_trie* trie, uint32_t node, uint32_t token);
/* The depth of `node` (0: the root, depth: a leaf); node must be below node_count. */
uint32_t vkr_trie_node_depth(const vkr_trie* trie, uint32_t node);
/* The item whose whole ID is `path` (depth tokens); NOT_FOUND otherwise. */
vkr_status vkr_trie_lookup(const vkr_trie* trie, const uint16_t* path, int32_t* out_item);
/* The ID of `item` (depth tokens into path); NOT_FOUND when the item is not in this trie. */
vkr_status vkr_trie_item_path(const vkr_trie* trie, uint32_t item, uint16_t* path);
/* Computes the statistics; out_stats is zeroed on entry. */
void vkr_trie_stats_compute(const vkr_trie* trie, vkr_trie_stats* out_stats);

/* A trie uploaded to the device: the buffer and a range per section (header: 64 words). The ranges
 * point at `buf` inside this struct: keep it in place (do not copy it). */
typedef struct vkr_trie_gpu {
    vkr_buffer buf;                                         /* everything, laid out as documented above */
    vkr_range header, first_child, child_count, child_token, child_node, leaf_item, mask0, mask1, level_begin,
        parent;                                             /* sections */
    uint32_t words;                                         /* words in the buffer */
} vkr_trie_gpu;

/* Serializes the trie into the documented layout (words: vkr_trie_packed_words). */
uint32_t vkr_trie_packed_words(const vkr_trie* trie);
/* Writes the packed image into `words` (vkr_trie_packed_words entries). */
vkr_status vkr_trie_pack(const vkr_trie* trie, uint32_t* words);
/* Uploads the packed trie once; out_gpu is zeroed on entry. */
vkr_status vkr_trie_upload(vkr_device* device, const vkr_trie* trie, vkr_trie_gpu* out_gpu);
/* Frees the device buffer and zeroes the struct. */
void vkr_trie_gpu_free(vkr_device* device, vkr_trie_gpu* gpu);

#endif
