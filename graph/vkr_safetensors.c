#include "vkr_safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_file.h"

/* One __metadata__ entry. */
typedef struct vkr_st_meta {
    char* key;
    char* value;
} vkr_st_meta;

struct vkr_st_file {
    vkr_source src;
    vkr_st_tensor* tensors; /* header order */
    uint32_t count;
    const vkr_st_tensor** by_name; /* tensors sorted by name, for lookup */
    vkr_st_meta* meta;
    uint32_t meta_count;
};

/* ---- the digest (vkrec.digest) ----
 * Covers what a reader acts on: every other metadata entry and every tensor's name, dtype, shape and
 * offset, in header order, then the data buffer; so a flipped bit anywhere that still parses is caught. */

static uint64_t vkr_st_digest_meta(uint64_t h, const char* key, const char* value) {
    h = vkr_hash64(h, key, strlen(key) + 1);
    return vkr_hash64(h, value, strlen(value) + 1);
}

static uint64_t vkr_st_digest_tensor(uint64_t h, const char* name, vkr_elem_type dtype, uint32_t ndim,
                                     const uint64_t* shape, uint64_t begin) {
    uint64_t fields[3 + VKR_FILE_MAX_DIMS] = {(uint64_t)dtype, ndim, begin};
    for (uint32_t d = 0; d < ndim; d++) fields[3 + d] = shape[d];
    h = vkr_hash64(h, name, strlen(name) + 1);
    return vkr_hash64(h, fields, (3 + ndim) * sizeof *fields);
}

/* ---- reading ---- */

static char* vkr_strdup(const char* s) {
    size_t n = strlen(s) + 1;
    char* d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static bool vkr_st_parse_dtype(const char* s, vkr_elem_type* out) {
    for (int t = 0; t < VKR_ELEM_COUNT; t++)
        if (strcmp(s, vkr_elem_name((vkr_elem_type)t)) == 0) {
            *out = (vkr_elem_type)t;
            return true;
        }
    return false;
}

/* A JSON number that is a non-negative integer exactly representable in a double. */
static bool vkr_json_uint(const cJSON* j, uint64_t* out) {
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return false;
    *out = (uint64_t)d;
    return true;
}

static int vkr_cmp_name(const void* a, const void* b) {
    return strcmp((*(const vkr_st_tensor* const*)a)->name, (*(const vkr_st_tensor* const*)b)->name);
}

static int vkr_cmp_offset(const void* a, const void* b) {
    const vkr_st_tensor* x = *(const vkr_st_tensor* const*)a;
    const vkr_st_tensor* y = *(const vkr_st_tensor* const*)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? -1 : 1;
    return 0;
}

static vkr_status vkr_st_parse_tensor(vkr_st_file* f, const cJSON* item, vkr_st_tensor* t, uint64_t data_size) {
    const char* file = f->src.label;
    const char* name = t->name;
    if (!cJSON_IsObject(item)) return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", file, name);
    const cJSON* dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON* shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON* offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': needs a string \"dtype\", an array \"shape\" and an array "
                        "\"data_offsets\"", file, name);
    if (!vkr_st_parse_dtype(dtype->valuestring, &t->dtype))
        return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': unsupported dtype \"%.40s\"", file, name, dtype->valuestring);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > VKR_FILE_MAX_DIMS)
        return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': %d dimensions exceed the limit of %d", file, name, ndim,
                        VKR_FILE_MAX_DIMS);
    t->ndim = (uint32_t)ndim;
    uint32_t d = 0;
    for (const cJSON* dim = shape->child; dim; dim = dim->next, d++)
        if (!vkr_json_uint(dim, &t->shape[d]))
            return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': shape entry %u is not a non-negative integer", file, name, d);
    char shp[200];
    if (!vkr_shape_bytes(t->ndim, t->shape, vkr_elem_size(t->dtype), &t->elems, &t->bytes))
        return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': shape %s %s overflows its byte size", file, name,
                        vkr_shape_str(t->ndim, t->shape, shp, sizeof shp), vkr_elem_name(t->dtype));
    uint64_t begin, end;
    if (cJSON_GetArraySize(offs) != 2 || !vkr_json_uint(offs->child, &begin) || !vkr_json_uint(offs->child->next, &end))
        return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': data_offsets must be two non-negative integers", file, name);
    if (end < begin)
        return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu) end before they begin", file, name,
                        (unsigned long long)begin, (unsigned long long)end);
    if (end - begin != t->bytes)
        return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu) do not match shape %s %s (%llu bytes)",
                        file, name, (unsigned long long)begin, (unsigned long long)end,
                        vkr_shape_str(t->ndim, t->shape, shp, sizeof shp), vkr_elem_name(t->dtype),
                        (unsigned long long)t->bytes);
    if (end > data_size)
        return vkr_fail(VKR_ERR_FORMAT, "%s: truncated: tensor '%s' data_offsets [%llu, %llu) run past the %llu-byte "
                        "data buffer", file, name, (unsigned long long)begin, (unsigned long long)end,
                        (unsigned long long)data_size);
    t->offset = begin; /* relative for now; made absolute once the layout is validated */
    return VKR_OK;
}

