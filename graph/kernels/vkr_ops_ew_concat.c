/* Concat of two tensors and slicing along one axis, forward and backward. All four are one data
 * movement between a "big" tensor viewed as [outer, len, inner] and parts [outer, part_len, inner]
 * occupying ranges of its axis, in one direction (scatter: parts -> big; gather: big -> parts),
 * overwriting or accumulating. */
#include <string.h>

#include "vkr_ops_ew_internal.h"

/* One part of the big tensor's axis. */
typedef struct vkr_part {
    uint32_t len; /* extent along the axis (0: no part) */
    uint32_t off; /* first index along the big axis */
} vkr_part;

/* The big tensor's geometry around the axis. */
typedef struct vkr_axis_view {
    uint32_t outer; /* product of the dims before the axis */
    uint32_t len;   /* the axis' extent */
    uint32_t inner; /* product of the dims after the axis */
} vkr_axis_view;

static vkr_axis_view vkr_axis_view_of(const uint32_t shape[4], uint32_t axis) {
    vkr_axis_view v = {1, shape[axis], 1};
    for (uint32_t d = 0; d < 4; d++) {
        if (d < axis) v.outer *= shape[d];
        if (d > axis) v.inner *= shape[d];
    }
    return v;
}

static void vkr_row_move(float* dst, const float* src, uint64_t n, bool accumulate) {
    for (uint64_t i = 0; i < n; i++) dst[i] = accumulate ? dst[i] + src[i] : src[i];
}

/* CPU scatter: big[.] (=|+=) part[.] for each part with data. */
static void vkr_scatter_ref(vkr_axis_view v, float* big, const vkr_part parts[2], const float* const data[2],
                            bool accumulate) {
    for (int k = 0; k < 2; k++) {
        const uint64_t row = (uint64_t)parts[k].len * v.inner;
        for (uint64_t o = 0; data[k] && o < v.outer; o++)
            vkr_row_move(big + (o * v.len + parts[k].off) * v.inner, data[k] + o * row, row, accumulate);
    }
}

/* CPU gather: part[.] (=|+=) big[.] for each part with data. */
static void vkr_gather_ref(vkr_axis_view v, const float* big, const vkr_part parts[2], float* const data[2],
                           bool accumulate) {
    for (int k = 0; k < 2; k++) {
        const uint64_t row = (uint64_t)parts[k].len * v.inner;
        for (uint64_t o = 0; data[k] && o < v.outer; o++)
            vkr_row_move(data[k] + o * row, big + (o * v.len + parts[k].off) * v.inner, row, accumulate);
    }
}

/* Push constants of ew_concat_scatter.comp and ew_concat_gather.comp. */
typedef struct vkr_move_push {
    uint32_t len, a_len, a_off, b_len, b_off, a_n, b_n;
} vkr_move_push;

/* GPU mover; ranges are already checked. An absent part repeats the other's range with length 0. */
static vkr_status vkr_move_gpu(vkr_sequence* seq, vkr_axis_view v, vkr_range big, const vkr_part parts[2],
                               const vkr_range data[2], bool scatter, bool accumulate) {
    /* The kernel sees [outer, len * inner] rows: the inner dims fold into the axis. When every row
     * extent and offset is a multiple of 4 it moves vec4s, in units of 4 floats. */
    const uint32_t fold[5] = {v.len * v.inner, parts[0].len * v.inner, parts[0].off * v.inner,
                              parts[1].len * v.inner, parts[1].off * v.inner};
    const vkr_range r[3] = {big, data[0], data[1]};
    bool vec4 = vkr_ew_vec4(0, r, 3);
    for (int i = 0; i < 5; i++) vec4 = vec4 && fold[i] % 4 == 0;
    const uint32_t q = vec4 ? 4 : 1;
    vkr_move_push push = {fold[0] / q, fold[1] / q, fold[2] / q, fold[3] / q, fold[4] / q,
                          v.outer * (fold[1] / q), v.outer * (fold[3] / q)};
    const vkr_access write = accumulate ? VKR_READ_WRITE : VKR_WRITE;
    vkr_kernel_desc d = {.shader = scatter ? "ew_concat_scatter" : "ew_concat_gather", .binding_count = 3,
                         .push_bytes = sizeof push, .spec_count = 3, .spec = {VKR_EW_WG, accumulate, vec4}};
    d.access[0] = scatter ? write : VKR_READ;
    d.access[1] = d.access[2] = scatter ? VKR_READ : write;
    const uint64_t n = (uint64_t)push.a_n + push.b_n;
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, (n + VKR_EW_WG - 1) / VKR_EW_WG);
}

