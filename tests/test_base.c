/* The runtime base toolkit: the RNG (determinism, distributions, unbiased bounded integers, shuffle),
 * the atomic file writer (commit, abort, failures), several files as one unit, stale temporaries, advisory
 * locks, the 64-bit checksum, the clock, and buffer ranges (checks, the
 * whole-buffer sentinel, overlap, alignment). Ranges use buffers only as plain values, so no device. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vkr_clock.h"
#include "vkr_file.h"
#include "vkr_range.h"
#include "vkr_rng.h"
#include "vkr_test.h"

#define N 200000

static void test_rng_determinism(void** state) {
    (void)state;
    /* A pure function of (seed, stream, index): a cursor replays the counter-based values. */
    vkr_rng a = vkr_rng_make(42, 3);
    for (uint64_t i = 0; i < 100; i++) assert_true(vkr_rng_next_u64(&a) == vkr_rng_u64(42, 3, i));
    assert_true(vkr_rng_u64(42, 3, 0) != vkr_rng_u64(43, 3, 0));
    assert_true(vkr_rng_u64(42, 3, 0) != vkr_rng_u64(42, 4, 0));
    assert_true(vkr_rng_u64(42, 3, 0) != vkr_rng_u64(42, 3, 1));
    vkr_rng b = vkr_rng_make(7, 0), c = vkr_rng_make(7, 0);
    for (int i = 0; i < 100; i++) assert_true(vkr_rng_next_normal(&b) == vkr_rng_next_normal(&c));
    /* The normal rule is the counter-based one: a cursor and the pure function agree draw for draw. */
    uint64_t index = 0;
    vkr_rng d = vkr_rng_make(7, 0);
    for (int i = 0; i < 100; i++) assert_true(vkr_rng_normal(7, 0, &index) == vkr_rng_next_normal(&d));
    assert_true(index == d.index);
}

static void test_rng_distributions(void** state) {
    (void)state;
    vkr_rng r = vkr_rng_make(1, 0);
    double sum = 0, sq = 0, umin = 1, umax = 0;
    for (int i = 0; i < N; i++) {
        double u = vkr_rng_next_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        sq += u * u;
        umin = fmin(umin, u);
        umax = fmax(umax, u);
    }
    double mean = sum / N, var = sq / N - mean * mean;
    if (fabs(mean - 0.5) > 5 * sqrt(1.0 / 12 / N)) fail_msg("uniform mean %g", mean);
    if (fabs(var - 1.0 / 12) > 0.03 / 12) fail_msg("uniform variance %g", var);
    assert_true(umin < 1e-3 && umax > 1 - 1e-3);

    sum = sq = 0;
    double m4 = 0;
    for (int i = 0; i < N; i++) {
        double z = vkr_rng_next_normal(&r);
        sum += z;
        sq += z * z;
        m4 += z * z * z * z;
    }
    mean = sum / N;
    var = sq / N - mean * mean;
    if (fabs(mean) > 5 / sqrt(N)) fail_msg("normal mean %g", mean);
    if (fabs(var - 1) > 0.03) fail_msg("normal variance %g", var);
    if (fabs(m4 / N - 3) > 0.15) fail_msg("normal fourth moment %g (3 expected)", m4 / N);
}

static void test_rng_bounded(void** state) {
    (void)state;
    vkr_rng r = vkr_rng_make(5, 1);
    assert_true(vkr_rng_next_below(&r, 0) == 0);
    assert_true(vkr_rng_next_below(&r, 1) == 0);
    /* Every value of a small bound appears about equally often. */
    enum { BOUND = 7 };
    uint32_t hits[BOUND] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = vkr_rng_next_below(&r, BOUND);
        assert_true(v < BOUND);
        hits[v]++;
    }
    for (int v = 0; v < BOUND; v++)
        if (abs((int)hits[v] - 10000) > 500) fail_msg("value %d drawn %u times of 70000", v, hits[v]);
    /* For a bound of 2/3 of 2^64, `x % n` would put two thirds of the draws in the lower half of
     * [0, n); unbiased draws land in the upper half about half of the time. */
    uint64_t big = 0xAAAAAAAAAAAAAAABull, upper = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t v = vkr_rng_next_below(&r, big);
        assert_true(v < big);
        upper += v >= big / 2;
    }
    if (upper < 4700 || upper > 5300) fail_msg("%llu of 10000 draws in the upper half", (unsigned long long)upper);
}

