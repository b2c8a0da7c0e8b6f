/* Constrained beam search: the GPU step equals the CPU reference bit for bit on random tries,
 * widths and batches (also with ties, masked, non-finite and subnormal logits, and malformed
 * state); a full decode with W >= items returns exactly the brute-force ranking of every item's
 * restricted log-probability; decoded paths are items of the requested (domain) trie, also over
 * every semantic-ID scheme's IDs; dead beams;
 * the tie rule; exp/log accuracy; a corrupt trie buffer; parameter errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_beam.h"
#include "vkr_quantize.h"
#include "vkr_test.h"
#include "vkr_trie.h"
#include "test_semid_util.h"

static vkr_test_env env;

static int setup(void** state) {
    (void)state;
    vkr_test_open(&env, NULL);
    return 0;
}

static int teardown(void** state) {
    (void)state;
    vkr_test_close(&env);
    return 0;
}

static uint32_t rng_next(uint32_t* s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float rng_float(uint32_t* s, float lo, float hi) { return lo + (hi - lo) * (float)(rng_next(s) >> 8) / 16777216.0f; }

/* ---- tries ---- */

/* Items with random codes (level t drawn from [0, k_t)), disambiguated into distinct IDs, in three
 * domains; the trie of one domain (or all with domain < 0) and its packed image on both sides. */
typedef struct beam_case {
    uint32_t n, depth;
    uint16_t* ids;
    uint8_t* domain;
    vkr_trie trie;
    uint32_t* words;
    vkr_trie_gpu gpu;
} beam_case;

/* The trie of `domain` (all with domain < 0) over c->ids and c->domain, packed and uploaded. */
static void case_finish(beam_case* c, int domain) {
    VKR_ASSERT_OK(vkr_trie_build(c->ids, c->n, c->depth, c->domain, domain, &c->trie));
    c->words = malloc((size_t)vkr_trie_packed_words(&c->trie) * sizeof *c->words);
    assert_non_null(c->words);
    VKR_ASSERT_OK(vkr_trie_pack(&c->trie, c->words));
    VKR_ASSERT_OK(vkr_trie_upload(env.device, &c->trie, &c->gpu));
}

static void case_build(beam_case* c, uint32_t n, uint32_t depth, const uint32_t* k, int domain, uint32_t seed) {
    memset(c, 0, sizeof *c);
    c->n = n;
    c->depth = depth;
    uint32_t levels = depth - 1, kmax = 1;
    int32_t* codes = malloc((size_t)n * levels * sizeof *codes);
    c->ids = malloc((size_t)n * depth * sizeof *c->ids);
    c->domain = malloc(n);
    assert_non_null(codes);
    assert_non_null(c->ids);
    assert_non_null(c->domain);
    for (uint32_t l = 0; l < levels; l++) kmax = k[l] > kmax ? k[l] : kmax;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t l = 0; l < levels; l++) codes[i * levels + l] = (int32_t)(rng_next(&seed) % k[l]);
        c->domain[i] = (uint8_t)(rng_next(&seed) % 3);
    }
    VKR_ASSERT_OK(vkr_semantic_ids_build(codes, n, levels, kmax, c->ids, NULL));
    free(codes);
    case_finish(c, domain);
}

/* The same over the IDs a semantic-ID scheme gives n clustered items (levels x k codes). */
static void case_build_scheme(beam_case* c, ts_scheme scheme, uint32_t n, uint32_t levels, uint32_t k, int domain,
                              uint32_t seed) {
    memset(c, 0, sizeof *c);
    c->n = n;
    c->depth = levels + 1;
    c->ids = ts_scheme_ids(scheme, env.device, n, levels, k);
    c->domain = malloc(n);
    assert_non_null(c->domain);
    for (uint32_t i = 0; i < n; i++) c->domain[i] = (uint8_t)(rng_next(&seed) % 3);
    case_finish(c, domain);
}

static void case_free(beam_case* c) {
    vkr_trie_gpu_free(env.device, &c->gpu);
    vkr_trie_free(&c->trie);
    free(c->ids);
    free(c->domain);
    free(c->words);
    memset(c, 0, sizeof *c);
}

/* ---- logits ---- */

typedef enum logit_kind {
    LOGITS_RANDOM,  /* uniform in [-4, 4) */
    LOGITS_TIES,    /* three values only: many exactly tied candidates */
    LOGITS_SPECIAL, /* random with some -inf, NaN, +inf, huge, subnormal and -0 values */
    LOGITS_PREFIX   /* a function of (user, the beam's prefix, token), as a real decoder's would be */
} logit_kind;

/* Logit of `tok` after `prefix` (len tokens) for user u: a hash mapped to [-4, 4). */
static float prefix_logit(uint32_t u, const int32_t* prefix, uint32_t len, uint32_t tok) {
    uint32_t h = 2166136261u ^ u;
    for (uint32_t i = 0; i < len; i++) h = (h ^ (uint32_t)prefix[i]) * 16777619u;
    h = (h ^ (tok + 0x9E3779B9u)) * 16777619u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return -4.0f + 8.0f * (float)(h >> 8) / 16777216.0f;
}

