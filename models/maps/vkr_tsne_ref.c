/* Plain CPU references of the t-SNE kernels (double accumulation, obviously-correct loops). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_tsne_internal.h"

typedef struct knn_cand {
    float d;
    int32_t j;
} knn_cand;

static int cand_cmp(const void* a, const void* b) {
    const knn_cand *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

vkr_status vkr_ref_tsne_knn(const float* x, uint32_t n, uint32_t d, uint32_t k, int32_t* idx, float* dist) {
    if (!x || !idx || !dist) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_knn: NULL argument");
    if (n < 2 || d == 0 || k == 0 || k >= n)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_knn: need n >= 2, d >= 1 and 1 <= k < n (n %u, d %u, k %u)",
                        n, d, k);
    knn_cand* c = malloc(sizeof *c * n);
    if (!c) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_ref_tsne_knn: out of host memory");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t m = 0;
        for (uint32_t j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0;
            for (uint32_t t = 0; t < d; t++) {
                double diff = (double)x[(size_t)i * d + t] - x[(size_t)j * d + t];
                s += diff * diff;
            }
            c[m++] = (knn_cand){(float)s, (int32_t)j};
        }
        qsort(c, m, sizeof *c, cand_cmp);
        for (uint32_t t = 0; t < k; t++) {
            idx[(size_t)i * k + t] = c[t].j;
            dist[(size_t)i * k + t] = c[t].d;
        }
    }
    free(c);
    return VKR_OK;
}

vkr_status vkr_ref_tsne_sigma(uint32_t n, uint32_t k, float perplexity, const float* dist, float* cond) {
    if (!dist || !cond) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_sigma: NULL argument");
    if (n == 0 || k == 0 || !(perplexity >= 1.0f))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_sigma: need n, k >= 1 and perplexity >= 1");
    double target = log(perplexity);
    for (uint32_t i = 0; i < n; i++) {
        const float* di = dist + (size_t)i * k;
        double dmin = di[0];
        for (uint32_t j = 1; j < k; j++) dmin = fmin(dmin, di[j]);
        double beta = 1, lo = 0, hi = 0, used = 1;
        int has_lo = 0, has_hi = 0;
        for (int step = 0; step < 100; step++) {
            used = beta;
            double sum = 0, sdp = 0;
            for (uint32_t j = 0; j < k; j++) {
                double w = exp(-(di[j] - dmin) * beta);
                sum += w;
                sdp += (di[j] - dmin) * w;
            }
            double diff = log(sum) + beta * sdp / sum - target;
            if (fabs(diff) <= 1e-5) break;
            if (diff > 0) {
                lo = beta;
                has_lo = 1;
                beta = has_hi ? 0.5 * (beta + hi) : beta * 2;
            } else {
                hi = beta;
                has_hi = 1;
                beta = has_lo ? 0.5 * (beta + lo) : beta * 0.5;
            }
        }
        double sum = 0;
        for (uint32_t j = 0; j < k; j++) sum += exp(-(di[j] - dmin) * used);
        for (uint32_t j = 0; j < k; j++) cond[(size_t)i * k + j] = (float)(exp(-(di[j] - dmin) * used) / sum);
    }
    return VKR_OK;
}

vkr_status vkr_ref_tsne_repulse(uint32_t n, const float* y, double* rep, double* zrow) {
    if (!y || !rep || !zrow || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_repulse: bad argument");
    for (uint32_t i = 0; i < n; i++) {
        double fx = 0, fy = 0, z = 0;
        for (uint32_t j = 0; j < n; j++) {
            if (j == i) continue;
            double dx = (double)y[2 * i] - y[2 * j], dy = (double)y[2 * i + 1] - y[2 * j + 1];
            double q = 1 / (1 + dx * dx + dy * dy);
            z += q;
            fx += q * q * dx;
            fy += q * q * dy;
        }
        rep[2 * i] = fx;
        rep[2 * i + 1] = fy;
        zrow[i] = z;
    }
    return VKR_OK;
}

vkr_status vkr_ref_tsne_gradient(const vkr_tsne_p* p, const float* y, float exaggeration, double* grad,
                                 double* out_z) {
    if (!p || !y || !grad || p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_gradient: bad argument");
    uint32_t n = p->n;
    double* zrow = malloc(sizeof *zrow * n);
    if (!zrow) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_ref_tsne_gradient: out of host memory");
    vkr_ref_tsne_repulse(n, y, grad, zrow); /* arguments checked above */
    double z = 0;
    for (uint32_t i = 0; i < n; i++) z += zrow[i];
    free(zrow);
    for (uint32_t i = 0; i < n; i++) {
        double ax = 0, ay = 0;
        for (uint32_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
            uint32_t j = p->col[e];
            double dx = (double)y[2 * i] - y[2 * j], dy = (double)y[2 * i + 1] - y[2 * j + 1];
            double q = 1 / (1 + dx * dx + dy * dy);
            ax += p->val[e] * q * dx;
            ay += p->val[e] * q * dy;
        }
        grad[2 * i] = 4 * (exaggeration * ax - grad[2 * i] / z);
        grad[2 * i + 1] = 4 * (exaggeration * ay - grad[2 * i + 1] / z);
    }
    if (out_z) *out_z = z;
    return VKR_OK;
}

