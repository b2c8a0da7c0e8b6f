/* Loading a run directory for the viewer: dataset labels, t-SNE maps, semantic IDs (as a prefix
 * tree) and the recommender's beams.json. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_npy.h"
#include "vkr_tsne_io.h"
#include "vkr_viewer_internal.h"

const char* vkr_viewer_title(const vkr_viewer* v, uint32_t i, char* buf, size_t size) {
    const char* t = v->has_dataset ? vkr_strtab_get(&v->dataset.item_title, i) : "";
    if (t[0]) snprintf(buf, size, "%s", t);
    else if (v->has_dataset) snprintf(buf, size, "item %s", vkr_strtab_get(&v->dataset.item_key, i));
    else snprintf(buf, size, "item %u", i);
    return buf;
}

uint32_t vkr_viewer_domain(const vkr_viewer* v, uint32_t i) { return v->has_dataset ? v->dataset.item_domain[i] : 0; }

static int name_cmp(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

bool vkr_viewer_map_bounds(vkr_viewer* v, uint32_t m) {
    const float* y = v->maps[m];
    v->map_lo[m][0] = v->map_hi[m][0] = y[0];
    v->map_lo[m][1] = v->map_hi[m][1] = y[1];
    for (uint32_t i = 0; i < v->n; i++)
        for (int a = 0; a < 2; a++) {
            if (!isfinite(y[2 * i + a])) return false;
            v->map_lo[m][a] = fminf(v->map_lo[m][a], y[2 * i + a]);
            v->map_hi[m][a] = fmaxf(v->map_hi[m][a], y[2 * i + a]);
        }
    return true;
}

/* Adds the maps of directory `dir_path` in name order: files `prefix`*.npy, each named after the file
 * without the prefix, a following '_' and the extension ("tsne_text.npy" with prefix "tsne" ->
 * "text"; a bare "tsne.npy" -> "tsne"). A missing directory is an error only when `required`. */
static vkr_status load_map_dir(vkr_viewer* v, const char* dir_path, const char* prefix, bool required) {
    DIR* dir = opendir(dir_path);
    if (!dir) return required ? vkr_fail(VKR_ERR_IO, "cannot open run directory %s", dir_path) : VKR_OK;
    char* names[64];
    uint32_t count = 0;
    size_t plen = strlen(prefix);
    struct dirent* e;
    while ((e = readdir(dir)) && count < 64) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, plen) == 0 && len >= plen + 4 && e->d_name[0] != '.' &&
            strcmp(e->d_name + len - 4, ".npy") == 0)
            names[count++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, name_cmp);
    vkr_status s = VKR_OK;
    for (uint32_t k = 0; k < count; k++) {
        if (s == VKR_OK && names[k] && v->map_count < VKR_VIEWER_MAX_MAPS) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", dir_path, names[k]);
            uint32_t m = v->map_count, rows = 0;
            s = vkr_tsne_load_map(path, v->n, &v->maps[m], &rows);
            if (s == VKR_OK) {
                if (!v->n) v->n = rows;
                const char* base = plen && names[k][plen] == '_' ? names[k] + plen + 1 : names[k];
                snprintf(v->map_name[m], sizeof v->map_name[m], "%.*s", (int)(strlen(base) - 4), base);
                v->map_count++;
                if (!vkr_viewer_map_bounds(v, m)) s = vkr_fail(VKR_ERR_FORMAT, "%s: a coordinate is not finite", path);
            }
        }
        free(names[k]);
    }
    return s;
}

/* RUN_DIR/tsne*.npy (vkrec tsne), then RUN_DIR/maps/NAME.npy (the main job's views). */
static vkr_status load_maps(vkr_viewer* v) {
    VKR_TRY(load_map_dir(v, v->run_dir, "tsne", true));
    char maps[4200];
    snprintf(maps, sizeof maps, "%s/maps", v->run_dir);
    return load_map_dir(v, maps, "", false);
}

/* The trie of every item's semantic ID and the panel's state of each node (depth, items below per
 * domain; the root expanded). */
static vkr_status load_trie(vkr_viewer* v) {
    char path[4200];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", v->run_dir);
    /* vkrec tokenize writes the IDs beside the dataset, which a run directory may only point to. */
    if (access(path, R_OK) != 0 && v->has_dataset) snprintf(path, sizeof path, "%s/semantic_ids.npy", v->data_dir);
    if (access(path, R_OK) != 0) {
        snprintf(v->trie_note, sizeof v->trie_note, "no semantic_ids.npy in the run directory (vkrec tokenize writes it)");
        return VKR_OK;
    }
    vkr_npy_array a;
    VKR_TRY(vkr_npy_load(path, &a));
    if (a.dtype != VKR_ELEM_U16 || a.ndim != 2 || a.shape[1] < 1 || a.shape[1] > VKR_TRIE_MAX_DEPTH ||
        (v->n && a.shape[0] != v->n) || a.shape[0] == 0 || a.shape[0] > UINT32_MAX) {
        vkr_npy_free(&a);
        return vkr_fail(VKR_ERR_FORMAT, "%s: expected uint16 items x levels (levels <= %u%s)", path, VKR_TRIE_MAX_DEPTH,
                        v->n ? ", one row per item" : "");
    }
    if (!v->n) v->n = (uint32_t)a.shape[0];
    vkr_status s = vkr_trie_build(a.data, v->n, (uint32_t)a.shape[1], NULL, -1, &v->trie);
    vkr_npy_free(&a);
    if (s != VKR_OK) return vkr_fail_context(s, "%s: ", path);
    const vkr_trie* t = &v->trie;
    v->nodes = calloc(t->node_count, sizeof *v->nodes);
    if (!v->nodes) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the trie");
    /* Reverse breadth-first order reaches every node after all of its children. */
    for (uint32_t i = t->node_count; i-- > 0;) {
        vkr_viewer_trie_node* nd = &v->nodes[i];
        nd->depth = vkr_trie_node_depth(t, i);
        if (t->leaf_item[i] >= 0) {
            nd->count = 1;
            nd->domain_count[vkr_viewer_domain(v, (uint32_t)t->leaf_item[i])] = 1;
        }
        if (i == 0) break;
        vkr_viewer_trie_node* parent = &v->nodes[t->parent[i]];
        parent->count += nd->count;
        for (uint32_t d = 0; d < v->domain_count; d++) {
            uint32_t sum = (uint32_t)parent->domain_count[d] + nd->domain_count[d];
            parent->domain_count[d] = (uint16_t)(sum < UINT16_MAX ? sum : UINT16_MAX);
        }
    }
    v->nodes[0].expanded = true;
    return VKR_OK;
}

