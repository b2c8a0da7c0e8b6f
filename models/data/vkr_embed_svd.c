/* Randomized truncated SVD of a sparse matrix, on the device or on the CPU references. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_embed.h"
#include "vkr_matmul.h"
#include "vkr_rng.h"

/* A dense row-major matrix living on the device (gpu) or the host. */
typedef struct mat {
    vkr_buffer buf;
    float* host;
} mat;

typedef struct svd_ctx {
    vkr_device* dev;       /* NULL: CPU path */
    const vkr_csr* a;      /* m x n */
    vkr_csr at;            /* its transpose */
    vkr_buffer csr[2][3];  /* device copies of A and A^T: row_ptr, col, val */
    vkr_buffer small;      /* l x l matrices exchanged with the host */
    float* small_host;     /* CPU path's counterpart */
    uint32_t l;            /* working columns */
} svd_ctx;

static vkr_status mat_alloc(svd_ctx* c, uint64_t elems, mat* m) {
    memset(m, 0, sizeof *m);
    if (c->dev) return vkr_buffer_create(c->dev, elems * 4, VKR_MEMORY_DEVICE, &m->buf);
    m->host = calloc(elems, 4);
    return m->host ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the SVD");
}

static void mat_free(svd_ctx* c, mat* m) {
    if (c->dev) vkr_buffer_destroy(c->dev, &m->buf);
    free(m->host);
    memset(m, 0, sizeof *m);
}

static vkr_range whole(const vkr_buffer* b) { return vkr_range_whole(b); }

/* Records one step into a fresh sequence and runs it. */
typedef vkr_status (*record_fn)(vkr_sequence* seq, void* user);
static vkr_status run_gpu(vkr_device* dev, record_fn fn, void* user) {
    vkr_sequence* seq = NULL;
    VKR_TRY(vkr_sequence_create(dev, &seq));
    vkr_status s = fn(seq, user);
    if (s == VKR_OK) s = vkr_sequence_submit(seq);
    vkr_sequence_destroy(seq);
    return s;
}

typedef struct spmm_job {
    svd_ctx* c;
    int t; /* 0: A, 1: A^T */
    const mat* x;
    const mat* y;
} spmm_job;

static vkr_status record_spmm(vkr_sequence* seq, void* user) {
    spmm_job* j = user;
    const vkr_csr* a = j->t ? &j->c->at : j->c->a;
    vkr_spmm_params p = {a->rows, a->cols, j->c->l, a->nnz, false};
    vkr_buffer* b = j->c->csr[j->t];
    return vkr_gpu_spmm(seq, &p, whole(&b[0]), whole(&b[1]), whole(&b[2]), whole(&j->x->buf), whole(&j->y->buf));
}

/* y = A x (t = 0) or A^T x (t = 1); x has l columns. */
static vkr_status spmm(svd_ctx* c, int t, const mat* x, mat* y) {
    if (!c->dev) return vkr_ref_spmm(t ? &c->at : c->a, x->host, c->l, false, y->host);
    spmm_job j = {c, t, x, y};
    return run_gpu(c->dev, record_spmm, &j);
}

typedef struct mm_job {
    vkr_matmul_params p;
    const mat* a;
    const vkr_buffer* b;
    const vkr_buffer* out;
} mm_job;

static vkr_status record_mm(vkr_sequence* seq, void* user) {
    mm_job* j = user;
    vkr_range none = {0};
    return vkr_gpu_matmul(seq, &j->p, whole(&j->a->buf), whole(j->b), none, whole(j->out));
}

/* g (l x l, double) = y^T y for y with `rows` rows. */
static vkr_status gram(svd_ctx* c, const mat* y, uint32_t rows, double* g) {
    uint32_t l = c->l;
    vkr_matmul_params p = {.M = l, .N = l, .K = rows, .trans_a = true, .batch = 1, .alpha = 1.0f};
    if (c->dev) {
        mm_job j = {p, y, &y->buf, &c->small};
        VKR_TRY(run_gpu(c->dev, record_mm, &j));
        VKR_TRY(vkr_buffer_download(c->dev, &c->small, 0, c->small_host, 4ull * l * l));
    } else {
        VKR_TRY(vkr_ref_matmul(&p, y->host, y->host, NULL, c->small_host));
    }
    for (uint32_t k = 0; k < l * l; k++) g[k] = c->small_host[k];
    return VKR_OK;
}

/* out (rows x k) = y (rows x l) r (l x k, float, row-major). */
static vkr_status mul_small(svd_ctx* c, const mat* y, uint32_t rows, const float* r, uint32_t k, mat* out) {
    vkr_matmul_params p = {.M = rows, .N = k, .K = c->l, .batch = 1, .alpha = 1.0f};
    if (!c->dev) return vkr_ref_matmul(&p, y->host, r, NULL, out->host);
    VKR_TRY(vkr_buffer_upload(c->dev, &c->small, 0, r, 4ull * c->l * k));
    mm_job j = {p, y, &c->small, &out->buf};
    return run_gpu(c->dev, record_mm, &j);
}

