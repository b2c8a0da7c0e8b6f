#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Attractive term of the t-SNE gradient, attr_i = sum_j P_ij q_ij (y_i - y_j) with
// q_ij = 1 / (1 + |y_i - y_j|^2), over row i of the symmetric P in CSR form. A cluster of SG
// consecutive lanes of one subgroup shares a row: the lanes stride through its entries together and
// sum by shuffles. One invocation per row made every lane loop to the longest row among its
// neighbours (lavapipe, N = 5,000: ~7 ms per call that way, ~4.5 ms this way).
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer RowPtr { uint row_ptr[]; };
layout(std430, binding = 1) readonly buffer Col { uint col[]; };
layout(std430, binding = 2) readonly buffer Val { float val[]; };
layout(std430, binding = 3) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 4) writeonly buffer Attr { vec2 attr[]; };
layout(push_constant) uniform Push { uint n; } p;
layout(constant_id = 0) const uint SG = 8u; // lanes per row, a power of two dividing the subgroup size

void main() {
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint slot = gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID; // subgroup-aligned clusters
    uint row = group * (gl_WorkGroupSize.x / SG) + slot / SG, lane = gl_SubgroupInvocationID & (SG - 1u);
    uint i = min(row, p.n - 1u);
    vec2 yi = y[i], acc = vec2(0.0);
    // No early return: every lane of the cluster must reach the shuffles below. The row's end is read
    // once: the compiler keeps a buffer load in the loop condition, one more per-lane gather per
    // entry on a CPU driver (lavapipe, N = 100,000: 88 -> 71 ms per call).
    uint end = row_ptr[i + 1u];
    for (uint e = row_ptr[i] + lane; e < end; e += SG) {
        vec2 d = yi - y[min(col[e], p.n - 1u)];
        acc += val[e] / (1.0 + dot(d, d)) * d;
    }
    for (uint o = SG >> 1; o > 0u; o >>= 1) acc += subgroupShuffleXor(acc, o);
    if (lane == 0u && row < p.n) attr[row] = acc;
}
