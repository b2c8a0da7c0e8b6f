/* Matmul and pairwise-distance CPU references, and parameter validation shared with the GPU path. */
#include "vkr_matmul.h"

#include <cblas.h>
#include <omp.h>
#include <limits.h>
#include <stdbool.h>
#include <math.h>

vkr_status vkr_matmul_validate(const vkr_matmul_params* p, const char* what) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", what);
    if (p->M == 0 || p->N == 0 || p->K == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: M, N and K must be >= 1 (got M=%u N=%u K=%u)", what, p->M, p->N,
                        p->K);
    /* cblas takes int dimensions and leading dimensions. */
    if (p->M > INT_MAX || p->N > INT_MAX || p->K > INT_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: M, N and K must be <= %d", what, INT_MAX);
    if (p->batch == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: batch must be >= 1", what);
    uint64_t mn = (uint64_t)p->M * p->N;
    if (p->batch > 1 && p->stride_c < mn)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT,
                        "%s: stride_c (%llu) must be >= M*N (%llu) when batch > 1, or batch items overwrite each other",
                        what, (unsigned long long)p->stride_c, (unsigned long long)mn);
    if (isnan(p->alpha) || isinf(p->alpha))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: alpha must be finite", what);
    if ((unsigned)p->dtype >= VKR_MATMUL_DTYPE_COUNT)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: dtype %d is not a vkr_matmul_dtype", what, (int)p->dtype);
    if (p->bias_grad && (p->has_bias || p->batch != 1))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: bias_grad needs batch 1 and no has_bias", what);
    if ((unsigned)p->variant >= VKR_MATMUL_VARIANT_COUNT)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: variant %d is not a vkr_matmul_variant", what, (int)p->variant);
    return VKR_OK;
}

static vkr_status vkr_ref_check_pointers(const vkr_matmul_params* p, const float* a, const float* b,
                                         const float* bias, const float* c, const char* what) {
    VKR_TRY(vkr_matmul_validate(p, what));
    if (!a || !b || !c) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: a, b and c must not be NULL", what);
    if ((p->has_bias || p->bias_grad) && !bias)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: has_bias or bias_grad is set but bias is NULL", what);
    return VKR_OK;
}

/* bias[j] += sum_k op(B)[k][j], in k order (bias_grad; the caller's bias array is the gradient then,
 * so it is written through the pointer the API types as const for the has_bias case). */
static void vkr_ref_bias_grad(const vkr_matmul_params* p, const float* b, float* bias) {
    for (uint32_t j = 0; j < p->N; j++) {
        float s = 0.0f;
        for (uint32_t k = 0; k < p->K; k++) s += p->trans_b ? b[(size_t)j * p->K + k] : b[(size_t)k * p->N + j];
        bias[j] += s;
    }
}

/* One sgemm of rows [i0, i1) and columns [j0, j1) of C = op(A) op(B) (+ beta C). */
static void vkr_sgemm_block(const vkr_matmul_params* p, const float* a, const float* b, float* c, float beta,
                            uint32_t i0, uint32_t i1, uint32_t j0, uint32_t j1) {
    int lda = (int)(p->trans_a ? p->M : p->K), ldb = (int)(p->trans_b ? p->K : p->N);
    const float* ab = a + (p->trans_a ? (size_t)i0 : (size_t)i0 * p->K);
    const float* bb = b + (p->trans_b ? (size_t)j0 * p->K : (size_t)j0);
    cblas_sgemm(CblasRowMajor, p->trans_a ? CblasTrans : CblasNoTrans, p->trans_b ? CblasTrans : CblasNoTrans,
                (int)(i1 - i0), (int)(j1 - j0), (int)p->K, p->alpha, ab, lda, bb, ldb, beta,
                c + (size_t)i0 * p->N + j0, (int)p->N);
}

/* OpenBLAS runs single-threaded and large products are split into row (or column) blocks over the
 * OpenMP threads: one thread pool for the whole CPU backend. OpenBLAS's own threads spin after each
 * call and fought the OpenMP threads of the elementwise ops between products (a SemaCDR epoch on 2
 * cores: 82 s with both pools, 53 s with OpenBLAS on one thread). */
