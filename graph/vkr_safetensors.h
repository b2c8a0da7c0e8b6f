/* safetensors checkpoints: writing named host arrays, and reading untrusted files.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"key": "value"}, "name": {"dtype": "F32", "shape": [5, 6],
 *    "data_offsets": [begin, end]}, ...}
 * (padded with spaces), then the data buffer; offsets are relative to the data buffer.
 *
 * Contract (writing): the writer keeps a copy of names, shapes and metadata but only the pointer
 * to each tensor's data, which must stay valid until vkr_st_writer_write returns. The header
 * lists tensors in the order added; their data is packed back to back in decreasing element size,
 * so every tensor is aligned to its element size within the file; the file is replaced atomically (path.tmp.<pid>, fsync,
 * rename), so a failed write never destroys an existing checkpoint. Output is readable by the
 * Python safetensors package.
 *
 * Contract (reading): a file is untrusted. vkr_st_open checks the header length against the file
 * size (and a 100 MiB cap), parses the JSON, and validates every tensor before returning: known
 * dtype, at most VKR_FILE_MAX_DIMS non-negative integer dimensions whose byte size does not
 * overflow, data_offsets that match the shape, tile the data buffer exactly (no overlap, no gap,
 * nothing past the end, no trailing bytes), unique names, string-only metadata. Errors name the
 * file and the tensor. Tensor data is read on demand (pread), so opening a large file is cheap.
 *
 * Digest: the writer adds metadata vkrec.digest = "fnv1a64:<16 hex digits>", a hash of every other
 * metadata entry, every tensor's name, dtype, shape and offset, and the data buffer; vkr_st_open reads
 * the whole data buffer once to verify it when present (FORMAT "corrupt" naming the file otherwise).
 * Files without it (other writers, vkrec before the digest) open unverified: callers that need
 * integrity check for the key. */
#ifndef VKR_SAFETENSORS_H
#define VKR_SAFETENSORS_H
#include <stdint.h>

#include "vkr_fileio.h"

/* Largest header vkr_st_open accepts (the Python implementation's limit). */
#define VKR_ST_MAX_HEADER (100ull << 20)
/* The metadata key of the writer's digest (see above). */
#define VKR_ST_DIGEST_KEY "vkrec.digest"

/* One tensor listed in an open file. */
typedef struct vkr_st_tensor {
    const char* name;                  /* tensor name (owned by the file) */
    vkr_elem_type dtype;               /* element type */
    uint32_t ndim;                     /* number of dimensions (0: scalar) */
    uint64_t shape[VKR_FILE_MAX_DIMS]; /* dimensions, outermost first */
    uint64_t elems;                    /* product of the dimensions */
    uint64_t offset;                   /* absolute byte offset of the data in the file */
    uint64_t bytes;                    /* bytes of data (elems * element size) */
} vkr_st_tensor;

/* An open, validated safetensors file. */
typedef struct vkr_st_file vkr_st_file;

/* Opens and validates `path`; out_file is zeroed on entry. */
vkr_status vkr_st_open(const char* path, vkr_st_file** out_file);
/* Same as vkr_st_open for `size` bytes in memory (not copied; must outlive the file object);
 * `label` names the data in errors. */
vkr_status vkr_st_open_memory(const void* data, size_t size, const char* label, vkr_st_file** out_file);
/* Closes the file (NULL is a no-op). */
void vkr_st_close(vkr_st_file* file);

/* Number of tensors in the file. */
uint32_t vkr_st_tensor_count(const vkr_st_file* file);
/* Tensor `i` in header order (NULL when out of range). */
const vkr_st_tensor* vkr_st_tensor_at(const vkr_st_file* file, uint32_t i);
/* The tensor called `name`, or NULL. */
const vkr_st_tensor* vkr_st_find(const vkr_st_file* file, const char* name);
/* Number of __metadata__ entries. */
uint32_t vkr_st_metadata_count(const vkr_st_file* file);
/* Metadata entry `i` (key and value owned by the file); false when out of range. */
bool vkr_st_metadata_at(const vkr_st_file* file, uint32_t i, const char** out_key, const char** out_value);
/* The metadata value for `key`, or NULL. */
const char* vkr_st_metadata_get(const vkr_st_file* file, const char* key);

/* Reads tensor `name` into `dst` (dst_bytes large enough) after checking that it has exactly
 * `dtype` and shape (ndim, shape); NOT_FOUND or INVALID_ARGUMENT with a clear message otherwise. */
vkr_status vkr_st_load(const vkr_st_file* file, const char* name, vkr_elem_type dtype, uint32_t ndim,
                       const uint64_t* shape, void* dst, uint64_t dst_bytes);
/* Reads an F32, F16 or BF16 tensor of the given shape into `dst` as float (dst_count elements). */
vkr_status vkr_st_load_f32(const vkr_st_file* file, const char* name, uint32_t ndim, const uint64_t* shape,
                           float* dst, uint64_t dst_count);

/* Collects tensors and metadata for one file. */
typedef struct vkr_st_writer vkr_st_writer;

/* Creates an empty writer. */
vkr_status vkr_st_writer_create(vkr_st_writer** out_writer);
/* Frees the writer (NULL is a no-op). */
void vkr_st_writer_destroy(vkr_st_writer* writer);
/* Adds a tensor; `data` holds elems * element-size bytes and must stay valid until the write.
 * Names must be unique, non-empty and not "__metadata__". */
vkr_status vkr_st_writer_add(vkr_st_writer* writer, const char* name, vkr_elem_type dtype, uint32_t ndim,
                             const uint64_t* shape, const void* data);
/* Sets metadata `key` to `value` (replacing an earlier value). */
vkr_status vkr_st_writer_set_metadata(vkr_st_writer* writer, const char* key, const char* value);
/* Writes everything added so far to `path` atomically. */
vkr_status vkr_st_writer_write(const vkr_st_writer* writer, const char* path);

#endif
