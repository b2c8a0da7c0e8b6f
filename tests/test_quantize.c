/* Quantization kernels against their CPU references on awkward shapes (nearest codeword with and
 * without residuals, grouped sums, multi-level encoding), the RQ graph ops on both backends, a
 * finite-difference check of the RQ loss gradients, k-means on both paths, and the balanced
 * assignment (uniform last level, spread paths). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_balance.h"
#include "vkr_exec.h"
#include "vkr_gradcheck.h"
#include "vkr_graph_ops_quant.h"
#include "vkr_kmeans.h"
#include "vkr_ops_quant.h"
#include "vkr_test.h"


/* A device buffer holding `floats` values, initialized from `init` (or zeros). */
static vkr_range dev_buf(vkr_buffer* b, uint64_t floats, const void* init) {
    VKR_ASSERT_OK(vkr_buffer_create(vkr_test_shared.device, floats * 4 + 4, VKR_MEMORY_DEVICE, b));
    void* zeros = calloc(floats + 1, 4);
    VKR_ASSERT_OK(vkr_buffer_upload(vkr_test_shared.device, b, 0, init ? init : zeros, floats * 4));
    free(zeros);
    return (vkr_range){b, 0, floats * 4};
}

static double sqdist(const float* a, const float* b, uint32_t d) {
    double s = 0;
    for (uint32_t k = 0; k < d; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

/* ---- nearest codeword ---- */

typedef struct assign_case {
    uint32_t n, k, d, c_base, stride, offset;
    bool resid;
} assign_case;

static void check_assign(const assign_case* tc) {
    vkr_quant_assign_params p = {tc->n, tc->k, tc->d, tc->c_base, tc->stride, tc->offset};
    size_t xn = (size_t)tc->n * tc->d, cn = ((size_t)tc->c_base + tc->k) * tc->d, codes_n = (size_t)tc->n * tc->stride;
    float* x = malloc(xn * 4);
    float* c = malloc(cn * 4);
    vkr_test_fill_random(x, xn, 11 + tc->n);
    vkr_test_fill_random(c, cn, 23 + tc->k);
    int32_t* ref_codes = calloc(codes_n, 4);
    int32_t* gpu_codes = calloc(codes_n, 4);
    float *ref_dist = malloc(tc->n * 4), *gpu_dist = malloc(tc->n * 4);
    float *ref_res = malloc(xn * 4), *gpu_res = malloc(xn * 4);
    VKR_ASSERT_OK(vkr_ref_quant_assign(&p, x, c, ref_codes, ref_dist, ref_res));
    vkr_buffer bx, bc, bn, bcodes, bd, br;
    vkr_range rx = dev_buf(&bx, xn, x), rc = dev_buf(&bc, cn, c), rn = dev_buf(&bn, tc->c_base + tc->k, NULL);
    vkr_range rcodes = dev_buf(&bcodes, codes_n, NULL), rd = dev_buf(&bd, tc->n, NULL);
    vkr_range rr = tc->resid ? dev_buf(&br, xn, NULL) : (vkr_range){0};
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(vkr_test_shared.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_quant_norms(seq, tc->c_base + tc->k, tc->d, rc, rn));
    VKR_ASSERT_OK(vkr_gpu_quant_assign(seq, &p, rx, rc, rn, rcodes, rd, rr));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_buffer_download(vkr_test_shared.device, &bcodes, 0, gpu_codes, codes_n * 4));
    VKR_ASSERT_OK(vkr_buffer_download(vkr_test_shared.device, &bd, 0, gpu_dist, tc->n * 4));
    if (tc->resid) VKR_ASSERT_OK(vkr_buffer_download(vkr_test_shared.device, &br, 0, gpu_res, xn * 4));
    uint32_t differ = 0;
    for (uint32_t i = 0; i < tc->n; i++) {
        for (uint32_t s = 0; s < tc->stride; s++)
            if (s != tc->offset) assert_int_equal(gpu_codes[(size_t)i * tc->stride + s], 0); /* other columns untouched */
        int32_t g = gpu_codes[(size_t)i * tc->stride + tc->offset], r = ref_codes[(size_t)i * tc->stride + tc->offset];
        assert_true(g >= 0 && (uint32_t)g < tc->k);
        double dg = sqdist(x + (size_t)i * tc->d, c + ((size_t)tc->c_base + g) * tc->d, tc->d);
        /* a different pick is only allowed for a near-tie under fp32 norm-expansion rounding */
        if (g != r) {
            differ++;
            assert_true(dg - ref_dist[i] <= 1e-5 * (1 + ref_dist[i]));
        }
        assert_true(fabs(gpu_dist[i] - dg) <= 1e-5 * (1 + dg));
        if (tc->resid && g == r)
            for (uint32_t k = 0; k < tc->d; k++)
                assert_float_equal(gpu_res[(size_t)i * tc->d + k], ref_res[(size_t)i * tc->d + k], 1e-6);
    }
    assert_true(differ * 100 <= tc->n); /* near-ties are rare with random data */
    vkr_sequence_destroy(seq);
    vkr_buffer* bufs[5] = {&bx, &bc, &bn, &bcodes, &bd};
    for (int i = 0; i < 5; i++) vkr_buffer_destroy(vkr_test_shared.device, bufs[i]);
    if (tc->resid) vkr_buffer_destroy(vkr_test_shared.device, &br);
    free(x), free(c), free(ref_codes), free(gpu_codes), free(ref_dist), free(gpu_dist), free(ref_res), free(gpu_res);
}

static void assign_matches_reference(void** state) {
    (void)state;
    const assign_case cases[] = {
        {1, 1, 1, 0, 1, 0, false},     {1, 1, 1, 0, 1, 0, true},     {5, 3, 2, 0, 1, 0, true},
        {37, 5, 3, 2, 3, 1, false},    {64, 32, 32, 0, 1, 0, true},  {65, 33, 33, 0, 2, 1, true},
        {131, 7, 70, 4, 4, 3, true},   {257, 257, 17, 0, 1, 0, false}, {1000, 256, 32, 256, 3, 2, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_assign(&cases[i]);
}

static void assign_rejects_bad_arguments(void** state) {
    (void)state;
    vkr_quant_assign_params p = {.n = 4, .k = 0, .d = 2, .code_stride = 1};
    int32_t codes[4];
    float x[8] = {0}, c[4] = {0};
    assert_int_equal(vkr_ref_quant_assign(&p, x, c, codes, NULL, NULL), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "k"));
    p.k = 2;
    p.code_offset = 1;
    assert_int_equal(vkr_ref_quant_assign(&p, x, c, codes, NULL, NULL), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "code_offset"));
    /* a range too small for the shape is refused before recording */
    p.code_offset = 0;
    vkr_buffer b;
    vkr_range r = dev_buf(&b, 4, NULL);
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(vkr_test_shared.device, &seq));
    assert_int_equal(vkr_gpu_quant_assign(seq, &p, r, r, r, r, r, (vkr_range){0}), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "x"));
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(vkr_test_shared.device, &b);
}