static void vkr_sgemm_split(const vkr_matmul_params* p, const float* a, const float* b, float* c, float beta) {
    int threads = omp_get_max_threads();
    uint64_t work = (uint64_t)p->M * p->N * p->K;
    if (threads < 2 || work < (1ull << 21) || omp_in_parallel()) {
        vkr_sgemm_block(p, a, b, c, beta, 0, p->M, 0, p->N);
        return;
    }
    bool by_rows = p->M >= p->N; /* split the longer side of C */
    uint32_t len = by_rows ? p->M : p->N, parts = (uint32_t)threads;
#pragma omp parallel for schedule(static, 1)
    for (uint32_t t = 0; t < parts; t++) {
        uint32_t lo = (uint32_t)((uint64_t)len * t / parts), hi = (uint32_t)((uint64_t)len * (t + 1) / parts);
        if (lo == hi) continue;
        if (by_rows) vkr_sgemm_block(p, a, b, c, beta, lo, hi, 0, p->N);
        else vkr_sgemm_block(p, a, b, c, beta, 0, p->M, lo, hi);
    }
}

vkr_status vkr_ref_matmul(const vkr_matmul_params* p, const float* a, const float* b, const float* bias, float* c) {
    VKR_TRY(vkr_ref_check_pointers(p, a, b, bias, c, "vkr_ref_matmul"));
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1) openblas_set_num_threads(1);
    for (uint32_t z = 0; z < p->batch; z++) {
        float* cz = c + z * p->stride_c;
        /* Bias (and the old C when accumulating) go into C first; sgemm then adds the product. */
        float beta = p->accumulate || p->has_bias ? 1.0f : 0.0f;
        for (uint32_t i = 0; p->has_bias && i < p->M; i++) {
            float* row = cz + (size_t)i * p->N;
            for (uint32_t j = 0; j < p->N; j++) row[j] = p->accumulate ? row[j] + bias[j] : bias[j];
        }
        vkr_sgemm_split(p, a + z * p->stride_a, b + z * p->stride_b, cz, beta);
    }
    if (blas_threads != 1) openblas_set_num_threads(blas_threads); /* other callers of OpenBLAS keep theirs */
    if (p->bias_grad) vkr_ref_bias_grad(p, b, (float*)bias);
    return VKR_OK;
}

vkr_status vkr_ref_matmul_naive(const vkr_matmul_params* p, const float* a, const float* b, const float* bias,
                                float* c) {
    VKR_TRY(vkr_ref_check_pointers(p, a, b, bias, c, "vkr_ref_matmul_naive"));
    for (uint32_t z = 0; z < p->batch; z++) {
        const float* az = a + z * p->stride_a;
        const float* bz = b + z * p->stride_b;
        float* cz = c + z * p->stride_c;
        for (uint32_t i = 0; i < p->M; i++)
            for (uint32_t j = 0; j < p->N; j++) {
                double s = 0;
                for (uint32_t k = 0; k < p->K; k++) {
                    double x = p->trans_a ? az[(size_t)k * p->M + i] : az[(size_t)i * p->K + k];
                    double y = p->trans_b ? bz[(size_t)j * p->K + k] : bz[(size_t)k * p->N + j];
                    s += x * y;
                }
                s *= p->alpha;
                if (p->has_bias) s += bias[j];
                if (p->accumulate) s += cz[(size_t)i * p->N + j];
                cz[(size_t)i * p->N + j] = (float)s;
            }
    }
    if (p->bias_grad) vkr_ref_bias_grad(p, b, (float*)bias);
    return VKR_OK;
}

vkr_status vkr_ref_sqdist(const vkr_sqdist_params* p, const float* x, const float* y, float* dist) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_sqdist: params is NULL");
    if (p->n == 0 || p->m == 0 || p->d == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_sqdist: n, m and d must be >= 1 (got n=%u m=%u d=%u)", p->n,
                        p->m, p->d);
    if (!x || !y || !dist) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_sqdist: x, y and dist must not be NULL");
    for (uint32_t i = 0; i < p->n; i++)
        for (uint32_t j = 0; j < p->m; j++) {
            double s = 0;
            for (uint32_t k = 0; k < p->d; k++) {
                double diff = (double)x[(size_t)i * p->d + k] - (double)y[(size_t)j * p->d + k];
                s += diff * diff;
            }
            dist[(size_t)i * p->m + j] = (float)s;
        }
    return VKR_OK;
}