vkr_status vkr_ref_tsne_kl(const vkr_tsne_p* p, const double* y, double* out_kl) {
    if (!p || !y || !out_kl || p->n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_kl: bad argument");
    uint32_t n = p->n;
    double z = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++) {
            if (j == i) continue;
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            z += 1 / (1 + dx * dx + dy * dy);
        }
    double kl = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
            uint32_t j = p->col[e];
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double q = 1 / (1 + dx * dx + dy * dy) / z;
            if (p->val[e] > 0) kl += p->val[e] * log(p->val[e] / q);
        }
    *out_kl = kl;
    return VKR_OK;
}

double vkr_tsne_kl_given_z(const vkr_tsne_p* p, const float* y, double z) {
    double kl = 0;
    for (uint32_t i = 0; i < p->n; i++)
        for (uint32_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
            uint32_t j = p->col[e];
            double dx = (double)y[2 * i] - y[2 * j], dy = (double)y[2 * i + 1] - y[2 * j + 1];
            double q = 1 / (1 + dx * dx + dy * dy) / z;
            if (p->val[e] > 0) kl += p->val[e] * log(p->val[e] / q);
        }
    return kl;
}

vkr_status vkr_ref_tsne_fft1d(float* data, uint32_t len, int sign) {
    if (!data || len == 0 || (len & (len - 1)) || (sign != 1 && sign != -1))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_fft1d: need data, a power-of-two length and sign +-1");
    /* The definition itself: X_f = sum_t x_t exp(sign 2 pi i f t / len), in double. */
    double* out = malloc(sizeof *out * 2 * len);
    if (!out) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_ref_tsne_fft1d: out of host memory");
    for (uint32_t f = 0; f < len; f++) {
        double re = 0, im = 0;
        for (uint32_t t = 0; t < len; t++) {
            double ang = sign * 6.283185307179586 * (double)((uint64_t)f * t % len) / len;
            re += data[2 * t] * cos(ang) - data[2 * t + 1] * sin(ang);
            im += data[2 * t] * sin(ang) + data[2 * t + 1] * cos(ang);
        }
        out[2 * f] = re;
        out[2 * f + 1] = im;
    }
    for (uint32_t e = 0; e < 2 * len; e++) data[e] = (float)out[e];
    free(out);
    return VKR_OK;
}

vkr_status vkr_ref_tsne_fft_convolve(uint32_t grid, uint32_t count, uint32_t rows_in, uint32_t rows_out,
                                     const float* kern, float* data) {
    if (!kern || !data || grid == 0 || (grid & (grid - 1)) || rows_in > grid || rows_out > grid)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_fft_convolve: bad argument");
    float* line = malloc(sizeof *line * 2 * grid);
    if (!line) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_ref_tsne_fft_convolve: out of host memory");
    vkr_status s = VKR_OK;
    for (uint64_t g = 0; g < count && s == VKR_OK; g++)
        for (uint32_t c = 0; c < grid && s == VKR_OK; c++) {
            float* at = data + 2 * (g * grid * grid + c);
            for (uint32_t e = 0; e < grid; e++) {
                line[2 * e] = e < rows_in ? at[2 * (size_t)e * grid] : 0.0f;
                line[2 * e + 1] = e < rows_in ? at[2 * (size_t)e * grid + 1] : 0.0f;
            }
            s = vkr_ref_tsne_fft1d(line, grid, -1);
            for (uint32_t e = 0; s == VKR_OK && e < grid; e++) {
                const float* k = kern + 2 * ((size_t)e * grid + c);
                float re = line[2 * e] * k[0] - line[2 * e + 1] * k[1];
                line[2 * e + 1] = line[2 * e] * k[1] + line[2 * e + 1] * k[0];
                line[2 * e] = re;
            }
            if (s == VKR_OK) s = vkr_ref_tsne_fft1d(line, grid, 1);
            for (uint32_t e = 0; s == VKR_OK && e < rows_out; e++) {
                at[2 * (size_t)e * grid] = line[2 * e];
                at[2 * (size_t)e * grid + 1] = line[2 * e + 1];
            }
        }
    free(line);
    return s;
}

vkr_status vkr_ref_tsne_step(const vkr_tsne_step_params* p, const float* attr, const float* rep, float z,
                             float* y, float* update, float* gains) {
    if (!p || !attr || !rep || !y || !update || !gains || p->n == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_ref_tsne_step: bad argument");
    for (uint32_t e = 0; e < 2 * p->n; e++) {
        float grad = 4.0f * (p->exaggeration * attr[e] - rep[e] / z);
        float u = update[e], g = gains[e];
        g = u * grad < 0.0f ? g + 0.2f : g * 0.8f;
        g = g > 0.01f ? g : 0.01f;
        u = p->momentum * u - p->learning_rate * g * grad;
        y[e] += u;
        update[e] = u;
        gains[e] = g;
    }
    return VKR_OK;
}
