/* Runtime: devices, memory round trips, kernels, sequences, barriers, pipeline cache, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vkr_test.h"

static vkr_kernel* get_saxpy(vkr_device* dev) {
    vkr_kernel_desc d = {.shader = "saxpy", .binding_count = 2, .access = {VKR_READ, VKR_READ_WRITE},
                         .push_bytes = 8, .spec_count = 1, .spec = {64}};
    vkr_kernel* k = NULL;
    VKR_ASSERT_OK(vkr_kernel_get(dev, &d, &k));
    return k;
}

typedef struct saxpy_push {
    uint32_t n;
    float a;
} saxpy_push;

static void test_enumeration_finds_lavapipe(void** state) {
    (void)state;
    vkr_instance* inst = NULL;
    vkr_instance_options o = {.validation = VKR_VALIDATION_ON};
    VKR_ASSERT_OK(vkr_instance_create(&o, &inst));
    assert_true(vkr_instance_validation_enabled(inst));
    uint32_t n = vkr_instance_device_count(inst);
    assert_true(n >= 1);
    bool lavapipe = false;
    for (uint32_t i = 0; i < n; i++) {
        const vkr_device_info* d = vkr_instance_device_info(inst, i);
        assert_non_null(d);
        assert_int_equal(d->index, i);
        assert_true(d->heap_count >= 1);
        if (strstr(d->name, "llvmpipe") || strcmp(d->driver_name, "llvmpipe") == 0) {
            lavapipe = true;
            assert_int_equal(d->type, VKR_DEVICE_CPU);
            assert_true(d->subgroup_size >= 1);
            assert_true(d->timestamps);
        }
    }
    assert_true(lavapipe);
    uint32_t idx = 99;
    VKR_ASSERT_OK(vkr_instance_pick_device(inst, "llvmpipe", &idx));
    assert_true(idx < n);
    assert_int_equal(vkr_instance_pick_device(inst, "no-such-device-xyz", &idx), VKR_ERR_NO_DEVICE);
    assert_non_null(strstr(vkr_last_error(), "no-such-device-xyz"));
    assert_int_equal(vkr_instance_pick_device(inst, "57", &idx), VKR_ERR_NO_DEVICE);
    assert_null(vkr_instance_device_info(inst, n));
    vkr_instance_destroy(inst);
}

static void round_trips(vkr_device* dev) {
    static const size_t sizes[] = {1, 3, 4, 17, 255, 4096, 65537, (1u << 20) + 5, 64u << 20};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t size = sizes[si];
        size_t offset = size > 8 ? 7 : 0; /* odd offsets too */
        vkr_buffer buf;
        VKR_ASSERT_OK(vkr_buffer_create(dev, size + offset, VKR_MEMORY_DEVICE, &buf));
        unsigned char* src = malloc(size);
        unsigned char* dst = malloc(size);
        assert_non_null(src);
        assert_non_null(dst);
        for (size_t i = 0; i < size; i++) src[i] = (unsigned char)(i * 131u + si);
        memset(dst, 0xAB, size);
        VKR_ASSERT_OK(vkr_buffer_upload(dev, &buf, offset, src, size));
        VKR_ASSERT_OK(vkr_buffer_download(dev, &buf, offset, dst, size));
        assert_memory_equal(src, dst, size);
        free(src);
        free(dst);
        vkr_buffer_destroy(dev, &buf);
        assert_null(buf.vk);
    }
}

static void test_round_trips_mapped(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    round_trips(env.device);
    vkr_test_close(&env);
}

