/* libFuzzer target: the .npy reader on arbitrary bytes. An accepted array must be internally
 * consistent (bytes == product of the shape times the element size). */
#include <stdint.h>
#include <stdlib.h>

#include "vkr_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    vkr_npy_array a;
    if (vkr_npy_load_memory(data, size, "fuzz.npy", &a) != VKR_OK) return 0;
    uint64_t elems, bytes;
    if (!vkr_shape_bytes(a.ndim, a.shape, vkr_elem_size(a.dtype), &elems, &bytes) || elems != a.elems ||
        bytes != a.bytes || bytes > size || (bytes && !a.data))
        abort();
    volatile uint8_t sink = 0;
    for (uint64_t i = 0; i < a.bytes; i++) sink ^= ((const uint8_t*)a.data)[i]; /* every byte is readable */
    (void)sink;
    vkr_npy_free(&a);
    return 0;
}
