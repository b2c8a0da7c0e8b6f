#version 460
// dx[i] += f'(saved[i]) * dy[i] for the unary ops of ew_unary.glsl (saved is x or y per op; the
// scale op reads nothing from it).
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"
#include "ew_unary.glsl"


layout(std430, binding = 0) readonly buffer S { float saved[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint n;      // elements
    uint op;     // vkr_unary_op
    float alpha; // scale factor or leaky slope
} p;

void main() {
    uint i = ew_global_index();
    if (i >= p.n) return;
    float s = p.op == 0u ? 0.0 : saved[i];
    dx[i] += ew_unary_grad(p.op, s, p.alpha) * dy[i];
}