static void test_round_trips_staged(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_device_options o = {.no_direct_map = true};
    vkr_test_open(&env, &o);
    vkr_buffer b;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 64, VKR_MEMORY_DEVICE, &b));
    assert_null(b.host); /* forced through staging, the discrete-GPU path */
    vkr_buffer_destroy(env.device, &b);
    round_trips(env.device);
    /* A batch of many small transfers goes out in one submission round. */
    enum { N = 300 };
    vkr_buffer bufs[N];
    float in[N], out[N];
    vkr_transfer* t = NULL;
    VKR_ASSERT_OK(vkr_transfer_begin(env.device, &t));
    for (int i = 0; i < N; i++) {
        in[i] = (float)i * 0.5f;
        VKR_ASSERT_OK(vkr_buffer_create(env.device, 4 + (size_t)i, VKR_MEMORY_DEVICE, &bufs[i]));
        VKR_ASSERT_OK(vkr_transfer_upload(t, &bufs[i], 0, &in[i], 4));
        VKR_ASSERT_OK(vkr_transfer_download(t, &bufs[i], 0, &out[i], 4));
    }
    VKR_ASSERT_OK(vkr_transfer_submit(t));
    assert_memory_equal(in, out, sizeof in);
    for (int i = 0; i < N; i++) vkr_buffer_destroy(env.device, &bufs[i]);
    vkr_test_close(&env);
}

static void test_transfer_bounds(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_buffer b;
    char data[32] = {0};
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 16, VKR_MEMORY_DEVICE, &b));
    assert_int_equal(vkr_buffer_upload(env.device, &b, 8, data, 16), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "outside"));
    assert_int_equal(vkr_buffer_create(env.device, 0, VKR_MEMORY_DEVICE, &b), VKR_ERR_INVALID_ARGUMENT);
    vkr_test_close(&env);
}

static void test_saxpy_matches_cpu(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_kernel* k = get_saxpy(env.device);
    static const uint32_t ns[] = {1, 7, 63, 64, 65, 1000, 4099};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        uint32_t n = ns[t];
        float* x = malloc(n * sizeof *x);
        float* y = malloc((n + 1) * sizeof *y);
        float* got = malloc((n + 1) * sizeof *got);
        vkr_test_fill_random(x, n, 1 + n);
        vkr_test_fill_random(y, n + 1, 2 + n);
        vkr_buffer bx, by;
        VKR_ASSERT_OK(vkr_buffer_create(env.device, n * 4, VKR_MEMORY_DEVICE, &bx));
        VKR_ASSERT_OK(vkr_buffer_create(env.device, (n + 1) * 4, VKR_MEMORY_DEVICE, &by));
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, &bx, 0, x, n * 4));
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, &by, 0, y, (n + 1) * 4));
        vkr_sequence* seq = NULL;
        VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
        saxpy_push p = {n, 2.5f};
        vkr_range r[2] = {vkr_range_whole(&bx), vkr_range_whole(&by)};
        VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, r, 2, &p, sizeof p, (n + 63) / 64, 1, 1));
        VKR_ASSERT_OK(vkr_sequence_submit(seq));
        VKR_ASSERT_OK(vkr_buffer_download(env.device, &by, 0, got, (n + 1) * 4));
        for (uint32_t i = 0; i < n; i++) assert_float_equal(got[i], 2.5f * x[i] + y[i], 1e-6);
        assert_true(got[n] == y[n]); /* the element past n is untouched */
        vkr_sequence_destroy(seq);
        vkr_buffer_destroy(env.device, &bx);
        vkr_buffer_destroy(env.device, &by);
        free(x);
        free(y);
        free(got);
    }
    vkr_test_close(&env);
}

/* y += x, 10,000 times in one recorded sequence; each dispatch depends on the previous one. */
static void test_ten_thousand_dispatches(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_kernel* k = get_saxpy(env.device);
    enum { N = 100, D = 10000 };
    float ones[N], zeros[N] = {0}, got[N];
    for (int i = 0; i < N; i++) ones[i] = 1.0f;
    vkr_buffer bx, by;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof ones, VKR_MEMORY_DEVICE, &bx));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof zeros, VKR_MEMORY_DEVICE, &by));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &bx, 0, ones, sizeof ones));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &by, 0, zeros, sizeof zeros));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    saxpy_push p = {N, 1.0f};
    vkr_range r[2] = {vkr_range_whole(&bx), vkr_range_whole(&by)};
    for (int i = 0; i < D; i++) VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, r, 2, &p, sizeof p, 2, 1, 1));
    assert_int_equal(vkr_sequence_dispatch_count(seq), D);
    assert_int_equal(vkr_sequence_barrier_count(seq), D - 1);
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    /* bounded submissions: no command buffer holds more than the default 256 dispatches */
    assert_int_equal(vkr_sequence_submission_count(seq), (D + 255) / 256);
    VKR_ASSERT_OK(vkr_buffer_download(env.device, &by, 0, got, sizeof got));
    for (int i = 0; i < N; i++) assert_true(got[i] == (float)D);
    vkr_sequence_destroy(seq);
    vkr_test_close(&env);
}

