#version 460
// In-place complex FFT of length L (power of two, <= LMAX) along the rows or columns of L x L grids,
// one whole line per invocation: bit-reversed load, then radix-2 decimation-in-time butterflies on a
// private array. Every array index is the same in all invocations, so a CPU driver (which runs
// invocations as SIMD lanes) turns them into plain vector loads and stores; tsne_fft.comp's
// shared-memory passes index per lane there, i.e. one scalar gather or scatter per element and pass,
// which cost ~10x the arithmetic. A GPU prefers tsne_fft.comp (this array would spill).
// Push constants as for tsne_fft.comp (group_lines unused). Workgroup x: block of lines, y: grid.
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer Data { vec2 data[]; };
layout(push_constant) uniform Push { uint L; uint log2L; uint columns; float sign; uint lines; uint group_lines; } p;
layout(constant_id = 0) const uint LMAX = 256u;
shared vec2 tw[LMAX / 2u]; // exp(sign 2 pi i k / L), k < L/2

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
    // Stage with half-size hs: twiddle exp(sign i pi k / hs) = tw[k L / (2 hs)].
    for (uint hs = 1u, ts = half_len; hs < p.L; hs <<= 1, ts >>= 1)
        for (uint k = 0u; k < hs; k++) {
            vec2 w = tw[k * ts];
            for (uint j = k; j < p.L; j += hs << 1) {
                vec2 b = a[j + hs];
                vec2 bw = vec2(b.x * w.x - b.y * w.y, b.x * w.y + b.y * w.x);
                a[j + hs] = a[j] - bw;
                a[j] += bw;
            }
        }
    if (line < p.lines)
        for (uint e = 0u; e < p.L; e++) data[at + e * stride] = a[e];
}
