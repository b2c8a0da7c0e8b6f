/* Sparse propagation suite (LightGCN size: 7,000 users + 5,600 items, 60,000 interactions, D = 64):
 * one product with the normalized adjacency (y = A x) recorded on the GPU beside the CPU reference,
 * and a 3-layer propagation with its backward through the graph executor on both backends. */
#include <stdlib.h>

#include "bench.h"
#include "vkr_graph_ops_sparse.h"
#include "vkr_rng.h"
#include "vkr_spmm.h"

enum { SP_USERS = 7000, SP_ITEMS = 5600, SP_EVENTS = 60000, SP_DIM = 64, SP_LAYERS = 3 };

/* The normalized bipartite adjacency of random interactions; item popularity is skewed (u^2), as in
 * real logs, so a few item rows are long. */
static vkr_status sp_adjacency(vkr_csr* out) {
    uint32_t* user = malloc(SP_EVENTS * sizeof *user);
    uint32_t* item = malloc(SP_EVENTS * sizeof *item);
    vkr_csr r = {0}, adj = {0};
    vkr_status s = user && item ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the spmm suite");
    vkr_rng rng = vkr_rng_make(14, 0);
    for (uint32_t k = 0; s == VKR_OK && k < SP_EVENTS; k++) {
        double u = vkr_rng_next_uniform(&rng);
        user[k] = (uint32_t)vkr_rng_next_below(&rng, SP_USERS);
        item[k] = (uint32_t)(u * u * SP_ITEMS);
    }
    if (s == VKR_OK) s = vkr_csr_from_edges(SP_USERS, SP_ITEMS, SP_EVENTS, user, item, NULL, &r);
    if (s == VKR_OK) s = vkr_csr_bipartite(&r, &adj);
    if (s == VKR_OK) s = vkr_csr_normalize_sym(&adj, out);
    vkr_csr_free(&r);
    vkr_csr_free(&adj);
    free(user);
    free(item);
    return s;
}

typedef struct sp_product {
    const vkr_csr* a;
    const float* x;
    float* y;
    vkr_sequence* seq;
} sp_product;

static vkr_status run_gpu_product(void* user, double* out_device_s) {
    return vkr_bench_submit(((sp_product*)user)->seq, out_device_s);
}

static vkr_status run_cpu_product(void* user, double* out_device_s) {
    sp_product* p = user;
    *out_device_s = -1;
    return vkr_ref_spmm(p->a, p->x, SP_DIM, false, p->y);
}

static cJSON* sp_params(const vkr_csr* a) {
    cJSON* p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "nodes", a->rows);
    cJSON_AddNumberToObject(p, "nnz", a->nnz);
    cJSON_AddNumberToObject(p, "dim", SP_DIM);
    return p;
}

/* y = A x with x [nodes, 64]: rate in GFLOP/s (2 flops per entry and column). */
static vkr_status bench_product(vkr_bench* b, const vkr_csr* a) {
    uint64_t n = (uint64_t)a->rows * SP_DIM;
    vkr_bench_unit unit = {"GFLOP/s", 2.0 * a->nnz * SP_DIM / 1e9};
    float* x = malloc(n * 4);
    float* y = malloc(n * 4);
    vkr_buffer buf[5] = {{0}};
    vkr_status s = x && y ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the spmm suite");
    vkr_rng rng = vkr_rng_make(15, 0);
    for (uint64_t i = 0; s == VKR_OK && i < n; i++) x[i] = (float)vkr_rng_next_normal(&rng);
    const void* src[4] = {a->row_ptr, a->col, a->val, x};
    uint64_t bytes[5] = {4ull * (a->rows + 1), 4ull * a->nnz, 4ull * a->nnz, 4 * n, 4 * n};
    for (int k = 0; k < 5 && s == VKR_OK; k++) {
        s = vkr_buffer_create(b->dev, bytes[k], VKR_MEMORY_DEVICE, &buf[k]);
        if (s == VKR_OK && k < 4) s = vkr_buffer_upload(b->dev, &buf[k], 0, src[k], bytes[k]);
    }
    sp_product p = {a, x, y, NULL};
    if (s == VKR_OK) s = vkr_sequence_create(b->dev, &p.seq);
    vkr_spmm_params sp = {a->rows, a->cols, SP_DIM, a->nnz, false};
    if (s == VKR_OK)
        s = vkr_gpu_spmm(p.seq, &sp, vkr_range_whole(&buf[0]), vkr_range_whole(&buf[1]), vkr_range_whole(&buf[2]),
                         vkr_range_whole(&buf[3]), vkr_range_whole(&buf[4]));
    vkr_bench_stats wall, dev, peer;
    bool has_dev = false;
    if (s == VKR_OK) s = vkr_bench_measure(b, run_gpu_product, &p, unit, &wall, &dev, &has_dev);
    if (s == VKR_OK) s = vkr_bench_measure(b, run_cpu_product, &p, unit, &peer, NULL, NULL);
    if (s == VKR_OK)
        vkr_bench_report(b, "spmm", "propagate", sp_params(a), unit, &wall, has_dev ? &dev : NULL, "cpu_reference",
                         &peer);
    vkr_sequence_destroy(p.seq);
    for (int k = 0; k < 5; k++) vkr_buffer_destroy(b->dev, &buf[k]);
    free(x);
    free(y);
    return s;
}

