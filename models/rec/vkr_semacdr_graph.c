/* SemaCDR's graph: item views, contrastive terms, the GCN over three graphs, three sequence
 * encoders, cross-attention and adaptive fusion, BPR (vkr_semacdr.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vkr_semacdr_internal.h"
#include "vkr_transformer.h"

enum { SEMA_GROUP_REST = 0, SEMA_GROUP_SEMANTIC = 1 };

/* LeakyReLU(A y + b) with y = X W computed before the product (it is narrower than X); A NULL: no
 * propagation (the "without graph" ablation keeps the transform). */
static vkr_tensor* sema_gcn_out(vkr_graph* g, const vkr_graph_csr* a, vkr_tensor* y, vkr_tensor* bias, float slope) {
    vkr_tensor* p = a ? vkr_op_spmm(g, a, y) : y;
    return vkr_op_leaky_relu(g, vkr_op_add(g, p, bias), slope);
}

/* One sequence encoder over graph outputs h_pad [items + 1, d]: the last position's state [B, 1, d]
 * and the whole sequence [B, T, d] in *all. */
static vkr_tensor* sema_encode(vkr_graph* g, const char* name, const vkr_semacdr_train* c, bool train,
                               vkr_tensor* h_pad, vkr_tensor* seq, vkr_tensor* mask, vkr_tensor** all) {
    uint32_t T = c->max_len, D = c->hidden;
    char pname[VKR_NAME_BYTES];
    snprintf(pname, sizeof pname, "%s.pos", name);
    vkr_tensor* pos = vkr_graph_param_init(g, pname, 2, (uint32_t[]){T, D}, SEMA_GROUP_REST, VKR_INIT_XAVIER, 1.0f);
    vkr_tensor* x = vkr_op_add(g, vkr_op_scale(g, vkr_op_embedding(g, h_pad, seq), sqrtf((float)D)), pos);
    if (train && c->dropout > 0) x = vkr_op_dropout(g, x, c->dropout);
    vkr_tf_config tc = {.style = VKR_TF_SASREC, .blocks = c->blocks, .hidden = D, .heads = c->heads ? c->heads : 1,
                        .ffn_mult = 1, .dropout = train ? c->dropout : 0.0f, .causal = true};
    vkr_tensor* z = vkr_tf_encoder(g, name, &tc, x, mask);
    if (all) *all = z;
    return vkr_op_slice(g, z, 1, T - 1, 1);
}

/* Prepends the zero padding row to graph outputs [items, d]. */
static vkr_tensor* sema_pad(vkr_graph* g, vkr_semacdr_graph* m, vkr_tensor* h) {
    return vkr_op_concat(g, m->zero_row, h, 0);
}

static vkr_tensor* sema_bias(vkr_graph* g, const char* name, uint32_t d) {
    return vkr_graph_param_init(g, name, 1, &d, SEMA_GROUP_REST, VKR_INIT_ZEROS, 0);
}

