/* Sparse matrices and the spmm op: the kernel against its CPU reference on awkward shapes (also
 * accumulating), the CSR builders on hand-worked graphs, validation of bad matrices, the graph op on
 * the GPU executor against the CPU backend (forward and the x gradient, one and two propagation
 * layers), its gradient against finite differences, and construction errors. */
#include "vkr_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_gradcheck.h"
#include "vkr_graph_ops_sparse.h"
#include "vkr_spmm.h"

/* A random sparse rows x cols matrix with about `density` of entries set; row `dense_row` (if
 * < rows) is full and every third row is empty. */
static void random_csr(uint32_t rows, uint32_t cols, double density, uint32_t dense_row, uint32_t seed, vkr_csr* m) {
    uint32_t cap = rows * cols;
    VKR_ASSERT_OK(vkr_csr_alloc(rows, cols, cap, m));
    float* r = malloc(sizeof(float) * cols * 2);
    uint32_t nnz = 0;
    for (uint32_t i = 0; i < rows; i++) {
        vkr_test_fill_random(r, cols * 2, seed + i);
        for (uint32_t j = 0; j < cols; j++)
            if (i == dense_row || (i % 3 != 2 && fabsf(r[2 * j]) < density)) {
                m->col[nnz] = j;
                m->val[nnz++] = r[2 * j + 1];
            }
        m->row_ptr[i + 1] = nnz;
    }
    m->nnz = nnz;
    free(r);
}

static float* rand_floats(size_t n, uint32_t seed) {
    float* v = malloc(n * sizeof *v);
    vkr_test_fill_random(v, n, seed);
    return v;
}

/* GPU against the reference, overwriting and then accumulating into the result. */
static void spmm_case(uint32_t rows, uint32_t cols, uint32_t n, double density) {
    vkr_device* dev = vkr_test_shared.device;
    vkr_csr a;
    random_csr(rows, cols, density, rows / 2, rows * 31 + cols, &a);
    float* x = rand_floats((size_t)cols * n, 7);
    float* want = malloc(sizeof(float) * rows * n);
    float* got = malloc(sizeof(float) * rows * n);
    VKR_ASSERT_OK(vkr_ref_spmm(&a, x, n, false, want));
    vkr_buffer b[5] = {0};
    uint32_t nz = a.nnz ? a.nnz : 1;
    uint64_t bytes[5] = {4ull * (rows + 1), 4ull * nz, 4ull * nz, 4ull * cols * n, 4ull * rows * n};
    const void* src[4] = {a.row_ptr, a.col, a.val, x};
    for (int k = 0; k < 5; k++) VKR_ASSERT_OK(vkr_buffer_create(dev, bytes[k], VKR_MEMORY_DEVICE, &b[k]));
    for (int k = 0; k < 4; k++) VKR_ASSERT_OK(vkr_buffer_upload(dev, &b[k], 0, src[k], bytes[k]));
    vkr_range r[5];
    for (int k = 0; k < 5; k++) r[k] = vkr_range_whole(&b[k]);
    for (int acc = 0; acc < 2; acc++) {
        vkr_sequence* seq = NULL;
        VKR_ASSERT_OK(vkr_sequence_create(dev, &seq));
        vkr_spmm_params p = {rows, cols, n, a.nnz, acc == 1};
        /* A too-small output range is refused before anything is recorded. */
        if (rows * n > 1)
            assert_int_equal(vkr_gpu_spmm(seq, &p, r[0], r[1], r[2], r[3], (vkr_range){&b[4], 0, 4}),
                             VKR_ERR_INVALID_ARGUMENT);
        VKR_ASSERT_OK(vkr_gpu_spmm(seq, &p, r[0], r[1], r[2], r[3], r[4]));
        VKR_ASSERT_OK(vkr_sequence_submit(seq));
        vkr_sequence_destroy(seq);
        if (acc) VKR_ASSERT_OK(vkr_ref_spmm(&a, x, n, true, want)); /* Y was A X: now 2 A X */
        VKR_ASSERT_OK(vkr_buffer_download(dev, &b[4], 0, got, bytes[4]));
        double err = vkr_test_nmse(got, want, (size_t)rows * n);
        if (err > 1e-12) fail_msg("spmm %u x %u x %u (accumulate %d): nmse %g", rows, cols, n, acc, err);
    }
    for (int k = 0; k < 5; k++) vkr_buffer_destroy(dev, &b[k]);
    vkr_csr_free(&a);
    free(x);
    free(want);
    free(got);
}

