#version 460
// dx[i] += f'(saved[i]) * dy[i] for the unary ops of ew_unary.glsl (saved is x or y per op; the
// scale op reads nothing from it).
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"
#include "ew_unary.glsl"


layout(constant_id = 1) const uint OP = 0;  // vkr_unary_op (a spec constant, as in ew_unary.comp)
layout(constant_id = 2) const uint VEC4 = 0; // 1: each invocation handles one vec4 (n % 4 == 0, aligned)

layout(std430, binding = 0) readonly buffer S { float saved[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };
layout(std430, binding = 0) readonly buffer S4 { vec4 saved4[]; };
layout(std430, binding = 1) readonly buffer DY4 { vec4 dy4[]; };
layout(std430, binding = 2) buffer DX4 { vec4 dx4[]; };

layout(push_constant) uniform Push {
    uint n;      // elements
    float alpha; // scale factor or leaky slope
} p;

void main() {
    uint i = ew_global_index();
    if (VEC4 != 0u) {
        if (i >= p.n / 4u) return;
        vec4 s = OP == 0u ? vec4(0.0) : saved4[i];
        vec4 g = vec4(ew_unary_grad(OP, s.x, p.alpha), ew_unary_grad(OP, s.y, p.alpha), ew_unary_grad(OP, s.z, p.alpha),
                      ew_unary_grad(OP, s.w, p.alpha));
        dx4[i] += g * dy4[i];
        return;
    }
    if (i >= p.n) return;
    float s = OP == 0u ? 0.0 : saved[i];
    dx[i] += ew_unary_grad(OP, s, p.alpha) * dy[i];
}