/* RUN_DIR/beams.json, when there is one. */
static vkr_status load_beams(vkr_viewer* v) {
    char path[4200];
    snprintf(path, sizeof path, "%s/beams.json", v->run_dir);
    if (access(path, F_OK) != 0) return VKR_OK; /* optional */
    return vkr_beams_read(path, v->n, &v->beams);
}

const char* vkr_viewer_dataset_dir(const vkr_viewer_options* options, char* buf, size_t size) {
    if (options->data_dir) return options->data_dir;
    snprintf(buf, size, "%s/dataset.json", options->run_dir);
    if (access(buf, R_OK) == 0) return options->run_dir;
    /* A run directory of `vkrec run SRC` holds the dataset it prepared in RUN_DIR/data. */
    snprintf(buf, size, "%s/data/dataset.json", options->run_dir);
    if (access(buf, R_OK) == 0) {
        snprintf(buf, size, "%s/data", options->run_dir);
        return buf;
    }
    /* `vkrec run DATASET` names the dataset it used in RUN_DIR/metrics.json. */
    snprintf(buf, size, "%s/metrics.json", options->run_dir);
    FILE* f = fopen(buf, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    char* text = bytes > 0 && bytes < (16l << 20) ? malloc((size_t)bytes + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)bytes, f) : 0;
    fclose(f);
    cJSON* root = text ? cJSON_ParseWithLength(text, got) : NULL;
    free(text);
    const cJSON* dir = cJSON_GetObjectItem(root, "dataset_dir");
    const char* found = NULL;
    if (cJSON_IsString(dir)) {
        snprintf(buf, size, "%s/dataset.json", dir->valuestring);
        if (access(buf, R_OK) == 0) {
            snprintf(buf, size, "%s", dir->valuestring);
            found = buf;
        }
    }
    cJSON_Delete(root);
    return found;
}

vkr_status vkr_viewer_load(vkr_viewer* v) {
    char buf[4200];
    const char* data = vkr_viewer_dataset_dir(&v->opt, buf, sizeof buf);
    if (data) {
        snprintf(v->data_dir, sizeof v->data_dir, "%s", data);
        VKR_TRY(vkr_dataset_load(data, &v->dataset));
        v->has_dataset = true;
        v->n = v->dataset.item_count;
        v->domain_count = v->dataset.domain_count;
    } else {
        v->domain_count = 1;
    }
    VKR_TRY(load_maps(v));
    VKR_TRY(load_trie(v));
    if (v->live_n) {
        /* The live map: zeros until the first t-SNE callback, then its layouts. */
        if (v->n && v->n != v->live_n)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "viewer: %u live points, but %s has %u items", v->live_n,
                            v->run_dir, v->n);
        if (v->map_count == VKR_VIEWER_MAX_MAPS)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "viewer: no room for the live map");
        v->n = v->live_n;
        v->live_map = v->map_count;
        v->maps[v->live_map] = calloc((size_t)v->n * 2, sizeof(float));
        if (!v->maps[v->live_map]) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the live map");
        snprintf(v->map_name[v->live_map], sizeof v->map_name[v->live_map], "t-SNE (starting)");
        v->map_count++;
        vkr_viewer_map_bounds(v, v->live_map);
    }
    if (v->map_count == 0 && v->trie.node_count == 0)
        return vkr_fail(VKR_ERR_NOT_FOUND, "%s has neither a t-SNE map (tsne*.npy: run vkrec tsne; maps/NAME.npy) nor "
                        "semantic_ids.npy",
                        v->run_dir);
    VKR_TRY(load_beams(v));
    v->match = calloc(v->n ? v->n : 1, 1);
    if (!v->match) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    return VKR_OK;
}

void vkr_viewer_unload(vkr_viewer* v) {
    for (uint32_t m = 0; m < v->map_count; m++) free(v->maps[m]);
    vkr_beams_free(&v->beams);
    vkr_trie_free(&v->trie);
    free(v->nodes);
    free(v->match);
    if (v->has_dataset) vkr_dataset_free(&v->dataset);
}
