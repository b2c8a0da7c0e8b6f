#version 460
#extension GL_GOOGLE_include_directive : require
// Mean pointwise loss (KIND from nn_loss.glsl) over n pairs by one workgroup (NN_LANES = workgroup
// size): per-pair losses summed by strided invocations, then a fixed tree; loss[0] = sum / n.
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const uint KIND = 0u;
#include "nn_reduce.glsl"
#include "nn_loss.glsl"
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Loss { float loss[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
    float s = 0.0;
    for (uint i = nn_lane(); i < p.n; i += NN_LANES) s += nn_loss_value(KIND, a[i], b[i]);
    s = nn_sum(s);
    if (gl_LocalInvocationID.x == 0u) loss[0] = s / float(p.n);
}
