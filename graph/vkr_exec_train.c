/* The executor's training side: optimizer state and steps on both backends, checkpoints, and
 * parameter initialization and copies. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_exec_internal.h"
#include "vkr_init.h"
#include "vkr_safetensors.h"
#include "vkr_values.h"

static bool vkr_trainable(const vkr_tensor* t) { return t->role == VKR_ROLE_PARAM && t->grad; }

static bool vkr_uses_v(const vkr_optim_config* c) { return c->kind != VKR_OPTIM_SGD; }
static bool vkr_uses_m(const vkr_optim_config* c) { return c->kind != VKR_OPTIM_SGD || c->momentum > 0; }

vkr_status vkr_exec_number_params(vkr_exec* ex) {
    uint32_t count = vkr_graph_tensor_count(ex->graph), n = 0;
    ex->optim_index = malloc((count ? count : 1) * sizeof *ex->optim_index);
    if (!ex->optim_index) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for optimizer state");
    for (uint32_t i = 0; i < count; i++)
        ex->optim_index[i] = vkr_trainable(vkr_graph_tensor(ex->graph, i)) ? n++ : UINT32_MAX;
    return VKR_OK;
}

/* The next parameter of g from tensor index *i on (advancing *i past it), or NULL. */
static const vkr_tensor* vkr_next_param(vkr_graph* g, uint32_t* i) {
    while (*i < vkr_graph_tensor_count(g)) {
        const vkr_tensor* t = vkr_graph_tensor(g, (*i)++);
        if (t->role == VKR_ROLE_PARAM) return t;
    }
    return NULL;
}

vkr_status vkr_exec_check_share(const vkr_exec* ex, const vkr_exec* share) {
    uint32_t i = 0, j = 0;
    for (;;) {
        const vkr_tensor *t = vkr_next_param(ex->graph, &i), *u = vkr_next_param(share->graph, &j);
        if (!t && !u) break;
        bool same = t && u && !strcmp(t->name, u->name) && t->ndim == u->ndim && t->group == u->group &&
                    !memcmp(t->shape, u->shape, t->ndim * sizeof *t->shape) && t->offset == u->offset &&
                    vkr_trainable(t) == vkr_trainable(u) && (!vkr_trainable(t) || t->grad->offset == u->grad->offset);
        if (!same)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_create: cannot share parameters: parameter %s has no "
                            "identical counterpart in the shared executor's graph (names, shapes, groups and order must "
                            "match)", t ? t->name : u->name);
    }
    for (int k = 0; k < SLOT_COUNT; k++)
        if (vkr_slot_is_shared(k) && ex->own[k].bytes != share->slots[k]->bytes)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_create: cannot share parameters: the graphs' parameter "
                            "storage differs (%llu and %llu bytes)", (unsigned long long)ex->own[k].bytes,
                            (unsigned long long)share->slots[k]->bytes);
    return VKR_OK;
}

