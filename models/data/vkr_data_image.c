/* data.bin images: packing, binding, validation, and the dataset loader. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "vkr_data_image.h"
#include "vkr_data_raw.h"

enum { NAME_BYTES = 24, HEADER_BYTES = VKR_DATA_HEADER_BYTES, CRC_AT = 24, ENTRY_BYTES = 48, ALIGN = 64 };

/* CRC-32 of an image: every byte except the four that store it. */
static uint32_t image_crc(const uint8_t* image, size_t bytes) {
    uLong c = crc32_z(crc32(0L, Z_NULL, 0), image, CRC_AT);
    return (uint32_t)crc32_z(c, image + CRC_AT + 4, bytes - CRC_AT - 4);
}

void vkr_data_image_seal(uint8_t* image, size_t bytes) {
    uint32_t c = image_crc(image, bytes);
    memcpy(image + CRC_AT, &c, 4);
}

vkr_status vkr_data_image_build(const vkr_image_section* sec, uint32_t count, uint8_t** out_image, size_t* out_bytes) {
    *out_image = NULL;
    *out_bytes = 0;
    uint64_t off = vkr_align_up(HEADER_BYTES + (uint64_t)count * ENTRY_BYTES, ALIGN);
    uint64_t* offs = malloc((count ? count : 1) * sizeof *offs);
    if (!offs) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory building data.bin");
    for (uint32_t i = 0; i < count; i++) {
        offs[i] = off;
        off = vkr_align_up(off + sec[i].count * sec[i].elem_bytes, ALIGN);
    }
    uint8_t* img = calloc(1, off);
    if (!img) {
        free(offs);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory building data.bin (%llu bytes)",
                        (unsigned long long)off);
    }
    uint32_t version = VKR_DATASET_VERSION;
    memcpy(img, VKR_DATA_MAGIC, sizeof VKR_DATA_MAGIC);
    memcpy(img + 8, &version, 4);
    memcpy(img + 12, &count, 4);
    memcpy(img + 16, &off, 8);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t* e = img + HEADER_BYTES + (size_t)i * ENTRY_BYTES;
        strncpy((char*)e, sec[i].name, NAME_BYTES - 1);
        memcpy(e + 24, &sec[i].elem_bytes, 4);
        memcpy(e + 32, &offs[i], 8);
        memcpy(e + 40, &sec[i].count, 8);
        if (sec[i].count) memcpy(img + offs[i], sec[i].data, sec[i].count * sec[i].elem_bytes);
    }
    free(offs);
    vkr_data_image_seal(img, (size_t)off);
    *out_image = img;
    *out_bytes = (size_t)off;
    return VKR_OK;
}

typedef struct image_view {
    const uint8_t* base;
    size_t bytes;
    uint32_t count;
    const char* what;
} image_view;

/* Finds a section, checking element size and bounds; a missing section is an error. */
static vkr_status section(const image_view* v, const char* name, uint32_t elem_bytes, const void** out,
                          uint64_t* out_count) {
    for (uint32_t i = 0; i < v->count; i++) {
        const uint8_t* e = v->base + HEADER_BYTES + (size_t)i * ENTRY_BYTES;
        if (strncmp((const char*)e, name, NAME_BYTES) != 0) continue;
        uint32_t eb;
        uint64_t off, n;
        memcpy(&eb, e + 24, 4);
        memcpy(&off, e + 32, 8);
        memcpy(&n, e + 40, 8);
        if (eb != elem_bytes || off % ALIGN || off > v->bytes || n > (v->bytes - off) / elem_bytes)
            return vkr_fail(VKR_ERR_FORMAT, "%s: section %s has a bad size or offset", v->what, name);
        *out = v->base + off;
        *out_count = n;
        return VKR_OK;
    }
    return vkr_fail(VKR_ERR_FORMAT, "%s: section %s is missing", v->what, name);
}

static vkr_status bind_strtab(const image_view* v, const char* name, uint64_t n, vkr_strtab* t) {
    char a[NAME_BYTES], b[NAME_BYTES];
    snprintf(a, sizeof a, "%s_off", name);
    snprintf(b, sizeof b, "%s_chars", name);
    const void *off, *chars;
    uint64_t noff, nchars;
    VKR_TRY(section(v, a, 8, &off, &noff));
    VKR_TRY(section(v, b, 1, &chars, &nchars));
    if (noff != n + 1) return vkr_fail(VKR_ERR_FORMAT, "%s: %s has %llu entries, expected %llu", v->what, a,
                                       (unsigned long long)noff, (unsigned long long)n + 1);
    t->off = off;
    t->chars = chars;
    if (t->off[0] != 0 || t->off[n] != nchars)
        return vkr_fail(VKR_ERR_FORMAT, "%s: %s does not span %s", v->what, a, b);
    for (uint64_t k = 0; k < n; k++)
        if (t->off[k + 1] <= t->off[k] || t->off[k + 1] > nchars || t->chars[t->off[k + 1] - 1] != 0)
            return vkr_fail(VKR_ERR_FORMAT, "%s: string %llu of %s is not NUL-terminated", v->what,
                            (unsigned long long)k, name);
    return VKR_OK;
}

