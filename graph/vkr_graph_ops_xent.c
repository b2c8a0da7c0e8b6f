/* Chunked linear + cross-entropy (the classifier of full-softmax recommenders): logits over a
 * large item table never exist all at once. Forward: per chunk, logits = h_k W^T and the chunk's
 * mean CE; one kernel combines the chunk means by their counted rows. Backward: the upstream
 * gradient is split per chunk (weight count_k / total), each chunk's logits are recomputed, and
 * dh_k += dlogits W, dW += dlogits^T h_k. */
#include <string.h>

#include "vkr_graph_ops_internal.h"
#include "vkr_matmul.h"
#include "vkr_ops_nn.h"

#define XENT_CHUNK_BYTES (64ull << 20) /* logits of one chunk: within any device's binding limit */

typedef struct vkr_xent_plan {
    uint32_t rows, dim, vocab; /* h [rows, dim], table [vocab, dim] */
    int32_t ignore_index;
    uint32_t chunk;            /* rows per chunk (multiple of 64) */
    uint32_t chunks;           /* number of chunks */
    uint32_t stats_stride;     /* floats per chunk's stats region */
    uint64_t off_logits, off_dlogits, off_stats, off_means, off_grads, total; /* floats into aux */
} vkr_xent_plan;

vkr_tensor* vkr_op_linear_xent(vkr_graph* g, vkr_tensor* h, vkr_tensor* table, vkr_tensor* targets,
                               int32_t ignore_index) {
    const vkr_tensor* srcs[3] = {h, table, targets};
    if (vkr_ops_missing(g, srcs, 3)) return NULL;
    if (!vkr_ops_check_dtype(g, targets, VKR_I32, "linear_xent", "targets")) return NULL;
    if (table->ndim != 2 || table->shape[1] != h->shape[h->ndim - 1])
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "linear_xent: table %s must be [V, %u]", table->name,
                              h->shape[h->ndim - 1]);
    vkr_xent_plan p = {.dim = table->shape[1], .vocab = table->shape[0], .ignore_index = ignore_index};
    p.rows = (uint32_t)(h->numel / p.dim);
    if (targets->numel != p.rows)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "linear_xent: %u rows but %llu targets", p.rows,
                              (unsigned long long)targets->numel);
    uint64_t fit = XENT_CHUNK_BYTES / (4ull * p.vocab);
    fit = fit / 64 * 64;
    if (fit == 0) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "linear_xent: %u classes are too many", p.vocab);
    p.chunk = p.rows < fit ? (uint32_t)vkr_storage_align_words(p.rows) : (uint32_t)fit;
    p.chunks = (p.rows + p.chunk - 1) / p.chunk;
    p.stats_stride = (uint32_t)vkr_storage_align_words(vkr_xent_stats_floats(p.chunk));
    uint64_t cv = vkr_storage_align_words((uint64_t)p.chunk * p.vocab);
    p.off_logits = 0;
    p.off_dlogits = cv;
    p.off_stats = 2 * cv;
    p.off_means = p.off_stats + (uint64_t)p.chunks * p.stats_stride;
    p.off_grads = p.off_means + (uint64_t)p.chunks * VKR_STORAGE_ALIGN_WORDS; /* one aligned slot per chunk */
    p.total = p.off_grads + (uint64_t)p.chunks * VKR_STORAGE_ALIGN_WORDS;
    if (p.total > UINT32_MAX) return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "linear_xent: scratch too large");
    static const uint32_t one = 1;
    vkr_tensor* t = vkr_graph_node(g, VKR_OP_LINEAR_XENT, VKR_F32, 1, &one, srcs, 3, &p, sizeof p);
    uint32_t scratch = (uint32_t)p.total;
    vkr_graph_aux(g, t, 1, &scratch, VKR_F32);
    return vkr_graph_status(g) == VKR_OK ? t : NULL;
}

/* Rows of chunk k. */
static uint32_t vkr_chunk_rows(const vkr_xent_plan* p, uint32_t k) {
    uint32_t begin = k * p->chunk;
    return p->rows - begin < p->chunk ? p->rows - begin : p->chunk;
}

static void vkr_logits_mm(vkr_matmul_params* q, const vkr_xent_plan* p, uint32_t rows) {
    memset(q, 0, sizeof *q);
    q->M = rows;
    q->N = p->vocab;
    q->K = p->dim;
    q->trans_b = true;
    q->batch = 1;
    q->alpha = 1.0f;
}

/* The combine kernel's view of the plan's chunks. */
static vkr_xent_combine_params vkr_combine_params(const vkr_xent_plan* p) {
    return (vkr_xent_combine_params){.chunks = p->chunks, .chunk_rows = p->chunk,
                                     .last_rows = vkr_chunk_rows(p, p->chunks - 1), .stats_stride = p->stats_stride,
                                     .slot = VKR_STORAGE_ALIGN_WORDS};
}

