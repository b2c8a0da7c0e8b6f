#version 460
// y = permute(x) over 4-D shapes: y.shape[i] = x.shape[perm[i]]. With accumulate set, y += permute(x)
// (the backward runs the inverse permutation into the gradient, which is a bijection, so each
// output element is written by exactly one invocation and no atomics are needed).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uvec4 y_shape;   // output dims
    uvec4 x_strides; // stride in x of each output axis (x's stride of axis perm[i])
    uint n;          // elements
    uint accumulate;
} p;

void main() {
    uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 256u + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    uint r = i;
    uint c3 = r % p.y_shape.w; r /= p.y_shape.w;
    uint c2 = r % p.y_shape.z; r /= p.y_shape.z;
    uint c1 = r % p.y_shape.y; r /= p.y_shape.y;
    uint c0 = r;
    float v = x[c0 * p.x_strides.x + c1 * p.x_strides.y + c2 * p.x_strides.z + c3 * p.x_strides.w];
    y[i] = p.accumulate != 0u ? y[i] + v : v;
}
