#version 460
// Reduce-to engine: g[t] (=|+=) alpha * sum of term(dy[o], a[.], b[.]) over every o of dy's dims
// that maps to t of the target dims (target dims are dy's dims with 1 on the summed dims). Binary
// backward (gradients of broadcast inputs) and axis sum/mean use it.
//
// Determinism: the order of every sum is fixed by the shapes and the spec constants. With
// PER_GROUP = 0 each invocation sums its target's terms in ascending order; with PER_GROUP = 1 a
// workgroup owns one target, invocation i sums terms i, i + WG, ..., then a fixed shared-memory
// tree combines the partial sums. The host sizes workgroups so that no invocation loops more than
// 32768 times: lavapipe (Mesa 22) silently ends every loop of an invocation once the invocation has
// run 65535 loop iterations in total.
//
// The indexing mode is a spec constant, not a push-constant branch: llvmpipe runs the code behind
// an untaken or returned-from branch anyway (masked), which made the general path's divisions cost
// every elementwise gradient 5-8x.
//
// Pair mode (term2 != NONE, only with nothing summed): g2 gets a second term of the same element,
// so the two gradients of a non-broadcast binary op cost one pass over dy.
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"

layout(constant_id = 1) const uint ACCUMULATE = 0; // 1: g += result
layout(constant_id = 2) const uint PER_GROUP = 0;  // 1: one workgroup per target element
// 0 direct: nothing summed and dy, a, b, g share one shape, so every index is t;
// 1 linear: term r of target t sits r * lin_* past t's first term (sums over adjacent dims);
// 2 general: coordinates are decomposed per term.
layout(constant_id = 3) const uint MODE = 2;
// The summands (vkr_ew_term codes) are spec constants too: llvmpipe would otherwise run every
// case's loads (masked) for every term.
layout(constant_id = 4) const uint TERM = 0;
layout(constant_id = 5) const uint TERM2 = 0xffffffffu;
layout(constant_id = 6) const uint VEC4 = 0; // 1 (MODE 0 only): one vec4 per invocation (nt % 4 == 0, aligned)

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) buffer G { float g[]; };
layout(std430, binding = 4) buffer G2 { float g2[]; };
layout(std430, binding = 0) readonly buffer DY4 { vec4 dy4[]; };
layout(std430, binding = 1) readonly buffer A4 { vec4 a4[]; };
layout(std430, binding = 2) readonly buffer B4 { vec4 b4[]; };
layout(std430, binding = 3) buffer G4 { vec4 g4[]; };
layout(std430, binding = 4) buffer G24 { vec4 g24[]; };

const uint TERM_NONE = 0xffffffffu;

layout(push_constant) uniform Push {
    uvec4 dims;     // dy's dims
    uvec4 target;   // g's dims
    uvec4 a_stride; // a's broadcast strides over dy's coordinates
    uvec4 b_stride; // b's broadcast strides over dy's coordinates
    uint nt;        // target elements
    uint nr;        // terms summed per target
    float alpha;    // factor applied to g's sum
    float alpha2;   // factor applied to g2's sum
    uint lin_dy;    // MODE 1: dy's step per term
    uint lin_a;     // MODE 1: a's step per term
    uint lin_b;     // MODE 1: b's step per term
} p;

shared float partial[PER_GROUP != 0u ? gl_WorkGroupSize.x : 1u];

// One summand: vkr_ew_term codes 0 dy, 1 dy*b, 2 dy*a, 3 dy/b, 4 dy*a/(b*b).
float term_value(uint term, uint o, uint ia, uint ib) {
    float d = dy[o];
    switch (term) {
        case 0u: return d;
        case 1u: return d * b[ib];
        case 2u: return d * a[ia];
        case 3u: return d / b[ib];
        default: { float vb = b[ib]; return d * a[ia] / (vb * vb); }
    }
}

// term_value of four consecutive elements (MODE 0, VEC4).
vec4 term_value4(uint term, uint t) {
    vec4 d = dy4[t];
    switch (term) {
        case 0u: return d;
        case 1u: return d * b4[t];
        case 2u: return d * a4[t];
        case 3u: return d / b4[t];
        default: { vec4 vb = b4[t]; return d * a4[t] / (vb * vb); }
    }
}

void store(uint t, float sum) {
    float v = p.alpha * sum;
    if (ACCUMULATE != 0u) v += g[t];
    g[t] = v;
}

void store2(uint t, float sum) {
    float v = p.alpha2 * sum;
    if (ACCUMULATE != 0u) v += g2[t];
    g2[t] = v;
}

void main() {
    if (VEC4 != 0u) {
        uint t = ew_global_index();
        if (t >= p.nt / 4u) return;
        vec4 v = p.alpha * term_value4(TERM, t);
        if (ACCUMULATE != 0u) v += g4[t];
        g4[t] = v;
        if (TERM2 != TERM_NONE) {
            vec4 v2 = p.alpha2 * term_value4(TERM2, t);
            if (ACCUMULATE != 0u) v2 += g24[t];
            g24[t] = v2;
        }
        return;
    }
    uint t = PER_GROUP != 0u ? ew_group_index() : ew_global_index();
    if (t >= p.nt) return; // uniform across the workgroup in PER_GROUP mode
    if (MODE == 0u) {
        store(t, term_value(TERM, t, t, t));
        if (TERM2 != TERM_NONE) store2(t, term_value(TERM2, t, t, t));
        return;
    }
    // Summed dims are those where the target is 1; their extents come from dy's dims.
    uvec4 rdims = uvec4(p.target.x == 1u ? p.dims.x : 1u, p.target.y == 1u ? p.dims.y : 1u,
                        p.target.z == 1u ? p.dims.z : 1u, p.target.w == 1u ? p.dims.w : 1u);
    uvec4 tc = ew_coords(t, p.target);
    uvec4 ostride = ew_strides(p.dims);
    uint o0 = ew_offset(tc, ostride), a0 = ew_offset(tc, p.a_stride), b0 = ew_offset(tc, p.b_stride);

    uint first = PER_GROUP != 0u ? gl_LocalInvocationIndex : 0u;
    uint step = PER_GROUP != 0u ? gl_WorkGroupSize.x : 1u;
    float sum = 0.0;
    for (uint r = first; r < p.nr; r += step) {
        if (MODE == 1u) {
            sum += term_value(TERM, o0 + r * p.lin_dy, a0 + r * p.lin_a, b0 + r * p.lin_b);
        } else {
            uvec4 rc = ew_coords(r, rdims);
            sum += term_value(TERM, o0 + ew_offset(rc, ostride), a0 + ew_offset(rc, p.a_stride),
                              b0 + ew_offset(rc, p.b_stride));
        }
    }
    if (PER_GROUP != 0u) {
        partial[gl_LocalInvocationIndex] = sum;
        barrier();
        for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
            if (gl_LocalInvocationIndex < s)
                partial[gl_LocalInvocationIndex] += partial[gl_LocalInvocationIndex + s];
            barrier();
        }
        if (gl_LocalInvocationIndex == 0u) store(t, partial[0]);
        return;
    }
    store(t, sum);
    if (TERM2 != TERM_NONE) store2(t, term_value(TERM2, o0, a0, b0));
}
