/* Prepared cross-domain datasets: the directory `vkrec prepare` writes and every later stage reads.
 *
 * Contract: a dataset directory holds `dataset.json` (self-description, written last) and `data.bin`
 * (compact little-endian arrays the loader maps without parsing). vkr_dataset_load maps data.bin,
 * checks both files' format version (an incompatible one is a clear error naming both versions),
 * verifies data.bin's checksum and validates every array (bounds, monotonic offsets, NUL-terminated strings), so later stages may
 * trust what they read.
 *
 * Model of the data:
 *   - Domains 0..domain_count-1 ("Food", "Kitchen", ...). Items are numbered domain by domain:
 *     domain d owns the contiguous ids [item_begin[d], item_begin[d+1]) (a full softmax over one
 *     domain is a slice). item_domain[i] repeats this per item.
 *   - Users 0..user_count-1. User u's interactions, in chronological order (ties keep file order),
 *     are seq_item[seq_begin[u] .. seq_begin[u+1]) with domains mixed; seq_time holds unix seconds
 *     (0 when the source has no timestamps). Source/target-domain sequences are the same events
 *     filtered by domain (vkr_dataset_history with a domain mask).
 *   - Splits: an example is (user, position): the target is the user's event at that position and
 *     the history is everything before it. valid/test hold `count` such pairs. train_len[u] is how
 *     many leading events of user u are training data (leave-one-out: everything before the
 *     validation target; given split: the whole line for a training user, 0 for an evaluation user).
 *   - max_len (from `--max-len`) is applied when histories are read, not when stored, so counts and
 *     statistics always cover every interaction.
 *
 * data.bin layout (all integers little-endian):
 *   header   : char magic[8] = "VKRDATA\0"; uint32 version; uint32 section_count; uint64 file_bytes;
 *              uint32 crc32; uint32 reserved (0)   (32 bytes; crc32 is zlib's CRC-32 of the whole file
 *              except its own four bytes, so any changed byte is a load error)
 *   sections : section_count x { char name[24]; uint32 elem_bytes; uint32 reserved; uint64 offset;
 *              uint64 count }   (offset from the file start, 64-byte aligned; count in elements)
 *   sections, by name: item_domain u8[items]; seq_begin u64[users+1]; seq_item u32[events];
 *   seq_time i64[events]; train_len u32[users]; valid u32[2*valid]; test u32[2*test];
 *   and for each string table T in {item_key, item_title, item_text, user_key}: T_off u64[n+1]
 *   (start of string k; the string ends with a NUL before T_off[k+1]) and T_chars u8[...].
 *   Missing titles/texts are empty strings. */
#ifndef VKR_DATA_H
#define VKR_DATA_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vkr_runtime.h"

#define VKR_DATASET_VERSION 2      /* format version of dataset.json and data.bin (2: data.bin checksum) */
#define VKR_DATA_MAX_DOMAINS 16    /* most domains one dataset may hold */
#define VKR_DATA_NAME_MAX 64       /* longest domain name, including the NUL */
#define VKR_DOMAINS_ALL 0xFFFFu    /* domain mask selecting every domain */

/* How the examples were split. */
typedef enum vkr_split_mode {
    VKR_SPLIT_LOO = 0, /* leave-one-out: last event test, second-to-last validation */
    VKR_SPLIT_GIVEN    /* the release's own train/validation/test files, kept exactly */
} vkr_split_mode;

/* A string table: string k starts at chars + off[k] and is NUL-terminated. */
typedef struct vkr_strtab {
    const uint64_t* off; /* [n+1] start offsets */
    const char* chars;   /* bytes, each string NUL-terminated */
} vkr_strtab;

/* A prepared dataset, mapped from disk by vkr_dataset_load or built in memory by vkr_data_prepare. */
typedef struct vkr_dataset {
    uint32_t domain_count;                                  /* number of domains */
    char domain_name[VKR_DATA_MAX_DOMAINS][VKR_DATA_NAME_MAX]; /* domain names */
    uint32_t item_begin[VKR_DATA_MAX_DOMAINS + 1];          /* first item id of each domain, then item_count */
    uint32_t item_count;                                    /* items over all domains */
    uint32_t user_count;                                    /* users */
    uint64_t event_count;                                   /* interactions */
    int32_t target_domain;                                  /* --target domain, or -1: targets in every domain */
    uint32_t max_len;                                       /* history window (0: unlimited) */
    vkr_split_mode split;                                   /* how valid/test were formed */
    bool has_time;                                          /* seq_time holds real timestamps */
    const uint8_t* item_domain;                             /* [item_count] domain of each item */
    const uint64_t* seq_begin;                              /* [user_count+1] event range per user */
    const uint32_t* seq_item;                               /* [event_count] item of each event */
    const int64_t* seq_time;                                /* [event_count] unix seconds, 0 if unknown */
    const uint32_t* train_len;                              /* [user_count] leading training events */
    const uint32_t* valid;                                  /* [2*valid_count] (user, position) pairs */
    const uint32_t* test;                                   /* [2*test_count] (user, position) pairs */
    uint32_t valid_count;                                   /* validation examples */
    uint32_t test_count;                                    /* test examples */
    vkr_strtab item_key;                                    /* original item id (ASIN, seq id, ...) */
    vkr_strtab item_title;                                  /* title, "" when unknown */
    vkr_strtab item_text;                                   /* extra text (description, categories), "" if none */
    vkr_strtab user_key;                                    /* original user id (reviewer id, "file:uid") */
    struct cJSON* meta;                                     /* parsed dataset.json, or NULL */
    uint8_t* mapping;                                       /* mmap of data.bin (private) */
    uint8_t* owned;                                         /* image of an in-memory dataset (private) */
    size_t mapping_bytes;                                   /* bytes of the data.bin image, mapped or owned */
} vkr_dataset;

