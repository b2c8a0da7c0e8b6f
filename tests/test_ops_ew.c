/* Elementwise ops (graph/vkr_ops_ew.h): GPU against the CPU reference on awkward shapes, forward and
 * backward (backward always run twice onto non-zero gradients, so accumulation and the barrier
 * between the two runs are checked too); finite-difference gradient checks of every reference
 * backward; dropout masks bit for bit; argument validation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_gradcheck.h"
#include "vkr_ops_ew.h"
#include "vkr_test.h"

#define TOL 1e-10 /* NMSE bound, GPU against reference */

static vkr_test_env env;

static int group_setup(void** state) {
    (void)state;
    vkr_test_open(&env, NULL);
    return 0;
}

static int group_teardown(void** state) {
    (void)state;
    vkr_test_close(&env);
    return 0;
}

/* Every test ends here: validation must have stayed silent. */
static void expect_no_validation_messages(void) {
    assert_int_equal(vkr_instance_validation_errors(env.instance), 0);
    assert_int_equal(vkr_instance_validation_warnings(env.instance), 0);
}

static float* rnd(size_t n, uint32_t seed) {
    float* v = malloc(n * sizeof *v);
    assert_non_null(v);
    vkr_test_fill_random(v, n, seed);
    return v;
}

static float* dup(const float* v, size_t n) {
    float* c = malloc(n * sizeof *c);
    assert_non_null(c);
    memcpy(c, v, n * sizeof *c);
    return c;
}

/* Moves values away from 0 by at least `gap` (keeps kinks and poles out of reach). */
static void push_from_zero(float* v, size_t n, float gap) {
    for (size_t i = 0; i < n; i++) v[i] = v[i] < 0 ? v[i] - gap : v[i] + gap;
}

static size_t numel(const uint32_t s[4]) {
    return (size_t)vkr_shape_numel(s);
}

/* Tensors packed into one device buffer at 256-byte aligned offsets, so ops see sub-ranges of a
 * shared buffer as the autograd arena will give them. */
typedef struct arena {
    vkr_buffer buf;
    VkDeviceSize used;
} arena;

static void arena_open(arena* a, size_t floats, size_t tensors) {
    a->used = 0;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, floats * sizeof(float) + tensors * 256, VKR_MEMORY_DEVICE, &a->buf));
}

static vkr_range arena_put(arena* a, const float* host, size_t n) {
    vkr_range r = {&a->buf, a->used, VKR_WHOLE_SIZE};
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &a->buf, a->used, host, n * sizeof(float)));
    a->used += (n * sizeof(float) + 255) / 256 * 256;
    return r;
}

static void arena_get(arena* a, vkr_range r, float* host, size_t n) {
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &a->buf, r.offset, host, n * sizeof(float)));
}

static void expect_close(const char* what, const float* gpu, const float* ref, size_t n, double tol) {
    double e = vkr_test_nmse(gpu, ref, n);
    if (!(e <= tol)) {
        for (size_t i = 0, shown = 0; i < n && shown < 8; i++)
            if (fabsf(gpu[i] - ref[i]) > 1e-5f * (1.0f + fabsf(ref[i])))
                fprintf(stderr, "  [%zu] gpu %.9g ref %.9g\n", i, (double)gpu[i], (double)ref[i]), shown++;
        fail_msg("%s: NMSE %.3g above %.3g", what, e, tol);
    }
}

static vkr_sequence* seq_new(void) {
    vkr_sequence* s = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &s));
    return s;
}

static void seq_run(vkr_sequence* s) {
    VKR_ASSERT_OK(vkr_sequence_submit(s));
    vkr_sequence_destroy(s);
}

#define ASSERT_GRADCHECK(loss, ctx, inputs)                                                          \
    assert_int_equal(vkr_gradcheck(loss, ctx, inputs, sizeof(inputs) / sizeof(inputs[0]), NULL), 0)

/* ---- binary ---- */

typedef struct shape_pair {
    uint32_t a[4], b[4];
} shape_pair;

/* Broadcast in every position, scalars, primes, per-group reductions (nr >= 64), and equal shapes
 * of a multiple of 4 elements (the vec4 paths). */
static const shape_pair binary_shapes[] = {
    {{1, 1, 1, 1}, {1, 1, 1, 1}},      {{2, 3, 5, 7}, {2, 3, 5, 7}},       {{2, 3, 5, 7}, {1, 1, 1, 7}},
    {{1, 1, 1, 7}, {2, 3, 5, 7}},      {{2, 1, 5, 1}, {1, 3, 1, 7}},       {{3, 1, 1, 1}, {1, 1, 1, 1}},
    {{1, 13, 1, 11}, {17, 1, 19, 1}},  {{1, 1, 1000, 37}, {1, 1, 1, 37}},  {{1, 1, 1, 1}, {1, 1, 1, 257}},
    {{4, 1, 1, 3}, {4, 67, 1, 3}},     {{2, 3, 4, 8}, {2, 3, 4, 8}},       {{1, 1, 300, 70}, {1, 1, 300, 1}},
    {{2, 3, 5, 8}, {1, 1, 1, 8}},      {{2, 3, 5, 8}, {2, 3, 5, 1}},       {{1, 3, 1, 4}, {2, 1, 5, 4}},
};

static float* binary_b(size_t n, vkr_binary_op op, uint32_t seed) {
    float* b = rnd(n, seed);
    if (op == VKR_BINARY_DIV) push_from_zero(b, n, 1.0f); /* |b| in [1, 2) */
    return b;
}

