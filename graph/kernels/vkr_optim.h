/* Optimizers (SGD with optional momentum, Adam, AdamW), learning-rate schedules and global-norm
 * gradient clipping, on the GPU and as plain CPU references with the same math.
 *
 * Contract: a training step is recorded once into a sequence and replayed, and push constants are
 * fixed at record time, so everything that changes per step lives in a small device buffer, the
 * scalar state (vkr_optim_scalars): the step counter, the scheduled learning rate, the running
 * powers beta1^t and beta2^t for bias correction, the global gradient norm and the clip scale.
 * vkr_gpu_optim_step records, in order: the tick kernel (step += 1, then lr(step) and the powers),
 * the clipping kernels when clip_norm > 0 (per-parameter partial sums of squares in fixed-size
 * blocks, then one workgroup sums the partials in a fixed order and writes norm and scale: no
 * atomics, no host round trip, bitwise reproducible run to run), and one update dispatch per
 * parameter. Replaying the sequence N times equals N CPU steps (vkr_optim_cpu_*) up to float
 * rounding.
 *
 * Math (g = clip_scale * grad, lr = schedule(t) * group lr_mult, wd = the group's weight decay):
 *   SGD:      g += wd*p; with momentum mu > 0: b = mu*b + g, p -= lr*b; else p -= lr*g
 *   Adam:     g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *             p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
 *   AdamW:    p *= 1 - lr*wd (decoupled), then the Adam update without the L2 term
 *   schedule: t <= warmup: peak*t/warmup; then over (warmup, total]: cosine
 *             min + (peak-min)*(1+cos(pi*p))/2 or linear min + (peak-min)*(1-p), p = (t-warmup)/(total-warmup);
 *             min after total; constant: peak after warm-up
 *   clipping: norm = sqrt(sum of g^2 over all parameters); scale = min(1, clip_norm/(norm+1e-6));
 *             a non-finite norm gives scale 0 and every gradient then counts as 0 for that step
 *             (moments decay, weight decay applies); without clipping, non-finite values propagate
 * Parameters, gradients and optimizer state are float32. The optimizer owns its moment buffers
 * and scalar state; parameter and gradient buffers belong to the caller and must outlive it. */
#ifndef VKR_OPTIM_H
#define VKR_OPTIM_H
#include <stddef.h>
#include <stdint.h>

#include "vkr_runtime.h"

/* Most parameter groups (each with its own lr multiplier and weight decay). */
#define VKR_OPTIM_MAX_GROUPS 16

/* Update rule. */
typedef enum vkr_optim_kind {
    VKR_OPTIM_SGD = 0, /* SGD, momentum optional, L2 weight decay */
    VKR_OPTIM_ADAM,    /* Adam with bias correction, L2 weight decay */
    VKR_OPTIM_ADAMW    /* Adam with decoupled weight decay */
} vkr_optim_kind;

/* Shape of the learning rate after warm-up. */
typedef enum vkr_lr_decay {
    VKR_LR_CONSTANT = 0, /* peak forever */
    VKR_LR_COSINE,       /* cosine from peak to min over (warmup, total] */
    VKR_LR_LINEAR        /* straight line from peak to min over (warmup, total] */
} vkr_lr_decay;

/* Learning-rate schedule, a function of the 1-based step t. */
typedef struct vkr_lr_schedule {
    float peak_lr;         /* learning rate after warm-up */
    float min_lr;          /* learning rate at and after total_steps (decaying schedules) */
    uint32_t warmup_steps; /* linear warm-up from peak/warmup to peak over steps 1..warmup */
    uint32_t total_steps;  /* end of the decay (> warmup_steps for decaying schedules) */
    vkr_lr_decay decay;    /* shape after warm-up */
} vkr_lr_schedule;

/* Optimizer hyper-parameters. */
typedef struct vkr_optim_config {
    vkr_optim_kind kind;       /* update rule */
    vkr_lr_schedule schedule;  /* learning rate per step */
    float momentum;            /* SGD momentum (0: none, no state buffer) */
    float beta1;               /* Adam first-moment decay (e.g. 0.9) */
    float beta2;               /* Adam second-moment decay (e.g. 0.999) */
    float eps;                 /* Adam denominator epsilon (e.g. 1e-8) */
    float weight_decay;        /* default weight decay of every group */
    float clip_norm;           /* > 0: clip the global gradient norm to this; 0: no clipping */
} vkr_optim_config;

/* The per-step scalar state; the device keeps the same 32-byte layout. */
typedef struct vkr_optim_scalars {
    uint32_t step;      /* steps taken (t after the tick) */
    float lr;           /* scheduled learning rate of step t (before group multipliers) */
    float beta1_pow;    /* beta1^t */
    float beta2_pow;    /* beta2^t */
    float grad_norm;    /* global gradient norm of step t (0 without clipping) */
    float clip_scale;   /* factor applied to every gradient in step t (1 without clipping) */
    uint32_t reserved[2]; /* zero */
} vkr_optim_scalars;

