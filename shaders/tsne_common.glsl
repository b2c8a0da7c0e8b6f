// Helpers shared by the tsne_*.comp kernels.
#ifndef TSNE_COMMON_GLSL
#define TSNE_COMMON_GLSL

// Linear invocation index of a 1-D dispatch that the host may fold into a 2-D grid of workgroups.
uint tsne_index() {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

// Lagrange weights of the 3 equispaced nodes at (k + 0.5) / 3 of a box for a point at local
// coordinate u in [0, 1] (in box widths): w_k(u) = prod_{m != k} (u - t_m) / (t_k - t_m).
vec3 tsne_lagrange(float u) {
    const float t0 = 1.0 / 6.0, t1 = 0.5, t2 = 5.0 / 6.0;
    float a = u - t0, b = u - t1, c = u - t2;
    // denominators: (t0-t1)(t0-t2) = 2/9, (t1-t0)(t1-t2) = -1/9, (t2-t0)(t2-t1) = 2/9
    return vec3(b * c * 4.5, a * c * -9.0, a * b * 4.5);
}

// The box of a point and its local coordinates inside it, from the grid geometry
// (x0, y0, box width, node spacing) written by tsne_fft_geom.
void tsne_box(vec2 y, vec4 geom, uint nb, out uvec2 box, out vec2 local) {
    vec2 s = (y - geom.xy) / geom.z;
    box = uvec2(clamp(floor(s), vec2(0.0), vec2(float(nb - 1u))));
    local = clamp(s - vec2(box), vec2(0.0), vec2(1.0));
}
#endif
