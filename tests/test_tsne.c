/* t-SNE: every kernel against its CPU reference on awkward sizes (kNN, binary search, attraction,
 * exact and FFT repulsion, the FFT itself, the optimizer step), the reference gradient against
 * finite differences of the KL divergence, P's invariants (rows sum to 1, perplexity reached,
 * symmetric, total 1), and whole runs: well-separated clusters stay separated (measured bound). */
#include "vkr_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_tsne.h"

static vkr_test_env env;

static int open_env(void** state) {
    (void)state;
    vkr_test_open(&env, NULL);
    return 0;
}

static int close_env(void** state) {
    (void)state;
    vkr_test_close(&env);
    return 0;
}

static void knn_case(uint32_t n, uint32_t d, uint32_t k, bool duplicates) {
    float* x = malloc(sizeof(float) * n * d);
    vkr_test_fill_random(x, (size_t)n * d, n + d);
    /* Exact duplicates make equal distances (ties are broken by index) and zero distances. */
    if (duplicates)
        for (uint32_t i = 1; i < n; i += 5) memcpy(x + (size_t)i * d, x + (size_t)(i - 1) * d, d * sizeof(float));
    int32_t *gi = malloc(sizeof(int32_t) * n * k), *ri = malloc(sizeof(int32_t) * n * k);
    float *gd = malloc(sizeof(float) * n * k), *rd = malloc(sizeof(float) * n * k);
    VKR_ASSERT_OK(vkr_ref_tsne_knn(x, n, d, k, ri, rd));
    /* the device path (the host one on a CPU driver from VKR_TSNE_KNN_HOST_MIN points), then the host one */
    for (int host = 0; host < 2; host++) {
        VKR_ASSERT_OK(host ? vkr_tsne_knn_host(x, n, d, k, gi, gd) : vkr_tsne_knn(env.device, x, n, d, k, gi, gd));
        for (size_t e = 0; e < (size_t)n * k; e++) {
            if (fabsf(gd[e] - rd[e]) > 1e-4f * (1 + rd[e]))
                fail_msg("knn%s n=%u d=%u k=%u: dist[%zu] %g vs %g", host ? " host" : "", n, d, k, e, gd[e], rd[e]);
            /* Indices must agree except where distances tie within rounding. */
            if (gi[e] != ri[e] && fabsf(gd[e] - rd[e]) > 1e-4f * (1 + rd[e]))
                fail_msg("knn%s n=%u: index[%zu] %d vs %d", host ? " host" : "", n, e, gi[e], ri[e]);
            if (gi[e] == (int32_t)(e / k)) fail_msg("knn n=%u: point %zu is its own neighbour", n, e / k);
        }
    }
    free(x), free(gi), free(ri), free(gd), free(rd);
}

static void test_knn(void** state) {
    (void)state;
    knn_case(2, 1, 1, false);
    knn_case(67, 5, 13, false);
    knn_case(131, 17, 91, true);
    knn_case(300, 3, 64, false);
    /* From VKR_TSNE_KNN_HOST_MIN points a CPU driver takes the host path: duplicates, ties, k = n - 1. */
    knn_case(VKR_TSNE_KNN_HOST_MIN, 64, 91, true);
    knn_case(VKR_TSNE_KNN_HOST_MIN, 2, VKR_TSNE_KNN_HOST_MIN - 1, false);
    knn_case(1000, 64, 5, false);
    /* Bad arguments are refused with a message. */
    float x[4] = {0};
    int32_t i[4];
    float d[4];
    assert_int_equal(vkr_tsne_knn(env.device, x, 2, 2, 2, i, d), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_tsne_knn(env.device, x, 1, 4, 1, i, d), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_tsne_knn_host(x, 2, 2, 2, i, d), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_tsne_knn_host(x, 2, 2, 1, NULL, d), VKR_ERR_INVALID_ARGUMENT);
}

/* Entropy-derived perplexity 2^H (H in bits) of one row. */
static double row_perplexity(const float* p, uint32_t k) {
    double h = 0;
    for (uint32_t j = 0; j < k; j++)
        if (p[j] > 0) h -= p[j] * log(p[j]);
    return exp(h);
}

