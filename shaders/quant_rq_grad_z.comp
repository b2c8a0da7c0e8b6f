#version 460
#extension GL_GOOGLE_include_directive : require
// Commitment-loss gradient of the encoder output: dz[i] += alpha * g[0] * sum_l r_{l+1}[i], with
// the residuals (level l at l * lstride) saved by the loss's forward (quant_rq_residuals mode 1). One
// invocation per element.
layout(local_size_x = 256) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer R { float resid[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer DZ { float dz[]; };
layout(push_constant) uniform Push { uint count, levels, lstride; float alpha; } p;

void main() {
    uint e = nn_group() * 256u + gl_LocalInvocationID.x;
    if (e >= p.count) return;
    float s = 0.0;
    for (uint l = 0u; l < p.levels; l++) s += resid[l * p.lstride + e];
    dz[e] += p.alpha * g[0] * s;
}
