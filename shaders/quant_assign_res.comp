#version 460
// Nearest codeword per row, plus the residual x - c[code] (see quant_assign.glsl).
#extension GL_GOOGLE_include_directive : require
#define QUANT_RESIDUAL
#include "quant_assign.glsl"