/* ---- concat ---- */

vkr_status vkr_concat_shape(const vkr_concat_params* p, uint32_t out_shape[4]) {
    if (!out_shape) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_concat_shape: out_shape is NULL");
    memset(out_shape, 0, 4 * sizeof *out_shape);
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "concat: params is NULL");
    VKR_TRY(vkr_ew_check_shape(p->a_shape, "concat", "a"));
    VKR_TRY(vkr_ew_check_shape(p->b_shape, "concat", "b"));
    if (p->axis > 3) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "concat: axis %u is not in 0..3", p->axis);
    for (uint32_t d = 0; d < 4; d++)
        if (d != p->axis && p->a_shape[d] != p->b_shape[d])
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "concat: a and b differ in dim %u (%u vs %u), not the axis %u", d,
                            p->a_shape[d], p->b_shape[d], p->axis);
    uint32_t out[4];
    memcpy(out, p->a_shape, sizeof out);
    uint64_t len = (uint64_t)p->a_shape[p->axis] + p->b_shape[p->axis];
    out[p->axis] = len > UINT32_MAX ? 0 : (uint32_t)len;
    VKR_TRY(vkr_ew_check_shape(out, "concat", "y"));
    memcpy(out_shape, out, sizeof out);
    return VKR_OK;
}

static void vkr_concat_parts(const vkr_concat_params* p, vkr_part parts[2]) {
    parts[0] = (vkr_part){p->a_shape[p->axis], 0};
    parts[1] = (vkr_part){p->b_shape[p->axis], p->a_shape[p->axis]};
}

vkr_status vkr_ref_concat(const vkr_concat_params* p, const float* a, const float* b, float* y) {
    uint32_t out[4];
    VKR_TRY(vkr_concat_shape(p, out));
    if (!a || !b || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_concat: a, b and y must not be NULL");
    vkr_part parts[2];
    vkr_concat_parts(p, parts);
    const float* const data[2] = {a, b};
    vkr_scatter_ref(vkr_axis_view_of(out, p->axis), y, parts, data, false);
    return VKR_OK;
}

vkr_status vkr_ref_concat_backward(const vkr_concat_params* p, const float* dy, float* da, float* db) {
    uint32_t out[4];
    VKR_TRY(vkr_concat_shape(p, out));
    if (!dy) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_concat_backward: dy is NULL");
    vkr_part parts[2];
    vkr_concat_parts(p, parts);
    float* const data[2] = {da, db};
    vkr_gather_ref(vkr_axis_view_of(out, p->axis), dy, parts, data, true);
    return VKR_OK;
}

vkr_status vkr_gpu_concat(vkr_sequence* seq, const vkr_concat_params* p, vkr_range a, vkr_range b, vkr_range y) {
    static const char* op = "vkr_gpu_concat";
    uint32_t out[4];
    VKR_TRY(vkr_concat_shape(p, out));
    vkr_range data[2];
    VKR_TRY(vkr_range_take_words(a, vkr_shape_numel(p->a_shape), op, "a", &data[0]));
    VKR_TRY(vkr_range_take_words(b, vkr_shape_numel(p->b_shape), op, "b", &data[1]));
    VKR_TRY(vkr_range_take_words(y, vkr_shape_numel(out), op, "y", &y));
    vkr_part parts[2];
    vkr_concat_parts(p, parts);
    return vkr_move_gpu(seq, vkr_axis_view_of(out, p->axis), y, parts, data, true, false);
}

vkr_status vkr_gpu_concat_backward(vkr_sequence* seq, const vkr_concat_params* p, vkr_range dy, vkr_range da,
                                   vkr_range db) {
    static const char* op = "vkr_gpu_concat_backward";
    uint32_t out[4];
    VKR_TRY(vkr_concat_shape(p, out));
    VKR_TRY(vkr_range_take_words(dy, vkr_shape_numel(out), op, "dy", &dy));
    vkr_part parts[2];
    vkr_concat_parts(p, parts);
    vkr_range data[2] = {{0}, {0}};
    if (da.buffer) VKR_TRY(vkr_range_take_words(da, vkr_shape_numel(p->a_shape), op, "da", &data[0]));
    if (db.buffer) VKR_TRY(vkr_range_take_words(db, vkr_shape_numel(p->b_shape), op, "db", &data[1]));
    if (!da.buffer && !db.buffer) return VKR_OK;
    /* A missing gradient becomes an empty part whose binding repeats the other's range. */
    for (int k = 0; k < 2; k++)
        if (!data[k].buffer) {
            data[k] = data[1 - k];
            parts[k].len = 0;
        }
    return vkr_move_gpu(seq, vkr_axis_view_of(out, p->axis), dy, parts, data, false, true);
}

/* ---- slice ---- */

static vkr_status vkr_slice_check(const vkr_slice_params* p, const char* op, uint32_t yshape[4]) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    VKR_TRY(vkr_ew_check_shape(p->shape, op, "x"));
    if (p->axis > 3) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: axis %u is not in 0..3", op, p->axis);
    if (p->length == 0 || p->offset >= p->shape[p->axis] || p->length > p->shape[p->axis] - p->offset)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: slice [%u, +%u) is empty or outside axis %u of extent %u", op,
                        p->offset, p->length, p->axis, p->shape[p->axis]);
    memcpy(yshape, p->shape, 4 * sizeof *yshape);
    yshape[p->axis] = p->length;
    return VKR_OK;
}

