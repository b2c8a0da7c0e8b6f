// Helpers shared by the nn_*.comp kernels (no shared memory here; see nn_reduce.glsl).
#ifndef NN_COMMON_GLSL
#define NN_COMMON_GLSL

// Linear workgroup id: the host folds large dispatches into a 2-D grid (vkr_sequence_dispatch_grid).
uint nn_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// Ranking key whose unsigned order is the float order used by argmax/top-k: any NaN highest, then
// +inf ... -inf, -0.0 == +0.0. Bit operations only, so it matches vkr_nn_rank_key on the host
// exactly, whatever the device does with denormals.
uint nn_rank_key(float v) {
    uint u = floatBitsToUint(v);
    uint mag = u & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return 0xFFFFFFFFu;
    if (mag == 0u) return 0x80000000u;
    return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}

// True when (key a, index ia) ranks before (key b, index ib): larger key first, then lower index.
bool nn_ranks_before(uint a, uint ia, uint b, uint ib) { return a > b || (a == b && ia < ib); }

// Stable log(1 + exp(-t)) for t >= 0 (GLSL has no log1p; the series keeps tiny terms accurate).
float nn_log1p_exp_neg(float t) {
    float e = exp(-t);
    return e < 1e-4 ? e - 0.5 * e * e : log(1.0 + e);
}

// Stable logistic function.
float nn_sigmoid(float v) {
    if (v >= 0.0) return 1.0 / (1.0 + exp(-v));
    float e = exp(v);
    return e / (1.0 + e);
}
#endif
