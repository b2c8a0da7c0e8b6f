#version 460
// big[.] (=|+=) part[.]: concat forward (overwrite) and slice backward (accumulate). See
// ew_concat.glsl for the layout.
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"

layout(constant_id = 1) const uint ACCUMULATE = 0; // 1: big += part
layout(constant_id = 2) const uint VEC4 = 0;      // 1: units are vec4s

layout(std430, binding = 0) buffer Big { float big[]; };
layout(std430, binding = 1) readonly buffer PartA { float pa[]; };
layout(std430, binding = 2) readonly buffer PartB { float pb[]; };

layout(std430, binding = 0) buffer Big4 { vec4 big4[]; };
layout(std430, binding = 1) readonly buffer PartA4 { vec4 pa4[]; };
layout(std430, binding = 2) readonly buffer PartB4 { vec4 pb4[]; };

#include "ew_concat.glsl"

void main() {
    uint i = ew_global_index();
    if (i >= p.a_n + p.b_n) return;
    bool in_a;
    uint s, bi;
    ew_concat_locate(i, in_a, s, bi);
    if (VEC4 != 0u) {
        vec4 v = in_a ? pa4[s] : pb4[s];
        if (ACCUMULATE != 0u) v += big4[bi];
        big4[bi] = v;
        return;
    }
    float v = in_a ? pa[s] : pb[s];
    if (ACCUMULATE != 0u) v += big[bi];
    big[bi] = v;
}