/* ---- grouped sums ---- */

static void check_segsum(uint32_t n, uint32_t k, uint32_t d, uint32_t stride, vkr_segsum_mode mode) {
    vkr_quant_segsum_params p = {.n = n, .k = k, .d = d, .code_stride = stride, .code_offset = stride - 1,
                                 .out_base = 1, .mode = mode, .alpha = -0.75f};
    float* x = malloc((size_t)n * d * 4);
    vkr_test_fill_random(x, (size_t)n * d, 5 + n);
    int32_t* codes = malloc((size_t)n * stride * 4);
    for (size_t i = 0; i < (size_t)n * stride; i++) codes[i] = (int32_t)((i * 7919u) % (k + 2)) - 1; /* -1 and k: ignored */
    size_t on = ((size_t)k + 1) * d;
    float* out0 = malloc(on * 4);
    vkr_test_fill_random(out0, on, 99);
    float* ref = malloc(on * 4);
    float* gpu = malloc(on * 4);
    memcpy(ref, out0, on * 4);
    float scale = 1.5f;
    uint32_t* ref_counts = calloc(k, 4);
    uint32_t* gpu_counts = calloc(k, 4);
    VKR_ASSERT_OK(vkr_ref_quant_segsum(&p, x, codes, &scale, ref, ref_counts));
    vkr_buffer bx, bc, bs, bsc, bo, bcnt;
    vkr_range rx = dev_buf(&bx, (size_t)n * d, x), rc = dev_buf(&bc, (size_t)n * stride, codes);
    vkr_range rs = dev_buf(&bs, vkr_quant_segsum_scratch(&p), NULL), rsc = dev_buf(&bsc, 1, &scale);
    vkr_range ro = dev_buf(&bo, on, out0), rcnt = dev_buf(&bcnt, k, NULL);
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(vkr_test_shared.device, &seq));
    VKR_ASSERT_OK(vkr_gpu_quant_segsum(seq, &p, rx, rc, rs, mode == VKR_SEGSUM_ACCUM ? rsc : (vkr_range){0}, ro, rcnt));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    VKR_ASSERT_OK(vkr_buffer_download(vkr_test_shared.device, &bo, 0, gpu, on * 4));
    VKR_ASSERT_OK(vkr_buffer_download(vkr_test_shared.device, &bcnt, 0, gpu_counts, k * 4));
    assert_memory_equal(gpu, out0, (size_t)d * 4); /* row 0 is below out_base: untouched */
    assert_true(vkr_test_nmse(gpu, ref, on) < 1e-10);
    assert_memory_equal(gpu_counts, ref_counts, k * 4);
    vkr_sequence_destroy(seq);
    vkr_buffer* bufs[6] = {&bx, &bc, &bs, &bsc, &bo, &bcnt};
    for (int i = 0; i < 6; i++) vkr_buffer_destroy(vkr_test_shared.device, bufs[i]);
    free(x), free(codes), free(out0), free(ref), free(gpu), free(ref_counts), free(gpu_counts);
}

