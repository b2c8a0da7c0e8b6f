/* Broadcasting add/sub/mul/div, forward and backward, on the map and reduce-to engines. */
#include <string.h>

#include "vkr_ops_ew_internal.h"

/* Validates p and computes the output shape. */
static vkr_status vkr_binary_check(const vkr_binary_params* p, const char* op, uint32_t out[4]) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", op);
    if ((unsigned)p->op >= VKR_BINARY_COUNT)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: unknown binary op %d", op, (int)p->op);
    VKR_TRY(vkr_ew_check_shape(p->a_shape, op, "a"));
    VKR_TRY(vkr_ew_check_shape(p->b_shape, op, "b"));
    VKR_TRY(vkr_broadcast_shape(p->a_shape, p->b_shape, op, out));
    return vkr_ew_check_shape(out, op, "y");
}

static vkr_ew_map vkr_binary_map(const vkr_binary_params* p, const uint32_t out[4]) {
    vkr_ew_map m = {.op = (vkr_ew_map_op)p->op, .alpha = 1.0f};
    memcpy(m.out, out, sizeof m.out);
    memcpy(m.a_shape, p->a_shape, sizeof m.a_shape);
    memcpy(m.b_shape, p->b_shape, sizeof m.b_shape);
    return m;
}

/* The reduction giving input `which`'s gradient (0: a, 1: b):
 *   add: da = dy,   db = dy          sub: da = dy,     db = -dy
 *   mul: da = dy*b, db = dy*a        div: da = dy / b, db = -dy * a / b^2
 * each summed over the dims along which that input was broadcast. */
static vkr_ew_reduce vkr_binary_grad(const vkr_binary_params* p, const uint32_t out[4], int which) {
    static const vkr_ew_term terms[VKR_BINARY_COUNT][2] = {
        [VKR_BINARY_ADD] = {VKR_EW_TERM_DY, VKR_EW_TERM_DY},
        [VKR_BINARY_SUB] = {VKR_EW_TERM_DY, VKR_EW_TERM_DY},
        [VKR_BINARY_MUL] = {VKR_EW_TERM_DY_B, VKR_EW_TERM_DY_A},
        [VKR_BINARY_DIV] = {VKR_EW_TERM_DY_OVER_B, VKR_EW_TERM_DY_A_OVER_BB},
    };
    const bool negate = which == 1 && (p->op == VKR_BINARY_SUB || p->op == VKR_BINARY_DIV);
    vkr_ew_reduce r = {.term = terms[p->op][which], .alpha = negate ? -1.0f : 1.0f, .accumulate = true};
    memcpy(r.out, out, sizeof r.out);
    memcpy(r.target, which == 0 ? p->a_shape : p->b_shape, sizeof r.target);
    memcpy(r.a_shape, p->a_shape, sizeof r.a_shape);
    memcpy(r.b_shape, p->b_shape, sizeof r.b_shape);
    return r;
}

vkr_status vkr_ref_binary(const vkr_binary_params* p, const float* a, const float* b, float* y) {
    uint32_t out[4];
    VKR_TRY(vkr_binary_check(p, "vkr_ref_binary", out));
    if (!a || !b || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_binary: a, b and y must not be NULL");
    vkr_ew_map m = vkr_binary_map(p, out);
    vkr_ew_ref_map(&m, a, b, y);
    return VKR_OK;
}

vkr_status vkr_ref_binary_backward(const vkr_binary_params* p, const float* a, const float* b, const float* dy,
                                   float* da, float* db) {
    static const char* op = "vkr_ref_binary_backward";
    uint32_t out[4];
    VKR_TRY(vkr_binary_check(p, op, out));
    if (!dy) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: dy is NULL", op);
    float* grads[2] = {da, db};
    for (int which = 0; which < 2; which++) {
        if (!grads[which]) continue;
        vkr_ew_reduce r = vkr_binary_grad(p, out, which);
        if ((vkr_ew_term_uses_a(r.term) && !a) || (vkr_ew_term_uses_b(r.term) && !b))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %s needs the forward inputs (a or b is NULL)", op,
                            which == 0 ? "da" : "db");
    }
    for (int which = 0; which < 2; which++) {
        if (!grads[which]) continue;
        vkr_ew_reduce r = vkr_binary_grad(p, out, which);
        vkr_ew_ref_reduce(&r, dy, a, b, grads[which]);
    }
    return VKR_OK;
}

vkr_status vkr_gpu_binary(vkr_sequence* seq, const vkr_binary_params* p, vkr_range a, vkr_range b, vkr_range y) {
    static const char* op = "vkr_gpu_binary";
    uint32_t out[4];
    VKR_TRY(vkr_binary_check(p, op, out));
    VKR_TRY(vkr_range_take_words(a, vkr_shape_numel(p->a_shape), op, "a", &a));
    VKR_TRY(vkr_range_take_words(b, vkr_shape_numel(p->b_shape), op, "b", &b));
    VKR_TRY(vkr_range_take_words(y, vkr_shape_numel(out), op, "y", &y));
    vkr_ew_map m = vkr_binary_map(p, out);
    return vkr_ew_gpu_map(seq, &m, a, b, y);
}

vkr_status vkr_gpu_binary_backward(vkr_sequence* seq, const vkr_binary_params* p, vkr_range a, vkr_range b,
                                   vkr_range dy, vkr_range da, vkr_range db) {
    static const char* op = "vkr_gpu_binary_backward";
    uint32_t out[4];
    VKR_TRY(vkr_binary_check(p, op, out));
    VKR_TRY(vkr_range_take_words(dy, vkr_shape_numel(out), op, "dy", &dy));
    const bool want[2] = {da.buffer != NULL, db.buffer != NULL};
    vkr_ew_reduce r[2] = {vkr_binary_grad(p, out, 0), vkr_binary_grad(p, out, 1)};
    bool need_a = false, need_b = false;
    for (int which = 0; which < 2; which++) {
        need_a |= want[which] && vkr_ew_term_uses_a(r[which].term);
        need_b |= want[which] && vkr_ew_term_uses_b(r[which].term);
    }
    /* Inputs no term reads are bound to dy's range: declared as reads, they add no barrier. */
    if (need_a) VKR_TRY(vkr_range_take_words(a, vkr_shape_numel(p->a_shape), op, "a", &a));
    else a = dy;
    if (need_b) VKR_TRY(vkr_range_take_words(b, vkr_shape_numel(p->b_shape), op, "b", &b));
    else b = dy;
    if (want[0]) VKR_TRY(vkr_range_take_words(da, vkr_shape_numel(p->a_shape), op, "da", &da));
    if (want[1]) VKR_TRY(vkr_range_take_words(db, vkr_shape_numel(p->b_shape), op, "db", &db));
    if (want[0] && want[1] && memcmp(p->a_shape, out, sizeof out) == 0 && memcmp(p->b_shape, out, sizeof out) == 0)
        return vkr_ew_gpu_reduce(seq, &r[0], &r[1], dy, a, b, da, db);
    if (want[0]) VKR_TRY(vkr_ew_gpu_reduce(seq, &r[0], NULL, dy, a, b, da, da));
    if (want[1]) VKR_TRY(vkr_ew_gpu_reduce(seq, &r[1], NULL, dy, a, b, db, db));
    return VKR_OK;
}
