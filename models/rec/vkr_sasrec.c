#include "vkr_sasrec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vkr_gru.h"
#include "vkr_transformer.h"

vkr_sasrec_arch vkr_sasrec_arch_resolve(vkr_sasrec_arch arch, vkr_sasrec_loss loss) {
    if (arch != VKR_SASREC_ARCH_AUTO) return arch;
    return loss == VKR_SASREC_BCE ? VKR_SASREC_ARCH_ORIGINAL : VKR_SASREC_ARCH_PRENORM;
}

const char* vkr_sasrec_arch_name(vkr_sasrec_arch arch) {
    return arch == VKR_SASREC_ARCH_ORIGINAL ? "original" : arch == VKR_SASREC_ARCH_PRENORM ? "prenorm" : "auto";
}

vkr_status vkr_sasrec_build(const vkr_sasrec_config* c, bool train, uint64_t seed, vkr_sasrec* m) {
    if (!m) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_build: out is NULL");
    memset(m, 0, sizeof *m);
    if (!c || c->items == 0 || c->max_len == 0 || c->batch == 0 || c->hidden == 0 || c->blocks == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_build: items, max_len, batch, hidden and blocks must be positive");
    if (c->window > c->max_len)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_build: window %u exceeds max_len %u", c->window,
                        c->max_len);
    VKR_TRY(vkr_graph_create(seed, &m->graph));
    vkr_graph* g = m->graph;
    uint32_t B = c->batch, T = c->window ? c->window : c->max_len, D = c->hidden, V = c->items + 1;
    uint32_t bt[2] = {B, T};
    m->seq = vkr_graph_input(g, "seq", VKR_I32, 2, bt);
    m->mask = vkr_graph_input(g, "mask", VKR_I32, 2, bt);
    bool original = vkr_sasrec_arch_resolve(c->arch, c->loss) == VKR_SASREC_ARCH_ORIGINAL;
    /* the paper's code starts the embeddings Glorot-uniform: ~15x smaller than N(0, 1/D) on a large table */
    vkr_init_kind emb_init = original ? VKR_INIT_XAVIER : VKR_INIT_NORMAL;
    float emb_scale = original ? 1.0f : 1.0f / sqrtf((float)D);
    vkr_tensor* item = c->semantic_only ? NULL : vkr_graph_param_init(g, "item_emb", 2, (uint32_t[]){V, D}, 0, emb_init, emb_scale);
    vkr_tensor* posemb =
        c->gru ? NULL : vkr_graph_param_init(g, "pos_emb", 2, (uint32_t[]){c->max_len, D}, 0, emb_init, emb_scale);
    /* a shorter window is the full window's last T positions: the same rows of the table */
    if (posemb && T < c->max_len) posemb = vkr_op_slice(g, posemb, 0, c->max_len - T, T);
    vkr_item_views_shape vs = {.items = c->items, .hidden = D, .views = c->views | VKR_ITEM_VIEW_ID,
                               .text_dim = c->text_dim, .categories = c->categories,
                               .subcategories = c->subcategories, .semantic_group = 1};
    if (c->semantic_only) { /* the projection is the item table: the model's own learning rate */
        vs.views = VKR_ITEM_VIEW_INNER;
        vs.semantic_group = 0;
        vkr_item_views_build(g, &vs, NULL, &m->views);
        item = m->views.view[1];
        if (c->semantic_mlp) item = vkr_op_add(g, item, vkr_tf_linear(g, "sem.mlp", vkr_op_gelu(g, item), D, D, true, 0));
        if (!train) m->items = vkr_graph_keep(item);
    } else {
        vkr_item_views_build(g, &vs, item, &m->views);
        /* one table for the history items and the candidates, tied as in SASRec (candidates as ID
         * embeddings only measured worse: 0.075 against 0.122 Food full HR@10) */
        item = vkr_item_views_sum(g, &m->views, 0); /* the ID table itself without the plug-in */
    }
    vkr_tensor* x = vkr_op_scale(g, vkr_op_embedding(g, item, m->seq), sqrtf((float)D));
    if (posemb) x = vkr_op_add(g, x, posemb);
    if (train && c->dropout > 0) x = vkr_op_dropout(g, x, c->dropout);
    vkr_tensor* h; /* [B, T, D] */
    if (c->gru) {
        m->mask_table = vkr_graph_const(g, "mask_table", VKR_F32, 2, (uint32_t[]){2, 1});
        h = vkr_gru_encoder(g, "gru", x, vkr_op_embedding(g, m->mask_table, m->mask), D, 0);
    } else {
        vkr_tf_config tc = {.style = original ? VKR_TF_SASREC : VKR_TF_PRENORM,
                            .blocks = c->blocks, .hidden = D, .heads = c->heads ? c->heads : 1, .ffn_mult = 1,
                            .dropout = train ? c->dropout : 0.0f, .causal = true};
        h = vkr_tf_encoder(g, "enc", &tc, x, m->mask);
    }
    uint32_t out_begin = c->out_count ? c->out_begin : 1, out_count = c->out_count ? c->out_count : c->items;
    if (out_begin + (uint64_t)out_count > V) {
        vkr_sasrec_destroy(m);
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "SASRec: candidate rows [%u, +%u) exceed the %u-row table", out_begin,
                        out_count, V);
    }
    vkr_tensor* cand = out_begin == 0 && out_count == V ? item : vkr_op_slice(g, item, 0, out_begin, out_count);
    if (!train) {
        vkr_tensor* last = vkr_op_reshape(g, vkr_op_slice(g, h, 1, T - 1, 1), 2, (uint32_t[]){B, D});
        if (c->seq_clusters) { /* LLM-RecG's sequence level: move the state towards the source behaviour it resembles */
            m->centroids = vkr_graph_input(g, "centroids", VKR_F32, 2, (uint32_t[]){c->seq_clusters, D});
            vkr_tensor* att = vkr_op_softmax(
                g, vkr_op_scale(g, vkr_op_matmul(g, last, m->centroids, NULL, false, true), 1.0f / sqrtf((float)D)));
            vkr_tensor* mix = vkr_op_matmul(g, att, m->centroids, NULL, false, false);
            last = vkr_op_add(g, last, vkr_op_scale(g, vkr_op_sub(g, mix, last), c->seq_mix));
        }
        m->last = vkr_graph_keep(last);
        m->scores = vkr_graph_keep(vkr_op_matmul(g, last, cand, NULL, false, true));
    } else if (c->loss == VKR_SASREC_CE) {
        m->pos = vkr_graph_input(g, "pos", VKR_I32, 2, bt);
        m->loss_scale = vkr_graph_input(g, "loss_scale", VKR_F32, 1, (uint32_t[]){1});
        m->loss = vkr_op_mul(g, vkr_op_linear_xent(g, vkr_op_reshape(g, h, 2, (uint32_t[]){B * T, D}), cand,
                                                   vkr_op_reshape(g, m->pos, 1, (uint32_t[]){B * T}), -1),
                             m->loss_scale);
    } else {
        m->pos = vkr_graph_input(g, "pos", VKR_I32, 2, bt);
        m->neg = vkr_graph_input(g, "neg", VKR_I32, 2, bt);
        uint32_t n = B * T;
        m->pos_label = vkr_graph_input(g, "pos_label", VKR_F32, 1, &n);
        m->neg_label = vkr_graph_input(g, "neg_label", VKR_F32, 1, &n);
        vkr_tensor* pe = vkr_op_embedding(g, item, m->pos);
        vkr_tensor* ne = vkr_op_embedding(g, item, m->neg);
        vkr_tensor* pl = vkr_op_reshape(g, vkr_op_sum(g, vkr_op_mul(g, h, pe), -1), 1, &n);
        vkr_tensor* nl = vkr_op_reshape(g, vkr_op_sum(g, vkr_op_mul(g, h, ne), -1), 1, &n);
        vkr_tensor* logits = vkr_op_concat(g, pl, nl, 0);
        vkr_tensor* labels = vkr_op_concat(g, m->pos_label, m->neg_label, 0);
        uint32_t one = 1;
        m->loss_scale = vkr_graph_input(g, "loss_scale", VKR_F32, 1, &one);
        m->loss = vkr_op_mul(g, vkr_op_bce_logits(g, logits, labels), m->loss_scale);
    }
    if (train && m->loss && c->view_lambda > 0 && m->views.view[2] && c->contrast) {
        m->contrast = vkr_graph_input(g, "contrast", VKR_I32, 1, &c->contrast);
        if (c->view_mask)
            m->contrast_mask = vkr_graph_input(g, "contrast_mask", VKR_F32, 2, (uint32_t[]){c->contrast, c->contrast});
        vkr_tensor* lc = vkr_item_views_infonce(g, &m->views, m->contrast, m->contrast_mask, c->view_tau);
        m->loss = vkr_op_add(g, m->loss, vkr_op_scale(g, lc, c->view_lambda));
    }
    if (train && m->loss && c->align_items) {
        uint32_t M = c->align_items;
        m->align_src = vkr_graph_input(g, "align_src", VKR_I32, 1, &M);
        m->align_tgt = vkr_graph_input(g, "align_tgt", VKR_I32, 1, &M);
        m->align_p = vkr_graph_input(g, "align_p", VKR_F32, 2, (uint32_t[]){M, M});
        m->align_arange = vkr_graph_const(g, "align_arange", VKR_I32, 1, &M);
        vkr_tensor* la = vkr_sasrec_align_loss(g, item, m->align_src, m->align_tgt, m->align_p, m->align_arange,
                                               c->align_tau);
        m->loss = vkr_op_add(g, m->loss, vkr_op_scale(g, la, c->align_weight));
    }
    if (train && m->loss) vkr_graph_keep(m->loss);
    vkr_status s = vkr_graph_status(g);
    if (s == VKR_OK && train) s = vkr_graph_backward(g, m->loss);
    if (s != VKR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", vkr_graph_status(g) != VKR_OK ? vkr_graph_error(g) : vkr_last_error());
        vkr_sasrec_destroy(m);
        return vkr_fail(s, "SASRec: %s", msg);
    }
    return VKR_OK;
}

