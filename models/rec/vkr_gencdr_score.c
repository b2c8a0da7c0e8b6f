/* GenCDR's sampled scoring: each candidate's semantic-ID log-likelihood under the decoder, and the
 * vkr_scorer that offers it beside the beam-search decode. */
#include <stdlib.h>
#include <string.h>

#include "vkr_gencdr_internal.h"

/* Scores candidates [k0, k0 + C) of every example (the graph holds C per user; more run in chunks). */
static vkr_status gencdr_score_chunk(vkr_gencdr_model* m, const uint32_t* pairs, uint32_t n, const uint32_t* cand,
                                     uint32_t c, uint32_t k0, float* scores) {
    vkr_gencdr_scoring* sc = m->score;
    const vkr_dataset* ds = m->ds;
    uint32_t B = sc->gg.rows, C = sc->gg.cand, nd = ds->domain_count, d = m->domain, begin = ds->item_begin[d];
    vkr_gencdr_host* h = &sc->h;
    memset(h->onehot, 0, (size_t)B * nd * 4);
    for (uint32_t l = 0; l < m->depth; l++) memset(h->hot[l], 0, (size_t)B * C * m->vocab[l] * 4);
    for (uint32_t b = 0; b < B; b++) {
        uint32_t src = b < n ? b : 0; /* pad the batch by repeating the first example */
        uint32_t u = pairs[2 * src], p = pairs[2 * src + 1];
        vkr_gencdr_fill_history(m, h, b, ds->seq_item + ds->seq_begin[u], p);
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
    const vkr_gencdr_graph* gg = &sc->gg;
    VKR_TRY(vkr_gencdr_write_inputs(sc->ex, &gg->in, h));
    for (uint32_t l = 0; l < m->depth; l++) {
        VKR_TRY(vkr_gencdr_write(sc->ex, gg->hot[l], h->hot[l]));
        if (gg->tok[l]) VKR_TRY(vkr_gencdr_write(sc->ex, gg->tok[l], h->tok[l]));
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
    vkr_gencdr_scoring* sc = m->score;
    if (n > sc->gg.rows)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "GenCDR scoring: %u examples exceed the graph's %u", n, sc->gg.rows);
    for (uint32_t k0 = 0; k0 < c; k0 += sc->gg.cand) VKR_TRY(gencdr_score_chunk(m, pairs, n, cand, c, k0, scores));
    return VKR_OK;
}

vkr_scorer vkr_gencdr_scorer(vkr_gencdr_model* m, uint32_t domain) {
    m->domain = domain;
    vkr_gencdr_scoring* sc = m->score;
    return (vkr_scorer){.self = m, .batch = sc ? sc->gg.rows : 1, .score_candidates = gencdr_score_candidates,
                        .rank_full = m->beam ? vkr_gencdr_rank_full : NULL,
                        .top_items = m->beam ? vkr_gencdr_top_items : NULL,
                        .top_width = m->beam ? m->cfg.beam : 0, .max_candidates = UINT32_MAX};
}

vkr_status vkr_gencdr_scoring_create(vkr_gencdr_model* m, uint32_t longest) {
    const vkr_gencdr_train* cfg = &m->cfg;
    vkr_gencdr_scoring* sc = calloc(1, sizeof *sc);
    m->score = sc;
    vkr_status s = sc ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == VKR_OK) s = vkr_gencdr_build(m, false, cfg->eval_users, cfg->candidates, &sc->gg);
    if (s == VKR_OK) s = vkr_exec_create(sc->gg.g, &(vkr_exec_options){.device = m->dev}, &sc->ex);
    if (s == VKR_OK) s = vkr_exec_init_params(sc->ex, cfg->seed);
    if (s == VKR_OK) s = vkr_item_views_write(sc->ex, &sc->gg.in.views, &m->views_host);
    if (s == VKR_OK) s = vkr_gencdr_host_alloc(&sc->h, m, &sc->gg, false, longest);
    if (s == VKR_OK && !(sc->out = malloc((size_t)cfg->eval_users * cfg->candidates * 4)))
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    return s;
}

void vkr_gencdr_scoring_free(vkr_gencdr_scoring* sc, uint32_t depth) {
    if (!sc) return;
    vkr_exec_destroy(sc->ex);
    vkr_graph_destroy(sc->gg.g);
    vkr_gencdr_host_free(&sc->h, depth);
    free(sc->out);
    free(sc);
}
