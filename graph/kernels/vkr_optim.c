/* GPU optimizer: parameter bookkeeping, moment and scalar-state buffers, and recording of the
 * tick, clipping and update kernels (shaders/optim_*.comp). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_optim.h"

#define VKR_OPTIM_WG 256u          /* workgroup size of every optimizer kernel */
#define VKR_OPTIM_MAX_GROUPS_X 65535u /* the smallest maxComputeWorkGroupCount[0] Vulkan allows */
#define VKR_OPTIM_UPDATE_GROUPS 1024u /* update grids stride beyond this: enough to fill any GPU, cheap on CPUs */
#define VKR_OPTIM_NORM_ITEMS 32u   /* gradient elements per thread in the norm pass (at least) */
#define VKR_OPTIM_CHUNK 4096u      /* elements one workgroup updates in the one-dispatch update */

_Static_assert(sizeof(vkr_optim_scalars) == 32, "vkr_optim_scalars must match the shaders' 32-byte layout");

/* One parameter: caller's ranges, its moments' place, and its slots in the norm partials buffer. */
typedef struct vkr_optim_entry {
    vkr_range param;
    vkr_range grad;
    uint32_t count;
    uint32_t group;
    uint64_t moment_off;  /* first element of its moments in the moment arenas (aligned) */
    uint32_t part_base;   /* first partial slot (aligned for binding offsets) */
    uint32_t part_groups; /* workgroups of the norm pass = partial slots used */
    uint32_t part_items;  /* elements per thread in the norm pass */
} vkr_optim_entry;

struct vkr_optim {
    vkr_device* dev;
    vkr_optim_config cfg;
    float lr_mult[VKR_OPTIM_MAX_GROUPS];
    float wd[VKR_OPTIM_MAX_GROUPS];
    vkr_optim_entry* params;
    uint32_t count, cap;
    uint32_t part_slots;  /* partial slots needed by all parameters */
    vkr_buffer scalars;   /* vkr_optim_scalars */
    vkr_buffer partials;  /* norm partials; (re)allocated when recording the clip */
    vkr_buffer moments[2]; /* every parameter's m (or momentum) and v, one arena each, when used */
    uint64_t moment_words; /* elements of each arena in use */
    vkr_buffer work;       /* the one-dispatch update's chunk table, written when recording */
    bool one_dispatch;     /* update every parameter in one dispatch where the layout allows */
};

/* One chunk of the one-dispatch update (std430 layout of optim_common.glsl's OptimChunk). */
typedef struct vkr_optim_chunk {
    uint32_t param_off, grad_off, moment_off, count; /* element offsets, elements in the chunk */
    float lr_mult, wd, pad0, pad1;                   /* the parameter's group settings */
} vkr_optim_chunk;

/* Push constants of the update kernels (optim_common.glsl). */
typedef struct vkr_optim_update_push {
    uint32_t n;  /* one parameter: its elements; the chunk table: its chunks */
    float lr_mult;
    float wd;
    float beta1;
    float beta2;
    float eps;
} vkr_optim_update_push;

static uint32_t vkr_optim_moment_count(const vkr_optim_config* c) {
    if (c->kind != VKR_OPTIM_SGD) return 2;
    return c->momentum > 0.0f ? 1 : 0;
}

vkr_status vkr_optim_create(vkr_device* dev, const vkr_optim_config* cfg, vkr_optim** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_create: out_optim is NULL");
    *out = NULL;
    if (!dev) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_create: device is NULL");
    VKR_TRY(vkr_optim_config_check(cfg));
    vkr_optim* o = calloc(1, sizeof *o);
    if (!o) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating an optimizer");
    o->dev = dev;
    o->cfg = *cfg;
    /* On GPUs one dispatch beats one per parameter (launch and barrier costs); lavapipe measured the
     * other way (its chunk loop costs more per element than it saves in dispatches). */
    o->one_dispatch = vkr_device_get_info(dev)->type != VKR_DEVICE_CPU;
    for (uint32_t g = 0; g < VKR_OPTIM_MAX_GROUPS; g++) {
        o->lr_mult[g] = 1.0f;
        o->wd[g] = cfg->weight_decay;
    }
    vkr_status s = vkr_buffer_create(dev, sizeof(vkr_optim_scalars), VKR_MEMORY_DEVICE, &o->scalars);
    if (s == VKR_OK) s = vkr_optim_set_step(o, 0);
    if (s != VKR_OK) {
        vkr_optim_destroy(o);
        return s;
    }
    *out = o;
    return VKR_OK;
}

