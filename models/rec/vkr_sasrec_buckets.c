#include "vkr_sasrec_buckets.h"

#include <string.h>

vkr_status vkr_sasrec_buckets_init(const vkr_sasrec_config* c, uint64_t seed, vkr_device* dev, bool on,
                                   vkr_sasrec* full, vkr_exec* exec, vkr_sasrec_bucket_init init, void* init_user,
                                   vkr_sasrec_buckets* bk) {
    if (!bk) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_buckets_init: out is NULL");
    memset(bk, 0, sizeof *bk);
    if (!c || !full || !exec || c->max_len == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_buckets_init: no model, graph or executor");
    *bk = (vkr_sasrec_buckets){.config = *c, .seed = seed, .device = dev, .init = init, .init_user = init_user};
    bk->config.window = 0;
    /* doubling keeps the graphs (and their pipelines and arenas) few while wasting under half a window */
    for (uint64_t len = VKR_SASREC_MIN_BUCKET; on && len < c->max_len; len *= 2)
        bk->bucket[bk->count++].len = (uint32_t)len;
    vkr_sasrec_bucket* last = &bk->bucket[bk->count++];
    *last = (vkr_sasrec_bucket){.len = c->max_len, .graph = *full, .exec = exec};
    return VKR_OK;
}

/* Builds bucket b's graph and an executor sharing the full window's. */
static vkr_status vkr_sasrec_bucket_build(vkr_sasrec_buckets* bk, vkr_sasrec_bucket* b) {
    vkr_sasrec_config c = bk->config;
    c.window = b->len;
    VKR_TRY(vkr_sasrec_build(&c, true, bk->seed, &b->graph));
    vkr_exec_options o = {.device = bk->device, .training = true, .share = bk->bucket[bk->count - 1].exec};
    vkr_status s = vkr_exec_create(b->graph.graph, &o, &b->exec);
    if (s == VKR_OK && bk->init) s = bk->init(bk->init_user, b->exec, &b->graph);
    if (s == VKR_OK) return VKR_OK;
    vkr_exec_destroy(b->exec);
    b->exec = NULL;
    vkr_sasrec_destroy(&b->graph);
    return vkr_fail_context(s, "SASRec length bucket %u: ", b->len);
}

vkr_status vkr_sasrec_buckets_pick(vkr_sasrec_buckets* bk, uint32_t n, vkr_sasrec_bucket** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_buckets_pick: out_bucket is NULL");
    *out = NULL;
    if (!bk || !bk->count) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_sasrec_buckets_pick: no ladder");
    uint32_t k = 0;
    while (k + 1 < bk->count && bk->bucket[k].len < n) k++;
    vkr_sasrec_bucket* b = &bk->bucket[k];
    if (!b->exec) VKR_TRY(vkr_sasrec_bucket_build(bk, b));
    *out = b;
    return VKR_OK;
}

void vkr_sasrec_buckets_free(vkr_sasrec_buckets* bk) {
    if (!bk) return;
    for (uint32_t k = 0; k + 1 < bk->count; k++) {
        vkr_exec_destroy(bk->bucket[k].exec);
        vkr_sasrec_destroy(&bk->bucket[k].graph);
    }
    memset(bk, 0, sizeof *bk);
}
