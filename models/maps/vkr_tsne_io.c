/* Embedding inputs (with dataset labels) and map outputs of the t-SNE and alignment commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vkr_file.h"
#include "vkr_npy.h"
#include "vkr_tsne_io.h"
#include "vkr_values.h"

static bool is_dir(const char* path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_dataset(const char* dir) {
    char p[4200];
    snprintf(p, sizeof p, "%s/dataset.json", dir);
    return access(p, R_OK) == 0;
}

void vkr_tsne_input_free(vkr_tsne_input* in) {
    free(in->x);
    if (in->has_dataset) vkr_dataset_free(&in->dataset);
    memset(in, 0, sizeof *in);
}

vkr_status vkr_tsne_input_load(const char* path, const char* emb, const char* data_dir, vkr_tsne_input* out) {
    memset(out, 0, sizeof *out);
    if (!path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "no input path given");
    bool dir = is_dir(path);
    if (dir) snprintf(out->source, sizeof out->source, "%s/%s", path, emb ? emb : "item_emb.npy");
    else snprintf(out->source, sizeof out->source, "%s", path);
    if (!data_dir && dir && has_dataset(path)) data_dir = path;
    vkr_npy_array a;
    VKR_TRY(vkr_npy_load_f32(out->source, &a));
    if (a.ndim != 2 || a.shape[0] < 1 || a.shape[1] < 1 || a.shape[0] > UINT32_MAX || a.shape[1] > 65536) {
        vkr_npy_free(&a);
        return vkr_fail(VKR_ERR_FORMAT, "%s: expected a 2-D N x D embedding matrix (D <= 65536)", out->source);
    }
    vkr_status checked = vkr_check_vectors(out->source, a.data, a.shape[0], a.shape[1]);
    if (checked != VKR_OK) {
        vkr_npy_free(&a);
        return checked;
    }
    out->n = (uint32_t)a.shape[0];
    out->d = (uint32_t)a.shape[1];
    out->x = a.data; /* adopted */
    if (data_dir) {
        vkr_status s = vkr_dataset_load(data_dir, &out->dataset);
        if (s != VKR_OK) {
            vkr_tsne_input_free(out);
            return s;
        }
        out->has_dataset = true;
        if (out->dataset.item_count != out->n) {
            uint32_t items = out->dataset.item_count, n = out->n;
            vkr_tsne_input_free(out);
            return vkr_fail(VKR_ERR_FORMAT, "%s has %u rows but the dataset in %s has %u items", path, n, data_dir, items);
        }
    }
    return VKR_OK;
}

vkr_status vkr_tsne_load_map(const char* path, uint32_t expect_n, float** out, uint32_t* out_n) {
    *out = NULL;
    *out_n = 0;
    vkr_npy_array a;
    VKR_TRY(vkr_npy_load_f32(path, &a));
    if (a.ndim != 2 || a.shape[1] != 2 || a.shape[0] < 1 || a.shape[0] > UINT32_MAX ||
        (expect_n && a.shape[0] != expect_n)) {
        vkr_npy_free(&a);
        if (expect_n) return vkr_fail(VKR_ERR_FORMAT, "%s: expected a %u x 2 map", path, expect_n);
        return vkr_fail(VKR_ERR_FORMAT, "%s: expected an N x 2 map", path);
    }
    *out_n = (uint32_t)a.shape[0];
    *out = a.data;
    return VKR_OK;
}

vkr_status vkr_tsne_save(const char* npy_path, const char* csv_path, const float* y, uint32_t n,
                         const vkr_dataset* d) {
    uint64_t shape[2] = {n, 2};
    VKR_TRY(vkr_npy_save(npy_path, VKR_ELEM_F32, 2, shape, y));
    if (!csv_path) return VKR_OK;
    vkr_atomic_file out;
    VKR_TRY(vkr_atomic_open(csv_path, &out));
    FILE* f = out.file; /* vkr_atomic_commit reports a failed write */
    fputs(VKR_TSNE_CSV_HEADER "\n", f);
    for (uint32_t i = 0; i < n; i++) {
        fprintf(f, "%u,", i);
        if (d) {
            vkr_csv_field(f, vkr_strtab_get(&d->item_key, i));
            fputc(',', f);
            vkr_csv_field(f, d->domain_name[d->item_domain[i]]);
            fputc(',', f);
            vkr_csv_field(f, vkr_strtab_get(&d->item_title, i));
        } else {
            fputs(",,", f);
        }
        fprintf(f, ",%.6g,%.6g\n", y[2 * i], y[2 * i + 1]);
    }
    return vkr_atomic_commit(&out);
}
