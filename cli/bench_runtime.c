/* Runtime suites: dispatch overhead and host<->device copy bandwidth. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct seq_body {
    vkr_sequence* seq;
} seq_body;

static vkr_status run_sequence(void* user, double* out_device_s) {
    return vkr_bench_submit(((seq_body*)user)->seq, out_device_s);
}

/* Records `count` dispatches once and replays the sequence per run; chained dispatches all update
 * one buffer, so each needs a barrier, while independent no-ops need none. */
static vkr_status bench_dispatches(vkr_bench* b, const char* name, unsigned count, bool chained) {
    vkr_kernel* k = NULL;
    vkr_buffer x = {0}, y = {0};
    vkr_sequence* seq = NULL;
    vkr_status s;
    if (chained) {
        vkr_kernel_desc d = {.shader = "saxpy", .binding_count = 2, .access = {VKR_READ, VKR_READ_WRITE},
                             .push_bytes = 8, .spec_count = 1, .spec = {64}};
        s = vkr_kernel_get(b->dev, &d, &k);
        if (s == VKR_OK) s = vkr_buffer_create(b->dev, 256, VKR_MEMORY_DEVICE, &x);
        if (s == VKR_OK) s = vkr_buffer_create(b->dev, 256, VKR_MEMORY_DEVICE, &y);
    } else {
        vkr_kernel_desc d = {.shader = "noop"};
        s = vkr_kernel_get(b->dev, &d, &k);
    }
    if (s == VKR_OK) s = vkr_sequence_create(b->dev, &seq);
    struct { uint32_t n; float a; } push = {64, 0.5f};
    vkr_range ranges[2] = {vkr_range_whole(&x), vkr_range_whole(&y)};
    for (unsigned i = 0; i < count && s == VKR_OK; i++)
        s = chained ? vkr_sequence_dispatch(seq, k, ranges, 2, &push, sizeof push, 1, 1, 1)
                    : vkr_sequence_dispatch(seq, k, NULL, 0, NULL, 0, 1, 1, 1);
    if (s == VKR_OK) {
        seq_body body = {seq};
        vkr_bench_stats wall, dev;
        bool has_dev = false;
        s = vkr_bench_measure(b, run_sequence, &body, (vkr_bench_unit){"us", count}, &wall, &dev, &has_dev);
        if (s == VKR_OK) {
            cJSON* p = cJSON_CreateObject();
            cJSON_AddNumberToObject(p, "dispatches", count);
            cJSON_AddNumberToObject(p, "barriers", vkr_sequence_barrier_count(seq));
            cJSON_AddNumberToObject(p, "submissions", vkr_sequence_submission_count(seq));
            vkr_bench_report(b, "dispatch", name, p, (vkr_bench_unit){"us", count}, &wall, has_dev ? &dev : NULL, NULL,
                             NULL);
        }
    }
    vkr_sequence_destroy(seq);
    vkr_buffer_destroy(b->dev, &x);
    vkr_buffer_destroy(b->dev, &y);
    return s;
}

vkr_status vkr_bench_suite_dispatch(vkr_bench* b) {
    VKR_TRY(bench_dispatches(b, "per_dispatch", 1000, false));
    VKR_TRY(bench_dispatches(b, "per_dispatch_barrier", 1000, true));
    return bench_dispatches(b, "submit_round_trip", 1, false);
}

typedef struct copy_body {
    vkr_device* dev;
    vkr_buffer* buf;
    vkr_buffer* dst; /* device-to-device destination */
    vkr_sequence* seq;
    void* host;
    size_t size;
    int mode; /* 0 upload, 1 download, 2 host memcpy peer */
    void* host2;
} copy_body;

static vkr_status run_copy(void* user, double* out_device_s) {
    copy_body* c = user;
    *out_device_s = -1;
    switch (c->mode) {
        case 0: return vkr_buffer_upload(c->dev, c->buf, 0, c->host, c->size);
        case 1: return vkr_buffer_download(c->dev, c->buf, 0, c->host, c->size);
        default: memcpy(c->host2, c->host, c->size); return VKR_OK;
    }
}

vkr_status vkr_bench_suite_copy(vkr_bench* b) {
    static const size_t sizes[] = {1u << 20, 64u << 20};
    vkr_status s = VKR_OK;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0] && s == VKR_OK; si++) {
        size_t size = sizes[si];
        vkr_buffer buf = {0};
        char* host = malloc(size);
        char* host2 = malloc(size);
        if (!host || !host2) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the copy suite");
        if (s == VKR_OK) {
            for (size_t i = 0; i < size; i++) host[i] = (char)(i * 31u);
            memset(host2, 0, size);
            s = vkr_buffer_create(b->dev, size, VKR_MEMORY_DEVICE, &buf);
        }
        vkr_bench_unit unit = {"GB/s", (double)size / 1e9};
        copy_body peer_body = {b->dev, &buf, NULL, NULL, host, size, 2, host2};
        vkr_bench_stats peer;
        if (s == VKR_OK) s = vkr_bench_measure(b, run_copy, &peer_body, unit, &peer, NULL, NULL);
        static const char* const names[] = {"upload", "download"};
        for (int mode = 0; mode < 2 && s == VKR_OK; mode++) {
            copy_body body = {b->dev, &buf, NULL, NULL, host, size, mode, host2};
            vkr_bench_stats wall;
            s = vkr_bench_measure(b, run_copy, &body, unit, &wall, NULL, NULL);
            if (s == VKR_OK) {
                cJSON* p = cJSON_CreateObject();
                cJSON_AddNumberToObject(p, "bytes", (double)size);
                cJSON_AddStringToObject(p, "path", buf.host ? "mapped" : "staged");
                vkr_bench_report(b, "copy", names[mode], p, unit, &wall, NULL, "memcpy", &peer);
            }
        }
        vkr_buffer_destroy(b->dev, &buf);
        free(host);
        free(host2);
    }
    return s;
}