static void fill_logits(logit_kind kind, const vkr_beam_params* p, const int32_t* in_i, uint32_t* seed, float* x) {
    static const float special[6] = {-INFINITY, NAN, INFINITY, 1e30f, 1e-40f, -0.0f};
    for (uint32_t r = 0; r < p->batch * p->in_width; r++) {
        const int32_t* beam = in_i + (size_t)r * (2 + p->depth);
        for (uint32_t v = 0; v < p->vocab; v++) {
            float* o = x + (size_t)r * p->vocab + v;
            switch (kind) {
                case LOGITS_RANDOM: *o = rng_float(seed, -4, 4); break;
                case LOGITS_TIES: *o = 0.5f * (float)(rng_next(seed) % 3); break;
                case LOGITS_SPECIAL:
                    *o = rng_next(seed) % 16 == 0 ? special[rng_next(seed) % 6] : rng_float(seed, -4, 4);
                    break;
                case LOGITS_PREFIX: *o = prefix_logit(r / p->in_width, beam + 2, p->level, v); break;
            }
        }
    }
}

/* ---- running steps ---- */

static void upload_new(vkr_buffer* b, const void* src, size_t bytes) {
    VKR_ASSERT_OK(vkr_buffer_create(env.device, bytes, VKR_MEMORY_DEVICE, b));
    if (src) VKR_ASSERT_OK(vkr_buffer_upload(env.device, b, 0, src, bytes));
}

/* One GPU step on host arrays (trie: the uploaded buffer). */
static void gpu_step(const vkr_beam_params* p, const vkr_buffer* trie, const float* logits, const int32_t* in_i,
                     const float* in_f, int32_t* out_i, float* out_f) {
    size_t S = 2 + p->depth, rows_in = (size_t)p->batch * p->in_width, rows_out = (size_t)p->batch * p->width;
    vkr_buffer bl, bii, bif, boi, bof;
    upload_new(&bl, logits, rows_in * p->vocab * 4);
    upload_new(&bii, in_i, rows_in * S * 4);
    upload_new(&bif, in_f, rows_in * 4);
    upload_new(&boi, NULL, rows_out * S * 4);
    upload_new(&bof, NULL, rows_out * 4);
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_beam_step(seq, p, vkr_range_whole(trie), vkr_range_whole(&bl), vkr_range_whole(&bii),
                                    vkr_range_whole(&bif), vkr_range_whole(&boi), vkr_range_whole(&bof)));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    vkr_sequence_destroy(seq);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &boi, 0, out_i, rows_out * S * 4));
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &bof, 0, out_f, rows_out * 4));
    vkr_buffer* all[5] = {&bl, &bii, &bif, &boi, &bof};
    for (int i = 0; i < 5; i++) vkr_buffer_destroy(env.device, all[i]);
}

/* Reference step, and the GPU step when `gpu`, asserting identical bits. */
static void step_both(const beam_case* c, const vkr_beam_params* p, const float* logits, const int32_t* in_i,
                      const float* in_f, int32_t* out_i, float* out_f, bool gpu) {
    size_t ni = (size_t)p->batch * p->width * (2 + p->depth), nf = (size_t)p->batch * p->width;
    VKR_ASSERT_OK(vkr_ref_beam_step(p, c->words, logits, in_i, in_f, out_i, out_f));
    if (!gpu) return;
    int32_t* gi = malloc(ni * sizeof *gi);
    float* gf = malloc(nf * sizeof *gf);
    assert_non_null(gi);
    assert_non_null(gf);
    gpu_step(p, &c->gpu.buf, logits, in_i, in_f, gi, gf);
    if (memcmp(gi, out_i, ni * 4) || memcmp(gf, out_f, nf * 4)) {
        for (size_t i = 0; i < nf; i++)
            if (memcmp(gi + i * (2 + p->depth), out_i + i * (2 + p->depth), (2 + p->depth) * 4) || memcmp(gf + i, out_f + i, 4))
                fail_msg("W %u in_width %u batch %u level %u: beam %zu differs: gpu node %d alive %d score %.9g, "
                         "cpu node %d alive %d score %.9g", p->width, p->in_width, p->batch, p->level, i,
                         gi[i * (2 + p->depth)], gi[i * (2 + p->depth) + 1], gf[i], out_i[i * (2 + p->depth)],
                         out_i[i * (2 + p->depth) + 1], out_f[i]);
    }
    free(gi);
    free(gf);
}

/* Decodes every level for `batch` users with width W from the root; final state [batch][W]. */
static void decode(const beam_case* c, uint32_t batch, uint32_t width, logit_kind kind, uint32_t seed, bool gpu,
                   int32_t* final_i, float* final_f) {
    uint32_t S = 2 + c->depth, in_width = 1;
    int32_t* si = malloc((size_t)batch * width * S * sizeof *si);
    float* sf = malloc((size_t)batch * width * sizeof *sf);
    assert_non_null(si);
    assert_non_null(sf);
    VKR_ASSERT_OK(vkr_beam_init_host(batch, c->depth, si, sf));
    for (uint32_t level = 0; level < c->depth; level++) {
        /* a few levels get more logits per row than the trie needs */
        uint32_t vocab = c->trie.vocab[level] + (level == 1 ? 3 : 0);
        vkr_beam_params p = {batch, width, in_width, c->depth, level, vocab};
        float* logits = malloc((size_t)batch * in_width * vocab * sizeof *logits);
        assert_non_null(logits);
        fill_logits(kind, &p, si, &seed, logits);
        step_both(c, &p, logits, si, sf, final_i, final_f, gpu);
        free(logits);
        memcpy(si, final_i, (size_t)batch * width * S * sizeof *si);
        memcpy(sf, final_f, (size_t)batch * width * sizeof *sf);
        in_width = width;
    }
    free(si);
    free(sf);
}