static void segsum_matches_reference(void** state) {
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        check_segsum(1, 1, 1, 1, (vkr_segsum_mode)mode);
        check_segsum(37, 5, 3, 2, (vkr_segsum_mode)mode);
        check_segsum(2500, 67, 5, 3, (vkr_segsum_mode)mode); /* three blocks of 1024 rows */
        check_segsum(1030, 130, 33, 1, (vkr_segsum_mode)mode);
    }
}

/* ---- multi-level encoding ---- */

static void rq_encode_matches_reference(void** state) {
    (void)state;
    const vkr_rq_params cases[] = {{1, 1, 1, 1, 0}, {77, 3, 13, 5, 0}, {300, 4, 64, 32, 0}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const vkr_rq_params* p = &cases[t];
        size_t zn = (size_t)p->rows * p->dim, cn = (size_t)p->levels * p->codes * p->dim, kn = (size_t)p->rows * p->levels;
        float *z = malloc(zn * 4), *c = malloc(cn * 4);
        vkr_test_fill_random(z, zn, 3);
        vkr_test_fill_random(c, cn, 4);
        for (size_t i = (size_t)p->codes * p->dim; i < cn; i++) c[i] *= 0.3f; /* deeper levels are finer */
        int32_t *ref = malloc(kn * 4), *gpu = malloc(kn * 4);
        VKR_ASSERT_OK(vkr_ref_rq_encode(p, z, c, ref));
        vkr_buffer bz, bc, bs, bk;
        vkr_range rz = dev_buf(&bz, zn, z), rc = dev_buf(&bc, cn, c), rs = dev_buf(&bs, vkr_rq_encode_scratch(p), NULL);
        vkr_range rk = dev_buf(&bk, kn, NULL);
        vkr_sequence* seq = NULL;
        VKR_ASSERT_OK(vkr_sequence_create(vkr_test_shared.device, &seq));
        VKR_ASSERT_OK(vkr_gpu_rq_encode(seq, p, rz, rc, rs, rk));
        VKR_ASSERT_OK(vkr_sequence_submit(seq));
        VKR_ASSERT_OK(vkr_buffer_download(vkr_test_shared.device, &bk, 0, gpu, kn * 4));
        uint32_t same = 0;
        for (size_t i = 0; i < p->rows; i++) same += memcmp(gpu + i * p->levels, ref + i * p->levels, p->levels * 4) == 0;
        assert_true(same * 100 >= p->rows * 99); /* a near-tie changes a whole row's later levels */
        vkr_sequence_destroy(seq);
        vkr_buffer* bufs[4] = {&bz, &bc, &bs, &bk};
        for (int i = 0; i < 4; i++) vkr_buffer_destroy(vkr_test_shared.device, bufs[i]);
        free(z), free(c), free(ref), free(gpu);
    }
}