static void binary_case(const shape_pair* s, vkr_binary_op op) {
    vkr_binary_params p = {.op = op};
    memcpy(p.a_shape, s->a, sizeof p.a_shape);
    memcpy(p.b_shape, s->b, sizeof p.b_shape);
    uint32_t ys[4];
    VKR_ASSERT_OK(vkr_broadcast_shape(s->a, s->b, "test", ys));
    const size_t na = numel(s->a), nb = numel(s->b), ny = numel(ys);
    float *a = rnd(na, 1), *b = binary_b(nb, op, 2), *dy = rnd(ny, 3), *ga = rnd(na, 4), *gb = rnd(nb, 5);
    float *y = malloc(ny * sizeof *y), *ra = dup(ga, na), *rb = dup(gb, nb);
    float *out = malloc(ny * sizeof *out), *oa = malloc(na * sizeof *oa), *ob = malloc(nb * sizeof *ob);
    VKR_ASSERT_OK(vkr_ref_binary(&p, a, b, y));
    VKR_ASSERT_OK(vkr_ref_binary_backward(&p, a, b, dy, ra, rb));
    VKR_ASSERT_OK(vkr_ref_binary_backward(&p, a, b, dy, ra, rb));

    arena m;
    arena_open(&m, 2 * na + 2 * nb + 2 * ny, 6);
    vkr_range A = arena_put(&m, a, na), B = arena_put(&m, b, nb), Y = arena_put(&m, y, ny);
    vkr_range DY = arena_put(&m, dy, ny), DA = arena_put(&m, ga, na), DB = arena_put(&m, gb, nb);
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_binary(q, &p, A, B, Y));
    VKR_ASSERT_OK(vkr_gpu_binary_backward(q, &p, A, B, DY, DA, DB));
    VKR_ASSERT_OK(vkr_gpu_binary_backward(q, &p, A, B, DY, DA, DB));
    seq_run(q);
    arena_get(&m, Y, out, ny);
    arena_get(&m, DA, oa, na);
    arena_get(&m, DB, ob, nb);
    char what[128];
    snprintf(what, sizeof what, "binary op %d a [%u,%u,%u,%u] b [%u,%u,%u,%u]", op, s->a[0], s->a[1], s->a[2], s->a[3],
             s->b[0], s->b[1], s->b[2], s->b[3]);
    expect_close(what, out, y, ny, TOL);
    expect_close(what, oa, ra, na, TOL);
    expect_close(what, ob, rb, nb, TOL);
    vkr_buffer_destroy(env.device, &m.buf);
    free(a), free(b), free(dy), free(ga), free(gb), free(y), free(ra), free(rb), free(out), free(oa), free(ob);
}

static void test_binary_gpu_matches_reference(void** state) {
    (void)state;
    for (size_t i = 0; i < sizeof binary_shapes / sizeof binary_shapes[0]; i++)
        for (int op = 0; op < VKR_BINARY_COUNT; op++) binary_case(&binary_shapes[i], (vkr_binary_op)op);
    expect_no_validation_messages();
}

/* Only one gradient wanted, and ADD/SUB without the forward inputs. */
static void test_binary_backward_single_gradient(void** state) {
    (void)state;
    const vkr_binary_params p = {VKR_BINARY_SUB, {2, 3, 1, 5}, {2, 3, 4, 5}};
    const size_t na = 30, ny = 120;
    float *dy = rnd(ny, 7), *ga = rnd(na, 8), *gb = rnd(ny, 9);
    float *ra = dup(ga, na), *rb = dup(gb, ny), *oa = malloc(na * sizeof *oa), *ob = malloc(ny * sizeof *ob);
    VKR_ASSERT_OK(vkr_ref_binary_backward(&p, NULL, NULL, dy, ra, NULL));
    VKR_ASSERT_OK(vkr_ref_binary_backward(&p, NULL, NULL, dy, NULL, rb));
    arena m;
    arena_open(&m, na + 2 * ny, 3);
    vkr_range DY = arena_put(&m, dy, ny), DA = arena_put(&m, ga, na), DB = arena_put(&m, gb, ny);
    const vkr_range none = {0};
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_binary_backward(q, &p, none, none, DY, DA, none));
    VKR_ASSERT_OK(vkr_gpu_binary_backward(q, &p, none, none, DY, none, DB));
    seq_run(q);
    arena_get(&m, DA, oa, na);
    arena_get(&m, DB, ob, ny);
    expect_close("sub da", oa, ra, na, TOL);
    expect_close("sub db", ob, rb, ny, TOL);
    vkr_buffer_destroy(env.device, &m.buf);
    free(dy), free(ga), free(gb), free(ra), free(rb), free(oa), free(ob);
    expect_no_validation_messages();
}

typedef struct binary_ctx {
    vkr_binary_params p;
    float *a, *b, *y, *w;
    size_t ny;
} binary_ctx;

static double binary_loss(void* user) {
    binary_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_binary(&c->p, c->a, c->b, c->y));
    return vkr_gradcheck_dot(c->y, c->w, c->ny);
}

static void test_binary_gradcheck(void** state) {
    (void)state;
    static const shape_pair shapes[] = {{{2, 1, 3, 1}, {1, 2, 1, 3}}, {{2, 3, 1, 2}, {2, 3, 1, 2}}};
    for (size_t si = 0; si < 2; si++)
        for (int op = 0; op < VKR_BINARY_COUNT; op++) {
            binary_ctx c = {.p = {.op = (vkr_binary_op)op}};
            memcpy(c.p.a_shape, shapes[si].a, sizeof c.p.a_shape);
            memcpy(c.p.b_shape, shapes[si].b, sizeof c.p.b_shape);
            uint32_t ys[4];
            VKR_ASSERT_OK(vkr_broadcast_shape(c.p.a_shape, c.p.b_shape, "test", ys));
            const size_t na = numel(c.p.a_shape), nb = numel(c.p.b_shape);
            c.ny = numel(ys);
            c.a = rnd(na, 11), c.b = binary_b(nb, c.p.op, 12), c.w = rnd(c.ny, 13), c.y = malloc(c.ny * sizeof(float));
            float *da = calloc(na, sizeof(float)), *db = calloc(nb, sizeof(float));
            VKR_ASSERT_OK(vkr_ref_binary_backward(&c.p, c.a, c.b, c.w, da, db));
            const vkr_gradcheck_input in[] = {{"da", c.a, da, na}, {"db", c.b, db, nb}};
            ASSERT_GRADCHECK(binary_loss, &c, in);
            free(c.a), free(c.b), free(c.w), free(c.y), free(da), free(db);
        }
}

/* ---- reductions ---- */

typedef struct reduce_case {
    uint32_t shape[4];
    uint32_t axis;
} reduce_case;

static void reduce_case_run(const reduce_case* rc, bool mean) {
    vkr_reduce_params p = {.axis = rc->axis, .mean = mean};
    memcpy(p.shape, rc->shape, sizeof p.shape);
    const size_t nx = numel(p.shape), ny = nx / p.shape[p.axis];
    float *x = rnd(nx, 21), *dy = rnd(ny, 22), *g = rnd(nx, 23), *y = malloc(ny * sizeof *y), *rg = dup(g, nx);
    float *out = malloc(ny * sizeof *out), *out2 = malloc(ny * sizeof *out2), *og = malloc(nx * sizeof *og);
    VKR_ASSERT_OK(vkr_ref_reduce(&p, x, y));
    VKR_ASSERT_OK(vkr_ref_reduce_backward(&p, dy, rg));
    VKR_ASSERT_OK(vkr_ref_reduce_backward(&p, dy, rg));
    arena m;
    arena_open(&m, 2 * nx + 3 * ny, 5);
    vkr_range X = arena_put(&m, x, nx), Y = arena_put(&m, y, ny), Y2 = arena_put(&m, y, ny);
    vkr_range DY = arena_put(&m, dy, ny), G = arena_put(&m, g, nx);
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_reduce(q, &p, X, Y));
    VKR_ASSERT_OK(vkr_gpu_reduce(q, &p, X, Y2));
    VKR_ASSERT_OK(vkr_gpu_reduce_backward(q, &p, DY, G));
    VKR_ASSERT_OK(vkr_gpu_reduce_backward(q, &p, DY, G));
    seq_run(q);
    arena_get(&m, Y, out, ny);
    arena_get(&m, Y2, out2, ny);
    arena_get(&m, G, og, nx);
    char what[96];
    snprintf(what, sizeof what, "%s [%u,%u,%u,%u] axis %u", mean ? "mean" : "sum", p.shape[0], p.shape[1], p.shape[2],
             p.shape[3], p.axis);
    expect_close(what, out, y, ny, TOL);
    assert_memory_equal(out, out2, ny * sizeof *out); /* deterministic */
    expect_close(what, og, rg, nx, TOL);
    vkr_buffer_destroy(env.device, &m.buf);
    free(x), free(dy), free(g), free(y), free(rg), free(out), free(out2), free(og);
}