static void test_spmm_kernel_shapes(void** state) {
    (void)state;
    spmm_case(1, 1, 1, 1.0);
    spmm_case(3, 1, 7, 1.0);
    spmm_case(7, 13, 5, 0.4);
    spmm_case(97, 31, 74, 0.2);
    spmm_case(61, 1009, 3, 0.05); /* long rows (large K) */
    spmm_case(1031, 17, 66, 0.3);
    spmm_case(40, 40, 1, 0.0);    /* only the dense row has entries */
    spmm_case(33, 29, 65, 0.1);   /* n one past the workgroup size */
    spmm_case(70001, 3, 2, 0.3);  /* more rows than one grid dimension holds */
}

/* Repeated edges are summed; ids and weights are checked. */
static void test_csr_from_edges(void** state) {
    (void)state;
    const uint32_t src[6] = {2, 0, 2, 0, 2, 1}, dst[6] = {1, 3, 1, 0, 0, 3};
    const float w[6] = {1.0f, 2.0f, 0.5f, 4.0f, 8.0f, 16.0f};
    vkr_csr m;
    VKR_ASSERT_OK(vkr_csr_from_edges(4, 4, 6, src, dst, w, &m));
    const uint32_t rp[5] = {0, 2, 3, 5, 5}, col[5] = {0, 3, 3, 0, 1};
    const float val[5] = {4.0f, 2.0f, 16.0f, 8.0f, 1.5f};
    assert_int_equal(m.nnz, 5);
    assert_memory_equal(m.row_ptr, rp, sizeof rp);
    assert_memory_equal(m.col, col, sizeof col);
    assert_memory_equal(m.val, val, sizeof val);
    VKR_ASSERT_OK(vkr_csr_check(&m, "edges"));
    vkr_csr_free(&m);
    assert_int_equal(vkr_csr_from_edges(2, 3, 6, src, dst, NULL, &m), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "edge 0 (2, 1) is outside 2 x 3"));
    assert_null(m.row_ptr);
    const float bad[6] = {1, 1, 1, NAN, 1, 1};
    assert_int_equal(vkr_csr_from_edges(4, 4, 6, src, dst, bad, &m), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "edge 3 (0, 0) has weight nan"));
    VKR_ASSERT_OK(vkr_csr_from_edges(3, 2, 0, NULL, NULL, NULL, &m)); /* no edges: an empty matrix */
    assert_int_equal(m.nnz, 0);
    assert_int_equal(m.row_ptr[3], 0);
    vkr_csr_free(&m);
}

/* Users 0..2 and items 0..2: u0-i0, u0-i1, u1-i1, u1-i2 (twice, summed), u2 alone. The adjacency
 * has nodes u0 u1 u2 i0 i1 i2 with degrees 2 3 0 1 2 2, so entry (i, j) is w / sqrt(d_i d_j). */
