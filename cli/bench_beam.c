/* Suite "beam": constrained beam-search decoding throughput in users/s for W = 10, 20, 50 at
 * batch 256 over a depth-4 trie (3 levels of 256 codes + the disambiguation level) of 10k random
 * distinct items, two ways:
 *   decode_wW: the four per-level steps only, with every level's logits given. The GPU records the
 *     four chained steps once and replays them; the peer is the CPU reference (one thread) doing
 *     the same four steps in the same run. The GPU's final beams are checked against the reference.
 *   gencdr_wW: GenCDR's whole decode at its default sizes (encoder over 20-item histories, per-level
 *     decoder, step, prefix tokens) as one recorded submission per batch, histories uploaded and
 *     final beams read back each time; the peer is the same model on the CPU backend (OpenBLAS +
 *     OpenMP, level by level). Untrained weights: the work does not depend on their values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_synth.h"
#include "vkr_gencdr.h"
#include "vkr_beam.h"
#include "vkr_quantize.h"
#include "vkr_trie.h"

#define BB_ITEMS 10000u
#define BB_LEVELS 3u
#define BB_CODES 256u
#define BB_DEPTH (BB_LEVELS + 1u)
#define BB_BATCH 256u

typedef struct bbench {
    vkr_beam_params p[BB_DEPTH]; /* per level */
    const uint32_t* words;       /* packed trie */
    float* logits[BB_DEPTH];     /* per level, given */
    int32_t* si[BB_DEPTH + 1];   /* host states: the init, then each level's output */
    float* sf[BB_DEPTH + 1];
    vkr_sequence* seq; /* GPU: the four steps */
} bbench;

static vkr_status run_gpu(void* user, double* out_device_s) {
    return vkr_bench_submit(((bbench*)user)->seq, out_device_s);
}

static vkr_status run_cpu(void* user, double* out_device_s) {
    bbench* q = user;
    *out_device_s = -1;
    for (uint32_t l = 0; l < BB_DEPTH; l++)
        VKR_TRY(vkr_ref_beam_step(&q->p[l], q->words, q->logits[l], q->si[l], q->sf[l], q->si[l + 1], q->sf[l + 1]));
    return VKR_OK;
}

/* Host arrays for width W, the GPU buffers (one per array) and the recorded sequence, then both
 * measurements and the report. */