static void test_rng_shuffle(void** state) {
    (void)state;
    enum { LEN = 50 };
    uint32_t v[LEN], w[LEN];
    for (uint32_t i = 0; i < LEN; i++) v[i] = w[i] = i;
    vkr_rng a = vkr_rng_make(9, 0), b = vkr_rng_make(9, 0);
    vkr_rng_shuffle_u32(&a, v, LEN);
    vkr_rng_shuffle_u32(&b, w, LEN);
    assert_memory_equal(v, w, sizeof v); /* same stream, same order */
    uint32_t seen[LEN] = {0}, moved = 0;
    for (uint32_t i = 0; i < LEN; i++) {
        assert_true(v[i] < LEN);
        seen[v[i]]++;
        moved += v[i] != i;
    }
    for (uint32_t i = 0; i < LEN; i++) assert_int_equal(seen[i], 1); /* a permutation */
    assert_true(moved > LEN / 2);
    /* Every position receives every value: the first slot over many shuffles is close to uniform. */
    uint32_t first[4] = {0};
    vkr_rng r = vkr_rng_make(10, 0);
    for (int t = 0; t < 8000; t++) {
        uint32_t u[4] = {0, 1, 2, 3};
        vkr_rng_shuffle_u32(&r, u, 4);
        first[u[0]]++;
    }
    for (int i = 0; i < 4; i++)
        if (abs((int)first[i] - 2000) > 200) fail_msg("value %d first %u times of 8000", i, first[i]);
}

/* Reads a whole small file into buf (NUL-terminated); returns its length or -1. */
static long slurp(const char* path, char* buf, size_t size) {
    FILE* f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    return (long)n;
}

/* Entries of the test directory besides . and .. (a leftover temporary file shows up here). */
static int dir_entries(const char* dir) {
    DIR* d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent* e; (e = readdir(d)) != NULL;) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_atomic_commit_abort(void** state) {
    (void)state;
    char path[512], buf[256];
    vkr_test_tmpdir_path(path, sizeof path, "a.txt");
    int before = dir_entries(vkr_test_tmpdir());
    VKR_ASSERT_OK(vkr_write_file_atomic(path, "first", 5));
    assert_int_equal(slurp(path, buf, sizeof buf), 5);
    assert_string_equal(buf, "first");

    /* Streaming form: the target keeps its old content until the commit. */
    vkr_atomic_file w;
    VKR_ASSERT_OK(vkr_atomic_open(path, &w));
    assert_non_null(w.file);
    fprintf(w.file, "second %d", 2);
    assert_int_equal(slurp(path, buf, sizeof buf), 5);
    VKR_ASSERT_OK(vkr_atomic_commit(&w));
    assert_null(w.file);
    assert_int_equal(slurp(path, buf, sizeof buf), 8);
    assert_string_equal(buf, "second 2");

    /* Abort leaves the old file intact and removes the temporary file. */
    VKR_ASSERT_OK(vkr_atomic_open(path, &w));
    fputs("never seen", w.file);
    vkr_atomic_abort(&w);
    assert_null(w.file);
    vkr_atomic_abort(&w); /* harmless on a closed writer */
    assert_int_equal(slurp(path, buf, sizeof buf), 8);
    assert_string_equal(buf, "second 2");
    assert_int_equal(dir_entries(vkr_test_tmpdir()), before + 1);

    /* An empty file is a valid result. */
    VKR_ASSERT_OK(vkr_write_file_atomic(path, NULL, 0));
    assert_int_equal(slurp(path, buf, sizeof buf), 0);
    unlink(path);

    assert_int_equal(vkr_atomic_commit(&w), VKR_ERR_STATE);
    assert_int_equal(vkr_atomic_open("", &w), VKR_ERR_INVALID_ARGUMENT);
}

