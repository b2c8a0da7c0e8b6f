#version 460
// part[.] (=|+=) big[.]: slice forward (overwrite) and concat backward (accumulate). See
// ew_concat.glsl for the layout.
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"

layout(constant_id = 1) const uint ACCUMULATE = 0; // 1: part += big
layout(constant_id = 2) const uint VEC4 = 0;      // 1: units are vec4s

layout(std430, binding = 0) readonly buffer Big { float big[]; };
layout(std430, binding = 1) buffer PartA { float pa[]; };
layout(std430, binding = 2) buffer PartB { float pb[]; };

layout(std430, binding = 0) readonly buffer Big4 { vec4 big4[]; };
layout(std430, binding = 1) buffer PartA4 { vec4 pa4[]; };
layout(std430, binding = 2) buffer PartB4 { vec4 pb4[]; };

#include "ew_concat.glsl"

void main() {
    uint i = ew_global_index();
    if (i >= p.a_n + p.b_n) return;
    bool in_a;
    uint s, bi;
    ew_concat_locate(i, in_a, s, bi);
    if (VEC4 != 0u) {
        vec4 v = big4[bi];
        if (in_a) {
            if (ACCUMULATE != 0u) v += pa4[s];
            pa4[s] = v;
        } else {
            if (ACCUMULATE != 0u) v += pb4[s];
            pb4[s] = v;
        }
        return;
    }
    float v = big[bi];
    if (in_a) {
        if (ACCUMULATE != 0u) v += pa[s];
        pa[s] = v;
    } else {
        if (ACCUMULATE != 0u) v += pb[s];
        pb[s] = v;
    }
}