static void test_replay_with_new_input(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_kernel* k = get_saxpy(env.device);
    enum { N = 37 };
    float x[N], y0[N], got[N];
    vkr_buffer bx, by;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof x, VKR_MEMORY_DEVICE, &bx));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, sizeof y0, VKR_MEMORY_DEVICE, &by));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    saxpy_push p = {N, -1.5f};
    vkr_range r[2] = {vkr_range_whole(&bx), vkr_range_whole(&by)};
    VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, r, 2, &p, sizeof p, 1, 1, 1));
    for (uint32_t step = 0; step < 5; step++) {
        vkr_test_fill_random(x, N, 100 + step);
        vkr_test_fill_random(y0, N, 200 + step);
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, &bx, 0, x, sizeof x));
        VKR_ASSERT_OK(vkr_buffer_upload(env.device, &by, 0, y0, sizeof y0));
        VKR_ASSERT_OK(vkr_sequence_submit(seq)); /* replay: no re-recording */
        VKR_ASSERT_OK(vkr_buffer_download(env.device, &by, 0, got, sizeof got));
        for (int i = 0; i < N; i++) assert_float_equal(got[i], -1.5f * x[i] + y0[i], 1e-6);
    }
    /* recording after the first submit is refused until reset */
    assert_int_equal(vkr_sequence_dispatch(seq, k, r, 2, &p, sizeof p, 1, 1, 1), VKR_ERR_STATE);
    VKR_ASSERT_OK(vkr_sequence_reset(seq));
    VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, r, 2, &p, sizeof p, 1, 1, 1));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    vkr_sequence_destroy(seq);
    vkr_test_close(&env);
}

/* Barriers appear exactly where a later command reads or overwrites a range an earlier one touched. */
static void test_barrier_tracking(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_kernel* k = get_saxpy(env.device);
    vkr_buffer x, y;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 4096, VKR_MEMORY_DEVICE, &x));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 4096, VKR_MEMORY_DEVICE, &y));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &x, 0, (float[1024]){0}, 4096));
    VKR_ASSERT_OK(vkr_buffer_upload(env.device, &y, 0, (float[1024]){0}, 4096));
    saxpy_push p = {16, 1.0f};
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    /* disjoint ranges of y, same source x: independent, no barrier */
    for (int i = 0; i < 8; i++) {
        vkr_range r[2] = {{&x, 0, 64}, {&y, (VkDeviceSize)i * 256, 64}};
        VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, r, 2, &p, sizeof p, 1, 1, 1));
    }
    assert_int_equal(vkr_sequence_barrier_count(seq), 0);
    /* read-after-write: reading y[0..64) as input */
    vkr_range raw[2] = {{&y, 0, 64}, {&x, 256, 64}};
    VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, raw, 2, &p, sizeof p, 1, 1, 1));
    assert_int_equal(vkr_sequence_barrier_count(seq), 1);
    /* write-after-read: overwriting y[0..64), just read */
    vkr_range war[2] = {{&x, 512, 64}, {&y, 0, 64}};
    VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, war, 2, &p, sizeof p, 1, 1, 1));
    assert_int_equal(vkr_sequence_barrier_count(seq), 2);
    /* copy into a fresh range: no hazard; copying out of what was just written: hazard */
    VKR_ASSERT_OK(vkr_sequence_copy(seq, &x, 1024, &x, 2048, 64));
    assert_int_equal(vkr_sequence_barrier_count(seq), 2);
    VKR_ASSERT_OK(vkr_sequence_copy(seq, &x, 2048, &y, 3072, 64));
    assert_int_equal(vkr_sequence_barrier_count(seq), 3);
    VKR_ASSERT_OK(vkr_sequence_fill(seq, &y, 3072, 64, 0));
    assert_int_equal(vkr_sequence_barrier_count(seq), 4);
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    vkr_sequence_destroy(seq);
    vkr_test_close(&env);
}

