/* Helpers shared by the data tests: scratch directories and small files. */
#ifndef TEST_DATA_UTIL_H
#define TEST_DATA_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Creates a fresh scratch directory under $TMPDIR (or /tmp) into out (capacity 512). */
static inline void td_mkdtemp(char* out) {
    const char* base = getenv("TMPDIR");
    snprintf(out, 512, "%s/vkr_data_test_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(out)) fail_msg("mkdtemp failed for %s", out);
}

/* Writes text to dir/name (creating one level of subdirectory when name has a '/'); gz compresses. */
static inline void td_put(const char* dir, const char* name, const char* text, int gz) {
    char path[1024];
    const char* slash = strchr(name, '/');
    if (slash) {
        snprintf(path, sizeof path, "%s/%.*s", dir, (int)(slash - name), name);
        mkdir(path, 0755);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || gzwrite(g, text, (unsigned)strlen(text)) != (int)strlen(text)) fail_msg("cannot write %s", path);
        gzclose(g);
        return;
    }
    FILE* f = fopen(path, "wb");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Removes a scratch directory tree (two levels are enough for these tests). */
static inline void td_rmtree(const char* dir) {
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#endif