void vkr_optim_destroy(vkr_optim* o) {
    if (!o) return;
    for (int k = 0; k < 2; k++) vkr_buffer_destroy(o->dev, &o->moments[k]);
    vkr_buffer_destroy(o->dev, &o->work);
    vkr_buffer_destroy(o->dev, &o->scalars);
    vkr_buffer_destroy(o->dev, &o->partials);
    free(o->params);
    free(o);
}

vkr_status vkr_optim_set_group(vkr_optim* o, uint32_t group, float lr_mult, float weight_decay) {
    if (!o || group >= VKR_OPTIM_MAX_GROUPS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_set_group: group %u is not below %d", group,
                        VKR_OPTIM_MAX_GROUPS);
    if (!(lr_mult >= 0.0f) || !isfinite(lr_mult) || !(weight_decay >= 0.0f) || !isfinite(weight_decay))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_set_group: group %u lr_mult %g and weight_decay %g must be "
                        "finite and non-negative", group, lr_mult, weight_decay);
    o->lr_mult[group] = lr_mult;
    o->wd[group] = weight_decay;
    return VKR_OK;
}

/* Checks that `r` holds `count` floats. */
static vkr_status vkr_optim_check_range(const char* what, vkr_range r, uint64_t count) {
    VKR_TRY(vkr_range_check(r, 0, "vkr_optim_add_param", what));
    if (vkr_range_bytes(r) >= count * sizeof(float)) return VKR_OK;
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT,
                    "vkr_optim_add_param: %s range (offset %llu, %llu bytes) does not hold %llu floats", what,
                    (unsigned long long)r.offset, (unsigned long long)vkr_range_bytes(r), (unsigned long long)count);
}

/* Grows the moment arenas to `words` elements: new zeroed arenas, the old contents copied over, in
 * one submission. Parameters are added before training, so this runs a handful of times. */
static vkr_status vkr_optim_grow(vkr_optim* o, uint64_t words) {
    uint32_t moments = vkr_optim_moment_count(&o->cfg);
    vkr_buffer fresh[2] = {{0}};
    vkr_sequence* seq = NULL;
    vkr_status s = vkr_sequence_create(o->dev, &seq);
    for (uint32_t k = 0; k < moments && s == VKR_OK; k++) {
        s = vkr_buffer_create(o->dev, words * sizeof(float), VKR_MEMORY_DEVICE, &fresh[k]);
        if (s == VKR_OK) s = vkr_sequence_fill(seq, &fresh[k], 0, words * sizeof(float), 0);
        if (s == VKR_OK && o->moment_words)
            s = vkr_sequence_copy(seq, &o->moments[k], 0, &fresh[k], 0, o->moment_words * sizeof(float));
    }
    if (s == VKR_OK && moments) s = vkr_sequence_submit(seq);
    vkr_sequence_destroy(seq);
    if (s != VKR_OK) {
        for (int k = 0; k < 2; k++) vkr_buffer_destroy(o->dev, &fresh[k]);
        return s;
    }
    for (int k = 0; k < 2; k++) {
        vkr_buffer_destroy(o->dev, &o->moments[k]);
        o->moments[k] = fresh[k];
    }
    o->moment_words = words;
    return VKR_OK;
}