vkr_status vkr_exec_optim_init(vkr_exec* ex) {
    vkr_exec_shared* sh = ex->sh;
    const vkr_optim_config* c = sh->optim_config;
    VKR_TRY(vkr_optim_config_check(c));
    uint32_t count = vkr_graph_tensor_count(ex->graph);
    for (uint32_t i = 0; i < count; i++) {
        const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
        if (vkr_trainable(t) && t->group >= VKR_OPTIM_MAX_GROUPS)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "parameter %s is in group %u; at most %d groups", t->name, t->group,
                            VKR_OPTIM_MAX_GROUPS);
    }
    if (ex->gpu) {
        VKR_TRY(vkr_optim_create(ex->dev, c, &sh->optim));
        for (uint32_t k = 0; k < VKR_OPTIM_MAX_GROUPS; k++)
            VKR_TRY(vkr_optim_set_group(sh->optim, k, sh->group_lr[k], sh->group_wd[k]));
        for (uint32_t i = 0; i < count; i++) { /* added in graph order: the optimizer's index is the ordinal */
            const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
            if (!vkr_trainable(t)) continue;
            VKR_TRY(vkr_optim_add_param(sh->optim, vkr_ctx_range(&ex->ctx, t), vkr_ctx_range(&ex->ctx, t->grad), t->numel,
                                        t->group, NULL));
        }
        return VKR_OK;
    }
    sh->cpu_scalars = vkr_optim_scalars_init();
    for (uint32_t i = 0; i < count; i++) sh->trainable += ex->optim_index[i] != UINT32_MAX;
    sh->cpu_m = calloc(sh->trainable ? sh->trainable : 1, sizeof *sh->cpu_m);
    sh->cpu_v = calloc(sh->trainable ? sh->trainable : 1, sizeof *sh->cpu_v);
    if (!sh->cpu_m || !sh->cpu_v) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for optimizer state");
    for (uint32_t i = 0; i < count; i++) {
        const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
        uint32_t p = ex->optim_index[i];
        if (p == UINT32_MAX) continue;
        if (vkr_uses_m(c) && !(sh->cpu_m[p] = calloc(t->numel, sizeof(float))))
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for optimizer state");
        if (vkr_uses_v(c) && !(sh->cpu_v[p] = calloc(t->numel, sizeof(float))))
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for optimizer state");
    }
    return VKR_OK;
}

void vkr_exec_optim_free(vkr_exec_shared* sh) {
    vkr_optim_destroy(sh->optim);
    for (uint32_t i = 0; sh->cpu_m && i < sh->trainable; i++) free(sh->cpu_m[i]);
    for (uint32_t i = 0; sh->cpu_v && i < sh->trainable; i++) free(sh->cpu_v[i]);
    free(sh->cpu_m);
    free(sh->cpu_v);
}

vkr_status vkr_exec_optim_step(vkr_exec* ex) {
    vkr_exec_shared* sh = ex->sh;
    if (ex->gpu) return vkr_gpu_optim_step(ex->seq, sh->optim);
    const vkr_optim_config* c = sh->optim_config;
    uint32_t count = vkr_graph_tensor_count(ex->graph);
    vkr_optim_cpu_tick(c, &sh->cpu_scalars);
    if (c->clip_norm > 0) {
        const float** grads = malloc(count * sizeof *grads);
        uint64_t* counts = malloc(count * sizeof *counts);
        if (!grads || !counts) {
            free(grads);
            free(counts);
            return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory clipping gradients");
        }
        uint32_t n = 0;
        for (uint32_t i = 0; i < count; i++) {
            const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
            if (!vkr_trainable(t)) continue;
            grads[n] = vkr_ctx_host(&ex->ctx, t->grad);
            counts[n++] = t->numel;
        }
        vkr_optim_cpu_clip(c, &sh->cpu_scalars, n, grads, counts);
        free(grads);
        free(counts);
    }
    for (uint32_t i = 0; i < count; i++) {
        const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
        uint32_t p = ex->optim_index[i];
        if (p == UINT32_MAX) continue;
        vkr_optim_cpu_update(c, &sh->cpu_scalars, sh->group_lr[t->group], sh->group_wd[t->group],
                             vkr_ctx_host(&ex->ctx, t), vkr_ctx_host(&ex->ctx, t->grad), sh->cpu_m[p], sh->cpu_v[p],
                             t->numel);
    }
    return VKR_OK;
}

