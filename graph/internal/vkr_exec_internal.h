/* Graph tier, internal (graph/ only): the executor's state, shared by vkr_exec.c (planning,
 * running) and vkr_exec_train.c (optimizer, checkpoints). Nothing outside the executor reads it. */
#ifndef VKR_EXEC_INTERNAL_H
#define VKR_EXEC_INTERNAL_H
#include "vkr_exec.h"
#include "vkr_exec_ctx.h"

/* Persistent homes of non-arena tensors, plus the arena. */
enum { SLOT_ARENA = 0, SLOT_PARAM, SLOT_PARAM_GRAD, SLOT_INPUT, SLOT_CONST, SLOT_STEP, SLOT_COUNT };

#define VKR_STEP_INF UINT32_MAX

typedef struct vkr_slot {
    vkr_buffer buffer; /* GPU */
    uint8_t* host;     /* CPU */
    uint64_t bytes;
} vkr_slot;

struct vkr_exec_ctx {
    vkr_exec* ex;
};

struct vkr_exec {
    vkr_graph* graph;
    vkr_device* dev;
    bool gpu;
    bool backward;
    bool training;
    const vkr_optim_config* optim_config; /* NULL: no update */
    float group_lr[VKR_OPTIM_MAX_GROUPS];  /* per-group lr multipliers */
    float group_wd[VKR_OPTIM_MAX_GROUPS];  /* per-group weight decay */
    vkr_optim_config optim_copy;
    vkr_optim* optim;                      /* GPU optimizer */
    vkr_optim_scalars cpu_scalars;         /* CPU optimizer state */
    float** cpu_m;                         /* per parameter tensor index: first moment (CPU) */
    float** cpu_v;                         /* second moment (CPU) */
    uint32_t* optim_index;                 /* per tensor index: its index in the GPU optimizer */
    vkr_slot slots[SLOT_COUNT];
    vkr_sequence* seq;
    vkr_sequence* seq_update;              /* GPU with a gradient hook: the update, after the hook */
    vkr_exec_grad_hook grad_hook;          /* between backward and update, or NULL */
    void* grad_hook_user;
    float* grad_host;                      /* GPU with a gradient hook: host copy of the gradients */
    vkr_kernel* step_kernel;
    uint64_t steps;
    uint64_t arena_bytes;
    uint64_t unplanned_bytes;
    vkr_exec_ctx ctx;
    /* planning scratch, per tensor index */
    uint32_t* root;
    bool* zeroed;
    /* host-derived inputs (embedding inverse indices), per tensor index: the first one built from
     * it and the next one built from the same source (UINT32_MAX ends a list); NULL without backward */
    uint32_t* derive_first;
    uint32_t* derive_next;
};

/* The tensor whose storage t shares (t itself unless a view). */
const vkr_tensor* vkr_root(const vkr_tensor* t);
/* Creates the optimizer state for every parameter (executor creation). */
vkr_status vkr_exec_optim_init(vkr_exec* ex);
/* Records (GPU) or runs (CPU) one optimizer step after backward. */
vkr_status vkr_exec_optim_step(vkr_exec* ex);
/* Frees the optimizer state. */
void vkr_exec_optim_free(vkr_exec* ex);

#endif