static void test_reduce_gpu_matches_reference(void** state) {
    (void)state;
    static const reduce_case cases[] = {
        {{3, 5, 7, 11}, 0}, {{3, 5, 7, 11}, 1}, {{3, 5, 7, 11}, 2}, {{3, 5, 7, 11}, 3}, {{1, 1, 1, 1}, 3},
        {{1, 1, 1000, 37}, 2}, {{2, 1, 1, 3001}, 3}, {{70000, 1, 1, 2}, 3}, {{97, 1, 1, 1}, 0},
        {{1, 1, 300, 70}, 3}, /* CPU drivers: one invocation per target; GPUs: one workgroup */
        {{3, 5, 2, 12}, 3}, {{3, 5, 2, 12}, 2}, /* backward broadcasts as vec4s (a splat, a row) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reduce_case_run(&cases[i], false);
        reduce_case_run(&cases[i], true);
    }
    expect_no_validation_messages();
}

typedef struct reduce_ctx {
    vkr_reduce_params p;
    float *x, *y, *w;
    size_t ny;
} reduce_ctx;

static double reduce_loss(void* user) {
    reduce_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_reduce(&c->p, c->x, c->y));
    return vkr_gradcheck_dot(c->y, c->w, c->ny);
}

static void test_reduce_gradcheck(void** state) {
    (void)state;
    for (uint32_t axis = 0; axis < 4; axis++)
        for (int mean = 0; mean < 2; mean++) {
            reduce_ctx c = {.p = {{2, 3, 4, 5}, axis, mean}};
            const size_t nx = 120;
            c.ny = nx / c.p.shape[axis];
            c.x = rnd(nx, 31), c.w = rnd(c.ny, 32), c.y = malloc(c.ny * sizeof(float));
            float* dx = calloc(nx, sizeof(float));
            VKR_ASSERT_OK(vkr_ref_reduce_backward(&c.p, c.w, dx));
            const vkr_gradcheck_input in[] = {{"dx", c.x, dx, nx}};
            ASSERT_GRADCHECK(reduce_loss, &c, in);
            free(c.x), free(c.w), free(c.y), free(dx);
        }
}

/* ---- concat and slice ---- */

static void concat_case(const shape_pair* s, uint32_t axis) {
    vkr_concat_params p = {.axis = axis};
    memcpy(p.a_shape, s->a, sizeof p.a_shape);
    memcpy(p.b_shape, s->b, sizeof p.b_shape);
    uint32_t ys[4];
    VKR_ASSERT_OK(vkr_concat_shape(&p, ys));
    const size_t na = numel(s->a), nb = numel(s->b), ny = numel(ys);
    float *a = rnd(na, 41), *b = rnd(nb, 42), *dy = rnd(ny, 43), *ga = rnd(na, 44), *gb = rnd(nb, 45);
    float *y = malloc(ny * sizeof *y), *ra = dup(ga, na), *rb = dup(gb, nb);
    float *out = malloc(ny * sizeof *out), *oa = malloc(na * sizeof *oa), *ob = malloc(nb * sizeof *ob);
    VKR_ASSERT_OK(vkr_ref_concat(&p, a, b, y));
    VKR_ASSERT_OK(vkr_ref_concat_backward(&p, dy, ra, rb));
    VKR_ASSERT_OK(vkr_ref_concat_backward(&p, dy, ra, NULL));
    VKR_ASSERT_OK(vkr_ref_concat_backward(&p, dy, NULL, rb));
    arena m;
    arena_open(&m, 2 * na + 2 * nb + 2 * ny, 6);
    vkr_range A = arena_put(&m, a, na), B = arena_put(&m, b, nb), Y = arena_put(&m, y, ny);
    vkr_range DY = arena_put(&m, dy, ny), DA = arena_put(&m, ga, na), DB = arena_put(&m, gb, nb);
    const vkr_range none = {0};
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_concat(q, &p, A, B, Y));
    VKR_ASSERT_OK(vkr_gpu_concat_backward(q, &p, DY, DA, DB));
    VKR_ASSERT_OK(vkr_gpu_concat_backward(q, &p, DY, DA, none));
    VKR_ASSERT_OK(vkr_gpu_concat_backward(q, &p, DY, none, DB));
    seq_run(q);
    arena_get(&m, Y, out, ny);
    arena_get(&m, DA, oa, na);
    arena_get(&m, DB, ob, nb);
    assert_memory_equal(out, y, ny * sizeof *y); /* pure data movement: exact */
    expect_close("concat da", oa, ra, na, TOL);
    expect_close("concat db", ob, rb, nb, TOL);
    /* the reference itself: y's a part is a, b part is b */
    const size_t inner = na / ((size_t)s->a[0] * (axis >= 1 ? s->a[1] : 1) * (axis >= 2 ? s->a[2] : 1) *
                               (axis >= 3 ? s->a[3] : 1)),
                 la = s->a[axis] * inner, lb = s->b[axis] * inner;
    for (size_t o = 0; o < na / la; o++) {
        assert_memory_equal(y + o * (la + lb), a + o * la, la * sizeof *a);
        assert_memory_equal(y + o * (la + lb) + la, b + o * lb, lb * sizeof *b);
    }
    vkr_buffer_destroy(env.device, &m.buf);
    free(a), free(b), free(dy), free(ga), free(gb), free(y), free(ra), free(rb), free(out), free(oa), free(ob);
}

static void test_concat_gpu_matches_reference(void** state) {
    (void)state;
    static const struct {
        shape_pair s;
        uint32_t axis;
    } cases[] = {
        {{{2, 3, 5, 7}, {2, 4, 5, 7}}, 1}, {{{1, 1, 1, 1}, {1, 1, 1, 3}}, 3}, {{{3, 5, 7, 2}, {1, 5, 7, 2}}, 0},
        {{{2, 3, 11, 7}, {2, 3, 2, 7}}, 2}, {{{5, 1, 1, 300}, {5, 1, 1, 13}}, 3},
        {{{2, 3, 4, 8}, {2, 3, 4, 4}}, 3}, {{{2, 3, 1, 4}, {2, 5, 1, 4}}, 1}, /* vec4 units */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) concat_case(&cases[i].s, cases[i].axis);
    expect_no_validation_messages();
}

static void slice_case(const vkr_slice_params* p) {
    uint32_t ys[4];
    memcpy(ys, p->shape, sizeof ys);
    ys[p->axis] = p->length;
    const size_t nx = numel(p->shape), ny = numel(ys);
    float *x = rnd(nx, 51), *dy = rnd(ny, 52), *g = rnd(nx, 53), *y = malloc(ny * sizeof *y), *rg = dup(g, nx);
    float *out = malloc(ny * sizeof *out), *og = malloc(nx * sizeof *og);
    VKR_ASSERT_OK(vkr_ref_slice(p, x, y));
    VKR_ASSERT_OK(vkr_ref_slice_backward(p, dy, rg));
    VKR_ASSERT_OK(vkr_ref_slice_backward(p, dy, rg));
    arena m;
    arena_open(&m, 2 * nx + 2 * ny, 4);
    vkr_range X = arena_put(&m, x, nx), Y = arena_put(&m, y, ny), DY = arena_put(&m, dy, ny), G = arena_put(&m, g, nx);
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_slice(q, p, X, Y));
    VKR_ASSERT_OK(vkr_gpu_slice_backward(q, p, DY, G));
    VKR_ASSERT_OK(vkr_gpu_slice_backward(q, p, DY, G));
    seq_run(q);
    arena_get(&m, Y, out, ny);
    arena_get(&m, G, og, nx);
    assert_memory_equal(out, y, ny * sizeof *y);
    expect_close("slice dx", og, rg, nx, TOL);
    /* outside the slice the gradient is untouched */
    size_t untouched = 0;
    for (size_t i = 0; i < nx; i++) untouched += og[i] == g[i];
    assert_true(untouched >= nx - ny);
    vkr_buffer_destroy(env.device, &m.buf);
    free(x), free(dy), free(g), free(y), free(rg), free(out), free(og);
}

