/* Writing a dataset directory atomically: temp sibling directory, dataset.json last, rename. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vkr_data_prep.h"
#include "vkr_file.h"
#include "vkr_fileio.h"

static bool dir_is_empty(const char* dir) {
    DIR* dp = opendir(dir);
    if (!dp) return false;
    struct dirent* e;
    bool empty = true;
    while (empty && (e = readdir(dp)) != NULL) empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(dp);
    return empty;
}

static cJSON* describe(const vkr_dataset* d, const cJSON* source) {
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(d, &st);
    cJSON* j = vkr_dataset_stats_json(d, &st);
    cJSON_AddStringToObject(j, "format", "vkrec-dataset");
    cJSON_AddNumberToObject(j, "version", VKR_DATASET_VERSION);
    cJSON_AddStringToObject(j, "vkrec", vkr_version());
    cJSON_AddStringToObject(j, "split", d->split == VKR_SPLIT_GIVEN ? "given" : "loo");
    if (d->target_domain >= 0) cJSON_AddStringToObject(j, "target", d->domain_name[d->target_domain]);
    else cJSON_AddNullToObject(j, "target");
    cJSON_AddNumberToObject(j, "max_len", d->max_len);
    cJSON_AddBoolToObject(j, "has_time", d->has_time);
    if (source) cJSON_AddItemToObject(j, "source", cJSON_Duplicate(source, true));
    const cJSON* meta = d->meta;
    static const char* const keep[] = {"filters", "skipped", "removed", "raw", "train_only_users"};
    for (size_t k = 0; meta && k < sizeof keep / sizeof keep[0]; k++) {
        const cJSON* v = cJSON_GetObjectItemCaseSensitive(meta, keep[k]);
        if (v) cJSON_AddItemToObject(j, keep[k], cJSON_Duplicate(v, true));
    }
    cJSON* files = cJSON_AddObjectToObject(j, "files");
    cJSON_AddStringToObject(files, "data", "data.bin");
    cJSON_AddNumberToObject(files, "data_bytes", (double)d->mapping_bytes);
    return j;
}

vkr_status vkr_dataset_write(const vkr_dataset* d, const char* dir, const void* source, bool force) {
    const void* image = d->mapping ? d->mapping : d->owned;
    if (!image) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "dataset has no data to write");
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    if (n == 0 || n > 4000) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "bad output directory '%s'", dir);
    char target[4096], tmp[4128], old[4128], path[4200];
    memcpy(target, dir, n);
    target[n] = 0;
    bool exists = vkr_path_exists(target);
    if (exists) {
        struct stat st;
        if (stat(target, &st) != 0 || !S_ISDIR(st.st_mode))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s exists and is not a directory", target);
        snprintf(path, sizeof path, "%s/dataset.json", target);
        bool is_dataset = vkr_path_exists(path);
        if (!dir_is_empty(target) && !(force && is_dataset))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, is_dataset ? "%s already holds a dataset; pass --force to replace it"
                                                                 : "%s exists, is not empty and is not a dataset; "
                                                                   "choose another --out",
                            target);
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", target);
    if (!mkdtemp(tmp)) return vkr_fail(VKR_ERR_IO, "cannot create a directory beside %s: %s", target, strerror(errno));
    snprintf(path, sizeof path, "%s/data.bin", tmp);
    vkr_status s = vkr_write_file_atomic(path, image, d->mapping_bytes);
    if (s == VKR_OK) {
        cJSON* j = describe(d, source);
        snprintf(path, sizeof path, "%s/dataset.json", tmp);
        s = j ? vkr_json_write(j, path) : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        cJSON_Delete(j);
    }
    if (s == VKR_OK) {
        old[0] = 0;
        if (exists && !dir_is_empty(target)) {
            snprintf(old, sizeof old, "%s.old-XXXXXX", target);
            if (!mkdtemp(old) || rename(target, old) != 0) {
                s = vkr_fail(VKR_ERR_IO, "cannot move the old %s aside: %s", target, strerror(errno));
                if (old[0]) rmdir(old);
                old[0] = 0;
            }
        }
        if (s == VKR_OK && rename(tmp, target) != 0) {
            s = vkr_fail(VKR_ERR_IO, "cannot rename %s to %s: %s", tmp, target, strerror(errno));
            if (old[0]) rename(old, target); /* put the previous dataset back */
            old[0] = 0;
        }
        if (old[0] && !vkr_remove_flat_dir(old))
            vkr_log(VKR_LOG_WARN, "vkrec: the previous dataset was kept in %s (it held subdirectories)", old);
    }
    if (s != VKR_OK) vkr_remove_flat_dir(tmp);
    return s;
}
