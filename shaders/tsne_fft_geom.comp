#version 460
// Grid geometry of the FFT repulsion: the bounding square of the layout (centred on its bounding
// box, widened by a hair so the largest coordinate falls inside the last box), cut into nb x nb
// boxes of 3 x 3 nodes. One workgroup reduces min/max over all points in a fixed order.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) writeonly buffer Geom { vec4 geom; };
layout(push_constant) uniform Push { uint n; uint nb; } p;
shared vec2 lo[256], hi[256];

void main() {
    uint t = gl_LocalInvocationID.x;
    vec2 a = vec2(3.0e38), b = vec2(-3.0e38);
    for (uint i = t; i < p.n; i += 256u) {
        a = min(a, y[i]);
        b = max(b, y[i]);
    }
    lo[t] = a;
    hi[t] = b;
    barrier();
    for (uint s = 128u; s > 0u; s >>= 1) {
        if (t < s) {
            lo[t] = min(lo[t], lo[t + s]);
            hi[t] = max(hi[t], hi[t + s]);
        }
        barrier();
    }
    if (t == 0u) {
        vec2 ext = hi[0] - lo[0];
        float side = max(max(ext.x, ext.y), 1e-6) * (1.0 + 1e-4);
        float box = side / float(p.nb);
        geom = vec4(0.5 * (lo[0] + hi[0]) - 0.5 * side, box, box / 3.0);
    }
}