static void test_dispatch_errors(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    vkr_kernel* k = get_saxpy(env.device);
    vkr_buffer x;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 256, VKR_MEMORY_DEVICE, &x));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    saxpy_push p = {1, 1.0f};
    vkr_range one[1] = {vkr_range_whole(&x)};
    assert_int_equal(vkr_sequence_dispatch(seq, k, one, 1, &p, sizeof p, 1, 1, 1), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "bindings"));
    vkr_range misaligned[2] = {{&x, 4, 16}, {&x, 128, 16}};
    assert_int_equal(vkr_sequence_dispatch(seq, k, misaligned, 2, &p, sizeof p, 1, 1, 1), VKR_ERR_INVALID_ARGUMENT);
    vkr_range outside[2] = {{&x, 0, 512}, {&x, 128, 16}};
    assert_int_equal(vkr_sequence_dispatch(seq, k, outside, 2, &p, sizeof p, 1, 1, 1), VKR_ERR_INVALID_ARGUMENT);
    vkr_range ok[2] = {{&x, 0, 64}, {&x, 128, 64}};
    assert_int_equal(vkr_sequence_dispatch(seq, k, ok, 2, &p, 4, 1, 1, 1), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_sequence_dispatch(seq, k, ok, 2, &p, sizeof p, UINT32_MAX, 1, 1), VKR_ERR_INVALID_ARGUMENT);
    vkr_kernel_desc missing = {.shader = "no_such_shader"};
    vkr_kernel* nk = NULL;
    assert_int_equal(vkr_kernel_get(env.device, &missing, &nk), VKR_ERR_NOT_FOUND);
    assert_null(nk);
    vkr_sequence_destroy(seq);
    vkr_test_close(&env);
}

static void test_out_of_memory_is_an_error(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    const vkr_device_info* info = vkr_device_get_info(env.device);
    uint64_t biggest = 0;
    for (uint32_t h = 0; h < info->heap_count; h++)
        if (info->heap_size[h] > biggest) biggest = info->heap_size[h];
    vkr_buffer b;
    assert_int_equal(vkr_buffer_create(env.device, biggest * 2, VKR_MEMORY_DEVICE, &b), VKR_ERR_OUT_OF_DEVICE_MEMORY);
    assert_non_null(strstr(vkr_last_error(), "MiB"));
    assert_null(b.vk);
    /* the device still works afterwards */
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 1024, VKR_MEMORY_DEVICE, &b));
    vkr_buffer_destroy(env.device, &b);
    vkr_test_close(&env);
}

static void test_suballocation(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_test_open(&env, NULL);
    enum { N = 5000 };
    vkr_buffer* bufs = calloc(N, sizeof *bufs);
    const vkr_device_info* info = vkr_device_get_info(env.device);
    for (int i = 0; i < N; i++) {
        VKR_ASSERT_OK(vkr_buffer_create(env.device, 100 + (size_t)(i % 97) * 8, VKR_MEMORY_DEVICE, &bufs[i]));
        assert_int_equal(bufs[i].offset % info->min_storage_offset_alignment, 0);
    }
    vkr_memory_stats st;
    vkr_device_memory_stats(env.device, &st);
    assert_int_equal(st.buffer_count, N);
    assert_true(st.block_count <= 2); /* 5000 buffers, not 5000 allocations */
    /* free every other buffer, then reuse the holes */
    for (int i = 0; i < N; i += 2) vkr_buffer_destroy(env.device, &bufs[i]);
    for (int i = 0; i < N; i += 2) VKR_ASSERT_OK(vkr_buffer_create(env.device, 64, VKR_MEMORY_DEVICE, &bufs[i]));
    vkr_device_memory_stats(env.device, &st);
    assert_true(st.block_count <= 2);
    for (int i = 0; i < N; i++) vkr_buffer_destroy(env.device, &bufs[i]);
    vkr_device_memory_stats(env.device, &st);
    assert_int_equal(st.buffer_count, 0);
    free(bufs);
    vkr_test_close(&env);
}

