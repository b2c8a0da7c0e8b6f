#version 460
#extension GL_GOOGLE_include_directive : require
// Cross-entropy per row (row layout of nn_reduce.glsl): lse = logsumexp(scale * x), loss = lse -
// scale * x[target]. Writes stats[r] = loss and stats[rows + r] = lse (both 0 for rows that do not
// count, which skip the work).
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"
#include "nn_xent.glsl"
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) writeonly buffer Stats { float stats[]; };

void main() {
    uint row = nn_row(), lane = nn_lane(), base = row * p.classes;
    int target = row < p.rows ? nn_xent_class(row) : -1;
    bool live = target >= 0;
    float m = uintBitsToFloat(0xFF800000u); // -inf
    if (live)
        for (uint j = lane; j < p.classes; j += NN_LANES) m = max(m, p.scale * logits[base + j]);
    m = nn_max(m);
    float s = 0.0;
    if (live)
        for (uint j = lane; j < p.classes; j += NN_LANES) s += exp(p.scale * logits[base + j] - m);
    float lse = m + log(nn_sum(s));
    if (row < p.rows && lane == 0u) {
        stats[row] = live ? lse - p.scale * logits[base + uint(target)] : 0.0;
        stats[p.rows + row] = live ? lse : 0.0;
    }
}
