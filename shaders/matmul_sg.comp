#version 460
// fp32 matmul, no shared memory (see matmul_sg.glsl).
#extension GL_GOOGLE_include_directive : require
#include "matmul_sg.glsl"
