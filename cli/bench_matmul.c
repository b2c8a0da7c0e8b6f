/* Suites "peak" (fp32 FMA throughput of the device beside a C loop of the same structure) and
 * "matmul" (GFLOP/s of vkr_gpu_matmul beside OpenBLAS cblas_sgemm in the same run, with the
 * fraction of the measured device peak). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "vkr_fileio.h"
#include "vkr_matmul.h"

/* ---- peak ---- */

#define PEAK_CHAINS 4      /* independent vec4 FMA chains per invocation (peak.comp) */
#define PEAK_WG 64         /* invocations per workgroup */
#define CPU_LANES 8        /* floats per chain in the C loop: one 256-bit register */
#define CPU_CHAINS 8       /* independent chains: covers FMA latency x ports on current x86 */

/* Device peak measured earlier in this process (the matmul suite reports fractions of it). */
static const vkr_device* peak_device;
static double peak_gflops;

typedef struct peak_body {
    vkr_sequence* seq;
} peak_body;

static vkr_status run_peak(void* user, double* out_device_s) {
    return vkr_bench_submit(((peak_body*)user)->seq, out_device_s);
}

/* The C peer: CPU_CHAINS independent chains of x = x * mul + add over CPU_LANES floats, one chain
 * per vector register, on every OpenMP thread. Built twice so that x86 CPUs with AVX2+FMA get
 * fused 256-bit FMAs while the default build stays portable. */
#define PEAK_LOOP_BODY                                                                                     \
    float x[CPU_CHAINS][CPU_LANES];                                                                        \
    for (int c = 0; c < CPU_CHAINS; c++)                                                                   \
        for (int l = 0; l < CPU_LANES; l++) x[c][l] = seed + (float)(c + l);                               \
    for (long it = 0; it < iterations; it++)                                                               \
        for (int c = 0; c < CPU_CHAINS; c++)                                                               \
            for (int l = 0; l < CPU_LANES; l++) x[c][l] = fmaf(x[c][l], mul, add);                         \
    float s = 0;                                                                                           \
    for (int c = 0; c < CPU_CHAINS; c++)                                                                   \
        for (int l = 0; l < CPU_LANES; l++) s += x[c][l];                                                  \
    return s;

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static float cpu_chains_fma(long iterations, float seed, float mul, float add) {
    PEAK_LOOP_BODY
}
#endif
static float cpu_chains(long iterations, float seed, float mul, float add) { PEAK_LOOP_BODY }

typedef struct cpu_peak_body {
    long iterations; /* per thread */
    int threads;     /* OpenMP threads used */
    bool fma;        /* AVX2+FMA build of the loop */
    float sink;      /* keeps the results live */
} cpu_peak_body;

static vkr_status run_cpu_peak(void* user, double* out_device_s) {
    cpu_peak_body* c = user;
    float total = 0;
#pragma omp parallel for reduction(+ : total)
    for (int t = 0; t < c->threads; t++) {
#if defined(__x86_64__) && defined(__GNUC__)
        if (c->fma) {
            total += cpu_chains_fma(c->iterations, (float)t, 0.999f, 0.001f);
            continue;
        }
#endif
        total += cpu_chains(c->iterations, (float)t, 0.999f, 0.001f);
    }
    c->sink += total;
    *out_device_s = -1;
    return VKR_OK;
}