static vkr_status vkr_st_parse_metadata(vkr_st_file* f, const cJSON* meta) {
    if (!cJSON_IsObject(meta)) return vkr_fail(VKR_ERR_FORMAT, "%s: __metadata__ is not a JSON object", f->src.label);
    int n = cJSON_GetArraySize(meta);
    f->meta = calloc((size_t)n + 1, sizeof *f->meta);
    if (!f->meta) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (const cJSON* m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            return vkr_fail(VKR_ERR_FORMAT, "%s: __metadata__ value for '%.80s' is not a string", f->src.label, m->string);
        vkr_st_meta* e = &f->meta[f->meta_count++];
        e->key = vkr_strdup(m->string);
        e->value = vkr_strdup(m->valuestring);
        if (!e->key || !e->value) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    return VKR_OK;
}

/* Checks that the tensors, in offset order, tile [0, data_size) exactly. */
static vkr_status vkr_st_check_layout(vkr_st_file* f, uint64_t data_size) {
    const vkr_st_tensor** order = malloc(((size_t)f->count + 1) * sizeof *order);
    if (!order) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (uint32_t i = 0; i < f->count; i++) order[i] = &f->tensors[i];
    qsort(order, f->count, sizeof *order, vkr_cmp_offset);
    vkr_status s = VKR_OK;
    uint64_t pos = 0;
    const vkr_st_tensor* prev = NULL;
    for (uint32_t k = 0; k < f->count && s == VKR_OK; k++) {
        const vkr_st_tensor* t = order[k];
        if (t->offset < pos)
            s = vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu) overlap tensor '%s' [%llu, %llu)",
                         f->src.label, t->name, (unsigned long long)t->offset,
                         (unsigned long long)(t->offset + t->bytes), prev->name, (unsigned long long)prev->offset,
                         (unsigned long long)pos);
        else if (t->offset > pos)
            s = vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu) leave a gap after byte %llu",
                         f->src.label, t->name, (unsigned long long)t->offset,
                         (unsigned long long)(t->offset + t->bytes), (unsigned long long)pos);
        pos = t->offset + t->bytes;
        prev = t;
    }
    if (s == VKR_OK && pos != data_size)
        s = vkr_fail(VKR_ERR_FORMAT, "%s: %llu trailing bytes after the last tensor's data", f->src.label,
                     (unsigned long long)(data_size - pos));
    free(order);
    return s;
}

