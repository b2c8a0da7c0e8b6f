/* Semantic IDs: disambiguation by sorting paths, statistics, .npy I/O. */
#include "vkr_quantize.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_npy.h"

/* qsort context: rows of `width` tokens (qsort has no user pointer; these calls are not reentrant). */
static const int32_t* sort_codes;
static const uint16_t* sort_ids;
static uint32_t sort_width;

static int cmp_code_rows(const void* a, const void* b) {
    uint32_t i = *(const uint32_t*)a, j = *(const uint32_t*)b;
    for (uint32_t l = 0; l < sort_width; l++) {
        int32_t x = sort_codes[(size_t)i * sort_width + l], y = sort_codes[(size_t)j * sort_width + l];
        if (x != y) return x < y ? -1 : 1;
    }
    return i < j ? -1 : i > j; /* stable: item order within a path */
}

static int cmp_id_rows(const void* a, const void* b) {
    uint32_t i = *(const uint32_t*)a, j = *(const uint32_t*)b;
    int c = 0;
    for (uint32_t l = 0; l < sort_width && c == 0; l++) {
        uint16_t x = sort_ids[(size_t)i * sort_width + l], y = sort_ids[(size_t)j * sort_width + l];
        if (x != y) c = x < y ? -1 : 1;
    }
    return c ? c : (i < j ? -1 : i > j);
}

void vkr_semantic_ids_order(const uint16_t* ids, uint32_t n, uint32_t width, uint32_t* order) {
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    sort_ids = ids;
    sort_width = width;
    qsort(order, n, sizeof *order, cmp_id_rows);
}

void vkr_semantic_codes_order(const int32_t* codes, uint32_t n, uint32_t levels, uint32_t* order) {
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    sort_codes = codes;
    sort_width = levels;
    qsort(order, n, sizeof *order, cmp_code_rows);
}

/* True when items i and j have the same ID. */
static bool same_id(const uint16_t* ids, uint32_t width, uint32_t i, uint32_t j) {
    return memcmp(ids + (size_t)i * width, ids + (size_t)j * width, width * sizeof *ids) == 0;
}

vkr_status vkr_semantic_ids_build(const int32_t* codes, uint32_t n, uint32_t levels, uint32_t k, uint16_t* ids,
                                  vkr_semid_stats* out_stats) {
    if (out_stats) memset(out_stats, 0, sizeof *out_stats);
    if (!codes || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "semantic ids: codes is NULL or n is 0");
    if (levels == 0 || levels > VKR_SEMID_MAX_LEVELS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "semantic ids: levels must be 1..%u (got %u)", VKR_SEMID_MAX_LEVELS,
                        levels);
    if (k == 0 || k > VKR_SEMID_MAX_CODES)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "semantic ids: codes per level must be 1..%u (got %u)",
                        VKR_SEMID_MAX_CODES, k);
    for (uint64_t e = 0; e < (uint64_t)n * levels; e++)
        if (codes[e] < 0 || (uint32_t)codes[e] >= k)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "semantic ids: item %llu level %llu has code %d outside [0, %u)",
                            (unsigned long long)(e / levels), (unsigned long long)(e % levels), codes[e], k);
    uint32_t* order = malloc((size_t)n * sizeof *order);
    uint32_t* hist = calloc(k > n ? k : n + 1, sizeof *hist); /* codes per level, then paths per size */
    if (!order || !hist) {
        free(order);
        free(hist);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "semantic ids: out of host memory for %u items", n);
    }
    vkr_semantic_codes_order(codes, n, levels, order);
    uint32_t paths = 0, max_per = 0, run = 0;
    vkr_status s = VKR_OK;
    for (uint32_t r = 0; r < n; r++) {
        bool same = r > 0 && memcmp(codes + (size_t)order[r] * levels, codes + (size_t)order[r - 1] * levels,
                                    levels * sizeof *codes) == 0;
        run = same ? run + 1 : 0;
        paths += !same;
        if (run + 1 > max_per) max_per = run + 1;
        if (run > UINT16_MAX) {
            s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "semantic ids: more than %u items share one code path", UINT16_MAX + 1);
            break;
        }
        if (ids) {
            uint16_t* row = ids + (size_t)order[r] * (levels + 1);
            for (uint32_t l = 0; l < levels; l++) row[l] = (uint16_t)codes[(size_t)order[r] * levels + l];
            row[levels] = (uint16_t)run;
        }
    }
    if (s == VKR_OK && out_stats) {
        vkr_semid_stats* st = out_stats;
        st->items = n;
        st->levels = levels;
        st->codes = k;
        st->distinct_paths = paths;
        st->collision_rate = (double)(n - paths) / n;
        st->max_per_path = max_per;
        for (uint32_t l = 0; l < levels; l++) {
            memset(hist, 0, k * sizeof *hist);
            for (uint32_t i = 0; i < n; i++) hist[codes[(size_t)i * levels + l]]++;
            double h = 0;
            for (uint32_t c = 0; c < k; c++) {
                if (!hist[c]) continue;
                st->used[l]++;
                double q = (double)hist[c] / n;
                h -= q * log(q);
            }
            st->utilization[l] = (double)st->used[l] / k;
            st->perplexity[l] = exp(h);
        }
        st->mean_per_path = (double)n / paths;
        memset(hist, 0, ((size_t)n + 1) * sizeof *hist);
        for (uint32_t r = 0, size = 1; r < n; r++, size++) /* hist[s]: paths holding s items */
            if (r + 1 == n || memcmp(codes + (size_t)order[r] * levels, codes + (size_t)order[r + 1] * levels,
                                     levels * sizeof *codes) != 0) {
                hist[size]++;
                size = 0;
            }
        uint64_t seen = 0;
        for (uint32_t size = 1; size <= n && seen * 100 < (uint64_t)paths * 99; size++) {
            seen += hist[size];
            st->p99_per_path = size;
        }
    }
    free(order);
    free(hist);
    return s;
}

