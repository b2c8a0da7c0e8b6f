#version 460
#extension GL_GOOGLE_include_directive : require
// Layer-norm input gradient (row layout of nn_reduce.glsl), accumulating into dx. With
// g = dy * gamma and xhat = (x - mean) * rstd:  dx += rstd * (g - mean(g) - xhat * mean(g * xhat)).
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Stats { float stats[]; };
layout(std430, binding = 3) readonly buffer DY { float dy[]; };
layout(std430, binding = 4) buffer DX { float dx[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } p;

void main() {
    uint row = nn_row(), lane = nn_lane(), base = row * p.cols;
    bool live = row < p.rows;
    float mean = live ? stats[row] : 0.0, rstd = live ? stats[p.rows + row] : 0.0;
    float a = 0.0, b = 0.0;
    if (live)
        for (uint j = lane; j < p.cols; j += NN_LANES) {
            float g = dy[base + j] * gamma[j];
            a += g;
            b += g * (x[base + j] - mean) * rstd;
        }
    a = nn_sum(a) / float(p.cols);
    b = nn_sum(b) / float(p.cols);
    if (!live) return;
    for (uint j = lane; j < p.cols; j += NN_LANES) {
        float g = dy[base + j] * gamma[j];
        float xhat = (x[base + j] - mean) * rstd;
        dx[base + j] += rstd * (g - a - xhat * b);
    }
}