/* A GPU optimizer over a list of parameters. */
typedef struct vkr_optim vkr_optim;

/* Creates an optimizer; out_optim is zeroed on entry. Checks the configuration. */
vkr_status vkr_optim_create(vkr_device* device, const vkr_optim_config* config, vkr_optim** out_optim);
/* Frees the optimizer and its state buffers (NULL is a no-op). */
void vkr_optim_destroy(vkr_optim* optim);
/* Sets group `group`'s lr multiplier and weight decay (defaults: 1 and config.weight_decay). */
vkr_status vkr_optim_set_group(vkr_optim* optim, uint32_t group, float lr_mult, float weight_decay);
/* Adds a parameter of `count` float32 values in `param` with its gradient in `grad` (the buffers
 * must outlive the optimizer) to `group`, with zeroed moments in the optimizer's moment arenas;
 * *out_index (optional) receives its index. Call before recording. When every parameter shares one
 * buffer and every gradient another (an executor's slots), a step can update them all in one
 * dispatch (vkr_optim_set_one_dispatch). */
vkr_status vkr_optim_add_param(vkr_optim* optim, vkr_range param, vkr_range grad, uint64_t count, uint32_t group,
                               uint32_t* out_index);
/* Whether steps recorded from now on update every parameter in one dispatch when they share buffers
 * (default: on for GPUs, off for CPU drivers, where per-parameter dispatches measured faster). */
void vkr_optim_set_one_dispatch(vkr_optim* optim, bool on);
/* Number of parameters added. */
uint32_t vkr_optim_param_count(const vkr_optim* optim);
/* The range of moment `which` of parameter `i` (0: m or the momentum, 1: v); empty when the rule
 * has no such moment. */
vkr_range vkr_optim_moment(const vkr_optim* optim, uint32_t i, uint32_t which);
/* The device buffer holding the vkr_optim_scalars. */
const vkr_buffer* vkr_optim_scalar_buffer(const vkr_optim* optim);

/* Records a whole optimizer step (tick, clipping, every parameter's update) into `seq`. */
vkr_status vkr_gpu_optim_step(vkr_sequence* seq, vkr_optim* optim);
/* Records only the tick: step += 1, then the scheduled lr and the bias-correction powers. */
vkr_status vkr_gpu_optim_tick(vkr_sequence* seq, vkr_optim* optim);
/* Records the global-norm computation and the clip scale (a no-op when clip_norm is 0). */
vkr_status vkr_gpu_optim_clip(vkr_sequence* seq, vkr_optim* optim);
/* Records the update of parameter `i` (after the tick and the clip of the same step). */
vkr_status vkr_gpu_optim_update(vkr_sequence* seq, vkr_optim* optim, uint32_t i);

/* Reads the scalar state back (waits for nothing: call between submissions). */
vkr_status vkr_optim_read_scalars(vkr_optim* optim, vkr_optim_scalars* out_scalars);
/* Zeroes every moment buffer and sets the step to 0 (a fresh optimizer). */
vkr_status vkr_optim_reset(vkr_optim* optim);
/* Sets the step counter to `step` (resuming from a checkpoint whose moments were uploaded). */
vkr_status vkr_optim_set_step(vkr_optim* optim, uint32_t step);

/* ---- CPU reference (same math) ---- */

/* Checks a configuration; INVALID_ARGUMENT naming the bad field. */
vkr_status vkr_optim_config_check(const vkr_optim_config* config);
/* The scheduled learning rate of 1-based step `step` (computed in double, returned as float). */
float vkr_lr_at(const vkr_lr_schedule* schedule, uint32_t step);
/* Scalars of a fresh optimizer (step 0, powers 1, scale 1). */
vkr_optim_scalars vkr_optim_scalars_init(void);
/* CPU tick: step += 1, lr, beta powers (clip fields reset to norm 0, scale 1). */
void vkr_optim_cpu_tick(const vkr_optim_config* config, vkr_optim_scalars* scalars);
/* CPU clipping: global norm over `n` gradients (grads[i] has counts[i] values), in double. */
void vkr_optim_cpu_clip(const vkr_optim_config* config, vkr_optim_scalars* scalars, uint32_t n,
                        const float* const* grads, const uint64_t* counts);
/* CPU update of one parameter: m is the momentum / first moment, v the second moment (either may
 * be NULL when the rule does not use it). */
void vkr_optim_cpu_update(const vkr_optim_config* config, const vkr_optim_scalars* scalars, float lr_mult,
                          float weight_decay, float* param, const float* grad, float* m, float* v, size_t count);

#endif
