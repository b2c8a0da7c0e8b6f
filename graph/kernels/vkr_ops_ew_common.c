/* Shape helpers and the argument checks and dispatch plumbing shared by the elementwise ops. */
#include <string.h>

#include "vkr_ops_ew_internal.h"

uint64_t vkr_shape_numel(const uint32_t shape[4]) {
    return (uint64_t)shape[0] * shape[1] * shape[2] * shape[3];
}

vkr_status vkr_broadcast_shape(const uint32_t a[4], const uint32_t b[4], const char* what, uint32_t out_shape[4]) {
    if (!out_shape) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: out_shape is NULL", what);
    memset(out_shape, 0, 4 * sizeof *out_shape);
    if (!a || !b) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: shape is NULL", what);
    for (int d = 0; d < 4; d++) {
        if (a[d] != b[d] && a[d] != 1 && b[d] != 1)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT,
                            "%s: shapes [%u,%u,%u,%u] and [%u,%u,%u,%u] do not broadcast (dim %d: %u vs %u)", what,
                            a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], d, a[d], b[d]);
    }
    for (int d = 0; d < 4; d++) out_shape[d] = a[d] > b[d] ? a[d] : b[d];
    return VKR_OK;
}

vkr_status vkr_ew_check_shape(const uint32_t shape[4], const char* op, const char* name) {
    for (int d = 0; d < 4; d++)
        if (shape[d] == 0)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s shape [%u,%u,%u,%u] has a zero dim", op, name, shape[0],
                            shape[1], shape[2], shape[3]);
    if (vkr_shape_numel(shape) > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s shape [%u,%u,%u,%u] has 2^32 or more elements", op, name,
                        shape[0], shape[1], shape[2], shape[3]);
    return VKR_OK;
}

void vkr_ew_broadcast_strides(const uint32_t shape[4], uint32_t strides[4]) {
    uint32_t s = 1;
    for (int d = 3; d >= 0; d--) {
        strides[d] = shape[d] == 1 ? 0 : s;
        s *= shape[d];
    }
}

bool vkr_ew_vec4(uint64_t n, const vkr_range* ranges, uint32_t count) {
    if (n % 4) return false;
    for (uint32_t i = 0; i < count; i++)
        if (ranges[i].offset % 16) return false;
    return true;
}

uint32_t vkr_ew_broadcast_index(const uint32_t out[4], const uint32_t strides[4], uint32_t o) {
    uint32_t idx = 0;
    for (int d = 3; d >= 0; d--) {
        idx += (o % out[d]) * strides[d];
        o /= out[d];
    }
    return idx;
}

