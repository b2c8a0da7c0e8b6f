/* LLM-RecG's zero-shot transfer on SASRec: a text-only model trained on some domains scores a domain
 * it never trained on, optionally with the sequence-level alignment (centroids of the source users'
 * states, attended over at scoring). */
#include <stdlib.h>
#include <string.h>

#include "vkr_kmeans.h"
#include "vkr_rec.h"

/* k-means of the states of every source user after the user's training events, into centroids. */
static vkr_status vkr_source_centroids(vkr_sasrec_model* src, uint32_t k, float* centroids) {
    const vkr_dataset* ds = src->ds;
    uint32_t D = src->cfg.hidden, n = 0;
    uint32_t* pairs = malloc(2ull * ds->user_count * sizeof *pairs);
    uint32_t* scratch = malloc(((size_t)vkr_dataset_longest(ds) + 1) * sizeof *scratch);
    vkr_status s = pairs && scratch ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory (zero-shot)");
    for (uint32_t u = 0; s == VKR_OK && u < ds->user_count; u++)
        if (vkr_sasrec_row_events(ds, &src->cfg, u, ds->train_len[u], scratch) > 0) {
            pairs[2 * n] = u;
            pairs[2 * n + 1] = ds->train_len[u];
            n++;
        }
    free(scratch);
    if (s == VKR_OK && n == 0) s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "zero-shot: no source user to cluster");
    float* states = s == VKR_OK ? malloc((size_t)n * D * sizeof *states) : NULL;
    if (s == VKR_OK && !states) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for %u user states", n);
    if (s == VKR_OK) s = vkr_sasrec_user_states(src, pairs, n, states);
    vkr_kmeans_options ko = {.k = k, .iters = 25, .restarts = 2, .seed = src->cfg.seed};
    if (s == VKR_OK) s = vkr_kmeans(src->dev, states, n, D, &ko, centroids, NULL, NULL);
    free(states);
    free(pairs);
    return s;
}

vkr_status vkr_sasrec_item_table(vkr_sasrec_model* m, float* out) {
    if (!m || !m->score_graph.items) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_item_table: not a text-only model");
    const vkr_dataset* ds = m->ds;
    uint32_t D = m->cfg.hidden, user = 0;
    while (user < ds->user_count && ds->train_len[user] == 0) user++;
    uint32_t pair[2] = {user < ds->user_count ? user : 0, 0};
    float* state = malloc((size_t)D * sizeof *state);
    float* table = malloc(((size_t)ds->item_count + 1) * D * sizeof *table);
    /* one run computes the table from the current parameters; row 0 is padding */
    vkr_status s = state && table ? vkr_sasrec_user_states(m, pair, 1, state)
                                  : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the item table");
    if (s == VKR_OK) s = vkr_exec_read(m->score_exec, m->score_graph.items, table, 4ull * (ds->item_count + 1) * D);
    if (s == VKR_OK) memcpy(out, table + D, (size_t)ds->item_count * D * sizeof *out);
    free(state);
    free(table);
    return s;
}

vkr_status vkr_sasrec_zero_shot(vkr_sasrec_model* src, uint32_t target, uint32_t seq_clusters, float seq_mix,
                                vkr_sasrec_model* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_zero_shot: out is NULL");
    memset(out, 0, sizeof *out);
    if (!src || !src->score_exec || !src->cfg.semantic_only || !src->cfg.train_domains)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "zero-shot: the model must be trained text-only on training domains");
    const vkr_dataset* ds = src->ds;
    if (target >= ds->domain_count || ((src->cfg.train_domains >> target) & 1u))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "zero-shot: domain %s %s", target < ds->domain_count ? ds->domain_name[target] : "?",
                        target < ds->domain_count ? "was trained on" : "does not exist");
    vkr_sasrec_train cfg = src->cfg;
    cfg.domain = target;
    cfg.train_domains = 0;
    cfg.mixed_input = false;
    cfg.align_items = 0;
    cfg.seq_clusters = seq_clusters;
    cfg.seq_mix = seq_mix;
    cfg.ckpt_dir = NULL;
    cfg.resume = false;
    VKR_TRY(vkr_sasrec_open(ds, src->dev, &cfg, out));
    out->fit = (vkr_fit_report){0};
    vkr_status s = vkr_exec_copy_params(out->score_exec, src->score_exec);
    float* centroids = seq_clusters ? malloc((size_t)seq_clusters * cfg.hidden * sizeof *centroids) : NULL;
    if (s == VKR_OK && seq_clusters && !centroids) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (s == VKR_OK && seq_clusters) s = vkr_source_centroids(src, seq_clusters, centroids);
    if (s == VKR_OK && seq_clusters)
        s = vkr_exec_write(out->score_exec, out->score_graph.centroids, centroids, 4ull * seq_clusters * cfg.hidden);
    free(centroids);
    if (s != VKR_OK) vkr_sasrec_model_free(out);
    return s;
}
