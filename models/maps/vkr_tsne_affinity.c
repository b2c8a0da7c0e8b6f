/* Input affinities of t-SNE: the kNN graph by GPU brute force, the per-point binary search on the
 * device, and the host-side symmetrization into CSR. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_matmul.h"
#include "vkr_ops_ew.h"
#include "vkr_ops_nn.h"
#include "vkr_tsne_internal.h"

uint32_t vkr_tsne_neighbours(float perplexity, uint32_t n) {
    uint32_t k = (uint32_t)(3.0f * perplexity) + 1;
    return n < 2 ? 0 : (k < n - 1 ? k : n - 1);
}

/* Rows per kNN block: the block's distance matrix stays under 64 MiB and the binding limit, and
 * blocks start at multiples of 64 rows so every offset meets any storage alignment (<= 256). */
static uint32_t knn_block_rows(const vkr_device* device, uint32_t n) {
    uint64_t budget = vkr_device_get_info(device)->max_storage_buffer_range / 2;
    if (budget > (64u << 20)) budget = 64u << 20;
    uint64_t rows = budget / ((uint64_t)n * 4);
    rows = rows / 64 * 64;
    if (rows < 64) rows = 64;
    return rows >= n ? n : (uint32_t)rows;
}

#define KNN_HOST_SLACK 8   /* candidates kept beyond k against rounding of the expanded distance */
#define KNN_HOST_BLOCK 256 /* rows per X X^T block (256 x n floats) */

/* One candidate neighbour: squared distance and index. */
typedef struct knn_pair {
    float d;
    int32_t j;
} knn_pair;

static int pair_cmp(const void* a, const void* b) {
    const knn_pair *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* Selection for rows [r0, r0 + rows) from their block of inner products g (rows x n): the `kc`
 * smallest |xi|^2 + |xj|^2 - 2 xi.xj (j != i) by a bounded insertion list, then those candidates'
 * distances recomputed directly in double (the expanded form cancels for close points) and sorted
 * by (distance, index) as the reference does; the first k are the result. */
static void knn_host_rows(const float* x, const float* norms, const float* g, uint32_t n, uint32_t d, uint32_t k,
                          uint32_t kc, uint32_t r0, uint32_t rows, int32_t* idx, float* dist) {
#pragma omp parallel for schedule(dynamic, 8)
    for (uint32_t r = 0; r < rows; r++) {
        knn_pair list[VKR_TOPK_MAX_K + KNN_HOST_SLACK];
        uint32_t len = 0, i = r0 + r;
        const float* gr = g + (size_t)r * n;
        for (uint32_t j = 0; j < n; j++) {
            float v = norms[i] + norms[j] - 2.0f * gr[j];
            if (j == i || (len == kc && !(v < list[kc - 1].d))) continue;
            uint32_t m = len < kc ? len++ : kc - 1;
            while (m > 0 && list[m - 1].d > v) {
                list[m] = list[m - 1];
                m--;
            }
            list[m] = (knn_pair){v, (int32_t)j};
        }
        for (uint32_t c = 0; c < len; c++) {
            double s = 0;
            const float *a = x + (size_t)i * d, *b = x + (size_t)list[c].j * d;
            for (uint32_t t = 0; t < d; t++) s += ((double)a[t] - b[t]) * ((double)a[t] - b[t]);
            list[c].d = (float)s;
        }
        qsort(list, len, sizeof *list, pair_cmp);
        for (uint32_t c = 0; c < k; c++) {
            idx[(size_t)i * k + c] = list[c].j;
            dist[(size_t)i * k + c] = list[c].d;
        }
    }
}

/* Arguments of the kNN entry points. */
static vkr_status knn_check(const char* what, const float* x, uint32_t n, uint32_t d, uint32_t k, const int32_t* idx,
                            const float* dist) {
    if (!x || !idx || !dist) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: NULL argument", what);
    if (n < 2 || d == 0 || k == 0 || k >= n || k + 1 > VKR_TOPK_MAX_K)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: need n >= 2, d >= 1, 1 <= k < n and k < %u (n %u, d %u, k %u)",
                        what, VKR_TOPK_MAX_K, n, d, k);
    return VKR_OK;
}