static void test_profile_table(void** state) {
    (void)state;
    vkr_test_env env;
    vkr_device_options o = {.profile = 1, .max_dispatches_per_submit = 4};
    vkr_test_open(&env, &o);
    assert_true(vkr_device_profiling(env.device));
    vkr_kernel* k = get_saxpy(env.device);
    vkr_buffer x, y;
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 256, VKR_MEMORY_DEVICE, &x));
    VKR_ASSERT_OK(vkr_buffer_create(env.device, 256, VKR_MEMORY_DEVICE, &y));
    vkr_sequence* seq = NULL;
    VKR_ASSERT_OK(vkr_sequence_create(env.device, &seq));
    saxpy_push p = {64, 1.0f};
    vkr_range r[2] = {vkr_range_whole(&x), vkr_range_whole(&y)};
    for (int i = 0; i < 10; i++) VKR_ASSERT_OK(vkr_sequence_dispatch(seq, k, r, 2, &p, sizeof p, 1, 1, 1));
    VKR_ASSERT_OK(vkr_sequence_submit(seq));
    assert_int_equal(vkr_sequence_submission_count(seq), 3);
    assert_true(vkr_sequence_last_device_ms(seq) > 0);
    char* text = NULL;
    size_t len = 0;
    FILE* f = open_memstream(&text, &len);
    vkr_device_print_profile(env.device, f);
    fclose(f);
    assert_non_null(strstr(text, "saxpy[64]"));
    assert_non_null(strstr(text, "        10 ")); /* 10 calls */
    free(text);
    vkr_sequence_destroy(seq);
    vkr_test_close(&env);
}

static void test_pipeline_cache(void** state) {
    (void)state;
    char dir[] = "/tmp/vkrec-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    vkr_device_options o = {.cache_dir = dir};
    char path[1100];
    /* 1: cold, writes the cache on destroy */
    vkr_test_env env;
    vkr_test_open(&env, &o);
    assert_int_equal(vkr_device_pipeline_cache_loaded(env.device), 0);
    get_saxpy(env.device);
    snprintf(path, sizeof path, "%s", vkr_device_pipeline_cache_path(env.device));
    vkr_test_close(&env);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 64);
    /* 2: warm, the cache is accepted */
    vkr_test_open(&env, &o);
    assert_true(vkr_device_pipeline_cache_loaded(env.device) > 0);
    get_saxpy(env.device);
    vkr_test_close(&env);
    /* 3: corrupt a byte in the blob: rejected with a warning, the device still works, the file is rewritten */
    FILE* f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, st.st_size - 3, SEEK_SET);
    int c = fgetc(f);
    fseek(f, st.st_size - 3, SEEK_SET);
    fputc(c ^ 0x5A, f);
    fclose(f);
    vkr_log_level old = vkr_log_get_level();
    vkr_log_set_level(VKR_LOG_ERROR); /* the expected warning is not noise */
    vkr_test_open(&env, &o);
    vkr_log_set_level(old);
    assert_int_equal(vkr_device_pipeline_cache_loaded(env.device), 0);
    get_saxpy(env.device);
    vkr_test_close(&env);
    /* 4: garbage and truncated files are survived too */
    f = fopen(path, "wb");
    fputs("not a cache", f);
    fclose(f);
    vkr_log_set_level(VKR_LOG_ERROR);
    vkr_test_open(&env, &o);
    vkr_log_set_level(old);
    assert_int_equal(vkr_device_pipeline_cache_loaded(env.device), 0);
    get_saxpy(env.device);
    vkr_test_close(&env);
    vkr_test_open(&env, &o);
    assert_true(vkr_device_pipeline_cache_loaded(env.device) > 0); /* rewritten good file */
    vkr_test_close(&env);
    remove(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration_finds_lavapipe),
        cmocka_unit_test(test_round_trips_mapped),
        cmocka_unit_test(test_round_trips_staged),
        cmocka_unit_test(test_transfer_bounds),
        cmocka_unit_test(test_saxpy_matches_cpu),
        cmocka_unit_test(test_ten_thousand_dispatches),
        cmocka_unit_test(test_replay_with_new_input),
        cmocka_unit_test(test_barrier_tracking),
        cmocka_unit_test(test_dispatch_errors),
        cmocka_unit_test(test_out_of_memory_is_an_error),
        cmocka_unit_test(test_suballocation),
        cmocka_unit_test(test_profile_table),
        cmocka_unit_test(test_pipeline_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
