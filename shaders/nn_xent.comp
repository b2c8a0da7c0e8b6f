#version 460
#extension GL_GOOGLE_include_directive : require
// Cross-entropy per row, one workgroup per row: lse = logsumexp(scale * x), loss = lse - scale *
// x[target]. Writes stats[r] = loss (0 for rows that do not count) and stats[rows + r] = lse.
layout(local_size_x_id = 0) in;
#include "nn_common.glsl"
#include "nn_reduce.glsl"
#include "nn_xent.glsl"
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) writeonly buffer Stats { float stats[]; };

void main() {
    uint row = nn_group();
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x, base = row * p.classes;
    int target = nn_xent_class(row);
    if (target < 0) { // uniform: the whole workgroup skips an ignored row
        if (t == 0u) {
            stats[row] = 0.0;
            stats[p.rows + row] = 0.0;
        }
        return;
    }
    float m = uintBitsToFloat(0xFF800000u);
    for (uint j = t; j < p.classes; j += gl_WorkGroupSize.x) m = max(m, p.scale * logits[base + j]);
    m = nn_max(m);
    float s = 0.0;
    for (uint j = t; j < p.classes; j += gl_WorkGroupSize.x) s += exp(p.scale * logits[base + j] - m);
    float lse = m + log(nn_sum(s));
    if (t == 0u) {
        stats[row] = lse - p.scale * logits[base + uint(target)];
        stats[p.rows + row] = lse;
    }
}
