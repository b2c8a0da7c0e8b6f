/* GenCDR's graphs (training and sampled scoring, and the pieces the beam decoders share) and the
 * host buffers that feed them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_gencdr_internal.h"
#include "vkr_transformer.h"

uint32_t vkr_gencdr_tokens(const vkr_gencdr_model* m) { return m->offset[m->depth - 1] + m->vocab[m->depth - 1]; }

/* The fused state: encoder over the history, the target-domain token, adapters through a gate.
 * train: [B*T, D] (every position); else [B, D] (the last position). */
vkr_tensor* vkr_gencdr_state(vkr_graph* g, const vkr_gencdr_model* m, uint32_t B, bool train, vkr_gencdr_inputs* in,
                             vkr_tensor* code_emb) {
    const vkr_gencdr_train* c = &m->cfg;
    uint32_t T = c->max_len, D = c->hidden, nd = m->ds->domain_count, R = train ? B * T : B;
    in->hist_tok = vkr_graph_input(g, "hist_tok", VKR_I32, 3, (uint32_t[]){B, T, m->depth});
    in->hist_dom = vkr_graph_input(g, "hist_dom", VKR_I32, 2, (uint32_t[]){B, T});
    in->mask = vkr_graph_input(g, "mask", VKR_I32, 2, (uint32_t[]){B, T});
    in->out_dom = vkr_graph_input(g, "out_dom", VKR_I32, 1, &R);
    in->onehot = vkr_graph_input(g, "onehot", VKR_F32, 2, (uint32_t[]){R, nd});
    float s = 1.0f / sqrtf((float)D);
    vkr_tensor* dom = vkr_graph_param_init(g, "dom_emb", 2, (uint32_t[]){nd + 1, D}, 0, VKR_INIT_NORMAL, s);
    vkr_tensor* pos = vkr_graph_param_init(g, "pos_emb", 2, (uint32_t[]){T, D}, 0, VKR_INIT_NORMAL, s);
    vkr_tensor* tdom = vkr_graph_param_init(g, "target_dom_emb", 2, (uint32_t[]){nd + 1, D}, 0, VKR_INIT_NORMAL, s);
    vkr_tensor* items = vkr_op_sum(g, vkr_op_embedding(g, code_emb, in->hist_tok), 2); /* [B, T, 1, D] */
    vkr_tensor* x = vkr_op_add(g, vkr_op_reshape(g, items, 3, (uint32_t[]){B, T, D}), vkr_op_embedding(g, dom, in->hist_dom));
    if (c->item_ids) { /* hybrid input: a per-item embedding beside the shared code embeddings */
        in->hist_item = vkr_graph_input(g, "hist_item", VKR_I32, 2, (uint32_t[]){B, T});
        vkr_tensor* ie = vkr_graph_param_init(g, "item_emb", 2, (uint32_t[]){m->ds->item_count + 1, D}, 0,
                                              VKR_INIT_NORMAL, s);
        const vkr_item_semantics* sem = c->semantics;
        vkr_item_views_shape vs = {.items = m->ds->item_count, .hidden = D, .views = c->item_views | VKR_ITEM_VIEW_ID,
                                   .text_dim = m->views_host.text_dim,
                                   .categories = sem ? sem->categories : 0, .subcategories = sem ? sem->subcategories : 0};
        vkr_item_views_build(g, &vs, ie, &in->views);
        x = vkr_op_add(g, x, vkr_op_embedding(g, vkr_item_views_sum(g, &in->views, 0), in->hist_item));
    }
    x = vkr_op_add(g, x, pos);
    if (train && c->dropout > 0) x = vkr_op_dropout(g, x, c->dropout);
    vkr_tf_config tc = {.blocks = c->blocks, .hidden = D, .heads = c->heads, .ffn_mult = 2,
                        .dropout = train ? c->dropout : 0.0f, .causal = true};
    vkr_tensor* h = vkr_tf_encoder(g, "enc", &tc, x, in->mask);
    h = train ? vkr_op_reshape(g, h, 2, (uint32_t[]){R, D})
              : vkr_op_reshape(g, vkr_op_slice(g, h, 1, T - 1, 1), 2, (uint32_t[]){B, D});
    h = vkr_op_add(g, h, vkr_op_embedding(g, tdom, in->out_dom));
    if (!c->lora_rank) return h;
    /* interest fusion: h + gate(h) * LoRA_d(h) for the row's target domain d */
    vkr_tensor* gate = vkr_op_sigmoid(g, vkr_tf_linear(g, "fuse.gate", h, D, 1, true, 1));
    vkr_tensor* adapted = NULL;
    for (uint32_t d = 0; d < nd; d++) {
        char name[VKR_NAME_BYTES];
        snprintf(name, sizeof name, "fuse.lora%u.a", d);
        vkr_tensor* a = vkr_graph_param_init(g, name, 2, (uint32_t[]){D, c->lora_rank}, 1, VKR_INIT_XAVIER, 1.0f);
        snprintf(name, sizeof name, "fuse.lora%u.b", d);
        vkr_tensor* b = vkr_graph_param_init(g, name, 2, (uint32_t[]){c->lora_rank, D}, 1, VKR_INIT_ZEROS, 0);
        vkr_tensor* ad = vkr_op_matmul(g, vkr_op_matmul(g, h, a, NULL, false, false), b, NULL, false, false);
        ad = vkr_op_mul(g, ad, vkr_op_slice(g, in->onehot, 1, d, 1));
        adapted = adapted ? vkr_op_add(g, adapted, ad) : ad;
    }
    return vkr_op_add(g, h, vkr_op_mul(g, gate, adapted));
}

