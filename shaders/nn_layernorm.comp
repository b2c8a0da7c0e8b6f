#version 460
#extension GL_GOOGLE_include_directive : require
// Layer norm over each row, one workgroup per row: two-pass mean/variance (stable), then
// y = (x - mean) * rstd * gamma + beta. Saves stats = [means (rows) | rstd (rows)].
layout(local_size_x_id = 0) in;
#include "nn_common.glsl"
#include "nn_reduce.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(std430, binding = 4) writeonly buffer Stats { float stats[]; };
layout(push_constant) uniform Push { uint rows; uint cols; float eps; } p;

void main() {
    uint row = nn_group();
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x, base = row * p.cols;
    float s = 0.0;
    for (uint j = t; j < p.cols; j += gl_WorkGroupSize.x) s += x[base + j];
    float mean = nn_sum(s) / float(p.cols);
    float q = 0.0;
    for (uint j = t; j < p.cols; j += gl_WorkGroupSize.x) {
        float d = x[base + j] - mean;
        q += d * d;
    }
    float rstd = 1.0 / sqrt(nn_sum(q) / float(p.cols) + p.eps);
    for (uint j = t; j < p.cols; j += gl_WorkGroupSize.x)
        y[base + j] = (x[base + j] - mean) * rstd * gamma[j] + beta[j];
    if (t == 0u) {
        stats[row] = mean;
        stats[p.rows + row] = rstd;
    }
}