uint32_t vkr_semid_max_per_path_bound(uint32_t n, uint32_t levels, uint32_t k) {
    double ideal = ceil(n / pow(k ? k : 1, levels)); /* items per path if every path were used evenly */
    double bound = 4 * ideal > k ? 4 * ideal : k;
    return bound > UINT32_MAX ? UINT32_MAX : (uint32_t)bound;
}

uint32_t vkr_semid_level_floor(uint32_t n, uint32_t k) {
    uint32_t m = k < n ? k : n;
    if (m < 2) return m;
    uint32_t f = (m + 63) / 64;
    return f < 2 ? 2 : f;
}

vkr_status vkr_semid_check_levels(const vkr_semid_stats* st) {
    if (!st || !st->items) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semid_check: no statistics");
    uint32_t floor = vkr_semid_level_floor(st->items, st->codes);
    for (uint32_t l = 0; l < st->levels; l++)
        if (st->used[l] < floor)
            return vkr_fail(VKR_ERR_STATE,
                            "semantic IDs collapsed: level %u uses %u/%u codes (at least %u needed); %u distinct paths "
                            "for %u items, up to %u items on one path",
                            l + 1, st->used[l], st->codes, floor, st->distinct_paths, st->items, st->max_per_path);
    return VKR_OK;
}

vkr_status vkr_semid_check(const vkr_semid_stats* st) {
    VKR_TRY(vkr_semid_check_levels(st));
    uint32_t bound = vkr_semid_max_per_path_bound(st->items, st->levels, st->codes);
    if (st->max_per_path > bound)
        return vkr_fail(VKR_ERR_STATE,
                        "semantic IDs collapsed: %u items share one code path (at most %u allowed); %u distinct paths "
                        "for %u items",
                        st->max_per_path, bound, st->distinct_paths, st->items);
    return VKR_OK;
}

vkr_status vkr_semantic_ids_save(const char* dir, const uint16_t* ids, uint32_t n, uint32_t width) {
    if (!dir || !ids || n == 0 || width == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semantic_ids_save: dir, ids, n and width are required");
    char path[4200];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", dir);
    uint64_t shape[2] = {n, width};
    return vkr_npy_save(path, VKR_ELEM_U16, 2, shape, ids);
}

vkr_status vkr_semantic_ids_load(const char* dir, uint32_t items, uint16_t** out_ids, uint32_t* out_n,
                                 uint32_t* out_width) {
    if (out_ids) *out_ids = NULL;
    if (out_n) *out_n = 0;
    if (out_width) *out_width = 0;
    if (!dir || !out_ids || !out_n || !out_width)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_semantic_ids_load: dir and outputs are required");
    char path[4200];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", dir);
    vkr_npy_array a;
    VKR_TRY(vkr_npy_load(path, &a));
    uint64_t want[2] = {items ? items : VKR_DIM_ANY, VKR_DIM_ANY};
    vkr_status s = vkr_npy_check(&a, path, VKR_ELEM_U16, 2, want);
    if (s == VKR_OK && (a.shape[1] < 2 || a.shape[1] > VKR_SEMID_MAX_LEVELS + 1 || a.shape[0] == 0 ||
                        a.shape[0] > UINT32_MAX))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: expected items x (levels + 1) with 1..%u levels, got %llu x %llu", path,
                     VKR_SEMID_MAX_LEVELS, (unsigned long long)a.shape[0], (unsigned long long)a.shape[1]);
    uint32_t* order = NULL;
    if (s == VKR_OK) {
        uint32_t n = (uint32_t)a.shape[0];
        order = malloc((size_t)n * sizeof *order);
        if (!order) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory", path);
        if (s == VKR_OK) {
            uint32_t w = (uint32_t)a.shape[1];
            vkr_semantic_ids_order(a.data, n, w, order);
            for (uint32_t r = 1; r < n && s == VKR_OK; r++)
                if (same_id(a.data, w, order[r - 1], order[r]))
                    s = vkr_fail(VKR_ERR_FORMAT, "%s: items %u and %u have the same semantic ID", path, order[r - 1],
                                 order[r]);
        }
    }
    free(order);
    if (s != VKR_OK) {
        vkr_npy_free(&a);
        return s;
    }
    *out_n = (uint32_t)a.shape[0];
    *out_width = (uint32_t)a.shape[1];
    *out_ids = a.data; /* ownership moves to the caller */
    return VKR_OK;
}