/* x W + b with the parameters PREFIX.w and PREFIX.b: created by the first call, shared by the later ones
 * (the training tasks decode with the next-item decoders). */
static vkr_tensor* gencdr_shared_linear(vkr_graph* g, const char* prefix, vkr_tensor* x, uint32_t in, uint32_t out) {
    char w[VKR_NAME_BYTES], b[VKR_NAME_BYTES];
    snprintf(w, sizeof w, "%s.w", prefix);
    snprintf(b, sizeof b, "%s.b", prefix);
    vkr_tensor* wt = vkr_graph_find(g, w);
    if (!wt) return vkr_tf_linear(g, prefix, x, in, out, true, 0);
    return vkr_op_matmul(g, x, wt, vkr_graph_find(g, b), false, false);
}

/* Logits of level l from decoder inputs z [rows, D]. */
vkr_tensor* vkr_gencdr_level_logits(vkr_graph* g, const vkr_gencdr_model* m, uint32_t l, vkr_tensor* z) {
    char name[VKR_NAME_BYTES];
    uint32_t D = m->cfg.hidden, H = m->cfg.decoder_hidden ? m->cfg.decoder_hidden : D;
    snprintf(name, sizeof name, "dec%u.fc", l);
    vkr_tensor* u = vkr_op_gelu(g, gencdr_shared_linear(g, name, z, D, H));
    snprintf(name, sizeof name, "dec%u.out", l);
    return gencdr_shared_linear(g, name, u, H, m->vocab[l]);
}

/* Teacher-forced decoding loss from decoder bases z [R, D]: the mean over levels of the cross-entropy
 * of the next code, each level conditioned on the codes before it. Declares the inputs NAME_code%u
 * ([R] codes, -1: none) and NAME_tok%u ([R] tokens of the levels before the last) into code and tok. */
