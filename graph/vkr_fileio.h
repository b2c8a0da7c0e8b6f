/* Shared plumbing for the checkpoint and array file formats (safetensors, .npy): element types,
 * half-precision conversion, overflow-checked shape arithmetic, and bounds-checked reads from a file
 * or a memory block, the one JSON file writer and the CSV field quoting. Writers replace files through
 * runtime/vkr_file.h.
 *
 * Contract: every read goes through vkr_source_read, which refuses any range outside the source,
 * so format parsers can treat the input as untrusted. Files are little-endian; the host must be too. */
#ifndef VKR_FILEIO_H
#define VKR_FILEIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vkr_status.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vkrec file formats assume a little-endian host");

/* Most dimensions a tensor in a file may have. */
#define VKR_FILE_MAX_DIMS 8

/* Element type of an array stored in a file. */
typedef enum vkr_elem_type {
    VKR_ELEM_F32 = 0, /* IEEE binary32 */
    VKR_ELEM_F16,     /* IEEE binary16 */
    VKR_ELEM_BF16,    /* bfloat16 (upper half of a binary32) */
    VKR_ELEM_F64,     /* IEEE binary64 */
    VKR_ELEM_I8,      /* int8_t */
    VKR_ELEM_I16,     /* int16_t */
    VKR_ELEM_I32,     /* int32_t */
    VKR_ELEM_I64,     /* int64_t */
    VKR_ELEM_U8,      /* uint8_t */
    VKR_ELEM_U16,     /* uint16_t */
    VKR_ELEM_U32,     /* uint32_t */
    VKR_ELEM_U64,     /* uint64_t */
    VKR_ELEM_BOOL,    /* one byte, 0 or 1 */
    VKR_ELEM_COUNT
} vkr_elem_type;

/* Bytes per element (0 for an invalid type). */
size_t vkr_elem_size(vkr_elem_type type);
/* The safetensors spelling of a type, e.g. "F32" ("?" for an invalid type). */
const char* vkr_elem_name(vkr_elem_type type);

/* Converts an IEEE binary16 bit pattern to float (exact). */
float vkr_half_to_float(uint16_t h);
/* Converts a float to binary16, rounding to nearest even (overflow -> inf, NaN stays NaN). */
uint16_t vkr_float_to_half(float f);
/* Converts a bfloat16 bit pattern to float (exact). */
float vkr_bf16_to_float(uint16_t b);
/* Converts `n` elements of F32, F16 or BF16 at `src` to float at `dst`; INVALID_ARGUMENT otherwise. */
vkr_status vkr_elem_to_float(vkr_elem_type type, const void* src, size_t n, float* dst);

/* Element count and byte size of a shape; false when either overflows uint64 (or exceeds 2^62). */
bool vkr_shape_bytes(uint32_t ndim, const uint64_t* shape, size_t elem_size, uint64_t* out_elems,
                     uint64_t* out_bytes);
/* Formats a shape as "[5, 6]" ("*" for VKR_DIM_ANY) into `buf` and returns `buf`. */
const char* vkr_shape_str(uint32_t ndim, const uint64_t* shape, char* buf, size_t size);
/* A wanted dimension that matches any size (for vkr_check_array). */
#define VKR_DIM_ANY UINT64_MAX
/* Checks that an array found in `label` (e.g. "model.safetensors: tensor 'w1'") has the expected
 * shape (VKR_DIM_ANY entries match anything) and type (want_type VKR_ELEM_COUNT: any type);
 * INVALID_ARGUMENT naming both otherwise. */
vkr_status vkr_check_array(const char* label, vkr_elem_type have_type, uint32_t have_ndim,
                           const uint64_t* have_shape, vkr_elem_type want_type, uint32_t want_ndim,
                           const uint64_t* want_shape);

/* A bounds-checked read-only byte source: a file (read with pread) or a caller's memory block. */
typedef struct vkr_source {
    int fd;               /* open file descriptor, or -1 for a memory source */
    const uint8_t* mem;   /* memory block, or NULL for a file */
    uint64_t size;        /* bytes available */
    char label[256];      /* name used in error messages (usually the path) */
} vkr_source;

/* Opens `path` for reading; out_source is zeroed on entry. */
vkr_status vkr_source_open_file(const char* path, vkr_source* out_source);
/* Wraps `size` bytes at `data` (not copied; must outlive the source). */
void vkr_source_open_memory(const void* data, size_t size, const char* label, vkr_source* out_source);
/* Copies `size` bytes at `offset` into `dst`; FORMAT error naming the label when out of bounds. */
vkr_status vkr_source_read(const vkr_source* source, uint64_t offset, void* dst, uint64_t size);
/* Closes the file, if any, and zeroes the source. */
void vkr_source_close(vkr_source* source);

struct cJSON;
/* Writes `json` (pretty-printed, then a newline) to `path` atomically (vkr_file.h), so a failure
 * leaves any old file intact. */
vkr_status vkr_json_write(const struct cJSON* json, const char* path);
/* Writes `text` to `file` as one CSV field (RFC 4180): quoted, inner quotes doubled, when it holds a
 * comma, quote or line break. */
void vkr_csv_field(FILE* file, const char* text);

#endif