vkr_status vkr_exec_optim_scalars(vkr_exec* ex, vkr_optim_scalars* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_optim_scalars: out_scalars is NULL");
    memset(out, 0, sizeof *out);
    if (!ex || !ex->sh->optim_config) return vkr_fail(VKR_ERR_STATE, "the executor has no optimizer");
    if (ex->gpu) return vkr_optim_read_scalars(ex->sh->optim, out);
    *out = ex->sh->cpu_scalars;
    return VKR_OK;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/* Host copies of everything a checkpoint holds, owned until the write finishes. */
typedef struct vkr_ckpt_buffers {
    void** data;
    uint32_t count;
    uint32_t cap;
} vkr_ckpt_buffers;

static void* vkr_ckpt_alloc(vkr_ckpt_buffers* b, uint64_t bytes) {
    if (vkr_grow((void**)&b->data, &b->cap, b->count + 1, sizeof *b->data) != VKR_OK) return NULL;
    void* p = malloc(bytes ? bytes : 1);
    if (p) b->data[b->count++] = p;
    return p;
}

static void vkr_ckpt_free(vkr_ckpt_buffers* b) {
    for (uint32_t i = 0; i < b->count; i++) free(b->data[i]);
    free(b->data);
}

static void vkr_moment_name(char* out, size_t n, const char* param, uint32_t which) {
    snprintf(out, n, "optim.%s.%s", which ? "v" : "m", param);
}

/* Copies moment `which` of parameter tensor index i to host memory `dst`. */
static vkr_status vkr_moment_get(vkr_exec* ex, uint32_t i, uint32_t which, void* dst, uint64_t bytes) {
    uint32_t p = ex->optim_index[i];
    if (!ex->gpu) {
        memcpy(dst, which ? ex->sh->cpu_v[p] : ex->sh->cpu_m[p], bytes);
        return VKR_OK;
    }
    vkr_range r = vkr_optim_moment(ex->sh->optim, p, which);
    return vkr_buffer_download(ex->dev, r.buffer, r.offset, dst, bytes);
}

static vkr_status vkr_moment_set(vkr_exec* ex, uint32_t i, uint32_t which, const void* src, uint64_t bytes) {
    uint32_t p = ex->optim_index[i];
    if (!ex->gpu) {
        memcpy(which ? ex->sh->cpu_v[p] : ex->sh->cpu_m[p], src, bytes);
        return VKR_OK;
    }
    vkr_range r = vkr_optim_moment(ex->sh->optim, p, which);
    return vkr_buffer_upload(ex->dev, r.buffer, r.offset, src, bytes);
}

static bool vkr_has_moment(const vkr_exec* ex, uint32_t which) {
    const vkr_optim_config* c = ex->sh->optim_config;
    return c && (which ? vkr_uses_v(c) : vkr_uses_m(c));
}

#define VKR_CKPT_REFUSED "refusing to save a non-finite state (the file on disk is kept): "

/* The optimizer's float state (lr, beta powers, grad norm, clip scale; the fields after `step`):
 * the beta powers carry over between steps, so one NaN would poison every later update. */
static vkr_status vkr_scalars_check(const char* path, const vkr_optim_scalars* sc) {
    _Static_assert(offsetof(vkr_optim_scalars, clip_scale) == offsetof(vkr_optim_scalars, lr) + 4 * sizeof(float),
                   "the optimizer's float scalars must be contiguous");
    return vkr_check_tensor_finite(path, "optim.scalars (lr, beta1^t, beta2^t, grad norm, clip scale)", &sc->lr, 5);
}

/* A non-finite parameter or moment would poison every later resume: refused before anything is
 * written, so the checkpoint on disk stays the last good one. */
static vkr_status vkr_ckpt_check_save(const char* path, const char* name, const float* x, uint64_t bytes) {
    vkr_status s = vkr_check_tensor_finite(path, name, x, bytes / sizeof(float));
    return s == VKR_OK ? s : vkr_fail_context(s, VKR_CKPT_REFUSED);
}

vkr_status vkr_exec_save(vkr_exec* ex, const char* path, const char* const* metadata) {
    if (!ex || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_save: NULL executor or path");
    vkr_st_writer* w = NULL;
    VKR_TRY(vkr_st_writer_create(&w));
    vkr_ckpt_buffers bufs = {0};
    vkr_status s = VKR_OK;
    uint32_t count = vkr_graph_tensor_count(ex->graph);
    for (uint32_t i = 0; i < count && s == VKR_OK; i++) {
        const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        uint64_t shape[VKR_MAX_DIMS];
        for (uint32_t d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
        uint64_t bytes = vkr_tensor_bytes(t);
        void* p = vkr_ckpt_alloc(&bufs, bytes);
        if (!p) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory saving %s", t->name);
        if (s == VKR_OK) s = vkr_exec_read(ex, t, p, bytes);
        if (s == VKR_OK) s = vkr_ckpt_check_save(path, t->name, p, bytes);
        if (s == VKR_OK) s = vkr_st_writer_add(w, t->name, VKR_ELEM_F32, t->ndim, shape, p);
        for (uint32_t which = 0; which < 2 && s == VKR_OK && vkr_trainable(t); which++) {
            if (!vkr_has_moment(ex, which)) continue;
            char name[160];
            vkr_moment_name(name, sizeof name, t->name, which);
            void* m = vkr_ckpt_alloc(&bufs, bytes);
            if (!m) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory saving %s", name);
            if (s == VKR_OK) s = vkr_moment_get(ex, i, which, m, bytes);
            if (s == VKR_OK) s = vkr_ckpt_check_save(path, name, m, bytes);
            if (s == VKR_OK) s = vkr_st_writer_add(w, name, VKR_ELEM_F32, t->ndim, shape, m);
        }
    }
    if (s == VKR_OK && ex->sh->optim_config) {
        vkr_optim_scalars* sc = vkr_ckpt_alloc(&bufs, sizeof *sc);
        if (!sc) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory saving optimizer state");
        if (s == VKR_OK) s = vkr_exec_optim_scalars(ex, sc);
        if (s == VKR_OK && vkr_scalars_check(path, sc) != VKR_OK)
            s = vkr_fail_context(VKR_ERR_INVALID_ARGUMENT, VKR_CKPT_REFUSED);
        uint64_t words = sizeof *sc / 4;
        if (s == VKR_OK) s = vkr_st_writer_add(w, "optim.scalars", VKR_ELEM_U32, 1, &words, sc);
    }
    char steps[32];
    snprintf(steps, sizeof steps, "%" PRIu64, ex->sh->steps);
    if (s == VKR_OK) s = vkr_st_writer_set_metadata(w, "vkrec.steps", steps);
    if (s == VKR_OK) s = vkr_st_writer_set_metadata(w, "vkrec.version", vkr_version());
    for (uint32_t k = 0; s == VKR_OK && metadata && metadata[k] && metadata[k + 1]; k += 2)
        s = vkr_st_writer_set_metadata(w, metadata[k], metadata[k + 1]);
    if (s == VKR_OK) s = vkr_st_writer_write(w, path);
    vkr_st_writer_destroy(w);
    vkr_ckpt_free(&bufs);
    return s;
}

vkr_status vkr_exec_load(vkr_exec* ex, const char* path) {
    if (!ex || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_load: NULL executor or path");
    vkr_st_file* f = NULL;
    VKR_TRY(vkr_st_open(path, &f));
    vkr_status s = VKR_OK;
    void* buf = NULL;
    uint32_t count = vkr_graph_tensor_count(ex->graph);
    for (uint32_t i = 0; i < count && s == VKR_OK; i++) {
        const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        uint64_t shape[VKR_MAX_DIMS];
        for (uint32_t d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
        uint64_t bytes = vkr_tensor_bytes(t);
        free(buf);
        buf = malloc(bytes);
        if (!buf) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory loading %s", t->name);
        if (s == VKR_OK) s = vkr_st_load(f, t->name, VKR_ELEM_F32, t->ndim, shape, buf, bytes);
        if (s == VKR_OK) s = vkr_check_tensor_finite(path, t->name, buf, bytes / sizeof(float));
        if (s == VKR_OK) s = vkr_exec_write(ex, t, buf, bytes);
        for (uint32_t which = 0; which < 2 && s == VKR_OK && vkr_trainable(t); which++) {
            char name[160];
            vkr_moment_name(name, sizeof name, t->name, which);
            if (!vkr_has_moment(ex, which) || !vkr_st_find(f, name)) continue;
            s = vkr_st_load(f, name, VKR_ELEM_F32, t->ndim, shape, buf, bytes);
            if (s == VKR_OK) s = vkr_check_tensor_finite(path, name, buf, bytes / sizeof(float));
            if (s == VKR_OK) s = vkr_moment_set(ex, i, which, buf, bytes);
        }
    }
    if (s == VKR_OK && ex->sh->optim_config && vkr_st_find(f, "optim.scalars")) {
        vkr_optim_scalars sc;
        uint64_t words = sizeof sc / 4;
        s = vkr_st_load(f, "optim.scalars", VKR_ELEM_U32, 1, &words, &sc, sizeof sc);
        if (s == VKR_OK) s = vkr_scalars_check(path, &sc);
        if (s == VKR_OK && ex->gpu)
            s = vkr_buffer_upload(ex->dev, vkr_optim_scalar_buffer(ex->sh->optim), 0, &sc, sizeof sc);
        else if (s == VKR_OK) ex->sh->cpu_scalars = sc;
    }
    const char* steps = s == VKR_OK ? vkr_st_metadata_get(f, "vkrec.steps") : NULL;
    if (steps) {
        char* end = NULL;
        unsigned long long v = strtoull(steps, &end, 10);
        s = (*end || !*steps) ? vkr_fail(VKR_ERR_FORMAT, "%s: metadata vkrec.steps '%s' is not a number", path, steps)
                              : vkr_exec_set_steps(ex, v);
    }
    free(buf);
    vkr_st_close(f);
    if (s != VKR_OK && !strstr(vkr_last_error(), path)) return vkr_fail_context(s, "loading %s: ", path);
    return s;
}

vkr_status vkr_exec_init_params(vkr_exec* ex, uint64_t seed) {
    if (!ex) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_init_params: executor is NULL");
    uint32_t count = vkr_graph_tensor_count(ex->graph);
    vkr_status s = VKR_OK;
    for (uint32_t i = 0; i < count && s == VKR_OK; i++) {
        const vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        float* w = malloc(vkr_tensor_bytes(t));
        if (!w) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory initializing %s", t->name);
        uint64_t ps = vkr_init_seed(seed, t->name);
        uint64_t fan_in = t->shape[0], fan_out = t->ndim > 1 ? t->shape[1] : t->shape[0];
        float scale = t->init_scale > 0 ? t->init_scale : 1.0f;
        switch (t->init) {
            case VKR_INIT_ZEROS: memset(w, 0, vkr_tensor_bytes(t)); break;
            case VKR_INIT_ONES:
                for (uint64_t j = 0; j < t->numel; j++) w[j] = 1.0f;
                break;
            case VKR_INIT_NORMAL: s = vkr_init_normal(w, t->numel, 0.0f, scale, ps); break;
            case VKR_INIT_XAVIER: s = vkr_init_xavier_uniform(w, t->numel, fan_in, fan_out, scale, ps); break;
            case VKR_INIT_KAIMING: s = vkr_init_kaiming_uniform(w, t->numel, fan_in, scale, ps); break;
        }
        if (s == VKR_OK) s = vkr_exec_write(ex, t, w, vkr_tensor_bytes(t));
        free(w);
    }
    return s;
}

vkr_status vkr_exec_copy_params(vkr_exec* dst, vkr_exec* src) {
    if (!dst || !src) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_copy_params: NULL executor");
    vkr_status s = VKR_OK;
    for (uint32_t i = 0; i < vkr_graph_tensor_count(dst->graph) && s == VKR_OK; i++) {
        const vkr_tensor* t = vkr_graph_tensor(dst->graph, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        const vkr_tensor* from = vkr_graph_find(src->graph, t->name);
        if (!from || from->numel != t->numel)
            return vkr_fail(VKR_ERR_NOT_FOUND, "parameter %s is missing from the source graph", t->name);
        void* buf = malloc(vkr_tensor_bytes(t));
        if (!buf) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory copying %s", t->name);
        s = vkr_exec_read(src, from, buf, vkr_tensor_bytes(t));
        if (s == VKR_OK) s = vkr_exec_write(dst, t, buf, vkr_tensor_bytes(t));
        free(buf);
    }
    return s;
}
