#version 460
#extension GL_GOOGLE_include_directive : require
// Adam / AdamW with bias correction from the running powers beta^t kept in the scalar state.
// DECOUPLED = 1 (AdamW): p *= 1 - lr*wd before the update; 0 (Adam): wd*p is added to the gradient.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DECOUPLED = 0;
#include "optim_common.glsl"
layout(std430, binding = 3) buffer M { float m1[]; };
layout(std430, binding = 4) buffer V { float m2[]; };

void main() {
    float lr = st.lr * pc.lr_mult;
    float scale = st.clip_scale;
    float bc1 = 1.0 - st.beta1_pow;
    float bc2 = 1.0 - st.beta2_pow;
    float decay = 1.0 - lr * pc.wd;
    OPTIM_FOR_EACH(i) {
        float p = param[i];
        float g = clipped_grad(i, scale);
        if (DECOUPLED != 0) p = p * decay;
        else g = g + pc.wd * p;
        float m = pc.beta1 * m1[i] + (1.0 - pc.beta1) * g;
        float v = pc.beta2 * m2[i] + (1.0 - pc.beta2) * (g * g);
        m1[i] = m;
        m2[i] = v;
        float mhat = m / bc1;
        float vhat = v / bc2;
        param[i] = p - lr * mhat / (sqrt(vhat) + pc.eps);
    }
}
