// Shared by the ew_*.comp kernels: flat indices over a 2-D grid of 1-D workgroups (the host folds
// more than maxComputeWorkGroupCount[0] groups into rows, see vkr_sequence_dispatch_grid) and 4-D coordinates.
#ifndef EW_COMMON_GLSL
#define EW_COMMON_GLSL

// Workgroup size from spec constant 0. Declared here, before any use of gl_WorkGroupSize: glslang
// folds a use that precedes this declaration to the default size 1.
layout(local_size_x_id = 0) in;

// Flat workgroup index; may exceed the real count in the last grid row, so kernels bound-check.
uint ew_group_index() {
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}

// Flat invocation index.
uint ew_global_index() {
    return ew_group_index() * gl_WorkGroupSize.x + gl_LocalInvocationIndex;
}

// Coordinates of flat row-major index i in a tensor of dims d. One division per dim (remainders by
// multiply-subtract): integer division is the dominant cost of broadcast indexing on CPU drivers.
uvec4 ew_coords(uint i, uvec4 d) {
    uint q3 = i / d.w, q2 = q3 / d.z, q1 = q2 / d.y;
    return uvec4(q1, q2 - q1 * d.y, q3 - q2 * d.z, i - q3 * d.w);
}

// Row-major strides of dims d.
uvec4 ew_strides(uvec4 d) {
    return uvec4(d.y * d.z * d.w, d.z * d.w, d.w, 1u);
}

// Dot product of coordinates and strides (GLSL has no integer dot).
uint ew_offset(uvec4 c, uvec4 s) {
    return c.x * s.x + c.y * s.y + c.z * s.z + c.w * s.w;
}

#endif
