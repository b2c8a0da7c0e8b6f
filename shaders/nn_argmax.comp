#version 460
#extension GL_GOOGLE_include_directive : require
// Argmax per row, one workgroup per row: each invocation keeps the best (key, index) of a strided
// subset, then a fixed tree picks the winner. The ranking (nn_rank_key, ties to the lower index) is
// a total order, so the result does not depend on the reduction shape.
layout(local_size_x_id = 0) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Idx { int idx[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } p;

shared uint s_key[gl_WorkGroupSize.x];
shared uint s_idx[gl_WorkGroupSize.x];

void main() {
    uint row = nn_group();
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x, base = row * p.cols;
    uint best_key = 0u, best_idx = 0xFFFFFFFFu; // ranks below every real element
    for (uint j = t; j < p.cols; j += gl_WorkGroupSize.x) {
        uint k = nn_rank_key(x[base + j]);
        if (nn_ranks_before(k, j, best_key, best_idx)) {
            best_key = k;
            best_idx = j;
        }
    }
    s_key[t] = best_key;
    s_idx[t] = best_idx;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (t < s && nn_ranks_before(s_key[t + s], s_idx[t + s], s_key[t], s_idx[t])) {
            s_key[t] = s_key[t + s];
            s_idx[t] = s_idx[t + s];
        }
        barrier();
    }
    if (t == 0u) idx[row] = int(s_idx[0]);
}
