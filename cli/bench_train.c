/* `vkrec bench train`: sequences/s of a SASRec training step (2 blocks, hidden 64, 1 head, batch
 * 256, length 50, 10,000 items) with both losses, on the GPU backend and on the CPU backend, beside
 * the same model in PyTorch on the CPU (bench/sasrec_torch.py) when python3 with torch is present (on
 * CUDA for the GPU rows when VKR_TORCH_DEVICE=cuda);
 * and of a GenCDR training step at its default sizes (2 blocks, hidden 64, 2 heads, LoRA rank 8,
 * item embeddings, batch 64, length 20) over 10,000 items in two domains with 4-token IDs (no
 * PyTorch peer: there is no reference GenCDR implementation to run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_synth.h"
#include "vkr_exec.h"
#include "vkr_gencdr.h"
#include "vkr_semacdr.h"
#include "vkr_sasrec.h"

vkr_sasrec_config bench_sasrec_config(vkr_sasrec_loss loss, uint32_t batch) {
    return (vkr_sasrec_config){.items = 10000, .max_len = 50, .batch = batch, .hidden = 64, .blocks = 2, .heads = 1,
                               .dropout = 0.2f, .loss = loss};
}

vkr_status bench_sasrec_run(void* user, double* out_device_s) {
    *out_device_s = -1;
    return vkr_exec_run(((bench_sasrec_step*)user)->ex);
}

/* Fills a batch of random ids from stream `stream` (fixed, so every backend sees the same data). */
static vkr_status write_batch(vkr_exec* ex, const vkr_sasrec* m, const vkr_sasrec_config* c, uint64_t stream) {
    uint32_t n = c->batch * c->max_len;
    int32_t* ids = malloc(4ull * n * 4);
    float* labels = malloc(2ull * n * sizeof *labels);
    if (!ids || !labels) {
        free(ids);
        free(labels);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for a benchmark batch");
    }
    uint64_t s = 88172645463325252ull + stream;
    for (uint32_t i = 0; i < 4 * n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        ids[i] = i >= n && i < 2 * n ? 1 : (int32_t)(1 + s % c->items); /* mask = 1 everywhere */
    }
    for (uint32_t i = 0; i < n; i++) labels[i] = 1.0f, labels[n + i] = 0.0f;
    if (c->loss == VKR_SASREC_CE) /* CE targets are candidate indices: item id - 1 */
        for (uint32_t i = 2 * n; i < 3 * n; i++) ids[i] -= 1;
    vkr_status st = vkr_exec_write(ex, m->seq, ids, 4ull * n);
    if (st == VKR_OK) st = vkr_exec_write(ex, m->mask, ids + n, 4ull * n);
    if (st == VKR_OK) st = vkr_exec_write(ex, m->pos, ids + 2 * n, 4ull * n);
    if (st == VKR_OK && m->neg) st = vkr_exec_write(ex, m->neg, ids + 3 * n, 4ull * n);
    if (st == VKR_OK && m->pos_label) st = vkr_exec_write(ex, m->pos_label, labels, 4ull * n);
    if (st == VKR_OK && m->neg_label) st = vkr_exec_write(ex, m->neg_label, labels + n, 4ull * n);
    const float scale = 1.0f; /* every label is real here */
    if (st == VKR_OK && m->loss_scale) st = vkr_exec_write(ex, m->loss_scale, &scale, 4);
    free(ids);
    free(labels);
    return st;
}

vkr_status bench_sasrec_open(vkr_device* dev, const vkr_sasrec_config* c, uint64_t stream, bench_sasrec_step* out) {
    memset(out, 0, sizeof *out);
    VKR_TRY(vkr_sasrec_build(c, true, 1, &out->m));
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = 1e-3f}, .beta1 = 0.9f, .beta2 = 0.98f,
                           .eps = 1e-8f};
    vkr_status s =
        vkr_exec_create(out->m.graph, &(vkr_exec_options){.device = dev, .optimizer = &oc, .training = true}, &out->ex);
    if (s == VKR_OK) s = vkr_exec_init_params(out->ex, 1);
    if (s == VKR_OK) s = write_batch(out->ex, &out->m, c, stream);
    if (s != VKR_OK) bench_sasrec_close(out);
    return s;
}

void bench_sasrec_close(bench_sasrec_step* st) {
    vkr_exec_destroy(st->ex);
    vkr_sasrec_destroy(&st->m);
    memset(st, 0, sizeof *st);
}

/* Runs bench/sasrec_torch.py next to the executable's source tree on `device` (cpu, cuda) with
 * `threads` threads, in its own process; 0 when unavailable. Enough steps for a stable median: 10
 * after 2 warm-up, 5 after 1 for the slow full-softmax step. */
