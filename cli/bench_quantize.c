/* Suite "quantize": the fused nearest-codeword kernel (vectors/s assigning N = 100k x d = 32 to
 * K = 256 codes) and one k-means (Lloyd) iteration, beside a CPU peer in the same run.
 *
 * The peer does what faiss's IndexFlatL2 / Clustering do on the CPU: inner products of blocks of
 * 4096 queries against all codes with BLAS sgemm (OpenBLAS here), argmin of |c|^2 - 2 x.c per row
 * on OpenMP threads, and the centroid update with every thread owning a range of centroids. faiss
 * itself is run as a separate C++ program when it could be built (bench/faiss_peer.cpp, CMake finds
 * a C++ compiler and Debian's libfaiss.a); otherwise this C peer stands in. faiss's C API cannot be
 * used: Debian's libfaiss-dev ships only a static C++ library (its C API headers come without the
 * C API symbols) and the Python bindings are not installed. The peer is named in the results. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "vkr_ops_quant.h"
#include "vkr_kmeans.h"

#define QB_N 100000u
#define QB_D 32u
#define QB_K 256u
#define QB_BLOCK 4096u /* queries per sgemm, as faiss's exhaustive search */

typedef struct qbench {
    const float *x, *c;
    float *cn, *ip, *dist, *cent;
    int32_t* codes;
    uint32_t n, d, k;
    vkr_sequence* seq; /* GPU body */
} qbench;

static vkr_status run_gpu(void* user, double* out_device_s) {
    return vkr_bench_submit(((qbench*)user)->seq, out_device_s);
}

/* Peer assignment: blocked sgemm of inner products, then argmin per row. */
static void blas_assign(qbench* q, const float* c) {
    for (uint32_t j = 0; j < q->k; j++) {
        float s = 0;
        for (uint32_t t = 0; t < q->d; t++) s += c[(size_t)j * q->d + t] * c[(size_t)j * q->d + t];
        q->cn[j] = s;
    }
    for (uint32_t b0 = 0; b0 < q->n; b0 += QB_BLOCK) {
        uint32_t rows = q->n - b0 < QB_BLOCK ? q->n - b0 : QB_BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)q->k, (int)q->d, 1.0f,
                    q->x + (size_t)b0 * q->d, (int)q->d, c, (int)q->d, 0.0f, q->ip, (int)q->k);
#pragma omp parallel for schedule(static)
        for (uint32_t r = 0; r < rows; r++) {
            const float* ip = q->ip + (size_t)r * q->k;
            float best = q->cn[0] - 2 * ip[0];
            int32_t bj = 0;
            for (uint32_t j = 1; j < q->k; j++) {
                float v = q->cn[j] - 2 * ip[j];
                if (v < best) best = v, bj = (int32_t)j;
            }
            const float* xr = q->x + (size_t)(b0 + r) * q->d;
            float xn = 0;
            for (uint32_t t = 0; t < q->d; t++) xn += xr[t] * xr[t];
            q->codes[b0 + r] = bj;
            q->dist[b0 + r] = xn + best;
        }
    }
}

static vkr_status run_cpu_assign(void* user, double* out_device_s) {
    qbench* q = user;
    blas_assign(q, q->c);
    *out_device_s = -1;
    return VKR_OK;
}

/* Peer Lloyd iteration: assignment, then each thread sums the rows of its own centroid range. */
static vkr_status run_cpu_iteration(void* user, double* out_device_s) {
    qbench* q = user;
    blas_assign(q, q->cent);
#pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        uint32_t lo = (uint32_t)((uint64_t)q->k * t / nt), hi = (uint32_t)((uint64_t)q->k * (t + 1) / nt);
        double* sum = calloc((size_t)(hi - lo) * q->d + 1, sizeof *sum);
        uint32_t* cnt = calloc(hi - lo + 1, sizeof *cnt);
        if (sum && cnt) {
            for (uint32_t i = 0; i < q->n; i++) {
                uint32_t c = (uint32_t)q->codes[i];
                if (c < lo || c >= hi) continue;
                cnt[c - lo]++;
                for (uint32_t e = 0; e < q->d; e++) sum[(size_t)(c - lo) * q->d + e] += q->x[(size_t)i * q->d + e];
            }
            for (uint32_t c = lo; c < hi; c++)
                for (uint32_t e = 0; cnt[c - lo] && e < q->d; e++)
                    q->cent[(size_t)c * q->d + e] = (float)(sum[(size_t)(c - lo) * q->d + e] / cnt[c - lo]);
        }
        free(sum);
        free(cnt);
    }
    *out_device_s = -1;
    return VKR_OK;
}

static const char peer_name[] = "OpenBLAS sgemm + argmin (faiss IndexFlatL2 method)";

/* Runs the faiss peer (bench/faiss_peer.cpp) when it was built: assignment rate and one k-means
 * iteration in ms on the same data. False when unavailable. */
