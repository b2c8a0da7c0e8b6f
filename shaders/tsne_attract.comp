#version 460
#extension GL_GOOGLE_include_directive : require
// Attractive term of the t-SNE gradient, attr_i = sum_j P_ij q_ij (y_i - y_j) with
// q_ij = 1 / (1 + |y_i - y_j|^2), over row i of the symmetric P in CSR form; one invocation per point.
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer RowPtr { uint row_ptr[]; };
layout(std430, binding = 1) readonly buffer Col { uint col[]; };
layout(std430, binding = 2) readonly buffer Val { float val[]; };
layout(std430, binding = 3) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 4) writeonly buffer Attr { vec2 attr[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
    uint i = tsne_index();
    if (i >= p.n) return;
    vec2 yi = y[i], acc = vec2(0.0);
    for (uint e = row_ptr[i]; e < row_ptr[i + 1u]; e++) {
        vec2 d = yi - y[min(col[e], p.n - 1u)];
        acc += val[e] / (1.0 + dot(d, d)) * d;
    }
    attr[i] = acc;
}