static double torch_peer(const vkr_sasrec_config* c, const char* loss, const char* device, long threads) {
    const char* script = getenv("VKR_BENCH_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/sasrec_torch.py", script && *script ? script : VKR_SOURCE_DIR "/bench");
    if (access(path, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) return 0;
    bool ce = c->loss == VKR_SASREC_CE;
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s' --loss %s --batch %u --len %u --items %u --hidden %u --blocks %u --threads %ld "
             "--steps %d --warmup %d --device %s 2>/dev/null",
             path, loss, c->batch, c->max_len, c->items, c->hidden, c->blocks, threads, ce ? 5 : 10, ce ? 1 : 2, device);
    FILE* p = popen(cmd, "r");
    if (!p) return 0;
    char line[512] = "";
    double v = 0;
    if (fgets(line, sizeof line, p)) {
        const char* at = strstr(line, "\"seq_per_s\":");
        if (at) v = strtod(at + 12, NULL);
    }
    pclose(p);
    return v;
}

/* PyTorch at its best thread count, alone: 1, 2, 4, ... and the core count (PyTorch's default of
 * every core is not always its fastest: on a 2-core machine its BCE step ran faster on one). */
static double torch_best(const vkr_sasrec_config* c, const char* loss, const char* device, long* out_threads) {
    double best = 0;
    *out_threads = 1;
    /* CUDA: the host threads hardly matter, one try */
    for (int t = 1; t; t = strcmp(device, "cuda") == 0 ? 0 : vkr_bench_next_threads(t)) {
        double v = torch_peer(c, loss, device, t);
        if (v > best) best = v, *out_threads = t;
    }
    return best;
}

/* The peer: which device, its figure alone and its thread count. */
typedef struct torch_ref {
    const char* device;
    double standalone;
    long threads;
} torch_ref;

static vkr_status bench_one(vkr_bench* b, vkr_device* dev, const vkr_sasrec_config* c, const char* loss,
                            const torch_ref* peer, const char* peer_name) {
    bench_sasrec_step step;
    VKR_TRY(bench_sasrec_open(dev, c, 0, &step));
    vkr_bench slow = *b; /* a step takes seconds on a CPU driver: fewer repetitions there */
    slow.runs = dev && b->runs > 3 ? 3 : b->runs;
    slow.warmup = dev ? 1 : b->warmup;
    vkr_bench_stats wall;
    vkr_bench_unit unit = {"seq/s", c->batch};
    vkr_status s = vkr_bench_measure(&slow, bench_sasrec_run, &step, unit, &wall, NULL, NULL);
    if (s == VKR_OK) {
        cJSON* p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "loss", loss);
        cJSON_AddStringToObject(p, "backend", dev ? "gpu" : "cpu");
        cJSON_AddNumberToObject(p, "batch", c->batch);
        cJSON_AddNumberToObject(p, "len", c->max_len);
        cJSON_AddNumberToObject(p, "items", c->items);
        cJSON_AddNumberToObject(p, "hidden", c->hidden);
        if (dev) cJSON_AddNumberToObject(p, "dispatches_per_step", vkr_exec_dispatches(step.ex));
        char name[64];
        snprintf(name, sizeof name, "sasrec_%s_%s", loss, dev ? "gpu" : "cpu");
        double v = peer->standalone;
        vkr_bench_stats ps = {v, v, v, 1};
        vkr_bench_report(b, "train", name, p, unit, &wall, NULL, peer_name, v > 0 ? &ps : NULL);
        if (v > 0) {
            vkr_bench_peer_check pc = {v, torch_peer(c, loss, peer->device, peer->threads), (int)peer->threads};
            vkr_bench_peer_note(b, &pc);
        }
    }
    bench_sasrec_close(&step);
    return s;
}

typedef struct gencdr_body {
    vkr_gencdr_trainer* t;
    uint32_t units[256];
    uint32_t n;
} gencdr_body;

static vkr_status run_gencdr_step(void* user, double* out_device_s) {
    gencdr_body* g = user;
    *out_device_s = -1;
    return vkr_gencdr_trainer_step(g->t, g->units, g->n, NULL);
}

/* Measures `step` (a model's training step over `batch` units, unit name `unit_name`) with at most 5
 * runs after one warm-up, and reports it as train/NAME_gpu or NAME_cpu with the sizes given. */
static vkr_status bench_model_steps(vkr_bench* b, vkr_device* dev, const char* name, vkr_status (*step)(void*, double*),
                                    void* body, const char* unit_name, uint32_t batch, uint32_t len, uint32_t items,
                                    uint32_t hidden) {
    vkr_bench slow = *b;
    slow.runs = b->runs < 5 ? b->runs : 5;
    slow.warmup = 1;
    vkr_bench_stats wall;
    vkr_bench_unit unit = {unit_name, batch};
    VKR_TRY(vkr_bench_measure(&slow, step, body, unit, &wall, NULL, NULL));
    cJSON* p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "backend", dev ? "gpu" : "cpu");
    cJSON_AddNumberToObject(p, "batch", batch);
    cJSON_AddNumberToObject(p, "len", len);
    cJSON_AddNumberToObject(p, "items", items);
    cJSON_AddNumberToObject(p, "hidden", hidden);
    char label[64];
    snprintf(label, sizeof label, "%s_%s", name, dev ? "gpu" : "cpu");
    vkr_bench_report(b, "train", label, p, unit, &wall, NULL, NULL, NULL);
    return VKR_OK;
}

