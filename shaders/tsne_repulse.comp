#version 460
#extension GL_GOOGLE_include_directive : require
// Exact t-SNE repulsion: rep_i = sum_j q_ij^2 (y_i - y_j) and zrow_i = sum_{j != i} q_ij, all points
// streamed through shared-memory tiles. Each invocation owns PPI points (register blocking): every
// y_j read from the tile then feeds PPI independent pair evaluations, which hides the latency of the
// division and, on a CPU driver, amortizes the per-tile barriers (coroutine switches) PPI times.
// The self pair adds q = 1 and no force, so it is subtracted once at the end instead of branching.
// Workgroup g owns points [g WG PPI, (g + 1) WG PPI); invocation t the points t + m WG, m < PPI.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) writeonly buffer Rep { vec2 rep[]; };
layout(std430, binding = 2) writeonly buffer Z { float zrow[]; };
layout(push_constant) uniform Push { uint n; } p;
layout(constant_id = 0) const uint WG = 64u;
layout(constant_id = 1) const uint PPI = 4u;
shared vec2 tile[WG * PPI];

void main() {
    uint t = gl_LocalInvocationID.x, tile_len = WG * PPI;
    uint first = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * tile_len + t;
    vec2 yi[PPI], f[PPI];
    float z[PPI];
    for (uint m = 0u; m < PPI; m++) {
        yi[m] = y[min(first + m * WG, p.n - 1u)];
        f[m] = vec2(0.0);
        z[m] = 0.0;
    }
    for (uint base = 0u; base < p.n; base += tile_len) {
        for (uint m = 0u; m < PPI; m++) tile[t + m * WG] = y[min(base + t + m * WG, p.n - 1u)];
        barrier();
        uint count = min(tile_len, p.n - base);
        for (uint s = 0u; s < count; s++) {
            vec2 yj = tile[s];
            for (uint m = 0u; m < PPI; m++) {
                vec2 d = yi[m] - yj;
                float q = 1.0 / (1.0 + dot(d, d));
                z[m] += q;
                f[m] += (q * q) * d;
            }
        }
        barrier();
    }
    for (uint m = 0u; m < PPI; m++) {
        uint i = first + m * WG;
        if (i < p.n) {
            rep[i] = f[m];
            zrow[i] = z[m] - 1.0;
        }
    }
}
