/* `vkrec bench ew`: the elementwise, reduction and row kernels of a SASRec training step at its
 * activation size (12,800 rows of 64: batch 256 x length 50, hidden 64), each recorded 10 times in
 * one sequence, beside the CPU references (vkr_ref_*, OpenMP at its default thread count). Rates
 * are Gelem/s of the op's main input. These are the kernels that dominate a step on CPU drivers
 * once the matmuls are fast, so the suite shows where a driver is weak. */
#include <stdlib.h>

#include "bench.h"
#include "vkr_ops_ew.h"
#include "vkr_ops_nn.h"
#include "vkr_rng.h"

enum { EW_ROWS = 12800, EW_COLS = 64, EW_N = EW_ROWS * EW_COLS, EW_REPEAT = 10, EW_BUFS = 6 };

static const vkr_unary_params ew_relu = {VKR_UNARY_RELU, EW_N, 0};
static const vkr_binary_params ew_add = {VKR_BINARY_ADD, {1, 1, EW_ROWS, EW_COLS}, {1, 1, EW_ROWS, EW_COLS}};
static const vkr_binary_params ew_bias = {VKR_BINARY_ADD, {1, 1, EW_ROWS, EW_COLS}, {1, 1, 1, EW_COLS}};
static const vkr_reduce_params ew_rowsum = {{1, 1, EW_ROWS, EW_COLS}, 3, false};
static const vkr_dropout_params ew_drop = {.n = EW_N, .p = 0.2f, .seed = 7, .stream = 1};
static const vkr_dropout_params ew_drop_fused = {.n = EW_N, .p = 0.2f, .seed = 7, .stream = 1, .relu = true,
                                                 .residual = true};
static const vkr_slice_params ew_slice = {{1, 1, EW_ROWS, 3 * EW_COLS}, 3, EW_COLS, EW_COLS}; /* K of a QKV */
static const vkr_layernorm_params ew_ln = {EW_ROWS, EW_COLS, 1e-5f};

/* One op: a GPU recorder over ranges r[0..5] and the CPU reference over host arrays h[0..5] (each
 * buffer holds 3 x 12,800 x 64 floats; r[5] and h[5] hold the layer-norm parameter gradients). */
typedef struct ew_case {
    const char* name;
    vkr_status (*gpu)(vkr_sequence* seq, const vkr_range* r);
    vkr_status (*cpu)(float* const* h);
} ew_case;

static vkr_status g_relu(vkr_sequence* q, const vkr_range* r) { return vkr_gpu_unary(q, &ew_relu, r[0], r[1]); }
static vkr_status c_relu(float* const* h) { return vkr_ref_unary(&ew_relu, h[0], h[1]); }
static vkr_status g_relu_bwd(vkr_sequence* q, const vkr_range* r) {
    return vkr_gpu_unary_backward(q, &ew_relu, r[0], r[1], r[2]);
}
static vkr_status c_relu_bwd(float* const* h) { return vkr_ref_unary_backward(&ew_relu, h[0], h[1], h[2]); }
static vkr_status g_add(vkr_sequence* q, const vkr_range* r) { return vkr_gpu_binary(q, &ew_add, r[0], r[1], r[2]); }
static vkr_status c_add(float* const* h) { return vkr_ref_binary(&ew_add, h[0], h[1], h[2]); }
static vkr_status g_bias(vkr_sequence* q, const vkr_range* r) { return vkr_gpu_binary(q, &ew_bias, r[0], r[1], r[2]); }
static vkr_status c_bias(float* const* h) { return vkr_ref_binary(&ew_bias, h[0], h[1], h[2]); }
static vkr_status g_add_bwd(vkr_sequence* q, const vkr_range* r) {
    return vkr_gpu_binary_backward(q, &ew_add, (vkr_range){0}, (vkr_range){0}, r[0], r[1], r[2]);
}
static vkr_status c_add_bwd(float* const* h) { return vkr_ref_binary_backward(&ew_add, NULL, NULL, h[0], h[1], h[2]); }
static vkr_status g_colsum(vkr_sequence* q, const vkr_range* r) {
    return vkr_gpu_binary_backward(q, &ew_bias, (vkr_range){0}, (vkr_range){0}, r[0], (vkr_range){0}, r[1]);
}
static vkr_status c_colsum(float* const* h) { return vkr_ref_binary_backward(&ew_bias, NULL, NULL, h[0], NULL, h[1]); }
static vkr_status g_rowsum(vkr_sequence* q, const vkr_range* r) { return vkr_gpu_reduce(q, &ew_rowsum, r[0], r[1]); }
static vkr_status c_rowsum(float* const* h) { return vkr_ref_reduce(&ew_rowsum, h[0], h[1]); }
static vkr_status g_drop(vkr_sequence* q, const vkr_range* r) { return vkr_gpu_dropout(q, &ew_drop, r[0], r[1]); }
static vkr_status c_drop(float* const* h) { return vkr_ref_dropout(&ew_drop, h[0], h[1]); }
static vkr_status g_drop_bwd(vkr_sequence* q, const vkr_range* r) {
    return vkr_gpu_dropout_backward(q, &ew_drop, r[0], r[1]);
}
static vkr_status c_drop_bwd(float* const* h) { return vkr_ref_dropout_backward(&ew_drop, h[0], h[1]); }
static vkr_status g_fused(vkr_sequence* q, const vkr_range* r) {
    return vkr_gpu_dropout_fused(q, &ew_drop_fused, (vkr_range){0}, r[0], r[1], r[2]);
}
static vkr_status c_fused(float* const* h) { return vkr_ref_dropout_fused(&ew_drop_fused, h[0], h[1], h[2]); }
static vkr_status g_fused_bwd(vkr_sequence* q, const vkr_range* r) {
    return vkr_gpu_dropout_fused_backward(q, &ew_drop_fused, (vkr_range){0}, r[0], r[1], r[2], r[3]);
}
static vkr_status c_fused_bwd(float* const* h) {
    return vkr_ref_dropout_fused_backward(&ew_drop_fused, h[0], h[1], h[2], h[3]);
}
static vkr_status g_slice(vkr_sequence* q, const vkr_range* r) { return vkr_gpu_slice(q, &ew_slice, r[0], r[1]); }
static vkr_status c_slice(float* const* h) { return vkr_ref_slice(&ew_slice, h[0], h[1]); }
static vkr_status g_ln(vkr_sequence* q, const vkr_range* r) {
    return vkr_gpu_layernorm(q, &ew_ln, r[0], r[5], r[5], r[1], r[2]);
}
static vkr_status c_ln(float* const* h) { return vkr_ref_layernorm(&ew_ln, h[0], h[5], h[5], h[1], h[2]); }
static vkr_status g_ln_bwd(vkr_sequence* q, const vkr_range* r) {
    vkr_range dgamma = {r[5].buffer, 0, 4 * EW_COLS}, dbeta = {r[5].buffer, 256, 4 * EW_COLS};
    return vkr_gpu_layernorm_bwd(q, &ew_ln, r[0], r[4], r[2], r[1], r[3], dgamma, dbeta);
}
static vkr_status c_ln_bwd(float* const* h) {
    return vkr_ref_layernorm_bwd(&ew_ln, h[0], h[4], h[2], h[1], h[3], h[5], h[5] + 64);
}

