/* Raw interactions as parsed from a release, before preprocessing, and the parsers that fill them.
 *
 * Contract: a parser appends users, items (with domain, title, text) and events to a vkr_raw. A
 * structural problem (a line that is not in the format, an item id outside the release's id space,
 * a missing file) is an error whose message names file:line. Data-level problems the release can
 * legitimately contain (a review without a timestamp, an unparseable JSON line in a dump, a title
 * that is not UTF-8, metadata for an item nobody reviewed) are skipped and counted per reason with
 * the first place they occurred, and prepare reports every count. Nothing is skipped silently. */
#ifndef VKR_DATA_RAW_H
#define VKR_DATA_RAW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vkr_data.h"

/* Growing pool of NUL-terminated strings addressed by offset (offsets survive growth). */
typedef struct vkr_strpool {
    char* data; /* bytes */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
} vkr_strpool;

/* Interned strings: id <-> string, ids dense from 0 in first-seen order. */
typedef struct vkr_strmap {
    vkr_strpool pool;  /* the strings */
    uint64_t* off;     /* [count] offset of string id in pool */
    uint32_t count;    /* strings interned */
    uint32_t off_cap;  /* capacity of off */
    uint32_t* table;   /* open-addressing table of id+1 (0 = empty) */
    uint32_t table_cap; /* power of two */
} vkr_strmap;

/* Appends n bytes plus a NUL; returns the offset in out_off. */
vkr_status vkr_strpool_add(vkr_strpool* pool, const char* s, size_t n, uint64_t* out_off);
/* Frees the pool and zeroes it. */
void vkr_strpool_free(vkr_strpool* pool);
/* Returns the id of s[0..n) (adding it when new; *out_added says which). */
vkr_status vkr_strmap_intern(vkr_strmap* map, const char* s, size_t n, uint32_t* out_id, bool* out_added);
/* Id of s[0..n), or -1 when absent. */
int64_t vkr_strmap_find(const vkr_strmap* map, const char* s, size_t n);
/* String of id. */
static inline const char* vkr_strmap_get(const vkr_strmap* map, uint32_t id) { return map->pool.data + map->off[id]; }
/* Frees the map and zeroes it. */
void vkr_strmap_free(vkr_strmap* map);

/* Reads a text file (gzip-compressed or plain) line by line, tracking the line number. */
typedef struct vkr_lines {
    struct gzFile_s* gz;  /* the open file (zlib's gzFile) */
    const char* path;     /* for messages */
    char* buf;            /* current line, NUL-terminated, without CR/LF */
    size_t len;           /* its length */
    size_t cap;           /* allocated */
    uint64_t line;        /* 1-based number of the current line */
    char* chunk;          /* read-ahead buffer */
    size_t chunk_len;     /* bytes in chunk */
    size_t chunk_pos;     /* next byte */
    bool eof;             /* no more input */
} vkr_lines;

/* Opens path (gz or plain); out_lines is zeroed on entry. */
vkr_status vkr_lines_open(const char* path, vkr_lines* out_lines);
/* Reads the next line into lines->buf (a leading UTF-8 BOM dropped); *out_ok is false at end of file.
 * Errors: a NUL byte, a last line without a newline, a gzip stream that is cut short or corrupt. */
vkr_status vkr_lines_next(vkr_lines* lines, bool* out_ok);
/* Closes and zeroes. */
void vkr_lines_close(vkr_lines* lines);
/* True when s[0..n) is valid UTF-8 (no overlongs, surrogates or values above U+10FFFF). */
bool vkr_utf8_valid(const char* s, size_t n);

/* Most fields vkr_csv_split records per line. */
#define VKR_CSV_MAX_FIELDS 8

/* One CSV/TSV line split into fields. */
typedef struct vkr_csv_row {
    char* f[VKR_CSV_MAX_FIELDS];  /* field starts (unquoted in place, NUL-terminated) */
    size_t n[VKR_CSV_MAX_FIELDS]; /* field lengths */
    int count;                    /* fields found (VKR_CSV_MAX_FIELDS + 1 when there were more) */
} vkr_csv_row;

/* Splits s[0..len) in place at `delim`, RFC 4180 quotes ("a, b", "say ""hi""", a quote inside an
 * unquoted field is literal); false on an unterminated or malformed quote. */
bool vkr_csv_split(char* s, size_t len, char delim, vkr_csv_row* row);

/* Interns every item key of `dataset` so that id = item index; a key naming two items is an error
 * (keys are only unique per domain in some sources). out_keys is zeroed on entry. */
vkr_status vkr_dataset_item_keys(const vkr_dataset* dataset, vkr_strmap* out_keys);

/* Parses s[0..n) as a decimal unsigned integer (digits only, no overflow). */
bool vkr_parse_u64(const char* s, size_t n, uint64_t* out);
/* Parses s[0..n) as a decimal integer with an optional leading '-'. */
bool vkr_parse_i64(const char* s, size_t n, int64_t* out);
/* Writes dir/name into out (capacity cap); fails when it does not fit. */
vkr_status vkr_path_join(const char* dir, const char* name, char* out, size_t cap);
/* True when path names an existing file or directory. */
bool vkr_path_exists(const char* path);