/* Cyclic Jacobi eigendecomposition of the symmetric n x n matrix g (destroyed): eigenvalues in w,
 * eigenvectors in the columns of v, sorted by decreasing eigenvalue. n is small (dim + oversample). */
static void jacobi_eigen(double* g, uint32_t n, double* w, double* v) {
    for (uint32_t i = 0; i < n * n; i++) v[i] = 0;
    for (uint32_t i = 0; i < n; i++) v[i * n + i] = 1;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0, diag = 0;
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < n; j++) *(i == j ? &diag : &off) += g[i * n + j] * g[i * n + j];
        if (off <= 1e-30 * (diag > 0 ? diag : 1)) break;
        for (uint32_t p = 0; p < n; p++)
            for (uint32_t q = p + 1; q < n; q++) {
                double apq = g[p * n + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (g[q * n + q] - g[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double cs = 1 / sqrt(t * t + 1), sn = t * cs;
                for (uint32_t k = 0; k < n; k++) { /* columns p, q */
                    double gkp = g[k * n + p], gkq = g[k * n + q];
                    g[k * n + p] = cs * gkp - sn * gkq;
                    g[k * n + q] = sn * gkp + cs * gkq;
                }
                for (uint32_t k = 0; k < n; k++) { /* rows p, q */
                    double gpk = g[p * n + k], gqk = g[q * n + k];
                    g[p * n + k] = cs * gpk - sn * gqk;
                    g[q * n + k] = sn * gpk + cs * gqk;
                }
                for (uint32_t k = 0; k < n; k++) {
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = cs * vkp - sn * vkq;
                    v[k * n + q] = sn * vkp + cs * vkq;
                }
            }
    }
    for (uint32_t i = 0; i < n; i++) w[i] = g[i * n + i];
    for (uint32_t i = 0; i < n; i++) { /* selection sort by decreasing eigenvalue, moving columns */
        uint32_t best = i;
        for (uint32_t j = i + 1; j < n; j++)
            if (w[j] > w[best]) best = j;
        if (best == i) continue;
        double t = w[i];
        w[i] = w[best];
        w[best] = t;
        for (uint32_t k = 0; k < n; k++) {
            t = v[k * n + i];
            v[k * n + i] = v[k * n + best];
            v[k * n + best] = t;
        }
    }
}

/* Orthonormalizes the columns of y (rows x l) in place via SVQB: y <- y V diag(1/sqrt(w)), with
 * columns whose eigenvalue is below 1e-6 of the largest set to zero (the Gram matrix is formed in
 * fp32, so smaller eigenvalues are rounding noise). tmp is scratch of y's shape. A second pass
 * restores orthogonality lost to rounding; the power iterations only need a well-conditioned basis,
 * so they take one pass and the final basis two. */
static vkr_status orthonormalize(svd_ctx* c, mat* y, mat* tmp, uint32_t rows, int passes, double* g, double* w,
                                 double* v, float* r) {
    uint32_t l = c->l;
    for (int pass = 0; pass < passes; pass++) {
        VKR_TRY(gram(c, y, rows, g));
        jacobi_eigen(g, l, w, v);
        for (uint32_t i = 0; i < l; i++)
            for (uint32_t j = 0; j < l; j++)
                r[i * l + j] = w[j] > 1e-6 * w[0] && w[0] > 0 ? (float)(v[i * l + j] / sqrt(w[j])) : 0.0f;
        VKR_TRY(mul_small(c, y, rows, r, l, tmp));
        mat t = *y;
        *y = *tmp;
        *tmp = t;
    }
    return VKR_OK;
}

static vkr_status upload_csr(svd_ctx* c, int t) {
    const vkr_csr* a = t ? &c->at : c->a;
    const void* src[3] = {a->row_ptr, a->col, a->val};
    uint64_t bytes[3] = {4ull * (a->rows + 1ull), 4ull * (a->nnz ? a->nnz : 1), 4ull * (a->nnz ? a->nnz : 1)};
    for (int k = 0; k < 3; k++) {
        VKR_TRY(vkr_buffer_create(c->dev, bytes[k], VKR_MEMORY_DEVICE, &c->csr[t][k]));
        VKR_TRY(vkr_buffer_upload(c->dev, &c->csr[t][k], 0, src[k], bytes[k]));
    }
    return VKR_OK;
}

vkr_status vkr_svd_embed(vkr_device* dev, const vkr_csr* a, const vkr_svd_options* o, float* out, float* sv) {
    uint32_t dim = o && o->dim ? o->dim : 64;
    uint32_t over = o && o->oversample ? o->oversample : 10;
    uint32_t iters = o && o->power_iters ? o->power_iters : 4;
    uint64_t seed = o ? o->seed : 0;
    double power = o && o->sv_power > 0 ? o->sv_power : 1.0;
    if (!a || !out || a->rows == 0 || a->cols == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_svd_embed: the matrix is empty (%u x %u)", a ? a->rows : 0,
                        a ? a->cols : 0);
    uint32_t m = a->rows, n = a->cols;
    uint32_t rank_cap = m < n ? m : n;
    uint32_t l = dim + over < rank_cap ? dim + over : rank_cap;
    uint32_t k = dim < l ? dim : l;
    svd_ctx c = {.dev = dev, .a = a, .l = l};
    mat y = {0}, ytmp = {0}, z = {0}, ztmp = {0}, e = {0};
    double* g = malloc(sizeof(double) * l * l * 2 + sizeof(double) * l);
    float* r = malloc(sizeof(float) * l * l);
    float* omega = malloc(sizeof(float) * (size_t)n * l);
    c.small_host = malloc(sizeof(float) * l * l);
    vkr_status s = g && r && omega && c.small_host ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the SVD");
    double* v = g ? g + l * l : NULL;
    double* w = g ? g + 2 * l * l : NULL;
    if (s == VKR_OK) s = vkr_csr_transpose(a, &c.at);
    if (s == VKR_OK && dev) s = upload_csr(&c, 0);
    if (s == VKR_OK && dev) s = upload_csr(&c, 1);
    if (s == VKR_OK && dev) s = vkr_buffer_create(dev, 4ull * l * l, VKR_MEMORY_DEVICE, &c.small);
    if (s == VKR_OK) s = mat_alloc(&c, (uint64_t)m * l, &y);
    if (s == VKR_OK) s = mat_alloc(&c, (uint64_t)m * l, &ytmp);
    if (s == VKR_OK) s = mat_alloc(&c, (uint64_t)n * l, &z);
    if (s == VKR_OK) s = mat_alloc(&c, (uint64_t)n * l, &ztmp);
    if (s == VKR_OK) s = mat_alloc(&c, (uint64_t)m * k, &e);
    if (s == VKR_OK) {
        vkr_rng rng = vkr_rng_make(seed, 0);
        for (uint64_t i = 0; i < (uint64_t)n * l; i++) omega[i] = (float)vkr_rng_next_normal(&rng);
        if (dev) s = vkr_buffer_upload(dev, &z.buf, 0, omega, 4ull * n * l);
        else memcpy(z.host, omega, 4ull * n * l);
    }
    /* Range finder: Y = A Omega, then power iterations Y = A (A^T Y), orthonormalized each step. */
    if (s == VKR_OK) s = spmm(&c, 0, &z, &y);
    if (s == VKR_OK) s = orthonormalize(&c, &y, &ytmp, m, iters ? 1 : 2, g, w, v, r);
    for (uint32_t it = 0; it < iters && s == VKR_OK; it++) {
        s = spmm(&c, 1, &y, &z);
        if (s == VKR_OK) s = orthonormalize(&c, &z, &ztmp, n, 1, g, w, v, r);
        if (s == VKR_OK) s = spmm(&c, 0, &z, &y);
        if (s == VKR_OK) s = orthonormalize(&c, &y, &ytmp, m, it + 1 == iters ? 2 : 1, g, w, v, r);
    }
    /* B = Q^T A, kept as B^T = A^T Q (n x l); B B^T = V S^2 V^T gives U = Q V. */
    if (s == VKR_OK) s = spmm(&c, 1, &y, &z);
    if (s == VKR_OK) s = gram(&c, &z, n, g);
    if (s == VKR_OK) {
        jacobi_eigen(g, l, w, v);
        for (uint32_t i = 0; i < l; i++)
            for (uint32_t j = 0; j < k; j++) {
                double sigma = sqrt(w[j] > 0 ? w[j] : 0);
                r[i * k + j] = (float)(v[i * l + j] * pow(sigma, power));
            }
        for (uint32_t j = 0; sv && j < dim; j++) sv[j] = j < k ? (float)sqrt(w[j] > 0 ? w[j] : 0) : 0.0f;
        s = mul_small(&c, &y, m, r, k, &e);
    }
    float* host_e = dev && s == VKR_OK ? malloc(4ull * m * k) : e.host;
    if (s == VKR_OK && !host_e) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the SVD");
    if (s == VKR_OK && dev) s = vkr_buffer_download(dev, &e.buf, 0, host_e, 4ull * m * k);
    if (s == VKR_OK) {
        for (uint32_t i = 0; i < m; i++) {
            const float* src = host_e + (size_t)i * k;
            float* dst = out + (size_t)i * dim;
            double norm = 0;
            for (uint32_t j = 0; j < k; j++) norm += (double)src[j] * src[j];
            double inv = norm > 0 ? 1 / sqrt(norm) : 0;
            for (uint32_t j = 0; j < dim; j++) dst[j] = j < k ? (float)(src[j] * inv) : 0.0f;
        }
    }
    if (dev) free(host_e);
    mat_free(&c, &y);
    mat_free(&c, &ytmp);
    mat_free(&c, &z);
    mat_free(&c, &ztmp);
    mat_free(&c, &e);
    for (int t = 0; dev && t < 2; t++)
        for (int q = 0; q < 3; q++) vkr_buffer_destroy(dev, &c.csr[t][q]);
    if (dev) vkr_buffer_destroy(dev, &c.small);
    vkr_csr_free(&c.at);
    free(g);
    free(r);
    free(omega);
    free(c.small_host);
    return s;
}
