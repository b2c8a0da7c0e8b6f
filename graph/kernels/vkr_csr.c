/* Host CSR matrices: storage, transpose, validation, and the adjacency builders. */
#include "vkr_csr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static vkr_status oom(const char* what) {
    return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory building a sparse matrix (%s)", what);
}

vkr_status vkr_csr_alloc(uint32_t rows, uint32_t cols, uint32_t nnz, vkr_csr* out) {
    memset(out, 0, sizeof *out);
    out->row_ptr = calloc((size_t)rows + 1, sizeof *out->row_ptr);
    out->col = malloc(((size_t)nnz + 1) * sizeof *out->col);
    out->val = malloc(((size_t)nnz + 1) * sizeof *out->val);
    if (!out->row_ptr || !out->col || !out->val) {
        vkr_csr_free(out);
        return oom("vkr_csr_alloc");
    }
    out->rows = rows;
    out->cols = cols;
    out->nnz = nnz;
    return VKR_OK;
}

void vkr_csr_free(vkr_csr* m) {
    free(m->row_ptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

vkr_status vkr_csr_transpose(const vkr_csr* m, vkr_csr* out) {
    VKR_TRY(vkr_csr_alloc(m->cols, m->rows, m->nnz, out));
    for (uint32_t k = 0; k < m->nnz; k++) out->row_ptr[m->col[k] + 1]++;
    for (uint32_t c = 0; c < m->cols; c++) out->row_ptr[c + 1] += out->row_ptr[c];
    uint32_t* next = malloc(((size_t)m->cols + 1) * sizeof *next);
    if (!next) {
        vkr_csr_free(out);
        return oom("vkr_csr_transpose");
    }
    memcpy(next, out->row_ptr, (size_t)m->cols * sizeof *next);
    for (uint32_t r = 0; r < m->rows; r++)
        for (uint32_t k = m->row_ptr[r]; k < m->row_ptr[r + 1]; k++) {
            uint32_t dst = next[m->col[k]]++;
            out->col[dst] = r;
            out->val[dst] = m->val[k];
        }
    free(next);
    return VKR_OK;
}

vkr_status vkr_csr_check(const vkr_csr* m, const char* what) {
    if (!m || !m->row_ptr || ((!m->col || !m->val) && m->nnz))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: the sparse matrix or one of its arrays is NULL", what);
    if (m->row_ptr[0] != 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: row_ptr[0] is %u, not 0", what, m->row_ptr[0]);
    for (uint32_t r = 0; r < m->rows; r++)
        if (m->row_ptr[r + 1] < m->row_ptr[r] || m->row_ptr[r + 1] > m->nnz)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT,
                            "%s: row_ptr[%u] = %u after row_ptr[%u] = %u (must be nondecreasing and at most nnz %u)",
                            what, r + 1, m->row_ptr[r + 1], r, m->row_ptr[r], m->nnz);
    if (m->row_ptr[m->rows] != m->nnz)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: row_ptr[%u] = %u, but nnz is %u", what, m->rows,
                        m->row_ptr[m->rows], m->nnz);
    for (uint32_t r = 0; r < m->rows; r++)
        for (uint32_t k = m->row_ptr[r]; k < m->row_ptr[r + 1]; k++) {
            if (m->col[k] >= m->cols)
                return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: entry %u of row %u has column %u, outside [0, %u)",
                                what, k, r, m->col[k], m->cols);
            if (!isfinite(m->val[k]))
                return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: entry %u (row %u, column %u) is %g", what, k, r,
                                m->col[k], m->val[k]);
        }
    return VKR_OK;
}

/* An edge's (src, dst) key and its input position, so sorting keeps repeated edges in input order. */
typedef struct edge_key {
    uint64_t key;
    uint32_t index;
} edge_key;