/* ---- the RQ loss gradient against finite differences (double, on the references) ---- */

typedef struct loss_ctx {
    vkr_rq_params p;
    float *z, *c;
    int32_t* codes;
} loss_ctx;

static double rq_loss_value(void* user) {
    loss_ctx* l = user;
    float v = 0;
    VKR_ASSERT_OK(vkr_ref_rq_loss(&l->p, l->z, l->c, l->codes, &v));
    return v;
}

/* The straight-through loss has stop-gradients, so its analytic gradients are fixed fractions of
 * the derivative of its value: dz is beta/(1+beta) of it (the commitment part; any depth), and with
 * one level dC is 1/(1+beta) of it (the codebook part; deeper levels would add paths sg() cuts). */
static void rq_loss_gradcheck(void** state) {
    (void)state;
    for (uint32_t levels = 1; levels <= 3; levels += 2) {
        loss_ctx l = {.p = {.rows = 9, .levels = levels, .codes = 4, .dim = 5, .beta = 0.25f}};
        size_t zn = 45, cn = (size_t)levels * 4 * 5;
        l.z = malloc(zn * 4), l.c = malloc(cn * 4), l.codes = malloc(9 * levels * 4);
        vkr_test_fill_random(l.z, zn, 8);
        vkr_test_fill_random(l.c, cn, 9);
        VKR_ASSERT_OK(vkr_ref_rq_encode(&l.p, l.z, l.c, l.codes));
        float *dz = calloc(zn, 4), *dc = calloc(cn, 4);
        VKR_ASSERT_OK(vkr_ref_rq_loss_bwd(&l.p, l.z, l.c, l.codes, 1.0f, dz, dc));
        float k = (1 + l.p.beta) / l.p.beta;
        for (size_t i = 0; i < zn; i++) dz[i] *= k;
        for (size_t i = 0; i < cn; i++) dc[i] *= 1 + l.p.beta;
        vkr_gradcheck_input in[2] = {{"dz", l.z, dz, zn}, {"dc", l.c, dc, cn}};
        vkr_gradcheck_options go = {.h = 1e-3, .atol = 1e-4, .rtol = 2e-3};
        assert_int_equal(vkr_gradcheck(rq_loss_value, &l, in, levels == 1 ? 2 : 1, &go), 0);
        free(l.z), free(l.c), free(l.codes), free(dz), free(dc);
    }
}

/* ---- the graph ops on both backends ---- */

typedef struct op_model {
    vkr_graph* g;
    vkr_tensor *x, *w, *cb, *codes, *zq, *loss;
} op_model;

/* z = x W (so z has a gradient), codes, zq; loss = sum(zq * x0) + rq_loss. */
static void op_build(op_model* m, uint32_t B, uint32_t L, uint32_t K, uint32_t D) {
    VKR_ASSERT_OK(vkr_graph_create(1, &m->g));
    m->x = vkr_graph_input(m->g, "x", VKR_F32, 2, (uint32_t[]){B, D});
    m->w = vkr_graph_param(m->g, "w", 2, (uint32_t[]){D, D}, 0);
    m->cb = vkr_graph_param(m->g, "cb", 3, (uint32_t[]){L, K, D}, 0);
    vkr_tensor* z = vkr_op_matmul(m->g, m->x, m->w, NULL, false, false);
    m->codes = vkr_graph_keep(vkr_op_rq_codes(m->g, z, m->cb));
    m->zq = vkr_graph_keep(vkr_op_rq_quantized(m->g, z, m->cb, m->codes));
    vkr_tensor* probe = vkr_op_sum(m->g, vkr_op_reshape(m->g, vkr_op_mul(m->g, m->zq, m->x), 1, (uint32_t[]){B * D}), 0);
    m->loss = vkr_graph_keep(vkr_op_add(m->g, probe, vkr_op_rq_loss(m->g, z, m->cb, m->codes, 0.3f)));
    VKR_ASSERT_OK(vkr_graph_status(m->g));
    VKR_ASSERT_OK(vkr_graph_backward(m->g, m->loss));
}

