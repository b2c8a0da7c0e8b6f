/* Suite "tsne": seconds for a full t-SNE run (1000 iterations, perplexity 30) of a 64-d Gaussian
 * mixture at N = 2,000 / 5,000 / 10,000, with the final KL, beside scikit-learn's TSNE run by
 * bench/tsne_sklearn.py (/usr/bin/python3) in the same run. Both KLs are also evaluated exactly
 * under vkrec's P (the same P definition as scikit-learn's), so the quality comparison does not
 * depend on either side's estimate. One timed run per size (each takes seconds to minutes);
 * `vkrec bench tsne --sizes 1000,2000` runs other sizes (e.g. a quick check). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "vkr_clock.h"
#include "vkr_npy.h"
#include "vkr_tsne.h"
#include "vkr_tsne_io.h"

#ifndef VKR_SOURCE_DIR
#define VKR_SOURCE_DIR "."
#endif

/* Exact KL of layout y under P (double-precision Z over all pairs). */
static double exact_kl(const vkr_tsne_p* p, const float* y) {
    double z = 0;
    for (uint32_t i = 0; i < p->n; i++)
        for (uint32_t j = 0; j < p->n; j++) {
            if (j == i) continue;
            double dx = (double)y[2 * i] - y[2 * j], dy = (double)y[2 * i + 1] - y[2 * j + 1];
            z += 1 / (1 + dx * dx + dy * dy);
        }
    return vkr_tsne_kl_given_z(p, y, z);
}

/* Runs the scikit-learn script on in_path; fills seconds and its KL, and the layout into y (n x 2).
 * Returns false (with the reason printed) when the peer cannot run. */
static bool run_peer(const char* in_path, const char* out_path, uint32_t n, double* seconds, double* kl, float* y,
                     bool quiet) {
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/bench/tsne_sklearn.py' '%s' '%s' 2>&1", VKR_SOURCE_DIR, in_path,
             out_path);
    FILE* f = popen(cmd, "r");
    if (!f) return false;
    char line[4096] = "", last[4096] = "";
    while (fgets(line, sizeof line, f)) snprintf(last, sizeof last, "%s", line);
    int rc = pclose(f);
    cJSON* j = cJSON_Parse(last);
    cJSON* s = cJSON_GetObjectItem(j, "seconds");
    cJSON* k = cJSON_GetObjectItem(j, "kl");
    bool ok = rc == 0 && cJSON_IsNumber(s) && cJSON_IsNumber(k);
    if (ok) {
        *seconds = s->valuedouble;
        *kl = k->valuedouble;
        float* m = NULL;
        uint32_t rows = 0;
        ok = vkr_tsne_load_map(out_path, n, &m, &rows) == VKR_OK;
        if (ok) memcpy(y, m, sizeof(float) * 2 * n);
        free(m);
    }
    if (!ok && !quiet) printf("tsne      scikit-learn peer unavailable: %s", last[0] ? last : "no output\n");
    cJSON_Delete(j);
    return ok;
}

typedef struct tsne_body {
    vkr_device* dev;
    const float* x;
    uint32_t n, d;
    float* y;
    vkr_tsne_report rep;
} tsne_body;

static vkr_status run_vkrec(void* user, double* out_device_s) {
    tsne_body* t = user;
    vkr_tsne_options o = {0};
    *out_device_s = -1;
    return vkr_tsne_run(t->dev, t->x, t->n, t->d, &o, t->y, &t->rep);
}