static vkr_status bench_width(vkr_bench* b, const vkr_trie* trie, const vkr_trie_gpu* tg, const uint32_t* words,
                              uint32_t W) {
    bbench q = {.words = words};
    vkr_buffer bl[BB_DEPTH] = {0}, bi[BB_DEPTH + 1] = {0}, bf[BB_DEPTH + 1] = {0};
    vkr_status s = VKR_OK;
    uint32_t seed = 12345u + W;
    for (uint32_t l = 0; l <= BB_DEPTH && s == VKR_OK; l++) {
        uint32_t width = l == 0 ? 1 : W;
        q.si[l] = malloc((size_t)BB_BATCH * width * (2 + BB_DEPTH) * sizeof(int32_t));
        q.sf[l] = malloc((size_t)BB_BATCH * width * sizeof(float));
        if (!q.si[l] || !q.sf[l]) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "bench beam: out of host memory");
        if (s == VKR_OK) s = vkr_buffer_create(b->dev, (uint64_t)BB_BATCH * width * (2 + BB_DEPTH) * 4, VKR_MEMORY_DEVICE, &bi[l]);
        if (s == VKR_OK) s = vkr_buffer_create(b->dev, (uint64_t)BB_BATCH * width * 4, VKR_MEMORY_DEVICE, &bf[l]);
        if (l == BB_DEPTH || s != VKR_OK) continue;
        q.p[l] = (vkr_beam_params){BB_BATCH, W, width, BB_DEPTH, l, trie->vocab[l]};
        size_t n = (size_t)BB_BATCH * width * trie->vocab[l];
        q.logits[l] = malloc(n * sizeof(float));
        if (!q.logits[l]) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "bench beam: out of host memory");
        for (size_t i = 0; s == VKR_OK && i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            q.logits[l][i] = -4.0f + 8.0f * (float)(seed >> 8) / 16777216.0f;
        }
        if (s == VKR_OK) s = vkr_buffer_create(b->dev, n * 4, VKR_MEMORY_DEVICE, &bl[l]);
        if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &bl[l], 0, q.logits[l], n * 4);
    }
    if (s == VKR_OK) s = vkr_beam_init_host(BB_BATCH, BB_DEPTH, q.si[0], q.sf[0]);
    if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &bi[0], 0, q.si[0], (uint64_t)BB_BATCH * (2 + BB_DEPTH) * 4);
    if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &bf[0], 0, q.sf[0], (uint64_t)BB_BATCH * 4);
    if (s == VKR_OK) s = vkr_sequence_create(b->dev, &q.seq);
    for (uint32_t l = 0; l < BB_DEPTH && s == VKR_OK; l++)
        s = vkr_gpu_beam_step(q.seq, &q.p[l], vkr_range_whole(&tg->buf), vkr_range_whole(&bl[l]),
                              vkr_range_whole(&bi[l]), vkr_range_whole(&bf[l]), vkr_range_whole(&bi[l + 1]),
                              vkr_range_whole(&bf[l + 1]));
    vkr_bench_unit rate = {"users/s", BB_BATCH};
    vkr_bench_stats wall, dev, peer;
    bool has_dev = false;
    if (s == VKR_OK) s = vkr_bench_measure(b, run_gpu, &q, rate, &wall, &dev, &has_dev);
    if (s == VKR_OK) s = vkr_bench_measure(b, run_cpu, &q, rate, &peer, NULL, NULL);
    /* the GPU's final beams must be the reference's, bit for bit */
    size_t ni = (size_t)BB_BATCH * W * (2 + BB_DEPTH), nf = (size_t)BB_BATCH * W;
    int32_t* gi = malloc(ni * sizeof *gi);
    float* gf = malloc(nf * sizeof *gf);
    if (s == VKR_OK && (!gi || !gf)) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "bench beam: out of host memory");
    if (s == VKR_OK) s = vkr_buffer_download(b->dev, &bi[BB_DEPTH], 0, gi, ni * 4);
    if (s == VKR_OK) s = vkr_buffer_download(b->dev, &bf[BB_DEPTH], 0, gf, nf * 4);
    if (s == VKR_OK && (memcmp(gi, q.si[BB_DEPTH], ni * 4) || memcmp(gf, q.sf[BB_DEPTH], nf * 4)))
        s = vkr_fail(VKR_ERR_STATE, "bench beam: GPU beams differ from the CPU reference at W = %u", W);
    if (s == VKR_OK) {
        cJSON* params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "width", W);
        cJSON_AddNumberToObject(params, "batch", BB_BATCH);
        cJSON_AddNumberToObject(params, "depth", BB_DEPTH);
        cJSON_AddNumberToObject(params, "items", trie->item_count);
        cJSON_AddNumberToObject(params, "nodes", trie->node_count);
        char name[16];
        snprintf(name, sizeof name, "decode_w%u", W);
        vkr_bench_report(b, "beam", name, params, rate, &wall, has_dev ? &dev : NULL,
                         "CPU reference (vkr_ref_beam_step, 1 thread)", &peer);
    }
    free(gi);
    free(gf);
    vkr_sequence_destroy(q.seq);
    for (uint32_t l = 0; l <= BB_DEPTH; l++) {
        if (l < BB_DEPTH) {
            free(q.logits[l]);
            vkr_buffer_destroy(b->dev, &bl[l]);
        }
        free(q.si[l]);
        free(q.sf[l]);
        vkr_buffer_destroy(b->dev, &bi[l]);
        vkr_buffer_destroy(b->dev, &bf[l]);
    }
    return s;
}

/* GenCDR's decode for the first `users` examples of a synthetic dataset. */
typedef struct gbench {
    vkr_scorer sc;
    uint32_t* pairs; /* (user, history length) */
    int32_t* items;
    float* scores;
} gbench;

static vkr_status run_decode(void* user, double* out_device_s) {
    gbench* g = user;
    uint32_t w = 0;
    *out_device_s = -1;
    return g->sc.top_items(g->sc.self, g->pairs, BB_BATCH, g->items, g->scores, &w);
}

