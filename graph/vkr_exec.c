#include "vkr_exec.h"
#include "vkr_exec_internal.h"

#include <stdlib.h>
#include <string.h>

#include "vkr_array.h"
#include "vkr_graph_ops_internal.h"
#include "vkr_ops_nn.h"

const vkr_tensor* vkr_root(const vkr_tensor* t) {
    while (t->view_of) t = t->view_of;
    return t;
}

/* ---- planning ---------------------------------------------------------------------------- */

typedef struct vkr_interval {
    uint32_t tensor; /* root tensor index */
    uint32_t start;
    uint32_t end;
    uint64_t bytes;
} vkr_interval;

static int vkr_interval_by_size(const void* a, const void* b) {
    const vkr_interval *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return (x->tensor > y->tensor) - (x->tensor < y->tensor);
}

static bool vkr_is_node(const vkr_tensor* t) { return t->role == VKR_ROLE_ACTIVATION && t->op && !t->aux_of; }

/* Greedy by size: each interval takes the lowest offset that does not collide with an already
 * placed interval alive at the same time. */
static uint64_t vkr_place(vkr_interval* iv, uint32_t n, uint64_t* offsets) {
    qsort(iv, n, sizeof *iv, vkr_interval_by_size);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (uint32_t j = 0; j < i; j++) {
                if (iv[j].end < iv[i].start || iv[i].end < iv[j].start) continue;
                uint64_t o = offsets[iv[j].tensor];
                if (off < o + iv[j].bytes && o < off + iv[i].bytes) {
                    off = o + iv[j].bytes;
                    moved = true;
                }
            }
        }
        offsets[iv[i].tensor] = off;
        if (off + iv[i].bytes > total) total = off + iv[i].bytes;
    }
    return total;
}

/* Scratch state of one planning pass; steps: forward node p -> p; seeding -> nodes; backward of
 * node p -> 2*nodes - p. */
typedef struct vkr_plan_state {
    vkr_exec* ex;
    uint32_t count;
    uint32_t nodes;
    uint32_t* pos;    /* node position, or VKR_STEP_INF */
    uint32_t* start;  /* activation interval per root */
    uint32_t* end;
    uint32_t* gstart; /* gradient interval per root activation */
    uint32_t* gend;
    uint64_t* offsets;
    vkr_interval* iv;
} vkr_plan_state;

static uint32_t vkr_plan_bwd(const vkr_plan_state* ps, uint32_t p) { return 2 * ps->nodes - p; }

static vkr_status vkr_plan_alloc(vkr_plan_state* ps) {
    uint32_t count = ps->count;
    vkr_exec* ex = ps->ex;
    ps->pos = malloc(count * sizeof *ps->pos);
    ps->start = malloc(count * sizeof *ps->start);
    ps->end = malloc(count * sizeof *ps->end);
    ps->gstart = malloc(count * sizeof *ps->gstart);
    ps->gend = malloc(count * sizeof *ps->gend);
    ps->offsets = calloc(count * 2, sizeof *ps->offsets);
    ps->iv = malloc(count * 2 * sizeof *ps->iv);
    ex->root = malloc(count * sizeof *ex->root);
    ex->zeroed = calloc(count, sizeof *ex->zeroed);
    if (!ps->pos || !ps->start || !ps->end || !ps->gstart || !ps->gend || !ps->offsets || !ps->iv || !ex->root ||
        !ex->zeroed)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory planning the graph");
    return VKR_OK;
}

static void vkr_plan_free(vkr_plan_state* ps) {
    free(ps->pos);
    free(ps->start);
    free(ps->end);
    free(ps->gstart);
    free(ps->gend);
    free(ps->offsets);
    free(ps->iv);
}

/* Roots, node positions, and empty intervals. */
static void vkr_plan_positions(vkr_plan_state* ps) {
    vkr_exec* ex = ps->ex;
    ps->nodes = 0;
    for (uint32_t i = 0; i < ps->count; i++) {
        vkr_tensor* t = vkr_graph_tensor(ex->graph, i);
        ex->root[i] = vkr_root(t)->index;
        ps->pos[i] = vkr_is_node(t) ? ps->nodes++ : VKR_STEP_INF;
        ps->start[i] = ps->gstart[i] = VKR_STEP_INF;
        ps->end[i] = ps->gend[i] = 0;
    }
}

