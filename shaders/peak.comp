#version 460
// Peak fp32 FMA throughput: CHAINS independent vec4 FMA chains per invocation, no memory traffic
// inside the loop. The multiplier and addend come from push constants so nothing folds, and the
// result is stored so nothing is dead. FLOPs = 2 * 4 * CHAINS * iterations * invocations.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint CHAINS = 4;
layout(std430, binding = 0) writeonly buffer Out { vec4 result[]; };
layout(push_constant) uniform Push { uint iterations; float mul, add; } p;

void main() {
    float seed = float(gl_GlobalInvocationID.x);
    vec4 x[CHAINS];
    for (uint c = 0; c < CHAINS; c++) x[c] = vec4(seed, seed + 1.0, seed + 2.0, seed + float(c));
    vec4 mul = vec4(p.mul), add = vec4(p.add);
    for (uint it = 0; it < p.iterations; it++)
        for (uint c = 0; c < CHAINS; c++) x[c] = fma(x[c], mul, add);
    vec4 s = vec4(0.0);
    for (uint c = 0; c < CHAINS; c++) s += x[c];
    result[gl_GlobalInvocationID.x] = s;
}