static void rq_ops_gpu_matches_cpu(void** state) {
    (void)state;
    const uint32_t B = 70, L = 3, K = 9, D = 6;
    float *x = malloc(B * D * 4), *w = malloc(D * D * 4), *cb = malloc(L * K * D * 4);
    vkr_test_fill_random(x, B * D, 1);
    vkr_test_fill_random(w, D * D, 2);
    vkr_test_fill_random(cb, L * K * D, 3);
    float loss[2], zq[2][B * D], dw[2][D * D], dcb[2][L * K * D];
    int32_t codes[2][B * L];
    for (int gpu = 0; gpu < 2; gpu++) {
        op_model m;
        op_build(&m, B, L, K, D);
        vkr_exec* ex = NULL;
        VKR_ASSERT_OK(vkr_exec_create(m.g, &(vkr_exec_options){.device = gpu ? vkr_test_shared.device : NULL}, &ex));
        VKR_ASSERT_OK(vkr_exec_write(ex, m.x, x, B * D * 4));
        VKR_ASSERT_OK(vkr_exec_write(ex, m.w, w, D * D * 4));
        VKR_ASSERT_OK(vkr_exec_write(ex, m.cb, cb, L * K * D * 4));
        VKR_ASSERT_OK(vkr_exec_run(ex));
        VKR_ASSERT_OK(vkr_exec_read(ex, m.loss, &loss[gpu], 4));
        VKR_ASSERT_OK(vkr_exec_read(ex, m.zq, zq[gpu], sizeof zq[gpu]));
        VKR_ASSERT_OK(vkr_exec_read(ex, m.codes, codes[gpu], sizeof codes[gpu]));
        VKR_ASSERT_OK(vkr_exec_read(ex, m.w->grad, dw[gpu], sizeof dw[gpu]));
        VKR_ASSERT_OK(vkr_exec_read(ex, m.cb->grad, dcb[gpu], sizeof dcb[gpu]));
        vkr_exec_destroy(ex);
        vkr_graph_destroy(m.g);
    }
    assert_memory_equal(codes[0], codes[1], sizeof codes[0]);
    assert_float_equal(loss[0], loss[1], 1e-4 * (1 + fabsf(loss[0])));
    assert_true(vkr_test_nmse(zq[1], zq[0], B * D) < 1e-10);
    assert_true(vkr_test_nmse(dw[1], dw[0], D * D) < 1e-8);
    assert_true(vkr_test_nmse(dcb[1], dcb[0], L * K * D) < 1e-8);
    double any = 0;
    for (uint32_t i = 0; i < L * K * D; i++) any += fabs(dcb[0][i]);
    assert_true(any > 0);
    free(x), free(w), free(cb);
}

static void rq_ops_reject_bad_shapes(void** state) {
    (void)state;
    vkr_graph* g = NULL;
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    vkr_tensor* z = vkr_graph_input(g, "z", VKR_F32, 2, (uint32_t[]){4, 8});
    vkr_tensor* cb = vkr_graph_param(g, "cb", 3, (uint32_t[]){2, 16, 7}, 0);
    assert_null(vkr_op_rq_codes(g, z, cb));
    assert_int_equal(vkr_graph_status(g), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_graph_error(g), "same D"));
    vkr_graph_destroy(g);
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    z = vkr_graph_input(g, "z", VKR_F32, 2, (uint32_t[]){4, 8});
    cb = vkr_graph_param(g, "cb", 3, (uint32_t[]){2, 16, 8}, 0);
    vkr_tensor* bad = vkr_graph_input(g, "codes", VKR_I32, 2, (uint32_t[]){4, 3});
    assert_null(vkr_op_rq_loss(g, z, cb, bad, 0.25f));
    assert_non_null(strstr(vkr_graph_error(g), "int32 [4, 2]"));
    vkr_graph_destroy(g);
}

/* ---- k-means ---- */