/* Given-split role of a user (from the file its line came from). */
typedef enum vkr_user_role {
    VKR_ROLE_TRAIN = 0, /* training line */
    VKR_ROLE_VALID = 1, /* validation line: its last event is the target */
    VKR_ROLE_TEST = 2   /* test line: its last event is the target */
} vkr_user_role;

/* One interaction. */
typedef struct vkr_raw_event {
    uint32_t user; /* raw user id */
    uint32_t item; /* raw item id */
    int64_t time;  /* unix seconds, 0 when the source has none */
    uint64_t pos;  /* global order of appearance in the input files (tie-breaker) */
} vkr_raw_event;

/* A counted skip. */
typedef struct vkr_raw_skip {
    const char* reason; /* static text, e.g. "review without unixReviewTime" */
    uint64_t count;     /* occurrences */
    char first[160];    /* where it first happened, "file:line" */
} vkr_raw_skip;

#define VKR_RAW_MAX_SKIPS 32

/* Everything parsed so far. */
typedef struct vkr_raw {
    uint32_t domain_count;                                   /* domains declared */
    char domain_name[VKR_DATA_MAX_DOMAINS][VKR_DATA_NAME_MAX]; /* their names */
    vkr_strmap users;        /* user keys */
    uint8_t* user_role;      /* [users.count] vkr_user_role */
    vkr_strmap items;        /* item keys (domain-qualified where the source needs it) */
    uint8_t* item_domain;    /* [items.count] */
    uint64_t* item_title;    /* [items.count] offset into text, UINT64_MAX when none */
    uint64_t* item_text;     /* [items.count] offset into text, UINT64_MAX when none */
    uint64_t* item_label;    /* [items.count] offset into text of the id shown to users (ASIN) */
    uint32_t user_cap, item_cap; /* capacities of the per-user and per-item arrays */
    vkr_strpool text;        /* titles, texts, labels */
    vkr_raw_event* events;   /* interactions */
    size_t event_count, event_cap;
    bool has_time;           /* events carry timestamps */
    bool has_given_split;    /* users carry train/valid/test roles from the release */
    vkr_raw_skip skips[VKR_RAW_MAX_SKIPS]; /* counted skips */
    uint32_t skip_count;
} vkr_raw;

/* Frees everything and zeroes. */
void vkr_raw_free(vkr_raw* raw);
/* Adds (or finds) a domain by name; fails past VKR_DATA_MAX_DOMAINS or on a bad name. */
vkr_status vkr_raw_domain(vkr_raw* raw, const char* name, uint32_t* out_domain);
/* Adds (or finds) a user; a new user gets `role`. */
vkr_status vkr_raw_user(vkr_raw* raw, const char* key, size_t n, vkr_user_role role, uint32_t* out_user,
                        bool* out_added);
/* Adds (or finds) an item of `domain` keyed by key[0..n); label is the id shown to users (NULL: key). */
vkr_status vkr_raw_item(vkr_raw* raw, const char* key, size_t n, uint32_t domain, uint32_t* out_item,
                        bool* out_added);
/* Sets an item's title or text (which: 0 title, 1 text, 2 label); invalid UTF-8 is a counted skip at `where`. */
vkr_status vkr_raw_item_string(vkr_raw* raw, uint32_t item, int which, const char* s, size_t n, const char* where);
/* Appends an event. */
vkr_status vkr_raw_event_add(vkr_raw* raw, uint32_t user, uint32_t item, int64_t time);
/* Counts `count` skips of `reason` (a static string), the first at "path:line" (line 0: path alone). */
void vkr_raw_skip_add(vkr_raw* raw, const char* reason, const char* path, uint64_t line, uint64_t count);
/* Counts one skip of `reason` (a static string) at "path:line". */
static inline void vkr_raw_skip_count(vkr_raw* raw, const char* reason, const char* path, uint64_t line) {
    vkr_raw_skip_add(raw, reason, path, line, 1);
}

/* LLMCDSR release directory: num.txt, train_A/train_B/train_overlap/valid/test.txt, titles from
 * derived/items_{A,B}.tsv when present. Domains are named A and B (rename with domain_names). */
vkr_status vkr_parse_llmcdsr(vkr_raw* raw, const char* dir, const char* const domain_names[2]);
/* C2DSR release directory: Alist.txt, Blist.txt, {train,valid,test}data_new.txt (train optional),
 * titles from derived/titles_{A,B}_from_llmcdsr.tsv when present. Each line's events are
 * stable-sorted by timestamp. */
vkr_status vkr_parse_c2dsr(vkr_raw* raw, const char* dir, const char* const domain_names[2]);
/* One Amazon domain: review JSON lines (gz or plain; 2014/2018 fields reviewerID, asin,
 * unixReviewTime) and optional metadata JSON lines (title, categories/category, description). */
vkr_status vkr_parse_amazon(vkr_raw* raw, const char* domain, const char* reviews, const char* meta);
/* Plain CSV/TSV: interactions `user,item,timestamp,domain` and optional items `item,domain,title[,text]`
 * (delimiter detected from the first line, RFC 4180 quotes, optional header line). */
vkr_status vkr_parse_csv(vkr_raw* raw, const char* interactions, const char* items);

#endif