/* Node t at step p reads its sources forward and, when its backward runs, their values and gradients. */
static void vkr_plan_sources(vkr_plan_state* ps, const vkr_tensor* t, uint32_t p) {
    vkr_exec* ex = ps->ex;
    uint32_t bwd = vkr_plan_bwd(ps, p);
    for (uint32_t k = 0; k < t->src_count; k++) {
        const vkr_tensor* src = t->src[k];
        if (!src) continue;
        uint32_t sr = ex->root[src->index];
        if (p > ps->end[sr]) ps->end[sr] = p;
        if (ex->backward && t->requires_grad) {
            if (bwd > ps->end[sr]) ps->end[sr] = bwd;
            if (src->grad) {
                uint32_t gr = ex->root[src->grad->index];
                if (bwd < ps->gstart[gr]) ps->gstart[gr] = bwd;
                if (bwd > ps->gend[gr]) ps->gend[gr] = bwd;
            }
        }
    }
}

/* Extends the intervals by the steps at which activation i is produced and read. */
static void vkr_plan_activation(vkr_plan_state* ps, uint32_t i) {
    vkr_exec* ex = ps->ex;
    vkr_graph* g = ex->graph;
    vkr_tensor* t = vkr_graph_tensor(g, i);
    uint32_t r = ex->root[i];
    uint32_t p = t->aux_of ? ps->pos[t->aux_of->index] : ps->pos[i];
    if (p == VKR_STEP_INF) return;
    uint32_t bwd = vkr_plan_bwd(ps, p);
    if (p < ps->start[r]) ps->start[r] = p;
    if (p > ps->end[r]) ps->end[r] = p;
    bool bwd_runs = ex->backward && (t->aux_of ? t->aux_of->requires_grad : t->requires_grad);
    if (bwd_runs && bwd > ps->end[r]) ps->end[r] = bwd; /* its own backward reads it */
    if (t->keep || (ex->backward && t == vkr_graph_loss(g))) ps->end[r] = VKR_STEP_INF;
    if (t->aux_of) return;
    if (ex->backward && t->grad) { /* the gradient is read by the node's own backward */
        uint32_t gr = ex->root[t->grad->index];
        if (bwd > ps->gend[gr]) ps->gend[gr] = bwd;
        if (t == vkr_graph_loss(g) && ps->nodes < ps->gstart[gr]) ps->gstart[gr] = ps->nodes;
    }
    vkr_plan_sources(ps, t, p);
}

static uint32_t vkr_plan_slot(vkr_graph* g, uint32_t count, const vkr_tensor* t) {
    if (t->role == VKR_ROLE_PARAM) return SLOT_PARAM;
    if (t->role == VKR_ROLE_INPUT) return SLOT_INPUT;
    if (t->role == VKR_ROLE_CONST) return SLOT_CONST;
    if (t->role != VKR_ROLE_GRAD) return SLOT_ARENA;
    /* gradients of parameters persist; of activations they live in the arena */
    bool of_param = false;
    for (uint32_t j = 0; j < count && !of_param; j++) {
        vkr_tensor* o = vkr_graph_tensor(g, j);
        of_param = o->grad == t && o->role != VKR_ROLE_ACTIVATION;
    }
    return of_param ? SLOT_PARAM_GRAD : SLOT_ARENA;
}

/* Lays out the persistent slots and collects the arena's intervals; returns their count. */
static uint32_t vkr_plan_storage(vkr_plan_state* ps) {
    vkr_exec* ex = ps->ex;
    vkr_graph* g = ex->graph;
    uint32_t n_iv = 0;
    for (uint32_t i = 0; i < ps->count; i++) {
        vkr_tensor* t = vkr_graph_tensor(g, i);
        if (t->view_of) continue;
        uint32_t slot = vkr_plan_slot(g, ps->count, t);
        t->storage = slot;
        uint64_t bytes = vkr_align_up(vkr_tensor_bytes(t), VKR_STORAGE_ALIGN);
        if (slot != SLOT_ARENA) {
            t->offset = ex->own[slot].bytes;
            ex->own[slot].bytes += bytes;
            continue;
        }
        bool grad = t->role == VKR_ROLE_GRAD;
        if (grad && !ex->backward) continue;
        uint32_t a = grad ? ps->gstart[i] : ps->start[i];
        uint32_t b = grad ? ps->gend[i] : ps->end[i];
        if (a == VKR_STEP_INF) continue; /* never produced or read: needs no storage */
        if (b < a) b = a;
        ex->unplanned_bytes += bytes;
        ps->iv[n_iv++] = (vkr_interval){i, a, b, bytes};
    }
    return n_iv;
}

