#version 460
// Inverted dropout, y[i] (=|+=) keep(i) ? x[i] * scale : 0, where keep(i) compares word i % 4 of
// Philox4x32-10(counter = {i / 4, stream, 0, 0}, key) with an integer threshold, exactly as
// graph/vkr_ops_ew_dropout.c does on the CPU, so masks match bit for bit. Each invocation handles
// the four elements of one Philox block. The backward pass is the same with ACCUMULATE = 1.
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"

layout(constant_id = 1) const uint ACCUMULATE = 0; // 1: y += result
layout(constant_id = 2) const uint STEPPED = 0;    // 1: the stream word comes from Step[0] (a training
                                                   // step counter that a replayed sequence advances)

layout(constant_id = 3) const uint VEC4 = 0;     // 1: the block's four elements move as one vec4
                                                   // (n % 4 == 0, aligned)

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) buffer Y4 { vec4 y4[]; };
layout(std430, binding = 2) readonly buffer Step { uint step[]; };

layout(push_constant) uniform Push {
    uint n;         // elements
    uint threshold; // keep iff random word >= threshold
    float scale;    // 1 / (1 - p)
    uint key0;      // seed, low word
    uint key1;      // seed, high word
    uint stream;    // counter word 1 when not STEPPED
} p;

uvec4 philox4x32_10(uvec4 c, uvec2 k) {
    for (int round = 0; round < 10; round++) {
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, c.x, hi0, lo0);
        umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
        c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k += uvec2(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

void main() {
    uint block = ew_global_index();
    uint first = block * 4u;
    if (first >= p.n) return;
    uvec4 r = philox4x32_10(uvec4(block, STEPPED != 0u ? step[0] : p.stream, 0u, 0u), uvec2(p.key0, p.key1));
    if (VEC4 != 0u) {
        precise vec4 v = mix(vec4(0.0), x4[block] * p.scale, greaterThanEqual(r, uvec4(p.threshold)));
        if (ACCUMULATE != 0u) v += y4[block];
        y4[block] = v;
        return;
    }
    for (uint j = 0u; j < 4u && first + j < p.n; j++) {
        uint i = first + j;
        // precise: no fused multiply-add, so the backward sum rounds like the CPU's too
        precise float v = r[j] >= p.threshold ? x[i] * p.scale : 0.0;
        if (ACCUMULATE != 0u) v += y[i];
        y[i] = v;
    }
}