/* The kNN graph on the host, for a CPU driver, whose "device" is these same cores: OpenBLAS forms
 * X X^T by blocks of rows and a bounded list per row selects, which on lavapipe is ~10x faster than
 * the distance-matrix + radix top-k kernels (those spend their time in per-lane gathers and
 * shared-memory atomics there). */
vkr_status vkr_tsne_knn_host(const float* x, uint32_t n, uint32_t d, uint32_t k, int32_t* idx, float* dist) {
    VKR_TRY(knn_check("vkr_tsne_knn_host", x, n, d, k, idx, dist));
    uint32_t kc = k + KNN_HOST_SLACK < n - 1 ? k + KNN_HOST_SLACK : n - 1;
    uint32_t block = n < KNN_HOST_BLOCK ? n : KNN_HOST_BLOCK;
    float* norms = malloc(sizeof *norms * n);
    float* g = malloc(sizeof *g * (size_t)block * n);
    if (!norms || !g) {
        free(norms), free(g);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_knn_host: out of host memory for %u points", n);
    }
    for (uint32_t i = 0; i < n; i++) norms[i] = cblas_sdot((int)d, x + (size_t)i * d, 1, x + (size_t)i * d, 1);
    for (uint32_t r0 = 0; r0 < n; r0 += block) {
        uint32_t rows = n - r0 < block ? n - r0 : block;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, (int)d, 1.0f, x + (size_t)r0 * d,
                    (int)d, x, (int)d, 0.0f, g, (int)n);
        knn_host_rows(x, norms, g, n, d, k, kc, r0, rows, idx, dist);
    }
    free(norms);
    free(g);
    return VKR_OK;
}

