// The line-per-invocation FFT shared by tsne_fft_line.comp (plain transforms) and tsne_fft_conv.comp
// (column convolutions): each invocation holds one whole line in a private array and runs
// decimation-in-time butterflies on it. Every array index is the same in all invocations, so a CPU
// driver (which runs invocations as SIMD lanes) turns them into plain vector loads and stores;
// tsne_fft.comp's shared-memory passes index per lane there, i.e. one scalar gather or scatter per
// element and pass (lavapipe, L = 256, two grids: 4.6 ms per pass there, 1.5 ms here). A GPU prefers
// tsne_fft.comp (this array would spill). The includer declares binding 0 as `data` (vec2 array).
#ifndef TSNE_FFT_LINE_GLSL
#define TSNE_FFT_LINE_GLSL

layout(local_size_x = 32) in;
layout(constant_id = 0) const uint LMAX = 256u;
shared vec2 tw[LMAX / 2u]; // exp(-2 pi i k / L) or its conjugate (by the sign given), k < L/2
vec2 a[LMAX];              // this invocation's line

vec2 cmul(vec2 x, vec2 y) { return vec2(x.x * y.x - x.y * y.y, x.x * y.y + x.y * y.x); }

// Fills tw for length L and direction sign (all invocations, then a barrier).
void fft_twiddles(uint L, float sign) {
    for (uint e = gl_LocalInvocationID.x; e < (L >> 1); e += gl_WorkGroupSize.x) {
        float ang = sign * 6.28318530717959 * float(e) / float(L);
        tw[e] = vec2(cos(ang), sin(ang));
    }
    barrier();
}

// Loads the line at data[at + e * stride], e < L, in bit-reversed order; elements e >= load_len
// are taken as zero (not read): the charges' padding needs neither a fill nor reads.
void fft_load(uint at, uint stride, uint L, uint log2L, uint load_len) {
    uint shift = 32u - log2L;
    for (uint e = 0u; e < L; e++) {
        uint src = bitfieldReverse(e) >> shift;
        a[e] = src < load_len ? data[at + src * stride] : vec2(0.0);
    }
}

// Transforms a[] (bit-reversed order in, natural order out) with twiddles tw, conjugated when
// conj < 0 (the opposite direction). Radix-2 stages fused in pairs (half-sizes hs and 2 hs), so each
// pass over the private array does twice the butterflies: the array lives in memory on a CPU driver,
// and its loads and stores, not the arithmetic, set the pace. Twiddle exp(i pi k / h) = tw[k L / (2 h)].
void fft_butterflies(uint L, float conj) {
    uint half_len = L >> 1, hs = 1u;
    vec2 c = vec2(1.0, conj);
    for (; 4u * hs <= L; hs <<= 2)
        for (uint k = 0u; k < hs; k++) {
            vec2 w1 = c * tw[k * (half_len / hs)], w2 = c * tw[k * (half_len / (2u * hs))];
            vec2 w3 = c * tw[(k + hs) * (half_len / (2u * hs))];
            for (uint g = k; g < L; g += 4u * hs) {
                vec2 a0 = a[g], a1 = cmul(a[g + hs], w1), a2 = a[g + 2u * hs], a3 = cmul(a[g + 3u * hs], w1);
                vec2 b0 = a0 + a1, b1 = a0 - a1, b2 = a2 + a3, b3 = a2 - a3;
                vec2 c2 = cmul(b2, w2), c3 = cmul(b3, w3);
                a[g] = b0 + c2;
                a[g + 2u * hs] = b0 - c2;
                a[g + hs] = b1 + c3;
                a[g + 3u * hs] = b1 - c3;
            }
        }
    if (hs < L) // odd log2(L): one last radix-2 stage, half-size L / 2
        for (uint k = 0u; k < hs; k++) {
            vec2 b = cmul(a[k + hs], c * tw[k]);
            a[k + hs] = a[k] - b;
            a[k] += b;
        }
}

// Stores a[e], e < store_len, to data[at + e * stride] (the rest of the line is not needed).
void fft_store(uint at, uint stride, uint store_len) {
    for (uint e = 0u; e < store_len; e++) data[at + e * stride] = a[e];
}
#endif