vkr_status vkr_optim_add_param(vkr_optim* o, vkr_range param, vkr_range grad, uint64_t count, uint32_t group,
                               uint32_t* out_index) {
    if (out_index) *out_index = 0;
    if (!o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_add_param: optimizer is NULL");
    if (count == 0 || count > (1ull << 31))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_add_param: count %llu must be in [1, 2^31]",
                        (unsigned long long)count);
    if (group >= VKR_OPTIM_MAX_GROUPS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_add_param: group %u is not below %d", group,
                        VKR_OPTIM_MAX_GROUPS);
    VKR_TRY(vkr_optim_check_range("param", param, count));
    VKR_TRY(vkr_optim_check_range("grad", grad, count));
    if (o->count == o->cap) {
        uint32_t cap = o->cap ? o->cap * 2 : 16;
        vkr_optim_entry* p = realloc(o->params, cap * sizeof *p);
        if (!p) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory adding a parameter");
        o->params = p;
        o->cap = cap;
    }
    vkr_optim_entry e = {.param = param, .grad = grad, .count = (uint32_t)count, .group = group};
    /* Enough elements per thread that the norm pass stays within the 65535-group dispatch limit. */
    uint64_t per_group = (uint64_t)VKR_OPTIM_WG * VKR_OPTIM_MAX_GROUPS_X;
    e.part_items = (uint32_t)((count + per_group - 1) / per_group);
    if (e.part_items < VKR_OPTIM_NORM_ITEMS) e.part_items = VKR_OPTIM_NORM_ITEMS;
    e.part_groups = (uint32_t)((count + (uint64_t)VKR_OPTIM_WG * e.part_items - 1) / ((uint64_t)VKR_OPTIM_WG * e.part_items));
    uint64_t align = vkr_device_get_info(o->dev)->min_storage_offset_alignment / sizeof(float);
    if (align == 0) align = 1;
    e.part_base = (uint32_t)vkr_align_up(o->part_slots, align);
    e.moment_off = vkr_align_up(o->moment_words, align);
    VKR_TRY(vkr_optim_grow(o, e.moment_off + count));
    o->part_slots = e.part_base + e.part_groups;
    if (out_index) *out_index = o->count;
    o->params[o->count++] = e;
    return VKR_OK;
}

uint32_t vkr_optim_param_count(const vkr_optim* o) { return o ? o->count : 0; }

void vkr_optim_set_one_dispatch(vkr_optim* o, bool on) {
    if (o) o->one_dispatch = on;
}

vkr_range vkr_optim_moment(const vkr_optim* o, uint32_t i, uint32_t which) {
    if (!o || i >= o->count || which >= vkr_optim_moment_count(&o->cfg)) return (vkr_range){0};
    const vkr_optim_entry* e = &o->params[i];
    return (vkr_range){&o->moments[which], e->moment_off * sizeof(float), (uint64_t)e->count * sizeof(float)};
}

const vkr_buffer* vkr_optim_scalar_buffer(const vkr_optim* o) { return o ? &o->scalars : NULL; }

/* Gets an optimizer kernel: spec[0] is the workgroup size, spec[1] (when spec_count is 2) `spec1`. */
static vkr_status vkr_optim_kernel(vkr_device* dev, const char* shader, uint32_t bindings, const vkr_access* access,
                                   uint32_t push_bytes, uint32_t spec_count, uint32_t spec1, vkr_kernel** out) {
    vkr_kernel_desc d = {.shader = shader, .binding_count = bindings, .push_bytes = push_bytes,
                         .spec_count = spec_count, .spec = {VKR_OPTIM_WG, spec1}};
    memcpy(d.access, access, bindings * sizeof *access);
    return vkr_kernel_get(dev, &d, out);
}

