#version 460
// In-place complex FFT of length L (power of two, <= 1024) along the rows or the columns of L x L
// grids by radix-2 Stockham passes in shared memory (natural order in and out). A workgroup takes
// `group_lines` lines at once (group_lines * L <= 1024) so that every pass keeps all 64 invocations
// busy and the barriers are shared: on a CPU driver the barriers, not the butterflies, dominate.
// Workgroup x: block of lines, y: grid. sign -1: forward, +1: inverse (unscaled). Elements at or
// beyond load_len are taken as zero (not read); only those below store_len are written.
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Data { vec2 data[]; };
layout(push_constant) uniform Push {
    uint L; uint log2L; uint columns; float sign; uint lines; uint group_lines; uint load_len; uint store_len;
} p;
shared vec2 buf[2][1024];
shared vec2 tw[512]; // exp(sign 2 pi i k / L), k < L/2: sin/cos once per workgroup, not per butterfly

// Address of element e of the group's line g (clamped to the last line; stores are guarded).
uint addr(uint g, uint e) {
    uint line = min(gl_WorkGroupID.x * p.group_lines + g, p.lines - 1u);
    uint base = gl_WorkGroupID.y * p.L * p.L;
    return p.columns != 0u ? base + e * p.L + line : base + line * p.L + e;
}

void main() {
    uint t = gl_LocalInvocationID.x, half_len = p.L >> 1, total = p.group_lines * p.L;
    for (uint i = t; i < total; i += 64u) {
        uint e = i & (p.L - 1u);
        buf[0][i] = e < p.load_len ? data[addr(i >> p.log2L, e)] : vec2(0.0);
    }
    for (uint e = t; e < half_len; e += 64u) {
        float ang = p.sign * 6.28318530717959 * float(e) / float(p.L);
        tw[e] = vec2(cos(ang), sin(ang));
    }
    barrier();
    uint src = 0u;
    for (uint s = 0u; s < p.log2L; s++) {
        uint ns = 1u << s;
        for (uint q = t; q < (total >> 1); q += 64u) {
            // Shifts, not q / half_len: a vector integer division is scalarized on a CPU driver.
            uint g = q >> (p.log2L - 1u), j = q & (half_len - 1u), off = g << p.log2L;
            uint k = j & (ns - 1u);
            vec2 a = buf[src][off + j], b = buf[src][off + j + half_len];
            vec2 w = tw[k << (p.log2L - 1u - s)]; // angle pi k / ns = 2 pi (k L / 2ns) / L
            vec2 bw = vec2(b.x * w.x - b.y * w.y, b.x * w.y + b.y * w.x);
            uint o = off + ((j - k) << 1) + k;
            buf[1u - src][o] = a + bw;
            buf[1u - src][o + ns] = a - bw;
        }
        src = 1u - src;
        barrier();
    }
    for (uint i = t; i < total; i += 64u) {
        uint g = i >> p.log2L, e = i & (p.L - 1u);
        if (gl_WorkGroupID.x * p.group_lines + g < p.lines && e < p.store_len) data[addr(g, e)] = buf[src][i];
    }
}
