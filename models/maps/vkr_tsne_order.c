/* Renumbering of the points for memory locality: the attractive term gathers y of every row's
 * neighbours, which on a CPU driver at N = 100,000 (y: 800 KB) misses the caches when the ids of
 * neighbours are scattered. Breadth-first order over P's graph puts neighbours at nearby ids. */
#include <stdlib.h>
#include <string.h>

#include "vkr_tsne.h"

vkr_status vkr_tsne_locality_order(const vkr_tsne_p* p, uint32_t* perm) {
    if (!p || !perm || p->n == 0 || !p->row_ptr)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_locality_order: need a P of >= 1 point and perm");
    uint8_t* seen = calloc(p->n, 1);
    if (!seen) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_locality_order: out of host memory");
    /* perm doubles as the queue: ids are appended when first seen and taken in order. */
    uint32_t tail = 0;
    for (uint32_t start = 0; start < p->n; start++) {
        if (seen[start]) continue;
        seen[start] = 1;
        perm[tail++] = start;
        for (uint32_t head = tail - 1; head < tail; head++) {
            uint32_t i = perm[head];
            for (uint32_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
                uint32_t j = p->col[e];
                if (j < p->n && !seen[j]) {
                    seen[j] = 1;
                    perm[tail++] = j;
                }
            }
        }
    }
    free(seen);
    return VKR_OK;
}

/* One entry of a row while it is renumbered. */
typedef struct order_entry {
    uint32_t col;
    float val;
} order_entry;

static int entry_cmp(const void* a, const void* b) {
    const order_entry *x = a, *y = b;
    return (x->col > y->col) - (x->col < y->col);
}

vkr_status vkr_tsne_p_permute(const vkr_tsne_p* p, const uint32_t* perm, vkr_tsne_p* out_p) {
    memset(out_p, 0, sizeof *out_p);
    if (!p || !perm || p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_p_permute: bad argument");
    uint32_t n = p->n, widest = 0;
    uint32_t* inv = malloc(sizeof *inv * n);
    vkr_tsne_p q = {.n = n, .nnz = p->nnz};
    q.row_ptr = malloc(sizeof *q.row_ptr * ((size_t)n + 1));
    q.col = malloc(sizeof *q.col * (p->nnz ? p->nnz : 1));
    q.val = malloc(sizeof *q.val * (p->nnz ? p->nnz : 1));
    vkr_status s = inv && q.row_ptr && q.col && q.val ? VKR_OK
                                                       : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_p_permute: out of host memory");
    for (uint32_t i = 0; s == VKR_OK && i < n; i++) inv[i] = n;
    for (uint32_t r = 0; s == VKR_OK && r < n; r++) {
        if (perm[r] >= n || inv[perm[r]] != n)
            s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_p_permute: perm is not a permutation of 0..%u", n - 1);
        else inv[perm[r]] = r;
    }
    for (uint32_t i = 0; s == VKR_OK && i < n; i++) {
        uint32_t len = p->row_ptr[i + 1] - p->row_ptr[i];
        widest = len > widest ? len : widest;
    }
    order_entry* row = s == VKR_OK ? malloc(sizeof *row * (widest ? widest : 1)) : NULL;
    if (s == VKR_OK && !row) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_p_permute: out of host memory");
    uint64_t at = 0;
    for (uint32_t r = 0; s == VKR_OK && r < n; r++) {
        uint32_t i = perm[r], from = p->row_ptr[i], len = p->row_ptr[i + 1] - from;
        for (uint32_t t = 0; t < len; t++) row[t] = (order_entry){inv[p->col[from + t]], p->val[from + t]};
        qsort(row, len, sizeof *row, entry_cmp); /* columns stay increasing within a row */
        q.row_ptr[r] = (uint32_t)at;
        for (uint32_t t = 0; t < len; t++, at++) {
            q.col[at] = row[t].col;
            q.val[at] = row[t].val;
        }
    }
    if (s == VKR_OK) q.row_ptr[n] = (uint32_t)at;
    free(row);
    free(inv);
    if (s != VKR_OK) {
        vkr_tsne_p_free(&q);
        return s;
    }
    *out_p = q;
    return VKR_OK;
}