/* Measures the device peak (GFLOP/s, median of wall time) and reports it when `report`. */
static vkr_status measure_peak(vkr_bench* b, bool report, double* out_gflops) {
    *out_gflops = 0;
    vkr_kernel_desc d = {.shader = "peak", .binding_count = 1, .access = {VKR_WRITE}, .push_bytes = 12,
                         .spec_count = 2, .spec = {PEAK_WG, PEAK_CHAINS}};
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(b->dev, &d, &k));
    const vkr_device_info* info = vkr_device_get_info(b->dev);
    /* Enough workgroups to fill a big GPU; a CPU driver gets fewer iterations so a run stays short. */
    uint32_t groups = info->type == VKR_DEVICE_CPU ? 64 : 8192;
    uint32_t iterations = info->type == VKR_DEVICE_CPU ? 4096 : 16384;
    vkr_buffer out = {0};
    vkr_sequence* seq = NULL;
    vkr_status s = vkr_buffer_create(b->dev, (uint64_t)groups * PEAK_WG * 16, VKR_MEMORY_DEVICE, &out);
    if (s == VKR_OK) s = vkr_sequence_create(b->dev, &seq);
    struct { uint32_t iterations; float mul, add; } push = {iterations, 0.999f, 0.001f};
    vkr_range r = vkr_range_whole(&out);
    if (s == VKR_OK) s = vkr_sequence_dispatch(seq, k, &r, 1, &push, sizeof push, groups, 1, 1);
    vkr_bench_unit unit = {"GFLOP/s", 2.0 * 4 * PEAK_CHAINS * (double)iterations * groups * PEAK_WG / 1e9};
    vkr_bench_stats wall = {0}, dev = {0}, peer = {0};
    bool has_dev = false;
    peak_body body = {seq};
    if (s == VKR_OK) s = vkr_bench_measure(b, run_peak, &body, unit, &wall, &dev, &has_dev);
    if (s == VKR_OK) *out_gflops = has_dev ? dev.median : wall.median;
    if (s == VKR_OK && report) {
        int threads = omp_get_max_threads();
        cpu_peak_body cpu = {.iterations = 1L << 24, .threads = threads};
#if defined(__x86_64__) && defined(__GNUC__)
        cpu.fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        vkr_bench_unit cunit = {"GFLOP/s", 2.0 * CPU_LANES * CPU_CHAINS * (double)cpu.iterations * threads / 1e9};
        s = vkr_bench_measure(b, run_cpu_peak, &cpu, cunit, &peer, NULL, NULL);
        if (s == VKR_OK) {
            char peer_name[64];
            snprintf(peer_name, sizeof peer_name, "C FMA loop, %d thread%s%s", threads, threads > 1 ? "s" : "",
                     cpu.fma ? ", AVX2+FMA" : "");
            cJSON* params = cJSON_CreateObject();
            cJSON_AddNumberToObject(params, "chains", PEAK_CHAINS);
            cJSON_AddNumberToObject(params, "invocations", (double)groups * PEAK_WG);
            cJSON_AddNumberToObject(params, "iterations", iterations);
            vkr_bench_report(b, "peak", "fp32_fma_vec4", params, unit, &wall, has_dev ? &dev : NULL, peer_name, &peer);
        }
    }
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(b->dev, &out);
    if (s == VKR_OK) {
        peak_device = b->dev;
        peak_gflops = *out_gflops;
    }
    return s;
}

vkr_status vkr_bench_suite_peak(vkr_bench* b) {
    double gflops;
    return measure_peak(b, true, &gflops);
}

/* ---- matmul ---- */

typedef struct mm_shape {
    const char* name;
    uint32_t M, N, K;
} mm_shape;

static const mm_shape mm_shapes[] = {
    {"square_256", 256, 256, 256},
    {"square_512", 512, 512, 512},
    {"square_1024", 1024, 1024, 1024},
    {"square_2048", 2048, 2048, 2048},
    {"items_x_hidden", 16384, 64, 64},   /* item-embedding projection */
    {"logits", 256, 64, 10000},          /* batch x hidden against a 10k-long K */
    {"rows_x_hidden", 10000, 64, 256},   /* many rows through a 256 -> 64 layer */
};

typedef struct mm_body {
    vkr_sequence* seq;      /* GPU run (NULL for the cblas peer) */
    const float* a;         /* cblas inputs */
    const float* b;
    float* c;
    uint32_t M, N, K;
} mm_body;

static vkr_status run_gpu_mm(void* user, double* out_device_s) {
    return vkr_bench_submit(((mm_body*)user)->seq, out_device_s);
}

static vkr_status run_cblas(void* user, double* out_device_s) {
    mm_body* m = user;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m->M, (int)m->N, (int)m->K, 1.0f, m->a, (int)m->K,
                m->b, (int)m->N, 0.0f, m->c, (int)m->N);
    *out_device_s = -1;
    return VKR_OK;
}

/* OpenBLAS at its best thread count (1, 2, 4, ... and the core count), alone: its statistics and
 * that count. */
