#version 460
#extension GL_GOOGLE_include_directive : require
// Per-point binary search for the Gaussian precision beta that gives the conditional distribution
// over the point's k neighbours (squared distances, ascending) the entropy log(perplexity), as in
// scikit-learn's _binary_search_perplexity: beta starts at 1, doubles/halves until bracketed, then
// bisects; at most 100 steps, |H - log(perplexity)| <= 1e-5 nats. Distances are shifted by the
// smallest one first (exact for P and H, and keeps exp() from underflowing for far points).
layout(local_size_x = 64) in;
#include "tsne_common.glsl"
layout(std430, binding = 0) readonly buffer D { float dist[]; };
layout(std430, binding = 1) writeonly buffer P { float cond[]; };
layout(push_constant) uniform Push { uint n; uint k; float log_perp; } p;

void main() {
    uint i = tsne_index();
    if (i >= p.n) return;
    uint base = i * p.k;
    float dmin = dist[base];
    for (uint j = 1u; j < p.k; j++) dmin = min(dmin, dist[base + j]);
    float beta = 1.0, lo = 0.0, hi = 0.0, used = 1.0;
    bool has_lo = false, has_hi = false;
    for (int step = 0; step < 100; step++) {
        used = beta;
        float sum = 0.0, sdp = 0.0;
        for (uint j = 0u; j < p.k; j++) {
            float d = dist[base + j] - dmin;
            float w = exp(-d * beta);
            sum += w;
            sdp += d * w;
        }
        float diff = log(sum) + beta * sdp / sum - p.log_perp;
        if (abs(diff) <= 1e-5) break;
        if (diff > 0.0) {
            lo = beta;
            has_lo = true;
            beta = has_hi ? 0.5 * (beta + hi) : beta * 2.0;
        } else {
            hi = beta;
            has_hi = true;
            beta = has_lo ? 0.5 * (beta + lo) : beta * 0.5;
        }
    }
    float sum = 0.0;
    for (uint j = 0u; j < p.k; j++) sum += exp(-(dist[base + j] - dmin) * used);
    for (uint j = 0u; j < p.k; j++) cond[base + j] = exp(-(dist[base + j] - dmin) * used) / sum;
}
