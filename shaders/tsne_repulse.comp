#version 460
#extension GL_GOOGLE_include_directive : require
// Exact t-SNE repulsion: rep_i = sum_j q_ij^2 (y_i - y_j) and zrow_i = sum_{j != i} q_ij, one
// invocation per point, all points streamed through shared-memory tiles. The self pair adds
// q = 1 and no force, so it is subtracted once at the end instead of branching in the loop.
layout(local_size_x_id = 0) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) writeonly buffer Rep { vec2 rep[]; };
layout(std430, binding = 2) writeonly buffer Z { float zrow[]; };
layout(push_constant) uniform Push { uint n; } p;
layout(constant_id = 0) const uint WG = 128u;
shared vec2 tile[WG];

void main() {
    uint i = tsne_index(), t = gl_LocalInvocationID.x;
    vec2 yi = y[min(i, p.n - 1u)], f = vec2(0.0);
    float z = 0.0;
    for (uint base = 0u; base < p.n; base += WG) {
        tile[t] = y[min(base + t, p.n - 1u)];
        barrier();
        uint count = min(WG, p.n - base);
        for (uint s = 0u; s < count; s++) {
            vec2 d = yi - tile[s];
            float q = 1.0 / (1.0 + dot(d, d));
            z += q;
            f += (q * q) * d;
        }
        barrier();
    }
    if (i < p.n) {
        rep[i] = f;
        zrow[i] = z - 1.0;
    }
}
