/* Value checks (issue 13, classes 1 and 3): embeddings whose values are non-finite or so large that
 * squared distances overflow are refused with the row and column; checkpoints with a non-finite
 * parameter, moment or optimizer scalar are refused on load, a non-finite state is never saved (the
 * file on disk stays), and the training loop stops on a non-finite loss naming the epoch and step.
 * CPU backend only: the checks run on host copies, whatever the backend. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_exec.h"
#include "vkr_file.h"
#include "vkr_fit.h"
#include "vkr_graph_ops.h"
#include "vkr_safetensors.h"
#include "vkr_test.h"
#include "vkr_transformer.h"
#include "vkr_values.h"

static int group_open(void** state) {
    (void)state;
    return vkr_test_tmpdir_open("vkr_values");
}

static int group_close(void** state) {
    (void)state;
    return vkr_test_tmpdir_close();
}


static void test_vectors(void** state) {
    (void)state;
    float x[3 * 4] = {0};
    VKR_ASSERT_OK(vkr_check_vectors("e.npy", x, 3, 4));
    x[5] = 1e-45f; /* subnormals and large-but-safe values are valid data */
    x[6] = -vkr_vectors_max_abs(4);
    x[7] = 1e17f;
    VKR_ASSERT_OK(vkr_check_vectors("e.npy", x, 3, 4));
    const float bad[] = {NAN, INFINITY, -INFINITY, 1e20f, -1e38f, FLT_MAX};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        float y[3 * 4] = {0};
        y[2 * 4 + 1] = bad[k];
        EXPECT_FAIL(vkr_check_vectors("e.npy", y, 3, 4), VKR_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(vkr_last_error(), "e.npy: row 2, column 1"));
    }
    /* the bound keeps 4 * cols * max^2 (the largest squared distance) finite, and shrinks with cols */
    for (uint64_t cols = 1; cols <= 65536; cols *= 16) {
        double m = vkr_vectors_max_abs(cols);
        assert_true(4.0 * (double)cols * m * m < FLT_MAX);
    }
    assert_true(vkr_vectors_max_abs(768) < vkr_vectors_max_abs(64));
}

static void test_tensor_finite(void** state) {
    (void)state;
    float w[5] = {1, -2, 1e30f, 1e-40f, 0};
    VKR_ASSERT_OK(vkr_check_tensor_finite("m.safetensors", "w", w, 5));
    w[3] = NAN;
    EXPECT_FAIL(vkr_check_tensor_finite("m.safetensors", "w", w, 5), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "m.safetensors: tensor 'w' element 3"));
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

typedef struct tiny {
    vkr_graph* g;
    vkr_tensor *x, *y, *loss, *w;
    vkr_exec* ex;
} tiny;

static void tiny_open(tiny* m) {
    VKR_ASSERT_OK(vkr_graph_create(3, &m->g));
    m->x = vkr_graph_input(m->g, "x", VKR_F32, 2, (uint32_t[]){4, 2});
    m->y = vkr_graph_input(m->g, "y", VKR_F32, 2, (uint32_t[]){4, 1});
    vkr_tensor* logits = vkr_tf_linear(m->g, "l1", m->x, 2, 1, true, 0);
    m->loss = vkr_op_bce_logits(m->g, logits, m->y);
    VKR_ASSERT_OK(vkr_graph_backward(m->g, m->loss));
    m->w = vkr_graph_find(m->g, "l1.w");
    assert_non_null(m->w);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = 0.05f}, .beta1 = 0.9f, .beta2 = 0.999f,
                           .eps = 1e-8f};
    VKR_ASSERT_OK(vkr_exec_create(m->g, &(vkr_exec_options){.optimizer = &oc, .training = true}, &m->ex));
    VKR_ASSERT_OK(vkr_exec_init_params(m->ex, 42));
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    VKR_ASSERT_OK(vkr_exec_write(m->ex, m->x, x, sizeof x));
    VKR_ASSERT_OK(vkr_exec_write(m->ex, m->y, y, sizeof y));
    for (int s = 0; s < 3; s++) VKR_ASSERT_OK(vkr_exec_run(m->ex));
}

static void tiny_close(tiny* m) {
    vkr_exec_destroy(m->ex);
    vkr_graph_destroy(m->g);
}

/* The bytes of a whole file (malloc'd) and their count. */
static char* file_bytes(const char* path, long* size) {
    FILE* f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char* b = malloc((size_t)*size);
    assert_int_equal(fread(b, 1, (size_t)*size, f), (size_t)*size);
    fclose(f);
    return b;
}

/* Rewrites checkpoint `path` with the float at `elem` of tensor `name` replaced by `v`, through the
 * writer, so the file's digest matches again and only the value check can refuse it. */
