#version 460
// Shared-memory tiled matmul with op(A) and op(B) stored as fp16, fp32 accumulation and output.
#extension GL_GOOGLE_include_directive : require
#define MATMUL_F16
#include "matmul_tiled.glsl"