static vkr_status bench_gencdr(vkr_bench* b, vkr_device* dev, const synth_data* sd) {
    vkr_gencdr_train t;
    vkr_gencdr_train_defaults(&t);
    t.beam = 0; /* training only: no decoder graphs */
    vkr_gencdr_model m;
    VKR_TRY(vkr_gencdr_open(&sd->ds, dev, sd->ids, 4, &t, &m));
    gencdr_body body = {.n = t.batch};
    for (uint32_t k = 0; k < body.n; k++) body.units[k] = k;
    vkr_status s = vkr_gencdr_trainer_create(&m, &body.t);
    if (s == VKR_OK)
        s = bench_model_steps(b, dev, "gencdr", run_gencdr_step, &body, "seq/s", t.batch, t.max_len, sd->ds.item_count,
                              t.hidden);
    vkr_gencdr_trainer_destroy(body.t);
    vkr_gencdr_model_free(&m);
    return s;
}

typedef struct semacdr_body {
    vkr_semacdr_trainer* t;
    uint32_t* units;
    uint32_t n;
    uint64_t step;
} semacdr_body;

static vkr_status run_semacdr_step(void* user, double* out_device_s) {
    semacdr_body* g = user;
    *out_device_s = -1;
    return vkr_semacdr_trainer_step(g->t, g->units, g->n, g->step++);
}

/* SemaCDR's training rate with its default sizes and every module on (3 encoders, GCN over the
 * synthetic data's item and user-item graphs, InfoNCE), random text vectors and 8 categories. */
static vkr_status bench_semacdr(vkr_bench* b, vkr_device* dev, const synth_data* sd) {
    uint32_t n = sd->ds.item_count, dim = 64;
    float* text = malloc((size_t)n * dim * sizeof *text);
    int32_t* cat = malloc((size_t)n * 2 * sizeof *cat);
    if (!text || !cat) {
        free(text), free(cat);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)n * dim; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        text[i] = (float)(x >> 40) / (float)(1u << 24) - 0.5f;
    }
    for (uint32_t i = 0; i < n; i++) cat[2 * i] = (int32_t)(i % 8), cat[2 * i + 1] = -1;
    vkr_item_semantics items = {.text = text, .text_dim = dim, .category = cat, .categories = 8};
    vkr_semacdr_train t;
    vkr_semacdr_train_defaults(&t);
    t.quiet = true;
    vkr_semacdr_model m = {0};
    semacdr_body body = {.n = t.batch};
    vkr_status s = vkr_semacdr_trainer_create(&sd->ds, dev, &t, &items, &m, &body.t);
    body.units = s == VKR_OK ? malloc(t.batch * sizeof *body.units) : NULL;
    if (s == VKR_OK && !body.units) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (uint32_t k = 0; s == VKR_OK && k < t.batch; k++) body.units[k] = k % vkr_semacdr_trainer_examples(body.t);
    if (s == VKR_OK)
        s = bench_model_steps(b, dev, "semacdr", run_semacdr_step, &body, "examples/s", t.batch, t.max_len, n, t.hidden);
    vkr_semacdr_trainer_destroy(body.t);
    vkr_semacdr_model_free(&m);
    free(body.units), free(text), free(cat);
    return s;
}

vkr_status vkr_bench_suite_train(vkr_bench* b) {
    if (b->rank_count) return vkr_bench_train_ranks(b);
    static const char* const losses[] = {"bce", "ce"};
    for (int l = 0; l < 2; l++) {
        vkr_sasrec_config c = bench_sasrec_config(l ? VKR_SASREC_CE : VKR_SASREC_BCE, 256);
        torch_ref cpu = {"cpu", 0, 1};
        cpu.standalone = torch_best(&c, losses[l], "cpu", &cpu.threads);
        /* VKR_TORCH_DEVICE=cuda (scripts/gpu-check.sh sets it): the GPU rows beside PyTorch on CUDA */
        const char* gpu_peer = getenv("VKR_TORCH_DEVICE");
        bool cuda = gpu_peer && strcmp(gpu_peer, "cuda") == 0;
        torch_ref gpu = cpu;
        if (cuda) gpu = (torch_ref){"cuda", 0, 1}, gpu.standalone = torch_best(&c, losses[l], "cuda", &gpu.threads);
        VKR_TRY(bench_one(b, b->dev, &c, losses[l], &gpu, cuda ? "pytorch-cuda" : "pytorch-cpu"));
        VKR_TRY(bench_one(b, NULL, &c, losses[l], &cpu, "pytorch-cpu"));
    }
    synth_data sd;
    VKR_TRY(bench_synth_make(256, 21, 10000, &sd));
    vkr_status s = bench_gencdr(b, b->dev, &sd);
    if (s == VKR_OK) s = bench_gencdr(b, NULL, &sd);
    if (s == VKR_OK) s = bench_semacdr(b, b->dev, &sd);
    if (s == VKR_OK) s = bench_semacdr(b, NULL, &sd);
    bench_synth_free(&sd);
    return s;
}
