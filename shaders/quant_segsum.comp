#version 460
#extension GL_GOOGLE_include_directive : require
// Sums of rows grouped by code, first pass: workgroup b takes rows [b*block, (b+1)*block) and
// writes, for every code c, the sum of those rows whose code is c (psum[b][c][0..d)) and their
// count (pcount[b][c]). The invocations split the d columns; all of them walk the block's rows in
// order, so every partial sum has a fixed order, and the row being added is the same for every
// invocation: its code is a uniform load and the d columns are contiguous (no scattered per-lane
// memory traffic, no atomics). Codes outside [0, k) match nothing. quant_segsum_reduce.comp adds
// the blocks up.
layout(local_size_x_id = 0) in; // the host picks about d invocations (8..64)
#include "nn_common.glsl"
#define SEG_BLOCK 1024u
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Codes { int codes[]; };
layout(std430, binding = 2) buffer PSum { float psum[]; };
layout(std430, binding = 3) buffer PCount { uint pcount[]; };
layout(push_constant) uniform Push { uint n, k, d, code_stride, code_offset; } p;

void main() {
    uint b = nn_group(), lane = gl_LocalInvocationID.x;
    uint r0 = b * SEG_BLOCK;
    uint rows = min(SEG_BLOCK, p.n - r0);
    for (uint e = lane; e < p.k * p.d; e += gl_WorkGroupSize.x) psum[b * p.k * p.d + e] = 0.0;
    for (uint c = lane; c < p.k; c += gl_WorkGroupSize.x) pcount[b * p.k + c] = 0u;
    memoryBarrierBuffer();
    barrier();
    for (uint i = 0u; i < rows; i++) {
        int c = codes[(r0 + i) * p.code_stride + p.code_offset];
        if (c < 0 || uint(c) >= p.k) continue;
        uint base = (b * p.k + uint(c)) * p.d;
        for (uint kk = lane; kk < p.d; kk += gl_WorkGroupSize.x) psum[base + kk] += x[(r0 + i) * p.d + kk];
        if (lane == 0u) pcount[b * p.k + uint(c)] += 1u;
    }
}
