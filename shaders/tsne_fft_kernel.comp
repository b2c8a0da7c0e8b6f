#version 460
#extension GL_GOOGLE_include_directive : require
// Circulant embedding of the kernel q^2 = (1 + r^2)^-2 over node offsets in an L x L complex grid:
// entry (row, col) holds the kernel at offset (di, dj) * spacing where di = row for row < n,
// row - L for row > L - n, and nothing (0) in between; likewise dj.
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer Geom { vec4 geom; };
layout(std430, binding = 1) writeonly buffer K { vec2 kern[]; };
layout(push_constant) uniform Push { uint L; uint nodes; } p;

float offset_of(uint i, out bool used) {
    used = i < p.nodes || i > p.L - p.nodes;
    return i < p.nodes ? float(i) : float(int(i) - int(p.L));
}

void main() {
    uint e = tsne_index();
    if (e >= p.L * p.L) return;
    bool ur, uc;
    float di = offset_of(e / p.L, ur), dj = offset_of(e % p.L, uc);
    float r2 = (di * di + dj * dj) * geom.w * geom.w;
    float q = 1.0 / (1.0 + r2);
    kern[e] = vec2(ur && uc ? q * q : 0.0, 0.0);
}