vkr_status vkr_data_image_bind(vkr_dataset* d, const void* image, size_t bytes, const char* what) {
    image_view v = {image, bytes, 0, what};
    uint32_t version = 0;
    uint64_t file_bytes = 0;
    if (bytes < HEADER_BYTES || memcmp(image, VKR_DATA_MAGIC, sizeof VKR_DATA_MAGIC) != 0)
        return vkr_fail(VKR_ERR_FORMAT, "%s is not a vkrec data file", what);
    memcpy(&version, v.base + 8, 4);
    memcpy(&v.count, v.base + 12, 4);
    memcpy(&file_bytes, v.base + 16, 8);
    if (version != VKR_DATASET_VERSION)
        return vkr_fail(VKR_ERR_FORMAT, "%s has data format version %u; this vkrec reads version %d (re-run vkrec prepare)",
                        what, version, VKR_DATASET_VERSION);
    if (file_bytes != bytes || v.count > 64 || HEADER_BYTES + (uint64_t)v.count * ENTRY_BYTES > bytes)
        return vkr_fail(VKR_ERR_FORMAT, "%s is truncated or corrupt (header says %llu bytes, file has %zu)", what,
                        (unsigned long long)file_bytes, bytes);
    uint32_t stored = 0;
    memcpy(&stored, v.base + CRC_AT, 4);
    if (stored != image_crc(image, bytes))
        return vkr_fail(VKR_ERR_FORMAT, "%s is corrupt: its CRC-32 does not match its contents (the file changed after "
                        "vkrec prepare wrote it; re-run vkrec prepare)", what);
    const void* p;
    uint64_t n, users, items, events;
    VKR_TRY(section(&v, "item_domain", 1, &p, &items));
    d->item_domain = p;
    VKR_TRY(section(&v, "train_len", 4, &p, &users));
    d->train_len = p;
    VKR_TRY(section(&v, "seq_item", 4, &p, &events));
    d->seq_item = p;
    VKR_TRY(section(&v, "seq_begin", 8, &p, &n));
    d->seq_begin = p;
    if (n != users + 1) return vkr_fail(VKR_ERR_FORMAT, "%s: seq_begin does not match train_len", what);
    VKR_TRY(section(&v, "seq_time", 8, &p, &n));
    d->seq_time = p;
    if (n != events) return vkr_fail(VKR_ERR_FORMAT, "%s: seq_time does not match seq_item", what);
    VKR_TRY(section(&v, "valid", 4, &p, &n));
    d->valid = p;
    if (n % 2 || n / 2 > UINT32_MAX) return vkr_fail(VKR_ERR_FORMAT, "%s: valid is not a list of pairs", what);
    d->valid_count = (uint32_t)(n / 2);
    VKR_TRY(section(&v, "test", 4, &p, &n));
    d->test = p;
    if (n % 2 || n / 2 > UINT32_MAX) return vkr_fail(VKR_ERR_FORMAT, "%s: test is not a list of pairs", what);
    d->test_count = (uint32_t)(n / 2);
    if (items > UINT32_MAX || users > UINT32_MAX) return vkr_fail(VKR_ERR_FORMAT, "%s: too many users or items", what);
    d->item_count = (uint32_t)items;
    d->user_count = (uint32_t)users;
    d->event_count = events;
    VKR_TRY(bind_strtab(&v, "item_key", items, &d->item_key));
    VKR_TRY(bind_strtab(&v, "item_title", items, &d->item_title));
    VKR_TRY(bind_strtab(&v, "item_text", items, &d->item_text));
    VKR_TRY(bind_strtab(&v, "user_key", users, &d->user_key));
    return VKR_OK;
}

static vkr_status check_examples(const vkr_dataset* d, const uint32_t* ex, uint32_t count, const char* name) {
    for (uint32_t k = 0; k < count; k++) {
        uint32_t u = ex[2 * k], pos = ex[2 * k + 1];
        if (u >= d->user_count || pos >= vkr_dataset_user_len(d, u) || pos == 0)
            return vkr_fail(VKR_ERR_FORMAT, "%s example %u points outside its user's sequence (or has no history)", name, k);
        uint32_t item = d->seq_item[d->seq_begin[u] + pos];
        if (d->target_domain >= 0 && d->item_domain[item] != (uint32_t)d->target_domain)
            return vkr_fail(VKR_ERR_FORMAT, "%s example %u has a target outside the target domain", name, k);
    }
    return VKR_OK;
}