static vkr_tensor* gencdr_decode_loss(vkr_graph* g, const vkr_gencdr_model* m, vkr_tensor* code_emb, vkr_tensor* lvl,
                                      vkr_tensor* z_base, uint32_t R, const char* name, vkr_tensor** code,
                                      vkr_tensor** tok) {
    vkr_tensor* prefix = NULL;
    vkr_tensor* total = NULL;
    char in_name[48];
    for (uint32_t l = 0; l < m->depth; l++) {
        vkr_tensor* z = vkr_op_add(g, z_base, vkr_op_slice(g, lvl, 0, l, 1));
        if (prefix) z = vkr_op_add(g, z, prefix);
        snprintf(in_name, sizeof in_name, "%s_code%u", name, l);
        code[l] = vkr_graph_input(g, in_name, VKR_I32, 1, &R);
        vkr_tensor* ce = vkr_op_cross_entropy(g, vkr_gencdr_level_logits(g, m, l, z), code[l], -1);
        total = total ? vkr_op_add(g, total, ce) : ce;
        if (l + 1 == m->depth) break;
        snprintf(in_name, sizeof in_name, "%s_tok%u", name, l);
        tok[l] = vkr_graph_input(g, in_name, VKR_I32, 1, &R);
        vkr_tensor* e = vkr_op_embedding(g, code_emb, tok[l]);
        prefix = prefix ? vkr_op_add(g, prefix, e) : e;
    }
    return vkr_op_scale(g, total, 1.0f / (float)m->depth);
}

/* The sum of an item's code embeddings from its tokens, input NAME [B, depth]: [B, D]. */
static vkr_tensor* gencdr_id_vector(vkr_graph* g, const vkr_gencdr_model* m, vkr_tensor* code_emb, uint32_t B,
                                    const char* name, vkr_tensor** input) {
    *input = vkr_graph_input(g, name, VKR_I32, 2, (uint32_t[]){B, m->depth});
    vkr_tensor* e = vkr_op_sum(g, vkr_op_embedding(g, code_emb, *input), 1); /* [B, 1, D] */
    return vkr_op_reshape(g, e, 2, (uint32_t[]){B, m->cfg.hidden});
}

/* The training tasks' weighted losses (cfg.tasks) added to loss. */
static vkr_tensor* gencdr_task_losses(vkr_graph* g, const vkr_gencdr_model* m, vkr_tensor* code_emb, vkr_tensor* lvl,
                                      uint32_t B, vkr_gencdr_graph* out, vkr_tensor* loss) {
    const vkr_gencdr_train* c = &m->cfg;
    const uint32_t D = c->hidden, td = m->views_host.text_dim;
    if (c->tasks & (VKR_GENCDR_TASK_ITEM2INDEX | VKR_GENCDR_TASK_INDEX2ITEM)) {
        out->task_item = vkr_graph_input(g, "task_item", VKR_I32, 1, &B);
        vkr_tensor* table = out->in.views.text;
        if (!table) table = out->task_text =
                        vkr_graph_const(g, "task_text", VKR_F32, 2, (uint32_t[]){m->ds->item_count + 1, td});
        vkr_tensor* text = vkr_op_embedding(g, table, out->task_item); /* [B, td] */
        if (c->tasks & VKR_GENCDR_TASK_ITEM2INDEX) {
            vkr_tensor* z = vkr_tf_linear(g, "i2i.proj", text, td, D, true, 0);
            vkr_tensor* li = gencdr_decode_loss(g, m, code_emb, lvl, z, B, "task", out->task_code, out->task_tok);
            loss = vkr_op_add(g, loss, vkr_op_scale(g, li, c->task_weight));
        }
        if (c->tasks & VKR_GENCDR_TASK_INDEX2ITEM) {
            vkr_tensor* e = gencdr_id_vector(g, m, code_emb, B, "task_ids", &out->task_ids);
            vkr_tensor* pred = vkr_tf_linear(g, "i2t.proj", e, D, td, true, 0);
            vkr_tensor* lt = vkr_op_scale(g, vkr_op_mse(g, pred, text), (float)td); /* squared distance per row */
            loss = vkr_op_add(g, loss, vkr_op_scale(g, lt, c->task_weight));
        }
    }
    if (c->tasks & VKR_GENCDR_TASK_COLLAB) {
        vkr_tensor* e = gencdr_id_vector(g, m, code_emb, B, "collab_src", &out->collab_src);
        vkr_tensor* z = vkr_tf_linear(g, "collab.proj", e, D, D, true, 0);
        vkr_tensor* lc = gencdr_decode_loss(g, m, code_emb, lvl, z, B, "collab", out->collab_code, out->collab_tok);
        loss = vkr_op_add(g, loss, vkr_op_scale(g, lc, c->task_weight));
    }
    return loss;
}

