#version 460
// Pairwise squared distances D[i][j] = sum_k (x[i][k] - y[j][k])^2 for X (n x d), Y (m x d), both
// row-major. The differences are summed directly rather than as |x|^2 + |y|^2 - 2 x.y, which
// cancels catastrophically for close points (exactly the neighbours t-SNE cares about). Each
// invocation computes a 4 x 4 block; indices are clamped so loads stay inside X and Y.
layout(local_size_x = 8, local_size_y = 8) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer D { float dist[]; };
layout(push_constant) uniform Push { uint n, m, d, group_x0, group_y0; } p;

void main() {
    uint i0 = ((p.group_y0 + gl_WorkGroupID.y) * 8u + gl_LocalInvocationID.y) * 4u;
    uint j0 = ((p.group_x0 + gl_WorkGroupID.x) * 8u + gl_LocalInvocationID.x) * 4u;
    uint xr[4], yr[4];
    for (uint t = 0; t < 4u; t++) {
        xr[t] = min(i0 + t, p.n - 1u) * p.d;
        yr[t] = min(j0 + t, p.m - 1u) * p.d;
    }
    vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
    for (uint k = 0; k < p.d; k++) {
        vec4 yv = vec4(y[yr[0] + k], y[yr[1] + k], y[yr[2] + k], y[yr[3] + k]);
        for (uint t = 0; t < 4u; t++) {
            vec4 diff = x[xr[t] + k] - yv;
            acc[t] += diff * diff;
        }
    }
    for (uint t = 0; t < 4u; t++) {
        uint i = i0 + t;
        if (i >= p.n) break;
        for (uint u = 0; u < 4u; u++)
            if (j0 + u < p.m) dist[i * p.m + j0 + u] = acc[t][u];
    }
}