static void test_slice_gpu_matches_reference(void** state) {
    (void)state;
    static const vkr_slice_params cases[] = {
        {{3, 5, 7, 11}, 0, 1, 2}, {{3, 5, 7, 11}, 1, 4, 1}, {{3, 5, 7, 11}, 2, 0, 7},
        {{3, 5, 7, 11}, 3, 3, 5}, {{1, 1, 1, 1}, 3, 0, 1},  {{1, 1, 4099, 3}, 2, 1000, 2048},
        {{2, 3, 5, 12}, 3, 4, 8}, {{7, 1, 6, 2}, 2, 2, 4}, /* vec4 units (QKV slices) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) slice_case(&cases[i]);
    expect_no_validation_messages();
}

typedef struct move_ctx {
    vkr_concat_params cp;
    vkr_slice_params sp;
    float *a, *b, *y, *w;
    size_t ny;
} move_ctx;

static double concat_loss(void* user) {
    move_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_concat(&c->cp, c->a, c->b, c->y));
    return vkr_gradcheck_dot(c->y, c->w, c->ny);
}

static double slice_loss(void* user) {
    move_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_slice(&c->sp, c->a, c->y));
    return vkr_gradcheck_dot(c->y, c->w, c->ny);
}

static void test_concat_slice_gradcheck(void** state) {
    (void)state;
    move_ctx c = {.cp = {{2, 3, 2, 1}, {2, 1, 2, 1}, 1}, .sp = {{2, 3, 2, 1}, 1, 1, 2}};
    c.a = rnd(12, 61), c.b = rnd(4, 62), c.w = rnd(16, 63), c.y = malloc(16 * sizeof(float));
    float *da = calloc(12, sizeof(float)), *db = calloc(4, sizeof(float)), *dx = calloc(12, sizeof(float));
    c.ny = 16;
    VKR_ASSERT_OK(vkr_ref_concat_backward(&c.cp, c.w, da, db));
    const vkr_gradcheck_input cin[] = {{"da", c.a, da, 12}, {"db", c.b, db, 4}};
    ASSERT_GRADCHECK(concat_loss, &c, cin);
    c.ny = 8;
    VKR_ASSERT_OK(vkr_ref_slice_backward(&c.sp, c.w, dx));
    const vkr_gradcheck_input sin[] = {{"dx", c.a, dx, 12}};
    ASSERT_GRADCHECK(slice_loss, &c, sin);
    free(c.a), free(c.b), free(c.w), free(c.y), free(da), free(db), free(dx);
}

/* ---- unary ---- */

static const vkr_unary_params unary_ops[] = {
    {VKR_UNARY_SCALE, 0, -0.75f}, {VKR_UNARY_RELU, 0, 0}, {VKR_UNARY_LEAKY_RELU, 0, 0.1f},
    {VKR_UNARY_GELU, 0, 0},       {VKR_UNARY_SIGMOID, 0, 0}, {VKR_UNARY_TANH, 0, 0},
    {VKR_UNARY_RSQRT, 0, 0.5f},
};

/* Inputs in (-3.1, 3.1) with |x| >= 0.1, plus a few large magnitudes where naive tanh overflows. */
static float* unary_input(size_t n, uint32_t seed) {
    float* x = rnd(n, seed);
    for (size_t i = 0; i < n; i++) x[i] *= 3.0f;
    push_from_zero(x, n, 0.1f);
    if (n > 8) x[1] = 100.0f, x[2] = -100.0f, x[3] = 30.0f, x[4] = -30.0f;
    return x;
}

static void unary_case(vkr_unary_params p, uint32_t n) {
    p.n = n;
    float *x = unary_input(n, 71), *dy = rnd(n, 72), *g = rnd(n, 73), *y = malloc(n * sizeof *y), *rg = dup(g, n);
    float *out = malloc(n * sizeof *out), *og = malloc(n * sizeof *og), *inplace = malloc(n * sizeof *inplace);
    VKR_ASSERT_OK(vkr_ref_unary(&p, x, y));
    const vkr_unary_grad_input need = vkr_unary_grad_needs(p.op);
    const float* saved = need == VKR_UNARY_GRAD_X ? x : need == VKR_UNARY_GRAD_Y ? y : NULL;
    VKR_ASSERT_OK(vkr_ref_unary_backward(&p, saved, dy, rg));
    VKR_ASSERT_OK(vkr_ref_unary_backward(&p, saved, dy, rg));
    arena m;
    arena_open(&m, 5 * (size_t)n, 5);
    vkr_range X = arena_put(&m, x, n), Y = arena_put(&m, y, n), DY = arena_put(&m, dy, n), G = arena_put(&m, g, n);
    vkr_range XI = arena_put(&m, x, n);
    const vkr_range none = {0};
    vkr_range S = need == VKR_UNARY_GRAD_X ? X : need == VKR_UNARY_GRAD_Y ? Y : none;
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_unary(q, &p, X, Y));
    VKR_ASSERT_OK(vkr_gpu_unary_backward(q, &p, S, DY, G));
    VKR_ASSERT_OK(vkr_gpu_unary_backward(q, &p, S, DY, G));
    VKR_ASSERT_OK(vkr_gpu_unary(q, &p, XI, XI));
    seq_run(q);
    arena_get(&m, Y, out, n);
    arena_get(&m, G, og, n);
    arena_get(&m, XI, inplace, n);
    char what[64];
    snprintf(what, sizeof what, "unary op %d n %u", p.op, n);
    expect_close(what, out, y, n, TOL);
    expect_close(what, og, rg, n, TOL);
    assert_memory_equal(inplace, out, n * sizeof *out);
    for (uint32_t i = 0; i < n; i++)
        if (!isfinite(out[i]) || !isfinite(og[i])) fail_msg("%s: non-finite value at %u", what, i);
    vkr_buffer_destroy(env.device, &m.buf);
    free(x), free(dy), free(g), free(y), free(rg), free(out), free(og), free(inplace);
}

static void test_unary_gpu_matches_reference(void** state) {
    (void)state;
    static const uint32_t sizes[] = {1, 257, 12297, 12296}; /* the last takes the vec4 path */
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) unary_case(unary_ops[i], sizes[s]);
    expect_no_validation_messages();
}