/* n points around `clusters` well-separated centers in d dims; truth[i] = its center. */
static float* clustered(uint32_t n, uint32_t d, uint32_t clusters, uint32_t seed, int32_t* truth) {
    float* centers = malloc((size_t)clusters * d * 4);
    vkr_test_fill_random(centers, (size_t)clusters * d, seed);
    for (size_t i = 0; i < (size_t)clusters * d; i++) centers[i] *= 10;
    float* x = malloc((size_t)n * d * 4);
    vkr_test_fill_random(x, (size_t)n * d, seed + 1);
    for (uint32_t i = 0; i < n; i++) {
        truth[i] = (int32_t)(i % clusters);
        for (uint32_t k = 0; k < d; k++) x[(size_t)i * d + k] = centers[(size_t)truth[i] * d + k] + 0.2f * x[(size_t)i * d + k];
    }
    free(centers);
    return x;
}

/* Share of points whose cluster's majority truth label is their own. */
static double purity(const int32_t* assign, const int32_t* truth, uint32_t n, uint32_t k, uint32_t classes) {
    uint32_t* tab = calloc((size_t)k * classes, 4);
    for (uint32_t i = 0; i < n; i++) tab[(size_t)assign[i] * classes + truth[i]]++;
    uint32_t good = 0;
    for (uint32_t c = 0; c < k; c++) {
        uint32_t best = 0;
        for (uint32_t t = 0; t < classes; t++)
            if (tab[(size_t)c * classes + t] > best) best = tab[(size_t)c * classes + t];
        good += best;
    }
    free(tab);
    return (double)good / n;
}

static void kmeans_recovers_clusters(void** state) {
    (void)state;
    const uint32_t n = 1203, d = 12, clusters = 8;
    int32_t* truth = malloc(n * 4);
    float* x = clustered(n, d, clusters, 31, truth);
    double inertia[2];
    for (int gpu = 0; gpu < 2; gpu++) {
        vkr_kmeans_options o = {.k = clusters, .iters = 10, .restarts = 2, .seed = 5};
        float c[8 * 12];
        int32_t* assign = malloc(n * 4);
        vkr_kmeans_report rep;
        VKR_ASSERT_OK(vkr_kmeans(gpu ? vkr_test_shared.device : NULL, x, n, d, &o, c, assign, &rep));
        assert_int_equal(rep.runs, 2);
        assert_int_equal(rep.empty, 0);
        assert_true(purity(assign, truth, n, clusters, clusters) == 1.0);
        inertia[gpu] = rep.inertia;
        free(assign);
    }
    assert_true(fabs(inertia[0] - inertia[1]) <= 1e-3 * inertia[0]);
    /* more clusters than distinct points: surplus centroids stay empty, nothing fails */
    vkr_kmeans_options o = {.k = 6, .iters = 3, .init = VKR_KMEANS_RANDOM};
    float c[6 * 12];
    vkr_kmeans_report rep;
    VKR_ASSERT_OK(vkr_kmeans(vkr_test_shared.device, x, 4, d, &o, c, NULL, &rep));
    assert_int_equal(rep.empty, 2);
    assert_float_equal(rep.inertia, 0, 1e-6);
    assert_int_equal(vkr_kmeans(vkr_test_shared.device, x, 0, d, &o, c, NULL, &rep), VKR_ERR_INVALID_ARGUMENT);
    free(x);
    free(truth);
}

/* ---- balanced assignment ---- */

/* Uniform mapping on awkward shapes: 3 levels, prefix groups of 1, 4, 37 and 3 items over k = 5 codes;
 * the 37 (Sinkhorn) and the 3 (distance ranking) each share one residual (duplicate embeddings).
 * Afterwards no code holds more than ceil(g / k) items of a group, the prefixes are untouched, a group
 * within capacity keeps its codes, and it is deterministic. One level: the whole set is one group. */
