#version 460
#extension GL_GOOGLE_include_directive : require
// out[0] = scale * sum(x[0..n)) by one workgroup (NN_LANES = workgroup size): strided
// per-invocation sums, then a fixed tree.
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float out_sum[]; };
layout(push_constant) uniform Push { uint n; float scale; } p;

void main() {
    float s = 0.0;
    for (uint i = nn_lane(); i < p.n; i += NN_LANES) s += x[i];
    s = nn_sum(s);
    if (gl_LocalInvocationID.x == 0u) out_sum[0] = p.scale * s;
}
