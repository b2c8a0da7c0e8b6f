// Unary functions and their derivatives (vkr_unary_op codes), shared by ew_unary.comp and
// ew_unary_grad.comp. Formulas mirror graph/vkr_ops_ew_unary.c.
#ifndef EW_UNARY_GLSL
#define EW_UNARY_GLSL

const float EW_GELU_K = 0.7978845608028654; // sqrt(2 / pi)
const float EW_GELU_C = 0.044715;

// tanh through exp(-2|x|), which never overflows (a naive (e^x - e^-x) / (e^x + e^-x) gives inf/inf).
float ew_tanh(float x) {
    float e = exp(-2.0 * abs(x));
    float t = (1.0 - e) / (1.0 + e);
    return x < 0.0 ? -t : t;
}

// y = f(x): 0 scale, 1 relu, 2 leaky relu, 3 gelu (tanh approximation), 4 sigmoid, 5 tanh,
// 6 rsqrt of max(x, 0) + alpha.
float ew_unary(uint op, float x, float alpha) {
    switch (op) {
        case 0u: return alpha * x;
        case 1u: return x > 0.0 ? x : 0.0;
        case 2u: return x > 0.0 ? x : alpha * x;
        case 3u: return 0.5 * x * (1.0 + ew_tanh(EW_GELU_K * (x + EW_GELU_C * x * x * x)));
        case 4u: return 1.0 / (1.0 + exp(-x));
        case 6u: return 1.0 / sqrt(max(x, 0.0) + alpha);
        default: return ew_tanh(x);
    }
}

// dy/dx given `s`, the saved tensor: x for relu, leaky relu, gelu and rsqrt, y for sigmoid and tanh.
float ew_unary_grad(uint op, float s, float alpha) {
    switch (op) {
        case 0u: return alpha;
        case 1u: return s > 0.0 ? 1.0 : 0.0;
        case 2u: return s > 0.0 ? 1.0 : alpha;
        case 3u: {
            float t = ew_tanh(EW_GELU_K * (s + EW_GELU_C * s * s * s));
            return 0.5 * (1.0 + t) + 0.5 * s * (1.0 - t * t) * EW_GELU_K * (1.0 + 3.0 * EW_GELU_C * s * s);
        }
        case 4u: return s * (1.0 - s);
        case 6u: {
            if (s <= 0.0) return 0.0;
            float r = 1.0 / sqrt(s + alpha);
            return -0.5 * r * r * r;
        }
        default: return 1.0 - s * s;
    }
}

#endif
