/* CSR sparse x dense products: the CPU reference and the GPU recorder. */
#include "vkr_embed.h"

enum { SPMM_GROUP = 64 };

vkr_status vkr_ref_spmm(const vkr_csr* a, const float* x, uint32_t n, float* y) {
    if (!a || !x || !y || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_spmm: null matrix or n = 0");
    for (uint32_t r = 0; r < a->rows; r++)
        for (uint32_t c = 0; c < n; c++) {
            float acc = 0.0f;
            for (uint32_t k = a->row_ptr[r]; k < a->row_ptr[r + 1]; k++) acc += a->val[k] * x[(size_t)a->col[k] * n + c];
            y[(size_t)r * n + c] = acc;
        }
    return VKR_OK;
}

/* Bytes a range spans (size 0: to the end of its buffer). */
static VkDeviceSize range_bytes(vkr_range r) {
    if (!r.buffer || r.offset > r.buffer->size) return 0;
    return r.size ? r.size : r.buffer->size - r.offset;
}

static vkr_status check_range(vkr_range r, uint64_t need, const char* name) {
    if (range_bytes(r) < need)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_spmm: range %s holds %llu bytes, needs %llu", name,
                        (unsigned long long)range_bytes(r), (unsigned long long)need);
    return VKR_OK;
}

vkr_status vkr_gpu_spmm(vkr_sequence* seq, const vkr_spmm_params* p, vkr_range row_ptr, vkr_range col, vkr_range val,
                        vkr_range x, vkr_range y) {
    if (!seq || !p || p->rows == 0 || p->n == 0 || p->cols == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_spmm: rows, cols and n must be positive");
    if ((uint64_t)p->rows * p->n > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_spmm: rows x n = %llu exceeds 2^32",
                        (unsigned long long)p->rows * p->n);
    VKR_TRY(check_range(row_ptr, 4ull * (p->rows + 1ull), "row_ptr"));
    VKR_TRY(check_range(col, 4ull * p->nnz, "col"));
    VKR_TRY(check_range(val, 4ull * p->nnz, "val"));
    VKR_TRY(check_range(x, 4ull * p->cols * p->n, "x"));
    VKR_TRY(check_range(y, 4ull * p->rows * p->n, "y"));
    vkr_device* dev = vkr_sequence_device(seq);
    const vkr_device_info* info = vkr_device_get_info(dev);
    uint64_t limit = info->max_storage_buffer_range;
    if (4ull * p->cols * p->n > limit || 4ull * p->rows * p->n > limit || 4ull * p->nnz > limit)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "vkr_gpu_spmm: an operand exceeds the device's %llu-byte storage-buffer "
                        "range (rows %u, cols %u, n %u, nnz %u)", (unsigned long long)limit, p->rows, p->cols, p->n, p->nnz);
    vkr_kernel_desc d = {.shader = "spmm", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ, VKR_WRITE},
                         .push_bytes = 8, .spec_count = 1, .spec = {SPMM_GROUP}};
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(dev, &d, &k));
    uint64_t groups = ((uint64_t)p->rows * p->n + SPMM_GROUP - 1) / SPMM_GROUP;
    uint64_t gx = groups < info->max_workgroup_count[0] ? groups : info->max_workgroup_count[0];
    uint64_t gy = (groups + gx - 1) / gx;
    if (gy > info->max_workgroup_count[1]) return vkr_fail(VKR_ERR_UNSUPPORTED, "vkr_gpu_spmm: too many workgroups");
    /* Bind only what the call touches: an nnz of 0 still binds one (unread) element. */
    uint32_t nnz_bytes = 4u * (p->nnz ? p->nnz : 1);
    vkr_range r[5] = {{row_ptr.buffer, row_ptr.offset, 4ull * (p->rows + 1ull)},
                      {col.buffer, col.offset, range_bytes(col) < nnz_bytes ? range_bytes(col) : nnz_bytes},
                      {val.buffer, val.offset, range_bytes(val) < nnz_bytes ? range_bytes(val) : nnz_bytes},
                      {x.buffer, x.offset, 4ull * p->cols * p->n},
                      {y.buffer, y.offset, 4ull * p->rows * p->n}};
    if (r[1].size == 0 || r[2].size == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_spmm: col and val need a buffer even when nnz is 0");
    uint32_t push[2] = {p->rows, p->n};
    return vkr_sequence_dispatch(seq, k, r, 5, push, sizeof push, (uint32_t)gx, (uint32_t)gy, 1);
}