static vkr_status bench_size(vkr_bench* b, uint32_t n, const char* dir) {
    const uint32_t d = 64;
    char in_path[4200], out_path[4200];
    snprintf(in_path, sizeof in_path, "%s/x%u.npy", dir, n);
    snprintf(out_path, sizeof out_path, "%s/y%u.npy", dir, n);
    float* x = malloc(sizeof(float) * n * d);
    float* y = malloc(sizeof(float) * n * 2);
    float* yp = malloc(sizeof(float) * n * 2);
    vkr_tsne_p p = {0};
    vkr_status s = x && y && yp ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "tsne bench: out of host memory");
    if (s == VKR_OK) s = vkr_tsne_gaussian_mixture(n, d, 10, 3.0f, 42, x, NULL);
    uint64_t shape[2] = {n, d};
    if (s == VKR_OK) s = vkr_npy_save(in_path, VKR_ELEM_F32, 2, shape, x);
    /* t-SNE runs are long: one timed run per size, no warm-up, whatever --runs says. */
    vkr_bench one = *b;
    one.runs = 1;
    one.warmup = 0;
    tsne_body body = {b->dev, x, n, d, y, {0}};
    vkr_bench_unit unit = {"s", 1};
    vkr_bench_stats wall = {0}, peer = {0};
    if (s == VKR_OK) s = vkr_bench_measure(&one, run_vkrec, &body, unit, &wall, NULL, NULL);
    double peer_s = 0, peer_kl = 0;
    bool has_peer = s == VKR_OK && run_peer(in_path, out_path, n, &peer_s, &peer_kl, yp, b->quiet);
    if (s == VKR_OK) s = vkr_tsne_affinities(b->dev, x, n, d, 30.0f, &p);
    if (s == VKR_OK) {
        cJSON* params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "n", n);
        cJSON_AddNumberToObject(params, "d", d);
        cJSON_AddNumberToObject(params, "iterations", 1000);
        cJSON_AddNumberToObject(params, "perplexity", 30);
        cJSON_AddStringToObject(params, "method", vkr_tsne_method_name(body.rep.method));
        cJSON_AddNumberToObject(params, "kl", body.rep.kl);
        cJSON_AddNumberToObject(params, "kl_exact", exact_kl(&p, y));
        cJSON_AddNumberToObject(params, "affinity_seconds", body.rep.affinity_seconds);
        if (has_peer) {
            cJSON_AddNumberToObject(params, "peer_kl", peer_kl);
            cJSON_AddNumberToObject(params, "peer_kl_exact", exact_kl(&p, yp));
            peer = (vkr_bench_stats){peer_s, peer_s, peer_s, 1};
        }
        if (!b->quiet)
            printf("tsne      n=%u: vkrec KL %.4f (exact under vkrec's P %.4f)%s", n, body.rep.kl,
                   cJSON_GetObjectItem(params, "kl_exact")->valuedouble, has_peer ? "" : "\n");
        if (!b->quiet && has_peer)
            printf(", scikit-learn KL %.4f (exact %.4f)\n", peer_kl, cJSON_GetObjectItem(params, "peer_kl_exact")->valuedouble);
        char name[32];
        snprintf(name, sizeof name, "tsne_%u", n);
        vkr_bench_report(b, "tsne", name, params, unit, &wall, NULL, has_peer ? "scikit-learn TSNE" : NULL,
                         has_peer ? &peer : NULL);
    }
    remove(in_path);
    remove(out_path);
    vkr_tsne_p_free(&p);
    free(x), free(y), free(yp);
    return s;
}

vkr_status vkr_bench_suite_tsne(vkr_bench* b) {
    char dir[] = "/tmp/vkrec-bench-tsne-XXXXXX";
    if (!mkdtemp(dir)) return vkr_fail(VKR_ERR_IO, "tsne bench: cannot create a temporary directory");
    static const uint32_t standard[] = {2000, 5000, 10000};
    const uint32_t* sizes = b->size_count ? b->sizes : standard;
    uint32_t count = b->size_count ? b->size_count : (uint32_t)(sizeof standard / sizeof standard[0]);
    vkr_status s = VKR_OK;
    for (uint32_t i = 0; i < count && s == VKR_OK; i++) {
        /* Fewer points than clusters x perplexity would make a degenerate benchmark. */
        if (sizes[i] < 100) s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "tsne bench: size %u < 100", sizes[i]);
        else s = bench_size(b, sizes[i], dir);
    }
    rmdir(dir);
    return s;
}
