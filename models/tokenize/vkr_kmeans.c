/* k-means: host seeding, Lloyd iterations as a replayed GPU sequence (or the CPU references),
 * empty-cluster reseeding, restarts. */
#include "vkr_kmeans.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_ops_quant.h"
#include "vkr_rng.h"

static double km_dist(const float* a, const float* b, uint32_t d) {
    double s = 0;
    for (uint32_t k = 0; k < d; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

/* Picks initial centroids from a seeded subsample of x. */
static vkr_status km_seed(const float* x, uint32_t n, uint32_t d, uint32_t k, vkr_kmeans_init init, uint64_t seed,
                          float* c) {
    uint64_t cap = (uint64_t)VKR_KMEANS_SEED_SAMPLE_PER_K * k;
    uint32_t m = n < cap ? n : (uint32_t)cap;
    uint32_t* idx = malloc((size_t)n * sizeof *idx);
    double* mind = malloc((size_t)m * sizeof *mind);
    if (!idx || !mind) {
        free(idx);
        free(mind);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "k-means: out of host memory for seeding %u rows", n);
    }
    for (uint32_t i = 0; i < n; i++) idx[i] = i;
    vkr_rng rng = vkr_rng_make(seed, 0);
    for (uint32_t i = 0; i < m; i++) { /* partial Fisher-Yates: idx[0..m) is a uniform sample */
        uint32_t j = i + (uint32_t)vkr_rng_next_below(&rng, n - i);
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    if (init == VKR_KMEANS_RANDOM) {
        for (uint32_t c0 = 0; c0 < k; c0++) memcpy(c + (size_t)c0 * d, x + (size_t)idx[c0 % m] * d, d * sizeof *c);
    } else {
        memcpy(c, x + (size_t)idx[0] * d, d * sizeof *c);
        for (uint32_t j = 0; j < m; j++) mind[j] = km_dist(x + (size_t)idx[j] * d, c, d);
        for (uint32_t c0 = 1; c0 < k; c0++) {
            double total = 0;
            for (uint32_t j = 0; j < m; j++) total += mind[j];
            uint32_t pick = c0 % m; /* all rows coincide with centroids: repeat rows */
            if (total > 0) {
                double u = vkr_rng_uniform(seed ^ 0x9E3779B97F4A7C15ull, c0, 0) * total, acc = 0;
                pick = m - 1;
                for (uint32_t j = 0; j < m; j++) {
                    acc += mind[j];
                    if (acc > u && mind[j] > 0) {
                        pick = j;
                        break;
                    }
                }
            }
            float* cc = c + (size_t)c0 * d;
            memcpy(cc, x + (size_t)idx[pick] * d, d * sizeof *c);
            for (uint32_t j = 0; j < m; j++) {
                double v = km_dist(x + (size_t)idx[j] * d, cc, d);
                if (v < mind[j]) mind[j] = v;
            }
        }
    }
    free(idx);
    free(mind);
    return VKR_OK;
}

vkr_status vkr_kmeans_cpu_iteration(const float* x, uint32_t n, uint32_t d, uint32_t k, float* centroids,
                                    int32_t* codes, float* dist, uint32_t* counts) {
    vkr_quant_assign_params a = {.n = n, .k = k, .d = d, .code_stride = 1};
    VKR_TRY(vkr_ref_quant_assign(&a, x, centroids, codes, dist, NULL));
    vkr_quant_segsum_params s = {.n = n, .k = k, .d = d, .code_stride = 1, .mode = VKR_SEGSUM_MEAN};
    return vkr_ref_quant_segsum(&s, x, codes, NULL, centroids, counts);
}

void vkr_kmeans_gpu_destroy(vkr_kmeans_gpu* g) {
    if (!g) return;
    vkr_sequence_destroy(g->seq);
    if (g->dev) vkr_buffer_destroy(g->dev, &g->buf);
    memset(g, 0, sizeof *g);
}

/* Records norms + assignment (the final pass) and, when `update`, the grouped mean. */
static vkr_status km_record(vkr_kmeans_gpu* g, vkr_sequence* seq, bool update) {
    VKR_TRY(vkr_gpu_quant_norms(seq, g->k, g->d, g->c, g->norms));
    vkr_quant_assign_params a = {.n = g->n, .k = g->k, .d = g->d, .code_stride = 1};
    VKR_TRY(vkr_gpu_quant_assign(seq, &a, g->x, g->c, g->norms, g->codes, g->dist, (vkr_range){0}));
    if (!update) return VKR_OK;
    vkr_quant_segsum_params s = {.n = g->n, .k = g->k, .d = g->d, .code_stride = 1, .mode = VKR_SEGSUM_MEAN};
    return vkr_gpu_quant_segsum(seq, &s, g->x, g->codes, g->scratch, (vkr_range){0}, g->c, g->counts);
}

vkr_status vkr_kmeans_gpu_create(vkr_device* device, const float* x, uint32_t n, uint32_t d, uint32_t k,
                                 vkr_kmeans_gpu* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kmeans_gpu_create: out is NULL");
    memset(out, 0, sizeof *out);
    if (!device || !x || n == 0 || d == 0 || k == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kmeans_gpu_create: device, x, n, d and k are required");
    vkr_quant_segsum_params s = {.n = n, .k = k, .d = d, .code_stride = 1};
    uint64_t sizes[7] = {(uint64_t)n * d, (uint64_t)k * d, k, n, n, k, vkr_quant_segsum_scratch(&s)};
    uint64_t offs[7], total = 0;
    for (int i = 0; i < 7; i++) {
        offs[i] = total;
        total += vkr_storage_align_words(sizes[i]);
    }
    *out = (vkr_kmeans_gpu){.dev = device, .n = n, .d = d, .k = k};
    vkr_status st = vkr_buffer_create(device, total * 4, VKR_MEMORY_DEVICE, &out->buf);
    if (st != VKR_OK) {
        out->dev = NULL;
        return st;
    }
    vkr_range* r[7] = {&out->x, &out->c, &out->norms, &out->codes, &out->dist, &out->counts, &out->scratch};
    for (int i = 0; i < 7; i++) *r[i] = (vkr_range){&out->buf, offs[i] * 4, sizes[i] * 4};
    st = vkr_buffer_upload(device, &out->buf, out->x.offset, x, sizes[0] * 4);
    if (st == VKR_OK) st = vkr_sequence_create(device, &out->seq);
    if (st == VKR_OK) st = km_record(out, out->seq, true);
    if (st != VKR_OK) vkr_kmeans_gpu_destroy(out);
    return st;
}

/* One k-means run from seeded centroids; state on the GPU (g) or host (codes/dist/counts arrays). */
typedef struct km_run {
    vkr_kmeans_gpu* g;       /* NULL: CPU */
    vkr_sequence* final_seq; /* GPU: norms + assignment only */
    const float* x;
    uint32_t n, d, k;
    float* c;        /* k x d host centroids */
    int32_t* codes;  /* n */
    float* dist;     /* n */
    uint32_t* counts; /* k */
    uint32_t reseeded;
} km_run;

static int km_cmp_desc(const void* a, const void* b) {
    const float* const* pa = a;
    const float* const* pb = b;
    return **pa < **pb ? 1 : **pa > **pb ? -1 : (*pa > *pb) - (*pa < *pb);
}

/* Moves every empty centroid onto a distinct row farthest from its current centroid. */
static vkr_status km_reseed(km_run* r) {
    uint32_t empty = 0;
    for (uint32_t c = 0; c < r->k; c++) empty += r->counts[c] == 0;
    if (!empty) return VKR_OK;
    if (r->g) {
        VKR_TRY(vkr_buffer_download(r->g->dev, &r->g->buf, r->g->dist.offset, r->dist, (uint64_t)r->n * 4));
        VKR_TRY(vkr_buffer_download(r->g->dev, &r->g->buf, r->g->c.offset, r->c, (uint64_t)r->k * r->d * 4));
    }
    const float** order = malloc((size_t)r->n * sizeof *order);
    if (!order) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "k-means: out of host memory for reseeding");
    for (uint32_t i = 0; i < r->n; i++) order[i] = r->dist + i;
    qsort(order, r->n, sizeof *order, km_cmp_desc);
    uint32_t next = 0;
    for (uint32_t c = 0; c < r->k && next < r->n; c++) {
        if (r->counts[c]) continue;
        if (*order[next] <= 0) break; /* every remaining row already sits on a centroid */
        uint32_t row = (uint32_t)(order[next++] - r->dist);
        memcpy(r->c + (size_t)c * r->d, r->x + (size_t)row * r->d, r->d * sizeof *r->c);
        r->reseeded++;
    }
    free(order);
    if (r->g) VKR_TRY(vkr_buffer_upload(r->g->dev, &r->g->buf, r->g->c.offset, r->c, (uint64_t)r->k * r->d * 4));
    return VKR_OK;
}

/* Lloyd iterations with periodic reseeding, then a final assignment (codes, dist, counts). */
static vkr_status km_lloyd(km_run* r, uint32_t iters) {
    if (r->g) VKR_TRY(vkr_buffer_upload(r->g->dev, &r->g->buf, r->g->c.offset, r->c, (uint64_t)r->k * r->d * 4));
    for (uint32_t it = 0; it < iters;) {
        uint32_t steps = iters - it < VKR_KMEANS_CHECK_EVERY ? iters - it : VKR_KMEANS_CHECK_EVERY;
        for (uint32_t s = 0; s < steps; s++) {
            if (r->g) VKR_TRY(vkr_sequence_submit(r->g->seq));
            else VKR_TRY(vkr_kmeans_cpu_iteration(r->x, r->n, r->d, r->k, r->c, r->codes, r->dist, r->counts));
        }
        it += steps;
        if (r->g)
            VKR_TRY(vkr_buffer_download(r->g->dev, &r->g->buf, r->g->counts.offset, r->counts, (uint64_t)r->k * 4));
        VKR_TRY(km_reseed(r));
    }
    if (r->g) {
        VKR_TRY(vkr_sequence_submit(r->final_seq));
        VKR_TRY(vkr_buffer_download(r->g->dev, &r->g->buf, r->g->codes.offset, r->codes, (uint64_t)r->n * 4));
        VKR_TRY(vkr_buffer_download(r->g->dev, &r->g->buf, r->g->dist.offset, r->dist, (uint64_t)r->n * 4));
        VKR_TRY(vkr_buffer_download(r->g->dev, &r->g->buf, r->g->c.offset, r->c, (uint64_t)r->k * r->d * 4));
    } else {
        vkr_quant_assign_params a = {.n = r->n, .k = r->k, .d = r->d, .code_stride = 1};
        VKR_TRY(vkr_ref_quant_assign(&a, r->x, r->c, r->codes, r->dist, NULL));
    }
    memset(r->counts, 0, r->k * sizeof *r->counts);
    for (uint32_t i = 0; i < r->n; i++) r->counts[r->codes[i]]++;
    return VKR_OK;
}

vkr_status vkr_kmeans(vkr_device* device, const float* x, uint32_t n, uint32_t d, const vkr_kmeans_options* options,
                      float* centroids, int32_t* assign, vkr_kmeans_report* out_report) {
    if (out_report) memset(out_report, 0, sizeof *out_report);
    if (!x || !centroids || !options)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kmeans: x, options and centroids must not be NULL");
    if (n == 0 || d == 0 || options->k == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kmeans: n, d and k must be >= 1 (got %u, %u, %u)", n, d,
                        options->k);
    if (options->init != VKR_KMEANS_PLUSPLUS && options->init != VKR_KMEANS_RANDOM)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kmeans: unknown init %d", (int)options->init);
    uint32_t k = options->k, iters = options->iters ? options->iters : 20;
    uint32_t restarts = options->restarts ? options->restarts : 1;
    km_run r = {.x = x, .n = n, .d = d, .k = k};
    vkr_kmeans_gpu g = {0};
    r.c = malloc((size_t)k * d * sizeof *r.c);
    r.codes = malloc((size_t)n * sizeof *r.codes);
    r.dist = malloc((size_t)n * sizeof *r.dist);
    r.counts = malloc((size_t)k * sizeof *r.counts);
    vkr_status s = r.c && r.codes && r.dist && r.counts
                       ? VKR_OK
                       : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "vkr_kmeans: out of host memory (n=%u, k=%u)", n, k);
    if (s == VKR_OK && device) {
        s = vkr_kmeans_gpu_create(device, x, n, d, k, &g);
        if (s == VKR_OK) s = vkr_sequence_create(device, &r.final_seq);
        if (s == VKR_OK) s = km_record(&g, r.final_seq, false);
        r.g = &g;
    }
    double best = INFINITY;
    for (uint32_t run = 0; run < restarts && s == VKR_OK; run++) {
        r.reseeded = 0;
        s = km_seed(x, n, d, k, options->init, vkr_rng_u64(options->seed, run, 7), r.c);
        if (s == VKR_OK) s = km_lloyd(&r, iters);
        if (s != VKR_OK) break;
        double inertia = 0;
        for (uint32_t i = 0; i < n; i++) inertia += r.dist[i];
        if (inertia < best) {
            best = inertia;
            memcpy(centroids, r.c, (size_t)k * d * sizeof *r.c);
            if (assign) memcpy(assign, r.codes, (size_t)n * sizeof *assign);
            if (out_report) {
                out_report->inertia = inertia;
                out_report->reseeded = r.reseeded;
                out_report->empty = 0;
                for (uint32_t c = 0; c < k; c++) out_report->empty += r.counts[c] == 0;
            }
        }
        if (out_report) out_report->runs = run + 1;
    }
    vkr_sequence_destroy(r.final_seq);
    vkr_kmeans_gpu_destroy(&g);
    free(r.c);
    free(r.codes);
    free(r.dist);
    free(r.counts);
    return s;
}

vkr_status vkr_kmeans_residual(vkr_device* device, float* x, uint32_t n, uint32_t d, uint32_t levels,
                               const vkr_kmeans_options* options, float* codebooks, int32_t* codes,
                               uint32_t* out_empty) {
    if (out_empty) *out_empty = 0;
    if (!x || !options || !codebooks || !n || !d || !levels)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_kmeans_residual: empty input or missing output");
    const uint32_t k = options->k;
    int32_t* assign = malloc((size_t)n * sizeof *assign);
    if (!assign) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "k-means: out of host memory for %u rows", n);
    vkr_status s = VKR_OK;
    for (uint32_t l = 0; l < levels && s == VKR_OK; l++) {
        vkr_kmeans_options ko = *options;
        ko.seed = vkr_rng_u64(options->seed, l, 13);
        vkr_kmeans_report rep;
        float* level = codebooks + (size_t)l * k * d;
        s = vkr_kmeans(device, x, n, d, &ko, level, assign, &rep);
        if (s != VKR_OK) break;
        if (out_empty) *out_empty += rep.empty;
        for (uint32_t i = 0; i < n; i++) { /* the next level clusters what this one left */
            if (codes) codes[(size_t)i * levels + l] = assign[i];
            for (uint32_t j = 0; j < d; j++) x[(size_t)i * d + j] -= level[(size_t)assign[i] * d + j];
        }
    }
    free(assign);
    return s;
}
