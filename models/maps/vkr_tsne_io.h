/* Inputs and outputs of the t-SNE and alignment commands: embedding matrices with optional item
 * labels from a dataset directory, and the map files (.npy and CSV).
 *
 * Contract: an input is either a .npy file (float32/float16, N x D) or a directory holding
 * `item_emb.npy` (or the file named by `emb`); a directory that is also a dataset (dataset.json)
 * supplies each row's domain and title, and then its row count must equal the dataset's items.
 * A separate dataset directory may be given for a .npy input. Files are written atomically. */
#ifndef VKR_TSNE_IO_H
#define VKR_TSNE_IO_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_data.h"

/* An embedding matrix and, when known, the dataset its rows follow. */
typedef struct vkr_tsne_input {
    float* x;             /* n x d row-major (malloc'd) */
    uint32_t n;           /* rows */
    uint32_t d;           /* columns */
    bool has_dataset;     /* `dataset` is loaded (domains, titles) */
    vkr_dataset dataset;  /* the rows' items (row i = item i) */
    char source[4096];    /* the .npy path read */
} vkr_tsne_input;

/* Reads `path` (.npy or directory; `emb` overrides the file name inside a directory, NULL for
 * item_emb.npy) and labels from `data_dir` (NULL: path itself when it is a dataset directory). */
vkr_status vkr_tsne_input_load(const char* path, const char* emb, const char* data_dir, vkr_tsne_input* out_input);
/* Frees an input and zeroes it. */
void vkr_tsne_input_free(vkr_tsne_input* input);
/* The first line of the CSV vkr_tsne_save writes. */
#define VKR_TSNE_CSV_HEADER "item,key,domain,title,x,y"

/* Reads an N x 2 float32 map written by vkr_tsne_save (checked shape); *out is malloc'd. */
vkr_status vkr_tsne_load_map(const char* path, uint32_t expect_n, float** out, uint32_t* out_n);
/* Writes the map as NPY_PATH (N x 2 float32) and, when csv_path is not NULL, a CSV with columns
 * item,key,domain,title,x,y (key, domain and title empty without a dataset). */
vkr_status vkr_tsne_save(const char* npy_path, const char* csv_path, const float* y, uint32_t n,
                         const vkr_dataset* dataset);

#endif
