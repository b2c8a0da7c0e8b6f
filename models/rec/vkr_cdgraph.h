/* SemaCDR's collaborative graphs, built from a dataset's training interactions only (validation and
 * test events never enter): per domain an item graph linking items one user interacted with in that
 * domain, and the mixed-domain bipartite graph of users and the items of every domain. Edges are
 * binary (an interaction repeated counts once), self-loops are added (GCN's renormalization A + I) and
 * the result is degree-normalized, D^-1/2 (A + I) D^-1/2, ready for vkr_op_spmm.
 *
 * Contract: outputs are valid CSR matrices (vkr_csr_check) or zeroed on failure; a user's history of L
 * items in a domain contributes up to L (L - 1) item-item entries (or 2 L window with a window), and a
 * graph that would exceed options.max_entries is refused with the count, never truncated. */
#ifndef VKR_CDGRAPH_H
#define VKR_CDGRAPH_H
#include <stdint.h>

#include "vkr_csr.h"
#include "vkr_data.h"

/* How the graphs are built. Zero fields take the defaults in brackets. */
typedef struct vkr_cdgraph_options {
    uint32_t window;      /* item graphs: link events at most this many positions apart in a user's domain
                             history [0: every pair of the user's items] */
    uint64_t max_entries; /* most stored entries of one graph before it is refused [2^28] */
} vkr_cdgraph_options;

#define VKR_CDGRAPH_ALL_DOMAINS UINT32_MAX /* vkr_cdgraph_items: every domain's item graph in one matrix */

/* The item graph of `domain`: nodes are its items in local order (item - item_begin[domain]). With
 * VKR_CDGRAPH_ALL_DOMAINS, the block-diagonal matrix of every domain's item graph over all items
 * (node = item; no edge crosses domains). */
vkr_status vkr_cdgraph_items(const vkr_dataset* ds, uint32_t domain, const vkr_cdgraph_options* options,
                             vkr_csr* out);
/* The mixed-domain bipartite graph: nodes are the users, then every item (user_count + item). */
vkr_status vkr_cdgraph_mixed(const vkr_dataset* ds, const vkr_cdgraph_options* options, vkr_csr* out);
#endif
