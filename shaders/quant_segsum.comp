#version 460
#extension GL_GOOGLE_include_directive : require
// Sums of rows grouped by code, first pass: workgroup b takes rows [b*block, (b+1)*block) and
// writes, for every code c, the sum of those rows whose code is c (psum[b][c][0..d)) and their
// count (pcount[b][c]). Invocation `lane` owns codes lane, lane+64, ...: it scans the block's codes
// (staged in shared memory) in row order, so each partial sum has a fixed order and no atomics are
// needed. Codes outside [0, k) match nothing. quant_segsum_reduce.comp adds the blocks up.
layout(local_size_x = 64) in;
#include "nn_common.glsl"
#define SEG_BLOCK 1024u
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Codes { int codes[]; };
layout(std430, binding = 2) buffer PSum { float psum[]; };
layout(std430, binding = 3) writeonly buffer PCount { uint pcount[]; };
layout(push_constant) uniform Push { uint n, k, d, code_stride, code_offset; } p;

shared int sc[SEG_BLOCK];

void main() {
    uint b = nn_group();
    uint r0 = b * SEG_BLOCK;
    uint rows = min(SEG_BLOCK, p.n - r0);
    for (uint i = gl_LocalInvocationID.x; i < rows; i += 64u) sc[i] = codes[(r0 + i) * p.code_stride + p.code_offset];
    barrier();
    for (uint c = gl_LocalInvocationID.x; c < p.k; c += 64u) {
        uint base = (b * p.k + c) * p.d;
        for (uint kk = 0u; kk < p.d; kk++) psum[base + kk] = 0.0;
        uint count = 0u;
        for (uint i = 0u; i < rows; i++) {
            if (sc[i] != int(c)) continue;
            count++;
            for (uint kk = 0u; kk < p.d; kk++) psum[base + kk] += x[(r0 + i) * p.d + kk];
        }
        pcount[b * p.k + c] = count;
    }
}