static void sigma_case(uint32_t n, uint32_t k, float perp) {
    float* dist = malloc(sizeof(float) * n * k);
    vkr_test_fill_random(dist, (size_t)n * k, n * 7 + k);
    /* Ascending squared distances on very different scales per row (1e-3 .. 1e3). */
    for (uint32_t i = 0; i < n; i++) {
        float scale = powf(10.0f, (float)(i % 7) - 3.0f), acc = 0;
        for (uint32_t j = 0; j < k; j++) {
            acc += fabsf(dist[(size_t)i * k + j]) * scale;
            dist[(size_t)i * k + j] = acc;
        }
    }
    float *want = malloc(sizeof(float) * n * k), *got = malloc(sizeof(float) * n * k);
    VKR_ASSERT_OK(vkr_ref_tsne_sigma(n, k, perp, dist, want));
    vkr_buffer bd = {0}, bc = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, (uint64_t)n * k * 4, VKR_MEMORY_DEVICE, &bd));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, (uint64_t)n * k * 4, VKR_MEMORY_DEVICE, &bc));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &bd, 0, dist, (uint64_t)n * k * 4));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    if (n * k > 1)
        assert_int_equal(vkr_gpu_tsne_sigma(seq, n, k, perp, (vkr_range){&bd, 0, 4}, vkr_range_whole(&bc)),
                         VKR_ERR_INVALID_ARGUMENT);
    VKR_ASSERT_OK(vkr_gpu_tsne_sigma(seq, n, k, perp, vkr_range_whole(&bd), vkr_range_whole(&bc)));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &bc, 0, got, (uint64_t)n * k * 4));
    for (uint32_t i = 0; i < n; i++) {
        double sum = 0;
        for (uint32_t j = 0; j < k; j++) sum += got[(size_t)i * k + j];
        if (fabs(sum - 1) > 1e-5) fail_msg("sigma n=%u k=%u: row %u sums to %.8f", n, k, i, sum);
        double pg = row_perplexity(got + (size_t)i * k, k), pr = row_perplexity(want + (size_t)i * k, k);
        /* The target is reachable when k is well above the perplexity. */
        if (k >= 2 * perp && fabs(pr - perp) > 1e-3 * perp) fail_msg("sigma ref row %u: perplexity %g, want %g", i, pr, perp);
        if (k >= 2 * perp && fabs(pg - perp) > 1e-3 * perp) fail_msg("sigma gpu row %u: perplexity %g, want %g", i, pg, perp);
    }
    double err = vkr_test_nmse(got, want, (size_t)n * k);
    if (err > 1e-8) fail_msg("sigma n=%u k=%u: nmse %g", n, k, err);
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(env.device, &bd);
    vkr_buffer_destroy(env.device, &bc);
    free(dist), free(want), free(got);
}

static void test_sigma(void** state) {
    (void)state;
    sigma_case(1, 1, 1.0f);
    sigma_case(3, 7, 2.0f);
    sigma_case(101, 91, 30.0f);
    sigma_case(65, 200, 50.0f);
}

/* Builds P for random data with the GPU affinities and checks its invariants. */
static void make_p(uint32_t n, uint32_t d, float perp, uint32_t seed, vkr_tsne_p* p, float** out_x) {
    float* x = malloc(sizeof(float) * n * d);
    vkr_test_fill_random(x, (size_t)n * d, seed);
    VKR_ASSERT_OK(vkr_tsne_affinities(env.device, x, n, d, perp, p));
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
            total += p->val[e];
            if (e > p->row_ptr[i]) assert_true(p->col[e] > p->col[e - 1]);
            /* Symmetric: (j, i) holds the same value. */
            uint32_t j = p->col[e];
            bool found = false;
            for (uint32_t f = p->row_ptr[j]; f < p->row_ptr[j + 1]; f++)
                if (p->col[f] == i) found = fabsf(p->val[f] - p->val[e]) <= 1e-7f * p->val[e] + 1e-12f;
            if (!found) fail_msg("P not symmetric at (%u, %u)", i, j);
        }
    if (fabs(total - 1) > 1e-5) fail_msg("P sums to %.8f", total);
    if (out_x) *out_x = x;
    else free(x);
}

static void test_affinities(void** state) {
    (void)state;
    vkr_tsne_p p;
    make_p(2, 3, 30.0f, 1, &p, NULL);
    assert_int_equal(p.nnz, 2);
    vkr_tsne_p_free(&p);
    make_p(150, 8, 10.0f, 2, &p, NULL);
    vkr_tsne_p_free(&p);
    assert_int_equal(vkr_tsne_affinities(env.device, (float[2]){0, 1}, 2, 1, 0.5f, &p), VKR_ERR_INVALID_ARGUMENT);
}

/* The locality order is a permutation, the renumbered P holds every entry (i, j) of P at
 * (inv i, inv j) with columns increasing, and KL is unchanged under the same renumbering of y. */
static void order_case(uint32_t n, uint32_t d, float perp, uint32_t seed) {
    vkr_tsne_p p, q;
    float* x = NULL;
    make_p(n, d, perp, seed, &p, &x);
    uint32_t *perm = malloc(sizeof(uint32_t) * n), *inv = malloc(sizeof(uint32_t) * n);
    VKR_ASSERT_OK(vkr_tsne_locality_order(&p, perm));
    for (uint32_t i = 0; i < n; i++) inv[i] = n;
    for (uint32_t r = 0; r < n; r++) {
        assert_true(perm[r] < n && inv[perm[r]] == n);
        inv[perm[r]] = r;
    }
    VKR_ASSERT_OK(vkr_tsne_p_permute(&p, perm, &q));
    assert_int_equal(q.nnz, p.nnz);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = inv[i];
        assert_int_equal(q.row_ptr[r + 1] - q.row_ptr[r], p.row_ptr[i + 1] - p.row_ptr[i]);
        for (uint32_t e = p.row_ptr[i]; e < p.row_ptr[i + 1]; e++) {
            bool found = false;
            for (uint32_t f = q.row_ptr[r]; f < q.row_ptr[r + 1]; f++) {
                if (f > q.row_ptr[r]) assert_true(q.col[f] > q.col[f - 1]);
                found |= q.col[f] == inv[p.col[e]] && q.val[f] == p.val[e];
            }
            if (!found) fail_msg("entry (%u, %u) of P is not at (%u, %u)", i, p.col[e], r, inv[p.col[e]]);
        }
    }
    double *y = malloc(sizeof(double) * 2 * n), *yq = malloc(sizeof(double) * 2 * n), kp = 0, kq = 0;
    for (uint32_t i = 0; i < n; i++) {
        y[2 * i] = x[(size_t)i * d];
        y[2 * i + 1] = x[(size_t)i * d + 1];
        yq[2 * inv[i]] = y[2 * i];
        yq[2 * inv[i] + 1] = y[2 * i + 1];
    }
    VKR_ASSERT_OK(vkr_ref_tsne_kl(&p, y, &kp));
    VKR_ASSERT_OK(vkr_ref_tsne_kl(&q, yq, &kq));
    if (fabs(kp - kq) > 1e-9 * fabs(kp)) fail_msg("KL %.12g after renumbering, %.12g before", kq, kp);
    vkr_tsne_p_free(&q);
    perm[n - 1] = perm[0]; /* a repeated id */
    assert_int_equal(vkr_tsne_p_permute(&p, perm, &q), VKR_ERR_INVALID_ARGUMENT);
    vkr_tsne_p_free(&p);
    vkr_tsne_p_free(&q);
    free(x), free(perm), free(inv), free(y), free(yq);
}

