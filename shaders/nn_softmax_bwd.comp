#version 460
#extension GL_GOOGLE_include_directive : require
// Backward of nn_softmax from its output y (row layout of nn_reduce.glsl), accumulating into dx:
//   softmax:     dx += scale * y * (dy - sum(dy * y))
//   log-softmax: dx += scale * (dy - exp(y) * sum(dy))
// Masked entries have y = 0 (softmax only), so they receive no gradient.
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const uint LOG = 0u;
#include "nn_reduce.glsl"
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };
layout(push_constant) uniform Push { uint rows; uint cols; float scale; } p;

void main() {
    uint row = nn_row(), lane = nn_lane(), base = row * p.cols;
    bool live = row < p.rows;
    float d = 0.0;
    if (live)
        for (uint j = lane; j < p.cols; j += NN_LANES) d += LOG != 0u ? dy[base + j] : dy[base + j] * y[base + j];
    d = nn_sum(d);
    if (!live) return;
    for (uint j = lane; j < p.cols; j += NN_LANES) {
        float g = LOG != 0u ? dy[base + j] - exp(y[base + j]) * d : y[base + j] * (dy[base + j] - d);
        dx[base + j] += p.scale * g;
    }
}
