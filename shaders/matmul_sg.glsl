// Register-blocked matmul without shared memory, for CPU drivers (lavapipe) and as a portable
// fallback. A subgroup computes a TM x (SG * TN4 * 4) block of C; each lane owns TN4 * 4 columns.
// The lanes load op(A) cooperatively (TM / SG rows each) and hand the values to each other with
// subgroup broadcasts, so per lane and per k only TN + TM / SG floats come from memory for TM * TN
// FMAs: on lavapipe, where a lane's memory access is a scalar loop but a broadcast is a register
// shuffle, this ratio is what sets the speed. No barriers are needed at all.
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 2) const uint TM = 16; // rows per subgroup, a multiple of SG
layout(constant_id = 3) const uint TN4 = 2; // vec4 columns per lane
layout(constant_id = 4) const uint SGX = 1; // subgroups side by side along N in a workgroup
layout(constant_id = 5) const uint SG = 8;  // lanes per (virtual) subgroup; divides the real size
layout(constant_id = 6) const bool SHUFFLE = true; // the real subgroup may be wider than SG
const uint RPL = TM / SG;                   // rows of op(A) each lane loads
const uint TN = TN4 * 4u;

// Value `v` of lane `src` within this lane's group of SG lanes. When the real subgroup may be
// wider than SG (a GPU with 32/64 lanes) several virtual subgroups share it and a shuffle is needed;
// the host clears SHUFFLE where the subgroup is known to be exactly SG wide, which also spares
// lavapipe compiling the dead shuffle path (a third of the compile time).
vec4 from_lane(vec4 v, uint src) {
    if (!SHUFFLE || gl_SubgroupSize == SG) return subgroupBroadcast(v, src);
    return subgroupShuffle(v, (gl_SubgroupInvocationID & ~(SG - 1u)) + src);
}