static void test_locality_order(void** state) {
    (void)state;
    order_case(2, 3, 30.0f, 3);
    order_case(3, 2, 30.0f, 4);
    order_case(517, 8, 5.0f, 5);
    /* Two components, {0, 2} and {1, 3}: the search restarts at 1 after 0's component. */
    vkr_tsne_p p;
    VKR_ASSERT_OK(vkr_tsne_symmetrize(4, 1, (int32_t[]){2, 3, 0, 1}, (float[]){1, 1, 1, 1}, &p));
    uint32_t perm[4];
    VKR_ASSERT_OK(vkr_tsne_locality_order(&p, perm));
    assert_int_equal(perm[0], 0);
    assert_int_equal(perm[1], 2);
    assert_int_equal(perm[2], 1);
    assert_int_equal(perm[3], 3);
    vkr_tsne_p_free(&p);
}

/* The reference gradient is the derivative of the reference KL (central differences, double). */
static void test_gradient_fd(void** state) {
    (void)state;
    vkr_tsne_p p;
    uint32_t n = 9;
    make_p(n, 4, 3.0f, 5, &p, NULL);
    float y[18];
    double yd[18], grad[18];
    vkr_test_fill_random(y, 18, 9);
    VKR_ASSERT_OK(vkr_ref_tsne_gradient(&p, y, 1.0f, grad, NULL));
    for (int e = 0; e < 18; e++) yd[e] = y[e];
    for (int e = 0; e < 18; e++) {
        double h = 1e-5, kp, km, keep = yd[e];
        yd[e] = keep + h;
        VKR_ASSERT_OK(vkr_ref_tsne_kl(&p, yd, &kp));
        yd[e] = keep - h;
        VKR_ASSERT_OK(vkr_ref_tsne_kl(&p, yd, &km));
        yd[e] = keep;
        double fd = (kp - km) / (2 * h);
        if (fabs(fd - grad[e]) > 1e-6 + 1e-4 * fabs(fd)) fail_msg("grad[%d] %.9g vs finite difference %.9g", e, grad[e], fd);
    }
    vkr_tsne_p_free(&p);
}

/* Layout spread over about `extent` units, with a few exact duplicates. */
static void random_layout(float* y, uint32_t n, float extent, uint32_t seed) {
    vkr_test_fill_random(y, 2 * (size_t)n, seed);
    for (uint32_t e = 0; e < 2 * n; e++) y[e] *= 0.5f * extent;
    if (n > 3) memcpy(y + 2, y, 2 * sizeof(float));
}

typedef struct dev_layout {
    vkr_buffer y, rep, zrow, z;
} dev_layout;

static void layout_upload(dev_layout* L, const float* y, uint32_t n) {
    memset(L, 0, sizeof *L);
    VKR_ASSERT_OK(vkr_buffer_create(env.device, (uint64_t)n * 8, VKR_MEMORY_DEVICE, &L->y));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, (uint64_t)n * 8, VKR_MEMORY_DEVICE, &L->rep));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, (uint64_t)n * 4, VKR_MEMORY_DEVICE, &L->zrow));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &L->y, 0, y, (uint64_t)n * 8));
}

static void layout_free(dev_layout* L) {
    vkr_buffer_destroy(env.device, &L->y);
    vkr_buffer_destroy(env.device, &L->rep);
    vkr_buffer_destroy(env.device, &L->zrow);
}