vkr_status vkr_dataset_validate(const vkr_dataset* d) {
    if (d->domain_count == 0 || d->domain_count > VKR_DATA_MAX_DOMAINS)
        return vkr_fail(VKR_ERR_FORMAT, "dataset has %u domains", d->domain_count);
    if (d->target_domain < -1 || d->target_domain >= (int32_t)d->domain_count)
        return vkr_fail(VKR_ERR_FORMAT, "target domain %d out of range", d->target_domain);
    if (d->item_begin[0] != 0 || d->item_begin[d->domain_count] != d->item_count)
        return vkr_fail(VKR_ERR_FORMAT, "domain item ranges do not cover the %u items", d->item_count);
    for (uint32_t k = 0; k < d->domain_count; k++)
        if (d->item_begin[k + 1] < d->item_begin[k]) return vkr_fail(VKR_ERR_FORMAT, "domain item ranges are not increasing");
    for (uint32_t k = 0; k < d->domain_count; k++) {
        for (uint32_t i = d->item_begin[k]; i < d->item_begin[k + 1]; i++)
            if (d->item_domain[i] != k) return vkr_fail(VKR_ERR_FORMAT, "item %u is not in the domain its id range says", i);
    }
    if (d->seq_begin[0] != 0 || d->seq_begin[d->user_count] != d->event_count)
        return vkr_fail(VKR_ERR_FORMAT, "user sequences do not cover the %llu events", (unsigned long long)d->event_count);
    for (uint32_t u = 0; u < d->user_count; u++) {
        if (d->seq_begin[u + 1] < d->seq_begin[u]) return vkr_fail(VKR_ERR_FORMAT, "user sequences are not increasing");
        if (d->train_len[u] > vkr_dataset_user_len(d, u))
            return vkr_fail(VKR_ERR_FORMAT, "user %u has more training events than events", u);
    }
    for (uint64_t e = 0; e < d->event_count; e++)
        if (d->seq_item[e] >= d->item_count) return vkr_fail(VKR_ERR_FORMAT, "event %llu names item %u of %u",
                                                             (unsigned long long)e, d->seq_item[e], d->item_count);
    VKR_TRY(check_examples(d, d->valid, d->valid_count, "validation"));
    return check_examples(d, d->test, d->test_count, "test");
}

/* Reads a whole (small) file into a NUL-terminated buffer. */
static vkr_status read_text(const char* path, char** out) {
    *out = NULL;
    FILE* f = fopen(path, "rb");
    if (!f) return vkr_fail(VKR_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char* buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1) break;
        char* b = cap > (64u << 20) ? NULL : realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    bool err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return vkr_fail(VKR_ERR_IO, "cannot read %s (too large or read error)", path);
    }
    buf[len] = 0;
    *out = buf;
    return VKR_OK;
}

/* Fills the domain and split fields from dataset.json. */
static vkr_status read_meta(vkr_dataset* d, const cJSON* j, const char* path) {
    const cJSON* fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON* ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "vkrec-dataset") != 0)
        return vkr_fail(VKR_ERR_FORMAT, "%s is not a vkrec dataset description", path);
    if (!cJSON_IsNumber(ver) || ver->valuedouble != VKR_DATASET_VERSION)
        return vkr_fail(VKR_ERR_FORMAT, "%s was written by an incompatible vkrec (dataset format version %g; this "
                        "vkrec reads version %d): re-run vkrec prepare", path, cJSON_IsNumber(ver) ? ver->valuedouble : -1.0,
                        VKR_DATASET_VERSION);
    const cJSON* doms = cJSON_GetObjectItemCaseSensitive(j, "domains");
    int nd = cJSON_GetArraySize(doms);
    if (!cJSON_IsArray(doms) || nd < 1 || nd > VKR_DATA_MAX_DOMAINS)
        return vkr_fail(VKR_ERR_FORMAT, "%s: 'domains' must list 1..%d domains", path, VKR_DATA_MAX_DOMAINS);
    d->domain_count = (uint32_t)nd;
    uint32_t k = 0;
    for (const cJSON* o = doms->child; o; o = o->next, k++) {
        const cJSON* name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON* first = cJSON_GetObjectItemCaseSensitive(o, "item_begin");
        const cJSON* items = cJSON_GetObjectItemCaseSensitive(o, "items");
        if (!cJSON_IsString(name) || strlen(name->valuestring) >= VKR_DATA_NAME_MAX || !cJSON_IsNumber(first) ||
            !cJSON_IsNumber(items) || first->valuedouble < 0 || items->valuedouble < 0 ||
            first->valuedouble + items->valuedouble > UINT32_MAX)
            return vkr_fail(VKR_ERR_FORMAT, "%s: domain %u lacks a valid name, item_begin or items", path, k);
        if (k > 0 && (uint32_t)first->valuedouble != d->item_begin[k])
            return vkr_fail(VKR_ERR_FORMAT, "%s: domain %u does not start where domain %u ends", path, k, k - 1);
        strcpy(d->domain_name[k], name->valuestring);
        d->item_begin[k] = (uint32_t)first->valuedouble;
        d->item_begin[k + 1] = (uint32_t)(first->valuedouble + items->valuedouble);
    }
    const cJSON* target = cJSON_GetObjectItemCaseSensitive(j, "target");
    d->target_domain = cJSON_IsString(target) ? vkr_dataset_domain_index(d, target->valuestring) : -1;
    if (cJSON_IsString(target) && d->target_domain < 0)
        return vkr_fail(VKR_ERR_FORMAT, "%s: target '%s' is not one of the domains", path, target->valuestring);
    const cJSON* split = cJSON_GetObjectItemCaseSensitive(j, "split");
    d->split = cJSON_IsString(split) && strcmp(split->valuestring, "given") == 0 ? VKR_SPLIT_GIVEN : VKR_SPLIT_LOO;
    const cJSON* ml = cJSON_GetObjectItemCaseSensitive(j, "max_len");
    d->max_len = cJSON_IsNumber(ml) && ml->valuedouble >= 0 && ml->valuedouble < UINT32_MAX ? (uint32_t)ml->valuedouble : 0;
    d->has_time = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "has_time"));
    return VKR_OK;
}