static bool faiss_peer(unsigned runs, double* assign_rate, double* iter_ms) {
#ifdef VKR_FAISS_PEER
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' %u %u %u %u 2>/dev/null", VKR_FAISS_PEER, QB_N, QB_D, QB_K, runs ? runs : 1);
    FILE* p = popen(cmd, "r");
    if (!p) return false;
    char line[256] = "";
    bool ok = fgets(line, sizeof line, p) && sscanf(line, "{\"assign_vectors_per_s\": %lf, \"kmeans_iteration_ms\": %lf}",
                                                   assign_rate, iter_ms) == 2;
    return pclose(p) == 0 && ok && *assign_rate > 0 && *iter_ms > 0;
#else
    (void)runs, (void)assign_rate, (void)iter_ms;
    return false;
#endif
}

vkr_status vkr_bench_suite_quantize(vkr_bench* b) {
    qbench q = {.n = QB_N, .d = QB_D, .k = QB_K};
    float* x = malloc((size_t)QB_N * QB_D * sizeof *x);
    float* c = malloc((size_t)QB_K * QB_D * sizeof *c);
    q.cn = malloc(QB_K * sizeof *q.cn);
    q.ip = malloc((size_t)QB_BLOCK * QB_K * sizeof *q.ip);
    q.dist = malloc(QB_N * sizeof *q.dist);
    q.cent = malloc((size_t)QB_K * QB_D * sizeof *q.cent);
    q.codes = malloc(QB_N * sizeof *q.codes);
    q.x = x;
    q.c = c;
    vkr_status s = x && c && q.cn && q.ip && q.dist && q.cent && q.codes
                       ? VKR_OK
                       : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "bench quantize: out of host memory");
    for (size_t i = 0; s == VKR_OK && i < (size_t)QB_N * QB_D; i++) x[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1;
    for (size_t i = 0; s == VKR_OK && i < (size_t)QB_K * QB_D; i++) c[i] = x[i * 389 % ((size_t)QB_N * QB_D)];
    vkr_kmeans_gpu g = {0};
    if (s == VKR_OK) s = vkr_kmeans_gpu_create(b->dev, x, QB_N, QB_D, QB_K, &g);
    if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &g.buf, g.c.offset, c, (uint64_t)QB_K * QB_D * 4);
    cJSON* params = NULL;
    vkr_bench_stats wall, dev, peer;
    bool has_dev = false;
    double faiss_rate = 0, faiss_ms = 0;
    bool faiss = s == VKR_OK && faiss_peer(b->runs, &faiss_rate, &faiss_ms);
    const char* pname = faiss ? "faiss IndexFlatL2 / Clustering (CPU)" : peer_name;
    /* assignment alone: norms + the fused kernel */
    if (s == VKR_OK) s = vkr_sequence_create(b->dev, &q.seq);
    if (s == VKR_OK) s = vkr_gpu_quant_norms(q.seq, QB_K, QB_D, g.c, g.norms);
    vkr_quant_assign_params ap = {.n = QB_N, .k = QB_K, .d = QB_D, .code_stride = 1};
    if (s == VKR_OK) s = vkr_gpu_quant_assign(q.seq, &ap, g.x, g.c, g.norms, g.codes, g.dist, (vkr_range){0});
    vkr_bench_unit rate = {"vectors/s", QB_N};
    if (s == VKR_OK) s = vkr_bench_measure(b, run_gpu, &q, rate, &wall, &dev, &has_dev);
    if (s == VKR_OK && !faiss) s = vkr_bench_measure(b, run_cpu_assign, &q, rate, &peer, NULL, NULL);
    if (faiss) peer = (vkr_bench_stats){faiss_rate, faiss_rate, faiss_rate, b->runs};
    if (s == VKR_OK) {
        params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "n", QB_N);
        cJSON_AddNumberToObject(params, "d", QB_D);
        cJSON_AddNumberToObject(params, "k", QB_K);
        vkr_bench_report(b, "quantize", "assign", params, rate, &wall, has_dev ? &dev : NULL, pname, &peer);
    }
    vkr_sequence_destroy(q.seq);
    /* one Lloyd iteration: norms, assignment, grouped mean (the centroids drift between runs on
     * both sides alike; the work per iteration does not depend on them) */
    q.seq = g.seq;
    g.seq = NULL;
    if (s == VKR_OK) memcpy(q.cent, c, (size_t)QB_K * QB_D * sizeof *c);
    vkr_bench_unit ms = {"ms", 1};
    if (s == VKR_OK) s = vkr_bench_measure(b, run_gpu, &q, ms, &wall, &dev, &has_dev);
    if (s == VKR_OK && !faiss) s = vkr_bench_measure(b, run_cpu_iteration, &q, ms, &peer, NULL, NULL);
    if (faiss) peer = (vkr_bench_stats){faiss_ms, faiss_ms, faiss_ms, b->runs};
    if (s == VKR_OK) {
        params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "n", QB_N);
        cJSON_AddNumberToObject(params, "d", QB_D);
        cJSON_AddNumberToObject(params, "k", QB_K);
        vkr_bench_report(b, "quantize", "kmeans_iteration", params, ms, &wall, has_dev ? &dev : NULL, pname, &peer);
    }
    vkr_sequence_destroy(q.seq);
    vkr_kmeans_gpu_destroy(&g);
    free(x);
    free(c);
    free(q.cn);
    free(q.ip);
    free(q.dist);
    free(q.cent);
    free(q.codes);
    return s;
}