/* Places the arena's intervals, then points views at their root's storage. */
static void vkr_plan_offsets(vkr_plan_state* ps, uint32_t n_iv) {
    vkr_exec* ex = ps->ex;
    vkr_graph* g = ex->graph;
    ex->arena_bytes = vkr_place(ps->iv, n_iv, ps->offsets);
    ex->own[SLOT_ARENA].bytes = ex->arena_bytes;
    for (uint32_t k = 0; k < n_iv; k++) vkr_graph_tensor(g, ps->iv[k].tensor)->offset = ps->offsets[ps->iv[k].tensor];
    for (uint32_t i = 0; i < ps->count; i++) {
        vkr_tensor* t = vkr_graph_tensor(g, i);
        if (!t->view_of) continue;
        const vkr_tensor* r = vkr_root(t);
        t->storage = r->storage;
        t->offset = r->offset;
    }
}

static vkr_status vkr_plan(vkr_exec* ex) {
    vkr_plan_state ps = {.ex = ex, .count = vkr_graph_tensor_count(ex->graph)};
    vkr_status s = vkr_plan_alloc(&ps);
    if (s == VKR_OK) {
        vkr_plan_positions(&ps);
        for (uint32_t i = 0; i < ps.count; i++)
            if (vkr_graph_tensor(ex->graph, i)->role == VKR_ROLE_ACTIVATION) vkr_plan_activation(&ps, i);
        vkr_plan_offsets(&ps, vkr_plan_storage(&ps));
        ex->own[SLOT_STEP].bytes = VKR_STORAGE_ALIGN;
    }
    vkr_plan_free(&ps);
    return s;
}

/* ---- context for op implementations ------------------------------------------------------- */

bool vkr_ctx_gpu(const vkr_exec_ctx* ctx) { return ctx->ex->gpu; }
vkr_sequence* vkr_ctx_sequence(vkr_exec_ctx* ctx) { return ctx->ex->seq; }
uint64_t vkr_ctx_step(const vkr_exec_ctx* ctx) { return ctx->ex->sh->steps; }
bool vkr_ctx_training(const vkr_exec_ctx* ctx) { return ctx->ex->training; }
uint64_t vkr_ctx_seed(const vkr_exec_ctx* ctx) { return vkr_graph_seed(ctx->ex->graph); }

vkr_range vkr_ctx_range(vkr_exec_ctx* ctx, const vkr_tensor* t) {
    if (!t) return (vkr_range){0};
    const vkr_slot* s = ctx->ex->slots[t->storage];
    return (vkr_range){&s->buffer, t->offset, vkr_tensor_bytes(t)};
}

void* vkr_ctx_host(vkr_exec_ctx* ctx, const vkr_tensor* t) {
    if (!t) return NULL;
    return ctx->ex->slots[t->storage]->host + t->offset;
}

vkr_range vkr_ctx_step_range(vkr_exec_ctx* ctx) {
    return (vkr_range){&ctx->ex->slots[SLOT_STEP]->buffer, 0, 4};
}

/* ---- the step program, shared by both backends ------------------------------------------ */

/* Adds "<op> node <name>: " in front of an op's error. */
static vkr_status vkr_fail_on(vkr_status s, const char* op, const vkr_tensor* t) {
    return s == VKR_OK ? s : vkr_fail_context(s, "%s node %s: ", op, t->name);
}

static vkr_status vkr_fill(vkr_exec* ex, const vkr_tensor* t, uint32_t pattern) {
    if (ex->gpu) {
        vkr_range r = vkr_ctx_range(&ex->ctx, t);
        return vkr_sequence_fill(ex->seq, r.buffer, r.offset, r.size, pattern);
    }
    uint32_t* p = vkr_ctx_host(&ex->ctx, t);
    if (pattern == 0) memset(p, 0, t->numel * sizeof *p); /* zeroing gradients: the common case */
    else
        for (uint64_t i = 0; i < t->numel; i++) p[i] = pattern;
    return VKR_OK;
}

