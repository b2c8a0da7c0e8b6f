/* Output-path checks of the commands (see cli_output.h). */
#include "cli_output.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "vkr_file.h"
#include "vkr_npy.h"

const char* const cli_dataset_files[] = {"dataset.json",         "data.bin",       "item_emb.npy",
                                         "item_emb.json",        "semantic_ids.npy", "tokenizer.safetensors",
                                         "tokenizer.json",       NULL};

/* The input `out` is the same file as (an input file, or a dataset file of an input directory), or NULL. */
static const char* cli_output_input(const char* out, const char* const* inputs, unsigned count, char* buf,
                                    size_t cap) {
    for (unsigned i = 0; i < count; i++) {
        struct stat st;
        if (!inputs[i] || stat(inputs[i], &st) != 0) continue;
        if (!S_ISDIR(st.st_mode)) {
            if (vkr_same_file(out, inputs[i])) return inputs[i];
            continue;
        }
        for (const char* const* f = cli_dataset_files; *f; f++) {
            snprintf(buf, cap, "%s/%s", inputs[i], *f);
            if (vkr_same_file(out, buf)) return buf;
        }
    }
    return NULL;
}

/* Reads at most `cap` - 1 bytes of `path` into a NUL-terminated malloc'd buffer (NULL: unreadable). */
static char* cli_output_head(const char* path, size_t cap, size_t* out_len) {
    FILE* f = fopen(path, "rb");
    char* buf = f ? malloc(cap) : NULL;
    *out_len = buf ? fread(buf, 1, cap - 1, f) : 0;
    if (buf) buf[*out_len] = 0;
    if (f) fclose(f);
    return buf;
}

/* Whether the existing file `path` is of the kind the option writes (empty files count). */
static bool cli_output_ours(const char* path, cli_output_kind kind, const char* header) {
    size_t len = 0;
    char* text = cli_output_head(path, kind == CLI_OUTPUT_JSON ? (64u << 20) : 4096, &len);
    bool ours = text && len == 0;
    if (text && len && kind == CLI_OUTPUT_JSON) {
        cJSON* j = cJSON_ParseWithLength(text, len);
        ours = j != NULL;
        cJSON_Delete(j);
    } else if (text && len && kind == CLI_OUTPUT_CSV) {
        size_t n = strlen(header);
        ours = len > n && strncmp(text, header, n) == 0 && (text[n] == '\n' || text[n] == '\r');
    }
    free(text);
    if ((kind == CLI_OUTPUT_MAP || kind == CLI_OUTPUT_NPY) && !ours) {
        vkr_npy_array a = {0};
        ours = vkr_npy_load(path, &a) == VKR_OK && a.dtype == VKR_ELEM_F32 && a.ndim == 2 &&
               (kind == CLI_OUTPUT_NPY || a.shape[1] == 2);
        vkr_npy_free(&a);
    }
    return ours;
}

int cli_output_check(const char* cmd, const char* option, const char* out, const char* const* inputs,
                     unsigned input_count, cli_output_kind kind, const char* header, bool force) {
    char buf[4200];
    const char* input = cli_output_input(out, inputs, input_count, buf, sizeof buf);
    if (input)
        return cli_usage_error(cmd, "%s %s is an input of this command (%s): choose another file", option, out, input);
    struct stat st;
    if (stat(out, &st) != 0) return CLI_OK;
    if (S_ISDIR(st.st_mode)) return cli_usage_error(cmd, "%s %s is a directory", option, out);
    if (force || cli_output_ours(out, kind, header)) return CLI_OK;
    return cli_usage_error(cmd, "%s %s exists and is not a %s vkrec writes there; pass --force to replace it", option,
                           out, kind == CLI_OUTPUT_JSON  ? "JSON file"
                                : kind == CLI_OUTPUT_MAP ? "N x 2 .npy map"
                                : kind == CLI_OUTPUT_NPY ? "float32 .npy matrix"
                                                         : "CSV file");
}

vkr_status cli_output_lock(const char* dir, vkr_lock* out_lock) {
    out_lock->fd = -1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return vkr_fail(VKR_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    char path[VKR_FILE_MAX_PATH + 1];
    snprintf(path, sizeof path, "%s/.vkrec.lock", dir);
    return vkr_lock_take(path, dir, out_lock);
}

vkr_status cli_output_lock_beside(const char* target, vkr_lock* out_lock) {
    char path[VKR_FILE_MAX_PATH + 1];
    size_t n = strlen(target);
    while (n > 1 && target[n - 1] == '/') n--;
    snprintf(path, sizeof path, "%.*s.lock", (int)n, target);
    VKR_TRY(vkr_lock_take(path, target, out_lock));
    uint32_t removed = 0;
    vkr_status s = vkr_temps_clean_beside(target, &removed);
    if (s != VKR_OK) vkr_lock_release(out_lock);
    else if (removed) vkr_log(VKR_LOG_INFO, "removed %u temporaries a killed earlier write of %s left", removed, target);
    return s;
}