/* Checks the file against its vkrec.digest metadata, when it has one (tensor offsets still relative). */
static vkr_status vkr_st_verify_digest(const vkr_st_file* f, uint64_t data_start, uint64_t data_size) {
    const char* want = vkr_st_metadata_get(f, VKR_ST_DIGEST_KEY);
    if (!want) return VKR_OK;
    char canonical[32]; /* the writer's spelling only: lowercase, 16 digits */
    unsigned long long stored = strncmp(want, "fnv1a64:", 8) == 0 ? strtoull(want + 8, NULL, 16) : 0;
    snprintf(canonical, sizeof canonical, "fnv1a64:%016llx", stored);
    if (strcmp(canonical, want) != 0)
        return vkr_fail(VKR_ERR_FORMAT, "%s: metadata %s '%.40s' is not fnv1a64:<16 hex digits>", f->src.label,
                        VKR_ST_DIGEST_KEY, want);
    uint64_t h = VKR_HASH64_INIT;
    for (uint32_t i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta[i].key, VKR_ST_DIGEST_KEY) != 0) h = vkr_st_digest_meta(h, f->meta[i].key, f->meta[i].value);
    for (uint32_t i = 0; i < f->count; i++) {
        const vkr_st_tensor* t = &f->tensors[i];
        h = vkr_st_digest_tensor(h, t->name, t->dtype, t->ndim, t->shape, t->offset);
    }
    uint8_t buf[1 << 16];
    for (uint64_t pos = 0; pos < data_size;) {
        size_t n = data_size - pos < sizeof buf ? (size_t)(data_size - pos) : sizeof buf;
        VKR_TRY(vkr_source_read(&f->src, data_start + pos, buf, n));
        h = vkr_hash64(h, buf, n);
        pos += n;
    }
    if (h != stored)
        return vkr_fail(VKR_ERR_FORMAT, "%s: corrupt: its content does not match its digest (%s %s, computed "
                        "fnv1a64:%016llx)", f->src.label, VKR_ST_DIGEST_KEY, want, (unsigned long long)h);
    return VKR_OK;
}

static vkr_status vkr_st_parse(vkr_st_file* f) {
    const char* file = f->src.label;
    uint64_t size = f->src.size;
    if (size < 8)
        return vkr_fail(VKR_ERR_FORMAT, "%s: truncated: %llu bytes is shorter than the 8-byte header length", file,
                        (unsigned long long)size);
    uint8_t len_bytes[8];
    VKR_TRY(vkr_source_read(&f->src, 0, len_bytes, 8));
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | len_bytes[i];
    if (n > size - 8)
        return vkr_fail(VKR_ERR_FORMAT, "%s: header length %llu exceeds file size %llu (truncated or not a safetensors "
                        "file)", file, (unsigned long long)n, (unsigned long long)size);
    if (n > VKR_ST_MAX_HEADER)
        return vkr_fail(VKR_ERR_FORMAT, "%s: header length %llu exceeds the %llu-byte limit", file,
                        (unsigned long long)n, (unsigned long long)VKR_ST_MAX_HEADER);
    char* text = malloc(n + 1);
    if (!text) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory for a %llu-byte header", file,
                               (unsigned long long)n);
    vkr_status s = vkr_source_read(&f->src, 8, text, n);
    text[n] = '\0';
    cJSON* root = NULL;
    if (s == VKR_OK && (n == 0 || text[0] != '{'))
        s = vkr_fail(VKR_ERR_FORMAT, "%s: header does not start with '{' (not a safetensors file)", file);
    if (s == VKR_OK) {
        const char* end = NULL;
        root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, 0);
        size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        if (!root) s = vkr_fail(VKR_ERR_FORMAT, "%s: header is not valid JSON (error near byte %zu)", file, at + 8);
        for (size_t i = at; s == VKR_OK && i < n; i++)
            if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
                s = vkr_fail(VKR_ERR_FORMAT, "%s: unexpected bytes after the header's JSON at byte %zu", file, i + 8);
        if (s == VKR_OK && !cJSON_IsObject(root)) s = vkr_fail(VKR_ERR_FORMAT, "%s: header is not a JSON object", file);
    }
    free(text);
    uint64_t data_size = size - 8 - n;
    if (s == VKR_OK) {
        int count = cJSON_GetArraySize(root);
        f->tensors = calloc((size_t)count + 1, sizeof *f->tensors);
        f->by_name = calloc((size_t)count + 1, sizeof *f->by_name);
        if (!f->tensors || !f->by_name) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    bool seen_meta = false;
    for (const cJSON* item = root ? root->child : NULL; item && s == VKR_OK; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) {
            s = seen_meta ? vkr_fail(VKR_ERR_FORMAT, "%s: __metadata__ appears twice", file)
                          : vkr_st_parse_metadata(f, item);
            seen_meta = true;
            continue;
        }
        vkr_st_tensor* t = &f->tensors[f->count];
        t->name = vkr_strdup(item->string);
        if (!t->name) {
            s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
            break;
        }
        f->by_name[f->count++] = t; /* counted before validation so that close frees its name */
        s = t->name[0] ? vkr_st_parse_tensor(f, item, t, data_size)
                       : vkr_fail(VKR_ERR_FORMAT, "%s: a tensor has an empty name", file);
    }
    cJSON_Delete(root);
    if (s != VKR_OK) return s;
    qsort(f->by_name, f->count, sizeof *f->by_name, vkr_cmp_name);
    for (uint32_t i = 1; i < f->count; i++)
        if (strcmp(f->by_name[i]->name, f->by_name[i - 1]->name) == 0)
            return vkr_fail(VKR_ERR_FORMAT, "%s: tensor '%s' appears twice", file, f->by_name[i]->name);
    VKR_TRY(vkr_st_check_layout(f, data_size));
    VKR_TRY(vkr_st_verify_digest(f, 8 + n, data_size));
    for (uint32_t i = 0; i < f->count; i++) f->tensors[i].offset += 8 + n;
    return VKR_OK;
}