static void test_atomic_failures(void** state) {
    (void)state;
    char dir[512], path[600];
    vkr_test_tmpdir_path(dir, sizeof dir, "locked");
    assert_int_equal(mkdir(dir, 0555), 0);
    snprintf(path, sizeof path, "%s/out.bin", dir);
    vkr_atomic_file w;
    if (access(dir, W_OK) != 0) { /* root can write anywhere: the permission case is then moot */
        assert_int_equal(vkr_write_file_atomic(path, "x", 1), VKR_ERR_IO);
        assert_non_null(strstr(vkr_last_error(), path));
        assert_non_null(strstr(vkr_last_error(), strerror(EACCES)));
        assert_int_equal(vkr_atomic_open(path, &w), VKR_ERR_IO);
        assert_null(w.file);
    }
    assert_int_equal(dir_entries(dir), 0);
    rmdir(dir);

    /* A missing directory fails the same way, naming the path. */
    vkr_test_tmpdir_path(path, sizeof path, "missing/out.bin");
    assert_int_equal(vkr_write_file_atomic(path, "x", 1), VKR_ERR_IO);
    assert_non_null(strstr(vkr_last_error(), path));

    /* A rename onto a directory fails at commit; the temporary file is removed and the target stays. */
    vkr_test_tmpdir_path(dir, sizeof dir, "target_dir");
    assert_int_equal(mkdir(dir, 0755), 0);
    int before = dir_entries(vkr_test_tmpdir());
    VKR_ASSERT_OK(vkr_atomic_open(dir, &w));
    fputs("data", w.file);
    assert_int_equal(vkr_atomic_commit(&w), VKR_ERR_IO);
    assert_non_null(strstr(vkr_last_error(), dir));
    assert_int_equal(dir_entries(vkr_test_tmpdir()), before);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    rmdir(dir);
}

/* Several files as one unit: nothing replaced until every file was written; a directory target
 * fails the commit before any rename. */
static void test_stage(void** state) {
    (void)state;
    char a[512], b[512], buf[64];
    vkr_test_tmpdir_path(a, sizeof a, "stage_a.txt");
    vkr_test_tmpdir_path(b, sizeof b, "stage_b.txt");
    VKR_ASSERT_OK(vkr_write_file_atomic(a, "old a", 5));
    VKR_ASSERT_OK(vkr_write_file_atomic(b, "old b", 5));
    int before = dir_entries(vkr_test_tmpdir());
    vkr_stage st;
    vkr_stage_init(&st);
    const char *ta, *tb;
    VKR_ASSERT_OK(vkr_stage_add(&st, a, &ta));
    VKR_ASSERT_OK(vkr_stage_add(&st, b, &tb));
    VKR_ASSERT_OK(vkr_write_file_atomic(ta, "new a", 5));
    /* b's writer failed: the commit refuses, both targets keep their content */
    assert_int_equal(vkr_stage_commit(&st), VKR_ERR_STATE);
    assert_non_null(strstr(vkr_last_error(), b));
    slurp(a, buf, sizeof buf);
    assert_string_equal(buf, "old a");
    assert_int_equal(dir_entries(vkr_test_tmpdir()), before);
    /* both written: both replaced */
    vkr_stage_init(&st);
    VKR_ASSERT_OK(vkr_stage_add(&st, a, &ta));
    VKR_ASSERT_OK(vkr_stage_add(&st, b, &tb));
    VKR_ASSERT_OK(vkr_write_file_atomic(ta, "new a", 5));
    VKR_ASSERT_OK(vkr_write_file_atomic(tb, "new b", 5));
    VKR_ASSERT_OK(vkr_stage_commit(&st));
    slurp(b, buf, sizeof buf);
    assert_string_equal(buf, "new b");
    /* a directory as the second target: refused before the first is renamed */
    unlink(b);
    assert_int_equal(mkdir(b, 0755), 0);
    vkr_stage_init(&st);
    VKR_ASSERT_OK(vkr_stage_add(&st, a, &ta));
    VKR_ASSERT_OK(vkr_stage_add(&st, b, &tb));
    VKR_ASSERT_OK(vkr_write_file_atomic(ta, "third", 5));
    VKR_ASSERT_OK(vkr_write_file_atomic(tb, "third", 5));
    assert_int_equal(vkr_stage_commit(&st), VKR_ERR_IO);
    slurp(a, buf, sizeof buf);
    assert_string_equal(buf, "new a");
    assert_int_equal(dir_entries(vkr_test_tmpdir()), before);
    rmdir(b);
    unlink(a);
}

/* Temporaries of dead writers go; a live writer's (this process) and other names stay. */
/* Writes a one-byte file DIR/NAME. */
static void put_file(const char* dir, const char* name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    VKR_ASSERT_OK(vkr_write_file_atomic(p, "x", 1));
}

/* Creates the directory PARENT/NAME and returns its path in out. */
static void sub_dir(char* out, size_t size, const char* parent, const char* name) {
    snprintf(out, size, "%s/%s", parent, name);
    assert_int_equal(mkdir(out, 0755), 0);
}

