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

/* A cmocka fixture: one scratch directory per test. */
typedef struct td_fixture {
    char dir[512]; /* the scratch directory */
} td_fixture;

/* cmocka setup: creates the scratch directory. */
static inline int td_setup(void** state) {
    td_fixture* f = calloc(1, sizeof *f);
    td_mkdtemp(f->dir);
    *state = f;
    return 0;
}

/* cmocka teardown: removes it. */
static inline int td_teardown(void** state) {
    td_fixture* f = *state;
    td_rmtree(f->dir);
    free(f);
    return 0;
}

/* Writes a tiny LLMCDSR release (3 + 4 items, every id used, titles for some) into dir. */
static inline void write_llmcdsr(const char* dir) {
    td_put(dir, "num.txt", "3\n4\n", 0);
    td_put(dir, "derived/items_A.tsv", "seq_id\tlocal_id\tasin\ttitle\n0\t0\tA0\tGreen tea\n1\t1\tA1\tBlack tea\n", 0);
    td_put(dir, "derived/items_B.tsv", "seq_id\tlocal_id\tasin\ttitle\n3\t0\tB0\tTea kettle\n6\t3\tB3\tMug\n", 0);
    td_put(dir, "train_A.txt", "1\t0,1,2\n", 0);
    td_put(dir, "train_B.txt", "1\t3,4,5\n2\t4,5\n", 0);
    td_put(dir, "train_overlap.txt", "1\t0,3,1,4\n", 0);
    td_put(dir, "valid.txt", "1\t2,5,0,6\n", 0);
    td_put(dir, "test.txt", "1\t1,6,2\n", 0);
}

/* Asserts that expr fails and the message contains `needle`. */
#define ASSERT_FAILS_WITH(expr, needle)                                                         \
    do {                                                                                        \
        vkr_status st_ = (expr);                                                                \
        assert_int_not_equal(st_, VKR_OK);                                                      \
        if (!strstr(vkr_last_error(), needle)) fail_msg("'%s' lacks '%s'", vkr_last_error(), needle); \
    } while (0)

#endif