vkr_status vkr_dataset_load(const char* dir, vkr_dataset* d) {
    memset(d, 0, sizeof *d);
    char path[4096], bin[4096];
    VKR_TRY(vkr_path_join(dir, "dataset.json", path, sizeof path));
    VKR_TRY(vkr_path_join(dir, "data.bin", bin, sizeof bin));
    if (!vkr_path_exists(path))
        return vkr_fail(VKR_ERR_NOT_FOUND, "%s is not a dataset directory (no dataset.json; create one with vkrec prepare)", dir);
    char* text = NULL;
    VKR_TRY(read_text(path, &text));
    cJSON* j = cJSON_Parse(text);
    free(text);
    if (!j) return vkr_fail(VKR_ERR_FORMAT, "%s is not valid JSON", path);
    d->meta = j;
    vkr_status s = read_meta(d, j, path);
    int fd = s == VKR_OK ? open(bin, O_RDONLY) : -1;
    if (s == VKR_OK && fd < 0) s = vkr_fail(VKR_ERR_IO, "cannot open %s: %s", bin, strerror(errno));
    struct stat st;
    if (s == VKR_OK && (fstat(fd, &st) != 0 || st.st_size <= 0))
        s = vkr_fail(VKR_ERR_FORMAT, "%s is empty or unreadable", bin);
    if (s == VKR_OK) {
        void* m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) s = vkr_fail(VKR_ERR_IO, "cannot map %s: %s", bin, strerror(errno));
        else {
            d->mapping = m;
            d->mapping_bytes = (size_t)st.st_size;
        }
    }
    if (fd >= 0) close(fd);
    if (s == VKR_OK) s = vkr_data_image_bind(d, d->mapping, d->mapping_bytes, bin);
    if (s == VKR_OK) s = vkr_dataset_validate(d);
    if (s != VKR_OK) {
        vkr_fail_context(s, "loading %s: ", dir);
        vkr_dataset_free(d);
    }
    return s;
}

void vkr_dataset_free(vkr_dataset* d) {
    if (d->mapping) munmap(d->mapping, d->mapping_bytes);
    free(d->owned);
    cJSON_Delete(d->meta);
    memset(d, 0, sizeof *d);
}

int vkr_dataset_domain_index(const vkr_dataset* d, const char* name) {
    for (uint32_t k = 0; k < d->domain_count; k++)
        if (strcmp(d->domain_name[k], name) == 0) return (int)k;
    return -1;
}

uint32_t vkr_dataset_history(const vkr_dataset* d, uint32_t user, uint32_t pos, uint32_t mask, uint32_t max_len,
                             uint32_t* out) {
    const uint32_t* seq = d->seq_item + d->seq_begin[user];
    uint32_t len = vkr_dataset_user_len(d, user);
    if (pos > len) pos = len;
    uint32_t n = 0;
    uint32_t start = pos;
    /* Walk back to find where the window starts, then copy forward (oldest first). */
    while (start > 0 && (max_len == 0 || n < max_len)) {
        start--;
        if (mask >> d->item_domain[seq[start]] & 1u) n++;
    }
    uint32_t k = 0;
    for (uint32_t p = start; p < pos; p++)
        if (mask >> d->item_domain[seq[p]] & 1u) out[k++] = seq[p];
    return k;
}