/* Compares GPU repulsion (exact or FFT) with the double reference: force nmse and Z. */
static void repulse_case(uint32_t n, float extent, bool fft, double tol, double ztol) {
    float* y = malloc(sizeof(float) * 2 * n);
    random_layout(y, n, extent, n * 3 + (fft ? 1 : 0));
    double *rr = malloc(sizeof(double) * 2 * n), *rz = malloc(sizeof(double) * n);
    VKR_ASSERT_OK(vkr_ref_tsne_repulse(n, y, rr, rz));
    dev_layout L;
    layout_upload(&L, y, n);
    vkr_tsne_fft f = {0};
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    if (fft) {
        VKR_ASSERT_OK(vkr_tsne_fft_create(env.device, n, vkr_tsne_fft_grid_for(extent, VKR_TSNE_FFT_MAX_GRID), &f));
        VKR_ASSERT_OK(vkr_gpu_tsne_repulse_fft(seq, &f, vkr_range_whole(&L.y), vkr_range_whole(&L.rep),
                                               vkr_range_whole(&L.zrow)));
    } else {
        VKR_ASSERT_OK(vkr_gpu_tsne_repulse_exact(seq, n, vkr_range_whole(&L.y), vkr_range_whole(&L.rep),
                                                 vkr_range_whole(&L.zrow)));
    }
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    float *gr = malloc(sizeof(float) * 2 * n), *gz = malloc(sizeof(float) * n), *wr = malloc(sizeof(float) * 2 * n);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &L.rep, 0, gr, (uint64_t)n * 8));
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &L.zrow, 0, gz, (uint64_t)n * 4));
    double zs = 0, zg = 0;
    for (uint32_t i = 0; i < n; i++) {
        zs += rz[i];
        zg += gz[i];
        wr[2 * i] = (float)rr[2 * i];
        wr[2 * i + 1] = (float)rr[2 * i + 1];
    }
    double err = vkr_test_nmse(gr, wr, 2 * (size_t)n);
    if (err > tol) fail_msg("repulse %s n=%u extent %g: force nmse %g", fft ? "fft" : "exact", n, extent, err);
    if (fabs(zg - zs) > ztol * zs) fail_msg("repulse %s n=%u: Z %.6g vs %.6g", fft ? "fft" : "exact", n, zg, zs);
    vkr_sequence_destroy(seq);
    vkr_tsne_fft_destroy(env.device, &f);
    layout_free(&L);
    free(y), free(rr), free(rz), free(gr), free(gz), free(wr);
}

static void test_repulse_exact(void** state) {
    (void)state;
    repulse_case(1, 1.0f, false, 1e-10, 1e-6);
    repulse_case(2, 1.0f, false, 1e-10, 1e-6);
    repulse_case(127, 3.0f, false, 1e-10, 1e-6);
    repulse_case(129, 30.0f, false, 1e-10, 1e-6);
    repulse_case(1031, 10.0f, false, 1e-9, 1e-6);
    /* Around one workgroup's points (64 invocations x 16 points on a CPU driver, x 2 on a GPU). */
    repulse_case(1023, 5.0f, false, 1e-9, 1e-6);
    repulse_case(1025, 5.0f, false, 1e-9, 1e-6);
    repulse_case(2049, 20.0f, false, 1e-9, 1e-6);
}

static void test_repulse_fft(void** state) {
    (void)state;
    /* Interpolation error: boxes at most one unit wide keep the force error near 1e-3 of the (largely
     * cancelling) net force and Z within a few 1e-3 (measured: 1e-3 force nmse, 2.6e-3 on Z at
     * extent 40 with boxes 0.95 wide; far smaller for compact layouts). */
    repulse_case(3, 1.0f, true, 1e-4, 1e-4);
    repulse_case(517, 8.0f, true, 2e-3, 1e-3);
    repulse_case(2003, 40.0f, true, 2e-3, 5e-3);
    repulse_case(1500, 0.001f, true, 1e-4, 1e-4);
}

static void test_fft_lines(void** state) {
    (void)state;
    /* On a CPU driver sizes up to 512 run the line-per-invocation kernel (fft_partial_case takes 1024). */
    uint32_t sizes[] = {2, 8, 128, 512};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        uint32_t L = sizes[c];
        size_t plane = (size_t)L * L * 2;
        float *data = malloc(sizeof(float) * 2 * plane), *want = malloc(sizeof(float) * 2 * plane);
        vkr_test_fill_random(data, 2 * plane, L);
        memcpy(want, data, sizeof(float) * 2 * plane);
        /* Rows of both grids forward, then (reference) the same by the DFT definition. */
        for (uint32_t g = 0; g < 2; g++)
            for (uint32_t r = 0; r < L; r++) VKR_ASSERT_OK(vkr_ref_tsne_fft1d(want + g * plane + (size_t)r * L * 2, L, -1));
        vkr_buffer b = {0};
        VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof(float) * 2 * plane, VKR_MEMORY_DEVICE, &b));
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b, 0, data, sizeof(float) * 2 * plane));
        vkr_sequence* seq = NULL;
        VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
        vkr_tsne_fft_lines rows = {L, 2, L, false, -1, 0, 0};
        VKR_ASSERT_OK(vkr_gpu_tsne_fft(seq, &rows, vkr_range_whole(&b)));
        VKR_ASSERT_OK(vkr_sequence_submit(seq));
        float* got = malloc(sizeof(float) * 2 * plane);
        VKR_ASSERT_OK(vkr_buffer_download(env.device, &b, 0, got, sizeof(float) * 2 * plane));
        double err = vkr_test_nmse(got, want, 2 * plane);
        if (err > 1e-11) fail_msg("fft rows L=%u: nmse %g", L, err);
        /* Columns forward then inverse on the first grid restores it times L. */
        VKR_ASSERT_OK(vkr_sequence_reset(seq));
        vkr_tsne_fft_lines fwd = {L, 1, L, true, -1, 0, 0}, inv = {L, 1, L, true, 1, 0, 0};
        VKR_ASSERT_OK(vkr_gpu_tsne_fft(seq, &fwd, vkr_range_whole(&b)));
        VKR_ASSERT_OK(vkr_gpu_tsne_fft(seq, &inv, vkr_range_whole(&b)));
        VKR_ASSERT_OK(vkr_sequence_submit(seq));
        VKR_ASSERT_OK(vkr_buffer_download(env.device, &b, 0, data, sizeof(float) * plane));
        for (size_t e = 0; e < plane; e++) data[e] /= (float)L;
        err = vkr_test_nmse(data, got, plane);
        if (err > 1e-11) fail_msg("fft columns round trip L=%u: nmse %g", L, err);
        vkr_tsne_fft_lines bad = {3, 1, 1, false, -1, 0, 0}, too_long = {L, 1, 1, false, -1, L + 1, 0};
        assert_int_equal(vkr_gpu_tsne_fft(seq, &bad, vkr_range_whole(&b)), VKR_ERR_INVALID_ARGUMENT);
        assert_int_equal(vkr_gpu_tsne_fft(seq, &too_long, vkr_range_whole(&b)), VKR_ERR_INVALID_ARGUMENT);
        vkr_sequence_destroy(seq);
        vkr_buffer_destroy(env.device, &b);
        free(data), free(want), free(got);
    }
}