static vkr_status vkr_zero_grad_once(vkr_exec* ex, const vkr_tensor* grad) {
    uint32_t r = ex->root[grad->index];
    if (ex->zeroed[r]) return VKR_OK;
    ex->zeroed[r] = true;
    return vkr_fill(ex, vkr_graph_tensor(ex->graph, r), 0);
}

/* The optimizer update after backward and the step counter's increment. */
static vkr_status vkr_program_update(vkr_exec* ex) {
    if (ex->backward && ex->sh->optim_config) VKR_TRY(vkr_exec_optim_step(ex));
    if (ex->gpu) {
        vkr_range step = vkr_ctx_step_range(&ex->ctx);
        VKR_TRY(vkr_sequence_dispatch(ex->seq, ex->step_kernel, &step, 1, NULL, 0, 1, 1, 1));
    }
    return VKR_OK;
}

/* The shared gradient hook acts on executors that compute gradients. */
static bool vkr_exec_hooked(const vkr_exec* ex) { return ex->backward && ex->sh->grad_hook; }

static vkr_status vkr_program(vkr_exec* ex) {
    vkr_graph* g = ex->graph;
    uint32_t count = vkr_graph_tensor_count(g);
    for (uint32_t i = 0; i < count; i++) {
        vkr_tensor* t = vkr_graph_tensor(g, i);
        if (!vkr_is_node(t)) continue;
        const vkr_op_impl* impl = vkr_op_get(t->op);
        if (!impl) return vkr_fail(VKR_ERR_UNSUPPORTED, "graph node %s has unknown op %u", t->name, t->op);
        if (impl->forward) VKR_TRY(vkr_fail_on(impl->forward(&ex->ctx, t), impl->name, t));
    }
    if (ex->backward) {
        memset(ex->zeroed, 0, count * sizeof *ex->zeroed);
        const vkr_slot* grads = ex->slots[SLOT_PARAM_GRAD];
        if (grads->bytes) {
            if (ex->gpu)
                VKR_TRY(vkr_sequence_fill(ex->seq, &grads->buffer, 0, grads->bytes, 0));
            else
                memset(grads->host, 0, grads->bytes);
            for (uint32_t i = 0; i < count; i++) {
                vkr_tensor* t = vkr_graph_tensor(g, i);
                if (t->storage == SLOT_PARAM_GRAD && t->role == VKR_ROLE_GRAD) ex->zeroed[ex->root[i]] = true;
            }
        }
        vkr_tensor* loss = vkr_graph_loss(g);
        ex->zeroed[ex->root[loss->grad->index]] = true;
        const float one = 1.0f;
        uint32_t one_bits;
        memcpy(&one_bits, &one, 4);
        VKR_TRY(vkr_fill(ex, loss->grad, one_bits));
        for (uint32_t i = count; i-- > 0;) {
            vkr_tensor* t = vkr_graph_tensor(g, i);
            if (!vkr_is_node(t) || !t->requires_grad) continue;
            const vkr_op_impl* impl = vkr_op_get(t->op);
            if (!impl->backward) continue;
            for (uint32_t k = 0; k < t->src_count; k++)
                if (t->src[k] && t->src[k]->grad) VKR_TRY(vkr_zero_grad_once(ex, t->src[k]->grad));
            VKR_TRY(vkr_fail_on(impl->backward(&ex->ctx, t), impl->name, t));
        }
    }
    if (ex->gpu && ex->seq_update) return VKR_OK; /* the update is recorded into its own sequence */
    if (!ex->gpu && vkr_exec_hooked(ex))
        VKR_TRY(ex->sh->grad_hook(ex->sh->grad_hook_user, (float*)ex->slots[SLOT_PARAM_GRAD]->host,
                                  ex->slots[SLOT_PARAM_GRAD]->bytes / sizeof(float)));
    return vkr_program_update(ex);
}

/* Lists, per tensor, the host-derived inputs built from it. Only the backward reads them (the
 * embedding gradient's inverse index), so forward-only executors skip them altogether. */
