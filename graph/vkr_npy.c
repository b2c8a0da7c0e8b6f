#include "vkr_npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_file.h"

static const char vkr_npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

static const struct {
    const char* descr;
    vkr_elem_type type;
} vkr_npy_descrs[] = {
    {"<f4", VKR_ELEM_F32}, {"<f2", VKR_ELEM_F16}, {"<f8", VKR_ELEM_F64}, {"<i2", VKR_ELEM_I16},
    {"<i4", VKR_ELEM_I32}, {"<i8", VKR_ELEM_I64}, {"<u2", VKR_ELEM_U16}, {"<u4", VKR_ELEM_U32},
    {"<u8", VKR_ELEM_U64}, {"|u1", VKR_ELEM_U8},  {"|i1", VKR_ELEM_I8},  {"|b1", VKR_ELEM_BOOL},
};
#define VKR_NPY_DESCR_COUNT (sizeof vkr_npy_descrs / sizeof vkr_npy_descrs[0])

/* A cursor over the header's dict literal. */
typedef struct vkr_npy_cursor {
    const char* begin;
    const char* p;
    const char* end;
    const char* file;
} vkr_npy_cursor;

static void vkr_npy_skip_ws(vkr_npy_cursor* c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool vkr_npy_accept(vkr_npy_cursor* c, char ch) {
    vkr_npy_skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static vkr_status vkr_npy_syntax(const vkr_npy_cursor* c, const char* what) {
    return vkr_fail(VKR_ERR_FORMAT, "%s: malformed .npy header: expected %s at header byte %td", c->file, what,
                    c->p - c->begin);
}

/* A quoted Python string without escapes, copied into `out` (size bytes). */
static vkr_status vkr_npy_string(vkr_npy_cursor* c, char* out, size_t size) {
    vkr_npy_skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return vkr_npy_syntax(c, "a quoted string");
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || n + 1 >= size) return vkr_npy_syntax(c, "a short string without escapes");
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return vkr_npy_syntax(c, "a closing quote");
    c->p++;
    out[n] = '\0';
    return VKR_OK;
}

static vkr_status vkr_npy_shape(vkr_npy_cursor* c, vkr_npy_array* a) {
    if (!vkr_npy_accept(c, '(')) return vkr_npy_syntax(c, "'(' starting the shape tuple");
    a->ndim = 0;
    for (;;) {
        if (vkr_npy_accept(c, ')')) return VKR_OK;
        if (a->ndim == VKR_FILE_MAX_DIMS)
            return vkr_fail(VKR_ERR_FORMAT, "%s: shape has more than %d dimensions", c->file, VKR_FILE_MAX_DIMS);
        vkr_npy_skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return vkr_npy_syntax(c, "a non-negative integer dimension");
        uint64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > ((1ull << 62) - 9) / 10)
                return vkr_fail(VKR_ERR_FORMAT, "%s: shape dimension %u is too large", c->file, a->ndim);
            v = v * 10 + (uint64_t)(*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long suffix */
        a->shape[a->ndim++] = v;
        if (vkr_npy_accept(c, ')')) return VKR_OK;
        if (!vkr_npy_accept(c, ',')) return vkr_npy_syntax(c, "',' or ')' in the shape tuple");
    }
}

/* Parses the header dict into dtype and shape. */
static vkr_status vkr_npy_parse_dict(const char* text, size_t n, const char* file, vkr_npy_array* a) {
    vkr_npy_cursor c = {text, text, text + n, file};
    if (!vkr_npy_accept(&c, '{')) return vkr_npy_syntax(&c, "'{'");
    bool have_descr = false, have_order = false, have_shape = false;
    char descr[32] = "";
    for (;;) {
        if (vkr_npy_accept(&c, '}')) break;
        char key[32];
        VKR_TRY(vkr_npy_string(&c, key, sizeof key));
        if (!vkr_npy_accept(&c, ':')) return vkr_npy_syntax(&c, "':' after a key");
        bool* seen;
        if (strcmp(key, "descr") == 0) {
            seen = &have_descr;
            VKR_TRY(vkr_npy_string(&c, descr, sizeof descr));
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &have_order;
            vkr_npy_skip_ws(&c);
            if ((size_t)(c.end - c.p) >= 4 && memcmp(c.p, "True", 4) == 0)
                return vkr_fail(VKR_ERR_FORMAT, "%s: fortran_order is True; only C-order arrays are supported "
                                "(save with np.ascontiguousarray)", file);
            if ((size_t)(c.end - c.p) < 5 || memcmp(c.p, "False", 5) != 0) return vkr_npy_syntax(&c, "True or False");
            c.p += 5;
        } else if (strcmp(key, "shape") == 0) {
            seen = &have_shape;
            VKR_TRY(vkr_npy_shape(&c, a));
        } else {
            return vkr_fail(VKR_ERR_FORMAT, "%s: unexpected key '%s' in the .npy header", file, key);
        }
        if (*seen) return vkr_fail(VKR_ERR_FORMAT, "%s: key '%s' appears twice in the .npy header", file, key);
        *seen = true;
        if (vkr_npy_accept(&c, '}')) break;
        if (!vkr_npy_accept(&c, ',')) return vkr_npy_syntax(&c, "',' or '}' after a value");
    }
    vkr_npy_skip_ws(&c);
    if (c.p != c.end) return vkr_npy_syntax(&c, "only padding after the header dict");
    if (!have_descr || !have_order || !have_shape)
        return vkr_fail(VKR_ERR_FORMAT, "%s: the .npy header lacks '%s'", file,
                        !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    for (size_t i = 0; i < VKR_NPY_DESCR_COUNT; i++) {
        const char* d = vkr_npy_descrs[i].descr;
        /* One-byte types carry no byte order; accept any marker for them. */
        if (strcmp(descr, d) == 0 || (d[0] == '|' && strlen(descr) == 3 && strchr("<>=", descr[0]) &&
                                      strcmp(descr + 1, d + 1) == 0)) {
            a->dtype = vkr_npy_descrs[i].type;
            return VKR_OK;
        }
    }
    if (descr[0] == '>')
        return vkr_fail(VKR_ERR_FORMAT, "%s: big-endian dtype '%s' is not supported (save as '<%s')", file, descr,
                        descr + 1);
    return vkr_fail(VKR_ERR_FORMAT, "%s: unsupported dtype '%s' (supported: f4 f2 f8 i2 i4 i8 u1 u2 u4 u8 i1 b1)",
                    file, descr);
}

static vkr_status vkr_npy_parse(const vkr_source* src, vkr_npy_array* a) {
    const char* file = src->label;
    uint8_t pre[12];
    if (src->size < 10)
        return vkr_fail(VKR_ERR_FORMAT, "%s: truncated: %llu bytes is shorter than the .npy preamble", file,
                        (unsigned long long)src->size);
    VKR_TRY(vkr_source_read(src, 0, pre, 10));
    if (memcmp(pre, vkr_npy_magic, 6) != 0) return vkr_fail(VKR_ERR_FORMAT, "%s: not a .npy file (bad magic)", file);
    uint32_t major = pre[6];
    if (major < 1 || major > 3)
        return vkr_fail(VKR_ERR_FORMAT, "%s: unsupported .npy format version %u.%u", file, major, pre[7]);
    uint64_t start = major == 1 ? 10 : 12;
    uint64_t hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
    if (major > 1) {
        VKR_TRY(vkr_source_read(src, 10, pre + 10, 2));
        hlen |= (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
    }
    if (hlen > src->size - start)
        return vkr_fail(VKR_ERR_FORMAT, "%s: header length %llu exceeds file size %llu", file,
                        (unsigned long long)hlen, (unsigned long long)src->size);
    if (hlen > VKR_NPY_MAX_HEADER)
        return vkr_fail(VKR_ERR_FORMAT, "%s: header length %llu exceeds the %u-byte limit", file,
                        (unsigned long long)hlen, VKR_NPY_MAX_HEADER);
    char* text = malloc(hlen + 1);
    if (!text) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    vkr_status s = vkr_source_read(src, start, text, hlen);
    if (s == VKR_OK) s = vkr_npy_parse_dict(text, (size_t)hlen, file, a);
    free(text);
    VKR_TRY(s);
    char shp[200];
    if (!vkr_shape_bytes(a->ndim, a->shape, vkr_elem_size(a->dtype), &a->elems, &a->bytes))
        return vkr_fail(VKR_ERR_FORMAT, "%s: shape %s overflows its byte size", file,
                        vkr_shape_str(a->ndim, a->shape, shp, sizeof shp));
    uint64_t have = src->size - start - hlen;
    if (have != a->bytes)
        return vkr_fail(VKR_ERR_FORMAT, "%s: %s: shape %s %s needs %llu data bytes but the file has %llu", file,
                        have < a->bytes ? "truncated" : "trailing bytes", vkr_shape_str(a->ndim, a->shape, shp, sizeof shp),
                        vkr_elem_name(a->dtype), (unsigned long long)a->bytes, (unsigned long long)have);
    if (a->bytes == 0) return VKR_OK;
    a->data = malloc(a->bytes);
    if (!a->data)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory for %llu bytes", file,
                        (unsigned long long)a->bytes);
    return vkr_source_read(src, start + hlen, a->data, a->bytes);
}

/* Parses `src` into `out`, leaving it empty on failure, and closes the source. */
static vkr_status vkr_npy_finish(vkr_source* src, vkr_npy_array* out) {
    vkr_status s = vkr_npy_parse(src, out);
    vkr_source_close(src);
    if (s != VKR_OK) vkr_npy_free(out);
    return s;
}

vkr_status vkr_npy_load(const char* path, vkr_npy_array* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_npy_load: out_array is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_npy_load: path is NULL");
    vkr_source src;
    VKR_TRY(vkr_source_open_file(path, &src));
    return vkr_npy_finish(&src, out);
}

vkr_status vkr_npy_load_memory(const void* data, size_t size, const char* label, vkr_npy_array* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_npy_load_memory: out_array is NULL");
    memset(out, 0, sizeof *out);
    if (!data && size) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_npy_load_memory: data is NULL");
    vkr_source src;
    vkr_source_open_memory(data, size, label, &src);
    return vkr_npy_finish(&src, out);
}

vkr_status vkr_npy_load_f32(const char* path, vkr_npy_array* out) {
    VKR_TRY(vkr_npy_load(path, out));
    if (out->dtype == VKR_ELEM_F32) return VKR_OK;
    if (out->dtype != VKR_ELEM_F16) {
        vkr_elem_type t = out->dtype;
        vkr_npy_free(out);
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: dtype %s cannot be read as float32 (only <f4 and <f2)", path,
                        vkr_elem_name(t));
    }
    float* f = out->elems ? malloc(out->elems * sizeof(float)) : NULL;
    if (out->elems && !f) {
        vkr_npy_free(out);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory converting to float32", path);
    }
    if (f) (void)vkr_elem_to_float(VKR_ELEM_F16, out->data, (size_t)out->elems, f); /* cannot fail for F16 */
    free(out->data);
    out->data = f;
    out->dtype = VKR_ELEM_F32;
    out->bytes = out->elems * sizeof(float);
    return VKR_OK;
}

void vkr_npy_free(vkr_npy_array* a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

vkr_status vkr_npy_check(const vkr_npy_array* a, const char* label, vkr_elem_type dtype, uint32_t ndim,
                         const uint64_t* shape) {
    if (!a || (ndim && !shape)) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_npy_check: array or shape is NULL");
    return vkr_check_array(label ? label : "array", a->dtype, a->ndim, a->shape, dtype, ndim, shape);
}

vkr_status vkr_npy_save(const char* path, vkr_elem_type dtype, uint32_t ndim, const uint64_t* shape, const void* data) {
    const char* descr = NULL;
    for (size_t i = 0; i < VKR_NPY_DESCR_COUNT; i++)
        if (vkr_npy_descrs[i].type == dtype) descr = vkr_npy_descrs[i].descr;
    if (!path || !descr || ndim > VKR_FILE_MAX_DIMS || (ndim && !shape))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_npy_save %s: invalid path, dtype %s or %u dimensions",
                        path ? path : "(null)", vkr_elem_name(dtype), ndim);
    uint64_t elems, bytes;
    if (!vkr_shape_bytes(ndim, shape, vkr_elem_size(dtype), &elems, &bytes) || (bytes && !data))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_npy_save %s: shape overflows or data is NULL", path);
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (uint32_t i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", ndim == 1 ? "," : "");
    /* Version 1.0 (a dict of at most 8 dimensions always fits its 16-bit length); pad with spaces
     * and a final newline so that the data starts on a 64-byte boundary, as numpy does. */
    uint8_t head[640];
    const uint32_t start = 10;
    uint32_t total = (start + (uint32_t)len + 1 + 63) / 64 * 64;
    uint32_t hlen = total - start;
    memcpy(head, vkr_npy_magic, 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (uint8_t)hlen;
    head[9] = (uint8_t)(hlen >> 8);
    memcpy(head + start, dict, (size_t)len);
    memset(head + start + len, ' ', hlen - (uint32_t)len - 1);
    head[total - 1] = '\n';
    vkr_atomic_file w;
    VKR_TRY(vkr_atomic_open(path, &w));
    fwrite(head, 1, total, w.file); /* vkr_atomic_commit reports a failed write */
    if (bytes) fwrite(data, 1, bytes, w.file);
    return vkr_atomic_commit(&w);
}
