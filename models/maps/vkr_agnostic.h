/* Domain-agnostic semantic categories (SemaCDR's K high-level categories shared across domains,
 * K = 8 in the paper, each with subcategories), derived without an LLM or imported from one.
 *
 * Derivation: rows of the item embedding (unit length, row i = item i) without signal (all zero)
 * get the "none" category (VKR_AGNOSTIC_NONE), never a random one. From the others each domain's
 * own direction is removed: its mean vector is subtracted from its items, then the span of the
 * between-domain directions (domain means minus their weighted mean; D - 1 of them) is projected
 * out, so what a domain's items have in common stops deciding the clusters. Rows are re-normalized
 * (a row left with no residual is "none" too) and clustered by k-means (vkr_kmeans.h, device or CPU
 * reference) into K categories, and each category's rows into M subcategories. Seeded: the same
 * seed on the same backend gives the same categories.
 *
 * Measure: per category, the domain mix is each domain's share of the category's items. Its
 * balance is the normalized entropy of the size-adjusted mix q_d = (c_d / N_d) / sum_e (c_e / N_e)
 * (c_d: the category's items of domain d, N_d: domain d's categorized items) over the D domains
 * that have categorized items: 1 when the category takes the same fraction of every domain, 0 when
 * it holds one domain only. The overall figure is the size-weighted mean balance ("none" excluded);
 * with fewer than two domains it is 1 by definition (nothing to separate).
 *
 * Import: a CSV `item,category[,subcategory]` (comma or tab, RFC 4180 quotes, optional header line
 * `item,category...`): item keys as the dataset names them (vkr_dataset_item_keys), every item
 * exactly once; category names numbered in order of first appearance, subcategory names per
 * category likewise; the category "none" means VKR_AGNOSTIC_NONE. Errors name file:line. */
#ifndef VKR_AGNOSTIC_H
#define VKR_AGNOSTIC_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_data.h"

#define VKR_AGNOSTIC_NONE (-1)       /* category / subcategory of an item without one */
#define VKR_AGNOSTIC_MAX_K 4096u     /* most categories (and subcategories per category) */
#define VKR_AGNOSTIC_NAME_MAX 128u   /* longest imported name, in bytes */

/* Settings of vkr_agnostic_derive; zero fields take the defaults. */
typedef struct vkr_agnostic_options {
    uint32_t k;          /* categories, 1..VKR_AGNOSTIC_MAX_K (required) */
    uint32_t sub;        /* subcategories per category (0: none) */
    bool keep_domains;   /* skip the domain-direction removal: plain k-means (the comparison) */
    uint32_t iters;      /* Lloyd iterations per k-means run (default 30) */
    uint32_t restarts;   /* k-means restarts, the lowest inertia kept (default 3) */
    uint64_t seed;       /* random seed (0 is a valid seed) */
} vkr_agnostic_options;

/* Categories of every item. */
typedef struct vkr_agnostic {
    uint32_t n;         /* items */
    uint32_t k;         /* categories */
    uint32_t m;         /* subcategory slots per category (0: no subcategories) */
    int32_t* assign;    /* n x 2: category, subcategory (VKR_AGNOSTIC_NONE where none) */
    char** names;       /* k category names */
    char** sub_names;   /* k x m subcategory names (NULL for unused slots); NULL when m is 0 */
} vkr_agnostic;

/* Domain mix of each category. */
typedef struct vkr_agnostic_mix {
    uint32_t k;                                  /* categories */
    uint32_t domain_count;                       /* domains (columns of count) */
    uint32_t* count;                             /* (k + 1) x domain_count items; row k: "none" */
    double* balance;                             /* k: normalized entropy of the size-adjusted mix */
    uint32_t domain_items[VKR_DATA_MAX_DOMAINS]; /* categorized items per domain (N_d) */
    uint32_t domains_present;                    /* domains with categorized items (D) */
    uint32_t none;                               /* items in "none" */
    double overall;                              /* size-weighted mean balance */
} vkr_agnostic_mix;

/* Derives categories from x (n x d, row i = item i of `domain`, values < domain_count); device NULL:
 * the CPU reference k-means. K larger than the rows with signal is refused. out is zeroed on entry. */
vkr_status vkr_agnostic_derive(vkr_device* device, const float* x, uint32_t n, uint32_t d, const uint8_t* domain,
                               uint32_t domain_count, const vkr_agnostic_options* options, vkr_agnostic* out);
/* Reads a CSV of categories for every item of `dataset`; out is zeroed on entry. */
vkr_status vkr_agnostic_import(const vkr_dataset* dataset, const char* path, vkr_agnostic* out);
/* Frees the arrays and names and zeroes `a`. */
void vkr_agnostic_free(vkr_agnostic* a);

/* The domain mix of every category of `a` (domain as in vkr_agnostic_derive); out is zeroed on entry. */
vkr_status vkr_agnostic_mix_compute(const vkr_agnostic* a, const uint8_t* domain, uint32_t domain_count,
                                    vkr_agnostic_mix* out);
/* Frees the arrays and zeroes `mix`. */
void vkr_agnostic_mix_free(vkr_agnostic_mix* mix);

#endif