typedef struct unary_ctx {
    vkr_unary_params p;
    float *x, *y, *w;
} unary_ctx;

static double unary_loss(void* user) {
    unary_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_unary(&c->p, c->x, c->y));
    return vkr_gradcheck_dot(c->y, c->w, c->p.n);
}

static void test_unary_gradcheck(void** state) {
    (void)state;
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
        unary_ctx c = {.p = unary_ops[i]};
        c.p.n = 40;
        c.x = unary_input(40, 81), c.w = rnd(40, 82), c.y = malloc(40 * sizeof(float));
        float* dx = calloc(40, sizeof(float));
        VKR_ASSERT_OK(vkr_ref_unary(&c.p, c.x, c.y));
        const vkr_unary_grad_input need = vkr_unary_grad_needs(c.p.op);
        VKR_ASSERT_OK(vkr_ref_unary_backward(&c.p, need == VKR_UNARY_GRAD_X ? c.x : c.y, c.w, dx));
        const vkr_gradcheck_input in[] = {{"dx", c.x, dx, 40}};
        ASSERT_GRADCHECK(unary_loss, &c, in);
        free(c.x), free(c.w), free(c.y), free(dx);
    }
}

/* ---- dropout ---- */

static void test_philox_known_answers(void** state) {
    (void)state;
    /* Random123's kat_vectors for philox4x32 with 10 rounds: counter, key, expected output. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        vkr_philox4x32_10(kat[i], kat[i] + 4, out);
        assert_memory_equal(out, kat[i] + 6, sizeof out);
    }
}

static void dropout_case(uint32_t n, float prob, uint64_t seed) {
    const vkr_dropout_params p = {.n = n, .p = prob, .seed = seed};
    float *x = rnd(n, 91), *dy = rnd(n, 92), *g = rnd(n, 93), *y = malloc(n * sizeof *y), *rg = dup(g, n);
    float *out = malloc(n * sizeof *out), *og = malloc(n * sizeof *og), *inplace = malloc(n * sizeof *inplace);
    for (uint32_t i = 0; i < n; i++) x[i] += 2.0f; /* never 0, so y == 0 means dropped */
    if (n > 3) x[1] = -INFINITY, x[2] = NAN, x[3] = -x[3]; /* dropped, these still give +0 (bit for bit) */
    VKR_ASSERT_OK(vkr_ref_dropout(&p, x, y));
    VKR_ASSERT_OK(vkr_ref_dropout_backward(&p, dy, rg));
    VKR_ASSERT_OK(vkr_ref_dropout_backward(&p, dy, rg));
    arena m;
    arena_open(&m, 5 * (size_t)n, 5);
    vkr_range X = arena_put(&m, x, n), Y = arena_put(&m, y, n), DY = arena_put(&m, dy, n), G = arena_put(&m, g, n);
    vkr_range XI = arena_put(&m, x, n);
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_dropout(q, &p, X, Y));
    VKR_ASSERT_OK(vkr_gpu_dropout_backward(q, &p, DY, G));
    VKR_ASSERT_OK(vkr_gpu_dropout_backward(q, &p, DY, G));
    VKR_ASSERT_OK(vkr_gpu_dropout(q, &p, XI, XI));
    seq_run(q);
    arena_get(&m, Y, out, n);
    arena_get(&m, G, og, n);
    arena_get(&m, XI, inplace, n);
    /* same mask and values bit for bit on CPU and GPU, forward and backward */
    assert_memory_equal(out, y, n * sizeof *y);
    assert_memory_equal(og, rg, n * sizeof *rg);
    assert_memory_equal(inplace, y, n * sizeof *y);
    const float scale = (float)(1.0 / (1.0 - (double)prob));
    size_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (y[i] == 0.0f) {
            assert_false(signbit(y[i]));
            continue;
        }
        kept++;
        assert_true(y[i] == x[i] * scale || (isnan(x[i]) && isnan(y[i])));
    }
    /* kept ~ Binomial(n, 1 - p): within 5 standard deviations (+1 for tiny n) */
    const double mean = n * (1.0 - prob), sd = sqrt(n * prob * (1.0 - prob));
    if (fabs((double)kept - mean) > 5 * sd + 1)
        fail_msg("dropout p=%g n=%u kept %zu, expected about %.0f", (double)prob, n, kept, mean);
    vkr_buffer_destroy(env.device, &m.buf);
    free(x), free(dy), free(g), free(y), free(rg), free(out), free(og), free(inplace);
}

static void test_dropout_gpu_matches_reference(void** state) {
    (void)state;
    static const float probs[] = {0.0f, 0.1f, 0.5f, 0.9f};
    static const uint32_t sizes[] = {1, 7, 100003, 100004}; /* the last takes the vec4 path */
    for (size_t pi = 0; pi < 4; pi++)
        for (size_t si = 0; si < 4; si++) dropout_case(sizes[si], probs[pi], 0x123456789abcdefull + pi);
    expect_no_validation_messages();
}

/* A stepped GPU dropout reads its stream word from a buffer: it matches the CPU with that stream,
 * and a different step gives a different mask (what a replayed training step relies on). */
