#include "vkr_gencdr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_exec.h"
#include "vkr_fit.h"
#include "vkr_npy.h"
#include "vkr_beam.h"
#include "vkr_transformer.h"
#include "vkr_trie.h"

/* Full ranking by constrained beam search (the end of this file). */
typedef struct gencdr_beam gencdr_beam;
static vkr_status gencdr_rank_full(void* self, const uint32_t* pairs, uint32_t n, uint64_t* ranks);
static vkr_status gencdr_beam_init(vkr_gencdr_model* m, uint32_t width, uint32_t longest);
static vkr_status gencdr_beam_sync(vkr_gencdr_model* m);
static void gencdr_beam_free(gencdr_beam* bm, vkr_device* dev, uint32_t depth);
static vkr_status gencdr_top_items(void* self, const uint32_t* pairs, uint32_t n, int32_t* items, float* scores,
                                   uint32_t* out_width);


void vkr_gencdr_train_defaults(vkr_gencdr_train* t) {
    *t = (vkr_gencdr_train){.max_len = 20, .batch = 64, .hidden = 64, .blocks = 2, .heads = 2, .lora_rank = 8,
                            .item_ids = true, .dropout = 0.1f, .lr = 2e-3f, .epochs = 20, .patience = 3, .seed = 42,
                            .eval_users = 64, .candidates = 101, .beam = 20};
}

vkr_status vkr_gencdr_load_ids(const char* dir, const vkr_dataset* ds, uint16_t** out_ids, uint32_t* out_depth) {
    *out_ids = NULL;
    *out_depth = 0;
    char path[1100];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", dir);
    vkr_npy_array a;
    VKR_TRY(vkr_npy_load(path, &a));
    vkr_status s = VKR_OK;
    if (a.dtype != VKR_ELEM_U16 || a.ndim != 2 || a.shape[0] != ds->item_count || a.shape[1] == 0 ||
        a.shape[1] > VKR_GENCDR_MAX_DEPTH)
        s = vkr_fail(VKR_ERR_FORMAT, "%s: expected uint16 [%u, 1..%d], found a %u-dim %s array", path, ds->item_count,
                     VKR_GENCDR_MAX_DEPTH, a.ndim, vkr_elem_name(a.dtype));
    if (s == VKR_OK) {
        *out_ids = a.data;
        *out_depth = (uint32_t)a.shape[1];
        a.data = NULL;
    }
    vkr_npy_free(&a);
    return s;
}

/* ---- graphs ---------------------------------------------------------------------------------- */

/* Inputs shared by the training and scoring graphs; R rows of output states. */
typedef struct gencdr_inputs {
    vkr_tensor *hist_tok, *hist_dom, *mask, *out_dom, *onehot;
    vkr_tensor* hist_item; /* [B, T] item id + 1 (0: padding) when cfg.item_ids, else NULL */
} gencdr_inputs;

/* A built graph: training (loss) or scoring (total log-likelihood per candidate). */
typedef struct gencdr_graph {
    vkr_graph* g;
    gencdr_inputs in;
    vkr_tensor* tok[VKR_GENCDR_MAX_DEPTH];  /* training: [R] next item's token per level; scoring: [B, C] */
    vkr_tensor* code[VKR_GENCDR_MAX_DEPTH]; /* training: [R] next item's code per level (-1: none) */
    vkr_tensor* hot[VKR_GENCDR_MAX_DEPTH];  /* scoring: [B*C, vocab] one-hot of each candidate's code */
    vkr_tensor* loss;                       /* training loss */
    vkr_tensor* loglik;                     /* scoring: [B*C, 1] */
    uint32_t rows, cand;                    /* B and C */
} gencdr_graph;

static uint32_t gencdr_tokens(const vkr_gencdr_model* m) { return m->offset[m->depth - 1] + m->vocab[m->depth - 1]; }

/* The fused state: encoder over the history, the target-domain token, adapters through a gate.
 * train: [B*T, D] (every position); else [B, D] (the last position). */