static vkr_status vkr_exec_derive_plan(vkr_exec* ex) {
    if (!ex->backward) return VKR_OK;
    uint32_t count = vkr_graph_tensor_count(ex->graph);
    ex->derive_first = malloc((size_t)count * sizeof *ex->derive_first);
    ex->derive_next = malloc((size_t)count * sizeof *ex->derive_next);
    if (!ex->derive_first || !ex->derive_next)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory planning derived inputs");
    for (uint32_t i = 0; i < count; i++) ex->derive_first[i] = ex->derive_next[i] = UINT32_MAX;
    for (uint32_t i = count; i-- > 0;) {
        const vkr_tensor* c = vkr_graph_tensor(ex->graph, i);
        if (c->op != VKR_OP_CSR || c->role == VKR_ROLE_ACTIVATION) continue;
        ex->derive_next[i] = ex->derive_first[c->src[0]->index];
        ex->derive_first[c->src[0]->index] = i;
    }
    return VKR_OK;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* Adds ex to the members of sh. */
static vkr_status vkr_shared_join(vkr_exec_shared* sh, vkr_exec* ex) {
    VKR_TRY(vkr_grow((void**)&sh->members, &sh->member_cap, sh->refs + 1, sizeof *sh->members));
    sh->members[sh->refs++] = ex;
    ex->sh = sh;
    for (int k = 0; k < SLOT_COUNT; k++)
        if (vkr_slot_is_shared(k)) ex->slots[k] = &sh->slots[k];
    return VKR_OK;
}

static void vkr_slot_free(vkr_device* dev, vkr_slot* sl) {
    if (dev) vkr_buffer_destroy(dev, &sl->buffer);
    free(sl->host);
    sl->host = NULL;
}

/* Removes ex from its shared state, freeing the state with its last member. */
static void vkr_shared_leave(vkr_exec* ex) {
    vkr_exec_shared* sh = ex->sh;
    if (!sh) return;
    for (uint32_t i = 0; i < sh->refs; i++)
        if (sh->members[i] == ex) {
            sh->members[i] = sh->members[--sh->refs];
            break;
        }
    ex->sh = NULL;
    if (sh->refs) return;
    vkr_exec_optim_free(sh);
    for (int k = 0; k < SLOT_COUNT; k++) vkr_slot_free(sh->dev, &sh->slots[k]);
    free(sh->members);
    free(sh);
}

/* The per-group lr multipliers and weight decays options o asks for. */
static void vkr_exec_groups(const vkr_exec_options* o, float* lr, float* wd) {
    for (uint32_t k = 0; k < VKR_OPTIM_MAX_GROUPS; k++) {
        lr[k] = k < o->group_count && o->group_lr_mult ? o->group_lr_mult[k] : 1.0f;
        wd[k] = k < o->group_count && o->group_weight_decay ? o->group_weight_decay[k]
                                                           : (o->optimizer ? o->optimizer->weight_decay : 0.0f);
    }
}

/* Joins the state of o->share after checking that ex may: same backend, same parameters, and an
 * optimizer and groups left unset or equal to the state's (one update rule for one set of moments). */
static vkr_status vkr_shared_attach(vkr_exec* ex, const vkr_exec_options* o) {
    const vkr_exec* share = o->share;
    vkr_exec_shared* sh = share->sh;
    if (share->dev != ex->dev)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_create: an executor can only share the parameters of one "
                        "on the same device");
    VKR_TRY(vkr_exec_check_share(ex, share));
    if (ex->backward && (o->optimizer || o->group_count)) {
        float lr[VKR_OPTIM_MAX_GROUPS], wd[VKR_OPTIM_MAX_GROUPS];
        vkr_exec_groups(o, lr, wd);
        bool same = sh->optim_config && o->optimizer && !memcmp(o->optimizer, sh->optim_config, sizeof *o->optimizer) &&
                    !memcmp(lr, sh->group_lr, sizeof lr) && !memcmp(wd, sh->group_wd, sizeof wd);
        if (!same)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_create: an executor sharing parameters uses the shared "
                            "optimizer; leave optimizer and groups unset or equal to it");
    }
    return vkr_shared_join(sh, ex);
}

/* A fresh shared state holding ex's own parameters, gradients, steps and optimizer settings. */
static vkr_status vkr_shared_create(vkr_exec* ex, const vkr_exec_options* o) {
    vkr_exec_shared* sh = calloc(1, sizeof *sh);
    if (!sh) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating an executor");
    sh->dev = ex->dev;
    if (ex->backward && o->optimizer) {
        sh->optim_copy = *o->optimizer;
        sh->optim_config = &sh->optim_copy;
    }
    vkr_exec_groups(o, sh->group_lr, sh->group_wd);
    for (int k = 0; k < SLOT_COUNT; k++)
        if (vkr_slot_is_shared(k)) sh->slots[k].bytes = ex->own[k].bytes;
    vkr_status s = vkr_shared_join(sh, ex);
    if (s != VKR_OK) free(sh);
    return s;
}