static vkr_status vkr_linear_xent_fwd_gpu(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_xent_plan* p = (const vkr_xent_plan*)t->params;
    vkr_sequence* seq = vkr_ctx_sequence(ctx);
    vkr_range h = vkr_ctx_range(ctx, t->src[0]), w = vkr_ctx_range(ctx, t->src[1]), tg = vkr_ctx_range(ctx, t->src[2]);
    vkr_range aux = vkr_ctx_range(ctx, t->aux);
    for (uint32_t k = 0; k < p->chunks; k++) {
        uint32_t rows = vkr_chunk_rows(p, k);
        vkr_matmul_params q;
        vkr_logits_mm(&q, p, rows);
        vkr_range logits = vkr_range_words(aux, p->off_logits, (uint64_t)rows * p->vocab);
        VKR_TRY(vkr_gpu_matmul(seq, &q, vkr_range_words(h, (uint64_t)k * p->chunk * p->dim, (uint64_t)rows * p->dim), w,
                               (vkr_range){0}, logits));
        vkr_xent_params xp = {.rows = rows, .classes = p->vocab, .ignore_index = p->ignore_index};
        VKR_TRY(vkr_gpu_cross_entropy(
            seq, &xp, logits, vkr_range_words(tg, (uint64_t)k * p->chunk, rows),
            vkr_range_words(aux, p->off_stats + (uint64_t)k * p->stats_stride, vkr_xent_stats_floats(rows)),
            vkr_range_words(aux, p->off_means + (uint64_t)k * VKR_STORAGE_ALIGN_WORDS, 1)));
    }
    vkr_xent_combine_params cp = vkr_combine_params(p);
    return vkr_gpu_xent_combine(seq, &cp, vkr_range_words(aux, p->off_stats, (uint64_t)p->chunks * p->stats_stride),
                                vkr_range_words(aux, p->off_means, (uint64_t)p->chunks * VKR_STORAGE_ALIGN_WORDS), vkr_ctx_range(ctx, t));
}

static vkr_status vkr_linear_xent_bwd_gpu(vkr_exec_ctx* ctx, vkr_tensor* t) {
    const vkr_xent_plan* p = (const vkr_xent_plan*)t->params;
    vkr_sequence* seq = vkr_ctx_sequence(ctx);
    vkr_range h = vkr_ctx_range(ctx, t->src[0]), w = vkr_ctx_range(ctx, t->src[1]), tg = vkr_ctx_range(ctx, t->src[2]);
    vkr_range dh = vkr_ctx_range(ctx, vkr_ops_grad(t, 0)), dw = vkr_ctx_range(ctx, vkr_ops_grad(t, 1));
    vkr_range aux = vkr_ctx_range(ctx, t->aux);
    vkr_range grads = vkr_range_words(aux, p->off_grads, (uint64_t)p->chunks * VKR_STORAGE_ALIGN_WORDS);
    vkr_xent_combine_params cp = vkr_combine_params(p);
    VKR_TRY(vkr_gpu_xent_combine_bwd(seq, &cp, vkr_range_words(aux, p->off_stats, (uint64_t)p->chunks * p->stats_stride),
                                     vkr_range_words(aux, p->off_means, (uint64_t)p->chunks * VKR_STORAGE_ALIGN_WORDS),
                                     vkr_ctx_range(ctx, t->grad), grads));
    for (uint32_t k = 0; k < p->chunks; k++) {
        uint32_t rows = vkr_chunk_rows(p, k);
        vkr_range hk = vkr_range_words(h, (uint64_t)k * p->chunk * p->dim, (uint64_t)rows * p->dim);
        vkr_range logits = vkr_range_words(aux, p->off_logits, (uint64_t)rows * p->vocab);
        vkr_range dlogits = vkr_range_words(aux, p->off_dlogits, (uint64_t)rows * p->vocab);
        vkr_matmul_params q;
        vkr_logits_mm(&q, p, rows);
        VKR_TRY(vkr_gpu_matmul(seq, &q, hk, w, (vkr_range){0}, logits));
        VKR_TRY(vkr_sequence_fill(seq, dlogits.buffer, dlogits.offset, dlogits.size, 0));
        vkr_xent_params xp = {.rows = rows, .classes = p->vocab, .ignore_index = p->ignore_index};
        VKR_TRY(vkr_gpu_cross_entropy_bwd(
            seq, &xp, logits, vkr_range_words(tg, (uint64_t)k * p->chunk, rows),
            vkr_range_words(aux, p->off_stats + (uint64_t)k * p->stats_stride, vkr_xent_stats_floats(rows)),
            vkr_range_words(grads, (uint64_t)k * VKR_STORAGE_ALIGN_WORDS, 1), dlogits));
        if (dh.buffer) { /* dh_k += dlogits W */
            vkr_matmul_params m = {.M = rows, .N = p->dim, .K = p->vocab, .batch = 1, .alpha = 1, .accumulate = true};
            VKR_TRY(vkr_gpu_matmul(seq, &m, dlogits, w, (vkr_range){0},
                                   vkr_range_words(dh, (uint64_t)k * p->chunk * p->dim, (uint64_t)rows * p->dim)));
        }
        if (dw.buffer) { /* dW += dlogits^T h_k */
            vkr_matmul_params m = {.M = p->vocab, .N = p->dim, .K = rows, .trans_a = true, .batch = 1, .alpha = 1,
                                   .accumulate = true};
            VKR_TRY(vkr_gpu_matmul(seq, &m, dlogits, hk, (vkr_range){0}, dw));
        }
    }
    return VKR_OK;
}