static void poison(const char* path, const char* name, uint64_t elem, float v) {
    vkr_st_file* f = NULL;
    VKR_ASSERT_OK(vkr_st_open(path, &f));
    const vkr_st_tensor* t = vkr_st_find(f, name);
    assert_non_null(t);
    long size = 0;
    char* b = file_bytes(path, &size);
    memcpy(b + t->offset + elem * 4, &v, 4);
    vkr_st_writer* w = NULL;
    VKR_ASSERT_OK(vkr_st_writer_create(&w));
    for (uint32_t i = 0; i < vkr_st_tensor_count(f); i++) {
        const vkr_st_tensor* ti = vkr_st_tensor_at(f, i);
        VKR_ASSERT_OK(vkr_st_writer_add(w, ti->name, ti->dtype, ti->ndim, ti->shape, b + ti->offset));
    }
    const char *key, *value;
    for (uint32_t i = 0; vkr_st_metadata_at(f, i, &key, &value); i++)
        if (strcmp(key, VKR_ST_DIGEST_KEY) != 0) VKR_ASSERT_OK(vkr_st_writer_set_metadata(w, key, value));
    VKR_ASSERT_OK(vkr_st_writer_write(w, path));
    vkr_st_writer_destroy(w);
    vkr_st_close(f);
    free(b);
}

static void test_checkpoint_load_refuses_non_finite(void** state) {
    (void)state;
    tiny m;
    tiny_open(&m);
    char good[512], bad[512];
    vkr_test_tmpdir_path(good, sizeof good, "good.safetensors");
    vkr_test_tmpdir_path(bad, sizeof bad, "bad.safetensors");
    VKR_ASSERT_OK(vkr_exec_save(m.ex, good, NULL));
    VKR_ASSERT_OK(vkr_exec_load(m.ex, good));
    static const struct {
        const char* tensor;
        uint32_t elem;
        float v;
    } cases[] = {{"l1.w", 1, NAN}, {"l1.b", 0, INFINITY}, {"optim.m.l1.w", 0, -INFINITY}, {"optim.v.l1.b", 0, NAN},
                 {"optim.scalars", 2, NAN}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long size = 0;
        char* b = file_bytes(good, &size);
        VKR_ASSERT_OK(vkr_write_file_atomic(bad, b, (size_t)size));
        free(b);
        poison(bad, cases[k].tensor, cases[k].elem, cases[k].v);
        EXPECT_FAIL(vkr_exec_load(m.ex, bad), VKR_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(vkr_last_error(), bad));
        assert_non_null(strstr(vkr_last_error(), cases[k].tensor));
    }
    /* a large finite value is a valid weight */
    long size = 0;
    char* b = file_bytes(good, &size);
    VKR_ASSERT_OK(vkr_write_file_atomic(bad, b, (size_t)size));
    free(b);
    poison(bad, "l1.w", 0, 1e30f);
    VKR_ASSERT_OK(vkr_exec_load(m.ex, bad));
    tiny_close(&m);
}

static void test_checkpoint_save_keeps_last_good(void** state) {
    (void)state;
    tiny m;
    tiny_open(&m);
    char path[512];
    vkr_test_tmpdir_path(path, sizeof path, "last.safetensors");
    VKR_ASSERT_OK(vkr_exec_save(m.ex, path, NULL));
    long before_size = 0, after_size = 0;
    char* before = file_bytes(path, &before_size);
    float w[2];
    VKR_ASSERT_OK(vkr_exec_read(m.ex, m.w, w, sizeof w));
    w[1] = NAN;
    VKR_ASSERT_OK(vkr_exec_write(m.ex, m.w, w, sizeof w));
    EXPECT_FAIL(vkr_exec_save(m.ex, path, NULL), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "refusing to save"));
    assert_non_null(strstr(vkr_last_error(), "'l1.w' element 1"));
    char* after = file_bytes(path, &after_size);
    assert_int_equal(before_size, after_size);
    assert_memory_equal(before, after, (size_t)before_size);
    free(before);
    free(after);
    tiny_close(&m);
}

/* ---- the training loop ----------------------------------------------------------------------- */

static vkr_status nan_step(void* self, vkr_fit_step* step) {
    (void)self;
    step->loss = NAN;
    return VKR_OK;
}

static vkr_status no_validation(void* self, double* hr10) {
    (void)self, (void)hr10;
    fail_msg("validation ran after a NaN loss");
    return VKR_ERR_STATE;
}

static void test_fit_stops_on_non_finite_loss(void** state) {
    (void)state;
    vkr_fit_model fm = {.units = 1, .batch = 1, .step = nan_step, .validate = no_validation};
    vkr_fit_options fo = {.epochs = 3, .quiet = true};
    vkr_fit_report r;
    EXPECT_FAIL(vkr_fit(&fm, &fo, &r), VKR_ERR_STATE);
    assert_non_null(strstr(vkr_last_error(), "the loss is nan at epoch 1, step 1 of 1"));
    vkr_fit_report_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_tensor_finite),
        cmocka_unit_test(test_checkpoint_load_refuses_non_finite),
        cmocka_unit_test(test_checkpoint_save_keeps_last_good),
        cmocka_unit_test(test_fit_stops_on_non_finite_loss),
    };
    return cmocka_run_group_tests(tests, group_open, group_close);
}
