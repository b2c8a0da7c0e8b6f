// Row layout and fixed-order reductions for 1-D workgroups. A workgroup of gl_WorkGroupSize.x
// invocations (a power of two) handles gl_WorkGroupSize.x / NN_LANES rows, NN_LANES invocations
// (a power of two) per row, so narrow rows do not leave most of a workgroup idle. The reductions
// are shared-memory trees within each row's segment with the same pairing every run: bitwise
// reproducible, no atomics. Every invocation of the workgroup must call them (they contain
// barriers), including those whose row is past the end.
#include "nn_common.glsl"
layout(constant_id = 1) const uint NN_LANES = 64u;
shared float nn_red[gl_WorkGroupSize.x];

// This invocation's position within its row's segment.
uint nn_lane() { return gl_LocalInvocationID.x & (NN_LANES - 1u); }

// The row this invocation works on (may be >= the row count in the last workgroup).
uint nn_row() { return nn_group() * (gl_WorkGroupSize.x / NN_LANES) + gl_LocalInvocationID.x / NN_LANES; }

float nn_sum(float v) {
    if (NN_LANES == 1u) return v;
    uint t = gl_LocalInvocationID.x, lane = nn_lane();
    nn_red[t] = v;
    barrier();
    for (uint s = NN_LANES / 2u; s > 0u; s >>= 1) {
        if (lane < s) nn_red[t] += nn_red[t + s];
        barrier();
    }
    float r = nn_red[t - lane];
    barrier();
    return r;
}

float nn_max(float v) {
    if (NN_LANES == 1u) return v;
    uint t = gl_LocalInvocationID.x, lane = nn_lane();
    nn_red[t] = v;
    barrier();
    for (uint s = NN_LANES / 2u; s > 0u; s >>= 1) {
        if (lane < s) nn_red[t] = max(nn_red[t], nn_red[t + s]);
        barrier();
    }
    float r = nn_red[t - lane];
    barrier();
    return r;
}
