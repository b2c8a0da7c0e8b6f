// Bit-exact float arithmetic of the constrained beam search, mirrored operation by operation by
// models/vkr_beam.c (same constants, same order), so every device and the CPU reference produce
// the same bits. Vulkan guarantees correctly rounded fp32 add, sub and mul; `precise` forbids
// fusing them into FMAs or reordering; every result is flushed to +0 when subnormal (devices may or
// may not flush); exp and log are polynomials built from those operations only (the built-ins'
// precision is implementation-defined). Comparisons and floor are exact everywhere.
#ifndef BEAM_MATH_GLSL
#define BEAM_MATH_GLSL

#define BEAM_NEG_INF uintBitsToFloat(0xFF800000u)
#define BEAM_FLT_MAX uintBitsToFloat(0x7F7FFFFFu)

// Subnormals and -0 become +0 (bit test only, whatever the device's denormal mode).
float beam_flush(float v) { return (floatBitsToUint(v) & 0x7F800000u) == 0u ? 0.0 : v; }

// Input canonicalization: NaN -> -inf (impossible), +inf -> FLT_MAX, subnormals -> +0.
float beam_canon(float v) {
    uint u = floatBitsToUint(v);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return BEAM_NEG_INF;
    if (u == 0x7F800000u) return BEAM_FLT_MAX;
    return beam_flush(v);
}

float beam_add(float a, float b) {
    precise float r = a + b;
    return beam_flush(r);
}
float beam_sub(float a, float b) {
    precise float r = a - b;
    return beam_flush(r);
}
float beam_mul(float a, float b) {
    precise float r = a * b;
    return beam_flush(r);
}

// e^x for x <= 0: x log2(e) = n + f with |f| <= 1/2, 2^f = 1 + f q(f) (q: degree-5 fit, relative
// error below 1e-7), times 2^n built from bits. 0 below -86, where 2^n would leave the normal range.
float beam_exp(float x) {
    if (!(x >= -86.0)) return 0.0;
    float t = beam_mul(x, 1.4426950216293335);
    float n = floor(beam_add(t, 0.5));
    float f = beam_sub(t, n);
    float q = 0.00015453163359779865;
    q = beam_add(beam_mul(q, f), 0.0013390863314270973);
    q = beam_add(beam_mul(q, f), 0.009618083015084267);
    q = beam_add(beam_mul(q, f), 0.055503569543361664);
    q = beam_add(beam_mul(q, f), 0.24022650718688965);
    q = beam_add(beam_mul(q, f), 0.6931471824645996);
    float p = beam_add(beam_mul(f, q), 1.0);
    return beam_mul(p, uintBitsToFloat(uint(int(n) + 127) << 23));
}

// ln(s) for finite s >= 1: s = 2^e m with m in [sqrt(1/2), sqrt(2)], ln(m) = v r(v) with v = m - 1
// (r: degree-8 fit, absolute error below 1e-7), plus e ln(2).
float beam_log(float s) {
    uint u = floatBitsToUint(s);
    int e = int(u >> 23) - 127;
    float m = uintBitsToFloat((u & 0x007FFFFFu) | 0x3F800000u);
    if (m > 1.4142135381698608) {
        m = beam_mul(m, 0.5);
        e += 1;
    }
    float v = beam_sub(m, 1.0);
    float r = 0.08533313125371933;
    r = beam_add(beam_mul(r, v), -0.14269258081912994);
    r = beam_add(beam_mul(r, v), 0.14977401494979858);
    r = beam_add(beam_mul(r, v), -0.1657799333333969);
    r = beam_add(beam_mul(r, v), 0.19955933094024658);
    r = beam_add(beam_mul(r, v), -0.250013530254364);
    r = beam_add(beam_mul(r, v), 0.33334192633628845);
    r = beam_add(beam_mul(r, v), -0.4999999701976776);
    r = beam_add(beam_mul(r, v), 1.0);
    return beam_add(beam_mul(float(e), 0.6931471824645996), beam_mul(v, r));
}

// Ranking key whose unsigned order is the float order (no NaN reaches it; -0 == +0).
uint beam_key(float v) {
    uint u = floatBitsToUint(v);
    if ((u & 0x7FFFFFFFu) == 0u) return 0x80000000u;
    return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}
#endif
