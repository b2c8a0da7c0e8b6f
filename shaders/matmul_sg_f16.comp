#version 460
// Matmul with op(A) and op(B) stored as fp16, fp32 accumulation and output (see matmul_sg.glsl).
#extension GL_GOOGLE_include_directive : require
#define MATMUL_F16
#include "matmul_sg.glsl"
