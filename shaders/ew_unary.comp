#version 460
// y[i] = f(x[i]) for the unary ops of ew_unary.glsl. x and y may be the same range.
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"
#include "ew_unary.glsl"


// The op is a spec constant: llvmpipe would run every case of a push-constant switch (masked).
layout(constant_id = 1) const uint OP = 0;  // vkr_unary_op
layout(constant_id = 2) const uint VEC4 = 0; // 1: each invocation maps one vec4 (n % 4 == 0, aligned)

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Y4 { vec4 y4[]; };

layout(push_constant) uniform Push {
    uint n;      // elements
    float alpha; // scale factor or leaky slope
} p;

void main() {
    uint i = ew_global_index();
    if (VEC4 != 0u) {
        if (i < p.n / 4u) {
            vec4 v = x4[i];
            y4[i] = vec4(ew_unary(OP, v.x, p.alpha), ew_unary(OP, v.y, p.alpha), ew_unary(OP, v.z, p.alpha),
                         ew_unary(OP, v.w, p.alpha));
        }
    } else if (i < p.n) {
        y[i] = ew_unary(OP, x[i], p.alpha);
    }
}
