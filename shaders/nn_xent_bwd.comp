#version 460
#extension GL_GOOGLE_include_directive : require
// Cross-entropy backward, one workgroup per row, accumulating into dlogits:
//   dlogits[r, j] += loss_grad * scale / count * (exp(scale * x[r, j] - lse[r]) - [j == target])
// using lse and count saved by the forward (stats). Rows that do not count get nothing.
layout(local_size_x_id = 0) in;
#include "nn_common.glsl"
#include "nn_xent.glsl"
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) readonly buffer Stats { float stats[]; };
layout(std430, binding = 3) readonly buffer LossGrad { float loss_grad[]; };
layout(std430, binding = 4) buffer DLogits { float dlogits[]; };

void main() {
    uint row = nn_group();
    if (row >= p.rows) return;
    int target = nn_xent_class(row);
    if (target < 0) return; // then count >= 1 below
    uint base = row * p.classes;
    float coef = loss_grad[0] * p.scale / stats[2u * p.rows];
    float lse = stats[p.rows + row];
    for (uint j = gl_LocalInvocationID.x; j < p.classes; j += gl_WorkGroupSize.x) {
        float prob = exp(p.scale * logits[base + j] - lse);
        dlogits[base + j] += coef * (int(j) == target ? prob - 1.0 : prob);
    }
}
