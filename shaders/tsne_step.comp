#version 460
#extension GL_GOOGLE_include_directive : require
// One t-SNE gradient-descent step per coordinate, with scikit-learn's gains and momentum:
// grad = 4 (a attr - rep / Z); gains += 0.2 where the gradient opposes the last update, *= 0.8
// elsewhere, floored at 0.01; update = momentum update - lr gains grad; y += update.
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer Attr { float attr[]; };
layout(std430, binding = 1) readonly buffer Rep { float rep[]; };
layout(std430, binding = 2) readonly buffer Z { float z[]; };
layout(std430, binding = 3) buffer Y { float y[]; };
layout(std430, binding = 4) buffer U { float upd[]; };
layout(std430, binding = 5) buffer G { float gains[]; };
layout(push_constant) uniform Push { uint count; float exaggeration; float momentum; float lr; } p;

void main() {
    uint e = tsne_index();
    if (e >= p.count) return;
    float grad = 4.0 * (p.exaggeration * attr[e] - rep[e] / z[0]);
    float u = upd[e], g = gains[e];
    g = u * grad < 0.0 ? g + 0.2 : g * 0.8;
    g = max(g, 0.01);
    u = p.momentum * u - p.lr * g * grad;
    y[e] += u;
    upd[e] = u;
    gains[e] = g;
}
