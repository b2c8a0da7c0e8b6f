#include "vkr_graph.h"
#include "vkr_graph_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vkr_graph {
    vkr_tensor** tensors; /* pointers stay valid as the list grows */
    uint32_t count;
    uint32_t cap;
    uint64_t seed;
    vkr_status status;
    char error[512];
    vkr_tensor* loss;
};

vkr_status vkr_graph_create(uint64_t seed, vkr_graph** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_graph_create: out_graph is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating a graph");
    (*out)->seed = seed;
    return VKR_OK;
}

void vkr_graph_destroy(vkr_graph* g) {
    if (!g) return;
    for (uint32_t i = 0; i < g->count; i++) free(g->tensors[i]);
    free(g->tensors);
    free(g);
}

vkr_status vkr_graph_status(const vkr_graph* g) { return g ? g->status : VKR_ERR_INVALID_ARGUMENT; }
const char* vkr_graph_error(const vkr_graph* g) { return g ? g->error : "graph is NULL"; }
uint32_t vkr_graph_tensor_count(const vkr_graph* g) { return g ? g->count : 0; }
vkr_tensor* vkr_graph_tensor(const vkr_graph* g, uint32_t i) { return g && i < g->count ? g->tensors[i] : NULL; }
uint64_t vkr_graph_seed(const vkr_graph* g) { return g ? g->seed : 0; }
vkr_tensor* vkr_graph_loss(const vkr_graph* g) { return g ? g->loss : NULL; }

vkr_tensor* vkr_graph_find(const vkr_graph* g, const char* name) {
    for (uint32_t i = 0; g && i < g->count; i++)
        if (g->tensors[i]->role == VKR_ROLE_PARAM && strcmp(g->tensors[i]->name, name) == 0) return g->tensors[i];
    return NULL;
}

vkr_tensor* vkr_graph_fail(vkr_graph* g, vkr_status status, const char* fmt, ...) {
    if (g && g->status == VKR_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->error, sizeof g->error, fmt, ap);
        va_end(ap);
        g->status = status;
        vkr_fail(status, "%s", g->error);
    }
    return NULL;
}

void vkr_tensor_shape4(const vkr_tensor* t, uint32_t out[4]) {
    uint32_t pad = VKR_MAX_DIMS - t->ndim;
    for (uint32_t i = 0; i < VKR_MAX_DIMS; i++) out[i] = i < pad ? 1 : t->shape[i - pad];
}

uint64_t vkr_tensor_bytes(const vkr_tensor* t) { return t->numel * 4; /* F32 and I32 */ }

