/* Shared by the data fuzz targets: the input is split at form feeds ('\f') into the files of one
 * release, written to a per-process scratch directory, then parsed and prepared exactly as
 * `vkrec prepare` does. Any crash, leak, sanitizer report or timeout is a finding; errors are not. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vkr_data_prep.h"

/* The scratch directory (created on first use, with a derived/ subdirectory). */
static const char* fuzz_dir(void) {
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/vkr_fuzz_%d", (int)getpid());
        mkdir(dir, 0700);
        char sub[300];
        snprintf(sub, sizeof sub, "%s/derived", dir);
        mkdir(sub, 0700);
    }
    return dir;
}

/* Writes part k of data (split at '\f') to names[k]; the last part is the rest, form feeds included. */
static void fuzz_write_parts(const uint8_t* data, size_t size, const char* const* names, int count) {
    const uint8_t* p = data;
    const uint8_t* end = data + size;
    for (int k = 0; k < count; k++) {
        const uint8_t* q = p;
        while (q < end && *q != '\f' && k + 1 < count) q++; /* the last file takes the rest */
        if (k + 1 == count) q = end;
        char path[400];
        snprintf(path, sizeof path, "%s/%s", fuzz_dir(), names[k]);
        FILE* f = fopen(path, "wb");
        if (f) {
            fwrite(p, 1, (size_t)(q - p), f);
            fclose(f);
        }
        p = q < end ? q + 1 : end;
    }
}

/* Prepares raw both ways a user might (raw counts with the given split, filtered leave-one-out). */
static void fuzz_prepare(const vkr_raw* raw) {
    vkr_prep_options o = vkr_prep_options_default();
    o.no_filter = true;
    o.split = raw->has_given_split ? VKR_SPLIT_GIVEN : VKR_SPLIT_LOO;
    vkr_dataset d;
    vkr_prep_report rep;
    for (int pass = 0; pass < 2; pass++) {
        if (vkr_data_prepare(raw, &o, &d, &rep) == VKR_OK) {
            vkr_dataset_stats st;
            vkr_dataset_stats_compute(&d, &st);
            vkr_dataset_free(&d);
        }
        o = vkr_prep_options_default();
        o.min_item = 2;
        o.min_user = 1;
        o.target = raw->domain_count ? raw->domain_name[raw->domain_count - 1] : NULL;
    }
}

#endif
