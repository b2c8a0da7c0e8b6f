#version 460
// Global-norm clipping, pass 2 (one workgroup): sums every partial in a fixed order, then writes
// the norm and scale = min(1, max_norm / (norm + 1e-6)) into the scalar state; a non-finite norm
// gives scale 0 so that a bad gradient cannot poison the parameters.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Partials { float part[]; };
layout(std430, binding = 1) buffer OptimScalars {
    uint step;
    float lr;
    float beta1_pow;
    float beta2_pow;
    float grad_norm;
    float clip_scale;
} st;
layout(push_constant) uniform Push { uint count; float max_norm; } pc;
shared float red[gl_WorkGroupSize.x];

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint wg = gl_WorkGroupSize.x;
    float acc = 0.0;
    for (uint i = lid; i < pc.count; i += wg) acc += part[i];
    red[lid] = acc;
    barrier();
    for (uint s = wg / 2u; s > 0u; s >>= 1u) {
        if (lid < s) red[lid] += red[lid + s];
        barrier();
    }
    if (lid == 0u) {
        float norm = sqrt(red[0]);
        float scale = min(1.0, pc.max_norm / (norm + 1e-6));
        if (isnan(norm) || isinf(norm)) scale = 0.0;
        st.grad_norm = norm;
        st.clip_scale = scale;
    }
}
