/* A synthetic two-domain dataset for the GenCDR benchmarks (bench train, bench beam): random
 * histories and distinct 4-token semantic IDs, built in memory so the figures need no files. */
#ifndef VKR_BENCH_SYNTH_H
#define VKR_BENCH_SYNTH_H
#include <stdint.h>

#include "vkr_data.h"

/* The dataset and the arrays it points into (malloc'd). */
typedef struct synth_data {
    vkr_dataset ds;       /* two domains "A" and "B" of items/2 each; every event is training data */
    uint8_t* item_domain; /* [items] */
    uint64_t* seq_begin;  /* [users + 1] */
    uint32_t* seq_item;   /* [users * len] uniform random items */
    uint32_t* train_len;  /* [users] all len */
    uint16_t* ids;        /* [items, 4] distinct semantic IDs */
} synth_data;

/* `users` random histories of `len` events over `items` items; *d is zeroed on entry. */
vkr_status bench_synth_make(uint32_t users, uint32_t len, uint32_t items, synth_data* d);
/* Frees the arrays. */
void bench_synth_free(synth_data* d);

#endif
