#version 460
// Combines the per-chunk means of a chunked cross-entropy into one mean over all counted rows, and
// (backward) splits the upstream gradient back into per-chunk gradients: chunk k's mean enters the
// total with weight count_k / total. One invocation; K is small (a few dozen chunks at most).
layout(local_size_x = 1) in;
layout(std430, binding = 0) readonly buffer Stats { float stats[]; };  // chunk k's count at k*stride + count_at
layout(std430, binding = 1) buffer Means { float means[]; };           // K chunk means, one per `slot` floats (aligned sub-ranges)
layout(std430, binding = 2) buffer Out { float outv[]; };              // forward: [1] loss; backward: K grads, one per `slot` floats
layout(std430, binding = 3) readonly buffer Up { float up[]; };        // backward: [1] upstream gradient
layout(push_constant) uniform Push { uint chunks; uint stride; uint count_at; uint last_count_at; uint backward; uint slot; } p;

float count_of(uint k) { return stats[k * p.stride + (k + 1u == p.chunks ? p.last_count_at : p.count_at)]; }

void main() {
    float total = 0.0;
    for (uint k = 0u; k < p.chunks; k++) total += count_of(k);
    if (p.backward == 0u) {
        float sum = 0.0;
        for (uint k = 0u; k < p.chunks; k++) sum += means[k * p.slot] * count_of(k);
        outv[0] = total > 0.0 ? sum / total : 0.0;
    } else {
        for (uint k = 0u; k < p.chunks; k++)
            outv[k * p.slot] = total > 0.0 ? up[0] * count_of(k) / total : 0.0;
    }
}
