/* GenCDR's full ranking and recommendations by constrained beam search over the semantic-ID trie:
 * the per-level decoders, the recorded GPU decode replayed per batch of users (or the CPU backend's
 * level-by-level reference), and the decoded items ranked or returned best first. */
#include <stdlib.h>
#include <string.h>

#include "vkr_beam.h"
#include "vkr_gencdr_internal.h"
#include "vkr_trie.h"

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
struct vkr_gencdr_beam {
    uint32_t users, width;                  /* users per call, beams per user */
    vkr_graph* state_g;                     /* encoder + fusion for `users` rows */
    vkr_exec* state_ex;
    vkr_gencdr_inputs state_in;
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
    vkr_gencdr_host h;                      /* history inputs */
};

static vkr_status gencdr_beam_graphs(vkr_gencdr_model* m, vkr_gencdr_beam* bm) {
    uint32_t D = m->cfg.hidden, B = bm->users, W = bm->width;
    VKR_TRY(vkr_graph_create(m->cfg.seed, &bm->state_g));
    vkr_graph* g = bm->state_g;
    uint32_t tokens = vkr_gencdr_tokens(m);
    vkr_tensor* code_emb = vkr_graph_param_init(g, "code_emb", 2, (uint32_t[]){tokens, D}, 0, VKR_INIT_ZEROS, 0);
    bm->fused = vkr_graph_keep(vkr_gencdr_state(g, m, B, false, &bm->state_in, code_emb));
    VKR_TRY(vkr_graph_status(g) == VKR_OK ? VKR_OK : vkr_fail(vkr_graph_status(g), "GenCDR beam: %s", vkr_graph_error(g)));
    for (uint32_t l = 0; l < m->depth; l++) {
        gencdr_level* lv = &bm->level[l];
        uint32_t in_w = l ? W : 1, R = B * in_w;
        VKR_TRY(vkr_graph_create(m->cfg.seed, &lv->g));
        vkr_graph* lg = lv->g;
        vkr_tensor* ce = vkr_graph_param_init(lg, "code_emb", 2, (uint32_t[]){tokens, D}, 0, VKR_INIT_ZEROS, 0);
        vkr_tensor* lvl = vkr_graph_param_init(lg, "level_emb", 2, (uint32_t[]){m->depth, D}, 0, VKR_INIT_ZEROS, 0);
        lv->fused = vkr_graph_input(lg, "fused", VKR_F32, 3, (uint32_t[]){B, 1, D});
        vkr_tensor* z = lv->fused; /* [B, in_w, D] by broadcasting once the prefix is added */
        if (l) {
            lv->prefix = vkr_graph_input(lg, "prefix", VKR_I32, 2, (uint32_t[]){R, l});
            vkr_tensor* e = vkr_op_sum(lg, vkr_op_embedding(lg, ce, lv->prefix), 1); /* [R, 1, D] */
            z = vkr_op_add(lg, z, vkr_op_reshape(lg, e, 3, (uint32_t[]){B, in_w, D}));
        }
        z = vkr_op_add(lg, vkr_op_reshape(lg, z, 2, (uint32_t[]){R, D}), vkr_op_slice(lg, lvl, 0, l, 1));
        lv->logits = vkr_graph_keep(vkr_gencdr_level_logits(lg, m, l, z));
        if (vkr_graph_status(lg) != VKR_OK) return vkr_fail(vkr_graph_status(lg), "GenCDR beam: %s", vkr_graph_error(lg));
    }
    return VKR_OK;
}

void vkr_gencdr_beam_free(vkr_gencdr_beam* bm, vkr_device* dev, uint32_t depth) {
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
    vkr_gencdr_host_free(&bm->h, depth);
    free(bm);
}

vkr_status vkr_gencdr_beam_init(vkr_gencdr_model* m, uint32_t width, uint32_t longest) {
    vkr_gencdr_beam* bm = calloc(1, sizeof *bm);
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
    VKR_TRY(vkr_item_views_write(bm->state_ex, &bm->state_in.views, &m->views_host));
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
    vkr_gencdr_graph shape = {.rows = B, .cand = 1};
    return vkr_gencdr_host_alloc(&bm->h, m, &shape, false, longest);
}

vkr_status vkr_gencdr_beam_sync(vkr_gencdr_model* m) {
    vkr_gencdr_scoring* sc = m->score;
    vkr_gencdr_beam* bm = m->beam;
    VKR_TRY(vkr_exec_copy_params(bm->state_ex, sc->ex));
    for (uint32_t l = 0; l < m->depth; l++) VKR_TRY(vkr_exec_copy_params(bm->level[l].ex, sc->ex));
    return VKR_OK;
}

/* The trie decoding for target domain d runs over: d's own, or the global one (slot 0). */
static uint32_t gencdr_trie_slot(const vkr_gencdr_model* m, uint32_t d) { return m->cfg.global_trie ? 0 : d; }

static vkr_beam_params gencdr_beam_params(const vkr_gencdr_model* m, uint32_t l) {
    const vkr_gencdr_beam* bm = m->beam;
    return (vkr_beam_params){.batch = bm->users, .width = bm->width, .in_width = l ? bm->width : 1, .depth = m->depth,
                             .level = l, .vocab = m->vocab[l]};
}

/* Records the whole decode over trie slot d (the target domain itself is an input): encoder; per
 * level, the fused states copied to the decoder, the prefix tokens from the beams, the decoder and
 * the step; beams ping-pong between st[0] and st[1] and end in st[depth % 2]. */
static vkr_status gencdr_beam_record(vkr_gencdr_model* m, uint32_t d) {
    vkr_gencdr_beam* bm = m->beam;
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
    vkr_gencdr_beam* bm = m->beam;
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
    vkr_gencdr_beam* bm = m->beam;
    const vkr_dataset* ds = m->ds;
    uint32_t B = bm->users, W = bm->width, nd = ds->domain_count, S = 2 + m->depth;
    if (n > B) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR beam: %u examples exceed %u per call", n, B);
    if (d >= nd) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR beam: domain %u of %u", d, nd);
    uint32_t slot = gencdr_trie_slot(m, d);
    vkr_gencdr_host* h = &bm->h;
    memset(h->onehot, 0, (size_t)B * nd * 4);
    for (uint32_t b = 0; b < B; b++) {
        uint32_t src = b < n ? b : 0; /* pad the batch by repeating the first example */
        vkr_gencdr_fill_history(m, h, b, ds->seq_item + ds->seq_begin[pairs[2 * src]], pairs[2 * src + 1]);
        h->out_dom[b] = (int32_t)d + 1;
        h->onehot[(size_t)b * nd + d] = 1.0f;
    }
    VKR_TRY(vkr_gencdr_write_inputs(bm->state_ex, &bm->state_in, h));
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

vkr_status vkr_gencdr_rank_full(void* self, const uint32_t* pairs, uint32_t n, uint64_t* ranks) {
    vkr_gencdr_model* m = self;
    vkr_gencdr_beam* bm = m->beam;
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

vkr_status vkr_gencdr_top_items(void* self, const uint32_t* pairs, uint32_t n, int32_t* items, float* scores,
                                uint32_t* out_width) {
    vkr_gencdr_model* m = self;
    vkr_gencdr_beam* bm = m->beam;
    VKR_TRY(gencdr_decode(m, pairs, n, m->domain));
    memcpy(items, bm->items, (size_t)n * bm->width * sizeof *items);
    memcpy(scores, bm->scores, (size_t)n * bm->width * sizeof *scores);
    *out_width = bm->width;
    return VKR_OK;
}