static void test_csr_normalize_bipartite(void** state) {
    (void)state;
    const uint32_t users[5] = {0, 1, 0, 1, 1}, items[5] = {1, 2, 0, 1, 2};
    vkr_csr r, adj, norm;
    VKR_ASSERT_OK(vkr_csr_from_edges(3, 3, 5, users, items, NULL, &r));
    VKR_ASSERT_OK(vkr_csr_bipartite(&r, &adj));
    VKR_ASSERT_OK(vkr_csr_normalize_sym(&adj, &norm));
    const uint32_t rp[7] = {0, 2, 4, 4, 5, 7, 8}, col[8] = {3, 4, 4, 5, 0, 0, 1, 1};
    const double want[8] = {1 / sqrt(2.0), 1 / sqrt(4.0), 1 / sqrt(6.0), 2 / sqrt(6.0),
                            1 / sqrt(2.0), 1 / sqrt(4.0), 1 / sqrt(6.0), 2 / sqrt(6.0)};
    assert_int_equal(norm.rows, 6);
    assert_int_equal(norm.cols, 6);
    assert_int_equal(norm.nnz, 8);
    assert_memory_equal(norm.row_ptr, rp, sizeof rp);
    assert_memory_equal(norm.col, col, sizeof col);
    for (int k = 0; k < 8; k++)
        if (fabs(norm.val[k] - want[k]) > 1e-7) fail_msg("entry %d: %.9g, want %.9g", k, norm.val[k], want[k]);
    vkr_csr_free(&norm);
    /* not square, a non-positive weight, and an edge into a node without edges of its own */
    r.cols = 2; /* only its shape is read before the refusal */
    r.row_ptr[3] = r.nnz = 0;
    r.row_ptr[1] = r.row_ptr[2] = 0;
    assert_int_equal(vkr_csr_normalize_sym(&r, &norm), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "the matrix is 3 x 2, not square"));
    adj.val[1] = -1.0f;
    assert_int_equal(vkr_csr_normalize_sym(&adj, &norm), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "entry 1 is -1; weights must be positive"));
    vkr_csr_free(&adj);
    const uint32_t s1[1] = {0}, d1[1] = {1};
    VKR_ASSERT_OK(vkr_csr_from_edges(2, 2, 1, s1, d1, NULL, &adj));
    assert_int_equal(vkr_csr_normalize_sym(&adj, &norm), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "not symmetric"));
    assert_null(norm.val);
    vkr_csr_free(&adj);
    vkr_csr_free(&r);
}

/* Each kind of broken matrix is refused with a message naming what is wrong. */
static void test_csr_check_refuses(void** state) {
    (void)state;
    uint32_t rp[4] = {0, 2, 2, 3}, col[3] = {1, 0, 2};
    float val[3] = {1, 2, 3};
    vkr_csr m = {3, 3, 3, rp, col, val};
    VKR_ASSERT_OK(vkr_csr_check(&m, "m"));
    struct {
        uint32_t* at;
        uint32_t value;
        const char* message;
    } cases[] = {
        {&col[2], 3, "m: entry 2 of row 2 has column 3, outside [0, 3)"},
        {&rp[2], 1, "m: row_ptr[2] = 1 after row_ptr[1] = 2"},
        {&rp[1], UINT32_MAX, "m: row_ptr[1] = 4294967295 after row_ptr[0] = 0"}, /* a negative int32 */
        {&rp[0], 1, "m: row_ptr[0] is 1, not 0"},
        {&rp[3], 2, "m: row_ptr[3] = 2, but nnz is 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t saved = *cases[i].at;
        *cases[i].at = cases[i].value;
        assert_int_equal(vkr_csr_check(&m, "m"), VKR_ERR_INVALID_ARGUMENT);
        if (!strstr(vkr_last_error(), cases[i].message))
            fail_msg("case %zu: '%s' lacks '%s'", i, vkr_last_error(), cases[i].message);
        float y[3];
        assert_int_equal(vkr_ref_spmm(&m, val, 1, false, y), VKR_ERR_INVALID_ARGUMENT);
        *cases[i].at = saved;
    }
    val[1] = INFINITY;
    assert_int_equal(vkr_csr_check(&m, "m"), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "entry 1 (row 0, column 0) is inf"));
}

/* x [cols, D] -> y = A x, or y = A (x + A x) for two layers (square A only), and an MSE loss. */
typedef struct sp_graph {
    vkr_graph* g;
    vkr_graph_csr a;
    vkr_tensor *x, *target, *y, *loss;
} sp_graph;

static void sp_build(sp_graph* s, uint32_t rows, uint32_t cols, uint32_t d, uint32_t nnz, bool two_layers) {
    memset(s, 0, sizeof *s);
    VKR_ASSERT_OK(vkr_graph_create(1, &s->g));
    s->x = vkr_graph_param(s->g, "x", 2, (uint32_t[]){cols, d}, 0);
    s->a = vkr_graph_sparse(s->g, "adj", rows, cols, nnz);
    s->y = vkr_op_spmm(s->g, &s->a, s->x);
    if (two_layers) s->y = vkr_op_spmm(s->g, &s->a, vkr_op_add(s->g, s->x, s->y));
    vkr_graph_keep(s->y);
    s->target = vkr_graph_input(s->g, "target", VKR_F32, 2, (uint32_t[]){rows, d});
    s->loss = vkr_op_mse(s->g, s->y, s->target);
    VKR_ASSERT_OK(vkr_graph_status(s->g));
    VKR_ASSERT_OK(vkr_graph_backward(s->g, s->loss));
}

