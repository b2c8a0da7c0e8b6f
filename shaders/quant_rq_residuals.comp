#version 460
#extension GL_GOOGLE_include_directive : require
// Residual quantization bookkeeping, one invocation per row i, from z [n, d], the stacked
// codebooks [levels, k, d] and codes [n, levels]: r_0 = z, r_{l+1} = r_l - C_l[code_l].
// mode 0: out [n, d] = sum_l C_l[code_l], the quantized vector (rowsq untouched).
// mode 1: out holds r_1 .. r_L (level l at l * lstride + i * d) and rowsq[i] = sum over levels
// and dims of r^2.
// A code outside [0, k) contributes a zero codeword.
layout(local_size_x = 64) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer Z { float z[]; };
layout(std430, binding = 1) readonly buffer C { float cb[]; };
layout(std430, binding = 2) readonly buffer Codes { int codes[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
layout(std430, binding = 4) writeonly buffer RowSq { float rowsq[]; };
layout(push_constant) uniform Push { uint n, levels, k, d, mode, lstride; } p;

void main() {
    uint i = nn_group() * 64u + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    float sq = 0.0;
    for (uint kk = 0u; kk < p.d; kk++) {
        float r = z[i * p.d + kk], q = 0.0;
        for (uint l = 0u; l < p.levels; l++) {
            int c = codes[i * p.levels + l];
            float cw = (c >= 0 && uint(c) < p.k) ? cb[(l * p.k + uint(c)) * p.d + kk] : 0.0;
            r -= cw;
            q += cw;
            if (p.mode == 1u) {
                outv[l * p.lstride + i * p.d + kk] = r;
                sq += r * r;
            }
        }
        if (p.mode == 0u) outv[i * p.d + kk] = q;
    }
    if (p.mode == 1u) rowsq[i] = sq;
}
