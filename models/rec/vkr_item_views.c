/* Multi-view item representations and their InfoNCE alignment (vkr_item_views.h). */
#include "vkr_item_views.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_transformer.h"

void vkr_item_views_build(vkr_graph* g, const vkr_item_views_shape* s, vkr_tensor* id_table, vkr_item_views* v) {
    memset(v, 0, sizeof *v);
    uint32_t V = s->items + 1, D = s->hidden;
    v->view[0] = id_table;
    if (s->views & VKR_ITEM_VIEW_INNER) {
        v->text = vkr_graph_const(g, "text", VKR_F32, 2, (uint32_t[]){V, s->text_dim});
        v->view[1] = vkr_tf_linear(g, "inner", v->text, s->text_dim, D, true, s->semantic_group);
    }
    if (s->views & VKR_ITEM_VIEW_AGNOSTIC) {
        v->cat = vkr_graph_const(g, "category", VKR_I32, 1, &V);
        vkr_tensor* ct = vkr_graph_param_init(g, "agnostic.category", 2, (uint32_t[]){s->categories + 1, D},
                                              s->semantic_group, VKR_INIT_XAVIER, 1.0f);
        v->view[2] = vkr_op_embedding(g, ct, v->cat);
        if (s->subcategories) {
            v->sub = vkr_graph_const(g, "subcategory", VKR_I32, 1, &V);
            vkr_tensor* st = vkr_graph_param_init(g, "agnostic.subcategory", 2,
                                                  (uint32_t[]){s->categories * s->subcategories + 1, D},
                                                  s->semantic_group, VKR_INIT_XAVIER, 1.0f);
            v->view[2] = vkr_op_add(g, v->view[2], vkr_op_embedding(g, st, v->sub));
        }
    }
}

vkr_tensor* vkr_item_views_concat(vkr_graph* g, const vkr_item_views* v) {
    vkr_tensor* e = v->view[0];
    for (int k = 1; k < 3; k++)
        if (v->view[k]) e = vkr_op_concat(g, e, v->view[k], 1);
    return e;
}

vkr_tensor* vkr_item_views_sum(vkr_graph* g, const vkr_item_views* v, uint32_t group) {
    if (!v->view[1] && !v->view[2]) return v->view[0];
    vkr_tensor* gate = vkr_graph_param_init(g, "views.gate", 1, (uint32_t[]){2}, group, VKR_INIT_ZEROS, 0);
    vkr_tensor* e = v->view[0];
    for (int k = 1; k < 3; k++)
        if (v->view[k]) e = vkr_op_add(g, e, vkr_op_mul(g, v->view[k], vkr_op_slice(g, gate, 0, k - 1, 1)));
    return e;
}

vkr_tensor* vkr_item_views_normalize(vkr_graph* g, vkr_tensor* x) {
    vkr_tensor* ss = vkr_op_sum(g, vkr_op_mul(g, x, x), -1);
    return vkr_op_mul(g, x, vkr_op_rsqrt(g, ss, 1e-12f));
}

vkr_tensor* vkr_item_views_infonce(vkr_graph* g, vkr_item_views* v, vkr_tensor* idx, vkr_tensor* mask, float tau) {
    if (!v->view[2]) return NULL;
    uint32_t M = (uint32_t)idx->numel;
    if (!v->arange) v->arange = vkr_graph_const(g, "arange", VKR_I32, 1, &M);
    else if (v->arange->numel != M) vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "InfoNCE over %u items after %llu", M,
                                                   (unsigned long long)v->arange->numel);
    vkr_tensor* key = vkr_item_views_normalize(g, vkr_op_embedding(g, v->view[2], idx));
    vkr_tensor* loss = NULL;
    for (int k = 0; k < 2; k++) {
        if (!v->view[k]) continue;
        vkr_tensor* q = vkr_item_views_normalize(g, vkr_op_embedding(g, v->view[k], idx));
        vkr_tensor* sim = vkr_op_scale(g, vkr_op_matmul(g, q, key, NULL, false, true), 1.0f / tau);
        if (mask) sim = vkr_op_add(g, sim, mask);
        vkr_tensor* l = vkr_op_cross_entropy(g, sim, v->arange, -1);
        loss = loss ? vkr_op_add(g, loss, l) : l;
    }
    return loss;
}

