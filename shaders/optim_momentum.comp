#version 460
#extension GL_GOOGLE_include_directive : require
// SGD with momentum (PyTorch convention, no dampening): b = mu*b + g, p -= lr*b, g with L2 decay.
layout(local_size_x_id = 0) in;
#include "optim_common.glsl"
layout(std430, binding = 3) buffer Momentum { float buf[]; };

void main() {
    float lr = st.lr * pc.lr_mult;
    float scale = st.clip_scale;
    float mu = pc.beta1;
    OPTIM_FOR_EACH(i) {
        float p = param[i];
        float g = clipped_grad(i, scale) + pc.wd * p;
        float b = mu * buf[i] + g;
        buf[i] = b;
        param[i] = p - lr * b;
    }
}