vkr_status vkr_semacdr_build(const vkr_semacdr_train* c, const vkr_semacdr_shape* s, bool train, uint64_t seed,
                             vkr_semacdr_graph* m) {
    if (!m) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semacdr_build: out is NULL");
    memset(m, 0, sizeof *m);
    if (!c || !s || s->items == 0 || s->users == 0 || s->batch == 0 || c->max_len == 0 || c->hidden == 0 ||
        c->blocks == 0 || s->target_count == 0 || s->target_begin + (uint64_t)s->target_count > s->items)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SemaCDR: empty or inconsistent sizes");
    VKR_TRY(vkr_graph_create(seed, &m->graph));
    vkr_graph* g = m->graph;
    uint32_t B = s->batch, T = c->max_len, D = c->hidden, N = s->items, U = s->users;
    uint32_t bt[2] = {B, T};
    static const char* const seq_names[3] = {"source", "target", "mixed"};
    char name[VKR_NAME_BYTES];
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "%s.seq", seq_names[k]);
        m->seq[k] = vkr_graph_input(g, name, VKR_I32, 2, bt);
        snprintf(name, sizeof name, "%s.mask", seq_names[k]);
        m->mask[k] = vkr_graph_input(g, name, VKR_I32, 2, bt);
    }
    m->user = vkr_graph_input(g, "user", VKR_I32, 1, &B);
    m->zero_row = vkr_graph_const(g, "zero_row", VKR_F32, 2, (uint32_t[]){1, D});

    vkr_item_views_shape vs = {.items = N, .hidden = D, .views = c->views, .text_dim = s->text_dim,
                               .categories = s->categories, .subcategories = s->subcategories,
                               .semantic_group = SEMA_GROUP_SEMANTIC};
    vkr_tensor* id = vkr_graph_param_init(g, "item_id", 2, (uint32_t[]){N + 1, D}, SEMA_GROUP_REST, VKR_INIT_XAVIER, 1.0f);
    vkr_item_views_build(g, &vs, id, &m->views);
    vkr_tensor* const* view = m->views.view;
    vkr_tensor* e = vkr_item_views_concat(g, &m->views); /* [N + 1, W] */
    uint32_t W = e ? e->shape[1] : 0;
    vkr_tensor* items = vkr_op_slice(g, e, 0, 1, N); /* node features of items 0..N-1 */

    /* graph collaborative learning: item graphs (source and target weights over one block-diagonal
     * matrix) and the mixed user-item graph */
    if (c->graph) {
        m->item_graph = vkr_graph_sparse(g, "item_graph", N, N, s->item_nnz);
        m->mixed_graph = vkr_graph_sparse(g, "mixed_graph", U + N, U + N, s->mixed_nnz);
    }
    const vkr_graph_csr* ag = c->graph ? &m->item_graph : NULL;
    const vkr_graph_csr* am = c->graph ? &m->mixed_graph : NULL;
    vkr_tensor* w_st = vkr_graph_param_init(g, "gcn_item.w", 2, (uint32_t[]){W, 2 * D}, SEMA_GROUP_REST,
                                            VKR_INIT_XAVIER, 1.0f);
    vkr_tensor* y_st = vkr_op_matmul(g, items, w_st, NULL, false, false);
    vkr_tensor* p_st = ag ? vkr_op_spmm(g, ag, y_st) : y_st;
    vkr_tensor* h_s = vkr_op_leaky_relu(g, vkr_op_add(g, vkr_op_slice(g, p_st, 1, 0, D), sema_bias(g, "gcn_source.b", D)),
                                        c->leaky_slope);
    vkr_tensor* h_t = vkr_op_leaky_relu(g, vkr_op_add(g, vkr_op_slice(g, p_st, 1, D, D), sema_bias(g, "gcn_target.b", D)),
                                        c->leaky_slope);
    vkr_tensor* user_emb = vkr_graph_param_init(g, "user_emb", 2, (uint32_t[]){U, W}, SEMA_GROUP_REST, VKR_INIT_XAVIER,
                                                1.0f);
    vkr_tensor* w_m = vkr_graph_param_init(g, "gcn_mixed.w", 2, (uint32_t[]){W, D}, SEMA_GROUP_REST, VKR_INIT_XAVIER,
                                           1.0f);
    vkr_tensor* y_m = vkr_op_matmul(g, vkr_op_concat(g, user_emb, items, 0), w_m, NULL, false, false);
    vkr_tensor* b_m = sema_bias(g, "gcn_mixed.b", D);
    vkr_tensor* h_m = sema_gcn_out(g, am, y_m, b_m, c->leaky_slope); /* [U + N, D] */
    vkr_tensor* h_mi = vkr_op_slice(g, h_m, 0, U, N);
    vkr_tensor* hu;
    if (c->graph_user) { /* the user node's row: its neighbours are every training item, later ones too */
        hu = vkr_op_embedding(g, vkr_op_slice(g, h_m, 0, 0, U), m->user);
    } else { /* the same layer over the user's own row and the history before the example only */
        m->user_norm = vkr_graph_input(g, "user_norm", VKR_F32, 2, (uint32_t[]){B, 1});
        vkr_tensor* y_items = sema_pad(g, m, vkr_op_slice(g, y_m, 0, U, N));
        vkr_tensor* hist = vkr_op_sum(g, vkr_op_embedding(g, y_items, m->seq[2]), 1); /* [B, 1, D] */
        vkr_tensor* self = vkr_op_embedding(g, vkr_op_slice(g, y_m, 0, 0, U), m->user);
        vkr_tensor* agg = vkr_op_mul(g, vkr_op_add(g, self, vkr_op_reshape(g, hist, 2, (uint32_t[]){B, D})), m->user_norm);
        hu = vkr_op_leaky_relu(g, vkr_op_add(g, agg, b_m), c->leaky_slope);
    }

    /* three sequence encoders; the target state attends over the source sequence */
    vkr_tensor* z_src = NULL;
    sema_encode(g, "enc_source", c, train, sema_pad(g, m, h_s), m->seq[0], m->mask[0], &z_src);
    vkr_tensor* z_t = sema_encode(g, "enc_target", c, train, sema_pad(g, m, h_t), m->seq[1], m->mask[1], NULL);
    vkr_tensor* z_m = sema_encode(g, "enc_mixed", c, train, sema_pad(g, m, h_mi), m->seq[2], m->mask[2], NULL);
    vkr_tensor* fuse = z_t;
    if (c->cross_fusion) {
        vkr_tf_config xc = {.style = VKR_TF_SASREC, .hidden = D, .heads = c->heads ? c->heads : 1,
                            .dropout = train ? c->dropout : 0.0f, .causal = false};
        fuse = vkr_op_add(g, z_t, vkr_tf_cross_attention(g, "cross", &xc, z_t, z_src, m->mask[0]));
    }
    uint32_t bd[2] = {B, D};
    fuse = vkr_op_reshape(g, fuse, 2, bd);
    z_m = vkr_op_reshape(g, z_m, 2, bd);
    vkr_tensor* final;
    if (c->adaptive_fusion) {
        vkr_tensor* w = vkr_graph_param_init(g, "fusion", 1, (uint32_t[]){3}, SEMA_GROUP_REST, VKR_INIT_ONES, 0);
        final = vkr_op_add(g, vkr_op_add(g, vkr_op_mul(g, fuse, vkr_op_slice(g, w, 0, 0, 1)),
                                         vkr_op_mul(g, z_m, vkr_op_slice(g, w, 0, 1, 1))),
                           vkr_op_mul(g, hu, vkr_op_slice(g, w, 0, 2, 1)));
        final = vkr_op_scale(g, final, 1.0f / 3.0f);
    } else {
        final = vkr_op_scale(g, vkr_op_add(g, vkr_op_add(g, fuse, z_m), hu), 1.0f / 3.0f);
    }

    vkr_tensor* cand = !train || c->softmax ? vkr_op_slice(g, view[0], 0, s->target_begin + 1, s->target_count) : NULL;
    if (!train) {
        m->scores = vkr_graph_keep(vkr_op_matmul(g, final, cand, NULL, false, true));
        m->item_out = vkr_graph_keep(h_mi);
    } else if (c->softmax) {
        m->label = vkr_graph_input(g, "label", VKR_I32, 1, &B);
        m->loss = vkr_op_linear_xent(g, final, cand, m->label, -1);
    } else {
        m->pos = vkr_graph_input(g, "pos", VKR_I32, 1, &B);
        m->neg = vkr_graph_input(g, "neg", VKR_I32, 1, &B);
        vkr_tensor* sp = vkr_op_sum(g, vkr_op_mul(g, final, vkr_op_embedding(g, view[0], m->pos)), -1);
        vkr_tensor* sn = vkr_op_sum(g, vkr_op_mul(g, final, vkr_op_embedding(g, view[0], m->neg)), -1);
        m->loss = vkr_op_bpr(g, sp, sn);
    }
    if (train) {
        if (c->lambda > 0 && view[2] && s->contrast > 0) { /* InfoNCE on each domain side */
            uint32_t M = s->contrast;
            vkr_tensor* lc = NULL;
            for (int side = 0; side < 2; side++) {
                snprintf(name, sizeof name, "contrast.%s", side ? "source" : "target");
                m->contrast[side] = vkr_graph_input(g, name, VKR_I32, 1, &M);
                snprintf(name, sizeof name, "contrast_mask.%s", side ? "source" : "target");
                if (c->infonce_mask) m->contrast_mask[side] = vkr_graph_input(g, name, VKR_F32, 2, (uint32_t[]){M, M});
                vkr_tensor* l = vkr_item_views_infonce(g, &m->views, m->contrast[side], m->contrast_mask[side], c->tau);
                lc = lc ? vkr_op_add(g, lc, l) : l;
            }
            m->loss = vkr_op_add(g, m->loss, vkr_op_scale(g, lc, c->lambda));
        }
        vkr_graph_keep(m->loss);
    }
    vkr_status st = vkr_graph_status(g);
    if (st == VKR_OK && train) st = vkr_graph_backward(g, m->loss);
    if (st != VKR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", vkr_graph_status(g) != VKR_OK ? vkr_graph_error(g) : vkr_last_error());
        vkr_semacdr_graph_destroy(m);
        return vkr_fail(st, "SemaCDR: %s", msg);
    }
    return VKR_OK;
}

void vkr_semacdr_graph_destroy(vkr_semacdr_graph* m) {
    if (!m) return;
    vkr_graph_destroy(m->graph);
    memset(m, 0, sizeof *m);
}
