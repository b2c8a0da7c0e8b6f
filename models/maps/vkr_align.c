/* Domain-alignment measure from nearest neighbours (see vkr_align.h). */
#include <stdlib.h>
#include <string.h>

#include "vkr_align.h"
#include "vkr_tsne.h"

vkr_status vkr_align_from_knn(const int32_t* knn, uint32_t n, uint32_t k, const uint8_t* domain, uint32_t domain_count,
                              vkr_align_result* out) {
    memset(out, 0, sizeof *out);
    if (!knn || !domain || n < 2 || k == 0 || domain_count == 0 || domain_count > VKR_DATA_MAX_DOMAINS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "alignment: need n >= 2 items, k >= 1 and 1..%d domains",
                        VKR_DATA_MAX_DOMAINS);
    vkr_align_result r = {.k = k, .domain_count = domain_count};
    for (uint32_t i = 0; i < n; i++) {
        if (domain[i] >= domain_count)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "alignment: item %u has domain %u of %u", i, domain[i], domain_count);
        r.items[domain[i]]++;
    }
    uint32_t present = 0;
    for (uint32_t c = 0; c < domain_count; c++) present += r.items[c] > 0;
    if (present < 2) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "alignment needs items of at least two domains");
    double sum_f = 0, sum_e = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t other = 0;
        for (uint32_t t = 0; t < k; t++) {
            int32_t j = knn[(size_t)i * k + t];
            if (j < 0 || (uint32_t)j >= n) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "alignment: neighbour index %d", j);
            other += domain[j] != domain[i];
        }
        double f = (double)other / k;
        r.raw[domain[i]] += f;
        sum_f += f;
        sum_e += (double)(n - r.items[domain[i]]) / (n - 1);
    }
    for (uint32_t c = 0; c < domain_count; c++) {
        if (!r.items[c]) continue;
        r.raw[c] /= r.items[c];
        r.expected[c] = (double)(n - r.items[c]) / (n - 1);
        r.mixing[c] = r.raw[c] / r.expected[c];
    }
    r.overall_raw = sum_f / n;
    r.overall = sum_f / sum_e;
    *out = r;
    return VKR_OK;
}

/* kNN by `device` or on the host (device NULL: the reference's result at BLAS speed), then the measure. */
static vkr_status align_with(vkr_device* device, const float* x, uint32_t n, uint32_t d, const uint8_t* domain,
                             uint32_t domain_count, uint32_t k, vkr_align_result* out) {
    memset(out, 0, sizeof *out);
    if (!x || n < 2 || d == 0 || k == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "alignment: need x, n >= 2 points, d >= 1 and k >= 1");
    if (k > n - 1) k = n - 1;
    int32_t* idx = malloc(sizeof *idx * n * k);
    float* dist = malloc(sizeof *dist * n * k);
    vkr_status s = idx && dist ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "alignment: out of host memory");
    if (s == VKR_OK) s = device ? vkr_tsne_knn(device, x, n, d, k, idx, dist) : vkr_tsne_knn_host(x, n, d, k, idx, dist);
    if (s == VKR_OK) s = vkr_align_from_knn(idx, n, k, domain, domain_count, out);
    free(idx);
    free(dist);
    return s;
}

vkr_status vkr_align_compute(vkr_device* device, const float* x, uint32_t n, uint32_t d, const uint8_t* domain,
                             uint32_t domain_count, uint32_t k, vkr_align_result* out) {
    if (!device) {
        memset(out, 0, sizeof *out);
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_align_compute: device is NULL");
    }
    return align_with(device, x, n, d, domain, domain_count, k, out);
}

vkr_status vkr_ref_align_compute(const float* x, uint32_t n, uint32_t d, const uint8_t* domain, uint32_t domain_count,
                                 uint32_t k, vkr_align_result* out) {
    return align_with(NULL, x, n, d, domain, domain_count, k, out);
}