/* Only the first `lines` rows (columns) are transformed, the rest untouched; each line reads only its
 * first load_len elements (the rest taken as zero) and writes only its first store_len (0: all). 37
 * lines are one full and one partial workgroup of the line kernel; L = 1024 takes the shared-memory
 * kernel everywhere. */
static void fft_partial_case(uint32_t L, uint32_t lines, bool columns, uint32_t load_len, uint32_t store_len) {
    size_t plane = (size_t)L * L * 2;
    float *data = malloc(sizeof(float) * plane), *want = malloc(sizeof(float) * plane), *got = malloc(sizeof(float) * plane);
    float* line = malloc(sizeof(float) * 2 * L);
    vkr_test_fill_random(data, plane, L + lines);
    memcpy(want, data, sizeof(float) * plane);
    uint32_t in = load_len ? load_len : L, out = store_len ? store_len : L;
    for (uint32_t l = 0; l < lines; l++) {
        for (uint32_t e = 0; e < L; e++) {
            size_t at = columns ? (size_t)e * L + l : (size_t)l * L + e;
            line[2 * e] = e < in ? want[2 * at] : 0.0f;
            line[2 * e + 1] = e < in ? want[2 * at + 1] : 0.0f;
        }
        VKR_ASSERT_OK(vkr_ref_tsne_fft1d(line, L, 1));
        for (uint32_t e = 0; e < out; e++) {
            size_t at = columns ? (size_t)e * L + l : (size_t)l * L + e;
            want[2 * at] = line[2 * e];
            want[2 * at + 1] = line[2 * e + 1];
        }
    }
    vkr_buffer b = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof(float) * plane, VKR_MEMORY_DEVICE, &b));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b, 0, data, sizeof(float) * plane));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    vkr_tsne_fft_lines f = {L, 1, lines, columns, 1, load_len, store_len};
    VKR_ASSERT_OK(vkr_gpu_tsne_fft(seq, &f, vkr_range_whole(&b)));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &b, 0, got, sizeof(float) * plane));
    double err = vkr_test_nmse(got, want, plane);
    if (err > 1e-11)
        fail_msg("fft %u of %u %s, load %u store %u: nmse %g", lines, L, columns ? "columns" : "rows", in, out, err);
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(env.device, &b);
    free(data), free(want), free(got), free(line);
}

static void test_fft_partial(void** state) {
    (void)state;
    fft_partial_case(64, 37, false, 0, 0);
    fft_partial_case(64, 37, true, 0, 0);
    fft_partial_case(256, 1, true, 0, 0);
    fft_partial_case(1024, 37, false, 0, 0);
    fft_partial_case(2, 2, false, 1, 1);
    fft_partial_case(128, 33, true, 41, 0);
    fft_partial_case(128, 33, false, 0, 85);
    fft_partial_case(1024, 5, true, 341, 341);
}

/* Column convolution of `count` grids (rows_in rows read, rows_out written) against the reference:
 * L <= 512 is the fused line kernel on a CPU driver, 1024 the three-pass path everywhere. */
static void fft_convolve_case(uint32_t L, uint32_t count, uint32_t rows_in, uint32_t rows_out) {
    size_t plane = (size_t)L * L * 2, total = plane * count;
    float *data = malloc(sizeof(float) * total), *want = malloc(sizeof(float) * total), *got = malloc(sizeof(float) * total);
    float* kern = malloc(sizeof(float) * plane);
    vkr_test_fill_random(data, total, L + count);
    vkr_test_fill_random(kern, plane, L + rows_in);
    memcpy(want, data, sizeof(float) * total);
    VKR_ASSERT_OK(vkr_ref_tsne_fft_convolve(L, count, rows_in, rows_out, kern, want));
    vkr_buffer b = {0}, k = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof(float) * total, VKR_MEMORY_DEVICE, &b));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof(float) * plane, VKR_MEMORY_DEVICE, &k));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b, 0, data, sizeof(float) * total));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &k, 0, kern, sizeof(float) * plane));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_tsne_fft_convolve(seq, L, count, rows_in, rows_out, vkr_range_whole(&k), vkr_range_whole(&b)));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &b, 0, got, sizeof(float) * total));
    /* Rows from rows_out on are left undefined (scratch of the three-pass path): not compared. */
    for (size_t g = 0; g < count; g++) {
        size_t from = g * plane + (size_t)rows_out * L * 2;
        memset(got + from, 0, sizeof(float) * (plane - (size_t)rows_out * L * 2));
        memset(want + from, 0, sizeof(float) * (plane - (size_t)rows_out * L * 2));
    }
    double err = vkr_test_nmse(got, want, total);
    if (err > 1e-11) fail_msg("fft convolve L=%u x %u, rows %u -> %u: nmse %g", L, count, rows_in, rows_out, err);
    assert_int_equal(vkr_gpu_tsne_fft_convolve(seq, L, count, 0, rows_out, vkr_range_whole(&k), vkr_range_whole(&b)),
                     VKR_ERR_INVALID_ARGUMENT);
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(env.device, &b);
    vkr_buffer_destroy(env.device, &k);
    free(data), free(want), free(got), free(kern);
}

