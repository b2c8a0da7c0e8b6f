#version 460
#extension GL_GOOGLE_include_directive : require
// Argmax per row (row layout of nn_reduce.glsl): each invocation keeps the best (key, index) of a
// strided subset of its row, then a fixed tree over the row's segment picks the winner. The ranking
// (nn_rank_key, ties to the lower index) is a total order, so the result does not depend on the
// reduction shape.
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Idx { int idx[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } p;

shared uint s_key[gl_WorkGroupSize.x];
shared uint s_idx[gl_WorkGroupSize.x];

void main() {
    uint row = nn_row(), lane = nn_lane(), t = gl_LocalInvocationID.x, base = row * p.cols;
    uint best_key = 0u, best_idx = 0xFFFFFFFFu; // ranks below every real element
    if (row < p.rows)
        for (uint j = lane; j < p.cols; j += NN_LANES) {
            uint k = nn_rank_key(x[base + j]);
            if (nn_ranks_before(k, j, best_key, best_idx)) {
                best_key = k;
                best_idx = j;
            }
        }
    s_key[t] = best_key;
    s_idx[t] = best_idx;
    barrier();
    for (uint s = NN_LANES / 2u; s > 0u; s >>= 1) {
        if (lane < s && nn_ranks_before(s_key[t + s], s_idx[t + s], s_key[t], s_idx[t])) {
            s_key[t] = s_key[t + s];
            s_idx[t] = s_idx[t + s];
        }
        barrier();
    }
    if (row < p.rows && lane == 0u) idx[row] = int(s_idx[t]);
}
