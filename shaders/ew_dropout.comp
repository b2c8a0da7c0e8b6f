#version 460
// Inverted dropout, y[i] (=|+=) keep(i) ? x[i] * scale : 0, where keep(i) compares word i % 4 of
// Philox4x32-10(counter = {i / 4, stream, 0, 0}, key) with an integer threshold, exactly as
// graph/vkr_ops_ew_dropout.c does on the CPU, so masks match bit for bit. Each invocation handles
// the four elements of one Philox block. The backward pass is the same with BACKWARD = 1 (dx +=).
//
// Fused neighbours (one pass instead of two or three): RELU applies max(x, 0) before the mask (its
// backward also zeroes the gradient where the saved input S is <= 0); RESIDUAL adds R to the output
// (its backward accumulates dy into R, the residual's gradient).
#extension GL_GOOGLE_include_directive : require
#include "ew_common.glsl"

layout(constant_id = 1) const uint BACKWARD = 0; // 1: X is dy, Y is dx (accumulated)
layout(constant_id = 2) const uint STEPPED = 0;  // 1: the stream word comes from Step[0] (a training
                                                 // step counter that a replayed sequence advances)
layout(constant_id = 3) const uint VEC4 = 0;     // 1: the block's four elements move as one vec4
                                                 // (n % 4 == 0, aligned)
layout(constant_id = 4) const uint RELU = 0;     // 1: dropout(relu(x))
layout(constant_id = 5) const uint RESIDUAL = 0; // 1: R + dropout(.); backward: R += dy
layout(constant_id = 6) const uint WRITE_Y = 1;  // 0 (backward only): x needs no gradient, Y is untouched

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) buffer Y4 { vec4 y4[]; };
layout(std430, binding = 2) readonly buffer Step { uint step[]; };
layout(std430, binding = 3) buffer R { float res[]; };
layout(std430, binding = 3) buffer R4 { vec4 res4[]; };
layout(std430, binding = 4) readonly buffer S { float saved[]; };
layout(std430, binding = 4) readonly buffer S4 { vec4 saved4[]; };

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
    bvec4 keep = greaterThanEqual(r, uvec4(p.threshold));
    if (VEC4 != 0u) {
        vec4 in4 = x4[block];
        if (RELU != 0u && BACKWARD == 0u) in4 = mix(vec4(0.0), in4, greaterThan(in4, vec4(0.0)));
        if (RELU != 0u && BACKWARD != 0u) keep = bvec4(uvec4(keep) & uvec4(greaterThan(saved4[block], vec4(0.0))));
        // precise: no fused multiply-add, so sums round like the CPU's
        precise vec4 v = mix(vec4(0.0), in4 * p.scale, keep);
        if (RESIDUAL != 0u && BACKWARD == 0u) v = res4[block] + v;
        if (RESIDUAL != 0u && BACKWARD != 0u) res4[block] += in4;
        if (BACKWARD != 0u && WRITE_Y != 0u) v += y4[block];
        if (WRITE_Y != 0u) y4[block] = v;
        return;
    }
    for (uint j = 0u; j < 4u && first + j < p.n; j++) {
        uint i = first + j;
        float in1 = x[i];
        if (RELU != 0u && BACKWARD == 0u) in1 = in1 > 0.0 ? in1 : 0.0;
        bool k = keep[j] && (RELU == 0u || BACKWARD == 0u || saved[i] > 0.0);
        precise float v = k ? in1 * p.scale : 0.0;
        if (RESIDUAL != 0u && BACKWARD == 0u) v = res[i] + v;
        if (RESIDUAL != 0u && BACKWARD != 0u) res[i] += in1;
        if (BACKWARD != 0u && WRITE_Y != 0u) v += y[i];
        if (WRITE_Y != 0u) y[i] = v;
    }
}
