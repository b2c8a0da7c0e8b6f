/* Matmul and pairwise-distance CPU references, and parameter validation shared with the GPU path. */
#include "vkr_matmul.h"

#include <cblas.h>
#include <limits.h>
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
    if ((unsigned)p->variant >= VKR_MATMUL_VARIANT_COUNT)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: variant %d is not a vkr_matmul_variant", what, (int)p->variant);
    return VKR_OK;
}

static vkr_status vkr_ref_check_pointers(const vkr_matmul_params* p, const float* a, const float* b,
                                         const float* bias, const float* c, const char* what) {
    VKR_TRY(vkr_matmul_validate(p, what));
    if (!a || !b || !c) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: a, b and c must not be NULL", what);
    if (p->has_bias && !bias) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: has_bias is set but bias is NULL", what);
    return VKR_OK;
}

vkr_status vkr_ref_matmul(const vkr_matmul_params* p, const float* a, const float* b, const float* bias, float* c) {
    VKR_TRY(vkr_ref_check_pointers(p, a, b, bias, c, "vkr_ref_matmul"));
    int lda = (int)(p->trans_a ? p->M : p->K), ldb = (int)(p->trans_b ? p->K : p->N);
    for (uint32_t z = 0; z < p->batch; z++) {
        float* cz = c + z * p->stride_c;
        /* Bias (and the old C when accumulating) go into C first; sgemm then adds the product. */
        float beta = p->accumulate || p->has_bias ? 1.0f : 0.0f;
        for (uint32_t i = 0; p->has_bias && i < p->M; i++) {
            float* row = cz + (size_t)i * p->N;
            for (uint32_t j = 0; j < p->N; j++) row[j] = p->accumulate ? row[j] + bias[j] : bias[j];
        }
        cblas_sgemm(CblasRowMajor, p->trans_a ? CblasTrans : CblasNoTrans, p->trans_b ? CblasTrans : CblasNoTrans,
                    (int)p->M, (int)p->N, (int)p->K, p->alpha, a + z * p->stride_a, lda, b + z * p->stride_b, ldb, beta,
                    cz, (int)p->N);
    }
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