/* Counted rows of chunk k (target in range and not ignored), as the GPU kernels count them. */
static uint32_t vkr_chunk_count(const vkr_xent_plan* p, const int32_t* tg, uint32_t k) {
    uint32_t n = 0, rows = vkr_chunk_rows(p, k);
    for (uint32_t i = 0; i < rows; i++) {
        int32_t v = tg[(uint64_t)k * p->chunk + i];
        n += v != p->ignore_index && v >= 0 && (uint32_t)v < p->vocab;
    }
    return n;
}

static vkr_status vkr_linear_xent_cpu(vkr_exec_ctx* ctx, vkr_tensor* t, bool backward) {
    const vkr_xent_plan* p = (const vkr_xent_plan*)t->params;
    const float *h = vkr_ops_f(ctx, t->src[0]), *w = vkr_ops_f(ctx, t->src[1]);
    const int32_t* tg = vkr_ops_i(ctx, t->src[2]);
    float* logits = vkr_ops_f(ctx, t->aux) + p->off_logits;
    float *dh = vkr_ops_f(ctx, vkr_ops_grad(t, 0)), *dw = vkr_ops_f(ctx, vkr_ops_grad(t, 1));
    uint64_t total = 0;
    for (uint32_t k = 0; k < p->chunks; k++) total += vkr_chunk_count(p, tg, k);
    double sum = 0;
    for (uint32_t k = 0; k < p->chunks; k++) {
        uint32_t rows = vkr_chunk_rows(p, k), cnt = vkr_chunk_count(p, tg, k);
        if (cnt == 0) continue; /* contributes nothing, and the reference rejects all-ignored rows only on bad ids */
        const float* hk = h + (uint64_t)k * p->chunk * p->dim;
        const int32_t* tk = tg + (uint64_t)k * p->chunk;
        vkr_matmul_params q;
        vkr_logits_mm(&q, p, rows);
        VKR_TRY(vkr_ref_matmul(&q, hk, w, NULL, logits));
        vkr_xent_params xp = {.rows = rows, .classes = p->vocab, .ignore_index = p->ignore_index};
        if (!backward) {
            float mean = 0;
            VKR_TRY(vkr_ref_cross_entropy(&xp, logits, tk, &mean));
            sum += (double)mean * cnt;
            continue;
        }
        float* dlogits = vkr_ops_f(ctx, t->aux) + p->off_dlogits;
        memset(dlogits, 0, (size_t)rows * p->vocab * sizeof *dlogits);
        float gk = (float)((double)*vkr_ops_f(ctx, t->grad) * cnt / (double)total);
        VKR_TRY(vkr_ref_cross_entropy_bwd(&xp, logits, tk, gk, dlogits));
        if (dh) {
            vkr_matmul_params m = {.M = rows, .N = p->dim, .K = p->vocab, .batch = 1, .alpha = 1, .accumulate = true};
            VKR_TRY(vkr_ref_matmul(&m, dlogits, w, NULL, dh + (uint64_t)k * p->chunk * p->dim));
        }
        if (dw) {
            vkr_matmul_params m = {.M = p->vocab, .N = p->dim, .K = rows, .trans_a = true, .batch = 1, .alpha = 1,
                                   .accumulate = true};
            VKR_TRY(vkr_ref_matmul(&m, dlogits, hk, NULL, dw));
        }
    }
    if (!backward) *vkr_ops_f(ctx, t) = total ? (float)(sum / (double)total) : 0.0f;
    return VKR_OK;
}

static vkr_status vkr_linear_xent_fwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    return vkr_ctx_gpu(ctx) ? vkr_linear_xent_fwd_gpu(ctx, t) : vkr_linear_xent_cpu(ctx, t, false);
}

static vkr_status vkr_linear_xent_bwd(vkr_exec_ctx* ctx, vkr_tensor* t) {
    return vkr_ctx_gpu(ctx) ? vkr_linear_xent_bwd_gpu(ctx, t) : vkr_linear_xent_cpu(ctx, t, true);
}

const vkr_op_impl vkr_op_linear_xent_impl = {"linear_xent", vkr_linear_xent_fwd, vkr_linear_xent_bwd};