/* The scoring graph's total log-likelihood of each candidate's ID, [B*C, 1], from the states h [B, D]. */
static vkr_tensor* gencdr_candidate_loglik(vkr_graph* g, const vkr_gencdr_model* m, vkr_tensor* code_emb,
                                           vkr_tensor* lvl, vkr_tensor* h, uint32_t B, uint32_t C,
                                           vkr_gencdr_graph* out) {
    const uint32_t D = m->cfg.hidden;
    vkr_tensor* base = vkr_op_add(g, vkr_op_reshape(g, h, 3, (uint32_t[]){B, 1, D}),
                                  vkr_graph_const(g, "expand", VKR_F32, 3, (uint32_t[]){1, C, 1}));
    vkr_tensor* prefix = NULL;
    vkr_tensor* total = NULL;
    char name[32];
    for (uint32_t l = 0; l < m->depth; l++) {
        vkr_tensor* lp = NULL; /* [B*C, 1] log-probabilities of the candidates' codes */
        if (l == 0) {
            /* the first level has no prefix: its distribution is the same for every candidate of a
             * user, so it is computed once per user and each candidate picks its code from it */
            vkr_tensor* z0 = vkr_op_add(g, h, vkr_op_slice(g, lvl, 0, 0, 1));
            vkr_tensor* lp0 = vkr_op_log_softmax(g, vkr_gencdr_level_logits(g, m, 0, z0));
            out->hot[0] = vkr_graph_input(g, "cand_hot0", VKR_F32, 2, (uint32_t[]){B * C, m->vocab[0]});
            vkr_tensor* hot = vkr_op_reshape(g, out->hot[0], 3, (uint32_t[]){B, C, m->vocab[0]});
            vkr_tensor* pick = vkr_op_mul(g, vkr_op_reshape(g, lp0, 3, (uint32_t[]){B, 1, m->vocab[0]}), hot);
            lp = vkr_op_reshape(g, vkr_op_sum(g, pick, 2), 2, (uint32_t[]){B * C, 1});
        } else {
            vkr_tensor* z = vkr_op_add(g, vkr_op_add(g, base, vkr_op_slice(g, lvl, 0, l, 1)), prefix);
            z = vkr_op_reshape(g, z, 2, (uint32_t[]){B * C, D});
            snprintf(name, sizeof name, "cand_hot%u", l);
            out->hot[l] = vkr_graph_input(g, name, VKR_F32, 2, (uint32_t[]){B * C, m->vocab[l]});
            vkr_tensor* logits = vkr_gencdr_level_logits(g, m, l, z);
            lp = vkr_op_sum(g, vkr_op_mul(g, vkr_op_log_softmax(g, logits), out->hot[l]), 1);
        }
        total = total ? vkr_op_add(g, total, lp) : lp;
        if (l + 1 == m->depth) break;
        snprintf(name, sizeof name, "cand_tok%u", l);
        out->tok[l] = vkr_graph_input(g, name, VKR_I32, 2, (uint32_t[]){B, C});
        vkr_tensor* e = vkr_op_embedding(g, code_emb, out->tok[l]); /* [B, C, D] */
        prefix = prefix ? vkr_op_add(g, prefix, e) : e;
    }
    return total;
}

