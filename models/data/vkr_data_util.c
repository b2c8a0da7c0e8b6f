/* Building blocks of the parsers: string pool, interning map, gz/plain line reader, UTF-8 check. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <zlib.h>

#include "vkr_data_raw.h"

static vkr_status oom(void) { return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory while reading data"); }

/* Grows *p (elements of `elem` bytes) to hold at least `need`, doubling. */
static vkr_status grow(void** p, size_t* cap, size_t need, size_t elem) {
    if (need <= *cap) return VKR_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void* q = realloc(*p, c * elem);
    if (!q) return oom();
    *p = q;
    *cap = c;
    return VKR_OK;
}

vkr_status vkr_strpool_add(vkr_strpool* pool, const char* s, size_t n, uint64_t* out_off) {
    VKR_TRY(grow((void**)&pool->data, &pool->cap, pool->len + n + 1, 1));
    if (n) memcpy(pool->data + pool->len, s, n);
    pool->data[pool->len + n] = 0;
    *out_off = pool->len;
    pool->len += n + 1;
    return VKR_OK;
}

void vkr_strpool_free(vkr_strpool* pool) {
    free(pool->data);
    memset(pool, 0, sizeof *pool);
}

static uint64_t hash_bytes(const char* s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static bool key_equals(const vkr_strmap* m, uint32_t id, const char* s, size_t n) {
    const char* k = m->pool.data + m->off[id];
    return strncmp(k, s, n) == 0 && k[n] == 0;
}

int64_t vkr_strmap_find(const vkr_strmap* m, const char* s, size_t n) {
    if (!m->table_cap) return -1;
    uint32_t mask = m->table_cap - 1;
    for (uint32_t i = (uint32_t)hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t e = m->table[i];
        if (!e) return -1;
        if (key_equals(m, e - 1, s, n)) return e - 1;
    }
}

static vkr_status rehash(vkr_strmap* m, uint32_t cap) {
    uint32_t* t = calloc(cap, sizeof *t);
    if (!t) return oom();
    for (uint32_t id = 0; id < m->count; id++) {
        const char* k = m->pool.data + m->off[id];
        uint32_t i = (uint32_t)hash_bytes(k, strlen(k)) & (cap - 1);
        while (t[i]) i = (i + 1) & (cap - 1);
        t[i] = id + 1;
    }
    free(m->table);
    m->table = t;
    m->table_cap = cap;
    return VKR_OK;
}

vkr_status vkr_strmap_intern(vkr_strmap* m, const char* s, size_t n, uint32_t* out_id, bool* out_added) {
    *out_id = 0;
    if (out_added) *out_added = false;
    int64_t found = vkr_strmap_find(m, s, n);
    if (found >= 0) {
        *out_id = (uint32_t)found;
        return VKR_OK;
    }
    if (memchr(s, 0, n)) return vkr_fail(VKR_ERR_FORMAT, "an id contains a NUL byte");
    if (m->count >= UINT32_MAX / 4) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "more than %u distinct ids", m->count);
    if ((uint64_t)(m->count + 1) * 2 > m->table_cap) VKR_TRY(rehash(m, m->table_cap ? m->table_cap * 2 : 1024));
    size_t cap = m->off_cap;
    VKR_TRY(grow((void**)&m->off, &cap, (size_t)m->count + 1, sizeof *m->off));
    m->off_cap = (uint32_t)cap;
    VKR_TRY(vkr_strpool_add(&m->pool, s, n, &m->off[m->count]));
    uint32_t mask = m->table_cap - 1;
    uint32_t i = (uint32_t)hash_bytes(s, n) & mask;
    while (m->table[i]) i = (i + 1) & mask;
    m->table[i] = m->count + 1;
    *out_id = m->count++;
    if (out_added) *out_added = true;
    return VKR_OK;
}

void vkr_strmap_free(vkr_strmap* m) {
    vkr_strpool_free(&m->pool);
    free(m->off);
    free(m->table);
    memset(m, 0, sizeof *m);
}

enum { CHUNK_BYTES = 1 << 16 };

vkr_status vkr_lines_open(const char* path, vkr_lines* out) {
    memset(out, 0, sizeof *out);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return vkr_fail(VKR_ERR_IO, "cannot open %s: %s", path, errno ? strerror(errno) : "zlib error");
    out->gz = gz;
    out->path = path;
    out->chunk = malloc(CHUNK_BYTES);
    out->cap = 256;
    out->buf = malloc(out->cap);
    if (!out->chunk || !out->buf) {
        vkr_lines_close(out);
        return oom();
    }
    return VKR_OK;
}

/* At the end of the input: zlib reports a gzip stream cut before its trailer (Z_BUF_ERROR) only
 * through gzerror, while gzread returns 0 as for a complete file. */
static vkr_status check_complete(vkr_lines* l) {
    int err = 0;
    gzerror(l->gz, &err);
    if (err == Z_BUF_ERROR)
        return vkr_fail(VKR_ERR_FORMAT, "%s: the gzip stream ends early after line %llu: the file is truncated", l->path,
                        (unsigned long long)l->line);
    return VKR_OK;
}