vkr_status vkr_ref_slice(const vkr_slice_params* p, const float* x, float* y) {
    uint32_t ys[4];
    VKR_TRY(vkr_slice_check(p, "vkr_ref_slice", ys));
    if (!x || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_slice: x and y must not be NULL");
    const vkr_part parts[2] = {{p->length, p->offset}, {0, 0}};
    float* const data[2] = {y, NULL};
    vkr_gather_ref(vkr_axis_view_of(p->shape, p->axis), x, parts, data, false);
    return VKR_OK;
}

vkr_status vkr_ref_slice_backward(const vkr_slice_params* p, const float* dy, float* dx) {
    uint32_t ys[4];
    VKR_TRY(vkr_slice_check(p, "vkr_ref_slice_backward", ys));
    if (!dy || !dx) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_slice_backward: dy and dx must not be NULL");
    const vkr_part parts[2] = {{p->length, p->offset}, {0, 0}};
    const float* const data[2] = {dy, NULL};
    vkr_scatter_ref(vkr_axis_view_of(p->shape, p->axis), dx, parts, data, true);
    return VKR_OK;
}

vkr_status vkr_gpu_slice(vkr_sequence* seq, const vkr_slice_params* p, vkr_range x, vkr_range y) {
    static const char* op = "vkr_gpu_slice";
    uint32_t ys[4];
    VKR_TRY(vkr_slice_check(p, op, ys));
    VKR_TRY(vkr_range_take_words(x, vkr_shape_numel(p->shape), op, "x", &x));
    VKR_TRY(vkr_range_take_words(y, vkr_shape_numel(ys), op, "y", &y));
    const vkr_part parts[2] = {{p->length, p->offset}, {0, 0}};
    const vkr_range data[2] = {y, y};
    return vkr_move_gpu(seq, vkr_axis_view_of(p->shape, p->axis), x, parts, data, false, false);
}

vkr_status vkr_gpu_slice_backward(vkr_sequence* seq, const vkr_slice_params* p, vkr_range dy, vkr_range dx) {
    static const char* op = "vkr_gpu_slice_backward";
    uint32_t ys[4];
    VKR_TRY(vkr_slice_check(p, op, ys));
    VKR_TRY(vkr_range_take_words(dy, vkr_shape_numel(ys), op, "dy", &dy));
    VKR_TRY(vkr_range_take_words(dx, vkr_shape_numel(p->shape), op, "dx", &dx));
    const vkr_part parts[2] = {{p->length, p->offset}, {0, 0}};
    const vkr_range data[2] = {dy, dy};
    return vkr_move_gpu(seq, vkr_axis_view_of(p->shape, p->axis), dx, parts, data, true, true);
}
