#version 460
// y[i] = f(x[i]) for the unary ops of ew_unary.glsl. x and y may be the same range.
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"
#include "ew_unary.glsl"


layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    uint n;      // elements
    uint op;     // vkr_unary_op
    float alpha; // scale factor or leaky slope
} p;

void main() {
    uint i = ew_global_index();
    if (i < p.n) y[i] = ew_unary(p.op, x[i], p.alpha);
}
