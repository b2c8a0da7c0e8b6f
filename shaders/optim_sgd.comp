#version 460
#extension GL_GOOGLE_include_directive : require
// Plain SGD with L2 weight decay: p -= lr * (scale*g + wd*p). No state buffer.
layout(local_size_x_id = 0) in;
#include "optim_common.glsl"

void optim_element(uint gi, uint pi, uint mi, float lr_mult, float wd) {
    float p = param[pi];
    float g = clipped_grad(gi, st.clip_scale) + wd * p;
    param[pi] = p - st.lr * lr_mult * g;
}
