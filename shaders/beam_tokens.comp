#version 460
// The prefix tokens the next level's decoder embeds (models/vkr_beam.h, vkr_gpu_beam_tokens): for
// beam row r and position j < count, offset[j] + the beam's code j when the beam is alive, else 0
// (the padding token). Writing them on the device keeps decoding free of host round trips.
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer State { int st[]; };
layout(std430, binding = 1) writeonly buffer Tok { int tok[]; };
layout(push_constant) uniform Push {
    uint rows;      // beam rows (users x beams)
    uint depth;     // tokens per ID: a state row holds 2 + depth ints
    uint count;     // prefix tokens per row
    uint offset[8]; // token of code c at position j: offset[j] + c
};

void main() {
    uint r = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x;
    if (r >= rows) return;
    uint s = r * (2u + depth);
    bool alive = st[s + 1u] != 0;
    for (uint j = 0u; j < count; j++) tok[r * count + j] = alive ? int(offset[j]) + st[s + 2u + j] : 0;
}