vkr_status vkr_gencdr_build(const vkr_gencdr_model* m, bool train, uint32_t B, uint32_t C, vkr_gencdr_graph* out) {
    memset(out, 0, sizeof *out);
    VKR_TRY(vkr_graph_create(m->cfg.seed, &out->g));
    vkr_graph* g = out->g;
    uint32_t D = m->cfg.hidden, T = m->cfg.max_len, R = train ? B * T : B;
    out->rows = B;
    out->cand = C;
    vkr_tensor* code_emb = vkr_graph_param_init(g, "code_emb", 2, (uint32_t[]){vkr_gencdr_tokens(m), D}, 0,
                                                VKR_INIT_NORMAL, 1.0f / sqrtf((float)D));
    vkr_tensor* lvl = vkr_graph_param_init(g, "level_emb", 2, (uint32_t[]){m->depth, D}, 0, VKR_INIT_NORMAL, 0.02f);
    vkr_tensor* h = vkr_gencdr_state(g, m, B, train, &out->in, code_emb); /* [R, D] */
    if (train) {
        vkr_tensor* loss = gencdr_decode_loss(g, m, code_emb, lvl, h, R, "next", out->code, out->tok);
        if (m->cfg.aux_item > 0) { /* the tied per-item table exists only with the hybrid input */
            vkr_tensor* table = vkr_graph_find(g, "item_emb");
            if (!table) vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "the auxiliary item loss needs the per-item embeddings");
            out->next_item = vkr_graph_input(g, "next_item", VKR_I32, 1, &R);
            vkr_tensor* items = vkr_op_slice(g, table, 0, 1, m->ds->item_count); /* row 0 is padding */
            vkr_tensor* aux = vkr_op_linear_xent(g, h, items, out->next_item, -1);
            loss = vkr_op_add(g, loss, vkr_op_scale(g, aux, m->cfg.aux_item));
        }
        uint32_t M = m->cfg.contrast < m->ds->item_count ? m->cfg.contrast : m->ds->item_count;
        if (m->cfg.view_lambda > 0 && out->in.views.view[2] && M > 1) { /* the views' InfoNCE over M items */
            out->contrast = vkr_graph_input(g, "contrast", VKR_I32, 1, &M);
            vkr_tensor* lc = vkr_item_views_infonce(g, &out->in.views, out->contrast, NULL, m->cfg.view_tau);
            loss = vkr_op_add(g, loss, vkr_op_scale(g, lc, m->cfg.view_lambda));
        }
        if (m->cfg.tasks) loss = gencdr_task_losses(g, m, code_emb, lvl, B, out, loss);
        out->loss = vkr_graph_keep(loss);
        if (vkr_graph_status(g) == VKR_OK) VKR_TRY(vkr_graph_backward(g, out->loss));
    } else {
        out->loglik = vkr_graph_keep(gencdr_candidate_loglik(g, m, code_emb, lvl, h, B, C, out));
    }
    if (vkr_graph_status(g) != VKR_OK) {
        vkr_status s = vkr_graph_status(g);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", vkr_graph_error(g));
        vkr_graph_destroy(g);
        out->g = NULL;
        return vkr_fail(s, "GenCDR: %s", msg);
    }
    return VKR_OK;
}

vkr_status vkr_gencdr_host_alloc(vkr_gencdr_host* h, const vkr_gencdr_model* m, const vkr_gencdr_graph* gg, bool train,
                                 uint32_t longest) {
    uint32_t B = gg->rows, T = m->cfg.max_len, C = gg->cand, nd = m->ds->domain_count;
    size_t R = train ? (size_t)B * T : B, rc = (size_t)B * C;
    h->hist_tok = calloc((size_t)B * T * m->depth, 4);
    h->hist_dom = calloc((size_t)B * T, 4);
    h->hist_item = calloc((size_t)B * T, 4);
    h->mask = calloc((size_t)B * T, 4);
    h->out_dom = calloc(R, 4);
    h->onehot = calloc(R * nd, 4);
    h->items = calloc((size_t)longest + 1, 4);
    h->next_item = train ? calloc(R, 4) : NULL;
    bool ok = h->hist_tok && h->hist_dom && h->hist_item && h->mask && h->out_dom && h->onehot && h->items &&
              (!train || h->next_item);
    if (gg->task_item) ok = ok && (h->task_item = calloc(B, 4)) != NULL;
    if (gg->task_ids) ok = ok && (h->task_ids = calloc((size_t)B * m->depth, 4)) != NULL;
    if (gg->collab_src) ok = ok && (h->collab_src = calloc((size_t)B * m->depth, 4)) != NULL;
    for (uint32_t l = 0; l < m->depth && ok; l++) {
        if (gg->task_code[l]) ok = (h->task_code[l] = calloc(B, 4)) && (h->task_tok[l] = calloc(B, 4));
        if (ok && gg->collab_code[l]) ok = (h->collab_code[l] = calloc(B, 4)) && (h->collab_tok[l] = calloc(B, 4));
    }
    for (uint32_t l = 0; l < m->depth && ok; l++) {
        h->tok[l] = calloc(train ? R : rc, 4);
        if (train) h->code[l] = calloc(R, 4);
        else h->hot[l] = calloc(rc * m->vocab[l], 4);
        ok = h->tok[l] && (train ? h->code[l] != NULL : h->hot[l] != NULL);
    }
    return ok ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for a GenCDR batch");
}