void main() {
    uint lane = gl_SubgroupInvocationID % SG;
    uint vsg = gl_SubgroupID * (gl_SubgroupSize / SG) + gl_SubgroupInvocationID / SG;
    uint SGY = gl_WorkGroupSize.x / SG / SGX;
    uint row0 = ((p.group_y0 + gl_WorkGroupID.y) * SGY + vsg / SGX) * TM;
    uint col0 = (((p.group_x0 + gl_WorkGroupID.x) * SGX + vsg % SGX) * SG + lane) * TN;
    uint z = p.batch0 + gl_WorkGroupID.z;
    uint base_a = z * p.stride_a, base_b = z * p.stride_b, base_c = z * p.stride_c;

    // Rows this lane loads and columns it reads, clamped so that every load stays in the matrix.
    uint arow[RPL];
    for (uint r = 0; r < RPL; r++) arow[r] = min(row0 + lane * RPL + r, p.M - 1u);
    uint bcol[TN];
    for (uint j = 0; j < TN; j++) bcol[j] = min(col0 + j, p.N - 1u);
    // vec4 loads along n need the whole vec4 inside the row; N % 4 == 0 whenever VEC_B is set.
    uint bcol4[TN4];
    for (uint n = 0; n < TN4; n++) bcol4[n] = min(col0 + 4u * n, max(p.N, 4u) - 4u);

    vec4 acc[TM][TN4];
    for (uint m = 0; m < TM; m++)
        for (uint n = 0; n < TN4; n++) acc[m][n] = vec4(0.0);
    // BIAS_GRAD: the subgroup of the first row block sums its columns of op(B) as it loads them, so
    // each column has one owner and a fixed summation order.
    const bool bg_owner = BIAS_GRAD && row0 == 0u;
    vec4 bg[TN4];
    for (uint n = 0; n < TN4; n++) bg[n] = vec4(0.0);

    // K in chunks of 4 with vec4 loads of B, then one k at a time for the tail (not compiled at all
    // when K % 4 == 0). Shapes whose B rows are not vec4-aligned take the one-at-a-time loop for all
    // of K: it is slower, but a fully unrolled chunk of scalar loads costs lavapipe seconds of LLVM
    // compile time.
    uint k4_end = VEC_B ? p.K & ~3u : 0u;
    for (uint k = 0; k < k4_end; k += 4u) {
        // bv[t][n] = op(B)[k + t][col0 + 4n .. +3]
        vec4 bv[4][TN4];
        if (!TRANS_B && VEC_B) {
            for (uint t = 0; t < 4u; t++)
                for (uint n = 0; n < TN4; n++) bv[t][n] = vec4(b4[(base_b + (k + t) * p.ldb + bcol4[n]) >> 2]);
        } else {
            // One vec4 along k per column, transposed in registers.
            for (uint n = 0; n < TN4; n++)
                for (uint c = 0; c < 4u; c++) {
                    vec4 w = vec4(b4[(base_b + bcol[4u * n + c] * p.ldb + k) >> 2]);
                    for (uint t = 0; t < 4u; t++) bv[t][n][c] = w[t];
                }
        }
        if (bg_owner)
            for (uint n = 0; n < TN4; n++)
                for (uint t = 0; t < 4u; t++) bg[n] += bv[t][n]; // k order, as the CPU reference
        vec4 av[RPL];
        for (uint r = 0; r < RPL; r++) av[r] = load_a4(base_a, arow[r], k);
        for (uint m = 0; m < TM; m++) {
            vec4 a = from_lane(av[m % RPL], m / RPL);
            for (uint n = 0; n < TN4; n++) {
                acc[m][n] += a.x * bv[0][n];
                acc[m][n] += a.y * bv[1][n];
                acc[m][n] += a.z * bv[2][n];
                acc[m][n] += a.w * bv[3][n];
            }
        }
    }
    for (uint k = k4_end; k < (VEC_B && K_MUL4 ? 0u : p.K); k++) {
        vec4 bv[TN4];
        for (uint n = 0; n < TN4; n++)
            for (uint c = 0; c < 4u; c++) bv[n][c] = load_b(base_b, k, bcol[4u * n + c]);
        if (bg_owner)
            for (uint n = 0; n < TN4; n++) bg[n] += bv[n];
        vec4 av = vec4(0.0);
        for (uint r = 0; r < RPL; r++) av[r & 3u] = load_a(base_a, arow[r], k);
        // RPL <= 4 keeps every lane's rows in one vec4 (checked by the host).
        for (uint m = 0; m < TM; m++) {
            float a = from_lane(av, m / RPL)[m % RPL];
            for (uint n = 0; n < TN4; n++) acc[m][n] += a * bv[n];
        }
    }

    // Epilogue. With VEC_C, N % 4 == 0, so a vec4 that starts inside a row ends inside it too.
    vec4 bias_v[TN4];
    for (uint n = 0; n < TN4; n++)
        bias_v[n] = !HAS_BIAS ? vec4(0.0) : VEC_C ? bias4[bcol4[n] >> 2]
                  : vec4(bias1[bcol[4u * n]], bias1[bcol[4u * n + 1u]], bias1[bcol[4u * n + 2u]], bias1[bcol[4u * n + 3u]]);
    if (bg_owner)
        for (uint n = 0; n < TN4; n++)
            for (uint t = 0; t < 4u; t++)
                if (col0 + 4u * n + t < p.N) bgrad[col0 + 4u * n + t] += bg[n][t];
    for (uint m = 0; m < TM; m++) {
        uint i = row0 + m;
        if (i >= p.M) break;
        for (uint n = 0; n < TN4; n++) {
            uint j = col0 + 4u * n;
            if (j >= p.N) break;
            if (VEC_C) {
                uint idx = (base_c + i * p.ldc + j) >> 2;
                vec4 v = p.alpha * acc[m][n] + bias_v[n];
                if (ACCUMULATE) v += c4[idx];
                c4[idx] = v;
            } else {
                for (uint t = 0; t < 4u; t++)
                    if (j + t < p.N) c1[base_c + i * p.ldc + j + t] = finish(acc[m][n][t], bias_v[n][t], base_c, i, j + t);
            }
        }
    }
}