vkr_status vkr_gpu_optim_tick(vkr_sequence* seq, vkr_optim* o) {
    if (!seq || !o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_optim_tick: sequence and optimizer are required");
    static const vkr_access access[1] = {VKR_READ_WRITE};
    struct {
        float peak_lr, min_lr;
        uint32_t warmup, total, decay;
        float beta1, beta2;
    } push = {o->cfg.schedule.peak_lr, o->cfg.schedule.min_lr, o->cfg.schedule.warmup_steps,
              o->cfg.schedule.total_steps, (uint32_t)o->cfg.schedule.decay, o->cfg.beta1, o->cfg.beta2};
    vkr_kernel* k;
    VKR_TRY(vkr_optim_kernel(o->dev, "optim_tick", 1, access, sizeof push, 0, 0, &k));
    vkr_range r = vkr_range_whole(&o->scalars);
    return vkr_sequence_dispatch(seq, k, &r, 1, &push, sizeof push, 1, 1, 1);
}

vkr_status vkr_gpu_optim_clip(vkr_sequence* seq, vkr_optim* o) {
    if (!seq || !o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_optim_clip: sequence and optimizer are required");
    if (o->cfg.clip_norm <= 0.0f || o->count == 0) return VKR_OK;
    uint64_t bytes = (uint64_t)o->part_slots * sizeof(float);
    if (o->partials.size < bytes) {
        vkr_buffer_destroy(o->dev, &o->partials);
        VKR_TRY(vkr_buffer_create(o->dev, bytes, VKR_MEMORY_DEVICE, &o->partials));
    }
    static const vkr_access norm_access[2] = {VKR_READ, VKR_WRITE};
    static const vkr_access clip_access[2] = {VKR_READ, VKR_READ_WRITE};
    vkr_kernel *norm, *clip;
    VKR_TRY(vkr_optim_kernel(o->dev, "optim_norm", 2, norm_access, 8, 1, 0, &norm));
    VKR_TRY(vkr_optim_kernel(o->dev, "optim_clip", 2, clip_access, 8, 1, 0, &clip));
    /* Alignment gaps between parameters' slots must read as zero in the final sum. */
    VKR_TRY(vkr_sequence_fill(seq, &o->partials, 0, bytes, 0));
    for (uint32_t i = 0; i < o->count; i++) {
        const vkr_optim_entry* e = &o->params[i];
        vkr_range r[2] = {{e->grad.buffer, e->grad.offset, (uint64_t)e->count * sizeof(float)},
                          {&o->partials, (uint64_t)e->part_base * sizeof(float), (uint64_t)e->part_groups * sizeof(float)}};
        uint32_t push[2] = {e->count, e->part_items};
        VKR_TRY(vkr_sequence_dispatch(seq, norm, r, 2, push, sizeof push, e->part_groups, 1, 1));
    }
    vkr_range r[2] = {{&o->partials, 0, bytes}, vkr_range_whole(&o->scalars)};
    struct {
        uint32_t count;
        float max_norm;
    } push = {o->part_slots, o->cfg.clip_norm};
    return vkr_sequence_dispatch(seq, clip, r, 2, &push, sizeof push, 1, 1, 1);
}

/* The update kernel of the configured rule (spec 1: AdamW's decoupled decay; spec 2: the chunk table). */
static vkr_status vkr_optim_update_kernel(vkr_optim* o, bool multi, vkr_kernel** out) {
    uint32_t moments = vkr_optim_moment_count(&o->cfg);
    const char* shader = moments == 2 ? "optim_adam" : moments == 1 ? "optim_momentum" : "optim_sgd";
    vkr_kernel_desc d = {.shader = shader, .binding_count = 6, .push_bytes = sizeof(vkr_optim_update_push),
                         .spec_count = 3, .spec = {VKR_OPTIM_WG, o->cfg.kind == VKR_OPTIM_ADAMW, multi},
                         .access = {VKR_READ, VKR_READ, VKR_READ_WRITE, VKR_READ_WRITE, VKR_READ_WRITE, VKR_READ}};
    return vkr_kernel_get(o->dev, &d, out);
}

/* Moment `k`'s range of entry e, or a stand-in for an unused moment: the parameter itself, which the
 * same dispatch writes anyway (a writable binding counts as written). */
static vkr_range vkr_optim_moment_range(const vkr_optim* o, const vkr_optim_entry* e, uint32_t k, vkr_range param) {
    return k < vkr_optim_moment_count(&o->cfg) ? vkr_optim_moment(o, (uint32_t)(e - o->params), k) : param;
}

vkr_status vkr_gpu_optim_update(vkr_sequence* seq, vkr_optim* o, uint32_t i) {
    if (!seq || !o || i >= o->count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_gpu_optim_update: parameter %u does not exist", i);
    const vkr_optim_entry* e = &o->params[i];
    vkr_kernel* k;
    VKR_TRY(vkr_optim_update_kernel(o, false, &k));
    uint64_t bytes = (uint64_t)e->count * sizeof(float);
    vkr_range param = {e->param.buffer, e->param.offset, bytes};
    vkr_range r[6] = {vkr_range_whole(&o->scalars), {e->grad.buffer, e->grad.offset, bytes}, param,
                      vkr_optim_moment_range(o, e, 0, param), vkr_optim_moment_range(o, e, 1, param),
                      vkr_range_whole(&o->scalars)};
    vkr_optim_update_push push = {e->count, o->lr_mult[e->group], o->wd[e->group],
                                  o->cfg.kind == VKR_OPTIM_SGD ? o->cfg.momentum : o->cfg.beta1, o->cfg.beta2,
                                  o->cfg.eps};
    uint32_t groups = (e->count + VKR_OPTIM_WG - 1) / VKR_OPTIM_WG;
    if (groups > VKR_OPTIM_UPDATE_GROUPS) groups = VKR_OPTIM_UPDATE_GROUPS;
    return vkr_sequence_dispatch(seq, k, r, 6, &push, sizeof push, groups, 1, 1);
}

/* Every parameter's update in one dispatch, when all parameters share one buffer and all gradients
 * another (the executor's slots): a table of `chunks` chunks of at most VKR_OPTIM_CHUNK elements, one per
 * workgroup, each naming its parameter's offsets and group settings. */
static vkr_status vkr_gpu_optim_update_all(vkr_sequence* seq, vkr_optim* o, uint64_t chunks) {
    vkr_optim_chunk* table = calloc(chunks, sizeof *table);
    if (!table) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the optimizer's chunk table");
    uint64_t c = 0;
    for (uint32_t i = 0; i < o->count; i++) {
        const vkr_optim_entry* e = &o->params[i];
        for (uint32_t done = 0; done < e->count; done += VKR_OPTIM_CHUNK, c++)
            table[c] = (vkr_optim_chunk){(uint32_t)(e->param.offset / 4) + done, (uint32_t)(e->grad.offset / 4) + done,
                                         (uint32_t)e->moment_off + done,
                                         e->count - done < VKR_OPTIM_CHUNK ? e->count - done : VKR_OPTIM_CHUNK,
                                         o->lr_mult[e->group], o->wd[e->group], 0, 0};
    }
    uint64_t bytes = chunks * sizeof *table;
    vkr_status s = VKR_OK;
    if (o->work.size < bytes) {
        vkr_buffer_destroy(o->dev, &o->work);
        s = vkr_buffer_create(o->dev, bytes, VKR_MEMORY_DEVICE, &o->work);
    }
    if (s == VKR_OK) s = vkr_buffer_upload(o->dev, &o->work, 0, table, bytes);
    free(table);
    VKR_TRY(s);
    const vkr_optim_entry* e0 = &o->params[0];
    vkr_range param = {e0->param.buffer, 0, VKR_WHOLE_SIZE};
    vkr_range r[6] = {vkr_range_whole(&o->scalars), {e0->grad.buffer, 0, VKR_WHOLE_SIZE}, param,
                      vkr_optim_moment_count(&o->cfg) > 0 ? vkr_range_whole(&o->moments[0]) : param,
                      vkr_optim_moment_count(&o->cfg) > 1 ? vkr_range_whole(&o->moments[1]) : param,
                      {&o->work, 0, bytes}};
    vkr_optim_update_push push = {(uint32_t)chunks, 1.0f, 0.0f,
                                  o->cfg.kind == VKR_OPTIM_SGD ? o->cfg.momentum : o->cfg.beta1, o->cfg.beta2,
                                  o->cfg.eps};
    vkr_kernel* k;
    VKR_TRY(vkr_optim_update_kernel(o, true, &k));
    return vkr_sequence_dispatch(seq, k, r, 6, &push, sizeof push, (uint32_t)chunks, 1, 1);
}

/* The chunk count of a one-dispatch update, when one dispatch can update every
 * parameter: one parameter buffer, one gradient buffer, 32-bit element offsets, and a chunk count
 * within one dispatch; 0 otherwise. */
static uint64_t vkr_optim_shared_chunks(const vkr_optim* o) {
    if (!o->one_dispatch || o->count < 2) return 0;
    uint64_t chunks = 0;
    for (uint32_t i = 0; i < o->count; i++) {
        const vkr_optim_entry* e = &o->params[i];
        if (e->param.buffer != o->params[0].param.buffer || e->grad.buffer != o->params[0].grad.buffer) return 0;
        if (e->param.offset / 4 + e->count > UINT32_MAX || e->grad.offset / 4 + e->count > UINT32_MAX) return 0;
        chunks += (e->count + VKR_OPTIM_CHUNK - 1) / VKR_OPTIM_CHUNK;
    }
    return chunks <= VKR_OPTIM_MAX_GROUPS_X && o->moment_words <= UINT32_MAX ? chunks : 0;
}

vkr_status vkr_gpu_optim_step(vkr_sequence* seq, vkr_optim* o) {
    VKR_TRY(vkr_gpu_optim_tick(seq, o));
    VKR_TRY(vkr_gpu_optim_clip(seq, o));
    uint64_t chunks = vkr_optim_shared_chunks(o);
    if (chunks) return vkr_gpu_optim_update_all(seq, o, chunks);
    for (uint32_t i = 0; i < o->count; i++) VKR_TRY(vkr_gpu_optim_update(seq, o, i));
    return VKR_OK;
}

vkr_status vkr_optim_read_scalars(vkr_optim* o, vkr_optim_scalars* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_read_scalars: out_scalars is NULL");
    memset(out, 0, sizeof *out);
    if (!o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_read_scalars: optimizer is NULL");
    return vkr_buffer_download(o->dev, &o->scalars, 0, out, sizeof *out);
}

vkr_status vkr_optim_reset(vkr_optim* o) {
    if (!o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_reset: optimizer is NULL");
    uint32_t moments = vkr_optim_moment_count(&o->cfg);
    if (moments && o->moment_words) {
        vkr_sequence* seq;
        VKR_TRY(vkr_sequence_create(o->dev, &seq));
        vkr_status s = VKR_OK;
        for (uint32_t k = 0; k < moments && s == VKR_OK; k++)
            s = vkr_sequence_fill(seq, &o->moments[k], 0, o->moment_words * sizeof(float), 0);
        if (s == VKR_OK) s = vkr_sequence_submit(seq);
        vkr_sequence_destroy(seq);
        VKR_TRY(s);
    }
    return vkr_optim_set_step(o, 0);
}

vkr_status vkr_optim_set_step(vkr_optim* o, uint32_t step) {
    if (!o) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_optim_set_step: optimizer is NULL");
    /* Replaying the ticks reproduces the device's running powers bit for bit. */
    vkr_optim_scalars s = vkr_optim_scalars_init();
    for (uint32_t t = 0; t < step; t++) vkr_optim_cpu_tick(&o->cfg, &s);
    return vkr_buffer_upload(o->dev, &o->scalars, 0, &s, sizeof s);
}