static vkr_status vkr_st_finish_open(vkr_st_file* f, vkr_st_file** out) {
    vkr_status s = vkr_st_parse(f);
    if (s != VKR_OK) {
        vkr_st_close(f);
        return s;
    }
    *out = f;
    return VKR_OK;
}

vkr_status vkr_st_open(const char* path, vkr_st_file** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_st_open: out_file is NULL");
    *out = NULL;
    if (!path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_st_open: path is NULL");
    vkr_st_file* f = calloc(1, sizeof *f);
    if (!f) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    vkr_status s = vkr_source_open_file(path, &f->src);
    if (s != VKR_OK) {
        free(f);
        return s;
    }
    return vkr_st_finish_open(f, out);
}

vkr_status vkr_st_open_memory(const void* data, size_t size, const char* label, vkr_st_file** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_st_open_memory: out_file is NULL");
    *out = NULL;
    if (!data && size) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_st_open_memory: data is NULL");
    vkr_st_file* f = calloc(1, sizeof *f);
    if (!f) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    vkr_source_open_memory(data, size, label, &f->src);
    return vkr_st_finish_open(f, out);
}

void vkr_st_close(vkr_st_file* f) {
    if (!f) return;
    vkr_source_close(&f->src);
    for (uint32_t i = 0; i < f->count; i++) free((char*)f->tensors[i].name);
    for (uint32_t i = 0; i < f->meta_count; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->meta);
    free(f->tensors);
    free(f->by_name);
    free(f);
}

uint32_t vkr_st_tensor_count(const vkr_st_file* f) { return f ? f->count : 0; }

const vkr_st_tensor* vkr_st_tensor_at(const vkr_st_file* f, uint32_t i) {
    return f && i < f->count ? &f->tensors[i] : NULL;
}

const vkr_st_tensor* vkr_st_find(const vkr_st_file* f, const char* name) {
    if (!f || !name) return NULL;
    uint32_t lo = 0, hi = f->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

uint32_t vkr_st_metadata_count(const vkr_st_file* f) { return f ? f->meta_count : 0; }

bool vkr_st_metadata_at(const vkr_st_file* f, uint32_t i, const char** out_key, const char** out_value) {
    if (out_key) *out_key = NULL;
    if (out_value) *out_value = NULL;
    if (!f || i >= f->meta_count) return false;
    if (out_key) *out_key = f->meta[i].key;
    if (out_value) *out_value = f->meta[i].value;
    return true;
}

const char* vkr_st_metadata_get(const vkr_st_file* f, const char* key) {
    for (uint32_t i = 0; f && key && i < f->meta_count; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

/* Finds `name` and checks its shape (and dtype unless VKR_ELEM_COUNT). */
static vkr_status vkr_st_lookup(const vkr_st_file* f, const char* name, vkr_elem_type dtype, uint32_t ndim,
                                const uint64_t* shape, const vkr_st_tensor** out) {
    *out = NULL;
    if (!f || !name || (ndim && !shape))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors load: file, name and shape must not be NULL");
    const vkr_st_tensor* t = vkr_st_find(f, name);
    if (!t) return vkr_fail(VKR_ERR_NOT_FOUND, "%s: no tensor named '%s'", f->src.label, name);
    char label[512];
    snprintf(label, sizeof label, "%s: tensor '%s'", f->src.label, name);
    VKR_TRY(vkr_check_array(label, t->dtype, t->ndim, t->shape, dtype, ndim, shape));
    *out = t;
    return VKR_OK;
}

vkr_status vkr_st_load(const vkr_st_file* f, const char* name, vkr_elem_type dtype, uint32_t ndim,
                       const uint64_t* shape, void* dst, uint64_t dst_bytes) {
    const vkr_st_tensor* t;
    VKR_TRY(vkr_st_lookup(f, name, dtype, ndim, shape, &t));
    if (dst_bytes < t->bytes || (t->bytes && !dst))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: tensor '%s' needs %llu bytes but the destination has %llu",
                        f->src.label, name, (unsigned long long)t->bytes, (unsigned long long)dst_bytes);
    return vkr_source_read(&f->src, t->offset, dst, t->bytes);
}

vkr_status vkr_st_load_f32(const vkr_st_file* f, const char* name, uint32_t ndim, const uint64_t* shape, float* dst,
                           uint64_t dst_count) {
    const vkr_st_tensor* t;
    VKR_TRY(vkr_st_lookup(f, name, VKR_ELEM_COUNT, ndim, shape, &t));
    if (t->dtype != VKR_ELEM_F32 && t->dtype != VKR_ELEM_F16 && t->dtype != VKR_ELEM_BF16)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: tensor '%s' is %s, not a float type (F32, F16, BF16)",
                        f->src.label, name, vkr_elem_name(t->dtype));
    if (dst_count < t->elems || (t->elems && !dst))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: tensor '%s' has %llu elements but the destination holds %llu",
                        f->src.label, name, (unsigned long long)t->elems, (unsigned long long)dst_count);
    if (t->dtype == VKR_ELEM_F32) return vkr_source_read(&f->src, t->offset, dst, t->bytes);
    void* raw = malloc(t->bytes + 1);
    if (!raw) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory reading '%s'", f->src.label, name);
    vkr_status s = vkr_source_read(&f->src, t->offset, raw, t->bytes);
    if (s == VKR_OK) s = vkr_elem_to_float(t->dtype, raw, (size_t)t->elems, dst);
    free(raw);
    return s;
}

/* ---- writing ---- */

typedef struct vkr_st_entry {
    char* name;
    vkr_elem_type dtype;
    uint32_t ndim;
    uint64_t shape[VKR_FILE_MAX_DIMS];
    uint64_t bytes;
    const void* data;
} vkr_st_entry;

struct vkr_st_writer {
    vkr_st_entry* entries;
    uint32_t count, cap;
    vkr_st_meta* meta;
    uint32_t meta_count, meta_cap;
};

vkr_status vkr_st_writer_create(vkr_st_writer** out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_st_writer_create: out_writer is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
}

void vkr_st_writer_destroy(vkr_st_writer* w) {
    if (!w) return;
    for (uint32_t i = 0; i < w->count; i++) free(w->entries[i].name);
    for (uint32_t i = 0; i < w->meta_count; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->entries);
    free(w->meta);
    free(w);
}

/* Grows an array of `elem` bytes to hold at least `need` items. */
static bool vkr_grow(void** items, uint32_t* cap, uint32_t need, size_t elem) {
    if (need <= *cap) return true;
    uint32_t n = *cap ? *cap * 2 : 16;
    while (n < need) n *= 2;
    void* p = realloc(*items, (size_t)n * elem);
    if (!p) return false;
    *items = p;
    *cap = n;
    return true;
}

vkr_status vkr_st_writer_add(vkr_st_writer* w, const char* name, vkr_elem_type dtype, uint32_t ndim,
                             const uint64_t* shape, const void* data) {
    if (!w || !name || !*name || strcmp(name, "__metadata__") == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: tensor name '%s' is not allowed",
                        name ? name : "(null)");
    if (vkr_elem_size(dtype) == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s' has invalid dtype %d", name, (int)dtype);
    if (ndim > VKR_FILE_MAX_DIMS || (ndim && !shape))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s' has %u dimensions (at most %d)", name,
                        ndim, VKR_FILE_MAX_DIMS);
    for (uint32_t i = 0; i < w->count; i++)
        if (strcmp(w->entries[i].name, name) == 0)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s' added twice", name);
    vkr_st_entry e = {.dtype = dtype, .ndim = ndim, .data = data};
    if (ndim) memcpy(e.shape, shape, ndim * sizeof *shape);
    uint64_t elems;
    if (!vkr_shape_bytes(ndim, e.shape, vkr_elem_size(dtype), &elems, &e.bytes))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s' shape overflows", name);
    if (e.bytes && !data)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s' has no data", name);
    if (!vkr_grow((void**)&w->entries, &w->cap, w->count + 1, sizeof e) || !(e.name = vkr_strdup(name)))
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    w->entries[w->count++] = e;
    return VKR_OK;
}

vkr_status vkr_st_writer_set_metadata(vkr_st_writer* w, const char* key, const char* value) {
    if (!w || !key || !value)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: metadata key and value must not be NULL");
    char* v = vkr_strdup(value);
    if (!v) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (uint32_t i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            free(w->meta[i].value);
            w->meta[i].value = v;
            return VKR_OK;
        }
    char* k = vkr_strdup(key);
    if (!k || !vkr_grow((void**)&w->meta, &w->meta_cap, w->meta_count + 1, sizeof *w->meta)) {
        free(k);
        free(v);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    w->meta[w->meta_count++] = (vkr_st_meta){k, v};
    return VKR_OK;
}

/* A growable string for building the header. */
typedef struct vkr_text {
    char* s;
    size_t len, cap;
    bool failed;
} vkr_text;

static void vkr_text_put(vkr_text* t, const char* s, size_t n) {
    if (t->failed) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + n + 1 > cap) cap *= 2;
        char* p = realloc(t->s, cap);
        if (!p) {
            t->failed = true;
            return;
        }
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void vkr_text_str(vkr_text* t, const char* s) { vkr_text_put(t, s, strlen(s)); }

static void vkr_text_u64(vkr_text* t, uint64_t v) {
    char b[24];
    vkr_text_put(t, b, (size_t)snprintf(b, sizeof b, "%llu", (unsigned long long)v));
}

/* Appends `s` as a JSON string literal (UTF-8 passes through; quotes, backslashes, controls escaped). */
static void vkr_text_json_string(vkr_text* t, const char* s) {
    vkr_text_put(t, "\"", 1);
    for (const unsigned char* p = (const unsigned char*)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            vkr_text_put(t, esc, 2);
        } else if (*p < 0x20) {
            vkr_text_put(t, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p));
        } else {
            vkr_text_put(t, (const char*)p, 1);
        }
    }
    vkr_text_put(t, "\"", 1);
}

