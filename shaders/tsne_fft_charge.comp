#version 460
#extension GL_GOOGLE_include_directive : require
// Spreads the charges (1, y_x, y_y, |y|^2) of the points of one box to its 3 x 3 nodes with
// Lagrange weights (one invocation per box). Coordinates are taken relative to the grid centre to
// keep |y|^2 small. Node (gx, gy) of the n x n node grid lives at row gy, column gx of the two
// L x L complex grids: grid 0 holds (1, y_x), grid 1 holds (y_y, |y|^2).
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) readonly buffer Geom { vec4 geom; };
layout(std430, binding = 2) readonly buffer Offsets { uint offsets[]; };
layout(std430, binding = 3) readonly buffer Order { uint order[]; };
layout(std430, binding = 4) writeonly buffer Grid { vec2 grid[]; };
layout(push_constant) uniform Push { uint nb; uint L; } p;

void main() {
    uint b = tsne_index();
    if (b >= p.nb * p.nb) return;
    vec2 centre = geom.xy + 0.5 * geom.z * float(p.nb);
    vec4 acc[9];
    for (int m = 0; m < 9; m++) acc[m] = vec4(0.0);
    uint end = offsets[b + 1u]; // read once, not per point (a per-lane gather on a CPU driver)
    for (uint s = offsets[b]; s < end; s++) {
        vec2 yi = y[order[s]];
        uvec2 box;
        vec2 local;
        tsne_box(yi, geom, p.nb, box, local);
        vec3 wx = tsne_lagrange(local.x), wy = tsne_lagrange(local.y);
        vec2 r = yi - centre;
        vec4 q = vec4(1.0, r.x, r.y, dot(r, r));
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++) acc[a * 3 + c] += (wy[a] * wx[c]) * q;
    }
    uint bx = b % p.nb, by = b / p.nb, plane = p.L * p.L;
    for (uint a = 0u; a < 3u; a++)
        for (uint c = 0u; c < 3u; c++) {
            uint at = (by * 3u + a) * p.L + bx * 3u + c;
            vec4 v = acc[a * 3u + c];
            grid[at] = v.xy;
            grid[plane + at] = v.zw;
        }
}
