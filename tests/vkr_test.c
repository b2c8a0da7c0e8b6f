#include "vkr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vkr_test_open(vkr_test_env* env, const vkr_device_options* options) {
    env->instance = NULL;
    env->device = NULL;
    vkr_instance_options io = {.validation = VKR_VALIDATION_ON};
    VKR_ASSERT_OK(vkr_instance_create(&io, &env->instance));
    uint32_t index = 0;
    VKR_ASSERT_OK(vkr_instance_pick_device(env->instance, NULL, &index));
    VKR_ASSERT_OK(vkr_device_create(env->instance, index, options, &env->device));
}

void vkr_test_close(vkr_test_env* env) {
    vkr_device_destroy(env->device);
    uint64_t errors = vkr_instance_validation_errors(env->instance);
    uint64_t warnings = vkr_instance_validation_warnings(env->instance);
    vkr_instance_destroy(env->instance);
    env->device = NULL;
    env->instance = NULL;
    if (errors || warnings) fail_msg("validation reported %llu error(s) and %llu warning(s)", (unsigned long long)errors,
                                     (unsigned long long)warnings);
}

vkr_test_env vkr_test_shared;

int vkr_test_group_open(void** state) {
    (void)state;
    vkr_test_open(&vkr_test_shared, NULL);
    return 0;
}

int vkr_test_group_close(void** state) {
    (void)state;
    vkr_test_close(&vkr_test_shared);
    return 0;
}

void vkr_test_fill_random(float* v, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        v[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
    }
}

double vkr_test_nmse(const float* a, const float* b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    if (den == 0) return num == 0 ? 0 : num;
    return num / den;
}

static char vkr_test_dir[256];

int vkr_test_tmpdir_open(const char* prefix) {
    snprintf(vkr_test_dir, sizeof vkr_test_dir, "/tmp/%s_XXXXXX", prefix);
    return mkdtemp(vkr_test_dir) ? 0 : -1;
}

int vkr_test_tmpdir_close(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", vkr_test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char* vkr_test_tmpdir(void) { return vkr_test_dir; }

void vkr_test_tmpdir_path(char* buf, size_t size, const char* name) { snprintf(buf, size, "%s/%s", vkr_test_dir, name); }

bool vkr_test_sample_dataset(const char* then, const char* then_args, char* out) {
    const char* cli = getenv("VKR_CLI");
    const char* assets = getenv("VKR_ASSETS");
    if (!cli || !assets) return false;
    snprintf(out, 64, "/tmp/vkrec-test-XXXXXX");
    if (!mkdtemp(out)) return false;
    strcat(out, "/data");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s prepare --format llmcdsr %s/food-kitchen-sample --min-item 10 --min-user 3 --domain-names Food,Kitchen "
             "--out %s --quiet",
             cli, assets, out);
    if (system(cmd) != 0) return false;
    if (!then) return true;
    snprintf(cmd, sizeof cmd, "%s %s %s %s", cli, then, out, then_args ? then_args : "");
    return system(cmd) == 0;
}

void vkr_test_param_fd(vkr_exec* ex, vkr_tensor* p, vkr_test_loss_fn loss, void* user, uint64_t start,
                       uint64_t stride, double* num, double* den) {
    uint64_t n = p->numel;
    float *w = malloc(n * 4), *grad = malloc(n * 4);
    VKR_ASSERT_OK(vkr_exec_read(ex, p, w, n * 4));
    VKR_ASSERT_OK(vkr_exec_read(ex, p->grad, grad, n * 4));
    for (uint64_t j = start; j < n; j += stride) {
        const float eps = 2e-3f;
        float keep = w[j];
        w[j] = keep + eps;
        VKR_ASSERT_OK(vkr_exec_write(ex, p, w, n * 4));
        double up = loss(user);
        w[j] = keep - eps;
        VKR_ASSERT_OK(vkr_exec_write(ex, p, w, n * 4));
        double down = loss(user);
        w[j] = keep;
        VKR_ASSERT_OK(vkr_exec_write(ex, p, w, n * 4));
        double fd = (up - down) / (2.0 * eps);
        *num += (fd - grad[j]) * (fd - grad[j]);
        *den += fd * fd;
    }
    free(w), free(grad);
}