static const ew_case ew_cases[] = {
    {"relu", g_relu, c_relu},
    {"relu_backward", g_relu_bwd, c_relu_bwd},
    {"add", g_add, c_add},
    {"bias_add", g_bias, c_bias},
    {"add_backward", g_add_bwd, c_add_bwd},
    {"bias_grad_colsum", g_colsum, c_colsum},
    {"row_sum", g_rowsum, c_rowsum},
    {"dropout", g_drop, c_drop},
    {"dropout_backward", g_drop_bwd, c_drop_bwd},
    {"relu_dropout_residual", g_fused, c_fused},
    {"relu_dropout_residual_bwd", g_fused_bwd, c_fused_bwd},
    {"slice_qkv", g_slice, c_slice},
    {"layernorm", g_ln, c_ln},
    {"layernorm_backward", g_ln_bwd, c_ln_bwd},
};

typedef struct ew_body {
    const ew_case* c;
    vkr_sequence* seq;
    float* h[EW_BUFS];
} ew_body;

static vkr_status run_gpu(void* user, double* out_device_s) {
    return vkr_bench_submit(((ew_body*)user)->seq, out_device_s);
}

static vkr_status run_cpu(void* user, double* out_device_s) {
    ew_body* e = user;
    *out_device_s = -1;
    for (int k = 0; k < EW_REPEAT; k++) VKR_TRY(e->c->cpu(e->h));
    return VKR_OK;
}

static vkr_status bench_case(vkr_bench* b, const ew_case* c, const vkr_range* r, float* const* h) {
    ew_body e = {.c = c};
    for (int k = 0; k < EW_BUFS; k++) e.h[k] = h[k];
    VKR_TRY(vkr_sequence_create(b->dev, &e.seq));
    vkr_status s = VKR_OK;
    for (int k = 0; k < EW_REPEAT && s == VKR_OK; k++) s = c->gpu(e.seq, r);
    vkr_bench_unit unit = {"Gelem/s", (double)EW_N * EW_REPEAT / 1e9};
    vkr_bench_stats wall, dev, peer;
    bool has_dev = false;
    if (s == VKR_OK) s = vkr_bench_measure(b, run_gpu, &e, unit, &wall, &dev, &has_dev);
    if (s == VKR_OK) s = vkr_bench_measure(b, run_cpu, &e, unit, &peer, NULL, NULL);
    if (s == VKR_OK) {
        cJSON* p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "rows", EW_ROWS);
        cJSON_AddNumberToObject(p, "cols", EW_COLS);
        cJSON_AddNumberToObject(p, "dispatches", vkr_sequence_dispatch_count(e.seq) / EW_REPEAT);
        vkr_bench_report(b, "ew", c->name, p, unit, &wall, has_dev ? &dev : NULL, "cpu_reference", &peer);
    }
    vkr_sequence_destroy(e.seq);
    return s;
}

vkr_status vkr_bench_suite_ew(vkr_bench* b) {
    const uint64_t words = 3ull * EW_N;
    vkr_buffer buf[EW_BUFS] = {{0}};
    vkr_range r[EW_BUFS];
    float* h[EW_BUFS] = {0};
    vkr_status s = VKR_OK;
    vkr_rng rng = vkr_rng_make(21, 0);
    for (int k = 0; k < EW_BUFS && s == VKR_OK; k++) {
        h[k] = malloc(words * sizeof(float));
        if (!h[k]) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the ew suite");
        for (uint64_t i = 0; s == VKR_OK && i < words; i++) h[k][i] = (float)vkr_rng_next_normal(&rng);
        if (s == VKR_OK) s = vkr_buffer_create(b->dev, words * sizeof(float), VKR_MEMORY_DEVICE, &buf[k]);
        if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &buf[k], 0, h[k], words * sizeof(float));
        r[k] = vkr_range_whole(&buf[k]);
    }
    for (size_t i = 0; i < sizeof ew_cases / sizeof ew_cases[0] && s == VKR_OK; i++) s = bench_case(b, &ew_cases[i], r, h);
    for (int k = 0; k < EW_BUFS; k++) {
        vkr_buffer_destroy(b->dev, &buf[k]);
        free(h[k]);
    }
    return s;
}