static void test_fft_convolve(void** state) {
    (void)state;
    fft_convolve_case(2, 1, 1, 2);
    fft_convolve_case(8, 3, 8, 8);
    fft_convolve_case(64, 2, 21, 21);
    fft_convolve_case(512, 2, 255, 170);
    fft_convolve_case(1024, 1, 341, 341);
}

/* Attraction + exact repulsion + Z + step on the device against the CPU reference gradient/step. */
static void step_case(uint32_t n) {
    vkr_tsne_p p;
    make_p(n, 6, 5.0f, n, &p, NULL);
    float* y = malloc(sizeof(float) * 2 * n);
    random_layout(y, n, 5.0f, n + 11);
    double* grad = malloc(sizeof(double) * 2 * n);
    double z = 0;
    VKR_ASSERT_OK(vkr_ref_tsne_gradient(&p, y, 12.0f, grad, &z));
    float *attr = malloc(sizeof(float) * 2 * n), *rep = malloc(sizeof(float) * 2 * n);
    float *upd = malloc(sizeof(float) * 2 * n), *gains = malloc(sizeof(float) * 2 * n);
    float *yref = malloc(sizeof(float) * 2 * n), *ygot = malloc(sizeof(float) * 2 * n);
    vkr_test_fill_random(upd, 2 * n, 77);
    vkr_test_fill_random(gains, 2 * n, 78);
    for (uint32_t e = 0; e < 2 * n; e++) gains[e] = 1.0f + 0.5f * gains[e];
    /* Reference step from the reference gradient: attr*12 - rep/Z = grad/4. */
    for (uint32_t e = 0; e < 2 * n; e++) {
        attr[e] = (float)(grad[e] / 4 / 12);
        rep[e] = 0;
    }
    memcpy(yref, y, sizeof(float) * 2 * n);
    float *uref = malloc(sizeof(float) * 2 * n), *gref = malloc(sizeof(float) * 2 * n);
    memcpy(uref, upd, sizeof(float) * 2 * n);
    memcpy(gref, gains, sizeof(float) * 2 * n);
    vkr_tsne_step_params sp = {n, 12.0f, 0.5f, 100.0f};
    VKR_ASSERT_OK(vkr_ref_tsne_step(&sp, attr, rep, (float)z, yref, uref, gref));

    vkr_buffer b[8] = {0};
    uint64_t nnz = p.nnz;
    uint64_t bytes[8] = {4ull * (n + 1), 4 * nnz, 4 * nnz, 8ull * n, 8ull * n, 8ull * n, 8ull * n, 4ull * n};
    for (int k = 0; k < 8; k++) VKR_ASSERT_OK(vkr_buffer_create(env.device, bytes[k], VKR_MEMORY_DEVICE, &b[k]));
    vkr_buffer bz = {0}, brep = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 4, VKR_MEMORY_DEVICE, &bz));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 8ull * n, VKR_MEMORY_DEVICE, &brep));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b[0], 0, p.row_ptr, bytes[0]));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b[1], 0, p.col, bytes[1]));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b[2], 0, p.val, bytes[2]));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b[3], 0, y, bytes[3]));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b[5], 0, upd, bytes[5]));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b[6], 0, gains, bytes[6]));
    vkr_range R[8];
    for (int k = 0; k < 8; k++) R[k] = vkr_range_whole(&b[k]);
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_tsne_attract(seq, n, R[0], R[1], R[2], R[3], R[4]));
    VKR_ASSERT_OK(vkr_gpu_tsne_repulse_exact(seq, n, R[3], vkr_range_whole(&brep), R[7]));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    /* Device gradient pieces against the reference gradient. */
    float* ga = malloc(sizeof(float) * 2 * n);
    float* gz = malloc(sizeof(float) * n);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &b[4], 0, ga, bytes[4]));
    /* the host attraction (CPU drivers') agrees with the kernel */
    float* gh = malloc(sizeof(float) * 2 * n);
    VKR_ASSERT_OK(vkr_tsne_attract_host(&p, y, gh));
    double herr = vkr_test_nmse(gh, ga, 2 * (size_t)n);
    if (herr > 1e-10) fail_msg("host attraction n=%u: nmse %g", n, herr);
    free(gh);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &brep, 0, rep, 8ull * n));
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &b[7], 0, gz, 4ull * n));
    double zg = 0;
    for (uint32_t i = 0; i < n; i++) zg += gz[i];
    float *g_dev = malloc(sizeof(float) * 2 * n), *g_ref = malloc(sizeof(float) * 2 * n);
    for (uint32_t e = 0; e < 2 * n; e++) {
        g_dev[e] = (float)(4 * (12.0 * ga[e] - rep[e] / zg));
        g_ref[e] = (float)grad[e];
    }
    double err = vkr_test_nmse(g_dev, g_ref, 2 * (size_t)n);
    if (err > 1e-9) fail_msg("gradient n=%u: nmse %g", n, err);
    /* The step kernel on the reference's inputs reproduces the reference step. */
    float zf = (float)z;
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &bz, 0, &zf, 4));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &b[4], 0, attr, bytes[4]));
    memset(rep, 0, sizeof(float) * 2 * n);
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &brep, 0, rep, bytes[4]));
    VKR_ASSERT_OK(vkr_sequence_reset(seq));
    VKR_ASSERT_OK(vkr_gpu_tsne_step(seq, &sp, R[4], vkr_range_whole(&brep), vkr_range_whole(&bz), R[3], R[5], R[6]));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &b[3], 0, ygot, bytes[3]));
    err = vkr_test_nmse(ygot, yref, 2 * (size_t)n);
    if (err > 1e-12) fail_msg("step n=%u: nmse %g", n, err);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &b[6], 0, ygot, bytes[6]));
    err = vkr_test_nmse(ygot, gref, 2 * (size_t)n);
    if (err > 1e-12) fail_msg("step gains n=%u: nmse %g", n, err);
    vkr_sequence_destroy(seq);
    for (int k = 0; k < 8; k++) vkr_buffer_destroy(env.device, &b[k]);
    vkr_buffer_destroy(env.device, &bz);
    vkr_buffer_destroy(env.device, &brep);
    vkr_tsne_p_free(&p);
    free(y), free(grad), free(attr), free(rep), free(upd), free(gains), free(yref), free(ygot), free(uref), free(gref);
    free(ga), free(gz), free(g_dev), free(g_ref);
}

