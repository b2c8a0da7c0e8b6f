/* Sum and mean along one axis: forward on the reduce-to engine, backward on the map engine. */
#include <string.h>

#include "vkr_ops_ew_internal.h"

static vkr_status vkr_reduce_check(const vkr_reduce_params* p, const char* op, uint32_t yshape[4]) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    VKR_TRY(vkr_ew_check_shape(p->shape, op, "x"));
    if (p->axis > 3) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: axis %u is not in 0..3", op, p->axis);
    memcpy(yshape, p->shape, 4 * sizeof *yshape);
    yshape[p->axis] = 1;
    return VKR_OK;
}

/* y = (1 or 1/len) * sum over the axis of x. */
static vkr_ew_reduce vkr_reduce_forward(const vkr_reduce_params* p, const uint32_t yshape[4]) {
    vkr_ew_reduce r = {.term = VKR_EW_TERM_DY, .alpha = p->mean ? 1.0f / (float)p->shape[p->axis] : 1.0f};
    memcpy(r.out, p->shape, sizeof r.out);
    memcpy(r.target, yshape, sizeof r.target);
    memcpy(r.a_shape, p->shape, sizeof r.a_shape);
    memcpy(r.b_shape, p->shape, sizeof r.b_shape);
    return r;
}

/* dx += (1 or 1/len) * dy broadcast over the axis. */
static vkr_ew_map vkr_reduce_backward(const vkr_reduce_params* p, const uint32_t yshape[4]) {
    vkr_ew_map m = {.op = VKR_EW_MAP_A, .alpha = p->mean ? 1.0f / (float)p->shape[p->axis] : 1.0f,
                    .accumulate = true};
    memcpy(m.out, p->shape, sizeof m.out);
    memcpy(m.a_shape, yshape, sizeof m.a_shape);
    memcpy(m.b_shape, yshape, sizeof m.b_shape);
    return m;
}

vkr_status vkr_ref_reduce(const vkr_reduce_params* p, const float* x, float* y) {
    uint32_t yshape[4];
    VKR_TRY(vkr_reduce_check(p, "vkr_ref_reduce", yshape));
    if (!x || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_reduce: x and y must not be NULL");
    vkr_ew_reduce r = vkr_reduce_forward(p, yshape);
    vkr_ew_ref_reduce(&r, x, NULL, NULL, y);
    return VKR_OK;
}

vkr_status vkr_ref_reduce_backward(const vkr_reduce_params* p, const float* dy, float* dx) {
    uint32_t yshape[4];
    VKR_TRY(vkr_reduce_check(p, "vkr_ref_reduce_backward", yshape));
    if (!dy || !dx) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_reduce_backward: dy and dx must not be NULL");
    vkr_ew_map m = vkr_reduce_backward(p, yshape);
    vkr_ew_ref_map(&m, dy, NULL, dx);
    return VKR_OK;
}

vkr_status vkr_gpu_reduce(vkr_sequence* seq, const vkr_reduce_params* p, vkr_range x, vkr_range y) {
    static const char* op = "vkr_gpu_reduce";
    uint32_t yshape[4];
    VKR_TRY(vkr_reduce_check(p, op, yshape));
    VKR_TRY(vkr_range_take_words(x, vkr_shape_numel(p->shape), op, "x", &x));
    VKR_TRY(vkr_range_take_words(y, vkr_shape_numel(yshape), op, "y", &y));
    vkr_ew_reduce r = vkr_reduce_forward(p, yshape);
    return vkr_ew_gpu_reduce(seq, &r, NULL, x, x, x, y, y);
}

vkr_status vkr_gpu_reduce_backward(vkr_sequence* seq, const vkr_reduce_params* p, vkr_range dy, vkr_range dx) {
    static const char* op = "vkr_gpu_reduce_backward";
    uint32_t yshape[4];
    VKR_TRY(vkr_reduce_check(p, op, yshape));
    VKR_TRY(vkr_range_take_words(dy, vkr_shape_numel(yshape), op, "dy", &dy));
    VKR_TRY(vkr_range_take_words(dx, vkr_shape_numel(p->shape), op, "dx", &dx));
    vkr_ew_map m = vkr_reduce_backward(p, yshape);
    return vkr_ew_gpu_map(seq, &m, dy, dy, dx);
}
