#version 460
#extension GL_GOOGLE_include_directive : require
// Cross-entropy mean by one workgroup (NN_LANES = workgroup size) in a fixed order: loss[0] = sum
// of counted row losses / number of counted rows (0 when none), and stats[2 * rows] = that count
// for the backward.
layout(local_size_x_id = 0) in;
#include "nn_reduce.glsl"
#include "nn_xent.glsl"
layout(std430, binding = 0) writeonly buffer Loss { float loss[]; };
layout(std430, binding = 2) buffer Stats { float stats[]; };

void main() {
    float s = 0.0, n = 0.0;
    for (uint r = nn_lane(); r < p.rows; r += NN_LANES) {
        if (nn_xent_class(r) >= 0) {
            s += stats[r];
            n += 1.0;
        }
    }
    s = nn_sum(s);
    n = nn_sum(n);
    if (gl_LocalInvocationID.x == 0u) {
        loss[0] = n > 0.0 ? s / n : 0.0;
        stats[2u * p.rows] = n;
    }
}
