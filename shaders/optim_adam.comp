#version 460
#extension GL_GOOGLE_include_directive : require
// Adam / AdamW with bias correction from the running powers beta^t kept in the scalar state.
// DECOUPLED = 1 (AdamW): p *= 1 - lr*wd before the update; 0 (Adam): wd*p is added to the gradient.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DECOUPLED = 0;
#include "optim_common.glsl"

void optim_element(uint gi, uint pi, uint mi, float lr_mult, float wd) {
    float lr = st.lr * lr_mult;
    float p = param[pi];
    float g = clipped_grad(gi, st.clip_scale);
    if (DECOUPLED != 0) p = p * (1.0 - lr * wd);
    else g = g + wd * p;
    float m = pc.beta1 * m1[mi] + (1.0 - pc.beta1) * g;
    float v = pc.beta2 * m2[mi] + (1.0 - pc.beta2) * (g * g);
    m1[mi] = m;
    m2[mi] = v;
    float mhat = m / (1.0 - st.beta1_pow);
    float vhat = v / (1.0 - st.beta2_pow);
    param[pi] = p - lr * mhat / (sqrt(vhat) + pc.eps);
}
