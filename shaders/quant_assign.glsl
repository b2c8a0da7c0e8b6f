// Nearest codeword per row (squared L2), shared by quant_assign.comp and quant_assign_res.comp
// (which defines QUANT_RESIDUAL and also writes the residual x - c[best]).
//
// Each workgroup takes 64 rows (one per invocation). The codebook is walked in chunks of QA_CT
// codes; for each chunk the dot products x.c are accumulated over dimension slices of QA_DT, with
// the row tile stored transposed in shared memory (each invocation reads its own column) and the
// code tile read as a broadcast. The argmin uses the norm expansion |c|^2 - 2 x.c (|x|^2 is the
// same for every code of a row), codes in increasing order with a strict '<', so ties go to the
// lowest index. The winner's distance is then recomputed directly as sum (x - c)^2, which avoids
// the expansion's cancellation in the reported value.
layout(local_size_x = 64) in;
#include "nn_common.glsl"

#define QA_ROWS 64u
#define QA_CT 32u
#define QA_DT 32u

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer C { float cb[]; };
layout(std430, binding = 2) readonly buffer CN { float cnorm[]; };
layout(std430, binding = 3) writeonly buffer Codes { int codes[]; };
layout(std430, binding = 4) writeonly buffer Dist { float dist[]; };
#ifdef QUANT_RESIDUAL
layout(std430, binding = 5) writeonly buffer R { float resid[]; };
#endif
// n rows of d floats; k codes starting at codebook row c_base (norms indexed the same way);
// the code of row i goes to codes[i * code_stride + code_offset].
layout(push_constant) uniform Push { uint n, k, d, c_base, code_stride, code_offset; } p;

shared float xs[QA_DT * QA_ROWS];
shared float cs[QA_CT * QA_DT];

void main() {
    uint lane = gl_LocalInvocationID.x;
    uint row0 = nn_group() * QA_ROWS;
    uint row = row0 + lane;
    float best = 1.0 / 0.0;
    uint best_j = 0u;
    for (uint c0 = 0u; c0 < p.k; c0 += QA_CT) {
        float acc[QA_CT];
        for (uint j = 0u; j < QA_CT; j++) acc[j] = 0.0;
        for (uint d0 = 0u; d0 < p.d; d0 += QA_DT) {
            barrier();
            for (uint e = lane; e < QA_ROWS * QA_DT; e += QA_ROWS) {
                uint r = e / QA_DT, kk = e % QA_DT;
                uint gr = row0 + r, gd = d0 + kk;
                xs[kk * QA_ROWS + r] = (gr < p.n && gd < p.d) ? x[gr * p.d + gd] : 0.0;
            }
            for (uint e = lane; e < QA_CT * QA_DT; e += QA_ROWS) {
                uint j = e / QA_DT, kk = e % QA_DT;
                uint gj = c0 + j, gd = d0 + kk;
                cs[e] = (gj < p.k && gd < p.d) ? cb[(p.c_base + gj) * p.d + gd] : 0.0;
            }
            barrier();
            for (uint kk = 0u; kk < QA_DT; kk++) {
                float xv = xs[kk * QA_ROWS + lane];
                for (uint j = 0u; j < QA_CT; j++) acc[j] += xv * cs[j * QA_DT + kk];
            }
        }
        for (uint j = 0u; j < QA_CT; j++) {
            uint gj = c0 + j;
            if (gj >= p.k) break;
            float v = cnorm[p.c_base + gj] - 2.0 * acc[j];
            if (v < best) {
                best = v;
                best_j = gj;
            }
        }
    }
    if (row >= p.n) return;
    float s = 0.0;
    uint cbase = (p.c_base + best_j) * p.d;
    for (uint kk = 0u; kk < p.d; kk++) {
        float r = x[row * p.d + kk] - cb[cbase + kk];
#ifdef QUANT_RESIDUAL
        resid[row * p.d + kk] = r;
#endif
        s += r * r;
    }
    codes[row * p.code_stride + p.code_offset] = int(best_j);
    dist[row] = s;
}
