/* Executing a graph on the GPU (one recorded sequence, replayed per step) or on the CPU reference
 * backend (the same ops' plain C implementations), with no change to the model.
 *
 * Contract: vkr_exec_create plans storage once: parameters, their gradients, inputs and constants
 * get persistent homes; activations and activation gradients share one arena, assigned by lifetime
 * (a tensor's bytes are reused once its last reader has run). On the GPU it then records forward,
 * backward (when the graph has a loss with gradients) and, when an optimizer is attached, the
 * parameter update into one sequence. vkr_exec_run uploads only the inputs set since the last run,
 * replays the sequence and waits: no host round trip inside a step (except around a gradient hook,
 * vkr_exec_set_grad_hook, which data-parallel training installs). Tensors marked with
 * vkr_graph_keep, parameters and gradients of parameters can be read after a run; other activations
 * may have been overwritten by the planner.
 *
 * Sharing: an executor created with options.share = E uses E's parameter, parameter-gradient and
 * step-counter storage, E's optimizer with its moments and scalars, and E's gradient hook, instead of
 * its own; the graphs must have the same parameters (names, shapes, groups, trainability) in the same
 * order. Several graphs of one model (e.g. one per sequence length) then train one set of weights:
 * a step run on any of them is seen by all, exactly as if one executor had run every step. Inputs,
 * constants and activations stay each executor's own. Members may be destroyed in any order. */
#ifndef VKR_EXEC_H
#define VKR_EXEC_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_graph.h"
#include "vkr_optim.h"

typedef struct vkr_exec vkr_exec;

/* Options for vkr_exec_create; zero-initialize for defaults. */
typedef struct vkr_exec_options {
    vkr_device* device;       /* GPU device; NULL runs on the CPU reference backend */
    bool no_backward;         /* run forward only even if the graph has a loss (evaluation) */
    bool training;            /* dropout active (otherwise dropout is the identity) */
    const vkr_optim_config* optimizer; /* parameter update after backward, or NULL */
    uint32_t group_count;     /* entries in group_lr_mult / group_weight_decay (may be 0) */
    const float* group_lr_mult;      /* learning-rate multiplier per parameter group (NULL: all 1) */
    const float* group_weight_decay; /* weight decay per group (NULL: the config's) */
    vkr_exec* share;          /* share this executor's parameters, optimizer and steps (NULL: own ones);
                                 device must match, optimizer and groups be unset or equal to its */
} vkr_exec_options;

/* Called once per step between the backward and the optimizer update with every parameter gradient
 * in one host array of `count` floats (a GPU executor stages them through host memory); it may
 * rewrite them in place: the data-parallel gradient all-reduce. */
typedef vkr_status (*vkr_exec_grad_hook)(void* user, float* grads, uint64_t count);

/* Plans storage and (on the GPU) records the step. The graph must outlive the executor. */
vkr_status vkr_exec_create(vkr_graph* graph, const vkr_exec_options* options, vkr_exec** out_exec);
/* Frees the executor (the graph is untouched). */
void vkr_exec_destroy(vkr_exec* exec);
/* Installs (NULL: removes) the gradient hook of an executor that trains parameters, for every
 * executor sharing its parameters; a GPU executor re-records its step as two submissions around it. */
vkr_status vkr_exec_set_grad_hook(vkr_exec* exec, vkr_exec_grad_hook hook, void* user);
/* Copies host data into an input, constant or parameter (bytes must equal the tensor's size). */
vkr_status vkr_exec_write(vkr_exec* exec, const vkr_tensor* tensor, const void* data, uint64_t bytes);
/* Copies a tensor (kept activation, parameter, gradient, input) to host memory. */
vkr_status vkr_exec_read(vkr_exec* exec, const vkr_tensor* tensor, void* data, uint64_t bytes);
/* Runs one step: forward, backward and update as configured. */
vkr_status vkr_exec_run(vkr_exec* exec);
/* Records the forward pass of a GPU executor with no backward into `seq`, a caller's sequence, so
 * several graphs and other kernels run in one submission replayed as a whole (the sequence then
 * reads and writes this executor's storage: it must not outlive the executor). */
vkr_status vkr_exec_record(vkr_exec* exec, vkr_sequence* seq);
/* Number of steps run so far (dropout masks and optimizer steps derive from it). */
uint64_t vkr_exec_steps(const vkr_exec* exec);
/* Sets the step counter (resuming from a checkpoint). */
vkr_status vkr_exec_set_steps(vkr_exec* exec, uint64_t steps);
/* Fills every parameter from its initializer (vkr_graph_param_init), seeded by `seed` and the
 * parameter's name: the same seed gives bitwise the same weights on every machine and backend. */
vkr_status vkr_exec_init_params(vkr_exec* exec, uint64_t seed);
/* Writes parameters, optimizer moments and the step counters to a safetensors checkpoint
 * atomically; `metadata` is a NULL-terminated key, value, key, value... list (may be NULL). */
vkr_status vkr_exec_save(vkr_exec* exec, const char* path, const char* const* metadata);
/* Loads a checkpoint written by vkr_exec_save (or any file with matching parameter names, shapes
 * and dtypes): parameters always; moments and step counters when present and an optimizer is attached. */
vkr_status vkr_exec_load(vkr_exec* exec, const char* path);
/* Copies every parameter of dst's graph from the same-named parameter of src's graph (through host
 * memory, so the two may run on different backends): e.g. trained weights into a scoring graph. */
vkr_status vkr_exec_copy_params(vkr_exec* dst, vkr_exec* src);
/* The optimizer's scalar state after the last run (step, lr, grad norm, clip scale). */
vkr_status vkr_exec_optim_scalars(vkr_exec* exec, vkr_optim_scalars* out_scalars);
/* True on the GPU backend. */
bool vkr_exec_on_gpu(const vkr_exec* exec);
/* The device range holding a kept tensor, for kernels recorded outside the executor ({0} on the
 * CPU backend or when the tensor may be overwritten: mark it with vkr_graph_keep). */
vkr_range vkr_exec_tensor_range(vkr_exec* exec, const vkr_tensor* tensor);
/* Bytes of the activation arena after planning (for reports and planner tests). */
uint64_t vkr_exec_arena_bytes(const vkr_exec* exec);
/* GPU: kernel dispatches one run records (0 on the CPU backend or before the first run). */
uint32_t vkr_exec_dispatches(const vkr_exec* exec);
/* Bytes the activations would need without reuse (sum of their sizes). */
uint64_t vkr_exec_unplanned_bytes(const vkr_exec* exec);

#endif
