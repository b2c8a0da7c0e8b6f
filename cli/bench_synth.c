/* The benchmarks' synthetic GenCDR-shaped dataset (bench_synth.h). */
#include "bench_synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_synth_free(synth_data* d) {
    free(d->item_domain);
    free(d->seq_begin);
    free(d->seq_item);
    free(d->train_len);
    free(d->ids);
}

vkr_status bench_synth_make(uint32_t users, uint32_t len, uint32_t items, synth_data* d) {
    memset(d, 0, sizeof *d);
    d->item_domain = malloc(items);
    d->seq_begin = malloc(((size_t)users + 1) * sizeof *d->seq_begin);
    d->seq_item = malloc((size_t)users * len * sizeof *d->seq_item);
    d->train_len = malloc((size_t)users * sizeof *d->train_len);
    d->ids = malloc((size_t)items * 4 * sizeof *d->ids);
    if (!d->item_domain || !d->seq_begin || !d->seq_item || !d->train_len || !d->ids) {
        bench_synth_free(d);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory for the benchmark dataset");
    }
    vkr_dataset* ds = &d->ds;
    ds->domain_count = 2;
    snprintf(ds->domain_name[0], sizeof ds->domain_name[0], "A");
    snprintf(ds->domain_name[1], sizeof ds->domain_name[1], "B");
    ds->item_begin[0] = 0, ds->item_begin[1] = items / 2, ds->item_begin[2] = items;
    ds->item_count = items, ds->user_count = users, ds->event_count = (uint64_t)users * len;
    ds->target_domain = -1;
    for (uint32_t i = 0; i < items; i++) {
        d->item_domain[i] = i >= items / 2;
        uint16_t* id = d->ids + (size_t)i * 4; /* distinct paths: i's base-256 digits, then a hash digit */
        id[0] = (uint16_t)(i & 255), id[1] = (uint16_t)(i >> 8 & 255), id[2] = (uint16_t)(i * 37u & 255), id[3] = 0;
    }
    uint32_t rng = 12345;
    for (uint32_t u = 0; u <= users; u++) d->seq_begin[u] = (uint64_t)u * len;
    for (size_t e = 0; e < (size_t)users * len; e++) {
        rng = rng * 1664525u + 1013904223u;
        d->seq_item[e] = (rng >> 8) % items;
    }
    for (uint32_t u = 0; u < users; u++) d->train_len[u] = len;
    ds->item_domain = d->item_domain, ds->seq_begin = d->seq_begin, ds->seq_item = d->seq_item;
    ds->train_len = d->train_len;
    return VKR_OK;
}

