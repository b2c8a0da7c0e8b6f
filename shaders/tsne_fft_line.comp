#version 460
#extension GL_GOOGLE_include_directive : require
// In-place complex FFT of length L (power of two, <= LMAX) along the rows or columns of L x L grids,
// one whole line per invocation (see tsne_fft_line.glsl). Push constants as for tsne_fft.comp
// (group_lines unused). Workgroup x: block of lines, y: grid.
layout(std430, binding = 0) buffer Data { vec2 data[]; };
layout(push_constant) uniform Push {
    uint L; uint log2L; uint columns; float sign; uint lines; uint group_lines; uint load_len; uint store_len;
} p;
#include "tsne_fft_line.glsl"

void main() {
    fft_twiddles(p.L, p.sign);
    uint line = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint l = min(line, p.lines - 1u); // surplus invocations redo the last line and store nothing
    uint at = gl_WorkGroupID.y * p.L * p.L + (p.columns != 0u ? l : l * p.L);
    fft_line_io io = fft_line_io(at, p.columns != 0u ? p.L : 1u, p.load_len, p.store_len, line < p.lines,
                                 32u - p.log2L);
    fft_line(p.L, 1.0, true, true, io);
}
