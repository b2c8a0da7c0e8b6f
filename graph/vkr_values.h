/* Value checks of float arrays: what enters a stage from a file and what a stage computed before it
 * is written. One place decides what "a usable value" means, so every stage refuses the same inputs.
 *
 * Contract: a non-finite value (NaN, +-inf) is never usable. Vectors that a stage compares by
 * distance (item embeddings: k-means, t-SNE, nearest codes) must also keep every squared distance
 * finite in float: a single finite 1e20 squares to inf and turned whole maps into NaN. Errors are
 * INVALID_ARGUMENT naming the caller's label and the row and column (or element) of the first bad
 * value. Subnormal and large-but-safe values pass. */
#ifndef VKR_VALUES_H
#define VKR_VALUES_H
#include <stdint.h>

#include "vkr_status.h"

/* Largest magnitude accepted in vectors of `cols` floats: any squared distance between two such
 * vectors (cols squared differences of at most twice it) stays below FLT_MAX with a 4x margin. */
float vkr_vectors_max_abs(uint64_t cols);
/* Checks `rows` x `cols` floats (row-major) for finiteness and vkr_vectors_max_abs(cols); the error
 * names `label` (e.g. the file), the row and the column of the first bad value. */
vkr_status vkr_check_vectors(const char* label, const float* x, uint64_t rows, uint64_t cols);
/* Checks that the `elems` floats of tensor `tensor` are finite; the error names `file`, the tensor
 * and the element (used on every checkpoint load and before every checkpoint save). */
vkr_status vkr_check_tensor_finite(const char* file, const char* tensor, const float* x, uint64_t elems);

#endif
