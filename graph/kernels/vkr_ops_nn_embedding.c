/* Embedding lookup and its deterministic backward through a CSR inverse index built on the host
 * (shaders/nn_embedding*.comp). */
#include <stdlib.h>
#include <string.h>

#include "vkr_ops_nn_internal.h"

/* Invocations per workgroup of nn_embedding_bwd (one workgroup per distinct id, looping over dim). */
#define EMB_BWD_WG 64u

static vkr_status check_emb(const vkr_embedding_params* p, const char* op) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    VKR_TRY(vkr_nn_check_dims(op, "vocab", p->vocab, "dim", p->dim));
    VKR_TRY(vkr_nn_check_dims(op, "count", p->count, "dim", p->dim));
    /* Ids and positions are int32, and the CSR array must be indexable too. */
    if (p->vocab > INT32_MAX || p->count > (INT32_MAX - 2) / 3)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: vocab %u or count %u is too large for int32 indices", op,
                        p->vocab, p->count);
    return VKR_OK;
}

/* Fails on the first index outside [0, vocab). */
static vkr_status check_ids(const vkr_embedding_params* p, const int32_t* idx, const char* op) {
    for (uint32_t i = 0; i < p->count; i++)
        if (idx[i] < 0 || (uint32_t)idx[i] >= p->vocab)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: idx[%u] = %d is outside [0, %u)", op, i, idx[i], p->vocab);
    return VKR_OK;
}

size_t vkr_embedding_csr_len(uint32_t count) { return 3 * (size_t)count + 2; }

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return (x > y) - (x < y);
}

vkr_status vkr_embedding_csr_build(const vkr_embedding_params* p, const int32_t* idx, int32_t* csr) {
    VKR_TRY(check_emb(p, "embedding_csr_build"));
    if (!idx || !csr) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "embedding_csr_build: idx or csr is NULL");
    VKR_TRY(check_ids(p, idx, "embedding_csr_build"));
    const uint32_t n = p->count;
    /* Sorting (id, position) pairs groups positions by id and orders them within an id. */
    uint64_t* pairs = malloc((size_t)n * sizeof *pairs);
    if (!pairs) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "embedding_csr_build: no memory for %u pairs", n);
    for (uint32_t i = 0; i < n; i++) pairs[i] = (uint64_t)(uint32_t)idx[i] << 32 | i;
    qsort(pairs, n, sizeof *pairs, cmp_u64);
    memset(csr, 0, vkr_embedding_csr_len(n) * sizeof *csr);
    int32_t* offsets = csr + 1;
    int32_t* ids = csr + n + 2;
    int32_t* positions = csr + 2 * (size_t)n + 2;
    uint32_t unique = 0;
    for (uint32_t k = 0; k < n; k++) {
        int32_t id = (int32_t)(pairs[k] >> 32);
        if (k == 0 || id != ids[unique - 1]) {
            offsets[unique] = (int32_t)k;
            ids[unique++] = id;
        }
        positions[k] = (int32_t)(uint32_t)pairs[k];
    }
    offsets[unique] = (int32_t)n;
    csr[0] = (int32_t)unique;
    free(pairs);
    return VKR_OK;
}

vkr_status vkr_ref_embedding(const vkr_embedding_params* p, const float* table, const int32_t* idx, float* out) {
    VKR_TRY(check_emb(p, "embedding"));
    if (!table || !idx || !out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "embedding: table, idx or out is NULL");
    VKR_TRY(check_ids(p, idx, "embedding"));
    for (uint32_t i = 0; i < p->count; i++)
        memcpy(out + (size_t)i * p->dim, table + (size_t)idx[i] * p->dim, p->dim * sizeof *out);
    return VKR_OK;
}

vkr_status vkr_ref_embedding_bwd(const vkr_embedding_params* p, const int32_t* idx, const float* dout,
                                 float* dtable) {
    VKR_TRY(check_emb(p, "embedding_bwd"));
    if (!idx || !dout || !dtable)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "embedding_bwd: idx, dout or dtable is NULL");
    VKR_TRY(check_ids(p, idx, "embedding_bwd"));
    for (uint32_t i = 0; i < p->count; i++)
        for (uint32_t d = 0; d < p->dim; d++) dtable[(size_t)idx[i] * p->dim + d] += dout[(size_t)i * p->dim + d];
    return VKR_OK;
}

vkr_status vkr_gpu_embedding(vkr_sequence* seq, const vkr_embedding_params* p, vkr_range table, vkr_range idx,
                             vkr_range out) {
    VKR_TRY(check_emb(p, "embedding"));
    uint64_t n = (uint64_t)p->count * p->dim;
    vkr_range r[3];
    VKR_TRY(vkr_range_take_words(table, (uint64_t)p->vocab * p->dim, "embedding", "table", &r[0]));
    VKR_TRY(vkr_range_take_words(idx, p->count, "embedding", "idx", &r[1]));
    VKR_TRY(vkr_range_take_words(out, n, "embedding", "out", &r[2]));
    struct {
        uint32_t vocab, dim, count;
    } push = {p->vocab, p->dim, p->count};
    vkr_kernel_desc d = {.shader = "nn_embedding", .binding_count = 3, .access = {VKR_READ, VKR_READ, VKR_WRITE},
                         .push_bytes = sizeof push, .spec_count = 1, .spec = {VKR_NN_WG}};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, (n + VKR_NN_WG - 1) / VKR_NN_WG);
}

vkr_status vkr_gpu_embedding_bwd(vkr_sequence* seq, const vkr_embedding_params* p, vkr_range csr, vkr_range dout,
                                 vkr_range dtable) {
    VKR_TRY(check_emb(p, "embedding_bwd"));
    vkr_range r[3];
    VKR_TRY(vkr_range_take_words(csr, vkr_embedding_csr_len(p->count), "embedding_bwd", "csr", &r[0]));
    VKR_TRY(vkr_range_take_words(dout, (uint64_t)p->count * p->dim, "embedding_bwd", "dout", &r[1]));
    VKR_TRY(vkr_range_take_words(dtable, (uint64_t)p->vocab * p->dim, "embedding_bwd", "dtable", &r[2]));
    struct {
        uint32_t vocab, dim, count;
    } push = {p->vocab, p->dim, p->count};
    vkr_kernel_desc d = {.shader = "nn_embedding_bwd", .binding_count = 3,
                         .access = {VKR_READ, VKR_READ, VKR_READ_WRITE}, .push_bytes = sizeof push, .spec_count = 1,
                         .spec = {EMB_BWD_WG}};
    /* One workgroup per possible distinct id; those past the batch's count exit at once. */
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, p->count);
}