static void test_gradient_gpu(void** state) {
    (void)state;
    step_case(2);
    step_case(37);
    step_case(130);
    /* Rows shared by 8 lanes: more rows than one workgroup holds, not a multiple of it. */
    step_case(1001);
}

/* Smallest distance between points of different clusters over the mean distance of a point to its
 * cluster's centroid: > 1 means the clusters do not touch. */
static double separation(const float* y, const uint32_t* label, uint32_t n, uint32_t clusters) {
    double cx[8] = {0}, cy[8] = {0}, cnt[8] = {0}, spread = 0, gap = 1e300;
    for (uint32_t i = 0; i < n; i++) {
        cx[label[i]] += y[2 * i];
        cy[label[i]] += y[2 * i + 1];
        cnt[label[i]]++;
    }
    for (uint32_t c = 0; c < clusters; c++) cx[c] /= cnt[c], cy[c] /= cnt[c];
    for (uint32_t i = 0; i < n; i++) spread += hypot(y[2 * i] - cx[label[i]], y[2 * i + 1] - cy[label[i]]) / n;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++)
            if (label[i] != label[j]) gap = fmin(gap, hypot(y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]));
    return gap / spread;
}

static void run_case(vkr_tsne_method method, vkr_tsne_init init, uint32_t n, uint32_t iterations) {
    uint32_t d = 10, clusters = 4;
    float* x = malloc(sizeof(float) * n * d);
    uint32_t* label = malloc(sizeof(uint32_t) * n);
    VKR_ASSERT_OK(vkr_tsne_gaussian_mixture(n, d, clusters, 12.0f, 3, x, label));
    float* y = malloc(sizeof(float) * 2 * n);
    vkr_tsne_options o = {.perplexity = 20, .iterations = iterations, .exaggeration_iters = iterations / 3,
                          .method = method, .init = init, .seed = 7};
    vkr_tsne_report rep;
    VKR_ASSERT_OK(vkr_tsne_run(env.device, x, n, d, &o, y, &rep));
    assert_int_equal(rep.method, method);
    assert_true(rep.kl_exact);
    double sep = separation(y, label, n, clusters);
    /* Measured: about 3-6 for both methods; the bound leaves room but fails on any mixing. */
    if (!(sep > 1.5)) fail_msg("%s run: clusters not separated (ratio %g)", vkr_tsne_method_name(method), sep);
    if (!(rep.kl > 0 && rep.kl < 1.5)) fail_msg("%s run: KL %g", vkr_tsne_method_name(method), rep.kl);
    /* Same seed, same result (exact method: fixed summation order). */
    if (method == VKR_TSNE_EXACT) {
        float* y2 = malloc(sizeof(float) * 2 * n);
        VKR_ASSERT_OK(vkr_tsne_run(env.device, x, n, d, &o, y2, NULL));
        assert_memory_equal(y, y2, sizeof(float) * 2 * n);
        free(y2);
    }
    free(x), free(label), free(y);
}

static void test_run_exact(void** state) {
    (void)state;
    run_case(VKR_TSNE_EXACT, VKR_TSNE_INIT_PCA, 600, 400);
}

static void test_run_fft(void** state) {
    (void)state;
    /* Smaller: every FFT iteration runs a dozen dispatches, slow under validation on lavapipe. */
    run_case(VKR_TSNE_FFT, VKR_TSNE_INIT_RANDOM, 400, 240);
}