/* An executor on `dev` (NULL: the CPU backend) with the matrix, x and the target written. */
static vkr_exec* sp_exec(const sp_graph* s, vkr_device* dev, const vkr_csr* m, const float* x, const float* target) {
    vkr_exec* ex = NULL;
    VKR_ASSERT_OK(vkr_exec_create(s->g, &(vkr_exec_options){.device = dev}, &ex));
    VKR_ASSERT_OK(vkr_exec_write_csr(ex, &s->a, m));
    VKR_ASSERT_OK(vkr_exec_write(ex, s->x, x, vkr_tensor_bytes(s->x)));
    VKR_ASSERT_OK(vkr_exec_write(ex, s->target, target, vkr_tensor_bytes(s->target)));
    return ex;
}

/* Runs once and reads y and dx. */
static void sp_run(vkr_exec* ex, const sp_graph* s, float* y, float* dx) {
    VKR_ASSERT_OK(vkr_exec_run(ex));
    VKR_ASSERT_OK(vkr_exec_read(ex, s->y, y, vkr_tensor_bytes(s->y)));
    VKR_ASSERT_OK(vkr_exec_read(ex, s->x->grad, dx, vkr_tensor_bytes(s->x)));
}

static void graph_case(uint32_t rows, uint32_t cols, uint32_t d, double density, uint32_t dense_row, bool two) {
    vkr_csr m;
    random_csr(rows, cols, density, dense_row, rows * 7 + cols * 3 + d, &m);
    sp_graph s;
    sp_build(&s, rows, cols, d, m.nnz, two);
    float* x = rand_floats((size_t)cols * d, 11);
    float* target = rand_floats((size_t)rows * d, 12);
    float *y[2], *dx[2];
    for (int b = 0; b < 2; b++) {
        y[b] = malloc(4ull * rows * d);
        dx[b] = malloc(4ull * cols * d);
        vkr_exec* ex = sp_exec(&s, b ? NULL : vkr_test_shared.device, &m, x, target);
        sp_run(ex, &s, y[b], dx[b]);
        vkr_exec_destroy(ex);
    }
    double ey = vkr_test_nmse(y[0], y[1], (size_t)rows * d), ed = vkr_test_nmse(dx[0], dx[1], (size_t)cols * d);
    if (!(ey <= 1e-12) || !(ed <= 1e-12))
        fail_msg("spmm graph %u x %u, D %u, nnz %u, %d layer(s): GPU vs CPU nmse y %g, dx %g", rows, cols, d, m.nnz,
                 two ? 2 : 1, ey, ed);
    /* the CPU backend's y is the reference product */
    if (!two) {
        float* want = malloc(4ull * rows * d);
        VKR_ASSERT_OK(vkr_ref_spmm(&m, x, d, false, want));
        assert_memory_equal(y[1], want, 4ull * rows * d);
        free(want);
    }
    for (int b = 0; b < 2; b++) {
        free(y[b]);
        free(dx[b]);
    }
    free(x);
    free(target);
    vkr_graph_destroy(s.g);
    vkr_csr_free(&m);
}

static void test_spmm_graph_gpu_matches_cpu(void** state) {
    (void)state;
    graph_case(1, 1, 1, 1.0, 0, false);      /* 1 x 1 */
    graph_case(1, 1, 1, 1.0, 0, true);
    graph_case(5, 3, 1, 0.5, 9, false);      /* D = 1, empty rows */
    graph_case(7, 13, 65, 0.4, 9, false);    /* odd, rectangular, D one past a workgroup */
    graph_case(13, 7, 3, 0.4, 9, false);     /* taller than wide */
    graph_case(97, 97, 64, 0.05, 40, true);  /* a full row among sparse ones, two layers */
    graph_case(6, 4, 5, 0.0, 9, false);      /* no entries at all: y = 0, dx = 0 */
    graph_case(31, 200, 2, 0.02, 15, false); /* one row with 200 entries */
}

typedef struct sp_fd {
    vkr_exec* ex;
    const sp_graph* s;
    float* x;
} sp_fd;

