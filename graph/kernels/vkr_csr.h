/* Sparse matrices in compressed sparse row form on the host: allocation, transpose, validation, and
 * the builders of graph adjacencies (edge list -> CSR, bipartite block matrix, symmetric degree
 * normalization as in LightGCN).
 *
 * Contract: a valid CSR has row_ptr[0] = 0, row_ptr nondecreasing, row_ptr[rows] = nnz, every column
 * below cols and every value finite (vkr_csr_check). Builders return valid matrices whose columns
 * increase within each row. Every function leaves its output zeroed when it fails. */
#ifndef VKR_CSR_H
#define VKR_CSR_H
#include <stdint.h>

#include "vkr_runtime.h"

/* A sparse matrix in compressed sparse row form (host memory). */
typedef struct vkr_csr {
    uint32_t rows;     /* number of rows */
    uint32_t cols;     /* number of columns */
    uint32_t nnz;      /* stored entries */
    uint32_t* row_ptr; /* [rows+1] start of each row in col/val */
    uint32_t* col;     /* [nnz] column of each entry */
    float* val;        /* [nnz] value of each entry */
} vkr_csr;

/* Allocates an empty rows x cols matrix with room for nnz entries; out is zeroed on entry. */
vkr_status vkr_csr_alloc(uint32_t rows, uint32_t cols, uint32_t nnz, vkr_csr* out);
/* Frees and zeroes. */
void vkr_csr_free(vkr_csr* m);
/* Builds the transpose (columns become rows, order kept); out is zeroed on entry. */
vkr_status vkr_csr_transpose(const vkr_csr* m, vkr_csr* out);
/* Fails with a message naming `what` and the first offending row, entry or value unless m is valid. */
vkr_status vkr_csr_check(const vkr_csr* m, const char* what);
/* The rows x cols matrix of `count` edges (src[k], dst[k]) with weight[k] (NULL: all 1). Edges
 * repeated with the same (src, dst) are summed into one entry, in input order. Ids out of range
 * and non-finite weights are refused. out is zeroed on entry. */
vkr_status vkr_csr_from_edges(uint32_t rows, uint32_t cols, uint32_t count, const uint32_t* src, const uint32_t* dst,
                              const float* weight, vkr_csr* out);
/* The (rows+cols) square adjacency [[0, R], [R^T, 0]] of a bipartite graph whose rows x cols
 * interaction matrix is r (users first, then items); out is zeroed on entry. */
vkr_status vkr_csr_bipartite(const vkr_csr* r, vkr_csr* out);
/* D^-1/2 A D^-1/2 of a square matrix with positive entries, D the diagonal of its row sums: entry
 * (i, j) becomes a_ij / sqrt(d_i d_j). Empty rows stay empty; an entry whose column has an empty row
 * (only possible when A is not symmetric) is refused. out is zeroed on entry. */
vkr_status vkr_csr_normalize_sym(const vkr_csr* a, vkr_csr* out);

#endif
