#version 460
// In-place complex FFT of length L (power of two, <= LMAX) along the rows or columns of L x L grids,
// one whole line per invocation: bit-reversed load, then decimation-in-time butterflies on a private
// array. Every array index is the same in all invocations, so a CPU driver (which runs
// invocations as SIMD lanes) turns them into plain vector loads and stores; tsne_fft.comp's
// shared-memory passes index per lane there, i.e. one scalar gather or scatter per element and pass
// (lavapipe, L = 256, two grids: 4.6 ms per pass there, 1.5 ms here). A GPU prefers tsne_fft.comp
// (this array would spill).
// Push constants as for tsne_fft.comp (group_lines unused). Workgroup x: block of lines, y: grid.
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer Data { vec2 data[]; };
layout(push_constant) uniform Push { uint L; uint log2L; uint columns; float sign; uint lines; uint group_lines; } p;
layout(constant_id = 0) const uint LMAX = 256u;
shared vec2 tw[LMAX / 2u]; // exp(sign 2 pi i k / L), k < L/2

vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }

void main() {
    uint t = gl_LocalInvocationID.x, half_len = p.L >> 1;
    for (uint e = t; e < half_len; e += gl_WorkGroupSize.x) {
        float ang = p.sign * 6.28318530717959 * float(e) / float(p.L);
        tw[e] = vec2(cos(ang), sin(ang));
    }
    barrier();
    uint line = gl_WorkGroupID.x * gl_WorkGroupSize.x + t;
    uint l = min(line, p.lines - 1u); // surplus invocations redo the last line and store nothing
    uint at = gl_WorkGroupID.y * p.L * p.L + (p.columns != 0u ? l : l * p.L);
    uint stride = p.columns != 0u ? p.L : 1u, shift = 32u - p.log2L;
    vec2 a[LMAX];
    for (uint e = 0u; e < p.L; e++) a[e] = data[at + (bitfieldReverse(e) >> shift) * stride];
    // Radix-2 stages fused in pairs (half-sizes hs and 2 hs), so each pass over the private array does
    // twice the butterflies: the array lives in memory on a CPU driver, and its loads and stores, not
    // the arithmetic, set the pace. Twiddle exp(sign i pi k / h) = tw[k L / (2 h)].
    uint hs = 1u;
    for (; 4u * hs <= p.L; hs <<= 2)
        for (uint k = 0u; k < hs; k++) {
            vec2 w1 = tw[k * (half_len / hs)], w2 = tw[k * (half_len / (2u * hs))];
            vec2 w3 = tw[(k + hs) * (half_len / (2u * hs))];
            for (uint g = k; g < p.L; g += 4u * hs) {
                vec2 a0 = a[g], a1 = cmul(a[g + hs], w1), a2 = a[g + 2u * hs], a3 = cmul(a[g + 3u * hs], w1);
                vec2 b0 = a0 + a1, b1 = a0 - a1, b2 = a2 + a3, b3 = a2 - a3;
                vec2 c2 = cmul(b2, w2), c3 = cmul(b3, w3);
                a[g] = b0 + c2;
                a[g + 2u * hs] = b0 - c2;
                a[g + hs] = b1 + c3;
                a[g + 3u * hs] = b1 - c3;
            }
        }
    if (hs < p.L) // odd log2(L): one last radix-2 stage, half-size L / 2
        for (uint k = 0u; k < hs; k++) {
            vec2 b = cmul(a[k + hs], tw[k]);
            a[k + hs] = a[k] - b;
            a[k] += b;
        }
    if (line < p.lines)
        for (uint e = 0u; e < p.L; e++) data[at + e * stride] = a[e];
}
