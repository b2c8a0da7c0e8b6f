#version 460
// Advances the executor's step counter at the end of every replayed step, so ops that need a fresh
// random stream per step (dropout) and optimizers read it from memory instead of push constants.
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer Step { uint step[]; };
void main() { step[0] += 1u; }
