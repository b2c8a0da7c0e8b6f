#version 460
#extension GL_GOOGLE_include_directive : require
// In-place complex FFT of length L (power of two, <= 1024) along the rows or the columns of L x L
// grids, one workgroup per line (x: line, y: grid), radix-2 Stockham passes in shared memory
// (natural order in and out, no bit reversal). sign -1: forward, +1: inverse (unscaled).
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer Data { vec2 data[]; };
layout(push_constant) uniform Push { uint L; uint log2L; uint columns; float sign; } p;
shared vec2 buf[2][1024];

uint addr(uint e) {
    uint base = gl_WorkGroupID.y * p.L * p.L, line = gl_WorkGroupID.x;
    return p.columns != 0u ? base + e * p.L + line : base + line * p.L + e;
}

void main() {
    uint t = gl_LocalInvocationID.x, half_len = p.L >> 1;
    for (uint e = t; e < p.L; e += 256u) buf[0][e] = data[addr(e)];
    barrier();
    uint src = 0u;
    for (uint s = 0u; s < p.log2L; s++) {
        uint ns = 1u << s;
        for (uint j = t; j < half_len; j += 256u) {
            uint k = j & (ns - 1u);
            vec2 a = buf[src][j], b = buf[src][j + half_len];
            float ang = p.sign * 3.14159265358979 * float(k) / float(ns);
            vec2 w = vec2(cos(ang), sin(ang));
            vec2 bw = vec2(b.x * w.x - b.y * w.y, b.x * w.y + b.y * w.x);
            uint o = ((j - k) << 1) + k;
            buf[1u - src][o] = a + bw;
            buf[1u - src][o + ns] = a - bw;
        }
        src = 1u - src;
        barrier();
    }
    for (uint e = t; e < p.L; e += 256u) data[addr(e)] = buf[src][e];
}