static vkr_tensor* gencdr_state(vkr_graph* g, const vkr_gencdr_model* m, uint32_t B, bool train, gencdr_inputs* in,
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
        x = vkr_op_add(g, x, vkr_op_embedding(g, ie, in->hist_item));
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

/* Logits of level l from decoder inputs z [rows, D]. */
static vkr_tensor* gencdr_level_logits(vkr_graph* g, const vkr_gencdr_model* m, uint32_t l, vkr_tensor* z) {
    char name[VKR_NAME_BYTES];
    uint32_t D = m->cfg.hidden;
    snprintf(name, sizeof name, "dec%u.fc", l);
    vkr_tensor* u = vkr_op_gelu(g, vkr_tf_linear(g, name, z, D, D, true, 0));
    snprintf(name, sizeof name, "dec%u.out", l);
    return vkr_tf_linear(g, name, u, D, m->vocab[l], true, 0);
}

static vkr_status gencdr_build(const vkr_gencdr_model* m, bool train, uint32_t B, uint32_t C, gencdr_graph* out) {
    memset(out, 0, sizeof *out);
    VKR_TRY(vkr_graph_create(m->cfg.seed, &out->g));
    vkr_graph* g = out->g;
    uint32_t D = m->cfg.hidden, T = m->cfg.max_len, R = train ? B * T : B;
    out->rows = B;
    out->cand = C;
    vkr_tensor* code_emb = vkr_graph_param_init(g, "code_emb", 2, (uint32_t[]){gencdr_tokens(m), D}, 0, VKR_INIT_NORMAL,
                                                1.0f / sqrtf((float)D));
    vkr_tensor* lvl = vkr_graph_param_init(g, "level_emb", 2, (uint32_t[]){m->depth, D}, 0, VKR_INIT_NORMAL, 0.02f);
    vkr_tensor* h = gencdr_state(g, m, B, train, &out->in, code_emb); /* [R, D] */
    vkr_tensor* base = train ? h : vkr_op_add(g, vkr_op_reshape(g, h, 3, (uint32_t[]){B, 1, D}),
                                              vkr_graph_const(g, "expand", VKR_F32, 3, (uint32_t[]){1, C, 1}));
    vkr_tensor* prefix = NULL;
    vkr_tensor* total = NULL;
    for (uint32_t l = 0; l < m->depth; l++) {
        char name[32];
        vkr_tensor* lp = NULL; /* this level's term: the cross-entropy, or [B*C, 1] log-probabilities of the codes */
        if (!train && l == 0) {
            /* the first level has no prefix: its distribution is the same for every candidate of a
             * user, so it is computed once per user and each candidate picks its code from it */
            vkr_tensor* z0 = vkr_op_add(g, h, vkr_op_slice(g, lvl, 0, 0, 1));
            vkr_tensor* lp0 = vkr_op_log_softmax(g, gencdr_level_logits(g, m, 0, z0));
            out->hot[0] = vkr_graph_input(g, "cand_hot0", VKR_F32, 2, (uint32_t[]){B * C, m->vocab[0]});
            vkr_tensor* hot = vkr_op_reshape(g, out->hot[0], 3, (uint32_t[]){B, C, m->vocab[0]});
            vkr_tensor* pick = vkr_op_mul(g, vkr_op_reshape(g, lp0, 3, (uint32_t[]){B, 1, m->vocab[0]}), hot);
            lp = vkr_op_reshape(g, vkr_op_sum(g, pick, 2), 2, (uint32_t[]){B * C, 1});
        } else {
            vkr_tensor* z = vkr_op_add(g, base, vkr_op_slice(g, lvl, 0, l, 1));
            if (prefix) z = vkr_op_add(g, z, prefix);
            if (!train) z = vkr_op_reshape(g, z, 2, (uint32_t[]){B * C, D});
            vkr_tensor* logits = gencdr_level_logits(g, m, l, z);
            if (train) {
                snprintf(name, sizeof name, "next_code%u", l);
                out->code[l] = vkr_graph_input(g, name, VKR_I32, 1, &R);
                lp = vkr_op_cross_entropy(g, logits, out->code[l], -1); /* the training loss term */
            } else {
                snprintf(name, sizeof name, "cand_hot%u", l);
                out->hot[l] = vkr_graph_input(g, name, VKR_F32, 2, (uint32_t[]){B * C, m->vocab[l]});
                lp = vkr_op_sum(g, vkr_op_mul(g, vkr_op_log_softmax(g, logits), out->hot[l]), 1);
            }
        }
        total = total ? vkr_op_add(g, total, lp) : lp;
        if (l + 1 == m->depth) break;
        snprintf(name, sizeof name, "%s_tok%u", train ? "next" : "cand", l);
        out->tok[l] = train ? vkr_graph_input(g, name, VKR_I32, 1, &R)
                            : vkr_graph_input(g, name, VKR_I32, 2, (uint32_t[]){B, C});
        vkr_tensor* e = vkr_op_embedding(g, code_emb, out->tok[l]); /* [R, D] or [B, C, D] */
        prefix = prefix ? vkr_op_add(g, prefix, e) : e;
    }
    if (train) {
        out->loss = vkr_graph_keep(vkr_op_scale(g, total, 1.0f / (float)m->depth));
        if (vkr_graph_status(g) == VKR_OK) VKR_TRY(vkr_graph_backward(g, out->loss));
    } else {
        out->loglik = vkr_graph_keep(total);
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

/* ---- batches --------------------------------------------------------------------------------- */

/* Host buffers for one batch of either graph. */
typedef struct gencdr_host {
    int32_t *hist_tok, *hist_dom, *hist_item, *mask, *out_dom;
    float* onehot;
    int32_t* tok[VKR_GENCDR_MAX_DEPTH];
    int32_t* code[VKR_GENCDR_MAX_DEPTH];
    float* hot[VKR_GENCDR_MAX_DEPTH];
    uint32_t* items; /* scratch: a user's events */
} gencdr_host;

static vkr_status gencdr_host_alloc(gencdr_host* h, const vkr_gencdr_model* m, const gencdr_graph* gg, bool train,
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
    bool ok = h->hist_tok && h->hist_dom && h->hist_item && h->mask && h->out_dom && h->onehot && h->items;
    for (uint32_t l = 0; l < m->depth && ok; l++) {
        h->tok[l] = calloc(train ? R : rc, 4);
        if (train) h->code[l] = calloc(R, 4);
        else h->hot[l] = calloc(rc * m->vocab[l], 4);
        ok = h->tok[l] && (train ? h->code[l] != NULL : h->hot[l] != NULL);
    }
    return ok ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for a GenCDR batch");
}

static void gencdr_host_free(gencdr_host* h, uint32_t depth) {
    free(h->hist_tok);
    free(h->hist_dom);
    free(h->hist_item);
    free(h->mask);
    free(h->out_dom);
    free(h->onehot);
    free(h->items);
    for (uint32_t l = 0; l < depth; l++) free(h->tok[l]), free(h->code[l]), free(h->hot[l]);
    memset(h, 0, sizeof *h);
}

/* Row b of the history inputs from `n` events (the most recent T), left-padded. */
static void gencdr_fill_history(const vkr_gencdr_model* m, gencdr_host* h, uint32_t b, const uint32_t* ev, uint32_t n) {
    uint32_t T = m->cfg.max_len, first = n > T ? n - T : 0, pad = T - (n - first);
    for (uint32_t k = 0; k < T; k++) {
        size_t o = (size_t)b * T + k;
        bool real = k >= pad;
        uint32_t it = real ? ev[first + k - pad] : 0;
        h->mask[o] = real;
        h->hist_dom[o] = real ? (int32_t)m->ds->item_domain[it] + 1 : 0;
        h->hist_item[o] = real ? (int32_t)it + 1 : 0;
        for (uint32_t l = 0; l < m->depth; l++)
            h->hist_tok[o * m->depth + l] = real ? (int32_t)(m->offset[l] + m->ids[(size_t)it * m->depth + l]) : 0;
    }
}

/* ---- training -------------------------------------------------------------------------------- */

struct vkr_gencdr_trainer {
    vkr_gencdr_model* m; /* the model whose scoring parameters validation refreshes */
    gencdr_graph train;  /* training graph (loss, backward) */
    vkr_exec* tex;       /* its executor with the optimizer */
    gencdr_host h;       /* batch buffers */
    uint32_t* users;     /* training units: users with at least two training events */
    uint32_t n_users;    /* their count */
};

static vkr_status gencdr_write(vkr_exec* ex, const vkr_tensor* t, const void* data) {
    return vkr_exec_write(ex, t, data, vkr_tensor_bytes(t));
}

/* Uploads the history and target-domain inputs of one batch. */
static vkr_status gencdr_write_inputs(vkr_exec* ex, const gencdr_inputs* in, const gencdr_host* h) {
    VKR_TRY(gencdr_write(ex, in->hist_tok, h->hist_tok));
    VKR_TRY(gencdr_write(ex, in->hist_dom, h->hist_dom));
    if (in->hist_item) VKR_TRY(gencdr_write(ex, in->hist_item, h->hist_item));
    VKR_TRY(gencdr_write(ex, in->mask, h->mask));
    VKR_TRY(gencdr_write(ex, in->out_dom, h->out_dom));
    return gencdr_write(ex, in->onehot, h->onehot);
}

static vkr_status gencdr_step(void* self, const uint32_t* units, uint32_t n, uint64_t rng, bool want, float* loss) {
    (void)rng;
    vkr_gencdr_trainer* j = self;
    const vkr_gencdr_model* m = j->m;
    const vkr_dataset* ds = m->ds;
    uint32_t B = j->train.rows, T = m->cfg.max_len, nd = ds->domain_count;
    gencdr_host* h = &j->h;
    memset(h->onehot, 0, (size_t)B * T * nd * 4);
    for (uint32_t b = 0; b < B; b++) {
        uint32_t len = 0;
        const uint32_t* ev = NULL;
        if (b < n) {
            uint32_t u = j->users[units[b]];
            ev = ds->seq_item + ds->seq_begin[u];
            len = ds->train_len[u];
        }
        /* inputs: events [0, len-1); labels: the event after each input position */
        uint32_t n_in = len ? len - 1 : 0;
        gencdr_fill_history(m, h, b, ev, n_in);
        uint32_t first = n_in > T ? n_in - T : 0, pad = T - (n_in - first);
        for (uint32_t k = 0; k < T; k++) {
            size_t o = (size_t)b * T + k;
            bool real = k >= pad;
            uint32_t next = real ? ev[first + k - pad + 1] : 0;
            h->out_dom[o] = real ? (int32_t)ds->item_domain[next] + 1 : 0;
            if (real) h->onehot[o * nd + ds->item_domain[next]] = 1.0f;
            for (uint32_t l = 0; l < m->depth; l++) {
                uint16_t code = real ? m->ids[(size_t)next * m->depth + l] : 0;
                h->code[l][o] = real ? code : -1;
                h->tok[l][o] = real ? (int32_t)(m->offset[l] + code) : 0;
            }
        }
    }
    const gencdr_graph* gg = &j->train;
    VKR_TRY(gencdr_write_inputs(j->tex, &gg->in, h));
    for (uint32_t l = 0; l < m->depth; l++) {
        VKR_TRY(gencdr_write(j->tex, gg->code[l], h->code[l]));
        if (gg->tok[l]) VKR_TRY(gencdr_write(j->tex, gg->tok[l], h->tok[l]));
    }
    VKR_TRY(vkr_exec_run(j->tex));
    return want ? vkr_exec_read(j->tex, gg->loss, loss, 4) : VKR_OK;
}

/* ---- scoring --------------------------------------------------------------------------------- */

typedef struct gencdr_scoring {
    gencdr_graph gg;
    vkr_exec* ex;
    gencdr_host h;
    float* out;
} gencdr_scoring;

/* Scores candidates [k0, k0 + C) of every example (the graph holds C per user; more run in chunks). */
static vkr_status gencdr_score_chunk(vkr_gencdr_model* m, const uint32_t* pairs, uint32_t n, const uint32_t* cand,
                                     uint32_t c, uint32_t k0, float* scores) {
    gencdr_scoring* sc = m->score;
    const vkr_dataset* ds = m->ds;
    uint32_t B = sc->gg.rows, C = sc->gg.cand, nd = ds->domain_count, d = m->domain, begin = ds->item_begin[d];
    gencdr_host* h = &sc->h;
    memset(h->onehot, 0, (size_t)B * nd * 4);
    for (uint32_t l = 0; l < m->depth; l++) memset(h->hot[l], 0, (size_t)B * C * m->vocab[l] * 4);
    for (uint32_t b = 0; b < B; b++) {
        uint32_t src = b < n ? b : 0; /* pad the batch by repeating the first example */
        uint32_t u = pairs[2 * src], p = pairs[2 * src + 1];
        gencdr_fill_history(m, h, b, ds->seq_item + ds->seq_begin[u], p);
        h->out_dom[b] = (int32_t)d + 1;
        h->onehot[(size_t)b * nd + d] = 1.0f;
        for (uint32_t k = 0; k < C; k++) {
            uint32_t kk = k0 + k < c ? k0 + k : k0; /* pad the chunk by repeating its first candidate */
            uint32_t item = begin + cand[(size_t)src * c + kk];
            size_t row = (size_t)b * C + k;
            for (uint32_t l = 0; l < m->depth; l++) {
                uint16_t code = m->ids[(size_t)item * m->depth + l];
                h->tok[l][row] = (int32_t)(m->offset[l] + code);
                h->hot[l][row * m->vocab[l] + code] = 1.0f;
            }
        }
    }
    const gencdr_graph* gg = &sc->gg;
    VKR_TRY(gencdr_write_inputs(sc->ex, &gg->in, h));
    for (uint32_t l = 0; l < m->depth; l++) {
        VKR_TRY(gencdr_write(sc->ex, gg->hot[l], h->hot[l]));
        if (gg->tok[l]) VKR_TRY(gencdr_write(sc->ex, gg->tok[l], h->tok[l]));
    }
    VKR_TRY(vkr_exec_run(sc->ex));
    VKR_TRY(vkr_exec_read(sc->ex, gg->loglik, sc->out, vkr_tensor_bytes(gg->loglik)));
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t k = 0; k < C && k0 + k < c; k++) scores[(size_t)b * c + k0 + k] = sc->out[(size_t)b * C + k];
    return VKR_OK;
}

static vkr_status gencdr_score_candidates(void* self, const uint32_t* pairs, uint32_t n, const uint32_t* cand,
                                          uint32_t c, float* scores) {
    vkr_gencdr_model* m = self;
    gencdr_scoring* sc = m->score;
    if (n > sc->gg.rows)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR scoring: %u examples exceed the graph's %u", n, sc->gg.rows);
    for (uint32_t k0 = 0; k0 < c; k0 += sc->gg.cand) VKR_TRY(gencdr_score_chunk(m, pairs, n, cand, c, k0, scores));
    return VKR_OK;
}

vkr_scorer vkr_gencdr_scorer(vkr_gencdr_model* m, uint32_t domain) {
    m->domain = domain;
    gencdr_scoring* sc = m->score;
    return (vkr_scorer){.self = m, .batch = sc ? sc->gg.rows : 1, .score_candidates = gencdr_score_candidates,
                        .rank_full = m->beam ? gencdr_rank_full : NULL, .top_items = m->beam ? gencdr_top_items : NULL,
                        .top_width = m->beam ? m->cfg.beam : 0, .max_candidates = UINT32_MAX};
}

/* Validation HR@10 averaged over domains: full ranking by beam search when the model has one (what
 * the full protocol reports, and cheaper than scoring 101 candidates per user), else sampled:100. */
static vkr_status gencdr_validate(void* self, double* hr10) {
    vkr_gencdr_trainer* j = self;
    vkr_gencdr_model* m = j->m;
    gencdr_scoring* sc = m->score;
    VKR_TRY(vkr_copy_params(sc->ex, sc->gg.g, j->tex, j->train.g));
    if (m->beam) VKR_TRY(gencdr_beam_sync(m));
    vkr_protocol pr;
    VKR_TRY(vkr_protocol_parse(m->beam ? "full" : "sampled:100", &pr));
    double sum = 0;
    for (uint32_t d = 0; d < m->ds->domain_count; d++) {
        vkr_metrics vm;
        vkr_scorer s = vkr_gencdr_scorer(m, d);
        VKR_TRY(vkr_evaluate(m->ds, d, m->ds->valid, m->ds->valid_count, &s, &pr, &vm));
        double v[5];
        vkr_metrics_means(&vm, v);
        sum += v[1];
    }
    *hr10 = sum / m->ds->domain_count;
    return VKR_OK;
}

static void gencdr_scoring_free(gencdr_scoring* sc, uint32_t depth) {
    if (!sc) return;
    vkr_exec_destroy(sc->ex);
    vkr_graph_destroy(sc->gg.g);
    gencdr_host_free(&sc->h, depth);
    free(sc->out);
    free(sc);
}

vkr_status vkr_gencdr_open(const vkr_dataset* ds, vkr_device* dev, const uint16_t* ids, uint32_t depth,
                           const vkr_gencdr_train* cfg, vkr_gencdr_model* m) {
    memset(m, 0, sizeof *m);
    if (!ds || !ids || !cfg || depth == 0 || depth > VKR_GENCDR_MAX_DEPTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: bad dataset, semantic IDs or depth %u", depth);
    if (cfg->batch == 0 || cfg->max_len == 0 || cfg->hidden == 0 || cfg->heads == 0 || cfg->hidden % cfg->heads ||
        cfg->eval_users == 0 || cfg->candidates < 2)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: batch, max_len, hidden (divisible by heads), eval_users "
                        "must be positive and candidates >= 2");
    if (cfg->beam > VKR_BEAM_MAX_WIDTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: beam width %u exceeds %u", cfg->beam, VKR_BEAM_MAX_WIDTH);
    m->ds = ds;
    m->cfg = *cfg;
    m->dev = dev;
    m->depth = depth;
    m->ids = malloc((size_t)ds->item_count * depth * sizeof *m->ids);
    if (!m->ids) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for semantic IDs");
    memcpy(m->ids, ids, (size_t)ds->item_count * depth * sizeof *m->ids);
    for (uint32_t l = 0; l < depth; l++) {
        uint32_t mx = 0;
        for (uint32_t i = 0; i < ds->item_count; i++)
            if (ids[(size_t)i * depth + l] > mx) mx = ids[(size_t)i * depth + l];
        m->vocab[l] = mx + 1;
        m->offset[l] = l ? m->offset[l - 1] + m->vocab[l - 1] : 1; /* token 0 is padding */
    }
    uint32_t longest = vkr_dataset_longest(ds);
    gencdr_scoring* sc = calloc(1, sizeof *sc);
    m->score = sc;
    vkr_status s = sc ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == VKR_OK) s = gencdr_build(m, false, cfg->eval_users, cfg->candidates, &sc->gg);
    if (s == VKR_OK) s = vkr_exec_create(sc->gg.g, &(vkr_exec_options){.device = dev}, &sc->ex);
    if (s == VKR_OK) s = vkr_exec_init_params(sc->ex, cfg->seed);
    if (s == VKR_OK) s = gencdr_host_alloc(&sc->h, m, &sc->gg, false, longest);
    if (s == VKR_OK && !(sc->out = malloc((size_t)cfg->eval_users * cfg->candidates * 4)))
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == VKR_OK && cfg->beam) s = gencdr_beam_init(m, cfg->beam, longest);
    if (s == VKR_OK && cfg->beam) s = gencdr_beam_sync(m);
    if (s != VKR_OK) vkr_gencdr_model_free(m);
    return s;
}

void vkr_gencdr_trainer_destroy(vkr_gencdr_trainer* j) {
    if (!j) return;
    gencdr_host_free(&j->h, j->m->depth);
    vkr_exec_destroy(j->tex);
    vkr_graph_destroy(j->train.g);
    free(j->users);
    free(j);
}

vkr_status vkr_gencdr_trainer_create(vkr_gencdr_model* m, vkr_gencdr_trainer** out) {
    *out = NULL;
    if (!m || !m->score) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_trainer_create: no opened model");
    const vkr_dataset* ds = m->ds;
    const vkr_gencdr_train* cfg = &m->cfg;
    vkr_gencdr_trainer* j = calloc(1, sizeof *j);
    if (!j) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for a GenCDR trainer");
    j->m = m;
    j->users = malloc((size_t)ds->user_count * sizeof *j->users);
    vkr_status s = j->users ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing users");
    for (uint32_t u = 0; s == VKR_OK && u < ds->user_count; u++)
        if (ds->train_len[u] >= 2) j->users[j->n_users++] = u;
    if (s == VKR_OK && !j->n_users) s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: no user has two training events");
    if (s == VKR_OK) s = gencdr_build(m, true, cfg->batch, 1, &j->train);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAMW, .schedule = {.peak_lr = cfg->lr}, .beta1 = 0.9f, .beta2 = 0.98f,
                           .eps = 1e-8f, .weight_decay = 0.01f, .clip_norm = 1.0f};
    if (s == VKR_OK)
        s = vkr_exec_create(j->train.g, &(vkr_exec_options){.device = m->dev, .optimizer = &oc, .training = true},
                            &j->tex);
    if (s == VKR_OK) s = vkr_exec_init_params(j->tex, cfg->seed);
    if (s == VKR_OK) s = gencdr_host_alloc(&j->h, m, &j->train, true, vkr_dataset_longest(ds));
    if (s != VKR_OK) {
        vkr_gencdr_trainer_destroy(j);
        return s;
    }
    *out = j;
    return VKR_OK;
}

