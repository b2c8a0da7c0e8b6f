#version 460
#extension GL_GOOGLE_include_directive : require
// Layer norm over each row (row layout of nn_reduce.glsl): two-pass mean/variance (stable), then
// y = (x - mean) * rstd * gamma + beta. Saves stats = [means (rows) | rstd (rows)].
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(std430, binding = 4) writeonly buffer Stats { float stats[]; };
layout(push_constant) uniform Push { uint rows; uint cols; float eps; } p;

void main() {
    uint row = nn_row(), lane = nn_lane(), base = row * p.cols;
    bool live = row < p.rows;
    float s = 0.0;
    if (live)
        for (uint j = lane; j < p.cols; j += NN_LANES) s += x[base + j];
    float mean = nn_sum(s) / float(p.cols);
    float q = 0.0;
    if (live)
        for (uint j = lane; j < p.cols; j += NN_LANES) {
            float d = x[base + j] - mean;
            q += d * d;
        }
    float rstd = 1.0 / sqrt(nn_sum(q) / float(p.cols) + p.eps);
    if (!live) return;
    for (uint j = lane; j < p.cols; j += NN_LANES) y[base + j] = (x[base + j] - mean) * rstd * gamma[j] + beta[j];
    if (lane == 0u) {
        stats[row] = mean;
        stats[p.rows + row] = rstd;
    }
}
