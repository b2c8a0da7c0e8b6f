/* CPU reference of the optimizer: configuration checks, the schedule, the tick, clipping and the
 * update rules, written as plainly as possible in the same order of float operations as the
 * kernels (shaders/optim_*.comp) so that replayed GPU steps track CPU steps to float rounding. */
#include <math.h>

#include "vkr_optim.h"

vkr_status vkr_optim_config_check(const vkr_optim_config* c) {
    if (!c) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config is NULL");
    if ((unsigned)c->kind > VKR_OPTIM_ADAMW)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: kind %d is not SGD, Adam or AdamW", (int)c->kind);
    const vkr_lr_schedule* s = &c->schedule;
    if (!(s->peak_lr >= 0.0f) || !isfinite(s->peak_lr) || !(s->min_lr >= 0.0f) || !isfinite(s->min_lr))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: schedule peak_lr %g and min_lr %g must be finite "
                        "and non-negative", s->peak_lr, s->min_lr);
    if ((unsigned)s->decay > VKR_LR_LINEAR)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: schedule decay %d is unknown", (int)s->decay);
    if (s->decay != VKR_LR_CONSTANT && s->total_steps <= s->warmup_steps)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: a decaying schedule needs total_steps (%u) > "
                        "warmup_steps (%u)", s->total_steps, s->warmup_steps);
    if (c->kind == VKR_OPTIM_SGD && (!(c->momentum >= 0.0f) || !(c->momentum < 1.0f)))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: momentum %g must be in [0, 1)", c->momentum);
    if (c->kind != VKR_OPTIM_SGD) {
        if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: beta1 %g and beta2 %g must be in [0, 1)",
                            c->beta1, c->beta2);
        if (!(c->eps > 0.0f) || !isfinite(c->eps))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: eps %g must be positive", c->eps);
    }
    if (!(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: weight_decay %g must be finite and non-negative",
                        c->weight_decay);
    if (!(c->clip_norm >= 0.0f) || !isfinite(c->clip_norm))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "optimizer config: clip_norm %g must be finite and non-negative "
                        "(0 disables clipping)", c->clip_norm);
    return VKR_OK;
}

float vkr_lr_at(const vkr_lr_schedule* s, uint32_t t) {
    double peak = s->peak_lr, lo = s->min_lr;
    if (s->warmup_steps && t <= s->warmup_steps) return (float)(peak * (double)t / (double)s->warmup_steps);
    if (s->decay == VKR_LR_CONSTANT) return s->peak_lr;
    if (t >= s->total_steps) return s->min_lr;
    double x = (double)(t - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
    double f = s->decay == VKR_LR_COSINE ? 0.5 * (1.0 + cos(3.14159265358979323846 * x)) : 1.0 - x;
    return (float)(lo + (peak - lo) * f);
}

vkr_optim_scalars vkr_optim_scalars_init(void) {
    return (vkr_optim_scalars){.beta1_pow = 1.0f, .beta2_pow = 1.0f, .clip_scale = 1.0f};
}

void vkr_optim_cpu_tick(const vkr_optim_config* c, vkr_optim_scalars* s) {
    s->step += 1;
    s->lr = vkr_lr_at(&c->schedule, s->step);
    s->beta1_pow = s->beta1_pow * c->beta1;
    s->beta2_pow = s->beta2_pow * c->beta2;
    s->grad_norm = 0.0f;
    s->clip_scale = 1.0f;
}

void vkr_optim_cpu_clip(const vkr_optim_config* c, vkr_optim_scalars* s, uint32_t n, const float* const* grads,
                        const uint64_t* counts) {
    if (c->clip_norm <= 0.0f) return;
    double sum = 0.0;
    for (uint32_t k = 0; k < n; k++)
        for (uint64_t i = 0; i < counts[k]; i++) sum += (double)grads[k][i] * (double)grads[k][i];
    double norm = sqrt(sum);
    double scale = (double)c->clip_norm / (norm + 1e-6);
    s->grad_norm = (float)norm;
    s->clip_scale = isfinite(norm) ? (float)(scale < 1.0 ? scale : 1.0) : 0.0f;
}

/* Scale 0 marks a non-finite global norm: the gradient then counts as 0 (0 * NaN would be NaN). */
static float vkr_clipped(float g, float scale) { return scale == 0.0f ? 0.0f : g * scale; }

void vkr_optim_cpu_update(const vkr_optim_config* c, const vkr_optim_scalars* s, float lr_mult, float wd, float* param,
                          const float* grad, float* m, float* v, size_t count) {
    float lr = s->lr * lr_mult;
    float scale = s->clip_scale;

    if (c->kind == VKR_OPTIM_SGD) {
        for (size_t i = 0; i < count; i++) {
            float p = param[i];
            float g = vkr_clipped(grad[i], scale) + wd * p;
            if (c->momentum > 0.0f) {
                m[i] = c->momentum * m[i] + g;
                g = m[i];
            }
            param[i] = p - lr * g;
        }
        return;
    }
    float bc1 = 1.0f - s->beta1_pow;
    float bc2 = 1.0f - s->beta2_pow;
    float decay = 1.0f - lr * wd;
    for (size_t i = 0; i < count; i++) {
        float p = param[i];
        float g = vkr_clipped(grad[i], scale);
        if (c->kind == VKR_OPTIM_ADAMW) p = p * decay;
        else g = g + wd * p;
        m[i] = c->beta1 * m[i] + (1.0f - c->beta1) * g;
        v[i] = c->beta2 * v[i] + (1.0f - c->beta2) * (g * g);
        float mhat = m[i] / bc1;
        float vhat = v[i] / bc2;
        param[i] = p - lr * mhat / (sqrtf(vhat) + c->eps);
    }
}