/* Allocates the slots ex must provide: its own kinds, and the shared ones when it made the state.
 * GPU storage starts zeroed, so unset constants read as zeros. */
static vkr_status vkr_exec_alloc_slots(vkr_exec* ex, bool with_shared) {
    vkr_sequence* init = NULL;
    vkr_status s = ex->gpu ? vkr_sequence_create(ex->dev, &init) : VKR_OK;
    for (int k = 0; k < SLOT_COUNT && s == VKR_OK; k++) {
        vkr_slot* sl = ex->slots[k];
        if (!sl->bytes || (vkr_slot_is_shared(k) && !with_shared)) continue;
        if (ex->gpu) {
            s = vkr_buffer_create(ex->dev, sl->bytes, VKR_MEMORY_DEVICE, &sl->buffer);
            if (s == VKR_OK) s = vkr_sequence_fill(init, &sl->buffer, 0, sl->bytes, 0);
        } else if (!(sl->host = calloc(1, sl->bytes))) {
            s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory: %.1f MiB for graph storage",
                         (double)sl->bytes / 1048576.0);
        }
    }
    if (s == VKR_OK && init) s = vkr_sequence_submit(init);
    vkr_sequence_destroy(init);
    return s;
}

/* (Re)records a GPU executor's step: one sequence, or two around the shared gradient hook. */
static vkr_status vkr_exec_record_step(vkr_exec* ex) {
    vkr_sequence_destroy(ex->seq);
    vkr_sequence_destroy(ex->seq_update);
    free(ex->grad_host);
    ex->seq = ex->seq_update = NULL;
    ex->grad_host = NULL;
    VKR_TRY(vkr_sequence_create(ex->dev, &ex->seq));
    bool hooked = vkr_exec_hooked(ex);
    if (hooked) {
        ex->grad_host = malloc(ex->slots[SLOT_PARAM_GRAD]->bytes);
        if (!ex->grad_host) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory staging gradients");
        VKR_TRY(vkr_sequence_create(ex->dev, &ex->seq_update));
    }
    VKR_TRY(vkr_program(ex));
    if (!hooked) return VKR_OK;
    /* the update records into the context's sequence: point it at the second one */
    vkr_sequence* own = ex->seq;
    ex->seq = ex->seq_update;
    vkr_status s = vkr_program_update(ex);
    ex->seq = own;
    return s;
}

vkr_status vkr_exec_create(vkr_graph* g, const vkr_exec_options* options, vkr_exec** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_create: out_exec is NULL");
    *out = NULL;
    if (!g) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_create: graph is NULL");
    if (vkr_graph_status(g) != VKR_OK)
        return vkr_fail(vkr_graph_status(g), "the graph has an error: %s", vkr_graph_error(g));
    vkr_exec_options o = options ? *options : (vkr_exec_options){0};
    vkr_exec* ex = calloc(1, sizeof *ex);
    if (!ex) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating an executor");
    ex->graph = g;
    ex->dev = o.device;
    ex->gpu = o.device != NULL;
    ex->backward = !o.no_backward && vkr_graph_loss(g) != NULL;
    ex->training = o.training;
    ex->ctx.ex = ex;
    for (int k = 0; k < SLOT_COUNT; k++) ex->slots[k] = &ex->own[k];
    vkr_status s = vkr_plan(ex);
    if (s == VKR_OK) s = vkr_exec_derive_plan(ex);
    if (s == VKR_OK) s = o.share ? vkr_shared_attach(ex, &o) : vkr_shared_create(ex, &o);
    if (s == VKR_OK) s = vkr_exec_alloc_slots(ex, !o.share);
    if (s == VKR_OK) s = vkr_exec_number_params(ex);
    if (s == VKR_OK && !o.share && ex->sh->optim_config) s = vkr_exec_optim_init(ex);
    if (s == VKR_OK && ex->gpu) {
        vkr_kernel_desc d = {.shader = "graph_step", .binding_count = 1, .access = {VKR_READ_WRITE}};
        s = vkr_kernel_get(ex->dev, &d, &ex->step_kernel);
        if (s == VKR_OK) s = vkr_exec_record_step(ex);
    }
    if (s != VKR_OK) {
        vkr_exec_destroy(ex);
        return s;
    }
    *out = ex;
    return VKR_OK;
}

