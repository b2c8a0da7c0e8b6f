#version 460
#extension GL_GOOGLE_include_directive : require
// Layer-norm parameter gradients as column sums over rows, accumulated into dgamma and dbeta:
//   dgamma[c] += sum_r dy[r,c] * xhat[r,c],  dbeta[c] += sum_r dy[r,c].
// A workgroup owns 32 columns; its 8 row lanes each sum a fixed strided subset of the rows, then a
// fixed tree adds the lanes: deterministic, no atomics.
layout(local_size_x = 32, local_size_y = 8) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Stats { float stats[]; };
layout(std430, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, binding = 3) buffer DGamma { float dgamma[]; };
layout(std430, binding = 4) buffer DBeta { float dbeta[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } p;

shared float s_g[8][32];
shared float s_b[8][32];

void main() {
    uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y;
    uint c = nn_group() * 32u + lx;
    float sg = 0.0, sb = 0.0;
    if (c < p.cols) {
        for (uint r = ly; r < p.rows; r += 8u) {
            float d = dy[r * p.cols + c];
            sg += d * (x[r * p.cols + c] - stats[r]) * stats[p.rows + r];
            sb += d;
        }
    }
    s_g[ly][lx] = sg;
    s_b[ly][lx] = sb;
    barrier();
    for (uint s = 4u; s > 0u; s >>= 1) {
        if (ly < s) {
            s_g[ly][lx] += s_g[ly + s][lx];
            s_b[ly][lx] += s_b[ly + s][lx];
        }
        barrier();
    }
    if (ly == 0u && c < p.cols) {
        dgamma[c] += s_g[0][lx];
        dbeta[c] += s_b[0][lx];
    }
}