vkr_status vkr_st_writer_write(const vkr_st_writer* w, const char* path) {
    if (!w || !path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "safetensors writer: writer and path must not be NULL");
    /* Data goes in decreasing element size (stably), so that every tensor starts aligned to its
     * element size in the file; the header keeps insertion order. */
    uint64_t* offset = malloc(((size_t)w->count + 1) * sizeof *offset);
    const vkr_st_entry** order = malloc(((size_t)w->count + 1) * sizeof *order);
    if (!offset || !order) {
        free(offset);
        free(order);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    uint64_t pos = 0;
    uint32_t placed = 0;
    for (size_t size = 8; size >= 1; size /= 2)
        for (uint32_t i = 0; i < w->count; i++)
            if (vkr_elem_size(w->entries[i].dtype) == size) {
                offset[i] = pos;
                pos += w->entries[i].bytes;
                order[placed++] = &w->entries[i];
            }
    uint64_t digest = VKR_HASH64_INIT; /* in the order vkr_st_verify_digest reads the file */
    vkr_text h = {0};
    vkr_text_str(&h, "{\"__metadata__\":{");
    for (uint32_t i = 0; i < w->meta_count; i++) {
        if (strcmp(w->meta[i].key, VKR_ST_DIGEST_KEY) == 0) continue; /* the writer's own */
        digest = vkr_st_digest_meta(digest, w->meta[i].key, w->meta[i].value);
        vkr_text_json_string(&h, w->meta[i].key);
        vkr_text_str(&h, ":");
        vkr_text_json_string(&h, w->meta[i].value);
        vkr_text_str(&h, ",");
    }
    for (uint32_t i = 0; i < w->count; i++)
        digest = vkr_st_digest_tensor(digest, w->entries[i].name, w->entries[i].dtype, w->entries[i].ndim,
                                      w->entries[i].shape, offset[i]);
    for (uint32_t i = 0; i < w->count; i++)
        if (order[i]->bytes) digest = vkr_hash64(digest, order[i]->data, order[i]->bytes);
    char digest_text[32];
    snprintf(digest_text, sizeof digest_text, "fnv1a64:%016llx", (unsigned long long)digest);
    vkr_text_json_string(&h, VKR_ST_DIGEST_KEY);
    vkr_text_str(&h, ":");
    vkr_text_json_string(&h, digest_text);
    vkr_text_str(&h, "}");
    for (uint32_t i = 0; i < w->count; i++) {
        const vkr_st_entry* e = &w->entries[i];
        vkr_text_str(&h, ",");
        vkr_text_json_string(&h, e->name);
        vkr_text_str(&h, ":{\"dtype\":\"");
        vkr_text_str(&h, vkr_elem_name(e->dtype));
        vkr_text_str(&h, "\",\"shape\":[");
        for (uint32_t d = 0; d < e->ndim; d++) {
            if (d) vkr_text_str(&h, ",");
            vkr_text_u64(&h, e->shape[d]);
        }
        vkr_text_str(&h, "],\"data_offsets\":[");
        vkr_text_u64(&h, offset[i]);
        vkr_text_str(&h, ",");
        vkr_text_u64(&h, offset[i] + e->bytes);
        vkr_text_str(&h, "]}");
    }
    free(offset);
    vkr_text_str(&h, "}");
    /* Pad with spaces so that the data buffer starts 8-byte aligned, as the reference writer does. */
    while (!h.failed && h.len % 8) vkr_text_str(&h, " ");
    if (h.failed) {
        free(order);
        free(h.s);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory building the header of %s", path);
    }
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; i++) len_bytes[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
    vkr_atomic_file f;
    vkr_status s = vkr_atomic_open(path, &f);
    if (s == VKR_OK) { /* vkr_atomic_commit reports a failed write */
        fwrite(len_bytes, 1, 8, f.file);
        fwrite(h.s, 1, h.len, f.file);
        for (uint32_t i = 0; i < w->count; i++)
            if (order[i]->bytes) fwrite(order[i]->data, 1, order[i]->bytes, f.file);
        s = vkr_atomic_commit(&f);
    }
    free(order);
    free(h.s);
    return s;
}