static int edge_cmp(const void* a, const void* b) {
    const edge_key *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

vkr_status vkr_csr_from_edges(uint32_t rows, uint32_t cols, uint32_t count, const uint32_t* src, const uint32_t* dst,
                              const float* weight, vkr_csr* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_from_edges: out is NULL");
    memset(out, 0, sizeof *out);
    if (rows == 0 || cols == 0 || (count && (!src || !dst)))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_from_edges: %u x %u matrix, or %u edges without ids", rows,
                        cols, count);
    for (uint32_t k = 0; k < count; k++) {
        if (src[k] >= rows || dst[k] >= cols)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_from_edges: edge %u (%u, %u) is outside %u x %u", k,
                            src[k], dst[k], rows, cols);
        if (weight && !isfinite(weight[k]))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_from_edges: edge %u (%u, %u) has weight %g", k, src[k],
                            dst[k], weight[k]);
    }
    edge_key* e = malloc(((size_t)count + 1) * sizeof *e);
    if (!e) return oom("vkr_csr_from_edges");
    for (uint32_t k = 0; k < count; k++) e[k] = (edge_key){(uint64_t)src[k] << 32 | dst[k], k};
    qsort(e, count, sizeof *e, edge_cmp);
    uint32_t nnz = 0;
    for (uint32_t k = 0; k < count; k++) nnz += k == 0 || e[k].key != e[k - 1].key;
    vkr_status s = vkr_csr_alloc(rows, cols, nnz, out);
    for (uint32_t k = 0, n = 0; s == VKR_OK && k < count; k++) {
        float w = weight ? weight[e[k].index] : 1.0f;
        if (k > 0 && e[k].key == e[k - 1].key) {
            out->val[n - 1] += w;
            continue;
        }
        out->row_ptr[(e[k].key >> 32) + 1]++;
        out->col[n] = (uint32_t)e[k].key;
        out->val[n++] = w;
    }
    for (uint32_t r = 0; s == VKR_OK && r < rows; r++) out->row_ptr[r + 1] += out->row_ptr[r];
    free(e);
    return s;
}

vkr_status vkr_csr_bipartite(const vkr_csr* r, vkr_csr* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_bipartite: out is NULL");
    memset(out, 0, sizeof *out);
    VKR_TRY(vkr_csr_check(r, "vkr_csr_bipartite"));
    if ((uint64_t)r->rows + r->cols > UINT32_MAX || 2ull * r->nnz > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_bipartite: %u + %u nodes or 2 x %u entries exceed 2^32",
                        r->rows, r->cols, r->nnz);
    vkr_csr rt;
    VKR_TRY(vkr_csr_transpose(r, &rt));
    vkr_status s = vkr_csr_alloc(r->rows + r->cols, r->rows + r->cols, 2 * r->nnz, out);
    /* rows of R, their columns moved past the row block; then rows of R^T, columns unchanged */
    for (uint32_t i = 0; s == VKR_OK && i < out->rows; i++) {
        const vkr_csr* m = i < r->rows ? r : &rt;
        uint32_t row = i < r->rows ? i : i - r->rows, shift = i < r->rows ? r->rows : 0, n = out->row_ptr[i];
        for (uint32_t k = m->row_ptr[row]; k < m->row_ptr[row + 1]; k++, n++) {
            out->col[n] = m->col[k] + shift;
            out->val[n] = m->val[k];
        }
        out->row_ptr[i + 1] = n;
    }
    vkr_csr_free(&rt);
    return s;
}

vkr_status vkr_csr_normalize_sym(const vkr_csr* a, vkr_csr* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_normalize_sym: out is NULL");
    memset(out, 0, sizeof *out);
    VKR_TRY(vkr_csr_check(a, "vkr_csr_normalize_sym"));
    if (a->rows != a->cols)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_normalize_sym: the matrix is %u x %u, not square", a->rows,
                        a->cols);
    for (uint32_t k = 0; k < a->nnz; k++)
        if (!(a->val[k] > 0))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_csr_normalize_sym: entry %u is %g; weights must be positive",
                            k, a->val[k]);
    double* inv_sqrt = malloc(((size_t)a->rows + 1) * sizeof *inv_sqrt);
    if (!inv_sqrt) return oom("vkr_csr_normalize_sym");
    for (uint32_t r = 0; r < a->rows; r++) {
        double d = 0;
        for (uint32_t k = a->row_ptr[r]; k < a->row_ptr[r + 1]; k++) d += a->val[k];
        inv_sqrt[r] = d > 0 ? 1.0 / sqrt(d) : 0.0;
    }
    vkr_status s = vkr_csr_alloc(a->rows, a->cols, a->nnz, out);
    if (s == VKR_OK) memcpy(out->row_ptr, a->row_ptr, ((size_t)a->rows + 1) * sizeof *out->row_ptr);
    for (uint32_t r = 0; s == VKR_OK && r < a->rows; r++)
        for (uint32_t k = a->row_ptr[r]; k < a->row_ptr[r + 1]; k++) {
            uint32_t c = a->col[k];
            if (inv_sqrt[c] == 0) {
                s = vkr_fail(VKR_ERR_INVALID_ARGUMENT,
                             "vkr_csr_normalize_sym: entry (%u, %u) points at node %u, which has no edges of its own "
                             "(the graph is not symmetric)", r, c, c);
                break;
            }
            out->col[k] = c;
            out->val[k] = (float)(a->val[k] * inv_sqrt[r] * inv_sqrt[c]);
        }
    if (s != VKR_OK) vkr_csr_free(out);
    free(inv_sqrt);
    return s;
}
