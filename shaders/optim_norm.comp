#version 460
// Global-norm clipping, pass 1: the sum of squares of one gradient, one partial per workgroup.
// Workgroup w covers the fixed block [w*WG*items, (w+1)*WG*items) and reduces it in a fixed tree,
// so the partials (and the norm) are bitwise reproducible run to run. No atomics.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Grad { float grad[]; };
layout(std430, binding = 1) writeonly buffer Partials { float part[]; };
layout(push_constant) uniform Push { uint n; uint items; } pc;
shared float red[gl_WorkGroupSize.x];

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint wg = gl_WorkGroupSize.x;
    uint base = gl_WorkGroupID.x * wg * pc.items;
    float acc = 0.0;
    for (uint k = 0u; k < pc.items; k++) {
        uint i = base + k * wg + lid;
        if (i < pc.n) acc += grad[i] * grad[i];
    }
    red[lid] = acc;
    barrier();
    for (uint s = wg / 2u; s > 0u; s >>= 1u) {
        if (lid < s) red[lid] += red[lid + s];
        barrier();
    }
    if (lid == 0u) part[gl_WorkGroupID.x] = red[0];
}
