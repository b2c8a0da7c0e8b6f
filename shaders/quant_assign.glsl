// Nearest codeword per row (squared L2), shared by quant_assign.comp and quant_assign_res.comp
// (which defines QUANT_RESIDUAL and also writes the residual x - c[best]).
//
// Register-blocked like matmul_sg.glsl, without shared memory or barriers: a (virtual) subgroup of
// SG lanes owns QA_TM rows; each lane loads QA_TM / SG of those rows' values and hands them to the
// others by subgroup broadcast, and owns QA_TN consecutive codes of the current chunk of
// SG * QA_TN codes, so per dimension a lane does QA_TM * QA_TN FMAs for QA_TN + QA_TM / SG loads
// (on lavapipe a lane's memory access is a scalar loop while a broadcast is a register shuffle).
// After each chunk every row's candidates |c|^2 - 2 x.c (|x|^2 is the same for every code of a
// row) update the lane's running best; at the end an xor butterfly across the SG lanes prefers
// the smaller value and, on equal values, the lower code: ties go to the lowest index. The
// winner's distance is recomputed directly as sum (x - c)^2, avoiding the expansion's
// cancellation in the reported value.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_KHR_shader_subgroup_shuffle : require
layout(local_size_x = 64) in;
#include "nn_common.glsl"

layout(constant_id = 0) const uint SG = 8; // lanes per virtual subgroup; divides the real size
layout(constant_id = 1) const bool VEC = false; // d % 4 == 0 and 16-byte aligned ranges: vec4 loads
#define QA_TM 16u                          // rows per virtual subgroup (a multiple of SG)
#define QA_TN 8u                           // codes per lane per chunk
const uint RPL = QA_TM / SG;               // rows each lane loads

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer C { float cb[]; };
layout(std430, binding = 1) readonly buffer C4 { vec4 cb4[]; };
layout(std430, binding = 2) readonly buffer CN { float cnorm[]; };
layout(std430, binding = 3) writeonly buffer Codes { int codes[]; };
layout(std430, binding = 4) writeonly buffer Dist { float dist[]; };
#ifdef QUANT_RESIDUAL
layout(std430, binding = 5) writeonly buffer R { float resid[]; };
#endif
// n rows of d floats; k codes starting at codebook row c_base (norms indexed the same way);
// the code of row i goes to codes[i * code_stride + code_offset].
layout(push_constant) uniform Push { uint n, k, d, c_base, code_stride, code_offset; } p;

// Value `v` of lane `src` within this lane's group of SG lanes.
float from_lane(float v, uint src) {
    if (gl_SubgroupSize == SG) return subgroupBroadcast(v, src);
    return subgroupShuffle(v, (gl_SubgroupInvocationID & ~(SG - 1u)) + src);
}
vec4 from_lane4(vec4 v, uint src) {
    if (gl_SubgroupSize == SG) return subgroupBroadcast(v, src);
    return subgroupShuffle(v, (gl_SubgroupInvocationID & ~(SG - 1u)) + src);
}

