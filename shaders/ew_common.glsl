// Shared by the ew_*.comp kernels: flat indices over a 2-D grid of 1-D workgroups (the host folds
// more than maxComputeWorkGroupCount[0] groups into rows, see vkr_ew_dispatch) and 4-D coordinates.
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

// Coordinates of flat row-major index i in a tensor of dims d.
uvec4 ew_coords(uint i, uvec4 d) {
    uvec4 c;
    c.w = i % d.w; i /= d.w;
    c.z = i % d.z; i /= d.z;
    c.y = i % d.y;
    c.x = i / d.y;
    return c;
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
