/* Checkpoint provenance checks (see cli_ckpt.h). */
#include "cli_ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vkr_file.h"
#include "vkr_safetensors.h"

void cli_ckpt_dataset_fingerprint(const vkr_dataset* ds, char* out, size_t cap) {
    const void* image = ds->mapping ? (const void*)ds->mapping : (const void*)ds->owned;
    uint64_t h = vkr_hash64(VKR_HASH64_INIT, image, image ? ds->mapping_bytes : 0);
    snprintf(out, cap, "%u items, data.bin fnv1a64:%016llx", ds->item_count, (unsigned long long)h);
}

vkr_status cli_ckpt_ids_fingerprint(const char* dir, char* out, size_t cap) {
    char path[4200];
    snprintf(path, sizeof path, "%s/semantic_ids.npy", dir);
    uint64_t h = 0;
    VKR_TRY(vkr_hash64_file(path, &h));
    snprintf(out, cap, "fnv1a64:%016llx", (unsigned long long)h);
    return VKR_OK;
}

vkr_status cli_ckpt_require_digest(const char* path, bool has_digest) {
    if (has_digest) return VKR_OK;
    return vkr_fail(VKR_ERR_FORMAT, "%s has no %s: written by a vkrec before checkpoints carried one, or its header "
                    "is damaged; its content cannot be verified (train again to get a checked checkpoint)", path,
                    VKR_ST_DIGEST_KEY);
}

/* Opens checkpoint `path` and refuses it without a digest (vkr_st_open verified it when present). */
static vkr_status cli_ckpt_open(const char* path, vkr_st_file** out) {
    VKR_TRY(vkr_st_open(path, out));
    vkr_status s = cli_ckpt_require_digest(path, vkr_st_metadata_get(*out, VKR_ST_DIGEST_KEY) != NULL);
    if (s != VKR_OK) {
        vkr_st_close(*out);
        *out = NULL;
    }
    return s;
}

/* Names the sibling directories of ckpt_dir that hold a last checkpoint, for the missing-checkpoint error. */
static void cli_ckpt_siblings(const char* ckpt_dir, char* out, size_t cap) {
    char root[4200], probe[4400];
    snprintf(root, sizeof root, "%s", ckpt_dir);
    char* slash = strrchr(root, '/');
    out[0] = 0;
    if (!slash) return;
    *slash = 0;
    DIR* dp = opendir(root);
    if (!dp) return;
    size_t len = 0;
    for (struct dirent* e; (e = readdir(dp)) != NULL && len + 2 < cap;) {
        snprintf(probe, sizeof probe, "%s/%s/last.safetensors", root, e->d_name);
        if (e->d_name[0] == '.' || access(probe, F_OK) != 0) continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", e->d_name);
    }
    closedir(dp);
}

/* Compares the requested metadata with the checkpoint's open file f (at path). */
static vkr_status cli_ckpt_compare(const vkr_st_file* f, const char* path, const char* const* metadata) {
    for (uint32_t k = 0; metadata && metadata[k]; k += 2) {
        const char *key = metadata[k], *want = metadata[k + 1];
        if (strcmp(key, CLI_CKPT_DATA_PATH) == 0) continue; /* the fingerprint says whether it is the same data */
        const char* have = vkr_st_metadata_get(f, key);
        const char* name = strncmp(key, "vkrec.", 6) == 0 ? key + 6 : key;
        if (!have)
            return vkr_fail(VKR_ERR_FORMAT, "cannot resume %s: it does not record %s (an older vkrec wrote it, or it "
                            "was edited), so this run's %s cannot be checked against it", path, name, want);
        if (strcmp(have, want) != 0)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "cannot resume %s: %s differs (checkpoint: %s; this run: %s); "
                            "resume with the checkpoint's settings and data, or train without --resume", path, name,
                            have, want);
    }
    return VKR_OK;
}

vkr_status cli_ckpt_check_resume(const char* ckpt_dir, const char* const* metadata) {
    char path[4200];
    snprintf(path, sizeof path, "%s/last.safetensors", ckpt_dir);
    if (access(path, F_OK) != 0) {
        char others[1024];
        cli_ckpt_siblings(ckpt_dir, others, sizeof others);
        return vkr_fail(VKR_ERR_NOT_FOUND, "cannot resume: %s does not exist%s%s (train without --resume to start "
                        "afresh)", path, others[0] ? "; checkpoints of other settings: " : "", others);
    }
    vkr_st_file* f = NULL;
    VKR_TRY(cli_ckpt_open(path, &f));
    vkr_status s = cli_ckpt_compare(f, path, metadata);
    vkr_st_close(f);
    snprintf(path, sizeof path, "%s/best.safetensors", ckpt_dir); /* loaded too when the run resumes */
    if (s == VKR_OK && access(path, F_OK) == 0 && (s = cli_ckpt_open(path, &f)) == VKR_OK) vkr_st_close(f);
    return s;
}

vkr_status cli_ckpt_check_data(const char* path, const char* dataset_fp, const char* ids_fp, const vkr_dataset* ds,
                               const char* data_dir, bool generative) {
    char have[128];
    const char* missing = !dataset_fp || !*dataset_fp ? CLI_CKPT_DATASET
                          : generative && (!ids_fp || !*ids_fp) ? CLI_CKPT_SEMANTIC_IDS : NULL;
    if (missing)
        return vkr_fail(VKR_ERR_FORMAT, "%s does not record %s (an older vkrec wrote it, or it was edited): cannot "
                        "check that %s is what it was trained on", path, missing, data_dir);
    cli_ckpt_dataset_fingerprint(ds, have, sizeof have);
    if (strcmp(have, dataset_fp) != 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s was trained on another dataset than %s (checkpoint: %s; %s: %s)",
                        path, data_dir, dataset_fp, data_dir, have);
    if (!generative) return VKR_OK;
    VKR_TRY(cli_ckpt_ids_fingerprint(data_dir, have, sizeof have));
    if (strcmp(have, ids_fp) != 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s was trained on other semantic IDs than %s/semantic_ids.npy "
                        "(checkpoint: %s; file: %s)", path, data_dir, ids_fp, have);
    return VKR_OK;
}

vkr_status cli_ckpt_dir_make(const char* root, const char* dir) {
    const char* dirs[] = {root, dir};
    for (int k = 0; k < 2; k++)
        if (mkdir(dirs[k], 0755) != 0 && errno != EEXIST)
            return vkr_fail(VKR_ERR_IO, "cannot create %s: %s", dirs[k], strerror(errno));
    /* train and run hold the checkpoint root's lock (rank 0 of a data-parallel run) */
    return cli_is_lead() ? vkr_temps_clean_locked(dir, NULL) : VKR_OK;
}