/* Callback bookkeeping: the iterations seen; stops the run once `stop_at` is reached. */
typedef struct callback_log {
    uint32_t calls, last, stop_at;
    bool ordered;
} callback_log;

static bool log_callback(void* user, uint32_t iteration, const float* y, uint32_t n) {
    callback_log* c = user;
    c->ordered = c->ordered && iteration > c->last && y && n == 300;
    c->last = iteration;
    c->calls++;
    return iteration < c->stop_at;
}

static void test_callback(void** state) {
    (void)state;
    uint32_t n = 300, d = 8;
    float *x = malloc(sizeof(float) * n * d), *y = malloc(sizeof(float) * 2 * n);
    VKR_ASSERT_OK(vkr_tsne_gaussian_mixture(n, d, 3, 8.0f, 5, x, NULL));
    callback_log c = {.stop_at = 60, .ordered = true};
    vkr_tsne_options o = {.iterations = 200, .callback = log_callback, .callback_user = &c, .callback_every = 20};
    vkr_tsne_report rep;
    VKR_ASSERT_OK(vkr_tsne_run(env.device, x, n, d, &o, y, &rep));
    /* Called at 20, 40, 60; false at 60 stops the run there with that layout. */
    assert_int_equal(c.calls, 3);
    assert_true(c.ordered);
    assert_int_equal(rep.iterations, 60);
    assert_true(rep.kl > 0);
    free(x), free(y);
}

/* The attraction's placements: the host one (CPU drivers' default) with or without overlapping the
 * repulsion gives the same bits; the device kernel sums in another order, so it agrees closely. */
static void test_attraction_placements(void** state) {
    (void)state;
    uint32_t n = 300, d = 8;
    float* x = malloc(sizeof(float) * n * d);
    VKR_ASSERT_OK(vkr_tsne_gaussian_mixture(n, d, 3, 8.0f, 5, x, NULL));
    for (int m = 0; m < 2; m++) {
        vkr_tsne_method method = m ? VKR_TSNE_FFT : VKR_TSNE_EXACT;
        float* y[3];
        vkr_tsne_attraction where[3] = {VKR_TSNE_ATTRACT_HOST, VKR_TSNE_ATTRACT_HOST_OVERLAP, VKR_TSNE_ATTRACT_DEVICE};
        for (int k = 0; k < 3; k++) {
            y[k] = malloc(sizeof(float) * 2 * n);
            vkr_tsne_options o = {.iterations = 3, .exaggeration_iters = 2, .method = method, .attraction = where[k]};
            vkr_status s = vkr_tsne_run(env.device, x, n, d, &o, y[k], NULL);
            if (s == VKR_ERR_UNSUPPORTED && k < 2) { /* a device without mapped buffers: only the kernel */
                memset(y[k], 0, sizeof(float) * 2 * n);
                continue;
            }
            VKR_ASSERT_OK(s);
        }
        /* the exact repulsion sums in a fixed order; the FFT's charge spreading does not */
        if (method == VKR_TSNE_EXACT) assert_memory_equal(y[0], y[1], sizeof(float) * 2 * n);
        static const char* const names[3] = {"host", "host overlapping the repulsion", "device"};
        /* measured at 3 iterations: exact device 1e-14, FFT ~1e-9 (its run-to-run spread) */
        const double bound = method == VKR_TSNE_EXACT ? 1e-10 : 1e-6;
        for (int k = 1; k < 3 && y[0][0] != 0; k++) {
            double err = vkr_test_nmse(y[k], y[0], 2 * (size_t)n);
            if (err > bound) fail_msg("%s: the %s attraction differs from the host's, nmse %g", vkr_tsne_method_name(method), names[k], err);
        }
        for (int k = 0; k < 3; k++) free(y[k]);
    }
    vkr_tsne_options bad = {.attraction = (vkr_tsne_attraction)9};
    float* y = malloc(sizeof(float) * 2 * n);
    assert_int_equal(vkr_tsne_run(env.device, x, n, d, &bad, y, NULL), VKR_ERR_INVALID_ARGUMENT);
    free(x), free(y);
}

static void test_bad_input(void** state) {
    (void)state;
    float x[6] = {0, 1, NAN, 3, 4, 5}, y[6];
    float ok[6] = {0, 1, 2, 3, 4, 5};
    vkr_tsne_options grid = {.fft_max_grid = 100}; /* not a power of two */
    assert_int_equal(vkr_tsne_run(env.device, ok, 3, 2, &grid, y, NULL), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_tsne_run(env.device, x, 3, 2, NULL, y, NULL), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_tsne_run(env.device, x, 1, 2, NULL, y, NULL), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_tsne_run(NULL, x, 3, 2, NULL, y, NULL), VKR_ERR_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_knn),          cmocka_unit_test(test_sigma),         cmocka_unit_test(test_affinities),    cmocka_unit_test(test_locality_order),
        cmocka_unit_test(test_gradient_fd),  cmocka_unit_test(test_repulse_exact), cmocka_unit_test(test_repulse_fft),
        cmocka_unit_test(test_fft_lines),    cmocka_unit_test(test_fft_partial),   cmocka_unit_test(test_fft_convolve),   cmocka_unit_test(test_gradient_gpu),
        cmocka_unit_test(test_run_exact),    cmocka_unit_test(test_run_fft),       cmocka_unit_test(test_callback),
        cmocka_unit_test(test_attraction_placements),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, open_env, close_env);
}