static void test_dropout_stepped_stream(void** state) {
    (void)state;
    const uint32_t n = 1003;
    float *x = rnd(n, 111), *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got), *other = malloc(n * 4);
    for (uint32_t i = 0; i < n; i++) x[i] += 2.0f;
    arena m;
    arena_open(&m, 3 * (size_t)n + 64, 3);
    vkr_range X = arena_put(&m, x, n), Y = arena_put(&m, x, n), S = arena_put(&m, x, 1);
    const uint32_t step = 7;
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, S.buffer, S.offset, &step, 4));
    vkr_dropout_params p = {.n = n, .p = 0.3f, .seed = 99};
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_dropout_stepped(q, &p, S, X, Y));
    seq_run(q);
    arena_get(&m, Y, got, n);
    p.stream = step;
    VKR_ASSERT_OK(vkr_ref_dropout(&p, x, want));
    assert_memory_equal(got, want, n * sizeof *got);
    p.stream = step + 1;
    VKR_ASSERT_OK(vkr_ref_dropout(&p, x, other));
    assert_true(memcmp(other, want, n * sizeof *want) != 0);
    assert_int_equal(vkr_gpu_dropout_stepped(q, &p, (vkr_range){0}, X, Y), VKR_ERR_INVALID_ARGUMENT);
    vkr_buffer_destroy(env.device, &m.buf);
    free(x), free(want), free(got), free(other);
    expect_no_validation_messages();
}

static void test_dropout_seed_reproducible(void** state) {
    (void)state;
    const uint32_t n = 4096;
    float *x = rnd(n, 101), *y1 = malloc(n * sizeof *y1), *y2 = malloc(n * sizeof *y2), *y3 = malloc(n * sizeof *y3);
    const vkr_dropout_params p = {.n = n, .p = 0.5f, .seed = 42}, other = {.n = n, .p = 0.5f, .seed = 43},
                             high = {.n = n, .p = 0.5f, .seed = 42ull | (1ull << 40)};
    VKR_ASSERT_OK(vkr_ref_dropout(&p, x, y1));
    VKR_ASSERT_OK(vkr_ref_dropout(&p, x, y2));
    assert_memory_equal(y1, y2, n * sizeof *y1);
    VKR_ASSERT_OK(vkr_ref_dropout(&other, x, y2));
    VKR_ASSERT_OK(vkr_ref_dropout(&high, x, y3));
    size_t same2 = 0, same3 = 0;
    for (uint32_t i = 0; i < n; i++) same2 += (y1[i] == 0) == (y2[i] == 0), same3 += (y1[i] == 0) == (y3[i] == 0);
    /* independent masks agree on about half the elements */
    assert_true(same2 < n * 6 / 10 && same3 < n * 6 / 10);
    free(x), free(y1), free(y2), free(y3);
}

/* The fused dropout equals the unfused ops it replaces, bit for bit, on the CPU; the GPU equals the
 * CPU bit for bit, forward and backward, including the backward that only feeds the residual. */
static void fused_case(uint32_t n, float prob, bool relu, bool residual) {
    const vkr_dropout_params p = {.n = n, .p = prob, .seed = 77, .stream = 3, .relu = relu, .residual = residual};
    const vkr_dropout_params plain = {.n = n, .p = prob, .seed = 77, .stream = 3};
    float *x = rnd(n, 201), *r = rnd(n, 202), *dy = rnd(n, 203), *g = rnd(n, 204), *gr = rnd(n, 205);
    if (n > 2) x[1] = 0.0f, x[2] = NAN; /* relu's kink and NaN */
    float *y = malloc(n * sizeof *y), *want = malloc(n * sizeof *want), *t = malloc(n * sizeof *t);
    float *dx = dup(g, n), *dr = dup(gr, n), *want_dx = dup(g, n), *want_dr = dup(gr, n), *td = calloc(n, sizeof *td);
    /* unfused: relu, dropout, add; backward: add, dropout, relu */
    const vkr_unary_params up = {VKR_UNARY_RELU, n, 0};
    const vkr_binary_params add = {VKR_BINARY_ADD, {1, 1, 1, n}, {1, 1, 1, n}};
    if (relu) VKR_ASSERT_OK(vkr_ref_unary(&up, x, t)); else memcpy(t, x, n * sizeof *t);
    VKR_ASSERT_OK(vkr_ref_dropout(&plain, t, want));
    if (residual) {
        memcpy(t, want, n * sizeof *t);
        VKR_ASSERT_OK(vkr_ref_binary(&add, r, t, want));
        for (uint32_t i = 0; i < n; i++) want_dr[i] += dy[i];
    }
    VKR_ASSERT_OK(vkr_ref_dropout_backward(&plain, dy, td));
    if (relu) VKR_ASSERT_OK(vkr_ref_unary_backward(&up, x, td, want_dx));
    else for (uint32_t i = 0; i < n; i++) want_dx[i] += td[i];
    VKR_ASSERT_OK(vkr_ref_dropout_fused(&p, x, r, y));
    VKR_ASSERT_OK(vkr_ref_dropout_fused_backward(&p, x, dy, dx, dr));
    assert_memory_equal(y, want, n * sizeof *y);
    assert_memory_equal(dx, want_dx, n * sizeof *dx);
    assert_memory_equal(dr, want_dr, n * sizeof *dr);

    arena m;
    arena_open(&m, 9 * (size_t)n, 9);
    vkr_range X = arena_put(&m, x, n), R = arena_put(&m, r, n), Y = arena_put(&m, y, n), DY = arena_put(&m, dy, n);
    vkr_range DX = arena_put(&m, g, n), DR = arena_put(&m, gr, n), DR2 = arena_put(&m, gr, n);
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_dropout_fused(q, &p, (vkr_range){0}, X, R, Y));
    VKR_ASSERT_OK(vkr_gpu_dropout_fused_backward(q, &p, (vkr_range){0}, X, DY, DX, DR));
    if (residual) VKR_ASSERT_OK(vkr_gpu_dropout_fused_backward(q, &p, (vkr_range){0}, X, DY, (vkr_range){0}, DR2));
    seq_run(q);
    float* out = malloc(n * sizeof *out);
    arena_get(&m, Y, out, n);
    assert_memory_equal(out, y, n * sizeof *y);
    arena_get(&m, DX, out, n);
    assert_memory_equal(out, dx, n * sizeof *dx);
    arena_get(&m, DR, out, n);
    assert_memory_equal(out, dr, n * sizeof *dr);
    if (residual) {
        arena_get(&m, DR2, out, n);
        assert_memory_equal(out, want_dr, n * sizeof *out);
    }
    vkr_buffer_destroy(env.device, &m.buf);
    free(x), free(r), free(dy), free(g), free(gr), free(y), free(want), free(t), free(dx), free(dr);
    free(want_dx), free(want_dr), free(td), free(out);
}