static void test_temps_clean(void** state) {
    (void)state;
    char dir[512], mine[64];
    vkr_test_tmpdir_path(dir, sizeof dir, "temps");
    assert_int_equal(mkdir(dir, 0755), 0);
    const char* names[] = {"x.npy.tmp-99999999-0", "keep.txt", "y.tmp-1x", "z.json.tmp-99999999-7.tmp-99999999-8"};
    for (int k = 0; k < 4; k++) put_file(dir, names[k]);
    snprintf(mine, sizeof mine, "mine.tmp-%ld-3", (long)getpid());
    put_file(dir, mine);
    uint32_t removed = 0;
    VKR_ASSERT_OK(vkr_temps_clean(dir, &removed));
    assert_int_equal(removed, 2);
    assert_int_equal(dir_entries(dir), 3);
    /* beside a target: any TARGET.tmp-* or TARGET.old-* (flat directories too) */
    char target[600], sub[700];
    snprintf(target, sizeof target, "%s/data", dir);
    sub_dir(sub, sizeof sub, dir, "data.tmp-abc123");
    put_file(sub, "data.bin");
    put_file(dir, "data.old-zz");
    VKR_ASSERT_OK(vkr_temps_clean_beside(target, &removed));
    assert_int_equal(removed, 2);
    assert_int_equal(dir_entries(dir), 3);
    assert_int_equal(vkr_temps_clean("/no/such/dir", NULL), VKR_ERR_IO);
    /* under the directory's lock: every other writer's temporary goes, in subdirectories too, even one
     * whose pid now belongs to a live process (pid 1: pids are reused); this process's stays */
    char ckpt[700], deep[800];
    sub_dir(ckpt, sizeof ckpt, dir, "checkpoints");
    sub_dir(deep, sizeof deep, ckpt, "gencdr");
    put_file(deep, "last.safetensors.tmp-1-4");
    put_file(dir, "report.md.tmp-1-5");
    VKR_ASSERT_OK(vkr_temps_clean(dir, &removed));
    assert_int_equal(removed, 0);
    VKR_ASSERT_OK(vkr_temps_clean_locked(dir, &removed));
    assert_int_equal(removed, 2);
    assert_int_equal(dir_entries(dir), 4); /* keep.txt, y.tmp-1x, mine, checkpoints */
    assert_int_equal(dir_entries(deep), 0);
}

/* A second taker of a lock fails naming the holder's pid; release removes the lock file. */
static void test_lock(void** state) {
    (void)state;
    char path[512];
    vkr_test_tmpdir_path(path, sizeof path, "target.lock");
    vkr_lock a, b;
    VKR_ASSERT_OK(vkr_lock_take(path, "target", &a));
    assert_int_equal(vkr_lock_take(path, "target", &b), VKR_ERR_STATE);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(vkr_last_error(), "target is in use by another vkrec"));
    assert_non_null(strstr(vkr_last_error(), pid));
    assert_int_equal(b.fd, -1);
    vkr_lock_release(&a);
    assert_int_not_equal(access(path, F_OK), 0);
    VKR_ASSERT_OK(vkr_lock_take(path, "target", &b));
    vkr_lock_release(&b);
    vkr_lock_release(&b); /* harmless when not held */
}