uint32_t vkr_gencdr_trainer_units(const vkr_gencdr_trainer* t) { return t ? t->n_users : 0; }

vkr_status vkr_gencdr_trainer_step(vkr_gencdr_trainer* t, const uint32_t* units, uint32_t n, float* loss) {
    if (!t || !units || n == 0 || n > t->train.rows)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_trainer_step: 1..%u units expected, %u given",
                        t ? t->train.rows : 0, n);
    for (uint32_t k = 0; k < n; k++)
        if (units[k] >= t->n_users)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_trainer_step: unit %u of %u", units[k], t->n_users);
    float dummy;
    return gencdr_step(t, units, n, 0, loss != NULL, loss ? loss : &dummy);
}

vkr_status vkr_gencdr_fit(const vkr_dataset* ds, vkr_device* dev, const uint16_t* ids, uint32_t depth,
                          const vkr_gencdr_train* cfg, vkr_gencdr_model* m) {
    VKR_TRY(vkr_gencdr_open(ds, dev, ids, depth, cfg, m));
    vkr_gencdr_trainer* j = NULL;
    vkr_status s = vkr_gencdr_trainer_create(m, &j);
    gencdr_scoring* sc = m->score;
    vkr_fit_model fm = {.self = j, .units = j ? j->n_users : 0, .batch = cfg->batch, .step = gencdr_step,
                        .validate = gencdr_validate, .train_exec = j ? j->tex : NULL, .score_exec = sc->ex,
                        .score_graph = sc->gg.g};
    vkr_fit_options fo = {.epochs = cfg->epochs, .patience = cfg->patience, .seed = cfg->seed, .ckpt_dir = cfg->ckpt_dir,
                          .resume = cfg->resume, .quiet = cfg->quiet, .metadata = cfg->metadata};
    if (s == VKR_OK) s = vkr_fit(&fm, &fo, &m->fit);
    if (s == VKR_OK && m->beam) s = gencdr_beam_sync(m);
    vkr_gencdr_trainer_destroy(j);
    if (s != VKR_OK) vkr_gencdr_model_free(m);
    return s;
}

