// Fixed-order workgroup reductions for 1-D workgroups whose size is a power of two: a shared-memory
// tree with the same pairing every run, so results are bitwise reproducible (no atomics). Every
// invocation of the workgroup must call them (they contain barriers).
shared float nn_red[gl_WorkGroupSize.x];

float nn_sum(float v) {
    uint t = gl_LocalInvocationID.x;
    nn_red[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (t < s) nn_red[t] += nn_red[t + s];
        barrier();
    }
    float r = nn_red[0];
    barrier();
    return r;
}

float nn_max(float v) {
    uint t = gl_LocalInvocationID.x;
    nn_red[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (t < s) nn_red[t] = max(nn_red[t], nn_red[t + s]);
        barrier();
    }
    float r = nn_red[0];
    barrier();
    return r;
}
