#version 460
#extension GL_GOOGLE_include_directive : require
// Backward of the mean pointwise loss, one invocation per pair, accumulating
// da += loss_grad / n * dloss/da and, for BPR only, db += loss_grad / n * dloss/db (for the other
// kinds binding 4 aliases da and is never touched).
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const uint KIND = 0u;
#include "nn_common.glsl"
#include "nn_loss.glsl"
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer LossGrad { float loss_grad[]; };
layout(std430, binding = 3) buffer DA { float da[]; };
layout(std430, binding = 4) buffer DB { float db[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
    uint i = nn_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    float g = loss_grad[0] / float(p.n);
    vec2 d = nn_loss_grad(KIND, a[i], b[i]);
    da[i] += g * d.x;
    if (KIND == NN_LOSS_BPR) db[i] += g * d.y;
}
