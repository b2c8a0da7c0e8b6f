// The line-per-invocation FFT shared by tsne_fft_line.comp (plain transforms) and tsne_fft_conv.comp
// (column convolutions): each invocation transforms one whole line by decimation-in-time
// butterflies, radix-2 stages fused by three (8 values in registers per pass), then a pair or a
// single one for the rest of log2(L). On a CPU driver (invocations as SIMD lanes) every load and
// store of memory, private array included, is one scalar access per lane; only registers are
// vectors. So each pass moves the line through memory once: the first reads the buffer (bit-reversed,
// elements from load_len on taken as zero), the middle ones the private array, the last writes the
// buffer (elements below store_len) or, for a convolution, the array. lavapipe, L = 512: 4 accesses
// per element and pass instead of 2 per pass plus a separate load and store pass. A GPU prefers
// tsne_fft.comp (this array would spill). The includer declares binding 0 as `data` (vec2 array).
#ifndef TSNE_FFT_LINE_GLSL
#define TSNE_FFT_LINE_GLSL

layout(local_size_x = 32) in;
layout(constant_id = 0) const uint LMAX = 256u;
shared vec2 tw[LMAX / 2u]; // exp(-2 pi i k / L) or its conjugate (by the sign given), k < L/2
vec2 a[LMAX];              // this invocation's line between passes

// The line in the buffer: data[at + e * stride]; reads below load_len, writes (when store) below
// store_len; shift turns a bit-reversed 32-bit index into one of log2(L) bits.
struct fft_line_io { uint at; uint stride; uint load_len; uint store_len; bool store; uint shift; };

vec2 cmul(vec2 x, vec2 y) { return vec2(x.x * y.x - x.y * y.y, x.x * y.y + x.y * y.x); }

// Fills tw for length L and direction sign (all invocations, then a barrier).
void fft_twiddles(uint L, float sign) {
    for (uint e = gl_LocalInvocationID.x; e < (L >> 1); e += gl_WorkGroupSize.x) {
        float ang = sign * 6.28318530717959 * float(e) / float(L);
        tw[e] = vec2(cos(ang), sin(ang));
    }
    barrier();
}

// Element e of the bit-reversed input: from the buffer in the first pass, else from the array.
vec2 fft_get(uint e, bool first, fft_line_io io) {
    if (!first) return a[e];
    uint src = bitfieldReverse(e) >> io.shift;
    return src < io.load_len ? data[io.at + src * io.stride] : vec2(0.0);
}

// Element e of a pass's output: to the buffer in the last pass (when to_buffer), else to the array.
void fft_put(uint e, vec2 v, bool last, bool to_buffer, fft_line_io io) {
    if (!(last && to_buffer)) a[e] = v;
    else if (io.store && e < io.store_len) data[io.at + e * io.stride] = v;
}

// Twiddle of a decimation-in-time stage of half-size h: exp(i pi t / h) = tw[t L / (2 h)], conjugated
// by c = (1, -1) for the opposite direction.
vec2 fft_w(uint t, uint h, uint half_len, vec2 c) { return c * tw[t * (half_len / h)]; }

// Transforms the line of length L (power of two >= 2), twiddles conjugated when conj < 0: input from
// the buffer when in_buffer (else from a[] in bit-reversed order), output to the buffer when
// out_buffer (else to a[] in natural order).
void fft_line(uint L, float conj, bool in_buffer, bool out_buffer, fft_line_io io) {
    uint half_len = L >> 1, hs = 1u;
    vec2 c = vec2(1.0, conj);
    for (; 8u * hs <= L; hs <<= 3) {
        bool first = in_buffer && hs == 1u, last = 8u * hs == L;
        for (uint k = 0u; k < hs; k++) {
            vec2 w1 = fft_w(k, hs, half_len, c);
            vec2 w2a = fft_w(k, 2u * hs, half_len, c), w2b = fft_w(k + hs, 2u * hs, half_len, c);
            vec2 w4[4];
            for (uint j = 0u; j < 4u; j++) w4[j] = fft_w(k + j * hs, 4u * hs, half_len, c);
            for (uint g = k; g < L; g += 8u * hs) {
                vec2 x[8];
                for (uint j = 0u; j < 8u; j += 2u) { // half-size hs: pairs (j, j + 1)
                    vec2 u = fft_get(g + j * hs, first, io), v = cmul(fft_get(g + (j + 1u) * hs, first, io), w1);
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
                    fft_put(g + j * hs, x[j] + v, last, out_buffer, io);
                    fft_put(g + (j + 4u) * hs, x[j] - v, last, out_buffer, io);
                }
            }
        }
    }
    bool first = in_buffer && hs == 1u;
    if (4u * hs <= L) { // two stages left: half-sizes hs and 2 hs
        for (uint k = 0u; k < hs; k++) {
            vec2 w1 = fft_w(k, hs, half_len, c), w2 = fft_w(k, 2u * hs, half_len, c);
            vec2 w3 = fft_w(k + hs, 2u * hs, half_len, c);
            for (uint g = k; g < L; g += 4u * hs) {
                vec2 a0 = fft_get(g, first, io), a1 = cmul(fft_get(g + hs, first, io), w1);
                vec2 a2 = fft_get(g + 2u * hs, first, io), a3 = cmul(fft_get(g + 3u * hs, first, io), w1);
                vec2 b0 = a0 + a1, b1 = a0 - a1, b2 = a2 + a3, b3 = a2 - a3;
                vec2 c2 = cmul(b2, w2), c3 = cmul(b3, w3);
                fft_put(g, b0 + c2, true, out_buffer, io);
                fft_put(g + 2u * hs, b0 - c2, true, out_buffer, io);
                fft_put(g + hs, b1 + c3, true, out_buffer, io);
                fft_put(g + 3u * hs, b1 - c3, true, out_buffer, io);
            }
        }
    } else if (hs < L) { // one stage left: half-size L / 2
        for (uint k = 0u; k < hs; k++) {
            vec2 u = fft_get(k, first, io), v = cmul(fft_get(k + hs, first, io), fft_w(k, hs, half_len, c));
            fft_put(k, u + v, true, out_buffer, io);
            fft_put(k + hs, u - v, true, out_buffer, io);
        }
    }
}
#endif
