/* Multi-view item representations (SemaCDR sec. 2.3), shared by SemaCDR and, as a plug-in, by SASRec:
 * an ID embedding, an inner-domain semantic embedding (the item's text vector through a learned
 * projection) and a domain-agnostic embedding (its category's plus its subcategory's learned
 * embedding), and the InfoNCE terms that align the ID and inner views with the agnostic one.
 *
 * Contract: tables have rows = items + 1 (row 0 is padding: zero text, the "none" category); the
 * semantic modules' parameters go to the group the caller names (their own learning rate). The host
 * side pads the item inputs once (vkr_item_views_host_make) and uploads them into every executor of
 * the graph (vkr_item_views_write). */
#ifndef VKR_ITEM_VIEWS_H
#define VKR_ITEM_VIEWS_H
#include <stdint.h>

#include "vkr_data.h"
#include "vkr_exec.h"
#include "vkr_rng.h"

/* Item views (bits). */
enum {
    VKR_ITEM_VIEW_ID = 1u,       /* learned ID embedding */
    VKR_ITEM_VIEW_INNER = 2u,    /* text embedding through a learned projection */
    VKR_ITEM_VIEW_AGNOSTIC = 4u  /* category + subcategory embeddings */
};
#define VKR_ITEM_VIEWS_ALL (VKR_ITEM_VIEW_ID | VKR_ITEM_VIEW_INNER | VKR_ITEM_VIEW_AGNOSTIC)

/* What the semantic views are made of, for every item (rows = item ids 0..items-1). */
typedef struct vkr_item_semantics {
    const float* text;       /* [items x text_dim] (NULL without the inner view) */
    uint32_t text_dim;       /* columns of text */
    const int32_t* category; /* [items x 2] category, subcategory (-1: none); NULL without the agnostic view */
    uint32_t categories;     /* categories K (values 0..K-1) */
    uint32_t subcategories;  /* subcategory slots per category (0: none) */
} vkr_item_semantics;

/* Sizes of the views in one graph. */
typedef struct vkr_item_views_shape {
    uint32_t items;          /* item ids 1..items (row 0 pads) */
    uint32_t hidden;         /* width of every view */
    uint32_t views;          /* VKR_ITEM_VIEW_* bits */
    uint32_t text_dim;       /* text columns (inner view) */
    uint32_t categories;     /* categories (agnostic view) */
    uint32_t subcategories;  /* subcategory slots per category (0: none) */
    uint32_t semantic_group; /* parameter group of the projection and the category tables */
} vkr_item_views_shape;

/* The views of a graph and the constants they read. */
typedef struct vkr_item_views {
    vkr_tensor* view[3]; /* [items + 1, hidden]: ID, inner, agnostic (NULL when absent) */
    vkr_tensor* text;    /* const fp32 [items + 1, text_dim] */
    vkr_tensor* cat;     /* const int32 [items + 1] category row (K: none) */
    vkr_tensor* sub;     /* const int32 [items + 1] subcategory row (K * M: none) */
    vkr_tensor* arange;  /* const int32 [M] 0..M-1, the InfoNCE targets (made by vkr_item_views_infonce) */
} vkr_item_views;

/* Adds the views to g; the ID view is id_table ([items + 1, hidden]). Errors are sticky on g. */
void vkr_item_views_build(vkr_graph* g, const vkr_item_views_shape* shape, vkr_tensor* id_table, vkr_item_views* out);
/* The views concatenated along the columns, [items + 1, views x hidden]. */
vkr_tensor* vkr_item_views_concat(vkr_graph* g, const vkr_item_views* v);
/* ID + a * inner + b * agnostic, [items + 1, hidden], with learned gates a, b (parameter "views.gate" of
 * `group`) starting at 0: the model starts as its ID-only self and takes in the semantic views as far
 * as they lower its loss. (A plain sum measured worse than none: the small category tables start ~10x
 * larger per element than a Glorot-initialized ID table and outweighed it.) The ID table itself when
 * there is no other view. */
vkr_tensor* vkr_item_views_sum(vkr_graph* g, const vkr_item_views* v, uint32_t group);
/* Mean InfoNCE (cosine / tau) of the ID and inner views against the agnostic one over the items
 * idx (int32 [M], ids + 1), summed over the two pairs; NULL without the agnostic view. The first call
 * adds v->arange, the targets every call of the graph shares (same M; vkr_item_views_write fills it).
 * mask (fp32 [M, M], may be NULL) is added to the logits: vkr_item_views_mask takes items with the
 * same agnostic code out of each other's denominators. */
vkr_tensor* vkr_item_views_infonce(vkr_graph* g, vkr_item_views* v, vkr_tensor* idx, vkr_tensor* mask, float tau);

/* x / ||x|| along the last axis (the cosine similarity's normalization). */
vkr_tensor* vkr_item_views_normalize(vkr_graph* g, vkr_tensor* x);

/* The padded host copies of the inputs. */
typedef struct vkr_item_views_host {
    uint32_t items, text_dim; /* sizes */
    float* text;              /* [(items + 1) x text_dim] or NULL */
    int32_t *cat, *sub;       /* [items + 1] or NULL */
} vkr_item_views_host;

/* Checks sem against the dataset for `views` (finite text, categories in range; errors name the
 * item). */
vkr_status vkr_item_semantics_check(const vkr_dataset* ds, uint32_t views, const vkr_item_semantics* sem);
/* Pads sem for `views`; out is zeroed on entry. */
vkr_status vkr_item_views_host_make(const vkr_item_semantics* sem, uint32_t items, uint32_t views,
                                    vkr_item_views_host* out);
/* Uploads the constants of v (inputs from host, and the InfoNCE targets). */
vkr_status vkr_item_views_write(vkr_exec* exec, const vkr_item_views* v, const vkr_item_views_host* host);
/* The InfoNCE mask of the M items ids (ids + 1) into out[M x M]: -1e4 where two different rows share
 * category and subcategory (identical agnostic embeddings make one the other's positive in all but
 * name: counted as a negative it would push apart items the view cannot tell apart), 0 elsewhere. */
void vkr_item_views_mask(const vkr_item_views_host* host, const int32_t* ids, uint32_t m, float* out);
/* Draws m distinct entries of pool[0..n) (item ids + 1; m <= n) into out by a partial Fisher-Yates,
 * which leaves pool permuted: the InfoNCE rows of one step. */
void vkr_item_views_draw(uint32_t* pool, uint32_t n, uint32_t m, vkr_rng* rng, int32_t* out);
/* Frees and zeroes. */
void vkr_item_views_host_free(vkr_item_views_host* host);

#endif
