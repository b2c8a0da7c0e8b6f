// Shared by the matmul kernels: push constants, the FLAGS specialization constant, and element
// loads of op(A), op(B) that honour transposes, fp16 storage and vec4 views.
//
// Storage is row-major and contiguous per matrix: A is M x K (K x M when TRANS_A), B is K x N
// (N x K when TRANS_B), C is M x N. lda/ldb/ldc are the storage row lengths. Batch item z starts at
// z * stride_x elements (stride 0 broadcasts). Every load index is clamped into the matrix by the
// caller, so loads never leave the bound ranges; out-of-range results are simply not stored.
layout(push_constant) uniform Push {
    uint M, N, K;
    uint lda, ldb, ldc;
    uint stride_a, stride_b, stride_c;
    float alpha;
    uint group_x0, group_y0, batch0; // first workgroup of this dispatch (dispatch-limit splitting)
} p;

// FLAGS bits (mirrored in graph/vkr_matmul_gpu.c).
layout(constant_id = 1) const uint FLAGS = 0;
const bool TRANS_A = (FLAGS & 1u) != 0u;
const bool TRANS_B = (FLAGS & 2u) != 0u;
const bool ACCUMULATE = (FLAGS & 4u) != 0u;
const bool HAS_BIAS = (FLAGS & 8u) != 0u;
const bool VEC_A = (FLAGS & 16u) != 0u; // A rows along k are vec4-aligned (lda, base % 4 == 0)
const bool VEC_B = (FLAGS & 32u) != 0u; // B storage rows are vec4-aligned (ldb, base % 4 == 0)
const bool VEC_C = (FLAGS & 64u) != 0u; // C rows are vec4-aligned (ldc, base % 4 == 0)
const bool K_MUL4 = (FLAGS & 128u) != 0u; // K % 4 == 0: no K tail to compile
const bool BIAS_GRAD = (FLAGS & 256u) != 0u; // also bgrad[j] += sum_k op(B)[k][j] (bias gradient)

#ifdef MATMUL_F16
#extension GL_EXT_shader_16bit_storage : require
#define STORE_T float16_t
#define STORE_T4 f16vec4
#else
#define STORE_T float
#define STORE_T4 vec4
#endif

// The same bindings seen as scalars and as vec4 (descriptor aliasing), so aligned shapes take the
// vector loads and every other shape still works.
layout(std430, binding = 0) readonly buffer A1 { STORE_T a1[]; };
layout(std430, binding = 0) readonly buffer A4 { STORE_T4 a4[]; };
layout(std430, binding = 1) readonly buffer B1 { STORE_T b1[]; };
layout(std430, binding = 1) readonly buffer B4 { STORE_T4 b4[]; };
layout(std430, binding = 2) readonly buffer Bias1 { float bias1[]; };
layout(std430, binding = 2) readonly buffer Bias4 { vec4 bias4[]; };
layout(std430, binding = 3) buffer C1 { float c1[]; };
layout(std430, binding = 3) buffer C4 { vec4 c4[]; };
layout(std430, binding = 4) buffer BGrad { float bgrad[]; }; // BIAS_GRAD only (else bound to C)

// op(A)[i][k] and op(B)[k][j] of the batch item whose storage starts at `base`.
float load_a(uint base, uint i, uint k) { return float(a1[base + (TRANS_A ? k * p.lda + i : i * p.lda + k)]); }
float load_b(uint base, uint k, uint j) { return float(b1[base + (TRANS_B ? j * p.ldb + k : k * p.ldb + j)]); }

// op(A)[i][k..k+3] (k % 4 == 0, k + 3 < K).
vec4 load_a4(uint base, uint i, uint k) {
    if (!TRANS_A && VEC_A) return vec4(a4[(base + i * p.lda + k) >> 2]);
    return vec4(load_a(base, i, k), load_a(base, i, k + 1), load_a(base, i, k + 2), load_a(base, i, k + 3));
}

// Writes one result: alpha * acc (+ bias_j) (+ the old C when accumulating).
float finish(float acc, float bias_j, uint base, uint i, uint j) {
    float v = p.alpha * acc;
    if (HAS_BIAS) v += bias_j;
    if (ACCUMULATE) v += c1[base + i * p.ldc + j];
    return v;
}