vkr_tensor* vkr_sasrec_align_loss(vkr_graph* g, vkr_tensor* table, vkr_tensor* src, vkr_tensor* tgt, vkr_tensor* p,
                                  vkr_tensor* arange, float tau) {
    uint32_t M = (uint32_t)src->numel;
    vkr_tensor* zs = vkr_item_views_normalize(g, vkr_op_embedding(g, table, src));
    vkr_tensor* zt = vkr_item_views_normalize(g, vkr_op_embedding(g, table, tgt));
    vkr_tensor* pull = vkr_op_sum(g, vkr_op_sum(g, vkr_op_mul(g, p, vkr_op_matmul(g, zs, zt, NULL, false, true)), -1), 0);
    vkr_tensor* inter = vkr_op_reshape(g, vkr_op_scale(g, pull, -1.0f / (float)M), 1, (uint32_t[]){1});
    vkr_tensor* self = vkr_op_scale(g, vkr_op_matmul(g, zs, zs, NULL, false, true), 1.0f / tau);
    return vkr_op_add(g, inter, vkr_op_cross_entropy(g, self, arange, -1));
}

void vkr_sasrec_align_weights(const float* text, uint32_t text_dim, const int32_t* src, const int32_t* tgt, uint32_t m,
                              float tau, double* tgt_norm, float* p) {
    for (uint32_t j = 0; j < m; j++) {
        const float* b = text + (size_t)tgt[j] * text_dim;
        double nb = 0;
        for (uint32_t k = 0; k < text_dim; k++) nb += (double)b[k] * b[k];
        tgt_norm[j] = nb;
    }
    for (uint32_t i = 0; i < m; i++) {
        const float* a = text + (size_t)src[i] * text_dim;
        double na = 0;
        for (uint32_t k = 0; k < text_dim; k++) na += (double)a[k] * a[k];
        float* row = p + (size_t)i * m;
        float top = -INFINITY;
        for (uint32_t j = 0; j < m; j++) {
            const float* b = text + (size_t)tgt[j] * text_dim;
            double dot = 0, nb = tgt_norm[j];
            for (uint32_t k = 0; k < text_dim; k++) dot += (double)a[k] * b[k];
            row[j] = na > 0 && nb > 0 ? (float)(dot / sqrt(na * nb)) / tau : 0.0f;
            if (row[j] > top) top = row[j];
        }
        double z = 0;
        for (uint32_t j = 0; j < m; j++) z += row[j] = expf(row[j] - top);
        for (uint32_t j = 0; j < m; j++) row[j] = (float)(row[j] / z);
    }
}

vkr_status vkr_sasrec_write_consts(vkr_exec* exec, const vkr_sasrec* m, const vkr_item_views_host* host) {
    VKR_TRY(vkr_item_views_write(exec, &m->views, host));
    if (!m->mask_table) return VKR_OK;
    const float table[2] = {0.0f, 1.0f};
    return vkr_exec_write(exec, m->mask_table, table, sizeof table);
}

void vkr_sasrec_destroy(vkr_sasrec* m) {
    if (!m) return;
    vkr_graph_destroy(m->graph);
    memset(m, 0, sizeof *m);
}