static vkr_status cblas_best(const vkr_bench* b, mm_body* body, vkr_bench_unit unit, vkr_bench_stats* out,
                             int* out_threads) {
    *out_threads = 1;
    for (int t = 1; t; t = vkr_bench_next_threads(t)) {
        openblas_set_num_threads(t);
        vkr_bench_stats st;
        VKR_TRY(vkr_bench_measure(b, run_cblas, body, unit, &st, NULL, NULL));
        if (st.median > out->median) *out = st, *out_threads = t;
    }
    return VKR_OK;
}

/* Times one shape in one dtype on the device and (fp32 only, measured once per shape) cblas. */
static vkr_status bench_shape(vkr_bench* b, const mm_shape* sh, vkr_matmul_dtype dtype, vkr_bench_stats* peer,
                              double peak) {
    vkr_matmul_params p = {.M = sh->M, .N = sh->N, .K = sh->K, .batch = 1, .alpha = 1.0f, .dtype = dtype};
    size_t na = (size_t)sh->M * sh->K, nb = (size_t)sh->K * sh->N, nc = (size_t)sh->M * sh->N;
    size_t es = dtype == VKR_MATMUL_F16 ? 2 : 4;
    double gflop = 2.0 * sh->M * sh->N * (double)sh->K / 1e9;
    /* Big shapes take about a second per run on a CPU driver: fewer repetitions keep the suite short. */
    vkr_bench lb = *b;
    if (gflop > 4 && lb.runs > 3) lb.runs = 3;
    if (gflop > 4 && lb.warmup > 1) lb.warmup = 1;
    float* a = malloc(na * sizeof *a);
    float* bm = malloc(nb * sizeof *bm);
    float* c = malloc(nc * sizeof *c);
    uint16_t* half = dtype == VKR_MATMUL_F16 ? malloc((na > nb ? na : nb) * sizeof *half) : NULL;
    vkr_buffer ba = {0}, bb = {0}, bc = {0};
    vkr_sequence* seq = NULL;
    vkr_status s = VKR_OK;
    if (!a || !bm || !c || (dtype == VKR_MATMUL_F16 && !half))
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the matmul suite");
    for (size_t i = 0; s == VKR_OK && i < na; i++) a[i] = (float)((i * 7u) % 13u) / 13.0f - 0.5f;
    for (size_t i = 0; s == VKR_OK && i < nb; i++) bm[i] = (float)((i * 5u) % 11u) / 11.0f - 0.5f;
    if (s == VKR_OK) s = vkr_buffer_create(b->dev, na * es, VKR_MEMORY_DEVICE, &ba);
    if (s == VKR_OK) s = vkr_buffer_create(b->dev, nb * es, VKR_MEMORY_DEVICE, &bb);
    if (s == VKR_OK) s = vkr_buffer_create(b->dev, nc * 4, VKR_MEMORY_DEVICE, &bc);
    if (s == VKR_OK && half) {
        for (size_t i = 0; i < na; i++) half[i] = vkr_float_to_half(a[i]);
        s = vkr_buffer_upload(b->dev, &ba, 0, half, na * es);
        for (size_t i = 0; s == VKR_OK && i < nb; i++) half[i] = vkr_float_to_half(bm[i]);
        if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &bb, 0, half, nb * es);
    } else if (s == VKR_OK) {
        s = vkr_buffer_upload(b->dev, &ba, 0, a, na * es);
        if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &bb, 0, bm, nb * es);
    }
    if (s == VKR_OK) s = vkr_sequence_create(b->dev, &seq);
    vkr_range none = {0};
    if (s == VKR_OK)
        s = vkr_gpu_matmul(seq, &p, vkr_range_whole(&ba), vkr_range_whole(&bb), none, vkr_range_whole(&bc));
    vkr_bench_unit unit = {"GFLOP/s", gflop};
    mm_body body = {seq, a, bm, c, sh->M, sh->N, sh->K};
    vkr_bench_stats wall = {0}, dev = {0};
    bool has_dev = false;
    vkr_bench_peer_check pc = {0};
    int blas_threads = openblas_get_num_threads();
    if (s == VKR_OK && dtype == VKR_MATMUL_F32) s = cblas_best(&lb, &body, unit, peer, &pc.threads);
    pc.standalone = peer->median;
    if (s == VKR_OK) s = vkr_bench_measure(&lb, run_gpu_mm, &body, unit, &wall, &dev, &has_dev);
    vkr_bench_stats again = {0};
    if (s == VKR_OK && dtype == VKR_MATMUL_F32) {
        openblas_set_num_threads(pc.threads);
        s = vkr_bench_measure(&lb, run_cblas, &body, unit, &again, NULL, NULL);
        pc.in_run = again.median;
    }
    openblas_set_num_threads(blas_threads);
    if (s == VKR_OK) {
        cJSON* params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "M", sh->M);
        cJSON_AddNumberToObject(params, "N", sh->N);
        cJSON_AddNumberToObject(params, "K", sh->K);
        cJSON_AddStringToObject(params, "dtype", dtype == VKR_MATMUL_F16 ? "fp16" : "fp32");
        cJSON_AddStringToObject(params, "variant", vkr_matmul_variant_name(b->dev, &p));
        /* Device time where timestamps exist (dispatch overhead excluded), else wall time. */
        double achieved = has_dev ? dev.median : wall.median;
        if (peak > 0) cJSON_AddNumberToObject(params, "peak_fraction", round(achieved / peak * 1000) / 1000);
        char name[48];
        snprintf(name, sizeof name, "%s%s", sh->name, dtype == VKR_MATMUL_F16 ? "_fp16" : "");
        vkr_bench_report(b, "matmul", name, params, unit, &wall, has_dev ? &dev : NULL, "openblas_sgemm", peer);
        if (dtype == VKR_MATMUL_F32) vkr_bench_peer_note(b, &pc);
    }
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(b->dev, &ba);
    vkr_buffer_destroy(b->dev, &bb);
    vkr_buffer_destroy(b->dev, &bc);
    free(a);
    free(bm);
    free(c);
    free(half);
    return s;
}

