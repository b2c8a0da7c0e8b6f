// Shared-memory tiled, register-blocked matmul for GPUs. A workgroup computes a BM x BN block of C,
// staging BK-deep slices of op(A) and op(B) in shared memory; each invocation accumulates TM x TN
// results, strided by the thread grid so that neighbouring invocations touch neighbouring shared
// and global addresses. Tiles that cross the matrix edge are zero-filled.
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 2) const uint BM = 64;
layout(constant_id = 3) const uint BN = 64;
layout(constant_id = 4) const uint BK = 16;
layout(constant_id = 5) const uint TM = 4;
layout(constant_id = 6) const uint TN = 4;
const uint TX = BN / TN; // invocations along N; the workgroup has TX * (BM / TM) invocations
const uint PAD = 1u;     // keeps A's k-major rows off one bank when loaded along k

shared float sa[BK * (BM + PAD)]; // sa[k * (BM + PAD) + i] = op(A)[row0 + i][k0 + k]
shared float sb[BK * BN];         // sb[k * BN + j] = op(B)[k0 + k][col0 + j]

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint WG = gl_WorkGroupSize.x;
    uint tx = tid % TX, ty = tid / TX;
    uint TY = BM / TM;
    uint row0 = (p.group_y0 + gl_WorkGroupID.y) * BM;
    uint col0 = (p.group_x0 + gl_WorkGroupID.x) * BN;
    uint z = p.batch0 + gl_WorkGroupID.z;
    uint base_a = z * p.stride_a, base_b = z * p.stride_b, base_c = z * p.stride_c;

    float acc[TM][TN];
    for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;
    // BIAS_GRAD: the first row of invocations of the first row block sums its columns of op(B) from
    // the staged tiles (zero past K), so each column has one owner and a fixed summation order.
    const bool bg_owner = BIAS_GRAD && row0 == 0u && ty == 0u;
    float bg[TN];
    for (uint j = 0; j < TN; j++) bg[j] = 0.0;

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        // Consecutive invocations read consecutive addresses of the storage layout.
        for (uint e = tid; e < BM * BK; e += WG) {
            uint i = TRANS_A ? e % BM : e / BK, k = TRANS_A ? e / BM : e % BK;
            uint gi = row0 + i, gk = k0 + k;
            sa[k * (BM + PAD) + i] = (gi < p.M && gk < p.K) ? load_a(base_a, gi, gk) : 0.0;
        }
        for (uint e = tid; e < BK * BN; e += WG) {
            uint j = TRANS_B ? e / BK : e % BN, k = TRANS_B ? e % BK : e / BN;
            uint gj = col0 + j, gk = k0 + k;
            sb[k * BN + j] = (gj < p.N && gk < p.K) ? load_b(base_b, gk, gj) : 0.0;
        }
        barrier();
        for (uint k = 0; k < BK; k++) {
            float a[TM], b[TN];
            for (uint i = 0; i < TM; i++) a[i] = sa[k * (BM + PAD) + ty + i * TY];
            for (uint j = 0; j < TN; j++) b[j] = sb[k * BN + tx + j * TX];
            if (bg_owner)
                for (uint j = 0; j < TN; j++) bg[j] += b[j];
            for (uint i = 0; i < TM; i++)
                for (uint j = 0; j < TN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }

    if (bg_owner)
        for (uint j = 0; j < TN; j++)
            if (col0 + tx + j * TX < p.N) bgrad[col0 + tx + j * TX] += bg[j];
    for (uint i = 0; i < TM; i++) {
        uint gi = row0 + ty + i * TY;
        if (gi >= p.M) break;
        for (uint j = 0; j < TN; j++) {
            uint gj = col0 + tx + j * TX;
            if (gj < p.N) c1[base_c + gi * p.ldc + gj] = finish(acc[i][j], HAS_BIAS ? bias1[gj] : 0.0, base_c, gi, gj);
        }
    }
}
