#version 460
#extension GL_GOOGLE_include_directive : require
// Softmax (LOG = 0) or log-softmax (LOG = 1) of scale * x over each row (row layout of
// nn_reduce.glsl). The same kernel is the attention core: with q_len/heads set it applies the
// causal mask (query i sees key j iff j + q_len <= i + cols) and the per-batch key-padding mask
// (int32 [batch, cols], 0 = padding). Excluded entries are 0; a row with nothing visible is all
// zeros.
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const uint LOG = 0u;
#include "nn_reduce.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Mask { int key_mask[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint rows;     // rows of x
    uint cols;     // row length (keys)
    uint q_len;    // rows per (batch, head) block; 1 without masks
    uint heads;    // heads per batch entry; 1 without masks
    float scale;   // multiplies x
    uint causal;   // 1: causal mask
    uint has_mask; // 1: key_mask is bound and used
} p;

// Key j is visible when it is before the causal end and not padding. vis_end and mask_base are
// per-row values computed once (integer division per element is slow on some devices).
bool visible(uint j, uint vis_end, uint mask_base) {
    return j < vis_end && (p.has_mask == 0u || key_mask[mask_base + j] != 0);
}

void main() {
    uint row = nn_row(), lane = nn_lane(), base = row * p.cols;
    bool live = row < p.rows;
    uint vis_end = p.cols, mask_base = 0u;
    if (live) {
        uint i = row % p.q_len; // query position; it sees keys j with j + q_len <= i + cols
        if (p.causal != 0u) vis_end = i + p.cols + 1u > p.q_len ? min(p.cols, i + p.cols + 1u - p.q_len) : 0u;
        mask_base = (row / p.q_len / p.heads) * p.cols;
    }
    float m = uintBitsToFloat(0xFF800000u); // -inf
    if (live)
        for (uint j = lane; j < vis_end; j += NN_LANES)
            if (visible(j, vis_end, mask_base)) m = max(m, p.scale * x[base + j]);
    m = nn_max(m);
    float s = 0.0;
    if (live)
        for (uint j = lane; j < vis_end; j += NN_LANES)
            if (visible(j, vis_end, mask_base)) s += exp(p.scale * x[base + j] - m);
    s = nn_sum(s);
    if (!live) return;
    float log_s = log(s);
    for (uint j = lane; j < p.cols; j += NN_LANES) {
        float v = 0.0;
        if (s > 0.0 && visible(j, vis_end, mask_base)) {
            float z = p.scale * x[base + j] - m;
            v = LOG != 0u ? z - log_s : exp(z) / s;
        }
        y[base + j] = v;
    }
}
