#version 460
#extension GL_GOOGLE_include_directive : require
// Box of every point (row-major box index) and the number of points per box (integer atomics).
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) readonly buffer Geom { vec4 geom; };
layout(std430, binding = 2) writeonly buffer BoxOf { uint box_of[]; };
layout(std430, binding = 3) buffer Counts { uint counts[]; };
layout(push_constant) uniform Push { uint n; uint nb; } p;

void main() {
    uint i = tsne_index();
    if (i >= p.n) return;
    uvec2 box;
    vec2 local;
    tsne_box(y[i], geom, p.nb, box, local);
    uint b = box.y * p.nb + box.x;
    box_of[i] = b;
    atomicAdd(counts[b], 1u);
}
