#version 460
#extension GL_GOOGLE_include_directive : require
// SGD with momentum (PyTorch convention, no dampening): b = mu*b + g, p -= lr*b, g with L2 decay.
layout(local_size_x_id = 0) in;
#include "optim_common.glsl"

void optim_element(uint gi, uint pi, uint mi, float lr_mult, float wd) {
    float p = param[pi];
    float g = clipped_grad(gi, st.clip_scale) + wd * p;
    float b = pc.beta1 * m1[mi] + g;
    m1[mi] = b;
    param[pi] = p - st.lr * lr_mult * b;
}
