/* libFuzzer target: the safetensors reader on arbitrary bytes. Every accepted file must let each
 * listed tensor load (raw and, for float types, widened) without touching memory out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "vkr_safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    vkr_st_file* st;
    if (vkr_st_open_memory(data, size, "fuzz.safetensors", &st) != VKR_OK) return 0;
    for (uint32_t i = 0; i < vkr_st_tensor_count(st); i++) {
        const vkr_st_tensor* t = vkr_st_tensor_at(st, i);
        if (vkr_st_find(st, t->name) != t) abort(); /* names are unique and findable */
        void* buf = malloc(t->bytes + 1);
        float* f = malloc(t->elems * sizeof(float) + 1);
        if (buf && vkr_st_load(st, t->name, t->dtype, t->ndim, t->shape, buf, t->bytes) != VKR_OK) abort();
        if (f && (t->dtype == VKR_ELEM_F32 || t->dtype == VKR_ELEM_F16 || t->dtype == VKR_ELEM_BF16) &&
            vkr_st_load_f32(st, t->name, t->ndim, t->shape, f, t->elems) != VKR_OK)
            abort();
        free(buf);
        free(f);
    }
    for (uint32_t i = 0; i < vkr_st_metadata_count(st); i++) {
        const char *k, *v;
        if (!vkr_st_metadata_at(st, i, &k, &v) || !vkr_st_metadata_get(st, k)) abort();
    }
    vkr_st_close(st);
    return 0;
}
