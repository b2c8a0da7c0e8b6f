/* Suite "tsne": seconds for a full t-SNE run (1000 iterations, perplexity 30) of a 64-d Gaussian
 * mixture at N = 2,000 / 5,000 / 10,000, with the final KL, beside two peers run in the same run:
 * scikit-learn's TSNE (bench/tsne_sklearn.py under /usr/bin/python3; the ratio's peer) and, where
 * Rscript has the Rtsne package (Debian's r-cran-rtsne; bench/tsne_rtsne.R), Rtsne, whose seconds
 * and KL go into the params. A peer that cannot run is skipped with a note. All KLs are also
 * evaluated exactly under vkrec's P (the same P definition as the peers'), so the quality comparison
 * does not depend on any side's estimate. One timed run per size (each takes seconds to minutes);
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

/* Exact KL of layout y under P (double-precision Z over all pairs; rows in parallel, since at
 * N = 100,000 this is 1e10 pairs per layout). */
static double exact_kl(const vkr_tsne_p* p, const float* y) {
    double z = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(+ : z)
    for (uint32_t i = 0; i < p->n; i++) {
        double row = 0;
        for (uint32_t j = 0; j < p->n; j++) {
            double dx = (double)y[2 * i] - y[2 * j], dy = (double)y[2 * i + 1] - y[2 * j + 1];
            row += j == i ? 0 : 1 / (1 + dx * dx + dy * dy);
        }
        z += row;
    }
    return vkr_tsne_kl_given_z(p, y, z);
}

/* A peer: its name in the output and the shell command that runs it on (source dir, in, out). */
typedef struct tsne_peer {
    const char* name;    /* shown in the table and the JSON */
    const char* key;     /* prefix of its params keys */
    const char* command; /* printf format of the command: source dir, input path, output path */
} tsne_peer;

static const tsne_peer peers[] = {
    {"scikit-learn TSNE", "peer", "/usr/bin/python3 '%s/bench/tsne_sklearn.py' '%s' '%s' 2>&1"},
    {"Rtsne", "rtsne", "Rscript '%s/bench/tsne_rtsne.R' '%s' '%s' 2>&1"},
};

/* Runs `peer` on in_path; fills seconds and its KL, and the layout into y (n x 2). Returns false
 * (with the reason printed) when the peer cannot run. */
static bool run_peer(const tsne_peer* peer, const char* in_path, const char* out_path, uint32_t n, double* seconds,
                     double* kl, float* y, bool quiet) {
    char cmd[9000];
    snprintf(cmd, sizeof cmd, peer->command, VKR_SOURCE_DIR, in_path, out_path);
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
    if (!ok && !quiet) printf("tsne      %s peer unavailable, skipped: %s", peer->name, last[0] ? last : "no output\n");
    cJSON_Delete(j);
    return ok;
}

/* One peer's outcome at one size. */
typedef struct peer_result {
    bool ran;              /* it ran and its layout was read */
    double seconds, kl;    /* its time and own final KL */
} peer_result;

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
    vkr_bench_stats wall = {0};
    if (s == VKR_OK) s = vkr_bench_measure(&one, run_vkrec, &body, unit, &wall, NULL, NULL);
    if (s == VKR_OK) s = vkr_tsne_affinities(b->dev, x, n, d, 30.0f, &p);
    peer_result pr[sizeof peers / sizeof peers[0]] = {{0}};
    double peer_exact[sizeof peers / sizeof peers[0]] = {0};
    for (size_t i = 0; s == VKR_OK && i < sizeof peers / sizeof peers[0]; i++) {
        pr[i].ran = run_peer(&peers[i], in_path, out_path, n, &pr[i].seconds, &pr[i].kl, yp, b->quiet);
        if (pr[i].ran) peer_exact[i] = exact_kl(&p, yp);
    }
    if (s == VKR_OK) {
        cJSON* params = cJSON_CreateObject();
        cJSON_AddNumberToObject(params, "n", n);
        cJSON_AddNumberToObject(params, "d", d);
        cJSON_AddNumberToObject(params, "iterations", 1000);
        cJSON_AddNumberToObject(params, "perplexity", 30);
        cJSON_AddStringToObject(params, "method", vkr_tsne_method_name(body.rep.method));
        cJSON_AddNumberToObject(params, "kl", body.rep.kl);
        double kl_exact = exact_kl(&p, y);
        cJSON_AddNumberToObject(params, "kl_exact", kl_exact);
        cJSON_AddNumberToObject(params, "affinity_seconds", body.rep.affinity_seconds);
        if (!b->quiet) printf("tsne      n=%u: vkrec KL %.4f (exact under vkrec's P %.4f)", n, body.rep.kl, kl_exact);
        for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++) {
            char key[64];
            if (!pr[i].ran) continue;
            /* The first peer's seconds are the result's "peer"; the others' go beside its KLs. */
            if (i > 0) {
                snprintf(key, sizeof key, "%s_seconds", peers[i].key);
                cJSON_AddNumberToObject(params, key, pr[i].seconds);
            }
            snprintf(key, sizeof key, "%s_kl", peers[i].key);
            cJSON_AddNumberToObject(params, key, pr[i].kl);
            snprintf(key, sizeof key, "%s_kl_exact", peers[i].key);
            cJSON_AddNumberToObject(params, key, peer_exact[i]);
            if (!b->quiet)
                printf(", %s %.4g s KL %.4f (exact %.4f)", peers[i].name, pr[i].seconds, pr[i].kl, peer_exact[i]);
        }
        if (!b->quiet) printf("\n");
        char name[32];
        snprintf(name, sizeof name, "tsne_%u", n);
        vkr_bench_stats peer = {pr[0].seconds, pr[0].seconds, pr[0].seconds, 1};
        vkr_bench_report(b, "tsne", name, params, unit, &wall, NULL, pr[0].ran ? peers[0].name : NULL,
                         pr[0].ran ? &peer : NULL);
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
