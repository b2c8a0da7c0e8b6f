#version 460
#extension GL_GOOGLE_include_directive : require
// Embedding lookup out[i, :] = table[idx[i], :], one invocation per output element; an index
// outside [0, vocab) yields a zero row (never an out-of-bounds read).
layout(local_size_x_id = 0) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer Table { float table[]; };
layout(std430, binding = 1) readonly buffer Idx { int idx[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Push { uint vocab; uint dim; uint count; } p;

void main() {
    uint e = nn_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (e >= p.count * p.dim) return;
    uint i = e / p.dim, d = e - i * p.dim;
    int id = idx[i];
    outv[e] = id >= 0 && uint(id) < p.vocab ? table[uint(id) * p.dim + d] : 0.0;
}