static vkr_tensor* vkr_graph_new(vkr_graph* g, const char* name, vkr_dtype dtype, vkr_role role, uint32_t ndim,
                                 const uint32_t* shape) {
    if (!g) return NULL;
    if (g->status != VKR_OK) return NULL;
    if (ndim < 1 || ndim > VKR_MAX_DIMS || !shape)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "tensor '%s': %u dimensions (1..%d allowed)",
                              name ? name : "?", ndim, VKR_MAX_DIMS);
    uint64_t numel = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] == 0)
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "tensor '%s': dimension %u is zero", name ? name : "?", i);
        numel *= shape[i];
        if (numel > (1ull << 40))
            return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "tensor '%s': too many elements", name ? name : "?");
    }
    if (vkr_grow((void**)&g->tensors, &g->cap, g->count + 1, sizeof *g->tensors) != VKR_OK)
        return vkr_graph_fail(g, VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory growing the graph");
    vkr_tensor* t = calloc(1, sizeof *t);
    if (!t) return vkr_graph_fail(g, VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating a tensor");
    t->index = g->count;
    if (name) snprintf(t->name, sizeof t->name, "%s", name);
    else snprintf(t->name, sizeof t->name, "t%u", t->index);
    t->dtype = dtype;
    t->role = role;
    t->ndim = ndim;
    for (uint32_t i = 0; i < VKR_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    t->numel = numel;
    g->tensors[g->count++] = t;
    return t;
}

vkr_tensor* vkr_graph_input(vkr_graph* g, const char* name, vkr_dtype dtype, uint32_t ndim, const uint32_t* shape) {
    return vkr_graph_new(g, name, dtype, VKR_ROLE_INPUT, ndim, shape);
}

vkr_tensor* vkr_graph_const(vkr_graph* g, const char* name, vkr_dtype dtype, uint32_t ndim, const uint32_t* shape) {
    return vkr_graph_new(g, name, dtype, VKR_ROLE_CONST, ndim, shape);
}

vkr_tensor* vkr_graph_param(vkr_graph* g, const char* name, uint32_t ndim, const uint32_t* shape, uint32_t group) {
    if (g && name && vkr_graph_find(g, name))
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "parameter name '%s' is used twice", name);
    vkr_tensor* t = vkr_graph_new(g, name, VKR_F32, VKR_ROLE_PARAM, ndim, shape);
    if (t) t->group = group;
    return t;
}

vkr_tensor* vkr_graph_param_init(vkr_graph* g, const char* name, uint32_t ndim, const uint32_t* shape, uint32_t group,
                                 vkr_init_kind init, float init_scale) {
    vkr_tensor* t = vkr_graph_param(g, name, ndim, shape, group);
    if (t) {
        t->init = init;
        t->init_scale = init_scale;
    }
    return t;
}

vkr_tensor* vkr_graph_keep(vkr_tensor* t) {
    if (t) t->keep = true;
    return t;
}

vkr_tensor* vkr_graph_node(vkr_graph* g, uint32_t op, vkr_dtype dtype, uint32_t ndim, const uint32_t* shape,
                           const vkr_tensor* const* srcs, uint32_t src_count, const void* params, size_t params_bytes) {
    if (!g || g->status != VKR_OK) return NULL;
    if (src_count > VKR_MAX_SRC || params_bytes > VKR_OP_PARAM_BYTES)
        return vkr_graph_fail(g, VKR_ERR_INVALID_ARGUMENT, "op %u: %u operands / %zu parameter bytes exceed the limits",
                              op, src_count, params_bytes);
    vkr_tensor* t = vkr_graph_new(g, NULL, dtype, VKR_ROLE_ACTIVATION, ndim, shape);
    if (!t) return NULL;
    t->op = op;
    t->src_count = src_count;
    for (uint32_t i = 0; i < src_count; i++) t->src[i] = (vkr_tensor*)srcs[i];
    if (params_bytes) memcpy(t->params, params, params_bytes);
    return t;
}

vkr_tensor* vkr_graph_aux(vkr_graph* g, vkr_tensor* node, uint32_t ndim, const uint32_t* shape, vkr_dtype dtype) {
    if (!node) return NULL;
    vkr_tensor* t = vkr_graph_new(g, NULL, dtype, VKR_ROLE_ACTIVATION, ndim, shape);
    if (!t) return NULL;
    snprintf(t->name, sizeof t->name, "%.40s.aux", node->name);
    t->aux_of = node;
    node->aux = t;
    return t;
}

static vkr_tensor* vkr_graph_grad_for(vkr_graph* g, vkr_tensor* t) {
    if (t->grad) return t->grad;
    vkr_tensor* grad = vkr_graph_new(g, NULL, VKR_F32, VKR_ROLE_GRAD, t->ndim, t->shape);
    if (!grad) return NULL;
    snprintf(grad->name, sizeof grad->name, "%.56s.grad", t->name);
    t->grad = grad;
    return grad;
}

vkr_status vkr_graph_backward(vkr_graph* g, vkr_tensor* loss) {
    if (!g) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_graph_backward: graph is NULL");
    if (g->status != VKR_OK) return vkr_fail(g->status, "%s", g->error);
    if (!loss || loss->numel != 1 || loss->dtype != VKR_F32)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_graph_backward: the loss must be a 1-element fp32 tensor");
    if (g->loss) return vkr_fail(VKR_ERR_STATE, "vkr_graph_backward was already called on this graph");
    /* Forward sweep in topological order: a node needs a gradient when any operand has one. */
    uint32_t n = g->count;
    for (uint32_t i = 0; i < n; i++) {
        vkr_tensor* t = g->tensors[i];
        if (t->role == VKR_ROLE_PARAM) t->requires_grad = true;
        if (t->role != VKR_ROLE_ACTIVATION || t->aux_of) continue;
        for (uint32_t s = 0; s < t->src_count; s++)
            if (t->src[s] && t->src[s]->requires_grad) t->requires_grad = true;
    }
    if (!loss->requires_grad)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_graph_backward: the loss does not depend on any parameter");
    /* Only what the loss depends on gets a gradient: sweep back from the loss. */
    bool* needed = calloc(n, sizeof *needed);
    if (!needed) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory in vkr_graph_backward");
    needed[loss->index] = true;
    for (uint32_t i = n; i-- > 0;) {
        vkr_tensor* t = g->tensors[i];
        if (!needed[i]) continue;
        for (uint32_t s = 0; s < t->src_count; s++)
            if (t->src[s] && t->src[s]->requires_grad) needed[t->src[s]->index] = true;
        if (t->view_of && t->view_of->requires_grad) needed[t->view_of->index] = true;
    }
    for (uint32_t i = 0; i < n; i++) {
        vkr_tensor* t = g->tensors[i];
        if (!needed[i]) t->requires_grad = false;
        else if (t->requires_grad && !vkr_graph_grad_for(g, t)) break;
    }
    free(needed);
    if (g->status != VKR_OK) return vkr_fail(g->status, "%s", g->error);
    /* A view's gradient is a view of its source's gradient. */
    for (uint32_t i = 0; i < n; i++) {
        vkr_tensor* t = g->tensors[i];
        if (t->view_of && t->grad) t->grad->view_of = t->view_of->grad;
    }
    g->loss = loss;
    return VKR_OK;
}
