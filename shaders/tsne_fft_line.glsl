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

// Twiddle of a decimation-in-time stage of half-size h: exp(i pi t / h) = tw[t L / (2 h)], conjugated
// by c = (1, -1) for the opposite direction.
vec2 fft_w(uint t, uint h, uint half_len, vec2 c) { return c * tw[t * (half_len / h)]; }

// Transforms a[] (bit-reversed order in, natural order out) with twiddles tw, conjugated when
// conj < 0 (the opposite direction). Radix-2 stages fused by three (half-sizes hs, 2 hs, 4 hs), then
// a pair or a single one for the rest of log2(L): each pass over the private array does three
// stages' butterflies on 8 values held in registers, since the array lives in memory on a CPU
// driver, and its loads and stores, not the arithmetic, set the pace (lavapipe, L = 512: 3 passes
// instead of 4.5 in pairs).
void fft_butterflies(uint L, float conj) {
    uint half_len = L >> 1, hs = 1u;
    vec2 c = vec2(1.0, conj);
    for (; 8u * hs <= L; hs <<= 3)
        for (uint k = 0u; k < hs; k++) {
            vec2 w1 = fft_w(k, hs, half_len, c);
            vec2 w2a = fft_w(k, 2u * hs, half_len, c), w2b = fft_w(k + hs, 2u * hs, half_len, c);
            vec2 w4[4];
            for (uint j = 0u; j < 4u; j++) w4[j] = fft_w(k + j * hs, 4u * hs, half_len, c);
            for (uint g = k; g < L; g += 8u * hs) {
                vec2 x[8];
                for (uint j = 0u; j < 8u; j += 2u) { // half-size hs: pairs (j, j + 1)
                    vec2 u = a[g + j * hs], v = cmul(a[g + (j + 1u) * hs], w1);
                    x[j] = u + v;
                    x[j + 1u] = u - v;
                }
                for (uint j = 0u; j < 8u; j += 4u) { // half-size 2 hs: pairs (j, j + 2), (j + 1, j + 3)
                    vec2 v0 = cmul(x[j + 2u], w2a), v1 = cmul(x[j + 3u], w2b);
                    x[j + 2u] = x[j] - v0;
                    x[j] += v0;
                    x[j + 3u] = x[j + 1u] - v1;
                    x[j + 1u] += v1;
                }
                for (uint j = 0u; j < 4u; j++) { // half-size 4 hs: pairs (j, j + 4)
                    vec2 v = cmul(x[j + 4u], w4[j]);
                    a[g + j * hs] = x[j] + v;
                    a[g + (j + 4u) * hs] = x[j] - v;
                }
            }
        }
    if (4u * hs <= L) { // two stages left: half-sizes hs and 2 hs
        for (uint k = 0u; k < hs; k++) {
            vec2 w1 = fft_w(k, hs, half_len, c), w2 = fft_w(k, 2u * hs, half_len, c);
            vec2 w3 = fft_w(k + hs, 2u * hs, half_len, c);
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
    } else if (hs < L) { // one stage left: half-size L / 2
        for (uint k = 0u; k < hs; k++) {
            vec2 b = cmul(a[k + hs], fft_w(k, hs, half_len, c));
            a[k + hs] = a[k] - b;
            a[k] += b;
        }
    }
}

// Stores a[e], e < store_len, to data[at + e * stride] (the rest of the line is not needed).
void fft_store(uint at, uint stride, uint store_len) {
    for (uint e = 0u; e < store_len; e++) data[at + e * stride] = a[e];
}
#endif