/* Per-domain figures of vkr_dataset_stats. */
typedef struct vkr_domain_stats {
    uint32_t items;          /* items of the domain */
    uint32_t users;          /* users with at least one event in the domain */
    uint64_t interactions;   /* events in the domain */
    double avg_len;          /* interactions / users (0 when no users) */
    uint32_t text_items;     /* items with a non-empty title or text */
    double text_coverage;    /* text_items / items */
    uint32_t valid_targets;  /* validation targets in the domain */
    uint32_t test_targets;   /* test targets in the domain */
} vkr_domain_stats;

/* Dataset statistics (what `vkrec stats` prints). */
typedef struct vkr_dataset_stats {
    uint32_t users;                 /* users */
    uint32_t items;                 /* items */
    uint64_t interactions;          /* events */
    uint32_t overlap_users;         /* users with events in every domain (0 for one domain) */
    uint64_t train_interactions;    /* sum of train_len */
    uint32_t train_users;           /* users with train_len > 0 */
    uint32_t valid;                 /* validation examples */
    uint32_t test;                  /* test examples */
    uint32_t min_len, max_len;      /* shortest and longest user sequence */
    vkr_domain_stats domain[VKR_DATA_MAX_DOMAINS]; /* per domain */
} vkr_dataset_stats;

/* Maps DIR/data.bin, reads DIR/dataset.json and validates both; out_dataset is zeroed on entry. */
vkr_status vkr_dataset_load(const char* dir, vkr_dataset* out_dataset);
/* Releases a loaded or prepared dataset and zeroes it (no-op on a zeroed one). */
void vkr_dataset_free(vkr_dataset* dataset);
/* Checks a dataset's arrays for consistency (what the loader runs); names the first violation. */
vkr_status vkr_dataset_validate(const vkr_dataset* dataset);

/* String k of a table. */
static inline const char* vkr_strtab_get(const vkr_strtab* t, uint64_t k) { return t->chars + t->off[k]; }
/* Number of events of user u. */
static inline uint32_t vkr_dataset_user_len(const vkr_dataset* d, uint32_t u) {
    return (uint32_t)(d->seq_begin[u + 1] - d->seq_begin[u]);
}
/* Domain index by name, or -1. */
int vkr_dataset_domain_index(const vkr_dataset* dataset, const char* name);
/* Events of the user with the most (sizes history scratch buffers). */
static inline uint32_t vkr_dataset_longest(const vkr_dataset* d) {
    uint32_t longest = 0;
    for (uint32_t u = 0; u < d->user_count; u++)
        if (vkr_dataset_user_len(d, u) > longest) longest = vkr_dataset_user_len(d, u);
    return longest;
}

/* Writes into out_items (capacity max_len, 0: unlimited) the most recent events of user u before
 * position pos whose domain bit is set in domain_mask, oldest first; returns how many. With
 * max_len = 0 the caller's buffer must hold pos items. */
uint32_t vkr_dataset_history(const vkr_dataset* dataset, uint32_t user, uint32_t pos, uint32_t domain_mask,
                             uint32_t max_len, uint32_t* out_items);
/* Computes the statistics of a dataset; out_stats is zeroed on entry. */
void vkr_dataset_stats_compute(const vkr_dataset* dataset, vkr_dataset_stats* out_stats);
/* Prints the statistics as a human-readable report. */
void vkr_dataset_stats_print(const vkr_dataset* dataset, const vkr_dataset_stats* stats, FILE* out);
/* The statistics as a JSON object: users, items, interactions, overlap_users, splits and
 * domains [{name, items, interactions, users, avg_len, text_coverage, ...}]. Caller deletes it. */
struct cJSON* vkr_dataset_stats_json(const vkr_dataset* dataset, const vkr_dataset_stats* stats);

#endif
