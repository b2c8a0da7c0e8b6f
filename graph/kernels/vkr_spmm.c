/* CSR sparse x dense products: the CPU reference and the GPU recorder. */
#include "vkr_spmm.h"

/* Invocations per row: a warp-sized group for narrow rows, two for wider ones (they loop over n). */
static uint32_t spmm_group(uint32_t n) { return n > 32 ? 64 : 32; }

vkr_status vkr_ref_spmm(const vkr_csr* a, const float* x, uint32_t n, bool accumulate, float* y) {
    if (!a || !x || !y || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_spmm: null matrix or n = 0");
    VKR_TRY(vkr_csr_check(a, "vkr_ref_spmm"));
    /* rows are independent: threads take rows; within a row a block of columns accumulates over the
     * entries in order (contiguous reads of x's rows), the same summation order as the GPU kernel */
    enum { BLOCK = 64 };
#pragma omp parallel for schedule(dynamic, 64) if ((uint64_t)a->nnz * n >= (1u << 16))
    for (int64_t r = 0; r < (int64_t)a->rows; r++) {
        float* out = y + (size_t)r * n;
        for (uint32_t c0 = 0; c0 < n; c0 += BLOCK) {
            const uint32_t w = n - c0 < BLOCK ? n - c0 : BLOCK;
            float acc[BLOCK] = {0};
            for (uint32_t k = a->row_ptr[r]; k < a->row_ptr[r + 1]; k++) {
                const float v = a->val[k], *xr = x + (size_t)a->col[k] * n + c0;
                for (uint32_t j = 0; j < w; j++) acc[j] += v * xr[j];
            }
            for (uint32_t j = 0; j < w; j++) out[c0 + j] = accumulate ? out[c0 + j] + acc[j] : acc[j];
        }
    }
    return VKR_OK;
}

vkr_status vkr_gpu_spmm(vkr_sequence* seq, const vkr_spmm_params* p, vkr_range row_ptr, vkr_range col, vkr_range val,
                        vkr_range x, vkr_range y) {
    if (!seq || !p || p->rows == 0 || p->n == 0 || p->cols == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_spmm: rows, cols and n must be positive");
    if ((uint64_t)p->rows * p->n > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_spmm: rows x n = %llu exceeds 2^32",
                        (unsigned long long)p->rows * p->n);
    VKR_TRY(vkr_range_check(row_ptr, 4ull * (p->rows + 1ull), "vkr_gpu_spmm", "row_ptr"));
    VKR_TRY(vkr_range_check(col, 4ull * p->nnz, "vkr_gpu_spmm", "col"));
    VKR_TRY(vkr_range_check(val, 4ull * p->nnz, "vkr_gpu_spmm", "val"));
    VKR_TRY(vkr_range_check(x, 4ull * p->cols * p->n, "vkr_gpu_spmm", "x"));
    VKR_TRY(vkr_range_check(y, 4ull * p->rows * p->n, "vkr_gpu_spmm", "y"));
    uint64_t limit = vkr_device_get_info(vkr_sequence_device(seq))->max_storage_buffer_range;
    if (4ull * p->cols * p->n > limit || 4ull * p->rows * p->n > limit || 4ull * p->nnz > limit)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "vkr_gpu_spmm: an operand exceeds the device's %llu-byte storage-buffer "
                        "range (rows %u, cols %u, n %u, nnz %u)", (unsigned long long)limit, p->rows, p->cols, p->n, p->nnz);
    vkr_kernel_desc d = {.shader = "spmm", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ, p->accumulate ? VKR_READ_WRITE : VKR_WRITE},
                         .push_bytes = 12, .spec_count = 1, .spec = {spmm_group(p->n)}};
    /* Bind only what the call touches: an nnz of 0 still binds one (unread) element. */
    uint64_t nnz_bytes = 4ull * (p->nnz ? p->nnz : 1);
    vkr_range r[5] = {{row_ptr.buffer, row_ptr.offset, 4ull * (p->rows + 1ull)},
                      {col.buffer, col.offset, vkr_range_bytes(col) < nnz_bytes ? vkr_range_bytes(col) : nnz_bytes},
                      {val.buffer, val.offset, vkr_range_bytes(val) < nnz_bytes ? vkr_range_bytes(val) : nnz_bytes},
                      {x.buffer, x.offset, 4ull * p->cols * p->n},
                      {y.buffer, y.offset, 4ull * p->rows * p->n}};
    if (r[1].size == 0 || r[2].size == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_spmm: col and val need a buffer even when nnz is 0");
    uint32_t push[3] = {p->rows, p->n, p->accumulate};
    return vkr_sequence_dispatch_grid(seq, &d, r, push, p->rows); /* one workgroup per row */
}