/* ---- tests ---- */

/* GPU == CPU, bit for bit, at every level of random decodes. */
static void test_step_matches_reference(void** state) {
    (void)state;
    static const struct {
        uint32_t n, depth, k[3];
        int domain;
    } tries[] = {
        {1, 2, {5}, -1},          {300, 2, {256}, -1},        {120, 3, {7, 5}, 1},
        {300, 4, {16, 8, 4}, -1}, {200, 4, {256, 3, 2}, 2},   {57, 3, {256, 256}, 0},
    };
    static const uint32_t widths[] = {1, 3, 20, 100};
    static const uint32_t batches[] = {1, 7};
    static const logit_kind kinds[] = {LOGITS_RANDOM, LOGITS_TIES, LOGITS_SPECIAL};
    uint32_t run = 0;
    for (size_t ti = 0; ti < sizeof tries / sizeof tries[0]; ti++) {
        beam_case c;
        case_build(&c, tries[ti].n, tries[ti].depth, tries[ti].k, tries[ti].domain, 1000u + (uint32_t)ti);
        for (size_t wi = 0; wi < 4; wi++) {
            uint32_t batch = batches[(ti + wi) % 2], W = widths[wi];
            int32_t* fi = malloc((size_t)batch * W * (2 + c.depth) * sizeof *fi);
            float* ff = malloc((size_t)batch * W * sizeof *ff);
            assert_non_null(fi);
            assert_non_null(ff);
            decode(&c, batch, W, kinds[run % 3], 77u + run, true, fi, ff);
            run++;
            free(fi);
            free(ff);
        }
        case_free(&c);
    }
}

/* Candidate sets larger than the kernel's shared-memory key cache (4096 on lavapipe), with 32, 64
 * and 256 invocations per user (in_width x vocab up to 2^14, 2^16, beyond), and the widest beam:
 * every root child is a beam at level 1 and every node of depth 2 a candidate. */
static void test_large_candidate_sets(void** state) {
    (void)state;
    static const struct {
        uint32_t n, k[2], width, batch;
    } cases[] = {{6000, {32, 256}, 100, 3}, {10000, {64, 256}, 64, 2}, {6000, {32, 256}, 256, 2}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        beam_case c;
        case_build(&c, cases[ci].n, 3, cases[ci].k, -1, 555u + (uint32_t)(ci % 2));
        assert_true(c.trie.level_begin[2] - c.trie.level_begin[1] <= cases[ci].width);
        assert_true(c.trie.level_begin[3] - c.trie.level_begin[2] > 4096);
        uint32_t W = cases[ci].width, B = cases[ci].batch;
        int32_t* fi = malloc((size_t)B * W * 5 * sizeof *fi);
        float* ff = malloc((size_t)B * W * sizeof *ff);
        assert_true(fi && ff);
        decode(&c, B, W, LOGITS_RANDOM, 8u + (uint32_t)ci, true, fi, ff);
        free(fi);
        free(ff);
        case_free(&c);
    }
}

/* The brute-force ranking of every item of the trie for user u: each item's score is the sum of
 * its restricted log-probabilities level by level (LOGITS_PREFIX logits), ordered by score. Also
 * checks that score against a double-precision libm computation. */
typedef struct ranked_item {
    int32_t item;
    float score;
} ranked_item;