vkr_status vkr_tsne_knn(vkr_device* device, const float* x, uint32_t n, uint32_t d, uint32_t k, int32_t* idx,
                        float* dist) {
    if (!device) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_knn: NULL device");
    VKR_TRY(knn_check("vkr_tsne_knn", x, n, d, k, idx, dist));
    /* Small inputs stay on the device path, so that a CPU driver's tests still exercise it. */
    if (vkr_device_get_info(device)->type == VKR_DEVICE_CPU && n >= VKR_TSNE_KNN_HOST_MIN)
        return vkr_tsne_knn_host(x, n, d, k, idx, dist);
    uint32_t kk = k + 1, block = knn_block_rows(device, n);
    if ((uint64_t)block * n * 4 > vkr_device_get_info(device)->max_storage_buffer_range)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "vkr_tsne_knn: %u points need distance rows larger than the device binds", n);
    vkr_buffer bx = {0}, bd = {0}, bv = {0}, bi = {0};
    vkr_sequence* seq = NULL;
    float* vals = malloc(sizeof *vals * n * kk);
    int32_t* inds = malloc(sizeof *inds * n * kk);
    vkr_status s = vals && inds ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_knn: out of host memory");
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)n * d * 4, VKR_MEMORY_DEVICE, &bx);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)block * n * 4, VKR_MEMORY_DEVICE, &bd);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)n * kk * 4, VKR_MEMORY_DEVICE, &bv);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)n * kk * 4, VKR_MEMORY_DEVICE, &bi);
    if (s == VKR_OK) s = vkr_buffer_upload(device, &bx, 0, x, (uint64_t)n * d * 4);
    if (s == VKR_OK) s = vkr_sequence_create(device, &seq);
    for (uint32_t r0 = 0; s == VKR_OK && r0 < n; r0 += block) {
        uint32_t rows = n - r0 < block ? n - r0 : block;
        vkr_sqdist_params sp = {rows, n, d};
        vkr_range dr = {&bd, 0, (uint64_t)rows * n * 4};
        s = vkr_gpu_sqdist(seq, &sp, (vkr_range){&bx, (uint64_t)r0 * d * 4, (uint64_t)rows * d * 4},
                           vkr_range_whole(&bx), dr);
        vkr_unary_params up = {VKR_UNARY_SCALE, rows * n, -1.0f};
        if (s == VKR_OK) s = vkr_gpu_unary(seq, &up, dr, dr);
        vkr_topk_params tp = {rows, n, kk};
        if (s == VKR_OK)
            s = vkr_gpu_topk(seq, &tp, dr, (vkr_range){&bv, (uint64_t)r0 * kk * 4, (uint64_t)rows * kk * 4},
                             (vkr_range){&bi, (uint64_t)r0 * kk * 4, (uint64_t)rows * kk * 4});
    }
    if (s == VKR_OK) s = vkr_sequence_submit(seq);
    if (s == VKR_OK) s = vkr_buffer_download(device, &bv, 0, vals, (uint64_t)n * kk * 4);
    if (s == VKR_OK) s = vkr_buffer_download(device, &bi, 0, inds, (uint64_t)n * kk * 4);
    /* Drop the point itself (usually first; a lower-index duplicate may precede it), else the last. */
    for (uint32_t i = 0; s == VKR_OK && i < n; i++) {
        uint32_t out = 0;
        for (uint32_t t = 0; t < kk && out < k; t++) {
            if (inds[(size_t)i * kk + t] == (int32_t)i) continue;
            idx[(size_t)i * k + out] = inds[(size_t)i * kk + t];
            float v = -vals[(size_t)i * kk + t];
            dist[(size_t)i * k + out++] = v > 0 ? v : 0;
        }
    }
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(device, &bx);
    vkr_buffer_destroy(device, &bd);
    vkr_buffer_destroy(device, &bv);
    vkr_buffer_destroy(device, &bi);
    free(vals);
    free(inds);
    return s;
}

typedef struct sym_entry {
    uint32_t col;
    float val;
} sym_entry;

static int sym_cmp(const void* a, const void* b) {
    const sym_entry *x = a, *y = b;
    return (x->col > y->col) - (x->col < y->col);
}

void vkr_tsne_p_free(vkr_tsne_p* p) {
    free(p->row_ptr);
    free(p->col);
    free(p->val);
    memset(p, 0, sizeof *p);
}

