/* NumPy .npy arrays (format versions 1.0, 2.0 and 3.0): reading untrusted files, writing atomically.
 *
 * Format: "\x93NUMPY", major, minor, a little-endian header length (2 bytes in 1.0, 4 in 2.0/3.0),
 * a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with
 * spaces and a newline, then the raw C-order data.
 *
 * Contract: supported dtypes are little-endian '<f4' '<f2' '<f8' '<i2' '<i4' '<i8' '<u2' '<u4'
 * '<u8' and one-byte '|u1' '|i1' '|b1', with at most VKR_FILE_MAX_DIMS dimensions. Reading checks
 * everything against the file size before allocating: header length (capped at 1 MiB), the dict
 * syntax, dtype, shape overflow, data size == product of the shape (no truncation, no trailing
 * bytes). Fortran order, big-endian and object dtypes are rejected with a message naming the file.
 * Writing uses version 1.0 with numpy's 64-byte alignment and
 * replaces the file atomically (path.tmp.<pid>, fsync, rename). */
#ifndef VKR_NPY_H
#define VKR_NPY_H
#include <stdint.h>

#include "vkr_fileio.h"

/* Largest .npy header accepted when reading. */
#define VKR_NPY_MAX_HEADER (1u << 20)

/* An array read from a .npy file; `data` is malloc'd and owned by the array. */
typedef struct vkr_npy_array {
    vkr_elem_type dtype;               /* element type */
    uint32_t ndim;                     /* number of dimensions (0: scalar) */
    uint64_t shape[VKR_FILE_MAX_DIMS]; /* dimensions, outermost first */
    uint64_t elems;                    /* product of the dimensions */
    uint64_t bytes;                    /* bytes of data */
    void* data;                        /* C-order elements (NULL when elems is 0) */
} vkr_npy_array;

/* Reads `path`; out_array is zeroed on entry and left empty on failure. */
vkr_status vkr_npy_load(const char* path, vkr_npy_array* out_array);
/* Reads `path` and converts '<f2' (and '<f4') data to float32; other dtypes are an error. */
vkr_status vkr_npy_load_f32(const char* path, vkr_npy_array* out_array);
/* Parses `size` bytes of .npy data in memory (copied); `label` names it in errors. */
vkr_status vkr_npy_load_memory(const void* data, size_t size, const char* label, vkr_npy_array* out_array);
/* Frees the data and zeroes the array. */
void vkr_npy_free(vkr_npy_array* array);
/* Checks dtype (VKR_ELEM_COUNT: any) and shape (VKR_DIM_ANY entries: any size) of an array read
 * from `label`; INVALID_ARGUMENT with both shapes in the message otherwise. */
vkr_status vkr_npy_check(const vkr_npy_array* array, const char* label, vkr_elem_type dtype, uint32_t ndim,
                         const uint64_t* shape);

/* Writes a C-order array of `dtype` and shape (ndim, shape) from `data` to `path` atomically. */
vkr_status vkr_npy_save(const char* path, vkr_elem_type dtype, uint32_t ndim, const uint64_t* shape,
                        const void* data);

#endif
