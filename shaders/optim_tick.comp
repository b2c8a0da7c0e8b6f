#version 460
// Advances the optimizer's step counter once per replayed step and derives what depends on it:
// the scheduled learning rate and the bias-correction powers beta^t (running products, so the CPU
// reference reproduces them bit for bit). Also resets the clip fields for the new step.
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer OptimScalars {
    uint step;
    float lr;
    float beta1_pow;
    float beta2_pow;
    float grad_norm;
    float clip_scale;
} st;
layout(push_constant) uniform Push {
    float peak_lr;
    float min_lr;
    uint warmup;
    uint total;
    uint decay;  // 0 constant, 1 cosine, 2 linear (vkr_lr_decay)
    float beta1;
    float beta2;
} pc;

// cos(pi*x) for x in [0, 1] as sin(pi*(1/2 - x)) by its Taylor series to x^13 (error < 1e-9):
// GLSL's cos() only promises 2^-11 absolute accuracy, too loose for a schedule.
float cos_pi(float x) {
    float a = 3.14159265358979 * (0.5 - x);
    float a2 = a * a;
    float s = 1.0 / 6227020800.0;
    s = s * a2 - 1.0 / 39916800.0;
    s = s * a2 + 1.0 / 362880.0;
    s = s * a2 - 1.0 / 5040.0;
    s = s * a2 + 1.0 / 120.0;
    s = s * a2 - 1.0 / 6.0;
    s = s * a2 + 1.0;
    return s * a;
}

float lr_at(uint t) {
    if (t <= pc.warmup) return pc.peak_lr * float(t) / float(pc.warmup);
    if (pc.decay == 0u) return pc.peak_lr;
    if (t >= pc.total) return pc.min_lr;
    float x = float(t - pc.warmup) / float(pc.total - pc.warmup);
    float f = pc.decay == 1u ? 0.5 * (1.0 + cos_pi(x)) : 1.0 - x;
    return pc.min_lr + (pc.peak_lr - pc.min_lr) * f;
}

void main() {
    uint t = st.step + 1u;
    st.step = t;
    st.lr = lr_at(t);
    st.beta1_pow = st.beta1_pow * pc.beta1;
    st.beta2_pow = st.beta2_pow * pc.beta2;
    st.grad_norm = 0.0;
    st.clip_scale = 1.0;
}
