/* Preprocessing (SemaCDR appendix B protocol, each step a switch) and writing the dataset directory.
 *
 * Contract: vkr_data_prepare turns parsed raw interactions into a vkr_dataset in memory:
 *   1. each user's events are stable-sorted by timestamp (file order breaks ties);
 *   2. repeated (user, item) interactions are removed, the earliest kept (unless keep_duplicates);
 *   3. filters, iterated to a fixed point unless no_filter: items with fewer than min_item
 *      interactions go, a user's events in a domain where the user has fewer than min_user go, and
 *      with overlap_only users without events in every domain go;
 *   4. users left with fewer than 2 events are dropped (counted);
 *   5. split: LOO takes each user's last event (last target-domain event with a target) as test and
 *      the one before as validation, training on what precedes validation; users that cannot form
 *      both examples keep all their events as training. GIVEN keeps the release's train/valid/test
 *      users; an evaluation user's target is the last event of its line (after the time sort) and an
 *      evaluation user whose target was filtered out, or is outside --target, is dropped (counted).
 * Every removal is counted in the report and in dataset.json. vkr_dataset_write writes the directory
 * atomically: everything goes to a fresh sibling temporary directory (dataset.json last) which is
 * renamed into place, so a failed or interrupted prepare never leaves a directory that loads. */
#ifndef VKR_DATA_PREP_H
#define VKR_DATA_PREP_H
#include "vkr_data.h"
#include "vkr_data_raw.h"

/* Whether to keep only users present in every domain. */
typedef enum vkr_overlap_mode {
    VKR_OVERLAP_AUTO = 0, /* on for two or more domains (unless no_filter) */
    VKR_OVERLAP_ON,       /* always */
    VKR_OVERLAP_OFF       /* never */
} vkr_overlap_mode;

/* Preprocessing switches; start from vkr_prep_options_default(). */
typedef struct vkr_prep_options {
    vkr_split_mode split;   /* VKR_SPLIT_LOO (default) or VKR_SPLIT_GIVEN */
    bool no_filter;         /* turn off k-core and overlap filters */
    uint32_t min_item;      /* k-core: interactions per item (default 10) */
    uint32_t min_user;      /* k-core: interactions per user in each domain they use (default 3) */
    vkr_overlap_mode overlap; /* keep only users present in every domain */
    bool keep_duplicates;   /* keep repeated (user, item) interactions */
    uint32_t max_len;       /* history window recorded for readers (default 50; 0: unlimited) */
    const char* target;     /* target domain name, or NULL for targets in every domain */
} vkr_prep_options;

/* The documented defaults. */
vkr_prep_options vkr_prep_options_default(void);

/* What preprocessing removed. */
typedef struct vkr_prep_report {
    uint64_t raw_events;        /* events parsed */
    uint32_t raw_users;         /* users parsed */
    uint32_t raw_items;         /* items parsed (with or without events) */
    uint64_t duplicates;        /* repeated (user, item) events removed */
    uint64_t filtered_events;   /* events removed by the k-core and overlap filters */
    uint32_t filter_rounds;     /* fixed-point iterations */
    uint32_t overlap_dropped;   /* users removed for missing a domain */
    uint32_t short_users;       /* users dropped with fewer than 2 events */
    uint32_t eval_dropped;      /* given split: evaluation users whose target was filtered out */
    uint32_t off_target;        /* given split: evaluation users whose target is outside --target */
    uint32_t train_only;        /* leave-one-out: users too short for validation + test examples */
} vkr_prep_report;

/* Preprocesses `raw` into an in-memory dataset (free with vkr_dataset_free); out_dataset and
 * out_report are zeroed on entry. The dataset's meta (cJSON) records filters, skips and removals. */
vkr_status vkr_data_prepare(const vkr_raw* raw, const vkr_prep_options* options, vkr_dataset* out_dataset,
                            vkr_prep_report* out_report);
/* Writes `dataset` to directory `dir` atomically. An existing directory is replaced only with
 * `force` and only when it holds a dataset.json (it is never merged into). `source` (cJSON*, may be
 * NULL) is stored as "source" in dataset.json (copied). */
vkr_status vkr_dataset_write(const vkr_dataset* dataset, const char* dir, const void* source, bool force);

#endif
