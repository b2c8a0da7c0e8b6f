#version 460
#extension GL_GOOGLE_include_directive : require
// out[i] = sum_k c[i][k]^2 for rows i < n of a row-major n x d matrix (codeword norms for the
// norm expansion in quant_assign). One invocation per row, summed in index order.
layout(local_size_x = 64) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer C { float c[]; };
layout(std430, binding = 1) writeonly buffer Out { float norms[]; };
layout(push_constant) uniform Push { uint n, d; } p;

void main() {
    uint i = nn_group() * 64u + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    float s = 0.0;
    for (uint k = 0u; k < p.d; k++) s += c[i * p.d + k] * c[i * p.d + k];
    norms[i] = s;
}
