// Shared by the optimizer update kernels (optim_sgd, optim_momentum, optim_adam): the per-step
// scalar state written by optim_tick / optim_clip (vkr_optim_scalars in graph/vkr_optim.h), the
// gradient, parameter and moment bindings, the push constants fixed at record time, and the loop
// that calls the kernel's optim_element() for every element it owns.
//
// Two layouts: one parameter per dispatch (MULTI = 0: the bindings start at the parameter, a
// grid-stride loop covers pc.n elements), or every parameter in one dispatch (MULTI = 1: workgroup w
// updates chunk w of the Work table, which gives its element offsets in the shared parameter,
// gradient and moment buffers and its group's learning-rate multiplier and weight decay).
layout(constant_id = 2) const uint MULTI = 0;
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
layout(std430, binding = 3) buffer Moment1 { float m1[]; }; // m, or SGD's momentum (unused by plain SGD)
layout(std430, binding = 4) buffer Moment2 { float m2[]; }; // Adam's v
struct OptimChunk {
    uint param_off, grad_off, moment_off, count;
    float lr_mult, wd, pad0, pad1;
};
layout(std430, binding = 5) readonly buffer Work { OptimChunk chunk[]; };
layout(push_constant) uniform Push {
    uint n;         // MULTI = 0: elements of this parameter; MULTI = 1: chunks in the table
    float lr_mult;  // the parameter group's learning-rate multiplier (MULTI = 0)
    float wd;       // the group's weight decay (MULTI = 0)
    float beta1;    // Adam: first-moment decay; SGD: momentum
    float beta2;    // Adam: second-moment decay
    float eps;      // Adam: denominator epsilon
} pc;

// The clipped gradient. Scale 0 marks a non-finite global norm: the gradient is then treated as 0
// (0 * NaN would still be NaN).
float clipped_grad(uint g, float scale) { return scale == 0.0 ? 0.0 : grad[g] * scale; }

// Updates one element: gradient index g, parameter index p, moment index m, with the group's lr
// multiplier and weight decay. Defined by each kernel after this file.
void optim_element(uint g, uint p, uint m, float lr_mult, float wd);

void main() {
    if (MULTI == 0u) {
        // Grid-stride loop: dispatches are capped at 65535 groups, large tensors loop.
        for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
            optim_element(i, i, i, pc.lr_mult, pc.wd);
        return;
    }
    OptimChunk c = chunk[gl_WorkGroupID.x];
    for (uint i = gl_LocalInvocationID.x; i < c.count; i += gl_WorkGroupSize.x)
        optim_element(c.grad_off + i, c.param_off + i, c.moment_off + i, c.lr_mult, c.wd);
}