static vkr_status bench_gencdr_width(vkr_bench* b, const synth_data* sd, uint32_t W) {
    vkr_gencdr_train t;
    vkr_gencdr_train_defaults(&t);
    t.beam = W, t.eval_users = BB_BATCH;
    vkr_gencdr_model gpu = {0}, cpu = {0};
    gbench g[2] = {0};
    vkr_status s = vkr_gencdr_open(&sd->ds, b->dev, sd->ids, BB_DEPTH, &t, &gpu);
    if (s == VKR_OK) s = vkr_gencdr_open(&sd->ds, NULL, sd->ids, BB_DEPTH, &t, &cpu);
    for (int k = 0; k < 2 && s == VKR_OK; k++) {
        g[k].sc = vkr_gencdr_scorer(k ? &cpu : &gpu, 0);
        g[k].pairs = malloc((size_t)BB_BATCH * 2 * sizeof *g[k].pairs);
        g[k].items = malloc((size_t)BB_BATCH * W * sizeof *g[k].items);
        g[k].scores = malloc((size_t)BB_BATCH * W * sizeof *g[k].scores);
        if (!g[k].pairs || !g[k].items || !g[k].scores) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "bench beam: out of host memory");
        for (uint32_t u = 0; s == VKR_OK && u < BB_BATCH; u++) g[k].pairs[2 * u] = u, g[k].pairs[2 * u + 1] = 20;
    }
    vkr_bench slow = *b; /* the CPU backend's decode takes seconds */
    slow.runs = b->runs < 3 ? b->runs : 3;
    slow.warmup = 1;
    vkr_bench_unit rate = {"users/s", BB_BATCH};
    vkr_bench_stats wall, peer;
    if (s == VKR_OK) s = vkr_bench_measure(&slow, run_decode, &g[0], rate, &wall, NULL, NULL);
    if (s == VKR_OK) s = vkr_bench_measure(&slow, run_decode, &g[1], rate, &peer, NULL, NULL);
    if (s == VKR_OK) {
        cJSON* params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "width", W);
        cJSON_AddNumberToObject(params, "batch", BB_BATCH);
        cJSON_AddNumberToObject(params, "depth", BB_DEPTH);
        cJSON_AddNumberToObject(params, "items", sd->ds.item_count / 2);
        cJSON_AddNumberToObject(params, "hidden", t.hidden);
        cJSON_AddNumberToObject(params, "history", 20);
        char name[16];
        snprintf(name, sizeof name, "gencdr_w%u", W);
        vkr_bench_report(b, "beam", name, params, rate, &wall, NULL, "GenCDR on the CPU backend", &peer);
    }
    for (int k = 0; k < 2; k++) free(g[k].pairs), free(g[k].items), free(g[k].scores);
    vkr_gencdr_model_free(&gpu);
    vkr_gencdr_model_free(&cpu);
    return s;
}

vkr_status vkr_bench_suite_beam(vkr_bench* b) {
    int32_t* codes = malloc((size_t)BB_ITEMS * BB_LEVELS * sizeof *codes);
    uint16_t* ids = malloc((size_t)BB_ITEMS * BB_DEPTH * sizeof *ids);
    vkr_status s = codes && ids ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "bench beam: out of host memory");
    /* random codes; the few colliding paths get distinct disambiguation tokens */
    uint32_t seed = 2024;
    for (size_t i = 0; s == VKR_OK && i < (size_t)BB_ITEMS * BB_LEVELS; i++) {
        seed = seed * 1664525u + 1013904223u;
        codes[i] = (int32_t)((seed >> 12) % BB_CODES);
    }
    vkr_trie trie = {0};
    vkr_trie_gpu tg = {0};
    uint32_t* words = NULL;
    if (s == VKR_OK) s = vkr_semantic_ids_build(codes, BB_ITEMS, BB_LEVELS, BB_CODES, ids, NULL);
    if (s == VKR_OK) s = vkr_trie_build(ids, BB_ITEMS, BB_DEPTH, NULL, -1, &trie);
    if (s == VKR_OK) words = malloc((size_t)vkr_trie_packed_words(&trie) * sizeof *words);
    if (s == VKR_OK && !words) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "bench beam: out of host memory");
    if (s == VKR_OK) s = vkr_trie_pack(&trie, words);
    if (s == VKR_OK) s = vkr_trie_upload(b->dev, &trie, &tg);
    static const uint32_t widths[] = {10, 20, 50};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0] && s == VKR_OK; i++)
        s = bench_width(b, &trie, &tg, words, widths[i]);
    synth_data sd = {0};
    if (s == VKR_OK) s = bench_synth_make(BB_BATCH, 21, 2 * BB_ITEMS, &sd);
    for (size_t i = 0; i < sizeof widths / sizeof widths[0] && s == VKR_OK; i++)
        s = bench_gencdr_width(b, &sd, widths[i]);
    bench_synth_free(&sd);
    vkr_trie_gpu_free(b->dev, &tg);
    vkr_trie_free(&trie);
    free(words);
    free(codes);
    free(ids);
    return s;
}
