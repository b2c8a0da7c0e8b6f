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

/* What executors created with vkr_exec_options.share hold in common (one per family, reference
 * counted, freed with the last member): the parameter, parameter-gradient and step-counter slots, the
 * optimizer with its state and the gradient hook, which reads and rewrites that shared storage. */
typedef struct vkr_exec_shared {
    uint32_t refs;                         /* executors using it */
    vkr_device* dev;                       /* GPU device, NULL on the CPU backend */
    vkr_slot slots[SLOT_COUNT];            /* only the kinds vkr_slot_is_shared names are used */
    uint64_t steps;                        /* steps run by all members together */
    const vkr_optim_config* optim_config;  /* NULL: no update */
    vkr_optim_config optim_copy;           /* what optim_config points at */
    float group_lr[VKR_OPTIM_MAX_GROUPS];  /* per-group lr multipliers */
    float group_wd[VKR_OPTIM_MAX_GROUPS];  /* per-group weight decay */
    vkr_optim* optim;                      /* GPU optimizer */
    vkr_optim_scalars cpu_scalars;         /* CPU optimizer state */
    uint32_t trainable;                    /* trainable parameters: entries of cpu_m and cpu_v */
    float** cpu_m;                         /* per trainable parameter in graph order: first moment (CPU) */
    float** cpu_v;                         /* second moment (CPU) */
    vkr_exec_grad_hook grad_hook;          /* between backward and update, or NULL */
    void* grad_hook_user;
    vkr_exec** members;                    /* the executors using it (a hook change re-records each) */
    uint32_t member_cap;                   /* entries members can hold (refs are in use) */
} vkr_exec_shared;

struct vkr_exec {
    vkr_graph* graph;
    vkr_device* dev;
    bool gpu;
    bool backward;
    bool training;
    vkr_exec_shared* sh;                   /* parameters, gradients, optimizer, steps (maybe shared) */
    uint32_t* optim_index;                 /* per tensor index: its trainable-parameter ordinal */
    vkr_slot own[SLOT_COUNT];              /* this executor's slots (the shared kinds hold only their layout) */
    vkr_slot* slots[SLOT_COUNT];           /* where each kind lives: own or the shared state's */
    vkr_sequence* seq;
    vkr_sequence* seq_update;              /* GPU with a gradient hook: the update, after the hook */
    float* grad_host;                      /* GPU with a gradient hook: host copy of the gradients */
    vkr_kernel* step_kernel;
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

/* True for the slot kinds executors sharing parameters hold in common. */
static inline bool vkr_slot_is_shared(int kind) {
    return kind == SLOT_PARAM || kind == SLOT_PARAM_GRAD || kind == SLOT_STEP;
}
/* The tensor whose storage t shares (t itself unless a view). */
const vkr_tensor* vkr_root(const vkr_tensor* t);
/* Numbers the trainable parameters of ex's graph in graph order (optim_index). */
vkr_status vkr_exec_number_params(vkr_exec* ex);
/* Creates the optimizer state for every parameter (the first executor of a shared state). */
vkr_status vkr_exec_optim_init(vkr_exec* ex);
/* Refuses (INVALID_ARGUMENT naming the first difference) to let ex share with `share` unless their
 * graphs have the same parameters in the same order and storage layout. */
vkr_status vkr_exec_check_share(const vkr_exec* ex, const vkr_exec* share);
/* Records (GPU) or runs (CPU) one optimizer step after backward. */
vkr_status vkr_exec_optim_step(vkr_exec* ex);
/* Frees the optimizer state of a shared state no executor uses any more. */
void vkr_exec_optim_free(vkr_exec_shared* sh);

#endif