void vkr_gencdr_host_free(vkr_gencdr_host* h, uint32_t depth) {
    free(h->hist_tok);
    free(h->hist_dom);
    free(h->hist_item);
    free(h->mask);
    free(h->out_dom);
    free(h->onehot);
    free(h->items);
    free(h->next_item);
    free(h->task_item);
    free(h->task_ids);
    free(h->collab_src);
    for (uint32_t l = 0; l < depth; l++) {
        free(h->tok[l]), free(h->code[l]), free(h->hot[l]);
        free(h->task_tok[l]), free(h->task_code[l]), free(h->collab_tok[l]), free(h->collab_code[l]);
    }
    memset(h, 0, sizeof *h);
}

/* Row b of the history inputs from the first `n` events (the most recent T of cfg.history_domains'), left-padded. */
void vkr_gencdr_fill_history(const vkr_gencdr_model* m, vkr_gencdr_host* h, uint32_t b, const uint32_t* ev,
                             uint32_t n) {
    uint32_t T = m->cfg.max_len, keep = m->cfg.history_domains;
    /* the last T kept events, walking back from n, fill the row from its end (left padding) */
    uint32_t j = n;
    for (uint32_t k = T; k-- > 0;) {
        size_t o = (size_t)b * T + k;
        while (keep && j > 0 && !((keep >> m->ds->item_domain[ev[j - 1]]) & 1u)) j--;
        bool real = j > 0;
        uint32_t it = real ? ev[--j] : 0;
        h->mask[o] = real;
        h->hist_dom[o] = real ? (int32_t)m->ds->item_domain[it] + 1 : 0;
        h->hist_item[o] = real ? (int32_t)it + 1 : 0;
        for (uint32_t l = 0; l < m->depth; l++)
            h->hist_tok[o * m->depth + l] = real ? (int32_t)(m->offset[l] + m->ids[(size_t)it * m->depth + l]) : 0;
    }
}

vkr_status vkr_gencdr_write(vkr_exec* ex, const vkr_tensor* t, const void* data) {
    return vkr_exec_write(ex, t, data, vkr_tensor_bytes(t));
}

/* Uploads the history and target-domain inputs of one batch. */
vkr_status vkr_gencdr_write_inputs(vkr_exec* ex, const vkr_gencdr_inputs* in, const vkr_gencdr_host* h) {
    VKR_TRY(vkr_gencdr_write(ex, in->hist_tok, h->hist_tok));
    VKR_TRY(vkr_gencdr_write(ex, in->hist_dom, h->hist_dom));
    if (in->hist_item) VKR_TRY(vkr_gencdr_write(ex, in->hist_item, h->hist_item));
    VKR_TRY(vkr_gencdr_write(ex, in->mask, h->mask));
    VKR_TRY(vkr_gencdr_write(ex, in->out_dom, h->out_dom));
    return vkr_gencdr_write(ex, in->onehot, h->onehot);
}
