/* libFuzzer target: the safetensors reader on arbitrary bytes. Every accepted file must let each
 * listed tensor load (raw and, for float types, widened) without touching memory out of bounds.
 * Then the digest: the accepted file written again by the writer must reopen with its digest verified,
 * and the same file with one bit flipped (position and bit from the input) must be refused or no longer
 * claim a digest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

/* Reads the whole file `path` (malloc'd, NULL on failure). */
static uint8_t* read_all(const char* path, size_t* out_size) {
    FILE* f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t* buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *out_size = buf ? (size_t)n : 0;
    return buf;
}

/* Writes st's tensors (raw bytes in bufs) and metadata again, checks the digest round trip and that a
 * bit flip chosen by `pick` is refused. */
static void check_digest(const vkr_st_file* st, void* const* bufs, uint64_t pick) {
    vkr_st_writer* w;
    if (vkr_st_writer_create(&w) != VKR_OK) return;
    for (uint32_t i = 0; i < vkr_st_tensor_count(st); i++) {
        const vkr_st_tensor* t = vkr_st_tensor_at(st, i);
        if (!bufs[i] || vkr_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, bufs[i]) != VKR_OK) abort();
    }
    for (uint32_t i = 0; i < vkr_st_metadata_count(st); i++) {
        const char *k, *v;
        vkr_st_metadata_at(st, i, &k, &v);
        if (vkr_st_writer_set_metadata(w, k, v) != VKR_OK) abort();
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_st_%ld.safetensors", (long)getpid());
    if (vkr_st_writer_write(w, path) != VKR_OK) abort();
    vkr_st_writer_destroy(w);
    size_t n = 0;
    uint8_t* file = read_all(path, &n);
    unlink(path);
    if (!file) abort();
    vkr_st_file* again;
    if (vkr_st_open_memory(file, n, "again.safetensors", &again) != VKR_OK) abort();
    if (!vkr_st_metadata_get(again, VKR_ST_DIGEST_KEY)) abort();
    vkr_st_close(again);
    size_t at = (size_t)(pick % n);
    uint8_t was = file[at];
    file[at] ^= (uint8_t)(1u << ((pick >> 32) % 8));
    if (vkr_st_open_memory(file, n, "flipped.safetensors", &again) == VKR_OK) {
        /* refused, unless the flip hit the digest's key (the file then no longer claims one: checkpoint
         * readers refuse that) or, defensively, a padding space */
        bool claims = vkr_st_metadata_get(again, VKR_ST_DIGEST_KEY) != NULL;
        vkr_st_close(again);
        if (claims && was != ' ') abort();
    }
    free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    vkr_st_file* st;
    if (vkr_st_open_memory(data, size, "fuzz.safetensors", &st) != VKR_OK) return 0;
    uint32_t count = vkr_st_tensor_count(st);
    void** bufs = calloc((size_t)count + 1, sizeof *bufs);
    bool all = bufs != NULL;
    for (uint32_t i = 0; i < count; i++) {
        const vkr_st_tensor* t = vkr_st_tensor_at(st, i);
        if (vkr_st_find(st, t->name) != t) abort(); /* names are unique and findable */
        void* buf = malloc(t->bytes + 1);
        float* f = malloc(t->elems * sizeof(float) + 1);
        if (buf && vkr_st_load(st, t->name, t->dtype, t->ndim, t->shape, buf, t->bytes) != VKR_OK) abort();
        if (f && (t->dtype == VKR_ELEM_F32 || t->dtype == VKR_ELEM_F16 || t->dtype == VKR_ELEM_BF16) &&
            vkr_st_load_f32(st, t->name, t->ndim, t->shape, f, t->elems) != VKR_OK)
            abort();
        if (bufs) bufs[i] = buf;
        else free(buf);
        all = all && buf;
        free(f);
    }
    for (uint32_t i = 0; i < vkr_st_metadata_count(st); i++) {
        const char *k, *v;
        if (!vkr_st_metadata_at(st, i, &k, &v) || !vkr_st_metadata_get(st, k)) abort();
    }
    uint64_t pick = 0;
    for (size_t i = 0; i < size && i < 8; i++) pick = pick << 8 | data[size - 1 - i];
    if (all) check_digest(st, bufs, pick);
    for (uint32_t i = 0; bufs && i < count; i++) free(bufs[i]);
    free(bufs);
    vkr_st_close(st);
    return 0;
}