vkr_status vkr_tsne_symmetrize(uint32_t n, uint32_t k, const int32_t* idx, const float* cond, vkr_tsne_p* out_p) {
    memset(out_p, 0, sizeof *out_p);
    if (!idx || !cond || n == 0 || k == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_symmetrize: need n, k >= 1 and both arrays");
    uint64_t total = 2 * (uint64_t)n * k;
    if (total > UINT32_MAX) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_symmetrize: n x k is too large");
    for (uint64_t e = 0; e < (uint64_t)n * k; e++)
        if (idx[e] < 0 || (uint32_t)idx[e] >= n || (uint32_t)idx[e] == e / k)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_symmetrize: neighbour %lld of point %llu is out of range "
                            "or the point itself", (long long)idx[e], (unsigned long long)(e / k));
    uint32_t* start = calloc((size_t)n + 1, sizeof *start);
    uint32_t* fill = calloc((size_t)n, sizeof *fill);
    sym_entry* ent = malloc(sizeof *ent * total);
    vkr_tsne_p p = {.n = n};
    p.row_ptr = calloc((size_t)n + 1, sizeof *p.row_ptr);
    if (!start || !fill || !ent || !p.row_ptr) {
        free(start), free(fill), free(ent), free(p.row_ptr);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_symmetrize: out of host memory");
    }
    /* Every conditional entry (i, j) lands in row i and, transposed, in row j. */
    for (uint64_t e = 0; e < (uint64_t)n * k; e++) {
        start[e / k + 1]++;
        start[idx[e] + 1]++;
    }
    for (uint32_t i = 0; i < n; i++) start[i + 1] += start[i];
    for (uint64_t e = 0; e < (uint64_t)n * k; e++) {
        uint32_t i = (uint32_t)(e / k), j = (uint32_t)idx[e];
        ent[start[i] + fill[i]++] = (sym_entry){j, cond[e]};
        ent[start[j] + fill[j]++] = (sym_entry){i, cond[e]};
    }
    /* Sort each row by column and merge the two halves of each pair. */
    double scale = 1.0 / (2.0 * n);
    uint64_t nnz = 0;
    for (uint32_t i = 0; i < n; i++) {
        sym_entry* row = ent + start[i];
        uint32_t len = start[i + 1] - start[i];
        qsort(row, len, sizeof *row, sym_cmp);
        p.row_ptr[i] = (uint32_t)nnz;
        for (uint32_t t = 0; t < len; t++) {
            double v = row[t].val;
            while (t + 1 < len && row[t + 1].col == row[t].col) v += row[++t].val;
            ent[nnz++] = (sym_entry){row[t].col, (float)(v * scale)};
        }
    }
    p.row_ptr[n] = (uint32_t)nnz;
    p.nnz = nnz;
    p.col = malloc(sizeof *p.col * (nnz ? nnz : 1));
    p.val = malloc(sizeof *p.val * (nnz ? nnz : 1));
    vkr_status s = VKR_OK;
    if (!p.col || !p.val) {
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_symmetrize: out of host memory");
    } else {
        for (uint64_t e = 0; e < nnz; e++) {
            p.col[e] = ent[e].col;
            p.val[e] = ent[e].val;
        }
    }
    free(start);
    free(fill);
    free(ent);
    if (s != VKR_OK) {
        vkr_tsne_p_free(&p);
        return s;
    }
    *out_p = p;
    return VKR_OK;
}

vkr_status vkr_tsne_affinities(vkr_device* device, const float* x, uint32_t n, uint32_t d, float perplexity,
                               vkr_tsne_p* out_p) {
    memset(out_p, 0, sizeof *out_p);
    if (!(perplexity >= 1.0f))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "t-SNE: perplexity must be >= 1 (got %g)", (double)perplexity);
    uint32_t k = vkr_tsne_neighbours(perplexity, n);
    if (k == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "t-SNE needs at least 2 points (got %u)", n);
    int32_t* idx = malloc(sizeof *idx * n * k);
    float* dist = malloc(sizeof *dist * n * k);
    float* cond = malloc(sizeof *cond * n * k);
    vkr_buffer bd = {0}, bc = {0};
    vkr_sequence* seq = NULL;
    vkr_status s = idx && dist && cond ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "t-SNE: out of host memory");
    if (s == VKR_OK) s = vkr_tsne_knn(device, x, n, d, k, idx, dist);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)n * k * 4, VKR_MEMORY_DEVICE, &bd);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)n * k * 4, VKR_MEMORY_DEVICE, &bc);
    if (s == VKR_OK) s = vkr_buffer_upload(device, &bd, 0, dist, (uint64_t)n * k * 4);
    if (s == VKR_OK) s = vkr_sequence_create(device, &seq);
    if (s == VKR_OK) s = vkr_gpu_tsne_sigma(seq, n, k, perplexity, vkr_range_whole(&bd), vkr_range_whole(&bc));
    if (s == VKR_OK) s = vkr_sequence_submit(seq);
    if (s == VKR_OK) s = vkr_buffer_download(device, &bc, 0, cond, (uint64_t)n * k * 4);
    if (s == VKR_OK) s = vkr_tsne_symmetrize(n, k, idx, cond, out_p);
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(device, &bd);
    vkr_buffer_destroy(device, &bc);
    free(idx);
    free(dist);
    free(cond);
    return s;
}