static void test_dropout_fused_matches_unfused(void** state) {
    (void)state;
    static const uint32_t sizes[] = {1, 7, 4099, 4100}; /* the last takes the vec4 path */
    for (size_t si = 0; si < 4; si++)
        for (int v = 1; v < 4; v++) {
            fused_case(sizes[si], 0.3f, v & 1, v & 2);
            fused_case(sizes[si], 0.0f, v & 1, v & 2);
        }
    expect_no_validation_messages();
}

typedef struct dropout_ctx {
    vkr_dropout_params p;
    float *x, *y, *w, *r;
} dropout_ctx;

static double dropout_loss(void* user) {
    dropout_ctx* c = user;
    VKR_ASSERT_OK(vkr_ref_dropout_fused(&c->p, c->x, c->r, c->y));
    return vkr_gradcheck_dot(c->y, c->w, c->p.n);
}

static void test_dropout_gradcheck(void** state) {
    (void)state;
    dropout_ctx c = {.p = {50, 0.3f, 7}};
    c.x = rnd(50, 111), c.w = rnd(50, 112), c.y = malloc(50 * sizeof(float));
    float* dx = calloc(50, sizeof(float));
    VKR_ASSERT_OK(vkr_ref_dropout_backward(&c.p, c.w, dx));
    const vkr_gradcheck_input in[] = {{"dx", c.x, dx, 50}};
    ASSERT_GRADCHECK(dropout_loss, &c, in);
    free(c.x), free(c.w), free(c.y), free(dx);
}

static void test_dropout_fused_gradcheck(void** state) {
    (void)state;
    dropout_ctx c = {.p = {.n = 50, .p = 0.3f, .seed = 7, .relu = true, .residual = true}};
    c.x = rnd(50, 113), c.w = rnd(50, 114), c.r = rnd(50, 115), c.y = malloc(50 * sizeof(float));
    for (int i = 0; i < 50; i++) c.x[i] += c.x[i] < 0 ? -0.1f : 0.1f; /* away from relu's kink */
    float *dx = calloc(50, sizeof(float)), *dr = calloc(50, sizeof(float));
    VKR_ASSERT_OK(vkr_ref_dropout_fused_backward(&c.p, c.x, c.w, dx, dr));
    const vkr_gradcheck_input in[] = {{"dx", c.x, dx, 50}, {"dr", c.r, dr, 50}};
    ASSERT_GRADCHECK(dropout_loss, &c, in);
    free(c.x), free(c.w), free(c.y), free(c.r), free(dx), free(dr);
}

/* ---- large: more than 65535 workgroups of 256 ---- */

static void test_large_grid(void** state) {
    (void)state;
    const uint32_t n = 65535u * 256u + 1001u;
    const size_t bytes = (size_t)n * sizeof(float);
    const vkr_binary_params p = {VKR_BINARY_ADD, {1, 1, 1, n}, {1, 1, 1, 1}};
    float *a = rnd(n, 121), *dy = rnd(n, 122), *y = malloc(bytes), *out = malloc(bytes), b = 0.625f, db = 0.5f;
    for (uint32_t i = 0; i < n; i++) dy[i] = floorf(dy[i] * 8.0f) / 8.0f; /* multiples of 1/8: exact float sums */
    VKR_ASSERT_OK(vkr_ref_binary(&p, a, &b, y));
    vkr_buffer big0 = {0}, big1 = {0}, scalars = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, bytes, VKR_MEMORY_DEVICE, &big0));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, bytes, VKR_MEMORY_DEVICE, &big1));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 32, VKR_MEMORY_DEVICE, &scalars));
    const vkr_range B = {&scalars, 0, 4}, DB = {&scalars, 16, 4};
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &big0, 0, a, bytes));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &scalars, 0, &b, 4));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &scalars, 16, &db, 4));
    vkr_sequence* q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_binary(q, &p, vkr_range_whole(&big0), B, vkr_range_whole(&big1)));
    seq_run(q);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &big1, 0, out, bytes));
    assert_memory_equal(out, y, bytes);
    /* backward: da = 0 + dy over the whole grid; db += sum(dy), one per-group reduction */
    memset(out, 0, bytes);
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &big0, 0, out, bytes));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &big1, 0, dy, bytes));
    q = seq_new();
    VKR_ASSERT_OK(vkr_gpu_binary_backward(q, &p, (vkr_range){0}, (vkr_range){0}, vkr_range_whole(&big1),
                                          vkr_range_whole(&big0), DB));
    seq_run(q);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &big0, 0, out, bytes));
    assert_memory_equal(out, dy, bytes);
    float gpu_db = 0;
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &scalars, 16, &gpu_db, 4));
    double ref_db = db;
    for (uint32_t i = 0; i < n; i++) ref_db += dy[i];
    if (gpu_db != ref_db) fail_msg("large db: GPU %.9g, reference %.9g", (double)gpu_db, ref_db);
    vkr_buffer_destroy(env.device, &big0);
    vkr_buffer_destroy(env.device, &big1);
    vkr_buffer_destroy(env.device, &scalars);
    free(a), free(dy), free(y), free(out);
    expect_no_validation_messages();
}

/* ---- accumulation semantics of the references (the GPU tests compare against them) ---- */

/* after == g0 + once elementwise, exactly (both sides do the same float add). */
static void expect_accumulated(const char* what, const float* after, const float* g0, const float* once, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (after[i] != g0[i] + once[i])
            fail_msg("%s[%zu]: %.9g after accumulating onto %.9g, expected %.9g", what, i, (double)after[i],
                     (double)g0[i], (double)(g0[i] + once[i]));
}