static double sp_loss(void* user) {
    sp_fd* f = user;
    VKR_ASSERT_OK(vkr_exec_write(f->ex, f->s->x, f->x, vkr_tensor_bytes(f->s->x)));
    VKR_ASSERT_OK(vkr_exec_run(f->ex));
    float loss;
    VKR_ASSERT_OK(vkr_exec_read(f->ex, f->s->loss, &loss, 4));
    return loss;
}

/* The x gradient of one and two layers against central differences of the loss (CPU backend). */
static void test_spmm_gradcheck(void** state) {
    (void)state;
    for (int two = 0; two < 2; two++) {
        uint32_t n = 9, d = 3;
        vkr_csr m;
        random_csr(n, n, 0.4, 4, 77, &m);
        sp_graph s;
        sp_build(&s, n, n, d, m.nnz, two);
        float* x = rand_floats((size_t)n * d, 5);
        float* target = rand_floats((size_t)n * d, 6);
        float* y = malloc(4ull * n * d);
        float* dx = malloc(4ull * n * d);
        vkr_exec* ex = sp_exec(&s, NULL, &m, x, target);
        sp_run(ex, &s, y, dx);
        sp_fd f = {ex, &s, x};
        vkr_gradcheck_input in = {two ? "spmm dx (2 layers)" : "spmm dx", x, dx, (size_t)n * d};
        vkr_gradcheck_options o = {.h = 1e-2, .max_points = 27};
        size_t bad = vkr_gradcheck(sp_loss, &f, &in, 1, &o);
        if (bad) fail_msg("%s: %zu element(s) out of tolerance", in.name, bad);
        vkr_exec_destroy(ex);
        vkr_graph_destroy(s.g);
        vkr_csr_free(&m);
        free(x);
        free(target);
        free(y);
        free(dx);
    }
}

/* Shape errors while building, and matrices that do not match or are broken when written. */
static void test_spmm_errors(void** state) {
    (void)state;
    vkr_graph* g = NULL;
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    vkr_graph_csr a = vkr_graph_sparse(g, "adj", 3, 4, 5);
    vkr_tensor* x = vkr_graph_param(g, "x", 2, (uint32_t[]){3, 2}, 0);
    assert_null(vkr_op_spmm(g, &a, x));
    assert_non_null(strstr(vkr_graph_error(g), "spmm: x (x) must be [4, D] for the 3 x 4 matrix adj.row_ptr"));
    assert_null(vkr_op_spmm(g, &a, x)); /* sticky */
    vkr_graph_destroy(g);
    VKR_ASSERT_OK(vkr_graph_create(1, &g));
    a = vkr_graph_sparse(g, "big", 1u << 31, 2, 1);
    assert_null(a.arrays[0]);
    assert_non_null(strstr(vkr_graph_error(g), "sparse big: 2147483648 x 2"));
    vkr_graph_destroy(g);

    sp_graph s;
    sp_build(&s, 3, 3, 2, 3, false);
    uint32_t rp[4] = {0, 1, 2, 3}, col[3] = {0, 2, 1};
    float val[3] = {1, 1, 1}, x3[6] = {0}, t3[6] = {0};
    vkr_csr m = {3, 3, 3, rp, col, val};
    vkr_exec* ex = sp_exec(&s, NULL, &m, x3, t3);
    m.nnz = 2;
    assert_int_equal(vkr_exec_write_csr(ex, &s.a, &m), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "adj.row_ptr was declared 3 x 3 with 3 entries, given 3 x 3 with 2"));
    m.nnz = 3;
    col[1] = 3;
    assert_int_equal(vkr_exec_write_csr(ex, &s.a, &m), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "adj.row_ptr: entry 1 of row 1 has column 3, outside [0, 3)"));
    vkr_exec_destroy(ex);
    vkr_graph_destroy(s.g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spmm_kernel_shapes),
        cmocka_unit_test(test_csr_from_edges),
        cmocka_unit_test(test_csr_normalize_bipartite),
        cmocka_unit_test(test_csr_check_refuses),
        cmocka_unit_test(test_spmm_graph_gpu_matches_cpu),
        cmocka_unit_test(test_spmm_gradcheck),
        cmocka_unit_test(test_spmm_errors),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