/* Reads the next chunk into l->chunk; sets l->eof at the end of a complete input. */
static vkr_status fill_chunk(vkr_lines* l) {
    int n = gzread(l->gz, l->chunk, CHUNK_BYTES);
    if (n < 0) {
        int err = 0;
        const char* msg = gzerror(l->gz, &err);
        return vkr_fail(VKR_ERR_IO, "%s: %s after line %llu: %s", l->path,
                        err == Z_DATA_ERROR ? "corrupt gzip data" : "read error", (unsigned long long)l->line,
                        err == Z_ERRNO ? strerror(errno) : msg);
    }
    l->chunk_len = (size_t)n;
    l->chunk_pos = 0;
    if (n == 0) {
        l->eof = true;
        return check_complete(l);
    }
    return VKR_OK;
}

vkr_status vkr_lines_next(vkr_lines* l, bool* out_ok) {
    *out_ok = false;
    l->len = 0;
    bool any = false, ended = false;
    while (!ended) {
        if (l->chunk_pos == l->chunk_len) {
            if (l->eof) break;
            VKR_TRY(fill_chunk(l));
            if (l->eof) break;
        }
        any = true;
        const char* start = l->chunk + l->chunk_pos;
        size_t avail = l->chunk_len - l->chunk_pos;
        const char* nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        VKR_TRY(grow((void**)&l->buf, &l->cap, l->len + take + 1, 1));
        memcpy(l->buf + l->len, start, take);
        l->len += take;
        l->chunk_pos += take + (nl ? 1 : 0);
        ended = nl != NULL;
    }
    if (!any) return VKR_OK;
    l->line++;
    /* Tools end every line with a newline, so a last line without one is most likely cut short. */
    if (!ended)
        return vkr_fail(VKR_ERR_FORMAT, "%s:%llu: the last line has no newline: the file may be truncated (if it is "
                        "complete, end it with a newline)", l->path, (unsigned long long)l->line);
    if (l->len && l->buf[l->len - 1] == '\r') l->len--;
    l->buf[l->len] = 0;
    /* A UTF-8 byte order mark (as some Windows tools write) is not part of the first field. */
    if (l->line == 1 && l->len >= 3 && memcmp(l->buf, "\xEF\xBB\xBF", 3) == 0) {
        l->len -= 3;
        memmove(l->buf, l->buf + 3, l->len + 1);
    }
    if (memchr(l->buf, 0, l->len))
        return vkr_fail(VKR_ERR_FORMAT, "%s:%llu: NUL byte inside a text line (binary file?)", l->path,
                        (unsigned long long)l->line);
    *out_ok = true;
    return VKR_OK;
}

void vkr_lines_close(vkr_lines* l) {
    if (l->gz) gzclose(l->gz);
    free(l->buf);
    free(l->chunk);
    memset(l, 0, sizeof *l);
}

bool vkr_csv_split(char* s, size_t len, char delim, vkr_csv_row* row) {
    row->count = 0;
    char* end = s + len;
    char* p = s;
    for (;;) {
        char* out = p;
        char* start = p;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p >= end) return false;
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            if (p < end && *p != delim) return false;
        } else {
            while (p < end && *p != delim) out++, p++; /* a quote inside an unquoted field is literal */
        }
        if (row->count < VKR_CSV_MAX_FIELDS) {
            row->f[row->count] = start;
            row->n[row->count] = (size_t)(out - start);
        }
        row->count++;
        bool more = p < end;
        *out = 0; /* out <= p, so this never clobbers unread input */
        if (!more) break;
        p++;
        if (row->count > VKR_CSV_MAX_FIELDS) break;
    }
    return true;
}

vkr_status vkr_dataset_item_keys(const vkr_dataset* d, vkr_strmap* out) {
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < d->item_count; i++) {
        const char* k = vkr_strtab_get(&d->item_key, i);
        uint32_t id = 0;
        bool added = false;
        vkr_status s = vkr_strmap_intern(out, k, strlen(k), &id, &added);
        if (s == VKR_OK && !added)
            s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "item key '%s' names two items of this dataset (%u and %u)", k, id,
                         i);
        if (s != VKR_OK) {
            vkr_strmap_free(out);
            return s;
        }
    }
    return VKR_OK;
}

bool vkr_utf8_valid(const char* str, size_t n) {
    const uint8_t* s = (const uint8_t*)str;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

bool vkr_parse_u64(const char* s, size_t n, uint64_t* out) {
    *out = 0;
    if (n == 0 || n > 19) return false; /* 19 digits always fit in 64 bits */
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

bool vkr_parse_i64(const char* s, size_t n, int64_t* out) {
    *out = 0;
    bool neg = n > 0 && s[0] == '-';
    uint64_t v = 0;
    if (!vkr_parse_u64(s + neg, n - neg, &v) || v > (uint64_t)INT64_MAX) return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

vkr_status vkr_path_join(const char* dir, const char* name, char* out, size_t cap) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "path too long: %s/%s", dir, name);
    return VKR_OK;
}

bool vkr_path_exists(const char* path) {
    struct stat st;
    return stat(path, &st) == 0;
}
