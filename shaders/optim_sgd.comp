#version 460
#extension GL_GOOGLE_include_directive : require
// Plain SGD with L2 weight decay: p -= lr * (scale*g + wd*p). No state buffer.
layout(local_size_x_id = 0) in;
#include "optim_common.glsl"

void main() {
    float lr = st.lr * pc.lr_mult;
    float scale = st.clip_scale;
    OPTIM_FOR_EACH(i) {
        float p = param[i];
        float g = clipped_grad(i, scale) + pc.wd * p;
        param[i] = p - lr * g;
    }
}
