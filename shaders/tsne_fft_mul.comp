#version 460
#extension GL_GOOGLE_include_directive : require
// Pointwise product of `count` grids' transforms with the kernel transform (convolution theorem).
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer K { vec2 kern[]; };
layout(std430, binding = 1) buffer Grid { vec2 grid[]; };
layout(push_constant) uniform Push { uint plane; uint count; } p;

vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }

void main() {
    uint e = tsne_index();
    if (e >= p.plane) return;
    vec2 k = kern[e];
    for (uint g = 0u; g < p.count; g++) grid[g * p.plane + e] = cmul(grid[g * p.plane + e], k);
}
