#version 460
// Map engine: y[o] (=|+=) alpha * op(a[.], b[.]) over y's dims, a and b broadcast to them through
// strides that are 0 on their size-1 dims. Binary forward ops and reduce backward use it.
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"

layout(constant_id = 1) const uint ACCUMULATE = 0; // 1: y += result (y is read and written)
// 1: a, b and y all have y's shape, so indices are o itself. A spec constant rather than a push
// constant: llvmpipe executes untaken branches (masked), so the broadcast path's divisions would
// cost the plain path too.
layout(constant_id = 2) const uint SAME = 0;
layout(constant_id = 3) const uint OP = 0;   // vkr_ew_map_op: 0 add, 1 sub, 2 mul, 3 div, 4 a (spec, for the same reason)
// 1: one vec4 of y per invocation (y's last dim % 4 == 0, ranges aligned); a and b are read as vec4s,
// or as one scalar splat where their last-dim stride is 0 (A_SPLAT, B_SPLAT).
layout(constant_id = 4) const uint VEC4 = 0;
layout(constant_id = 5) const uint A_SPLAT = 0;
layout(constant_id = 6) const uint B_SPLAT = 0;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(std430, binding = 2) buffer Y4 { vec4 y4[]; };

layout(push_constant) uniform Push {
    uvec4 dims;     // y's dims
    uvec4 a_stride; // a's broadcast strides
    uvec4 b_stride; // b's broadcast strides
    uint n;         // y's element count
    float alpha;    // factor applied to the result
} p;

// Four consecutive elements of a or b starting at element index i (i % 4 == 0 unless splat).
vec4 load_a4(uint i) { return A_SPLAT != 0u ? vec4(a[i]) : a4[i >> 2]; }
vec4 load_b4(uint i) { return B_SPLAT != 0u ? vec4(b[i]) : b4[i >> 2]; }

vec4 op4(vec4 va, uint ib) {
    switch (OP) {
        case 0u: return va + load_b4(ib);
        case 1u: return va - load_b4(ib);
        case 2u: return va * load_b4(ib);
        case 3u: return va / load_b4(ib);
        default: return va;
    }
}

void main() {
    uint o = ew_global_index();
    if (VEC4 != 0u) {
        if (o >= p.n / 4u) return;
        uint ia = 4u * o, ib = 4u * o;
        if (SAME == 0u) {
            uvec4 c = ew_coords(4u * o, p.dims);
            ia = ew_offset(c, p.a_stride);
            ib = ew_offset(c, p.b_stride);
        }
        vec4 v = op4(load_a4(ia), ib) * p.alpha;
        if (ACCUMULATE != 0u) v += y4[o];
        y4[o] = v;
        return;
    }
    if (o >= p.n) return;
    uint ia = o, ib = o;
    if (SAME == 0u) {
        uvec4 c = ew_coords(o, p.dims);
        ia = ew_offset(c, p.a_stride);
        ib = ew_offset(c, p.b_stride);
    }
    float va = a[ia];
    float v;
    switch (OP) {
        case 0u: v = va + b[ib]; break;
        case 1u: v = va - b[ib]; break;
        case 2u: v = va * b[ib]; break;
        case 3u: v = va / b[ib]; break;
        default: v = va; break;
    }
    v *= p.alpha;
    if (ACCUMULATE != 0u) v += y[o];
    y[o] = v;
}