vkr_status vkr_item_semantics_check(const vkr_dataset* ds, uint32_t views, const vkr_item_semantics* it) {
    if ((views & VKR_ITEM_VIEW_INNER) && (!it || !it->text || it->text_dim == 0))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "the inner item view needs item text embeddings");
    if (views & VKR_ITEM_VIEW_INNER)
        for (uint64_t i = 0; i < (uint64_t)ds->item_count * it->text_dim; i++)
            if (!isfinite(it->text[i]))
                return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "the text embedding of item %llu (%s) has a non-finite value",
                                (unsigned long long)(i / it->text_dim), vkr_strtab_get(&ds->item_key, i / it->text_dim));
    if (!(views & VKR_ITEM_VIEW_AGNOSTIC)) return VKR_OK;
    if (!it || !it->category || it->categories == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "the agnostic item view needs item categories");
    for (uint32_t i = 0; i < ds->item_count; i++) {
        int32_t k = it->category[2 * i], m = it->category[2 * i + 1];
        if (k < -1 || k >= (int32_t)it->categories)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "item %u (%s) has category %d, outside -1..%u", i,
                            vkr_strtab_get(&ds->item_key, i), k, it->categories - 1);
        if (m < -1 || (m >= 0 && (k < 0 || m >= (int32_t)it->subcategories)))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "item %u (%s) has subcategory %d (category %d, %u slots)", i,
                            vkr_strtab_get(&ds->item_key, i), m, k, it->subcategories);
    }
    return VKR_OK;
}

vkr_status vkr_item_views_host_make(const vkr_item_semantics* sem, uint32_t items, uint32_t views,
                                    vkr_item_views_host* h) {
    memset(h, 0, sizeof *h);
    h->items = items;
    size_t V = (size_t)items + 1;
    if (views & VKR_ITEM_VIEW_INNER) {
        h->text_dim = sem->text_dim;
        h->text = calloc(V * sem->text_dim, sizeof *h->text);
        if (!h->text) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the text view");
        memcpy(h->text + sem->text_dim, sem->text, (size_t)items * sem->text_dim * sizeof *h->text);
    }
    if (views & VKR_ITEM_VIEW_AGNOSTIC) {
        int32_t K = (int32_t)sem->categories, M = (int32_t)sem->subcategories;
        h->cat = malloc(V * sizeof *h->cat);
        h->sub = malloc(V * sizeof *h->sub);
        if (!h->cat || !h->sub) {
            vkr_item_views_host_free(h);
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the agnostic view");
        }
        h->cat[0] = K; /* the padding row reads the "none" rows */
        h->sub[0] = K * M;
        for (uint32_t i = 0; i < items; i++) {
            int32_t k = sem->category[2 * i], m = sem->category[2 * i + 1];
            h->cat[i + 1] = k < 0 ? K : k;
            h->sub[i + 1] = m < 0 ? K * M : k * M + m;
        }
    }
    return VKR_OK;
}

vkr_status vkr_item_views_write(vkr_exec* ex, const vkr_item_views* v, const vkr_item_views_host* h) {
    uint64_t V = (uint64_t)h->items + 1;
    if (v->text) VKR_TRY(vkr_exec_write(ex, v->text, h->text, 4ull * V * h->text_dim));
    if (v->cat) VKR_TRY(vkr_exec_write(ex, v->cat, h->cat, 4ull * V));
    if (v->sub) VKR_TRY(vkr_exec_write(ex, v->sub, h->sub, 4ull * V));
    if (!v->arange) return VKR_OK;
    uint64_t M = v->arange->numel;
    int32_t* a = malloc(M * sizeof *a);
    if (!a) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the InfoNCE targets");
    for (uint64_t i = 0; i < M; i++) a[i] = (int32_t)i;
    vkr_status s = vkr_exec_write(ex, v->arange, a, 4 * M);
    free(a);
    return s;
}

void vkr_item_views_mask(const vkr_item_views_host* h, const int32_t* ids, uint32_t m, float* out) {
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t j = 0; j < m; j++) {
            bool same = i != j && h->cat && h->cat[ids[i]] == h->cat[ids[j]] && h->sub[ids[i]] == h->sub[ids[j]];
            out[(size_t)i * m + j] = same ? -1e4f : 0.0f;
        }
}

void vkr_item_views_draw(uint32_t* pool, uint32_t n, uint32_t m, vkr_rng* rng, int32_t* out) {
    for (uint32_t i = 0; i < m; i++) {
        uint32_t k = i + (uint32_t)vkr_rng_next_below(rng, n - i), t = pool[i];
        pool[i] = pool[k], pool[k] = t;
        out[i] = (int32_t)pool[i];
    }
}

void vkr_item_views_host_free(vkr_item_views_host* h) {
    if (!h) return;
    free(h->text);
    free(h->cat);
    free(h->sub);
    memset(h, 0, sizeof *h);
}