static vkr_status run_exec(void* user, double* out_device_s) {
    *out_device_s = -1;
    return vkr_exec_run(user);
}

/* E_{l+1} = A E_l for three layers, the mean of E_0..E_3 against a target (MSE), and the backward to
 * E_0, on the executor of `dev` (NULL: the CPU backend). */
static vkr_status measure_layers(vkr_bench* b, const vkr_csr* a, vkr_device* dev, vkr_bench_unit unit,
                                 vkr_bench_stats* out) {
    uint32_t nodes = a->rows, shape[2] = {nodes, SP_DIM};
    vkr_graph* g = NULL;
    VKR_TRY(vkr_graph_create(1, &g));
    vkr_tensor* e = vkr_graph_param_init(g, "emb", 2, shape, 0, VKR_INIT_NORMAL, 0.1f);
    vkr_graph_csr adj = vkr_graph_sparse(g, "adj", nodes, nodes, a->nnz);
    vkr_tensor *layer = e, *sum = e;
    for (int l = 0; l < SP_LAYERS; l++) {
        layer = vkr_op_spmm(g, &adj, layer);
        sum = vkr_op_add(g, sum, layer);
    }
    vkr_tensor* target = vkr_graph_const(g, "target", VKR_F32, 2, shape);
    vkr_tensor* loss = vkr_op_mse(g, vkr_op_scale(g, sum, 1.0f / (SP_LAYERS + 1)), target);
    vkr_status s = vkr_graph_backward(g, loss);
    vkr_exec* ex = NULL;
    if (s == VKR_OK) s = vkr_exec_create(g, &(vkr_exec_options){.device = dev}, &ex);
    if (s == VKR_OK) s = vkr_exec_init_params(ex, 3);
    if (s == VKR_OK) s = vkr_exec_write_csr(ex, &adj, a);
    if (s == VKR_OK) s = vkr_bench_measure(b, run_exec, ex, unit, out, NULL, NULL);
    vkr_exec_destroy(ex);
    vkr_graph_destroy(g);
    return s;
}

static vkr_status bench_layers(vkr_bench* b, const vkr_csr* a) {
    /* forward and backward: two products per layer */
    vkr_bench_unit unit = {"GFLOP/s", 2.0 * SP_LAYERS * 2.0 * a->nnz * SP_DIM / 1e9};
    vkr_bench_stats wall, peer;
    VKR_TRY(measure_layers(b, a, b->dev, unit, &wall));
    VKR_TRY(measure_layers(b, a, NULL, unit, &peer));
    cJSON* p = sp_params(a);
    cJSON_AddNumberToObject(p, "layers", SP_LAYERS);
    vkr_bench_report(b, "spmm", "lightgcn_3_layers_fwd_bwd", p, unit, &wall, NULL, "cpu_backend", &peer);
    return VKR_OK;
}

vkr_status vkr_bench_suite_spmm(vkr_bench* b) {
    vkr_csr a;
    VKR_TRY(sp_adjacency(&a));
    vkr_status s = bench_product(b, &a);
    if (s == VKR_OK) s = bench_layers(b, &a);
    vkr_csr_free(&a);
    return s;
}
