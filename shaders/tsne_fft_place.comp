#version 460
#extension GL_GOOGLE_include_directive : require
// Groups point ids by box: order[offset[box] + slot] = i (slot order within a box is arbitrary).
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer BoxOf { uint box_of[]; };
layout(std430, binding = 1) readonly buffer Offsets { uint offsets[]; };
layout(std430, binding = 2) buffer Cursor { uint cursor[]; };
layout(std430, binding = 3) writeonly buffer Order { uint order[]; };
layout(push_constant) uniform Push { uint n; } p;

void main() {
    uint i = tsne_index();
    if (i >= p.n) return;
    uint b = box_of[i];
    order[offsets[b] + atomicAdd(cursor[b], 1u)] = i;
}