void vkr_exec_destroy(vkr_exec* ex) {
    if (!ex) return;
    vkr_sequence_destroy(ex->seq);
    vkr_sequence_destroy(ex->seq_update);
    free(ex->grad_host);
    vkr_shared_leave(ex);
    for (int k = 0; k < SLOT_COUNT; k++) vkr_slot_free(ex->gpu ? ex->dev : NULL, &ex->own[k]);
    free(ex->optim_index);
    free(ex->root);
    free(ex->zeroed);
    free(ex->derive_first);
    free(ex->derive_next);
    free(ex);
}

static vkr_status vkr_check_io(const vkr_exec* ex, const vkr_tensor* t, uint64_t bytes, const char* what) {
    if (!ex || !t) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: NULL executor or tensor", what);
    if (t->index >= vkr_graph_tensor_count(ex->graph) || vkr_graph_tensor(ex->graph, t->index) != t)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: tensor %s is not in this executor's graph", what, t->name);
    if (bytes != vkr_tensor_bytes(t))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: tensor %s holds %llu bytes, %llu given", what, t->name,
                        (unsigned long long)vkr_tensor_bytes(t), (unsigned long long)bytes);
    return VKR_OK;
}

/* Rebuilds host-derived inputs of `t` (embedding inverse indices) after t was written. */
static vkr_status vkr_exec_derive(vkr_exec* ex, const vkr_tensor* t, const void* data) {
    if (!ex->derive_first) return VKR_OK;
    for (uint32_t i = ex->derive_first[t->index]; i != UINT32_MAX; i = ex->derive_next[i]) {
        vkr_tensor* c = vkr_graph_tensor(ex->graph, i);
        const vkr_embedding_params* p = (const vkr_embedding_params*)c->params;
        int32_t* csr = malloc(vkr_tensor_bytes(c));
        if (!csr) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory building %s", c->name);
        vkr_status s = vkr_embedding_csr_build(p, data, csr);
        if (s == VKR_OK && ex->gpu) {
            vkr_range r = vkr_ctx_range(&ex->ctx, c);
            s = vkr_buffer_upload(ex->dev, r.buffer, r.offset, csr, vkr_tensor_bytes(c));
        } else if (s == VKR_OK) {
            memcpy(vkr_ctx_host(&ex->ctx, c), csr, vkr_tensor_bytes(c));
        }
        free(csr);
        if (s != VKR_OK) return vkr_fail_context(s, "ids written to %s: ", t->name);
    }
    return VKR_OK;
}

vkr_status vkr_exec_write(vkr_exec* ex, const vkr_tensor* t, const void* data, uint64_t bytes) {
    VKR_TRY(vkr_check_io(ex, t, bytes, "vkr_exec_write"));
    if (t->role == VKR_ROLE_ACTIVATION || t->role == VKR_ROLE_GRAD)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_write: %s is computed by the graph, not set by the host",
                        t->name);
    if (ex->gpu) {
        vkr_range r = vkr_ctx_range(&ex->ctx, t);
        VKR_TRY(vkr_buffer_upload(ex->dev, r.buffer, r.offset, data, bytes));
    } else {
        memcpy(vkr_ctx_host(&ex->ctx, t), data, bytes);
    }
    return vkr_exec_derive(ex, t, data);
}

vkr_status vkr_exec_read(vkr_exec* ex, const vkr_tensor* t, void* data, uint64_t bytes) {
    VKR_TRY(vkr_check_io(ex, t, bytes, "vkr_exec_read"));
    const vkr_tensor* r = vkr_root(t);
    bool readable = r->storage != SLOT_ARENA || t->keep || r->keep || t == vkr_graph_loss(ex->graph);
    if (!readable)
        return vkr_fail(VKR_ERR_STATE, "vkr_exec_read: %s may have been overwritten; mark it with vkr_graph_keep", t->name);
    if (r->role == VKR_ROLE_GRAD && r->storage == SLOT_ARENA)
        return vkr_fail(VKR_ERR_STATE, "vkr_exec_read: gradients of activations are not kept (%s)", t->name);
    if (ex->gpu) {
        vkr_range rg = vkr_ctx_range(&ex->ctx, t);
        return vkr_buffer_download(ex->dev, rg.buffer, rg.offset, data, bytes);
    }
    memcpy(data, vkr_ctx_host(&ex->ctx, t), bytes);
    return VKR_OK;
}

