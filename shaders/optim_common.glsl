// Shared by the optimizer update kernels (optim_sgd, optim_momentum, optim_adam): the per-step
// scalar state written by optim_tick / optim_clip (vkr_optim_scalars in graph/vkr_optim.h), the
// gradient and parameter bindings, and the push constants fixed at record time.
layout(std430, binding = 0) readonly buffer OptimScalars {
    uint step;
    float lr;
    float beta1_pow;
    float beta2_pow;
    float grad_norm;
    float clip_scale;
} st;
layout(std430, binding = 1) readonly buffer Grad { float grad[]; };
layout(std430, binding = 2) buffer Param { float param[]; };
layout(push_constant) uniform Push {
    uint n;         // elements of this parameter
    float lr_mult;  // the parameter group's learning-rate multiplier
    float wd;       // the group's weight decay
    float beta1;    // Adam: first-moment decay; SGD: momentum
    float beta2;    // Adam: second-moment decay
    float eps;      // Adam: denominator epsilon
} pc;

// The clipped gradient. Scale 0 marks a non-finite global norm: the gradient is then treated as 0
// (0 * NaN would still be NaN).
float clipped_grad(uint i, float scale) { return scale == 0.0 ? 0.0 : grad[i] * scale; }

// Grid-stride loop bounds: dispatches are capped at 65535 groups, large tensors loop.
#define OPTIM_FOR_EACH(i) \
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