static void balance_spreads_prefix_groups(void** state) {
    (void)state;
    enum { N = 45, D = 3, K = 5, L = 3 };
    float resid[N * D], cb[K * D];
    vkr_test_fill_random(resid, N * D, 5);
    vkr_test_fill_random(cb, K * D, 6);
    int32_t codes[N * L], again[N * L];
    for (uint32_t i = 0; i < N; i++) {
        uint32_t group = i < 1 ? 0 : i < 5 ? 1 : i < 42 ? 2 : 3;
        codes[i * L] = (int32_t)group;
        codes[i * L + 1] = 4;
        codes[i * L + 2] = i < 5 ? (int32_t)(i % K) : 2; /* group 1: codes 1..4, distinct; group 2: all on 2 */
        if (group == 2) memcpy(resid + i * D, resid + 5 * D, D * 4);
        if (group == 3) memcpy(resid + i * D, resid + 42 * D, D * 4);
    }
    int32_t before[N * L];
    memcpy(before, codes, sizeof codes);
    uint32_t moved = 0;
    VKR_ASSERT_OK(vkr_balance_last_level(resid, cb, N, D, K, L, codes, &moved));
    uint32_t load[K] = {0}, changed = 0, nearest = 0;
    double best = INFINITY;
    for (uint32_t c = 0; c < K; c++) {
        double d2 = sqdist(resid + 42 * D, cb + c * D, D);
        if (d2 < best) {
            best = d2;
            nearest = c;
        }
    }
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(codes[i * L], before[i * L]);
        assert_int_equal(codes[i * L + 1], before[i * L + 1]);
        assert_true(codes[i * L + 2] >= 0 && codes[i * L + 2] < K);
        if (i < 5) assert_int_equal(codes[i * L + 2], before[i * L + 2]); /* groups within capacity */
        else if (i < 42) load[codes[i * L + 2]]++;
        changed += codes[i * L + 2] != before[i * L + 2];
    }
    for (uint32_t c = 0; c < K; c++) assert_true(load[c] <= 8); /* ceil(37 / 5) */
    assert_int_equal(codes[42 * L + 2], (int32_t)nearest); /* the first of the 3 keeps the nearest code */
    assert_true(codes[43 * L + 2] != codes[42 * L + 2] && codes[44 * L + 2] != codes[42 * L + 2]);
    assert_true(codes[43 * L + 2] != codes[44 * L + 2]);
    assert_int_equal(moved, changed);
    assert_true(moved >= 37 - 8 + 2);
    memcpy(again, before, sizeof before);
    VKR_ASSERT_OK(vkr_balance_last_level(resid, cb, N, D, K, L, again, NULL));
    assert_memory_equal(again, codes, sizeof codes);
    int32_t one[N];
    for (uint32_t i = 0; i < N; i++) one[i] = 0;
    VKR_ASSERT_OK(vkr_balance_last_level(resid, cb, N, D, K, 1, one, NULL));
    memset(load, 0, sizeof load);
    for (uint32_t i = 0; i < N; i++) load[one[i]]++;
    for (uint32_t c = 0; c < K; c++) assert_true(load[c] <= 9); /* ceil(45 / 5) */
    assert_int_equal(vkr_balance_last_level(NULL, cb, N, D, K, L, codes, NULL), VKR_ERR_INVALID_ARGUMENT);
}

/* Spreading: m paths over k^L, distinct while m <= k^L, each level's codes used evenly. */
static void balance_spread_is_even(void** state) {
    (void)state;
    enum { M = 7, L = 2, K = 3 };
    int32_t codes[M * L];
    vkr_balance_spread(M, L, K, codes);
    uint32_t first[K] = {0};
    for (uint32_t j = 0; j < M; j++) {
        first[codes[j * L]]++;
        if (j) /* increasing path numbers: distinct */
            assert_true(codes[j * L] * K + codes[j * L + 1] > codes[(j - 1) * L] * K + codes[(j - 1) * L + 1]);
    }
    for (uint32_t c = 0; c < K; c++) assert_true(first[c] >= 2 && first[c] <= 3); /* 7 over 3 codes */
    int32_t many[20];
    vkr_balance_spread(20, 1, 4, many); /* more items than paths: 5 per code */
    uint32_t per[4] = {0};
    for (uint32_t j = 0; j < 20; j++) per[many[j]]++;
    for (uint32_t c = 0; c < 4; c++) assert_int_equal(per[c], 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(assign_matches_reference),
        cmocka_unit_test(assign_rejects_bad_arguments),
        cmocka_unit_test(segsum_matches_reference),
        cmocka_unit_test(rq_encode_matches_reference),
        cmocka_unit_test(rq_loss_gradcheck),
        cmocka_unit_test(rq_ops_gpu_matches_cpu),
        cmocka_unit_test(rq_ops_reject_bad_shapes),
        cmocka_unit_test(kmeans_recovers_clusters),
        cmocka_unit_test(balance_spreads_prefix_groups),
        cmocka_unit_test(balance_spread_is_even),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