/* FNV-1a 64 known values, continuation, and the file form. */
static void test_hash64(void** state) {
    (void)state;
    assert_true(vkr_hash64(VKR_HASH64_INIT, "", 0) == 0xcbf29ce484222325ull);
    assert_true(vkr_hash64(VKR_HASH64_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(vkr_hash64(vkr_hash64(VKR_HASH64_INIT, "foo", 3), "bar", 3) ==
                vkr_hash64(VKR_HASH64_INIT, "foobar", 6));
    char path[512];
    vkr_test_tmpdir_path(path, sizeof path, "hash.txt");
    VKR_ASSERT_OK(vkr_write_file_atomic(path, "foobar", 6));
    uint64_t h = 0;
    VKR_ASSERT_OK(vkr_hash64_file(path, &h));
    assert_true(h == vkr_hash64(VKR_HASH64_INIT, "foobar", 6));
    assert_true(vkr_same_file(path, path));
    unlink(path);
    assert_int_equal(vkr_hash64_file(path, &h), VKR_ERR_IO);
    assert_true(h == 0);
}

static void test_clock(void** state) {
    (void)state;
    double t0 = vkr_now_s();
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    double dt = vkr_now_s() - t0;
    assert_true(dt >= 0.019 && dt < 5.0);
}

static void test_ranges(void** state) {
    (void)state;
    /* Checks only read buffer fields, so a plain value with a non-null handle stands in for one. */
    vkr_buffer b = {.vk = (VkBuffer)(uintptr_t)0x1000, .offset = 512, .size = 1024};
    vkr_range whole = vkr_range_whole(&b);
    assert_true(whole.size == VKR_WHOLE_SIZE && whole.offset == 0);
    assert_int_equal(vkr_range_bytes(whole), 1024);
    assert_int_equal(vkr_range_bytes((vkr_range){&b, 1000, VKR_WHOLE_SIZE}), 24);
    assert_int_equal(vkr_range_bytes((vkr_range){&b, 2000, VKR_WHOLE_SIZE}), 0);
    assert_int_equal(vkr_range_bytes((vkr_range){&b, 0, 0}), 0); /* size 0 is empty, not "whole" */
    assert_int_equal(vkr_range_bytes((vkr_range){0}), 0);

    VKR_ASSERT_OK(vkr_range_check(whole, 1024, "k", "x"));
    VKR_ASSERT_OK(vkr_range_check((vkr_range){&b, 1000, 24}, 24, "k", "x"));
    assert_int_equal(vkr_range_check(whole, 1025, "kern", "bind"), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "kern: range bind"));
    assert_int_equal(vkr_range_check((vkr_range){&b, 0, 0}, 4, "kern", "bind"), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_range_check((vkr_range){&b, 1000, 25}, 0, "kern", "bind"), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "overruns"));
    assert_int_equal(vkr_range_check((vkr_range){&b, 1025, VKR_WHOLE_SIZE}, 0, "kern", "bind"),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_range_check((vkr_range){&b, 8, UINT64_MAX - 4}, 0, "kern", "bind"), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_range_check((vkr_range){0}, 0, "kern", "bind"), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "kern: range bind has no buffer"));

    vkr_range t;
    VKR_ASSERT_OK(vkr_range_take_words((vkr_range){&b, 256, VKR_WHOLE_SIZE}, 10, "k", "x", &t));
    assert_true(t.buffer == &b && t.offset == 256 && t.size == 40);
    assert_int_equal(vkr_range_take_words(whole, 257, "k", "x", &t), VKR_ERR_INVALID_ARGUMENT);
    assert_null(t.buffer);
    vkr_range sub = vkr_range_words(whole, 64, 8);
    assert_true(sub.offset == 256 && sub.size == 32);

    /* Overlap compares bytes of the underlying VkBuffer, across sub-allocations of one block. */
    vkr_buffer c = {.vk = b.vk, .offset = 1536, .size = 256}, other = {.vk = (VkBuffer)(uintptr_t)0x2000, .size = 4096};
    vkr_range x = {&b, 0, 64}, y = {&b, 64, 64}, z = {&b, 32, 64};
    assert_false(vkr_ranges_overlap(&x, &y));
    assert_true(vkr_ranges_overlap(&x, &z) && vkr_ranges_overlap(&z, &y));
    vkr_range tail = {&b, 1000, VKR_WHOLE_SIZE}, next = vkr_range_whole(&c), far = vkr_range_whole(&other);
    assert_false(vkr_ranges_overlap(&tail, &next)); /* b ends at 1536 where c begins */
    assert_false(vkr_ranges_overlap(&whole, &far));
    vkr_range into = {&c, 0, 1};
    vkr_range wide = {&b, 1023, 1};
    assert_false(vkr_ranges_overlap(&into, &wide));

    assert_int_equal(vkr_align_up(0, 256), 0);
    assert_int_equal(vkr_align_up(1, 256), 256);
    assert_int_equal(vkr_align_up(256, 256), 256);
    assert_int_equal(vkr_align_up(257, 4), 260);
    assert_int_equal(VKR_STORAGE_ALIGN, 256);
    assert_int_equal(VKR_STORAGE_ALIGN_WORDS * 4, VKR_STORAGE_ALIGN);
    assert_int_equal(vkr_storage_align_words(1), 64);
    assert_int_equal(vkr_storage_align_words(64), 64);
    assert_int_equal(vkr_storage_align_words(65), 128);
}

static int group_open(void** state) {
    (void)state;
    return vkr_test_tmpdir_open("vkr_base");
}

static int group_close(void** state) {
    (void)state;
    return vkr_test_tmpdir_close();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_determinism), cmocka_unit_test(test_rng_distributions),
        cmocka_unit_test(test_rng_bounded),     cmocka_unit_test(test_rng_shuffle),
        cmocka_unit_test(test_atomic_commit_abort), cmocka_unit_test(test_atomic_failures),
        cmocka_unit_test(test_clock),           cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_stage),           cmocka_unit_test(test_temps_clean),
        cmocka_unit_test(test_lock),            cmocka_unit_test(test_hash64),
    };
    return cmocka_run_group_tests(tests, group_open, group_close);
}
