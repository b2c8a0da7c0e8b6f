#version 460
#extension GL_GOOGLE_include_directive : require
// Interpolates the node potentials phi = (sum q^2, sum q^2 y_x, sum q^2 y_y, sum q^2 |y|^2) back to
// each point with the Lagrange weights of its box, then forms (y relative to the grid centre)
//   rep_i  = (y_x phi1 - phi2, y_y phi1 - phi3)
//   zrow_i = (1 + |y|^2) phi1 - 2 (y_x phi2 + y_y phi3) + phi4 - 1   (= sum_{j != i} q_ij)
// The inverse FFT is unscaled, so potentials are divided by L^2 here.
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) readonly buffer Geom { vec4 geom; };
layout(std430, binding = 2) readonly buffer Grid { vec2 grid[]; };
layout(std430, binding = 3) writeonly buffer Rep { vec2 rep[]; };
layout(std430, binding = 4) writeonly buffer Z { float zrow[]; };
layout(push_constant) uniform Push { uint n; uint nb; uint L; } p;

void main() {
    uint i = tsne_index();
    if (i >= p.n) return;
    vec2 yi = y[i];
    uvec2 box;
    vec2 local;
    tsne_box(yi, geom, p.nb, box, local);
    vec3 wx = tsne_lagrange(local.x), wy = tsne_lagrange(local.y);
    uint plane = p.L * p.L;
    vec4 phi = vec4(0.0);
    for (uint a = 0u; a < 3u; a++)
        for (uint c = 0u; c < 3u; c++) {
            uint at = (box.y * 3u + a) * p.L + box.x * 3u + c;
            phi += (wy[a] * wx[c]) * vec4(grid[at], grid[plane + at]);
        }
    phi /= float(plane);
    vec2 r = yi - (geom.xy + 0.5 * geom.z * float(p.nb));
    rep[i] = r * phi.x - phi.yz;
    zrow[i] = (1.0 + dot(r, r)) * phi.x - 2.0 * dot(r, phi.yz) + phi.w - 1.0;
}
