#version 460
// Exclusive prefix sum of the per-box counts in place (one workgroup; each invocation owns a
// contiguous run of boxes), and the total in counts[boxes].
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer Counts { uint counts[]; };
layout(push_constant) uniform Push { uint boxes; } p;
shared uint part[256];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint per = (p.boxes + 255u) / 256u, first = min(t * per, p.boxes), last = min(first + per, p.boxes);
    uint sum = 0u;
    for (uint b = first; b < last; b++) sum += counts[b];
    part[t] = sum;
    barrier();
    for (uint off = 1u; off < 256u; off <<= 1) {
        uint v = t >= off ? part[t - off] : 0u;
        barrier();
        part[t] += v;
        barrier();
    }
    uint run = part[t] - sum;
    for (uint b = first; b < last; b++) {
        uint c = counts[b];
        counts[b] = run;
        run += c;
    }
    if (t == 255u) counts[p.boxes] = part[255];
}
