/* Value checks of float arrays (see vkr_values.h). */
#include "vkr_values.h"

#include <float.h>
#include <math.h>

/* Index of the first of x[0..n) that is not finite or (max_abs > 0) exceeds max_abs; n when none. */
static uint64_t vkr_values_find_bad(const float* x, uint64_t n, float max_abs) {
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || (max_abs > 0 && fabsf(x[i]) > max_abs)) return i;
    return n;
}

float vkr_vectors_max_abs(uint64_t cols) {
    /* (2m)^2 * cols * 4 <= FLT_MAX */
    return (float)sqrt((double)FLT_MAX / (16.0 * (double)(cols ? cols : 1)));
}

vkr_status vkr_check_vectors(const char* label, const float* x, uint64_t rows, uint64_t cols) {
    float max_abs = vkr_vectors_max_abs(cols);
    uint64_t n = rows * cols, i = vkr_values_find_bad(x, n, max_abs);
    if (i == n) return VKR_OK;
    unsigned long long r = i / cols, c = i % cols;
    if (!isfinite(x[i]))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: row %llu, column %llu (from 0) is %g, not a finite number",
                        label, r, c, (double)x[i]);
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT,
                    "%s: row %llu, column %llu (from 0) is %g; in %llu-d vectors values beyond +-%.3g make squared "
                    "distances overflow float (rescale the vectors)",
                    label, r, c, (double)x[i], (unsigned long long)cols, (double)max_abs);
}

vkr_status vkr_check_tensor_finite(const char* file, const char* tensor, const float* x, uint64_t elems) {
    uint64_t i = vkr_values_find_bad(x, elems, 0);
    if (i == elems) return VKR_OK;
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: tensor '%s' element %llu (from 0) is %g, not a finite number", file,
                    tensor, (unsigned long long)i, (double)x[i]);
}
