/* Optimizer and checkpoint suite: a recorded optimizer step (tick, global-norm clip, update) in
 * effective GB/s beside the CPU reference, and safetensors write/read throughput. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "vkr_optim.h"
#include "vkr_safetensors.h"

typedef struct optim_body {
    vkr_sequence* seq;        /* GPU: the recorded step */
    const vkr_optim_config* cfg; /* CPU peer */
    vkr_optim_scalars scalars;
    float *p, *g, *m, *v;
    uint64_t n;
} optim_body;

static vkr_status run_gpu_step(void* user, double* out_device_s) {
    return vkr_bench_submit(((optim_body*)user)->seq, out_device_s);
}

static vkr_status run_cpu_step(void* user, double* out_device_s) {
    optim_body* o = user;
    *out_device_s = -1;
    const float* grads[1] = {o->g};
    vkr_optim_cpu_tick(o->cfg, &o->scalars);
    vkr_optim_cpu_clip(o->cfg, &o->scalars, 1, grads, &o->n);
    vkr_optim_cpu_update(o->cfg, &o->scalars, 1.0f, o->cfg->weight_decay, o->p, o->g, o->m, o->v, o->n);
    return VKR_OK;
}

/* One parameter of `n` floats; bytes per step: the gradient read by the clip pass and the update,
 * the parameter and each moment read and written. */
static vkr_status bench_step(vkr_bench* b, const char* name, const vkr_optim_config* cfg, uint64_t n) {
    uint32_t moments = cfg->kind != VKR_OPTIM_SGD ? 2 : cfg->momentum > 0 ? 1 : 0;
    double bytes = 4.0 * (double)n * ((cfg->clip_norm > 0 ? 2 : 1) + 2 + 2 * moments);
    vkr_bench_unit unit = {"GB/s", bytes / 1e9};
    optim_body o = {.cfg = cfg, .scalars = vkr_optim_scalars_init(), .n = n};
    o.p = calloc(n, 4);
    o.g = malloc(n * 4);
    o.m = calloc(n, 4);
    o.v = calloc(n, 4);
    vkr_buffer pb = {0}, gb = {0};
    vkr_optim* opt = NULL;
    vkr_status s = o.p && o.g && o.m && o.v ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (uint64_t i = 0; s == VKR_OK && i < n; i++) o.g[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    if (s == VKR_OK) s = vkr_buffer_create(b->dev, n * 4, VKR_MEMORY_DEVICE, &pb);
    if (s == VKR_OK) s = vkr_buffer_create(b->dev, n * 4, VKR_MEMORY_DEVICE, &gb);
    if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &pb, 0, o.p, n * 4);
    if (s == VKR_OK) s = vkr_buffer_upload(b->dev, &gb, 0, o.g, n * 4);
    if (s == VKR_OK) s = vkr_optim_create(b->dev, cfg, &opt);
    if (s == VKR_OK) s = vkr_optim_add_param(opt, vkr_range_whole(&pb), vkr_range_whole(&gb), n, 0, NULL);
    if (s == VKR_OK) s = vkr_sequence_create(b->dev, &o.seq);
    if (s == VKR_OK) s = vkr_gpu_optim_step(o.seq, opt);
    vkr_bench_stats wall, dev, peer;
    bool has_dev = false;
    if (s == VKR_OK) s = vkr_bench_measure(b, run_cpu_step, &o, unit, &peer, NULL, NULL);
    if (s == VKR_OK) s = vkr_bench_measure(b, run_gpu_step, &o, unit, &wall, &dev, &has_dev);
    if (s == VKR_OK) {
        cJSON* p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "params", (double)n);
        cJSON_AddNumberToObject(p, "dispatches", vkr_sequence_dispatch_count(o.seq));
        vkr_bench_report(b, "optim", name, p, unit, &wall, has_dev ? &dev : NULL, "cpu_reference", &peer);
    }
    vkr_sequence_destroy(o.seq);
    vkr_optim_destroy(opt);
    vkr_buffer_destroy(b->dev, &pb);
    vkr_buffer_destroy(b->dev, &gb);
    free(o.p);
    free(o.g);
    free(o.m);
    free(o.v);
    return s;
}

typedef struct ckpt_body {
    const char* path;
    float* data;
    uint64_t n;
    bool write;
} ckpt_body;

static vkr_status run_ckpt(void* user, double* out_device_s) {
    ckpt_body* c = user;
    *out_device_s = -1;
    uint64_t shape[1] = {c->n};
    if (c->write) {
        vkr_st_writer* w;
        VKR_TRY(vkr_st_writer_create(&w));
        vkr_status s = vkr_st_writer_add(w, "w", VKR_ELEM_F32, 1, shape, c->data);
        if (s == VKR_OK) s = vkr_st_writer_write(w, c->path);
        vkr_st_writer_destroy(w);
        return s;
    }
    vkr_st_file* f;
    VKR_TRY(vkr_st_open(c->path, &f));
    vkr_status s = vkr_st_load(f, "w", VKR_ELEM_F32, 1, shape, c->data, c->n * 4);
    vkr_st_close(f);
    return s;
}

static vkr_status bench_checkpoint(vkr_bench* b, uint64_t n) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/vkrec_bench_%ld.safetensors", (long)getpid());
    float* data = calloc(n, 4);
    if (!data) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in the optim suite");
    vkr_bench_unit unit = {"GB/s", 4.0 * (double)n / 1e9};
    vkr_status s = VKR_OK;
    static const char* const names[2] = {"safetensors_read", "safetensors_write_fsync"};
    for (int write = 1; write >= 0 && s == VKR_OK; write--) {
        ckpt_body c = {path, data, n, write};
        vkr_bench_stats wall;
        s = vkr_bench_measure(b, run_ckpt, &c, unit, &wall, NULL, NULL);
        if (s == VKR_OK) {
            cJSON* p = cJSON_CreateObject();
            cJSON_AddNumberToObject(p, "bytes", 4.0 * (double)n);
            vkr_bench_report(b, "optim", names[write], p, unit, &wall, NULL, NULL, NULL);
        }
    }
    unlink(path);
    free(data);
    return s;
}

vkr_status vkr_bench_suite_optim(vkr_bench* b) {
    const uint64_t n = 4u << 20;
    vkr_optim_config adamw = {.kind = VKR_OPTIM_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                              .weight_decay = 0.01f, .clip_norm = 1.0f,
                              .schedule = {.peak_lr = 1e-3f, .min_lr = 1e-5f, .warmup_steps = 100,
                                           .total_steps = 100000, .decay = VKR_LR_COSINE}};
    VKR_TRY(bench_step(b, "adamw_clip_step", &adamw, n));
    vkr_optim_config sgd = {.kind = VKR_OPTIM_SGD, .schedule = {.peak_lr = 0.1f}};
    VKR_TRY(bench_step(b, "sgd_step", &sgd, n));
    return bench_checkpoint(b, 16u << 20);
}