static void test_reference_backward_accumulates(void** state) {
    (void)state;
    enum { N = 60 };
    float *x = rnd(N, 131), *x2 = rnd(N, 132), *dy = rnd(N, 133), *g0 = rnd(N, 134);
    float *once = calloc(N, sizeof *once), *once2 = calloc(N, sizeof *once2), *after = dup(g0, N), *after2 = dup(g0, N);
    push_from_zero(x2, N, 1.0f);
#define CHECK_ACCUMULATES(what, n, call_once, call_after)  \
    do {                                                   \
        memset(once, 0, N * sizeof *once);                 \
        memcpy(after, g0, N * sizeof *after);              \
        VKR_ASSERT_OK(call_once);                          \
        VKR_ASSERT_OK(call_after);                         \
        expect_accumulated(what, after, g0, once, n);      \
    } while (0)
    const vkr_binary_params bp = {VKR_BINARY_DIV, {3, 1, 4, 5}, {1, 1, 4, 1}}; /* a 60, b 4 */
    memset(once2, 0, N * sizeof *once2);
    memcpy(after2, g0, N * sizeof *after2);
    CHECK_ACCUMULATES("binary da", N, vkr_ref_binary_backward(&bp, x, x2, dy, once, once2),
                      vkr_ref_binary_backward(&bp, x, x2, dy, after, after2));
    expect_accumulated("binary db", after2, g0, once2, 4);
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
        vkr_unary_params up = unary_ops[i];
        up.n = N;
        CHECK_ACCUMULATES("unary dx", N, vkr_ref_unary_backward(&up, x, dy, once),
                          vkr_ref_unary_backward(&up, x, dy, after));
    }
    const vkr_reduce_params rp = {{3, 4, 5, 1}, 1, true};
    CHECK_ACCUMULATES("mean dx", N, vkr_ref_reduce_backward(&rp, dy, once), vkr_ref_reduce_backward(&rp, dy, after));
    const vkr_dropout_params dp = {.n = N, .p = 0.4f, .seed = 5};
    CHECK_ACCUMULATES("dropout dx", N, vkr_ref_dropout_backward(&dp, dy, once),
                      vkr_ref_dropout_backward(&dp, dy, after));
    const vkr_slice_params sp = {{3, 4, 5, 1}, 2, 1, 3};
    CHECK_ACCUMULATES("slice dx", N, vkr_ref_slice_backward(&sp, dy, once), vkr_ref_slice_backward(&sp, dy, after));
    const vkr_concat_params cp = {{3, 4, 2, 1}, {3, 4, 3, 1}, 2}; /* dy 60 -> da 24, db 36 */
    memset(once2, 0, N * sizeof *once2);
    memcpy(after2, g0, N * sizeof *after2);
    CHECK_ACCUMULATES("concat da", 24, vkr_ref_concat_backward(&cp, dy, once, once2),
                      vkr_ref_concat_backward(&cp, dy, after, after2));
    expect_accumulated("concat db", after2, g0, once2, 36);
#undef CHECK_ACCUMULATES
    /* twice from zero is exactly double */
    memset(once, 0, N * sizeof *once);
    memset(after, 0, N * sizeof *after);
    VKR_ASSERT_OK(vkr_ref_unary_backward(&(vkr_unary_params){VKR_UNARY_GELU, N, 0}, x, dy, once));
    VKR_ASSERT_OK(vkr_ref_unary_backward(&(vkr_unary_params){VKR_UNARY_GELU, N, 0}, x, dy, after));
    VKR_ASSERT_OK(vkr_ref_unary_backward(&(vkr_unary_params){VKR_UNARY_GELU, N, 0}, x, dy, after));
    for (size_t i = 0; i < N; i++) assert_true(after[i] == 2.0f * once[i]);
    free(x), free(x2), free(dy), free(g0), free(once), free(once2), free(after), free(after2);
}

/* ---- argument validation ---- */

static void expect_invalid(vkr_status s, const char* needle) {
    assert_int_equal(s, VKR_ERR_INVALID_ARGUMENT);
    if (!strstr(vkr_last_error(), needle)) fail_msg("message '%s' lacks '%s'", vkr_last_error(), needle);
}

static void test_invalid_arguments(void** state) {
    (void)state;
    float v[64] = {0};
    vkr_buffer small = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 16, VKR_MEMORY_DEVICE, &small));
    const vkr_range r = vkr_range_whole(&small), none = {0};
    vkr_sequence* q = seq_new();
    const vkr_binary_params bad = {VKR_BINARY_ADD, {1, 1, 2, 3}, {1, 1, 3, 3}};
    expect_invalid(vkr_ref_binary(&bad, v, v, v), "do not broadcast");
    const vkr_binary_params zero = {VKR_BINARY_ADD, {1, 0, 1, 1}, {1, 1, 1, 1}};
    expect_invalid(vkr_ref_binary(&zero, v, v, v), "zero dim");
    const vkr_binary_params big = {VKR_BINARY_MUL, {1, 1, 1, 8}, {1, 1, 1, 8}};
    expect_invalid(vkr_gpu_binary(q, &big, r, r, r), "(32 bytes) are needed");
    expect_invalid(vkr_gpu_binary(q, &big, none, r, r), "a has no buffer");
    expect_invalid(vkr_ref_binary_backward(&big, NULL, v, v, NULL, v), "needs the forward inputs");
    const vkr_reduce_params axis = {{1, 1, 1, 4}, 4, false};
    expect_invalid(vkr_ref_reduce(&axis, v, v), "axis 4");
    const vkr_dropout_params p1 = {.n = 4, .p = 1.0f, .seed = 0};
    expect_invalid(vkr_gpu_dropout(q, &p1, r, r), "not in [0, 1)");
    const vkr_dropout_params pnan = {.n = 4, .p = NAN, .seed = 0};
    expect_invalid(vkr_ref_dropout(&pnan, v, v), "not in [0, 1)");
    const vkr_slice_params sl = {{1, 1, 1, 4}, 3, 2, 3};
    expect_invalid(vkr_gpu_slice(q, &sl, r, r), "outside axis 3");
    const vkr_concat_params cc = {{1, 2, 1, 4}, {1, 3, 1, 4}, 3};
    expect_invalid(vkr_ref_concat(&cc, v, v, v), "differ in dim 1");
    const vkr_unary_params un = {VKR_UNARY_COUNT, 4, 0};
    expect_invalid(vkr_gpu_unary(q, &un, r, r), "unknown unary op");
    const vkr_unary_params gelu = {VKR_UNARY_GELU, 4, 0};
    expect_invalid(vkr_ref_unary_backward(&gelu, NULL, v, v), "needs x");
    const vkr_range misaligned = {&small, 4, 4};
    const vkr_unary_params one = {VKR_UNARY_RELU, 1, 0};
    expect_invalid(vkr_gpu_unary(q, &one, misaligned, r), "storage alignment");
    assert_int_equal(vkr_sequence_dispatch_count(q), 0);
    vkr_sequence_destroy(q);
    vkr_buffer_destroy(env.device, &small);
    expect_no_validation_messages();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_gpu_matches_reference),
        cmocka_unit_test(test_binary_backward_single_gradient),
        cmocka_unit_test(test_binary_gradcheck),
        cmocka_unit_test(test_reduce_gpu_matches_reference),
        cmocka_unit_test(test_reduce_gradcheck),
        cmocka_unit_test(test_concat_gpu_matches_reference),
        cmocka_unit_test(test_slice_gpu_matches_reference),
        cmocka_unit_test(test_concat_slice_gradcheck),
        cmocka_unit_test(test_unary_gpu_matches_reference),
        cmocka_unit_test(test_unary_gradcheck),
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_dropout_gpu_matches_reference),
        cmocka_unit_test(test_dropout_seed_reproducible),
        cmocka_unit_test(test_dropout_stepped_stream),
        cmocka_unit_test(test_dropout_gradcheck),
        cmocka_unit_test(test_dropout_fused_matches_unfused),
        cmocka_unit_test(test_dropout_fused_gradcheck),
        cmocka_unit_test(test_large_grid),
        cmocka_unit_test(test_reference_backward_accumulates),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
