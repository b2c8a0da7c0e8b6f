#version 460
#extension GL_GOOGLE_include_directive : require
// Circular convolution along the columns of `count` L x L complex grids with the columns of one
// kernel grid given by its transform (kern): per column, forward FFT, pointwise product, inverse FFT
// (unscaled), one line per invocation (see tsne_fft_line.glsl). Fusing the three saves two passes
// of every column through the buffer. Only rows < load_len are read (the rest are zero) and rows
// < store_len written. Workgroup x: block of columns, y: grid.
layout(std430, binding = 0) buffer Data { vec2 data[]; };
layout(std430, binding = 1) readonly buffer K { vec2 kern[]; };
layout(push_constant) uniform Push { uint L; uint log2L; uint load_len; uint store_len; } p;
#include "tsne_fft_line.glsl"

void main() {
    fft_twiddles(p.L, -1.0);
    uint col = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x, c = min(col, p.L - 1u);
    uint shift = 32u - p.log2L;
    fft_line_io io = fft_line_io(gl_WorkGroupID.y * p.L * p.L + c, p.L, p.load_len, p.store_len, col < p.L, shift);
    fft_line(p.L, 1.0, true, false, io);
    // Product with the kernel's transform, written in bit-reversed order, which the inverse reads.
    for (uint e = 0u; e < p.L; e++) {
        uint r = bitfieldReverse(e) >> shift;
        if (r < e) continue;
        vec2 t = a[e];
        a[e] = cmul(a[r], kern[r * p.L + c]);
        a[r] = cmul(t, kern[e * p.L + c]);
    }
    fft_line(p.L, -1.0, false, true, io);
}
