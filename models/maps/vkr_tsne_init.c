/* Initial t-SNE layouts: PCA (top two principal components) or seeded Gaussian noise. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_rng.h"
#include "vkr_tsne.h"

static void random_layout(uint32_t n, uint64_t seed, float* y) {
    vkr_rng rng = vkr_rng_make(seed, 0);
    for (uint64_t e = 0; e < 2 * (uint64_t)n; e++) y[e] = (float)(1e-4 * vkr_rng_next_normal(&rng));
}

/* Top two eigenvectors of the symmetric d x d matrix c by subspace iteration (Gram-Schmidt each
 * step); the sign of each is fixed so that its largest-magnitude component is positive. */
static void top2_eigen(const double* c, uint32_t d, uint64_t seed, double* v) {
    vkr_rng rng = vkr_rng_make(seed, 0);
    double* w = malloc(sizeof *w * 2 * d);
    for (uint32_t e = 0; e < 2 * d; e++) v[e] = vkr_rng_next_normal(&rng);
    for (int it = 0; it < 500 && w; it++) {
        for (int a = 0; a < 2; a++)
            for (uint32_t r = 0; r < d; r++) {
                double acc = 0;
                for (uint32_t t = 0; t < d; t++) acc += c[(size_t)r * d + t] * v[a * d + t];
                w[a * d + r] = acc;
            }
        double delta = 0;
        for (int a = 0; a < 2; a++) {
            double* wa = w + a * d;
            for (int b = 0; b < a; b++) {
                double dot = 0;
                for (uint32_t t = 0; t < d; t++) dot += wa[t] * w[b * d + t];
                for (uint32_t t = 0; t < d; t++) wa[t] -= dot * w[b * d + t];
            }
            double norm = 0;
            for (uint32_t t = 0; t < d; t++) norm += wa[t] * wa[t];
            norm = sqrt(norm);
            for (uint32_t t = 0; t < d; t++) {
                wa[t] = norm > 0 ? wa[t] / norm : (t == (uint32_t)a);
                delta = fmax(delta, fabs(fabs(wa[t]) - fabs(v[a * d + t])));
            }
        }
        memcpy(v, w, sizeof *w * 2 * d);
        if (delta < 1e-10) break;
    }
    free(w);
    for (int a = 0; a < 2; a++) {
        uint32_t best = 0;
        for (uint32_t t = 1; t < d; t++)
            if (fabs(v[a * d + t]) > fabs(v[a * d + best])) best = t;
        if (v[a * d + best] < 0)
            for (uint32_t t = 0; t < d; t++) v[a * d + t] = -v[a * d + t];
    }
}

vkr_status vkr_tsne_initial(const float* x, uint32_t n, uint32_t d, vkr_tsne_init init, uint64_t seed, float* y) {
    if (!x || !y || n == 0 || d == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_initial: bad argument");
    if (init == VKR_TSNE_INIT_RANDOM || d < 2) {
        random_layout(n, seed, y);
        return VKR_OK;
    }
    if (init != VKR_TSNE_INIT_PCA) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_initial: unknown init %d", init);
    double* mean = calloc(d, sizeof *mean);
    float* xc = malloc(sizeof *xc * n * d);
    float* cf = malloc(sizeof *cf * d * d);
    double* c = malloc(sizeof *c * d * d);
    double* v = malloc(sizeof *v * 2 * d);
    if (!mean || !xc || !cf || !c || !v) {
        free(mean), free(xc), free(cf), free(c), free(v);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_initial: out of host memory");
    }
    for (uint64_t e = 0; e < (uint64_t)n * d; e++) mean[e % d] += x[e];
    for (uint32_t t = 0; t < d; t++) mean[t] /= n;
    for (uint64_t e = 0; e < (uint64_t)n * d; e++) xc[e] = (float)(x[e] - mean[e % d]);
    /* Covariance (up to the 1/n that does not change eigenvectors) by OpenBLAS; lower triangle. */
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)n, 1.0f, xc, (int)d, 0.0f, cf, (int)d);
    for (uint32_t r = 0; r < d; r++)
        for (uint32_t t = 0; t <= r; t++) c[(size_t)r * d + t] = c[(size_t)t * d + r] = cf[(size_t)r * d + t] / n;
    top2_eigen(c, d, seed, v);
    double sum = 0, sum2 = 0;
    for (uint32_t i = 0; i < n; i++) {
        double a = 0, b = 0;
        for (uint32_t t = 0; t < d; t++) {
            a += xc[(size_t)i * d + t] * v[t];
            b += xc[(size_t)i * d + t] * v[d + t];
        }
        y[2 * i] = (float)a;
        y[2 * i + 1] = (float)b;
        sum += a;
        sum2 += a * a;
    }
    double sd = sqrt(fmax(sum2 / n - (sum / n) * (sum / n), 0));
    if (sd > 0) {
        for (uint64_t e = 0; e < 2 * (uint64_t)n; e++) y[e] = (float)(y[e] / sd * 1e-4);
    } else {
        random_layout(n, seed, y); /* every point identical: PCA says nothing */
    }
    free(mean), free(xc), free(cf), free(c), free(v);
    return VKR_OK;
}

vkr_status vkr_tsne_gaussian_mixture(uint32_t n, uint32_t d, uint32_t clusters, float spread, uint64_t seed, float* x,
                                     uint32_t* labels) {
    if (!x || n == 0 || d == 0 || clusters == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_gaussian_mixture: need x and n, d, clusters >= 1");
    double* centre = malloc(sizeof *centre * clusters * d);
    if (!centre) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_tsne_gaussian_mixture: out of host memory");
    vkr_rng rng = vkr_rng_make(seed, 0);
    for (uint64_t e = 0; e < (uint64_t)clusters * d; e++) centre[e] = spread * vkr_rng_next_normal(&rng);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = i % clusters;
        if (labels) labels[i] = c;
        for (uint32_t t = 0; t < d; t++)
            x[(size_t)i * d + t] = (float)(centre[(size_t)c * d + t] + vkr_rng_next_normal(&rng));
    }
    free(centre);
    return VKR_OK;
}