vkr_status vkr_exec_set_grad_hook(vkr_exec* ex, vkr_exec_grad_hook hook, void* user) {
    if (!ex) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_set_grad_hook: executor is NULL");
    if (hook && (!ex->backward || !ex->slots[SLOT_PARAM_GRAD]->bytes))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_set_grad_hook: the executor trains no parameters");
    vkr_exec_shared* sh = ex->sh;
    sh->grad_hook = hook;
    sh->grad_hook_user = user;
    for (uint32_t i = 0; i < sh->refs; i++)
        if (sh->members[i]->gpu) VKR_TRY(vkr_exec_record_step(sh->members[i]));
    return VKR_OK;
}

/* A GPU step around the gradient hook: forward and backward, the gradients to host memory and back
 * through the hook, then the update. */
static vkr_status vkr_exec_run_hooked(vkr_exec* ex) {
    const vkr_slot* g = ex->slots[SLOT_PARAM_GRAD];
    VKR_TRY(vkr_sequence_submit(ex->seq));
    VKR_TRY(vkr_buffer_download(ex->dev, &g->buffer, 0, ex->grad_host, g->bytes));
    VKR_TRY(ex->sh->grad_hook(ex->sh->grad_hook_user, ex->grad_host, g->bytes / sizeof(float)));
    VKR_TRY(vkr_buffer_upload(ex->dev, &g->buffer, 0, ex->grad_host, g->bytes));
    return vkr_sequence_submit(ex->seq_update);
}

vkr_status vkr_exec_run(vkr_exec* ex) {
    if (!ex) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_run: executor is NULL");
    if (ex->gpu && ex->seq_update) VKR_TRY(vkr_exec_run_hooked(ex));
    else if (ex->gpu) VKR_TRY(vkr_sequence_submit(ex->seq));
    else VKR_TRY(vkr_program(ex));
    ex->sh->steps++;
    return VKR_OK;
}

vkr_status vkr_exec_record(vkr_exec* ex, vkr_sequence* seq) {
    if (!ex || !seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_record: executor or sequence is NULL");
    if (!ex->gpu || ex->backward)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_record: only forward-only GPU executors can be recorded");
    /* the ops record into the context's sequence: point it at the caller's for one programming pass */
    vkr_sequence* own = ex->seq;
    ex->seq = seq;
    vkr_status s = vkr_program(ex);
    ex->seq = own;
    return s;
}

uint64_t vkr_exec_steps(const vkr_exec* ex) { return ex ? ex->sh->steps : 0; }

vkr_status vkr_exec_set_steps(vkr_exec* ex, uint64_t steps) {
    if (!ex) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_set_steps: executor is NULL");
    if (steps > UINT32_MAX) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_exec_set_steps: %llu steps is too many",
                                            (unsigned long long)steps);
    ex->sh->steps = steps;
    if (ex->gpu) {
        uint32_t v = (uint32_t)steps;
        return vkr_buffer_upload(ex->dev, &ex->slots[SLOT_STEP]->buffer, 0, &v, 4);
    }
    return VKR_OK;
}

bool vkr_exec_on_gpu(const vkr_exec* ex) { return ex && ex->gpu; }
uint64_t vkr_exec_arena_bytes(const vkr_exec* ex) { return ex ? ex->arena_bytes : 0; }
uint32_t vkr_exec_dispatches(const vkr_exec* ex) {
    return ex && ex->gpu ? vkr_sequence_dispatch_count(ex->seq) + vkr_sequence_dispatch_count(ex->seq_update) : 0;
}
uint64_t vkr_exec_unplanned_bytes(const vkr_exec* ex) { return ex ? ex->unplanned_bytes : 0; }

vkr_range vkr_exec_tensor_range(vkr_exec* ex, const vkr_tensor* t) {
    if (!ex || !t || !ex->gpu) return (vkr_range){0};
    const vkr_tensor* r = vkr_root(t);
    if (r->storage == SLOT_ARENA && !t->keep && !r->keep) return (vkr_range){0};
    return vkr_ctx_range(&ex->ctx, t);
}
