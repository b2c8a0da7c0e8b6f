/* Shared test fixture: a validated device on the default adapter (lavapipe in CI). Every test
 * that opens the device ends with vkr_test_close(), which fails the test on any validation error
 * or warning reported while it ran. */
#ifndef VKR_TEST_H
#define VKR_TEST_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "vkr_exec.h"
#include "vkr_runtime.h"

/* An instance and device with validation forced on. */
typedef struct vkr_test_env {
    vkr_instance* instance;
    vkr_device* device;
} vkr_test_env;

/* Opens the validated device (optionally with options); fails the test with the error message. */
void vkr_test_open(vkr_test_env* env, const vkr_device_options* options);
/* Destroys the device and instance and asserts that validation stayed silent. */
void vkr_test_close(vkr_test_env* env);
/* One validated device shared by every test of a group (cmocka group setup/teardown). */
extern vkr_test_env vkr_test_shared;
/* Group setup: opens vkr_test_shared. */
int vkr_test_group_open(void** state);
/* Group teardown: closes vkr_test_shared, failing on any validation message. */
int vkr_test_group_close(void** state);
/* Asserts status == VKR_OK, printing vkr_last_error() otherwise. */
#define VKR_ASSERT_OK(expr)                                                                     \
    do {                                                                                        \
        vkr_status vkr_t_ = (expr);                                                             \
        if (vkr_t_ != VKR_OK) fail_msg("%s -> %s: %s", #expr, vkr_status_name(vkr_t_), vkr_last_error()); \
    } while (0)
/* Asserts that `expr` fails with `code`, printing nothing meanwhile. */
#define EXPECT_FAIL(expr, code)                        \
    do {                                               \
        vkr_log_level old_level = vkr_log_get_level(); \
        vkr_log_set_level(VKR_LOG_QUIET);              \
        vkr_status got_ = (expr);                      \
        vkr_log_set_level(old_level);                  \
        assert_int_equal(got_, code);                  \
    } while (0)
/* A fresh directory /tmp/PREFIX_XXXXXX for a group's files (cmocka group setup); 0 or -1. */
int vkr_test_tmpdir_open(const char* prefix);
/* Removes that directory and everything in it; 0 or -1. */
int vkr_test_tmpdir_close(void);
/* The directory made by vkr_test_tmpdir_open. */
const char* vkr_test_tmpdir(void);
/* buf = <the directory>/name. */
void vkr_test_tmpdir_path(char* buf, size_t size, const char* name);
/* Deterministic pseudo-random floats in [-1, 1). */
void vkr_test_fill_random(float* v, size_t n, uint32_t seed);

/* Normalized mean squared error sum((a-b)^2) / sum(b^2) of `a` against reference `b` (ggml's
 * backend-op metric); 0 when both are all zero. */
double vkr_test_nmse(const float* a, const float* b, size_t n);

/* One run of a graph's executor returning its loss (the test reads its own loss tensor). */
typedef double (*vkr_test_loss_fn)(void* user);
/* Central differences (step 2e-3) of loss() against the analytic gradient p->grad, already computed
 * by the last run, on p's entries start, start + stride, ... (p restored after each): adds the squared
 * error to *num and the squared differences to *den. */
void vkr_test_param_fd(vkr_exec* ex, vkr_tensor* p, vkr_test_loss_fn loss, void* user, uint64_t start,
                       uint64_t stride, double* num, double* den);
/* Prepares the bundled sample (--min-item 10 --min-user 3, domains Food and Kitchen) with the vkrec
 * of VKR_CLI into DIR/data of a fresh /tmp/vkrec-test-XXXXXX, then runs `vkrec THEN DIR/data` when
 * `then` is not NULL (e.g. "embed"), with `then_args` after; writes the dataset directory into
 * out (capacity 64) and returns false without VKR_CLI / VKR_ASSETS or when a command fails. */
bool vkr_test_sample_dataset(const char* then, const char* then_args, char* out);

#endif
