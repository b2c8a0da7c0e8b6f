#version 460
#extension GL_GOOGLE_include_directive : require
// Cross-entropy backward (row layout of nn_reduce.glsl; no reductions), accumulating into dlogits:
//   dlogits[r, j] += loss_grad * scale / count * (exp(scale * x[r, j] - lse[r]) - [j == target])
// using lse and count saved by the forward (stats). Rows that do not count get nothing.
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"
#include "nn_xent.glsl"
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) readonly buffer Stats { float stats[]; };
layout(std430, binding = 3) readonly buffer LossGrad { float loss_grad[]; };
layout(std430, binding = 4) buffer DLogits { float dlogits[]; };

void main() {
    uint row = nn_row();
    if (row >= p.rows) return;
    int target = nn_xent_class(row);
    float count = stats[2u * p.rows];
    if (target < 0 || count < 1.0) return; // count < 1 only if the targets changed since the forward
    uint base = row * p.classes;
    float coef = loss_grad[0] * p.scale / count;
    float lse = stats[p.rows + row];
    for (uint j = nn_lane(); j < p.classes; j += NN_LANES) {
        float prob = exp(p.scale * logits[base + j] - lse);
        dlogits[base + j] += coef * (int(j) == target ? prob - 1.0 : prob);
    }
}
