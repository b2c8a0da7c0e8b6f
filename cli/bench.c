#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool vkr_bench_unit_is_time(const char* unit) {
    return strcmp(unit, "s") == 0 || strcmp(unit, "ms") == 0 || strcmp(unit, "us") == 0 || strcmp(unit, "ns") == 0;
}

static double vkr_unit_value(vkr_bench_unit unit, double seconds) {
    if (strcmp(unit.name, "s") == 0) return seconds / unit.work;
    if (strcmp(unit.name, "ms") == 0) return seconds * 1e3 / unit.work;
    if (strcmp(unit.name, "us") == 0) return seconds * 1e6 / unit.work;
    if (strcmp(unit.name, "ns") == 0) return seconds * 1e9 / unit.work;
    return seconds > 0 ? unit.work / seconds : 0; /* a rate */
}

static int vkr_cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static void vkr_summarize(double* v, unsigned n, vkr_bench_stats* out) {
    qsort(v, n, sizeof *v, vkr_cmp_double);
    out->runs = n;
    out->min = v[0];
    out->max = v[n - 1];
    out->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

vkr_status vkr_bench_measure(const vkr_bench* b, vkr_bench_fn fn, void* user, vkr_bench_unit unit,
                             vkr_bench_stats* out_wall, vkr_bench_stats* out_device, bool* out_has_device) {
    memset(out_wall, 0, sizeof *out_wall);
    if (out_device) memset(out_device, 0, sizeof *out_device);
    if (out_has_device) *out_has_device = false;
    unsigned runs = b->runs ? b->runs : 1;
    double* wall = calloc(runs, sizeof *wall);
    double* dev = calloc(runs, sizeof *dev);
    if (!wall || !dev) {
        free(wall);
        free(dev);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the benchmark harness");
    }
    vkr_status s = VKR_OK;
    double ignored;
    for (unsigned i = 0; i < b->warmup && s == VKR_OK; i++) s = fn(user, &ignored);
    bool all_device = true;
    for (unsigned i = 0; i < runs && s == VKR_OK; i++) {
        double device_s = -1;
        double t0 = vkr_now_s();
        s = fn(user, &device_s);
        double t = vkr_now_s() - t0;
        wall[i] = vkr_unit_value(unit, t);
        if (device_s > 0) dev[i] = vkr_unit_value(unit, device_s);
        else all_device = false;
    }
    if (s == VKR_OK) {
        vkr_summarize(wall, runs, out_wall);
        if (all_device && out_device) {
            vkr_summarize(dev, runs, out_device);
            if (out_has_device) *out_has_device = true;
        }
    }
    free(wall);
    free(dev);
    return s;
}

vkr_status vkr_bench_submit(vkr_sequence* seq, double* out_device_s) {
    VKR_TRY(vkr_sequence_submit(seq));
    double ms = vkr_sequence_last_device_ms(seq);
    *out_device_s = ms > 0 ? ms * 1e-3 : -1;
    return VKR_OK;
}

void vkr_bench_report(vkr_bench* b, const char* suite, const char* name, cJSON* params, vkr_bench_unit unit,
                      const vkr_bench_stats* wall, const vkr_bench_stats* device, const char* peer_name,
                      const vkr_bench_stats* peer) {
    bool is_time = vkr_bench_unit_is_time(unit.name);
    double ratio = 0;
    if (peer && peer->median > 0 && wall->median > 0)
        ratio = is_time ? peer->median / wall->median : wall->median / peer->median;
    cJSON* r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "suite", suite);
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddItemToObject(r, "params", params ? params : cJSON_CreateObject());
    cJSON_AddStringToObject(r, "unit", unit.name);
    cJSON_AddNumberToObject(r, "median", wall->median);
    cJSON_AddNumberToObject(r, "min", wall->min);
    cJSON_AddNumberToObject(r, "max", wall->max);
    cJSON_AddNumberToObject(r, "runs", wall->runs);
    if (device) cJSON_AddNumberToObject(r, "device_median", device->median);
    if (peer) {
        cJSON* p = cJSON_AddObjectToObject(r, "peer");
        cJSON_AddStringToObject(p, "name", peer_name);
        cJSON_AddNumberToObject(p, "median", peer->median);
        cJSON_AddNumberToObject(r, "ratio", ratio);
    } else {
        cJSON_AddNullToObject(r, "peer");
        cJSON_AddNullToObject(r, "ratio");
    }
    cJSON_AddItemToArray(b->results, r);
    if (b->quiet) return;
    char params_text[160] = "";
    cJSON* p = cJSON_GetObjectItem(r, "params");
    size_t len = 0;
    for (cJSON* it = p ? p->child : NULL; it && len < sizeof params_text; it = it->next) {
        int w = cJSON_IsNumber(it)
                    ? snprintf(params_text + len, sizeof params_text - len, "%s%s=%g", len ? " " : "", it->string, it->valuedouble)
                    : snprintf(params_text + len, sizeof params_text - len, "%s%s=%s", len ? " " : "", it->string,
                               cJSON_IsString(it) ? it->valuestring : "?");
        if (w < 0 || (size_t)w >= sizeof params_text - 4 - len) { /* a parameter that does not fit whole: "..." */
            snprintf(params_text + len, sizeof params_text - len, " ...");
            break;
        }
        len += (size_t)w;
    }
    printf("%-9s %-24s %-28s %11.4g %-8s (min %.4g", suite, name, params_text, wall->median, unit.name, wall->min);
    if (device) printf(", device %.4g", device->median);
    printf(")");
    if (peer) printf("  %s %.4g  ratio %.3g", peer_name, peer->median, ratio);
    printf("\n");
    fflush(stdout);
}

void vkr_bench_peer_note(vkr_bench* b, const vkr_bench_peer_check* c) {
    cJSON* last = cJSON_GetArrayItem(b->results, cJSON_GetArraySize(b->results) - 1);
    cJSON* peer = last ? cJSON_GetObjectItem(last, "peer") : NULL;
    if (!cJSON_IsObject(peer)) return;
    cJSON_AddNumberToObject(peer, "standalone", c->standalone);
    cJSON_AddNumberToObject(peer, "threads", c->threads);
    if (c->in_run > 0) cJSON_AddNumberToObject(peer, "in_run", c->in_run);
    bool flag = c->in_run > 0 && c->standalone > 0 && c->in_run < 0.85 * c->standalone;
    cJSON_AddBoolToObject(last, "peer_flag", flag);
    if (b->quiet) return;
    printf("          peer at %d thread%s: standalone %.4g, in the run %.4g%s\n", c->threads, c->threads == 1 ? "" : "s",
           c->standalone, c->in_run, flag ? "  ** more than 15% below its standalone figure: the machine was loaded **" : "");
    fflush(stdout);
}

int vkr_bench_next_threads(int threads) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    if (threads >= cores) return 0;
    return threads * 2 < cores ? threads * 2 : (int)cores;
}
