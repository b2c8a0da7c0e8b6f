#version 460
#extension GL_GOOGLE_include_directive : require
// Embedding backward from the CSR inverse index (layout in vkr_ops_nn.h): workgroup u owns distinct
// id u, sums dout over that id's positions in increasing order and adds the sum to dtable[id, :].
// One writer per table row and a fixed order: deterministic without atomics. Out-of-range counts,
// offsets, ids and positions are clamped or skipped.
layout(local_size_x_id = 0) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer Csr { int csr[]; };
layout(std430, binding = 1) readonly buffer DOut { float dout[]; };
layout(std430, binding = 2) buffer DTable { float dtable[]; };
layout(push_constant) uniform Push { uint vocab; uint dim; uint count; } p;

void main() {
    uint u = nn_group();
    uint unique = min(uint(max(csr[0], 0)), p.count);
    if (u >= unique) return;
    int id = csr[p.count + 2u + u];
    if (id < 0 || uint(id) >= p.vocab) return;
    uint first = uint(clamp(csr[1u + u], 0, int(p.count)));
    uint last = uint(clamp(csr[2u + u], int(first), int(p.count)));
    for (uint d = gl_LocalInvocationID.x; d < p.dim; d += gl_WorkGroupSize.x) {
        float acc = 0.0;
        for (uint k = first; k < last; k++) {
            int pos = csr[2u * p.count + 2u + k];
            if (pos >= 0 && uint(pos) < p.count) acc += dout[uint(pos) * p.dim + d];
        }
        dtable[uint(id) * p.dim + d] += acc;
    }
}