/* Why the VK_KHR_cooperative_matrix kernel is not built: the toolchain predates the extension. */
static const char* const coopmat_skip_reason =
    "not built: glslang 12.0 lacks GL_KHR_cooperative_matrix and the Vulkan 1.3.239 headers lack "
    "VK_KHR_cooperative_matrix (need glslang >= 13 and headers >= 1.3.255)";

/* Records a skipped variant in the JSON results and prints it, so it never disappears silently. */
static void report_skipped(vkr_bench* b, const char* name, const char* reason) {
    const vkr_device_info* info = vkr_device_get_info(b->dev);
    cJSON* r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "suite", "matmul");
    cJSON_AddStringToObject(r, "name", name);
    cJSON* params = cJSON_AddObjectToObject(r, "params");
    cJSON_AddBoolToObject(params, "device_has_extension", info->cooperative_matrix);
    cJSON_AddStringToObject(r, "unit", "GFLOP/s");
    cJSON_AddNullToObject(r, "median");
    cJSON_AddNullToObject(r, "peer");
    cJSON_AddNullToObject(r, "ratio");
    cJSON_AddStringToObject(r, "skipped", reason);
    cJSON_AddItemToArray(b->results, r);
    if (!b->quiet) printf("%-9s %-24s skipped: %s (device %s the extension)\n", "matmul", name, reason,
                          info->cooperative_matrix ? "exposes" : "does not expose");
}

vkr_status vkr_bench_suite_matmul(vkr_bench* b) {
    double peak = peak_device == b->dev ? peak_gflops : 0;
    if (peak <= 0) VKR_TRY(measure_peak(b, false, &peak));
    const vkr_device_info* info = vkr_device_get_info(b->dev);
    for (size_t i = 0; i < sizeof mm_shapes / sizeof mm_shapes[0]; i++) {
        vkr_bench_stats peer = {0};
        VKR_TRY(bench_shape(b, &mm_shapes[i], VKR_MATMUL_F32, &peer, peak));
        /* fp16 storage on the headline shape, against the same fp32 cblas figure. */
        if (info->storage16 && mm_shapes[i].M == 1024 && mm_shapes[i].N == 1024)
            VKR_TRY(bench_shape(b, &mm_shapes[i], VKR_MATMUL_F16, &peer, peak));
    }
    report_skipped(b, "coopmat", coopmat_skip_reason);
    return VKR_OK;
}
