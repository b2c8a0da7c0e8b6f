#include "vkr_fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "vkr_file.h"

static const struct {
    size_t size;
    const char* name;
} vkr_elem_table[VKR_ELEM_COUNT] = {
    [VKR_ELEM_F32] = {4, "F32"}, [VKR_ELEM_F16] = {2, "F16"}, [VKR_ELEM_BF16] = {2, "BF16"},
    [VKR_ELEM_F64] = {8, "F64"}, [VKR_ELEM_I8] = {1, "I8"},   [VKR_ELEM_I16] = {2, "I16"},
    [VKR_ELEM_I32] = {4, "I32"}, [VKR_ELEM_I64] = {8, "I64"}, [VKR_ELEM_U8] = {1, "U8"},
    [VKR_ELEM_U16] = {2, "U16"}, [VKR_ELEM_U32] = {4, "U32"}, [VKR_ELEM_U64] = {8, "U64"},
    [VKR_ELEM_BOOL] = {1, "BOOL"},
};

size_t vkr_elem_size(vkr_elem_type type) {
    return (unsigned)type < VKR_ELEM_COUNT ? vkr_elem_table[type].size : 0;
}

const char* vkr_elem_name(vkr_elem_type type) {
    return (unsigned)type < VKR_ELEM_COUNT ? vkr_elem_table[type].name : "?";
}

static float vkr_bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float vkr_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return vkr_bits_float(sign | 0x7f800000u | (man << 13)); /* inf / NaN */
    if (exp == 0) {
        /* Zero or subnormal: man * 2^-24 is exact in binary32. */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return vkr_bits_float(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t vkr_float_to_half(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t man = u & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0u));
    int e = (int)exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        /* Subnormal half (or zero): shift the full significand, rounding to nearest even. */
        if (e < -10) return sign;
        uint32_t m = man | 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t mid = 1u << (shift - 1u);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* may carry into the exponent: correct */
    return (uint16_t)(sign | h);
}

float vkr_bf16_to_float(uint16_t b) { return vkr_bits_float((uint32_t)b << 16); }

vkr_status vkr_elem_to_float(vkr_elem_type type, const void* src, size_t n, float* dst) {
    const uint8_t* p = src;
    switch (type) {
        case VKR_ELEM_F32: memmove(dst, src, n * sizeof(float)); return VKR_OK;
        case VKR_ELEM_F16:
        case VKR_ELEM_BF16:
            for (size_t i = 0; i < n; i++) {
                uint16_t h;
                memcpy(&h, p + 2 * i, 2);
                dst[i] = type == VKR_ELEM_F16 ? vkr_half_to_float(h) : vkr_bf16_to_float(h);
            }
            return VKR_OK;
        default:
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "cannot convert %s elements to float (only F32, F16, BF16)",
                            vkr_elem_name(type));
    }
}

bool vkr_shape_bytes(uint32_t ndim, const uint64_t* shape, size_t elem_size, uint64_t* out_elems,
                     uint64_t* out_bytes) {
    /* 2^62 leaves headroom so that offset + bytes never wraps for any offset a file can hold. */
    const uint64_t limit = 1ull << 62;
    uint64_t elems = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] != 0 && elems > limit / shape[i]) return false;
        elems *= shape[i];
    }
    if (elem_size && elems > limit / elem_size) return false;
    *out_elems = elems;
    *out_bytes = elems * elem_size;
    return true;
}

const char* vkr_shape_str(uint32_t ndim, const uint64_t* shape, char* buf, size_t size) {
    size_t len = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < ndim && len < size; i++)
        len += shape[i] == VKR_DIM_ANY ? (size_t)snprintf(buf + len, size - len, "%s*", i ? ", " : "")
                                       : (size_t)snprintf(buf + len, size - len, "%s%llu", i ? ", " : "",
                                                          (unsigned long long)shape[i]);
    if (len < size) snprintf(buf + len, size - len, "]");
    return buf;
}

vkr_status vkr_check_array(const char* label, vkr_elem_type have_type, uint32_t have_ndim,
                           const uint64_t* have_shape, vkr_elem_type want_type, uint32_t want_ndim,
                           const uint64_t* want_shape) {
    bool same = have_ndim == want_ndim && (want_type == VKR_ELEM_COUNT || have_type == want_type);
    for (uint32_t i = 0; same && i < want_ndim; i++) same = want_shape[i] == VKR_DIM_ANY || have_shape[i] == want_shape[i];
    if (same) return VKR_OK;
    char have[160], want[160];
    return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s has shape %s %s but %s %s was expected", label,
                    vkr_shape_str(have_ndim, have_shape, have, sizeof have), vkr_elem_name(have_type),
                    vkr_shape_str(want_ndim, want_shape, want, sizeof want),
                    want_type == VKR_ELEM_COUNT ? "(any type)" : vkr_elem_name(want_type));
}

vkr_status vkr_source_open_file(const char* path, vkr_source* out) {
    memset(out, 0, sizeof *out);
    out->fd = -1;
    snprintf(out->label, sizeof out->label, "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vkr_fail(errno == ENOENT ? VKR_ERR_NOT_FOUND : VKR_ERR_IO, "cannot open %s: %s", path,
                                strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = errno;
        close(fd);
        return vkr_fail(VKR_ERR_IO, "%s: not a readable regular file%s%s", path, err ? ": " : "",
                        err ? strerror(err) : "");
    }
    out->fd = fd;
    out->size = (uint64_t)st.st_size;
    return VKR_OK;
}

void vkr_source_open_memory(const void* data, size_t size, const char* label, vkr_source* out) {
    memset(out, 0, sizeof *out);
    out->fd = -1;
    out->mem = data;
    out->size = size;
    snprintf(out->label, sizeof out->label, "%s", label ? label : "<memory>");
}

vkr_status vkr_source_read(const vkr_source* src, uint64_t offset, void* dst, uint64_t size) {
    if (offset > src->size || size > src->size - offset)
        return vkr_fail(VKR_ERR_FORMAT, "%s: truncated: needs bytes [%llu, %llu) but the file has %llu", src->label,
                        (unsigned long long)offset, (unsigned long long)offset + (unsigned long long)size,
                        (unsigned long long)src->size);
    if (src->mem) {
        if (size) memcpy(dst, src->mem + offset, size);
        return VKR_OK;
    }
    uint8_t* p = dst;
    while (size > 0) {
        size_t chunk = size > (1u << 30) ? (1u << 30) : (size_t)size;
        ssize_t got = pread(src->fd, p, chunk, (off_t)offset);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            return vkr_fail(VKR_ERR_IO, "%s: read of %zu bytes at %llu failed: %s", src->label, chunk,
                            (unsigned long long)offset, got == 0 ? "unexpected end of file" : strerror(errno));
        p += got;
        offset += (uint64_t)got;
        size -= (uint64_t)got;
    }
    return VKR_OK;
}

void vkr_source_close(vkr_source* src) {
    if (src->fd >= 0) close(src->fd);
    memset(src, 0, sizeof *src);
    src->fd = -1;
}

vkr_status vkr_json_write(const cJSON* json, const char* path) {
    char* text = cJSON_Print(json);
    if (!text) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory printing %s", path);
    vkr_atomic_file w;
    vkr_status s = vkr_atomic_open(path, &w);
    if (s == VKR_OK) {
        fprintf(w.file, "%s\n", text); /* vkr_atomic_commit reports a failed write */
        s = vkr_atomic_commit(&w);
    }
    free(text);
    return s;
}

void vkr_csv_field(FILE* f, const char* s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