static int cmp_ranked(const void* a, const void* b) {
    const ranked_item *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

static uint32_t brute_force(const beam_case* c, uint32_t u, ranked_item* out) {
    const vkr_trie* t = &c->trie;
    uint32_t n = 0;
    float* row = malloc(VKR_BEAM_MAX_VOCAB * sizeof *row);
    float* lp = malloc(VKR_BEAM_MAX_VOCAB * sizeof *lp);
    assert_non_null(row);
    assert_non_null(lp);
    for (uint32_t item = 0; item < c->n; item++) {
        uint16_t path[VKR_TRIE_MAX_DEPTH];
        if (vkr_trie_item_path(t, item, path) != VKR_OK) continue;
        int32_t prefix[VKR_TRIE_MAX_DEPTH];
        float score = 0.0f;
        double exact = 0.0;
        for (uint32_t l = 0; l < c->depth; l++) {
            uint32_t node, count;
            VKR_ASSERT_OK(vkr_trie_find(t, path, l, &node));
            uint32_t vocab = t->vocab[l] + (l == 1 ? 3 : 0);
            for (uint32_t v = 0; v < vocab; v++) row[v] = prefix_logit(u, prefix, l, v);
            VKR_ASSERT_OK(vkr_beam_child_logprobs(c->words, node, row, vocab, lp, &count));
            double m = -INFINITY, s = 0;
            uint32_t mine = count;
            for (uint32_t j = 0; j < count; j++) {
                uint32_t tok = t->child_token[t->first_child[node] + j];
                m = fmax(m, row[tok]);
                if (tok == path[l]) mine = j;
            }
            assert_true(mine < count);
            for (uint32_t j = 0; j < count; j++) s += exp(row[t->child_token[t->first_child[node] + j]] - m);
            exact += row[path[l]] - (m + log(s));
            score = vkr_beam_add_score(score, lp[mine]);
            prefix[l] = path[l];
        }
        if (fabs(score - exact) > 2e-5 * (1 + fabs(exact)))
            fail_msg("item %u: score %.9g, double precision %.9g", item, score, exact);
        out[n++] = (ranked_item){(int32_t)item, score};
    }
    free(row);
    free(lp);
    qsort(out, n, sizeof *out, cmp_ranked);
    return n;
}

/* With W >= the trie's items, a full decode (GPU and CPU) yields every item, ranked exactly as the
 * brute force; runs of equal scores are compared as sets (their order is the tie rule's, tested
 * in test_tie_rule). */
static void test_full_decode_matches_brute_force(void** state) {
    (void)state;
    static const struct {
        uint32_t n, depth, k[3], width;
        int domain;
    } cases[] = {{40, 3, {6, 5}, 40, -1}, {90, 4, {5, 4, 3}, 50, 1}, {100, 2, {256}, 100, -1}, {150, 3, {9, 9}, 128, 2}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        beam_case c;
        case_build(&c, cases[ci].n, cases[ci].depth, cases[ci].k, cases[ci].domain, 31u + (uint32_t)ci);
        uint32_t W = cases[ci].width, batch = 3, S = 2 + c.depth;
        assert_true(c.trie.item_count <= W);
        int32_t* fi = malloc((size_t)batch * W * S * sizeof *fi);
        float* ff = malloc((size_t)batch * W * sizeof *ff);
        int32_t* items = malloc((size_t)batch * W * sizeof *items);
        float* scores = malloc((size_t)batch * W * sizeof *scores);
        ranked_item* bf = malloc(c.n * sizeof *bf);
        assert_true(fi && ff && items && scores && bf);
        decode(&c, batch, W, LOGITS_PREFIX, 5, true, fi, ff);
        vkr_beam_params p = {batch, W, W, c.depth, c.depth - 1, 1};
        VKR_ASSERT_OK(vkr_beam_items(&p, c.words, fi, ff, items, scores));
        for (uint32_t u = 0; u < batch; u++) {
            uint32_t n = brute_force(&c, u, bf);
            assert_int_equal(n, c.trie.item_count);
            for (uint32_t i = 0; i < W; i++) {
                int32_t item = items[u * W + i];
                if (i >= n) {
                    assert_int_equal(item, -1);
                    assert_true(scores[u * W + i] == -INFINITY);
                    continue;
                }
                assert_memory_equal(&scores[u * W + i], &bf[i].score, sizeof(float));
                uint32_t lo = i, hi = i; /* the run of equal scores around i */
                while (lo > 0 && bf[lo - 1].score == bf[i].score) lo--;
                while (hi + 1 < n && bf[hi + 1].score == bf[i].score) hi++;
                bool found = false;
                for (uint32_t j = lo; j <= hi; j++) found |= bf[j].item == item;
                if (!found) fail_msg("case %zu user %u rank %u: item %d, brute force %d", ci, u, i, item, bf[i].item);
            }
        }
        free(fi);
        free(ff);
        free(items);
        free(scores);
        free(bf);
        case_free(&c);
    }
}

/* Beams narrower than the trie: every decoded path is an item of the requested domain's trie (its
 * tokens are that item's ID), items are distinct, scores descend; the global trie may mix domains. */
/* Decodes 5 users with width 20 over c's trie: every beam is a distinct item of the trie's domain,
 * its tokens are that item's ID, and scores do not increase. */
static void check_paths_are_items(const beam_case* c, int domain) {
    uint32_t W = 20, batch = 5, S = 2 + c->depth;
    int32_t* fi = malloc((size_t)batch * W * S * sizeof *fi);
    float* ff = malloc((size_t)batch * W * sizeof *ff);
    int32_t* items = malloc((size_t)batch * W * sizeof *items);
    float* scores = malloc((size_t)batch * W * sizeof *scores);
    assert_true(fi && ff && items && scores);
    decode(c, batch, W, LOGITS_RANDOM, 99u + (uint32_t)domain, true, fi, ff);
    vkr_beam_params p = {batch, W, W, c->depth, 0, 1};
    VKR_ASSERT_OK(vkr_beam_items(&p, c->words, fi, ff, items, scores));
    for (uint32_t u = 0; u < batch; u++) {
        for (uint32_t i = 0; i < W; i++) {
            int32_t item = items[u * W + i];
            assert_true(item >= 0 && (uint32_t)item < c->n); /* 300 items fill 20 beams */
            if (domain >= 0) assert_int_equal(c->domain[item], domain);
            for (uint32_t l = 0; l < c->depth; l++) assert_int_equal(fi[(u * W + i) * S + 2 + l], c->ids[item * c->depth + l]);
            uint16_t path[4];
            int32_t found = -1;
            for (uint32_t l = 0; l < c->depth; l++) path[l] = (uint16_t)fi[(u * W + i) * S + 2 + l];
            VKR_ASSERT_OK(vkr_trie_lookup(&c->trie, path, &found));
            assert_int_equal(found, item);
            for (uint32_t j = 0; j < i; j++) assert_int_not_equal(items[u * W + j], item);
            if (i) assert_true(scores[u * W + i] <= scores[u * W + i - 1]);
        }
    }
    free(fi);
    free(ff);
    free(items);
    free(scores);
}

static void test_paths_are_items_of_the_domain(void** state) {
    (void)state;
    static const uint32_t k[3] = {12, 6, 4};
    for (int domain = -1; domain < 3; domain++) {
        beam_case c;
        case_build(&c, 300, 4, k, domain, 4242);
        check_paths_are_items(&c, domain);
        case_free(&c);
    }
    for (int scheme = 0; scheme < TS_SCHEMES; scheme++) /* the IDs of every semantic-ID scheme */
        for (int domain = -1; domain < 3; domain += 3) {
            beam_case c;
            case_build_scheme(&c, (ts_scheme)scheme, 300, 3, 8, domain, 4243);
            check_paths_are_items(&c, domain);
            case_free(&c);
        }
}

/* Fewer candidates than W: the rest are dead beams {node 0, alive 0, tokens 0, -inf}, and a user
 * whose logits are all -inf gets no beam at all. */
static void test_dead_beams(void** state) {
    (void)state;
    static const uint16_t ids[3 * 2] = {0, 0, 0, 1, 2, 0}; /* root children 0 and 2; 3 items */
    vkr_trie trie;
    VKR_ASSERT_OK(vkr_trie_build(ids, 3, 2, NULL, -1, &trie));
    beam_case c = {.n = 3, .depth = 2, .trie = trie};
    c.words = malloc((size_t)vkr_trie_packed_words(&trie) * 4);
    assert_non_null(c.words);
    VKR_ASSERT_OK(vkr_trie_pack(&trie, c.words));
    VKR_ASSERT_OK(vkr_trie_upload(env.device, &trie, &c.gpu));
    enum { B = 2, W = 5, S = 4 };
    int32_t si[B * S], oi[B * W * S], oi2[B * W * S];
    float sf[B], of[B * W], of2[B * W], logits0[B * 3] = {1, 5, 2, -INFINITY, -INFINITY, -INFINITY};
    VKR_ASSERT_OK(vkr_beam_init_host(B, 2, si, sf));
    vkr_beam_params p = {B, W, 1, 2, 0, 3};
    step_both(&c, &p, logits0, si, sf, oi, of, true);
    for (uint32_t i = 0; i < B * W; i++) {
        bool alive = i < 2; /* user 0: tokens 2 then 0 (logit 2 > 1); user 1: nothing */
        assert_int_equal(oi[i * S + 1], alive);
        if (!alive) {
            for (int k = 0; k < S; k++) assert_int_equal(oi[i * S + k], 0);
            assert_true(of[i] == -INFINITY);
        }
    }
    assert_int_equal(oi[2], 2);
    assert_int_equal(oi[S + 2], 0);
    float logits1[B * W * 2];
    for (int i = 0; i < B * W * 2; i++) logits1[i] = (float)(i % 3);
    p = (vkr_beam_params){B, W, W, 2, 1, 2};
    step_both(&c, &p, logits1, oi, of, oi2, of2, true);
    int32_t items[B * W];
    float scores[B * W];
    VKR_ASSERT_OK(vkr_beam_items(&p, c.words, oi2, of2, items, scores));
    uint32_t alive = 0;
    for (int i = 0; i < B * W; i++) alive += items[i] >= 0;
    assert_int_equal(alive, 3);
    for (int i = 0; i < 3; i++) assert_true(items[i] >= 0 && items[i] < 3);
    for (int i = 3; i < B * W; i++) assert_true(items[i] == -1 && scores[i] == -INFINITY);
    case_free(&c);
}

/* All logits equal: every candidate ties, so the order is input beam, then edge. */
static void test_tie_rule(void** state) {
    (void)state;
    enum { N = 12, D = 2, S = 4, W = 5 };
    uint16_t ids[N * D];
    for (int i = 0; i < N; i++) {
        ids[i * D] = (uint16_t)(3 - i / 3); /* root tokens 3, 2, 1, 0 (built sorted), 3 children each */
        ids[i * D + 1] = (uint16_t)(2 * (i % 3));
    }
    beam_case c = {.n = N, .depth = D};
    VKR_ASSERT_OK(vkr_trie_build(ids, N, D, NULL, -1, &c.trie));
    c.words = malloc((size_t)vkr_trie_packed_words(&c.trie) * 4);
    assert_non_null(c.words);
    VKR_ASSERT_OK(vkr_trie_pack(&c.trie, c.words));
    VKR_ASSERT_OK(vkr_trie_upload(env.device, &c.trie, &c.gpu));
    int32_t si[S], o0[W * S], o1[W * S];
    float sf[1], f0[W], f1[W], zeros[W * 5] = {0};
    VKR_ASSERT_OK(vkr_beam_init_host(1, D, si, sf));
    vkr_beam_params p = {1, W, 1, D, 0, 4};
    step_both(&c, &p, zeros, si, sf, o0, f0, true);
    for (int i = 0; i < 4; i++) assert_int_equal(o0[i * S + 2], i); /* edges in token order */
    assert_int_equal(o0[4 * S + 1], 0);                                /* 4 candidates for 5 beams */
    p = (vkr_beam_params){1, W, W, D, 1, 5};
    step_both(&c, &p, zeros, o0, f0, o1, f1, true);
    static const int want[W][2] = {{0, 0}, {0, 2}, {0, 4}, {1, 0}, {1, 2}};
    for (int i = 0; i < W; i++) {
        assert_int_equal(o1[i * S + 2], want[i][0]);
        assert_int_equal(o1[i * S + 3], want[i][1]);
        assert_memory_equal(&f1[i], &f1[0], sizeof(float));
    }
    case_free(&c);
}

/* Malformed state (nodes out of range or at the wrong depth, odd alive flags, non-finite scores)
 * gives the same bits on both sides and only valid beams; a truncated or corrupt trie buffer gives
 * dead beams on the GPU (the CPU refuses a corrupt header). */
static void test_malformed_state_and_trie(void** state) {
    (void)state;
    static const uint32_t k[2] = {10, 6};
    beam_case c;
    case_build(&c, 150, 3, k, -1, 777);
    enum { B = 3, IW = 8, W = 6, S = 5 };
    int32_t si[B * IW * S], oi[B * W * S];
    float sf[B * IW], of[B * W];
    uint32_t seed = 5;
    uint32_t lb1 = c.trie.level_begin[1], lb2 = c.trie.level_begin[2];
    for (int r = 0; r < B * IW; r++) {
        int32_t* b = si + r * S;
        b[0] = (int32_t)(lb1 + rng_next(&seed) % (lb2 - lb1)); /* a node of depth 1: valid at level 1 */
        b[1] = 1;
        b[2] = (int32_t)(rng_next(&seed) % 10);
        b[3] = b[4] = 0;
        sf[r] = rng_float(&seed, -3, 0);
        switch (r % 8) {
            case 1: b[0] = 1000000; break;              /* out of range */
            case 2: b[0] = -5; break;                   /* negative */
            case 3: b[0] = 0; break;                    /* root: wrong depth */
            case 4: b[1] = 0; break;                    /* dead */
            case 5: b[1] = 7; sf[r] = INFINITY; break;  /* odd flag, +inf score */
            case 6: sf[r] = NAN; break;                 /* NaN score: no candidates */
            case 7: b[0] = (int32_t)c.trie.node_count - 1; break; /* a leaf: wrong depth */
            default: break;
        }
    }
    vkr_beam_params p = {B, W, IW, 3, 1, c.trie.vocab[1]};
    float* logits = malloc((size_t)B * IW * p.vocab * sizeof *logits);
    assert_non_null(logits);
    fill_logits(LOGITS_SPECIAL, &p, si, &seed, logits);
    step_both(&c, &p, logits, si, sf, oi, of, true);
    for (int i = 0; i < B * W; i++) {
        if (!oi[i * S + 1]) continue;
        uint32_t node = (uint32_t)oi[i * S];
        assert_true(node >= lb2 && node < c.trie.level_begin[3]);
        assert_true(of[i] > -INFINITY);
    }
    /* a buffer holding only the header and part of the sections, then a corrupt magic */
    uint32_t words = vkr_trie_packed_words(&c.trie);
    for (int corrupt = 0; corrupt < 2; corrupt++) {
        vkr_buffer tb;
        uint32_t keep = corrupt ? words : c.words[8] + 1; /* cut inside child_node */
        uint32_t* img = malloc((size_t)words * 4);
        assert_non_null(img);
        memcpy(img, c.words, (size_t)words * 4);
        if (corrupt) img[0] ^= 1;
        upload_new(&tb, img, (size_t)keep * 4);
        int32_t gi[B * W * S];
        float gf[B * W];
        gpu_step(&p, &tb, logits, si, sf, gi, gf);
        for (int i = 0; i < B * W; i++) {
            for (int j = 0; j < S; j++) assert_int_equal(gi[i * S + j], 0);
            assert_true(gf[i] == -INFINITY);
        }
        if (corrupt) assert_int_equal(vkr_ref_beam_step(&p, img, logits, si, sf, oi, of), VKR_ERR_INVALID_ARGUMENT);
        vkr_buffer_destroy(env.device, &tb);
        free(img);
    }
    free(logits);
    case_free(&c);
}

/* The restricted log-softmax against double precision on awkward rows. */
static void test_child_logprobs_accuracy(void** state) {
    (void)state;
    uint16_t ids[256];
    for (int i = 0; i < 256; i++) ids[i] = (uint16_t)i;
    vkr_trie trie;
    VKR_ASSERT_OK(vkr_trie_build(ids, 256, 1, NULL, -1, &trie));
    uint32_t* words = malloc((size_t)vkr_trie_packed_words(&trie) * 4);
    assert_non_null(words);
    VKR_ASSERT_OK(vkr_trie_pack(&trie, words));
    static const float scales[] = {1e-3f, 1, 10, 40, 100, 1e4f};
    static const float shifts[] = {0, -50, 1e6f, 3e38f};
    uint32_t seed = 3;
    float row[256], lp[256];
    for (size_t si = 0; si < 6; si++) {
        for (size_t hi = 0; hi < 4; hi++) {
            for (int i = 0; i < 256; i++) row[i] = shifts[hi] + scales[si] * rng_float(&seed, -1, 1);
            uint32_t count = 0;
            VKR_ASSERT_OK(vkr_beam_child_logprobs(words, 0, row, 256, lp, &count));
            assert_int_equal(count, 256);
            double m = -INFINITY, s = 0, total = 0;
            for (int i = 0; i < 256; i++) m = fmax(m, row[i]);
            for (int i = 0; i < 256; i++) s += exp((double)row[i] - m);
            for (int i = 0; i < 256; i++) {
                double want = (double)row[i] - (m + log(s));
                /* float inputs carry an ulp of their magnitude; beyond that, 1e-6 relative */
                double tol = 1e-6 * (1 + fabs(want)) + 2 * fabs((double)row[i]) * 6e-8;
                if (fabs(lp[i] - want) > tol) fail_msg("scale %g shift %g: lp[%d] = %.9g, want %.9g", scales[si], shifts[hi], i, lp[i], want);
                total += exp(lp[i]);
            }
            if (shifts[hi] == 0) assert_true(fabs(total - 1) < 1e-5);
        }
    }
    vkr_trie_free(&trie);
    /* a single child has log-probability exactly 0, whatever its logit */
    VKR_ASSERT_OK(vkr_trie_build(ids + 7, 1, 1, NULL, -1, &trie));
    VKR_ASSERT_OK(vkr_trie_pack(&trie, words));
    for (int i = 0; i < 8; i++) row[i] = rng_float(&seed, -30, 30);
    uint32_t count = 0;
    VKR_ASSERT_OK(vkr_beam_child_logprobs(words, 0, row, 8, lp, &count));
    assert_int_equal(count, 1);
    assert_true(lp[0] == 0.0f);
    vkr_trie_free(&trie);
    free(words);
}

/* Clear errors for malformed parameters; nothing is recorded. */
/* Prefix tokens for the next level's decoder: GPU == reference on awkward row counts (1, one short
 * of a workgroup, one past, many), with dead beams zeroed; bad arguments are refused. */
static void test_prefix_tokens(void** state) {
    (void)state;
    static const uint32_t rows_list[] = {1, 63, 65, 1001};
    static const uint32_t offset[8] = {1, 300, 600, 900, 1200, 1500, 1800, 2100};
    uint32_t seed = 7;
    for (size_t t = 0; t < sizeof rows_list / sizeof *rows_list; t++) {
        uint32_t rows = rows_list[t], depth = 4, S = 2 + depth;
        for (uint32_t count = 1; count < depth; count++) {
            int32_t* st = malloc((size_t)rows * S * 4);
            int32_t* want = malloc((size_t)rows * count * 4);
            int32_t* got = malloc((size_t)rows * count * 4);
            for (size_t i = 0; i < (size_t)rows * S; i++) st[i] = (int32_t)(rng_next(&seed) % 256);
            for (uint32_t r = 0; r < rows; r++) st[(size_t)r * S + 1] = r % 3 != 1; /* every third beam dead */
            VKR_ASSERT_OK(vkr_ref_beam_tokens(rows, depth, count, offset, st, want));
            for (uint32_t r = 0; r < rows; r++)
                for (uint32_t j = 0; j < count; j++) {
                    int32_t expect = r % 3 != 1 ? (int32_t)offset[j] + st[(size_t)r * S + 2 + j] : 0;
                    assert_int_equal(want[(size_t)r * count + j], expect);
                }
            vkr_buffer bs, bt;
            upload_new(&bs, st, (size_t)rows * S * 4);
            upload_new(&bt, NULL, (size_t)rows * count * 4);
            vkr_sequence* seq = NULL;
            VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
            VKR_ASSERT_OK(vkr_gpu_beam_tokens(seq, rows, depth, count, offset, vkr_range_whole(&bs),
                                              vkr_range_whole(&bt)));
            VKR_ASSERT_OK(vkr_sequence_submit(seq));
            VKR_ASSERT_OK(vkr_buffer_download(env.device, &bt, 0, got, (size_t)rows * count * 4));
            assert_memory_equal(got, want, (size_t)rows * count * 4);
            /* a token array too small for the rows, and too many tokens, are refused */
            assert_int_equal(vkr_gpu_beam_tokens(seq, rows + 1, depth, count, offset, vkr_range_whole(&bs),
                                                 vkr_range_whole(&bt)),
                             VKR_ERR_INVALID_ARGUMENT);
            assert_int_equal(vkr_ref_beam_tokens(rows, depth, depth + 1, offset, st, want), VKR_ERR_INVALID_ARGUMENT);
            vkr_sequence_destroy(seq);
            vkr_buffer_destroy(env.device, &bs);
            vkr_buffer_destroy(env.device, &bt);
            free(st);
            free(want);
            free(got);
        }
    }
}

static void test_bad_params(void** state) {
    (void)state;
    static const uint32_t k[1] = {4};
    beam_case c;
    case_build(&c, 10, 2, k, -1, 1);
    int32_t si[64 * 4] = {0};
    float sf[64] = {0}, logits[64 * 8] = {0};
    int32_t oi[64 * 4];
    float of[64];
    static const struct {
        vkr_beam_params p;
        const char* word;
    } bad[] = {
        {{0, 1, 1, 2, 0, 4}, "batch"},     {{1, 0, 1, 2, 0, 4}, "width"},  {{1, 257, 1, 2, 0, 4}, "width"},
        {{1, 1, 0, 2, 0, 4}, "in_width"},  {{1, 1, 1, 0, 0, 4}, "depth"},  {{1, 1, 1, 10, 0, 4}, "depth"},
        {{1, 1, 1, 2, 2, 4}, "level"},     {{1, 1, 1, 2, 0, 0}, "vocab"},  {{1, 1, 1, 2, 0, 9000}, "vocab"},
        {{1, 1, 256, 2, 0, 4096}, "candidates"},
    };
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    vkr_buffer b;
    upload_new(&b, NULL, 4096);
    vkr_range r = vkr_range_whole(&b), t = vkr_range_whole(&c.gpu.buf);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(vkr_ref_beam_step(&bad[i].p, c.words, logits, si, sf, oi, of), VKR_ERR_INVALID_ARGUMENT);
        if (!strstr(vkr_last_error(), bad[i].word)) fail_msg("case %zu: '%s' lacks '%s'", i, vkr_last_error(), bad[i].word);
        assert_int_equal(vkr_gpu_beam_step(seq, &bad[i].p, t, r, r, r, r, r), VKR_ERR_INVALID_ARGUMENT);
        if (!strstr(vkr_last_error(), bad[i].word)) fail_msg("gpu case %zu: '%s' lacks '%s'", i, vkr_last_error(), bad[i].word);
    }
    /* the trie's own checks (CPU) */
    vkr_beam_params p = {1, 1, 1, 3, 0, 4};
    assert_int_equal(vkr_ref_beam_step(&p, c.words, logits, si, sf, oi, of), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "depth"));
    p = (vkr_beam_params){1, 1, 1, 2, 0, c.trie.vocab[0] - 1};
    assert_int_equal(vkr_ref_beam_step(&p, c.words, logits, si, sf, oi, of), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "vocab"));
    p.vocab = c.trie.vocab[0];
    assert_int_equal(vkr_ref_beam_step(&p, NULL, logits, si, sf, oi, of), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_ref_beam_step(&p, c.words, NULL, si, sf, oi, of), VKR_ERR_INVALID_ARGUMENT);
    /* GPU ranges: too small, unbound, overlapping */
    vkr_buffer small;
    upload_new(&small, NULL, 16);
    vkr_range rs = vkr_range_whole(&small);
    p = (vkr_beam_params){64, 1, 1, 2, 0, 8};
    assert_int_equal(vkr_gpu_beam_step(seq, &p, t, rs, r, r, r, r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "logits"));
    assert_int_equal(vkr_gpu_beam_step(seq, &p, vkr_range_whole(&small), r, r, r, r, r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "trie"));
    assert_int_equal(vkr_gpu_beam_step(seq, &p, t, r, r, r, vkr_range_whole(NULL), r), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "out_i"));
    p.batch = 1;
    assert_int_equal(vkr_gpu_beam_step(seq, &p, t, r, r, r, r, (vkr_range){&b, 1024, VKR_WHOLE_SIZE}),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "overlaps"));
    assert_int_equal(vkr_gpu_beam_step(NULL, &p, t, r, r, r, r, r), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_sequence_dispatch_count(seq), 0);
    /* items and init */
    int32_t items[4];
    float scores[4];
    p = (vkr_beam_params){1, 1, 1, 3, 0, 4};
    assert_int_equal(vkr_beam_items(&p, c.words, si, sf, items, scores), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_beam_init_host(0, 2, si, sf), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_beam_init_host(1, 2, NULL, sf), VKR_ERR_INVALID_ARGUMENT);
    uint32_t count = 0;
    assert_int_equal(vkr_beam_child_logprobs(c.words, c.trie.node_count, logits, 4, of, &count), VKR_ERR_INVALID_ARGUMENT);
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(env.device, &b);
    vkr_buffer_destroy(env.device, &small);
    case_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_matches_reference),
        cmocka_unit_test(test_large_candidate_sets),
        cmocka_unit_test(test_full_decode_matches_brute_force),
        cmocka_unit_test(test_paths_are_items_of_the_domain),
        cmocka_unit_test(test_dead_beams),
        cmocka_unit_test(test_tie_rule),
        cmocka_unit_test(test_malformed_state_and_trie),
        cmocka_unit_test(test_child_logprobs_accuracy),
        cmocka_unit_test(test_prefix_tokens),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
