#version 460
// Nearest codeword per row: code and squared distance (see quant_assign.glsl).
#extension GL_GOOGLE_include_directive : require
#include "quant_assign.glsl"
