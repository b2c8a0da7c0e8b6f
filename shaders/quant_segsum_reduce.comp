#version 460
#extension GL_GOOGLE_include_directive : require
// Sums of rows grouped by code, second pass: one invocation per (code c, dim kk) adds the blocks'
// partial sums in block order. mode 0 (k-means update): out[c] = sum / count, left unchanged when
// no row has code c. mode 1 (codebook gradient): out[c] += alpha * scale[0] * sum. Both write the
// total count of each code to counts[c]. out rows start at out_base.
layout(local_size_x = 64) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer PSum { float psum[]; };
layout(std430, binding = 1) readonly buffer PCount { uint pcount[]; };
layout(std430, binding = 2) readonly buffer Scale { float scale[]; };
layout(std430, binding = 3) buffer Out { float outv[]; };
layout(std430, binding = 4) writeonly buffer Counts { uint counts[]; };
layout(push_constant) uniform Push { uint blocks, k, d, mode, out_base; float alpha; } p;

void main() {
    uint e = nn_group() * 64u + gl_LocalInvocationID.x;
    if (e >= p.k * p.d) return;
    uint c = e / p.d, kk = e % p.d;
    float s = 0.0;
    uint count = 0u;
    for (uint b = 0u; b < p.blocks; b++) {
        s += psum[(b * p.k + c) * p.d + kk];
        count += pcount[b * p.k + c];
    }
    uint o = (p.out_base + c) * p.d + kk;
    if (p.mode == 0u) {
        if (count > 0u) outv[o] = s / float(count);
    } else {
        outv[o] += p.alpha * scale[0] * s;
    }
    if (kk == 0u) counts[c] = count;
}
