/* CPU side of the constrained beam search: parameter checks, the packed-trie view, the bit-exact
 * float helpers (mirrors of shaders/beam_math.glsl), the reference step, items and the initial
 * state. The reference is the plain definition: list every candidate, sort, keep the best. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_beam.h"

/* ---- bit-exact float helpers: shaders/beam_math.glsl line by line (this file is compiled as ISO
 * C11, so GCC does not contract a * b + c into an FMA; every step is flushed anyway) ---- */

static uint32_t bits_of(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static float bm_flush(float v) { return (bits_of(v) & 0x7F800000u) == 0 ? 0.0f : v; }

static float bm_canon(float v) {
    uint32_t u = bits_of(v);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return -INFINITY;
    if (u == 0x7F800000u) return FLT_MAX;
    return bm_flush(v);
}

static float bm_add(float a, float b) { return bm_flush(a + b); }
static float bm_sub(float a, float b) { return bm_flush(a - b); }
static float bm_mul(float a, float b) { return bm_flush(a * b); }

static float bm_exp(float x) {
    if (!(x >= -86.0f)) return 0.0f;
    float t = bm_mul(x, 1.4426950216293335f);
    float n = floorf(bm_add(t, 0.5f));
    float f = bm_sub(t, n);
    float q = 0.00015453163359779865f;
    q = bm_add(bm_mul(q, f), 0.0013390863314270973f);
    q = bm_add(bm_mul(q, f), 0.009618083015084267f);
    q = bm_add(bm_mul(q, f), 0.055503569543361664f);
    q = bm_add(bm_mul(q, f), 0.24022650718688965f);
    q = bm_add(bm_mul(q, f), 0.6931471824645996f);
    float p = bm_add(bm_mul(f, q), 1.0f);
    return bm_mul(p, float_of((uint32_t)((int32_t)n + 127) << 23));
}

static float bm_log(float s) {
    uint32_t u = bits_of(s);
    int32_t e = (int32_t)(u >> 23) - 127;
    float m = float_of((u & 0x007FFFFFu) | 0x3F800000u);
    if (m > 1.4142135381698608f) {
        m = bm_mul(m, 0.5f);
        e += 1;
    }
    float v = bm_sub(m, 1.0f);
    float r = 0.08533313125371933f;
    r = bm_add(bm_mul(r, v), -0.14269258081912994f);
    r = bm_add(bm_mul(r, v), 0.14977401494979858f);
    r = bm_add(bm_mul(r, v), -0.1657799333333969f);
    r = bm_add(bm_mul(r, v), 0.19955933094024658f);
    r = bm_add(bm_mul(r, v), -0.250013530254364f);
    r = bm_add(bm_mul(r, v), 0.33334192633628845f);
    r = bm_add(bm_mul(r, v), -0.4999999701976776f);
    r = bm_add(bm_mul(r, v), 1.0f);
    return bm_add(bm_mul((float)e, 0.6931471824645996f), bm_mul(v, r));
}

static uint32_t bm_key(float v) {
    uint32_t u = bits_of(v);
    if ((u & 0x7FFFFFFFu) == 0) return 0x80000000u;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

float vkr_beam_add_score(float score, float lp) { return bm_add(bm_canon(score), lp); }

/* ---- checks and the packed trie ---- */

static vkr_status check_shape(const vkr_beam_params* p, const char* op, bool step) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    if (p->batch == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: batch must be >= 1", op);
    if (p->width == 0 || p->width > VKR_BEAM_MAX_WIDTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: width %u must be in [1, %u]", op, p->width, VKR_BEAM_MAX_WIDTH);
    if (p->depth == 0 || p->depth > VKR_TRIE_MAX_DEPTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: depth %u must be in [1, %u]", op, p->depth, VKR_TRIE_MAX_DEPTH);
    if ((uint64_t)p->batch * p->width * (2 + p->depth) > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: batch %u x width %u x (2 + depth %u) has 2^32 or more elements",
                        op, p->batch, p->width, p->depth);
    if (!step) return VKR_OK;
    if (p->in_width == 0 || p->in_width > VKR_BEAM_MAX_WIDTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: in_width %u must be in [1, %u]", op, p->in_width,
                        VKR_BEAM_MAX_WIDTH);
    if (p->level >= p->depth)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: level %u must be below depth %u", op, p->level, p->depth);
    if (p->vocab == 0 || p->vocab > VKR_BEAM_MAX_VOCAB)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: vocab %u must be in [1, %u]", op, p->vocab, VKR_BEAM_MAX_VOCAB);
    if ((uint64_t)p->in_width * p->vocab > VKR_BEAM_MAX_CANDIDATES)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: in_width %u x vocab %u exceeds %u candidates per user", op,
                        p->in_width, p->vocab, VKR_BEAM_MAX_CANDIDATES);
    if ((uint64_t)p->batch * p->in_width * (2 + p->depth) > UINT32_MAX ||
        (uint64_t)p->batch * p->in_width * p->vocab > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: batch %u x in_width %u x vocab %u has 2^32 or more elements", op,
                        p->batch, p->in_width, p->vocab);
    return VKR_OK;
}

vkr_status vkr_beam_check_params(const vkr_beam_params* p) { return check_shape(p, "beam_step", true); }

/* The sections of a packed trie the beam search reads (vkr_trie.h, "GPU layout"). */
typedef struct beam_trie {
    uint32_t depth, node_count, edge_count;
    const uint32_t *first_child, *child_count, *child_token, *child_node, *level_begin, *vocab;
    const int32_t* leaf_item;
} beam_trie;

static vkr_status trie_view(const uint32_t* w, const char* op, beam_trie* t) {
    memset(t, 0, sizeof *t);
    if (!w) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: trie_words is NULL", op);
    if (w[0] != VKR_TRIE_MAGIC)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: trie_words is not a packed trie (magic 0x%08x)", op, w[0]);
    if (w[1] == 0 || w[1] > VKR_TRIE_MAX_DEPTH || w[2] == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: packed trie has depth %u and %u nodes", op, w[1], w[2]);
    *t = (beam_trie){.depth = w[1], .node_count = w[2], .edge_count = w[3], .first_child = w + w[5],
                     .child_count = w + w[6], .child_token = w + w[7], .child_node = w + w[8],
                     .leaf_item = (const int32_t*)(w + w[9]), .level_begin = w + w[14], .vocab = w + 16};
    return VKR_OK;
}

/* Children of `node` when it has sane edges (inside the edge section, at most vocab of them). */
static bool node_children(const beam_trie* t, uint32_t node, uint32_t vocab, uint32_t* first, uint32_t* count) {
    *first = *count = 0;
    if (node >= t->node_count) return false;
    uint32_t f = t->first_child[node], c = t->child_count[node];
    if (f > t->edge_count || c > t->edge_count - f || c > vocab) return false;
    *first = f;
    *count = c;
    return true;
}

/* lp of the `count` edges from `first` given the logits row: the max m, then the sum of
 * exp(x - m) in blocks of VKR_BEAM_LSE_BLOCK edges (each block in order, then the block sums in
 * order), then lse = m + log(sum). */
static void edge_logprobs(const beam_trie* t, uint32_t first, uint32_t count, const float* row, uint32_t vocab,
                          float* lp) {
    float m = -INFINITY;
    for (uint32_t j = 0; j < count; j++) {
        uint32_t tok = t->child_token[first + j];
        if (tok < vocab && bm_canon(row[tok]) > m) m = bm_canon(row[tok]);
    }
    float s = 0.0f;
    for (uint32_t j0 = 0; j0 < count && m != -INFINITY; j0 += VKR_BEAM_LSE_BLOCK) {
        float block = 0.0f;
        for (uint32_t j = j0; j < count && j < j0 + VKR_BEAM_LSE_BLOCK; j++) {
            uint32_t tok = t->child_token[first + j];
            if (tok < vocab) block = bm_add(block, bm_exp(bm_sub(bm_canon(row[tok]), m)));
        }
        s = bm_add(s, block);
    }
    float lse = m == -INFINITY ? -INFINITY : bm_add(m, bm_log(s));
    for (uint32_t j = 0; j < count; j++) {
        uint32_t tok = t->child_token[first + j];
        lp[j] = tok < vocab && lse != -INFINITY ? bm_sub(bm_canon(row[tok]), lse) : -INFINITY;
    }
}

vkr_status vkr_beam_child_logprobs(const uint32_t* trie_words, uint32_t node, const float* logits_row, uint32_t vocab,
                                   float* lp, uint32_t* out_count) {
    if (out_count) *out_count = 0;
    beam_trie t;
    VKR_TRY(trie_view(trie_words, "beam_child_logprobs", &t));
    if (!logits_row || !lp || !out_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_child_logprobs: logits_row, lp or out_count is NULL");
    if (vocab == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_child_logprobs: vocab must be >= 1");
    uint32_t first, count;
    if (!node_children(&t, node, vocab, &first, &count))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_child_logprobs: node %u is not a node of the trie (%u nodes) "
                        "with at most vocab %u children", node, t.node_count, vocab);
    edge_logprobs(&t, first, count, logits_row, vocab, lp);
    *out_count = count;
    return VKR_OK;
}

/* ---- the reference step ---- */

/* One candidate: ranking key, input beam, edge, score. */
typedef struct beam_cand {
    uint32_t key, beam, edge;
    float score;
} beam_cand;

/* Better key first, then lower input beam, then lower edge: the documented tie rule. */
static int cmp_cand(const void* a, const void* b) {
    const beam_cand *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    if (x->beam != y->beam) return x->beam < y->beam ? -1 : 1;
    return (x->edge > y->edge) - (x->edge < y->edge);
}

vkr_status vkr_ref_beam_step(const vkr_beam_params* p, const uint32_t* trie_words, const float* logits,
                             const int32_t* in_i, const float* in_f, int32_t* out_i, float* out_f) {
    VKR_TRY(check_shape(p, "beam_step", true));
    beam_trie t;
    VKR_TRY(trie_view(trie_words, "beam_step", &t));
    if (t.depth != p->depth)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_step: depth %u differs from the trie's %u", p->depth, t.depth);
    if (p->vocab < t.vocab[p->level])
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_step: vocab %u is below the trie's %u tokens at level %u",
                        p->vocab, t.vocab[p->level], p->level);
    if (!logits || !in_i || !in_f || !out_i || !out_f)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_step: logits, in_i, in_f, out_i or out_f is NULL");
    const uint32_t S = 2 + p->depth;
    beam_cand* cand = malloc((size_t)p->in_width * p->vocab * sizeof *cand);
    float* lp = malloc((size_t)p->vocab * sizeof *lp);
    if (!cand || !lp) {
        free(cand);
        free(lp);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "beam_step: no memory for %u x %u candidates", p->in_width,
                        p->vocab);
    }
    for (uint32_t u = 0; u < p->batch; u++) {
        size_t n = 0;
        for (uint32_t w = 0; w < p->in_width; w++) {
            size_t row = (size_t)u * p->in_width + w;
            const int32_t* beam = in_i + row * S;
            uint32_t node = (uint32_t)beam[0], first, count;
            bool at_level = node >= t.level_begin[p->level] && node < t.level_begin[p->level + 1];
            if (!beam[1] || !at_level || !node_children(&t, node, p->vocab, &first, &count)) continue;
            edge_logprobs(&t, first, count, logits + row * p->vocab, p->vocab, lp);
            for (uint32_t j = 0; j < count; j++) {
                float score = vkr_beam_add_score(in_f[row], lp[j]);
                if (score != -INFINITY) cand[n++] = (beam_cand){bm_key(score), w, first + j, score};
            }
        }
        qsort(cand, n, sizeof *cand, cmp_cand);
        for (uint32_t i = 0; i < p->width; i++) {
            int32_t* o = out_i + ((size_t)u * p->width + i) * S;
            memset(o, 0, S * sizeof *o);
            out_f[(size_t)u * p->width + i] = -INFINITY;
            if (i >= n) continue;
            const int32_t* parent = in_i + ((size_t)u * p->in_width + cand[i].beam) * S;
            o[0] = (int32_t)t.child_node[cand[i].edge];
            o[1] = 1;
            memcpy(o + 2, parent + 2, p->level * sizeof *o);
            o[2 + p->level] = (int32_t)t.child_token[cand[i].edge];
            out_f[(size_t)u * p->width + i] = cand[i].score;
        }
    }
    free(cand);
    free(lp);
    return VKR_OK;
}

/* ---- items and the initial state ---- */

vkr_status vkr_beam_items(const vkr_beam_params* p, const uint32_t* trie_words, const int32_t* state_i,
                          const float* state_f, int32_t* out_items, float* out_scores) {
    VKR_TRY(check_shape(p, "beam_items", false));
    beam_trie t;
    VKR_TRY(trie_view(trie_words, "beam_items", &t));
    if (t.depth != p->depth)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_items: depth %u differs from the trie's %u", p->depth, t.depth);
    if (!state_i || !state_f || !out_items || !out_scores)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_items: state_i, state_f, out_items or out_scores is NULL");
    const uint32_t S = 2 + p->depth;
    for (size_t i = 0; i < (size_t)p->batch * p->width; i++) {
        uint32_t node = (uint32_t)state_i[i * S];
        int32_t item = state_i[i * S + 1] && node < t.node_count ? t.leaf_item[node] : -1;
        out_items[i] = item < 0 ? -1 : item;
        out_scores[i] = item < 0 ? -INFINITY : state_f[i];
    }
    return VKR_OK;
}

vkr_status vkr_ref_beam_tokens(uint32_t rows, uint32_t depth, uint32_t count, const uint32_t* offset,
                               const int32_t* state_i, int32_t* tok) {
    if (depth == 0 || depth > VKR_TRIE_MAX_DEPTH || count > depth || !offset || !state_i || !tok)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_tokens: depth %u, count %u or a NULL array", depth, count);
    for (uint32_t r = 0; r < rows; r++) {
        const int32_t* st = state_i + (size_t)r * (2 + depth);
        for (uint32_t j = 0; j < count; j++) tok[(size_t)r * count + j] = st[1] ? (int32_t)offset[j] + st[2 + j] : 0;
    }
    return VKR_OK;
}

vkr_status vkr_beam_init_host(uint32_t batch, uint32_t depth, int32_t* state_i, float* state_f) {
    vkr_beam_params p = {.batch = batch, .width = 1, .in_width = 1, .depth = depth};
    VKR_TRY(check_shape(&p, "beam_init", false));
    if (!state_i || !state_f) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_init: state_i or state_f is NULL");
    memset(state_i, 0, (size_t)batch * (2 + depth) * sizeof *state_i);
    for (uint32_t u = 0; u < batch; u++) {
        state_i[(size_t)u * (2 + depth) + 1] = 1;
        state_f[u] = 0.0f;
    }
    return VKR_OK;
}
