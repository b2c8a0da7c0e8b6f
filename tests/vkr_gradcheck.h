/* Finite-difference gradient checks for the CPU references of differentiable ops.
 *
 * Usage: pick fixed random weights w and define the scalar loss L = sum_i w_i * y_i (in double,
 * vkr_gradcheck_dot) of the op's float output y, so that dL/dy = w. Run the analytic backward once
 * with dy = w into zeroed gradient buffers, then call vkr_gradcheck with a callback that recomputes
 * L from the current inputs. Each checked input element is moved by +h and -h (in float, then
 * restored); the central difference, divided by the step the float perturbation really made, is
 * compared in double with the analytic gradient. Elements with a kink within h of their value
 * (relu at 0, ...) must be kept out of the inputs by the caller. */
#ifndef VKR_GRADCHECK_H
#define VKR_GRADCHECK_H
#include <stddef.h>

/* Recomputes the loss from the inputs' current values. */
typedef double (*vkr_gradcheck_loss_fn)(void* user);

/* One input tensor to check. */
typedef struct vkr_gradcheck_input {
    const char* name;  /* label for messages, e.g. "da" */
    float* x;          /* the input values the loss callback reads (perturbed in place, restored) */
    const float* grad; /* analytic dL/dx */
    size_t n;          /* elements */
} vkr_gradcheck_input;

/* Tolerances and sampling; zero fields take the defaults shown. */
typedef struct vkr_gradcheck_options {
    double h;          /* perturbation (1e-2) */
    double atol;       /* absolute tolerance (1e-4) */
    double rtol;       /* relative tolerance against max(|fd|, |analytic|) (1e-3) */
    size_t max_points; /* elements checked per input, evenly spaced incl. first and last (64) */
} vkr_gradcheck_options;

/* Checks every input; returns the number of elements outside tolerance, printing the first few. */
size_t vkr_gradcheck(vkr_gradcheck_loss_fn loss, void* user, const vkr_gradcheck_input* inputs, size_t count,
                     const vkr_gradcheck_options* options);
/* sum_i y[i] * w[i] in double: the usual loss. */
double vkr_gradcheck_dot(const float* y, const float* w, size_t n);

#endif