void main() {
    uint lane = gl_SubgroupInvocationID % SG;
    uint vsg = gl_SubgroupID * (gl_SubgroupSize / SG) + gl_SubgroupInvocationID / SG;
    uint row0 = (nn_group() * (gl_WorkGroupSize.x / SG) + vsg) * QA_TM;
    uint arow[RPL];
    for (uint r = 0u; r < RPL; r++) arow[r] = min(row0 + lane * RPL + r, p.n - 1u) * p.d;
    float best[QA_TM];
    uint best_j[QA_TM];
    for (uint m = 0u; m < QA_TM; m++) {
        best[m] = 1.0 / 0.0;
        best_j[m] = 0u;
    }
    for (uint c0 = 0u; c0 < p.k; c0 += SG * QA_TN) {
        uint cj0 = c0 + lane * QA_TN;
        uint crow[QA_TN];
        for (uint t = 0u; t < QA_TN; t++) crow[t] = (p.c_base + min(cj0 + t, p.k - 1u)) * p.d;
        vec4 acc[QA_TM][2];
        for (uint m = 0u; m < QA_TM; m++) acc[m][0] = acc[m][1] = vec4(0.0);
        uint k4_end = VEC ? p.d : 0u;
        for (uint kk = 0u; kk < k4_end; kk += 4u) {
            // eight codes x four dims, transposed so that bt[q][i] holds dim kk+i of codes 4q..4q+3
            vec4 c8[QA_TN];
            for (uint t = 0u; t < QA_TN; t++) c8[t] = cb4[(crow[t] + kk) >> 2];
            vec4 bt[2][4];
            for (uint q = 0u; q < 2u; q++)
                for (uint i = 0u; i < 4u; i++)
                    bt[q][i] = vec4(c8[4u * q][i], c8[4u * q + 1u][i], c8[4u * q + 2u][i], c8[4u * q + 3u][i]);
            vec4 av[RPL];
            for (uint r = 0u; r < RPL; r++) av[r] = x4[(arow[r] + kk) >> 2];
            for (uint m = 0u; m < QA_TM; m++) {
                vec4 a = from_lane4(av[m % RPL], m / RPL);
                for (uint q = 0u; q < 2u; q++)
                    acc[m][q] += a.x * bt[q][0] + a.y * bt[q][1] + a.z * bt[q][2] + a.w * bt[q][3];
            }
        }
        for (uint kk = k4_end; kk < p.d; kk++) {
            vec4 b0 = vec4(cb[crow[0] + kk], cb[crow[1] + kk], cb[crow[2] + kk], cb[crow[3] + kk]);
            vec4 b1 = vec4(cb[crow[4] + kk], cb[crow[5] + kk], cb[crow[6] + kk], cb[crow[7] + kk]);
            float av[RPL];
            for (uint r = 0u; r < RPL; r++) av[r] = x[arow[r] + kk];
            for (uint m = 0u; m < QA_TM; m++) {
                float a = from_lane(av[m % RPL], m / RPL);
                acc[m][0] += a * b0;
                acc[m][1] += a * b1;
            }
        }
        // candidates |c|^2 - 2 x.c; codes past k get +inf so they never win
        vec4 cn[2];
        for (uint t = 0u; t < QA_TN; t++)
            cn[t / 4u][t % 4u] = cj0 + t < p.k ? cnorm[p.c_base + cj0 + t] : 1.0 / 0.0;
        for (uint m = 0u; m < QA_TM; m++) {
            vec4 v0 = cn[0] - 2.0 * acc[m][0], v1 = cn[1] - 2.0 * acc[m][1];
            float v = best[m];
            uint j = best_j[m];
            // this lane's codes in increasing order with a strict '<': the lower code keeps a tie
            if (v0.x < v) { v = v0.x; j = cj0; }
            if (v0.y < v) { v = v0.y; j = cj0 + 1u; }
            if (v0.z < v) { v = v0.z; j = cj0 + 2u; }
            if (v0.w < v) { v = v0.w; j = cj0 + 3u; }
            if (v1.x < v) { v = v1.x; j = cj0 + 4u; }
            if (v1.y < v) { v = v1.y; j = cj0 + 5u; }
            if (v1.z < v) { v = v1.z; j = cj0 + 6u; }
            if (v1.w < v) { v = v1.w; j = cj0 + 7u; }
            best[m] = v;
            best_j[m] = j;
        }
    }
    // each lane holds the best of its own codes; an xor butterfly across the SG lanes picks the
    // smallest value, and on equal values the lower code (cross-lane shuffles are costly on CPU
    // drivers, so this runs once per row, not per chunk)
    for (uint m = 0u; m < QA_TM; m++) {
        for (uint s = SG / 2u; s > 0u; s >>= 1) {
            float ov = subgroupShuffleXor(best[m], s);
            uint oj = subgroupShuffleXor(best_j[m], s);
            if (ov < best[m] || (ov == best[m] && oj < best_j[m])) {
                best[m] = ov;
                best_j[m] = oj;
            }
        }
    }
    for (uint m = 0u; m < QA_TM; m++) {
        uint row = row0 + m;
        if (m / RPL != lane || row >= p.n) continue;
        float s = 0.0;
        uint cbase = (p.c_base + best_j[m]) * p.d;
        for (uint kk = 0u; kk < p.d; kk++) {
            float r = x[row * p.d + kk] - cb[cbase + kk];
#ifdef QUANT_RESIDUAL
            resid[row * p.d + kk] = r;
#endif
            s += r * r;
        }
        codes[row * p.code_stride + p.code_offset] = int(best_j[m]);
        dist[row] = s;
    }
}