vkr_status vkr_gencdr_load(vkr_gencdr_model* m, const char* path) {
    if (!m || !m->score || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_load: no model or path");
    gencdr_scoring* sc = m->score;
    VKR_TRY(vkr_exec_load(sc->ex, path));
    return m->beam ? gencdr_beam_sync(m) : VKR_OK;
}

/* Reads parameter `name` of the scoring graph into a new host array. */
static vkr_status gencdr_read_param(gencdr_scoring* sc, const char* name, float** out) {
    *out = NULL;
    vkr_tensor* t = vkr_graph_find(sc->gg.g, name);
    if (!t) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR: the model has no parameter %s", name);
    if (!(*out = malloc(vkr_tensor_bytes(t)))) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %s", name);
    vkr_status s = vkr_exec_read(sc->ex, t, *out, vkr_tensor_bytes(t));
    if (s != VKR_OK) free(*out), *out = NULL;
    return s;
}

vkr_status vkr_gencdr_item_vectors(vkr_gencdr_model* m, vkr_gencdr_view view, float* out) {
    if (!m || !m->score || !out || view > VKR_GENCDR_VIEW_FUSED)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_item_vectors: no model, output or a bad view");
    if (view == VKR_GENCDR_VIEW_IDS && !m->cfg.item_ids)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gencdr_item_vectors: the model has no item embeddings (item_ids)");
    uint32_t D = m->cfg.hidden, n = m->ds->item_count;
    float *codes = NULL, *dom = NULL, *ids = NULL;
    vkr_status s = view != VKR_GENCDR_VIEW_IDS ? gencdr_read_param(m->score, "code_emb", &codes) : VKR_OK;
    if (s == VKR_OK && view == VKR_GENCDR_VIEW_FUSED) s = gencdr_read_param(m->score, "dom_emb", &dom);
    if (s == VKR_OK && view != VKR_GENCDR_VIEW_CODES && m->cfg.item_ids) s = gencdr_read_param(m->score, "item_emb", &ids);
    for (uint32_t i = 0; s == VKR_OK && i < n; i++) {
        float* row = out + (size_t)i * D;
        memset(row, 0, D * sizeof *row);
        for (uint32_t l = 0; codes && l < m->depth; l++) {
            const float* e = codes + (size_t)(m->offset[l] + m->ids[(size_t)i * m->depth + l]) * D;
            for (uint32_t k = 0; k < D; k++) row[k] += e[k];
        }
        /* the inputs' index 0 is padding: domain d and item i sit at d + 1 and i + 1 */
        const float* de = dom ? dom + (size_t)(m->ds->item_domain[i] + 1) * D : NULL;
        const float* ie = ids ? ids + (size_t)(i + 1) * D : NULL;
        for (uint32_t k = 0; k < D; k++) row[k] += (de ? de[k] : 0.0f) + (ie ? ie[k] : 0.0f);
    }
    free(codes);
    free(dom);
    free(ids);
    return s;
}

void vkr_gencdr_model_free(vkr_gencdr_model* m) {
    if (!m) return;
    gencdr_beam_free(m->beam, m->dev, m->depth);
    gencdr_scoring_free(m->score, m->depth);
    free(m->ids);
    memset(m, 0, sizeof *m);
}

/* ---- full ranking by constrained beam search --------------------------------------------------- */

/* The decoder of one level over R = users x in_width beam rows: the user's fused state + level
 * embedding + the beam's prefix code embeddings. */
typedef struct gencdr_level {
    vkr_graph* g;
    vkr_exec* ex;
    vkr_tensor* fused;  /* [users, 1, D] the fused user states */
    vkr_tensor* prefix; /* [R, level] prefix tokens (offset-coded; 0 for dead beams); NULL at level 0 */
    vkr_tensor* logits; /* [R, vocab] */
} gencdr_level;

/* Beam-search state for one model. On the GPU one recorded sequence per target domain runs the
 * whole decode (encoder, then per level: decoder, restricted log-softmax and top-W step, prefix
 * tokens for the next level) with the beams in device memory; the host uploads histories and the
 * root beams and reads back the final beams. The CPU backend runs the same graphs and the
 * reference step level by level. */
struct gencdr_beam {
    uint32_t users, width;                  /* users per call, beams per user */
    vkr_graph* state_g;                     /* encoder + fusion for `users` rows */
    vkr_exec* state_ex;
    gencdr_inputs state_in;
    vkr_tensor* fused;                      /* [users, D] */
    gencdr_level level[VKR_GENCDR_MAX_DEPTH];
    vkr_trie trie[VKR_DATA_MAX_DOMAINS];    /* one per domain */
    uint32_t* packed[VKR_DATA_MAX_DOMAINS]; /* packed images (CPU steps, item lookup) */
    vkr_trie_gpu gpu_trie[VKR_DATA_MAX_DOMAINS];
    vkr_sequence* seq[VKR_DATA_MAX_DOMAINS]; /* GPU: the whole decode per domain, recorded on first use */
    vkr_buffer st_i[2], st_f[2];            /* device beam state, ping-pong */
    int32_t *host_i, *out_i;                /* host beam state (root and final beams; every level on the CPU) */
    float *host_f, *out_f;
    float* host_fused;                      /* CPU backend: [users, D] */
    int32_t* host_tok;                      /* CPU backend: prefix tokens */
    float* host_logits;                     /* CPU backend: [users * width, vocab] */
    int32_t* items;                         /* [users, width] decoded items (-1: none) */
    float* scores;                          /* [users, width] their log-likelihoods */
    gencdr_host h;                          /* history inputs */
};

static vkr_status gencdr_beam_graphs(vkr_gencdr_model* m, gencdr_beam* bm) {
    uint32_t D = m->cfg.hidden, B = bm->users, W = bm->width;
    VKR_TRY(vkr_graph_create(m->cfg.seed, &bm->state_g));
    vkr_graph* g = bm->state_g;
    vkr_tensor* code_emb = vkr_graph_param_init(g, "code_emb", 2, (uint32_t[]){gencdr_tokens(m), D}, 0, VKR_INIT_ZEROS, 0);
    bm->fused = vkr_graph_keep(gencdr_state(g, m, B, false, &bm->state_in, code_emb));
    VKR_TRY(vkr_graph_status(g) == VKR_OK ? VKR_OK : vkr_fail(vkr_graph_status(g), "GenCDR beam: %s", vkr_graph_error(g)));
    for (uint32_t l = 0; l < m->depth; l++) {
        gencdr_level* lv = &bm->level[l];
        uint32_t in_w = l ? W : 1, R = B * in_w;
        VKR_TRY(vkr_graph_create(m->cfg.seed, &lv->g));
        vkr_graph* lg = lv->g;
        vkr_tensor* ce = vkr_graph_param_init(lg, "code_emb", 2, (uint32_t[]){gencdr_tokens(m), D}, 0, VKR_INIT_ZEROS, 0);
        vkr_tensor* lvl = vkr_graph_param_init(lg, "level_emb", 2, (uint32_t[]){m->depth, D}, 0, VKR_INIT_ZEROS, 0);
        lv->fused = vkr_graph_input(lg, "fused", VKR_F32, 3, (uint32_t[]){B, 1, D});
        vkr_tensor* z = lv->fused; /* [B, in_w, D] by broadcasting once the prefix is added */
        if (l) {
            lv->prefix = vkr_graph_input(lg, "prefix", VKR_I32, 2, (uint32_t[]){R, l});
            vkr_tensor* e = vkr_op_sum(lg, vkr_op_embedding(lg, ce, lv->prefix), 1); /* [R, 1, D] */
            z = vkr_op_add(lg, z, vkr_op_reshape(lg, e, 3, (uint32_t[]){B, in_w, D}));
        }
        z = vkr_op_add(lg, vkr_op_reshape(lg, z, 2, (uint32_t[]){R, D}), vkr_op_slice(lg, lvl, 0, l, 1));
        lv->logits = vkr_graph_keep(gencdr_level_logits(lg, m, l, z));
        if (vkr_graph_status(lg) != VKR_OK) return vkr_fail(vkr_graph_status(lg), "GenCDR beam: %s", vkr_graph_error(lg));
    }
    return VKR_OK;
}

static void gencdr_beam_free(gencdr_beam* bm, vkr_device* dev, uint32_t depth) {
    if (!bm) return;
    for (uint32_t d = 0; d < VKR_DATA_MAX_DOMAINS; d++) {
        vkr_sequence_destroy(bm->seq[d]);
        vkr_trie_free(&bm->trie[d]);
        free(bm->packed[d]);
        if (dev) vkr_trie_gpu_free(dev, &bm->gpu_trie[d]);
    }
    vkr_exec_destroy(bm->state_ex);
    vkr_graph_destroy(bm->state_g);
    for (uint32_t l = 0; l < depth; l++) {
        vkr_exec_destroy(bm->level[l].ex);
        vkr_graph_destroy(bm->level[l].g);
    }
    for (int k = 0; k < 2 && dev; k++) {
        vkr_buffer_destroy(dev, &bm->st_i[k]);
        vkr_buffer_destroy(dev, &bm->st_f[k]);
    }
    free(bm->host_i);
    free(bm->host_f);
    free(bm->out_i);
    free(bm->out_f);
    free(bm->host_fused);
    free(bm->host_tok);
    free(bm->host_logits);
    free(bm->items);
    free(bm->scores);
    gencdr_host_free(&bm->h, depth);
    free(bm);
}

/* Builds the per-level decoders, the domain tries and the beam buffers (parameters come from the
 * scoring executor by gencdr_beam_sync). */
static vkr_status gencdr_beam_init(vkr_gencdr_model* m, uint32_t width, uint32_t longest) {
    gencdr_beam* bm = calloc(1, sizeof *bm);
    if (!bm) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for beam search");
    m->beam = bm;
    bm->users = m->cfg.eval_users;
    bm->width = width;
    const vkr_dataset* ds = m->ds;
    uint32_t B = bm->users, W = width, D = m->cfg.hidden, vmax = 0;
    for (uint32_t l = 0; l < m->depth; l++) vmax = m->vocab[l] > vmax ? m->vocab[l] : vmax;
    VKR_TRY(gencdr_beam_graphs(m, bm));
    vkr_exec_options eo = {.device = m->dev};
    VKR_TRY(vkr_exec_create(bm->state_g, &eo, &bm->state_ex));
    for (uint32_t l = 0; l < m->depth; l++) VKR_TRY(vkr_exec_create(bm->level[l].g, &eo, &bm->level[l].ex));
    for (uint32_t d = 0; d < (m->cfg.global_trie ? 1 : ds->domain_count); d++) {
        int which = m->cfg.global_trie ? -1 : (int)d; /* -1: every domain's items */
        VKR_TRY(vkr_trie_build(m->ids, ds->item_count, m->depth, ds->item_domain, which, &bm->trie[d]));
        bm->packed[d] = malloc((size_t)vkr_trie_packed_words(&bm->trie[d]) * 4);
        if (!bm->packed[d]) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory packing a trie");
        VKR_TRY(vkr_trie_pack(&bm->trie[d], bm->packed[d]));
        if (m->dev) VKR_TRY(vkr_trie_upload(m->dev, &bm->trie[d], &bm->gpu_trie[d]));
    }
    size_t si = (size_t)B * W * (2 + m->depth), sf = (size_t)B * W;
    bm->host_i = malloc(si * 4);
    bm->host_f = malloc(sf * 4);
    bm->out_i = malloc(si * 4);
    bm->out_f = malloc(sf * 4);
    bm->items = malloc(sf * 4);
    bm->scores = malloc(sf * 4);
    bool ok = bm->host_i && bm->host_f && bm->out_i && bm->out_f && bm->items && bm->scores;
    if (ok && !m->dev) {
        bm->host_fused = malloc((size_t)B * D * 4);
        bm->host_tok = malloc((size_t)B * W * m->depth * 4);
        bm->host_logits = malloc((size_t)B * W * vmax * 4);
        ok = bm->host_fused && bm->host_tok && bm->host_logits;
    }
    if (!ok) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for beam search");
    for (int k = 0; k < 2 && m->dev; k++) {
        VKR_TRY(vkr_buffer_create(m->dev, si * 4, VKR_MEMORY_DEVICE, &bm->st_i[k]));
        VKR_TRY(vkr_buffer_create(m->dev, sf * 4, VKR_MEMORY_DEVICE, &bm->st_f[k]));
    }
    gencdr_graph shape = {.rows = B, .cand = 1};
    return gencdr_host_alloc(&bm->h, m, &shape, false, longest);
}

/* Copies the scoring executor's (trained or loaded) parameters into the beam graphs. */
static vkr_status gencdr_beam_sync(vkr_gencdr_model* m) {
    gencdr_scoring* sc = m->score;
    gencdr_beam* bm = m->beam;
    VKR_TRY(vkr_copy_params(bm->state_ex, bm->state_g, sc->ex, sc->gg.g));
    for (uint32_t l = 0; l < m->depth; l++) VKR_TRY(vkr_copy_params(bm->level[l].ex, bm->level[l].g, sc->ex, sc->gg.g));
    return VKR_OK;
}

/* The trie decoding for target domain d runs over: d's own, or the global one (slot 0). */
static uint32_t gencdr_trie_slot(const vkr_gencdr_model* m, uint32_t d) { return m->cfg.global_trie ? 0 : d; }

static vkr_beam_params gencdr_beam_params(const vkr_gencdr_model* m, uint32_t l) {
    const gencdr_beam* bm = m->beam;
    return (vkr_beam_params){.batch = bm->users, .width = bm->width, .in_width = l ? bm->width : 1, .depth = m->depth,
                             .level = l, .vocab = m->vocab[l]};
}

/* Records the whole decode over trie slot d (the target domain itself is an input): encoder; per
 * level, the fused states copied to the decoder, the prefix tokens from the beams, the decoder and
 * the step; beams ping-pong between st[0] and st[1] and end in st[depth % 2]. */
static vkr_status gencdr_beam_record(vkr_gencdr_model* m, uint32_t d) {
    gencdr_beam* bm = m->beam;
    uint32_t S = 2 + m->depth;
    vkr_sequence* seq = NULL;
    VKR_TRY(vkr_sequence_create(m->dev, &seq));
    vkr_status s = vkr_exec_record(bm->state_ex, seq);
    vkr_range fused = vkr_exec_tensor_range(bm->state_ex, bm->fused);
    for (uint32_t l = 0; s == VKR_OK && l < m->depth; l++) {
        gencdr_level* lv = &bm->level[l];
        vkr_beam_params p = gencdr_beam_params(m, l);
        uint64_t rows = (uint64_t)p.batch * p.in_width;
        vkr_range dst = vkr_exec_tensor_range(lv->ex, lv->fused);
        s = vkr_sequence_copy(seq, fused.buffer, fused.offset, dst.buffer, dst.offset, vkr_tensor_bytes(lv->fused));
        vkr_range in_i = {&bm->st_i[l % 2], 0, rows * S * 4}, in_f = {&bm->st_f[l % 2], 0, rows * 4};
        if (s == VKR_OK && l)
            s = vkr_gpu_beam_tokens(seq, (uint32_t)rows, m->depth, l, m->offset, in_i,
                                    vkr_exec_tensor_range(lv->ex, lv->prefix));
        if (s == VKR_OK) s = vkr_exec_record(lv->ex, seq);
        uint64_t out_rows = (uint64_t)p.batch * p.width;
        if (s == VKR_OK)
            s = vkr_gpu_beam_step(seq, &p, vkr_range_whole(&bm->gpu_trie[d].buf),
                                  vkr_exec_tensor_range(lv->ex, lv->logits), in_i, in_f,
                                  (vkr_range){&bm->st_i[(l + 1) % 2], 0, out_rows * S * 4},
                                  (vkr_range){&bm->st_f[(l + 1) % 2], 0, out_rows * 4});
    }
    if (s != VKR_OK) {
        vkr_sequence_destroy(seq);
        return vkr_fail_context(s, "recording the GenCDR decode: ");
    }
    bm->seq[d] = seq;
    return VKR_OK;
}

/* The CPU backend's decode over trie slot d, level by level, after the encoder ran. */
static vkr_status gencdr_beam_levels_cpu(vkr_gencdr_model* m, uint32_t d) {
    gencdr_beam* bm = m->beam;
    VKR_TRY(vkr_exec_read(bm->state_ex, bm->fused, bm->host_fused, vkr_tensor_bytes(bm->fused)));
    for (uint32_t l = 0; l < m->depth; l++) {
        gencdr_level* lv = &bm->level[l];
        vkr_beam_params p = gencdr_beam_params(m, l);
        uint32_t rows = p.batch * p.in_width;
        VKR_TRY(vkr_exec_write(lv->ex, lv->fused, bm->host_fused, vkr_tensor_bytes(lv->fused)));
        if (l) {
            VKR_TRY(vkr_ref_beam_tokens(rows, m->depth, l, m->offset, bm->host_i, bm->host_tok));
            VKR_TRY(vkr_exec_write(lv->ex, lv->prefix, bm->host_tok, vkr_tensor_bytes(lv->prefix)));
        }
        VKR_TRY(vkr_exec_run(lv->ex));
        VKR_TRY(vkr_exec_read(lv->ex, lv->logits, bm->host_logits, vkr_tensor_bytes(lv->logits)));
        VKR_TRY(vkr_ref_beam_step(&p, bm->packed[d], bm->host_logits, bm->host_i, bm->host_f, bm->out_i, bm->out_f));
        if (l + 1 == m->depth) break; /* the final beams stay in out_i/out_f for gencdr_decode */
        int32_t* ti = bm->host_i;
        float* tf = bm->host_f;
        bm->host_i = bm->out_i, bm->host_f = bm->out_f;
        bm->out_i = ti, bm->out_f = tf;
    }
    return VKR_OK;
}

/* Decodes the next item for target domain d for n <= users examples (user, history length): fills
 * bm->items/scores [users, width] with up to `width` distinct items (global ids) of d, or of any
 * domain with the global trie, best first. */
static vkr_status gencdr_decode(vkr_gencdr_model* m, const uint32_t* pairs, uint32_t n, uint32_t d) {
    gencdr_beam* bm = m->beam;
    const vkr_dataset* ds = m->ds;
    uint32_t B = bm->users, W = bm->width, nd = ds->domain_count, S = 2 + m->depth;
    if (n > B) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR beam: %u examples exceed %u per call", n, B);
    if (d >= nd) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR beam: domain %u of %u", d, nd);
    uint32_t slot = gencdr_trie_slot(m, d);
    gencdr_host* h = &bm->h;
    memset(h->onehot, 0, (size_t)B * nd * 4);
    for (uint32_t b = 0; b < B; b++) {
        uint32_t src = b < n ? b : 0; /* pad the batch by repeating the first example */
        gencdr_fill_history(m, h, b, ds->seq_item + ds->seq_begin[pairs[2 * src]], pairs[2 * src + 1]);
        h->out_dom[b] = (int32_t)d + 1;
        h->onehot[(size_t)b * nd + d] = 1.0f;
    }
    VKR_TRY(gencdr_write_inputs(bm->state_ex, &bm->state_in, h));
    VKR_TRY(vkr_beam_init_host(B, m->depth, bm->host_i, bm->host_f));
    if (m->dev) {
        if (!bm->seq[slot]) VKR_TRY(gencdr_beam_record(m, slot));
        VKR_TRY(vkr_buffer_upload(m->dev, &bm->st_i[0], 0, bm->host_i, (size_t)B * S * 4));
        VKR_TRY(vkr_buffer_upload(m->dev, &bm->st_f[0], 0, bm->host_f, (size_t)B * 4));
        VKR_TRY(vkr_sequence_submit(bm->seq[slot]));
        uint32_t fin = m->depth % 2;
        VKR_TRY(vkr_buffer_download(m->dev, &bm->st_i[fin], 0, bm->out_i, (size_t)B * W * S * 4));
        VKR_TRY(vkr_buffer_download(m->dev, &bm->st_f[fin], 0, bm->out_f, (size_t)B * W * 4));
    } else {
        VKR_TRY(vkr_exec_run(bm->state_ex));
        VKR_TRY(gencdr_beam_levels_cpu(m, slot));
    }
    vkr_beam_params p = gencdr_beam_params(m, m->depth - 1);
    return vkr_beam_items(&p, bm->packed[slot], bm->out_i, bm->out_f, bm->items, bm->scores);
}

static vkr_status gencdr_rank_full(void* self, const uint32_t* pairs, uint32_t n, uint64_t* ranks) {
    vkr_gencdr_model* m = self;
    gencdr_beam* bm = m->beam;
    const vkr_dataset* ds = m->ds;
    VKR_TRY(gencdr_decode(m, pairs, n, m->domain));
    for (uint32_t b = 0; b < n; b++) {
        int32_t target = (int32_t)ds->seq_item[ds->seq_begin[pairs[2 * b]] + pairs[2 * b + 1]];
        ranks[b] = VKR_RANK_MISSING;
        for (uint32_t w = 0; w < bm->width; w++)
            if (bm->items[(size_t)b * bm->width + w] == target) {
                ranks[b] = w;
                break;
            }
    }
    return VKR_OK;
}

static vkr_status gencdr_top_items(void* self, const uint32_t* pairs, uint32_t n, int32_t* items, float* scores,
                                   uint32_t* out_width) {
    vkr_gencdr_model* m = self;
    gencdr_beam* bm = m->beam;
    VKR_TRY(gencdr_decode(m, pairs, n, m->domain));
    memcpy(items, bm->items, (size_t)n * bm->width * sizeof *items);
    memcpy(scores, bm->scores, (size_t)n * bm->width * sizeof *scores);
    *out_width = bm->width;
    return VKR_OK;
}
