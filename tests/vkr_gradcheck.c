#include "vkr_gradcheck.h"

#include <math.h>
#include <stdio.h>

double vkr_gradcheck_dot(const float* y, const float* w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * (double)w[i];
    return s;
}

/* Central difference of the loss in element x[i]. */
static double vkr_gradcheck_fd(vkr_gradcheck_loss_fn loss, void* user, float* x, size_t i, double h) {
    const float saved = x[i];
    const float plus = (float)((double)saved + h), minus = (float)((double)saved - h);
    x[i] = plus;
    const double lp = loss(user);
    x[i] = minus;
    const double lm = loss(user);
    x[i] = saved;
    return (lp - lm) / ((double)plus - (double)minus);
}

size_t vkr_gradcheck(vkr_gradcheck_loss_fn loss, void* user, const vkr_gradcheck_input* inputs, size_t count,
                     const vkr_gradcheck_options* options) {
    vkr_gradcheck_options o = options ? *options : (vkr_gradcheck_options){0};
    if (o.h == 0) o.h = 1e-2;
    if (o.atol == 0) o.atol = 1e-4;
    if (o.rtol == 0) o.rtol = 1e-3;
    if (o.max_points == 0) o.max_points = 64;
    size_t bad = 0;
    for (size_t k = 0; k < count; k++) {
        const vkr_gradcheck_input* in = &inputs[k];
        const size_t points = in->n < o.max_points ? in->n : o.max_points;
        for (size_t j = 0; j < points; j++) {
            const size_t i = points == 1 ? 0 : j * (in->n - 1) / (points - 1);
            const double fd = vkr_gradcheck_fd(loss, user, in->x, i, o.h);
            const double an = in->grad[i];
            const double scale = fmax(fabs(fd), fabs(an));
            if (fabs(fd - an) <= o.atol + o.rtol * scale) continue;
            if (bad++ < 5)
                fprintf(stderr, "gradcheck %s[%zu]: analytic %.8g, finite difference %.8g\n", in->name, i, an, fd);
        }
    }
    return bad;
}
