/* .npy: round trips of every supported dtype and rank, versions 1.0/2.0/3.0, float16 widening,
 * numpy interoperability both ways, and rejection of corrupt or unsupported files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_npy.h"
#include "vkr_test.h"

static int group_open(void** state) {
    (void)state;
    return vkr_test_tmpdir_open("vkr_npy");
}

static int group_close(void** state) {
    (void)state;
    return vkr_test_tmpdir_close();
}


static bool have_numpy(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0) return true;
    print_message("skipped: /usr/bin/python3 with numpy is not available\n");
    return false;
}

static size_t read_file(const char* path, uint8_t* buf, size_t cap) {
    FILE* f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void test_round_trip(void** state) {
    (void)state;
    char path[300];
    vkr_test_tmpdir_path(path, sizeof path, "a.npy");
    /* Every dtype, at several ranks (scalar, 1-D, 2-D, 3-D, 4-D) and with an empty array. */
    static const vkr_elem_type types[] = {VKR_ELEM_F32, VKR_ELEM_F16, VKR_ELEM_F64, VKR_ELEM_I16,
                                          VKR_ELEM_I32, VKR_ELEM_I64, VKR_ELEM_U16, VKR_ELEM_U32,
                                          VKR_ELEM_U64, VKR_ELEM_U8,  VKR_ELEM_I8,  VKR_ELEM_BOOL};
    static const uint64_t shapes[][4] = {{0}, {7}, {3, 5}, {2, 3, 4}, {2, 1, 3, 2}, {4, 0}};
    static const uint32_t ndims[] = {0, 1, 2, 3, 4, 2};
    uint8_t data[8 * 24];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 37 + 11);
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (size_t s = 0; s < sizeof ndims / sizeof ndims[0]; s++) {
            vkr_elem_type ty = types[t];
            VKR_ASSERT_OK(vkr_npy_save(path, ty, ndims[s], shapes[s], data));
            uint8_t raw[512];
            size_t n = read_file(path, raw, sizeof raw);
            assert_int_equal(raw[6], 1);
            uint32_t hlen = raw[8] | (uint32_t)raw[9] << 8;
            assert_int_equal((10 + hlen) % 64, 0); /* numpy's alignment */
            assert_int_equal(raw[10 + hlen - 1], '\n');
            vkr_npy_array a;
            VKR_ASSERT_OK(vkr_npy_load(path, &a));
            assert_int_equal(a.dtype, ty);
            assert_int_equal(a.ndim, ndims[s]);
            for (uint32_t d = 0; d < a.ndim; d++) assert_int_equal(a.shape[d], shapes[s][d]);
            assert_int_equal(a.bytes, n - 10 - hlen);
            if (a.bytes) assert_memory_equal(a.data, data, a.bytes);
            else assert_null(a.data);
            vkr_npy_free(&a);
        }
    }
    /* Shape checks with wildcards. */
    const uint64_t s35[2] = {3, 5};
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_U16, 2, s35, data));
    vkr_npy_array a;
    VKR_ASSERT_OK(vkr_npy_load(path, &a));
    const uint64_t any5[2] = {VKR_DIM_ANY, 5}, any4[2] = {VKR_DIM_ANY, 4};
    VKR_ASSERT_OK(vkr_npy_check(&a, "semantic_ids.npy", VKR_ELEM_U16, 2, any5));
    assert_int_equal(vkr_npy_check(&a, "semantic_ids.npy", VKR_ELEM_U16, 2, any4), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "semantic_ids.npy has shape [3, 5] U16 but [*, 4] U16 was expected"));
    assert_int_equal(vkr_npy_check(&a, "ids", VKR_ELEM_I32, 2, any5), VKR_ERR_INVALID_ARGUMENT);
    vkr_npy_free(&a);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_f16_to_f32(void** state) {
    (void)state;
    char path[300];
    vkr_test_tmpdir_path(path, sizeof path, "h.npy");
    const float want[6] = {0.0f, -1.5f, 3.140625f, 65504.0f, -0.0001220703125f, 1024.0f};
    uint16_t h[6];
    for (int i = 0; i < 6; i++) h[i] = vkr_float_to_half(want[i]);
    const uint64_t s23[2] = {2, 3};
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_F16, 2, s23, h));
    vkr_npy_array a;
    VKR_ASSERT_OK(vkr_npy_load_f32(path, &a));
    assert_int_equal(a.dtype, VKR_ELEM_F32);
    assert_int_equal(a.bytes, 24);
    assert_memory_equal(a.data, want, sizeof want);
    vkr_npy_free(&a);
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_F32, 2, s23, want));
    VKR_ASSERT_OK(vkr_npy_load_f32(path, &a));
    assert_memory_equal(a.data, want, sizeof want);
    vkr_npy_free(&a);
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_U16, 2, s23, h));
    assert_int_equal(vkr_npy_load_f32(path, &a), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "U16 cannot be read as float32"));
    assert_null(a.data);
}

/* Builds a .npy file in memory: version `major`, the dict text padded to 64 bytes, `data_len` data bytes. */
static size_t make_npy(uint8_t* out, size_t cap, int major, const char* dict, size_t data_len) {
    size_t start = major == 1 ? 10 : 12;
    size_t len = strlen(dict);
    size_t total = (start + len + 1 + 63) / 64 * 64;
    assert_true(total + data_len <= cap);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    size_t hlen = total - start;
    for (size_t i = 0; i < start - 8; i++) out[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(out + start, dict, len);
    memset(out + start + len, ' ', hlen - len - 1);
    out[total - 1] = '\n';
    for (size_t i = 0; i < data_len; i++) out[total + i] = (uint8_t)i;
    return total + data_len;
}

static void test_versions(void** state) {
    (void)state;
    uint8_t buf[512];
    for (int major = 1; major <= 3; major++) {
        size_t n = make_npy(buf, sizeof buf, major, "{'shape': (2L, 3), 'fortran_order': False, \"descr\": '<i4'}", 24);
        vkr_npy_array a;
        VKR_ASSERT_OK(vkr_npy_load_memory(buf, n, "v.npy", &a));
        assert_int_equal(a.dtype, VKR_ELEM_I32);
        assert_int_equal(a.ndim, 2);
        assert_int_equal(a.shape[0], 2);
        assert_int_equal(a.shape[1], 3);
        assert_int_equal(((uint8_t*)a.data)[5], 5);
        vkr_npy_free(&a);
    }
    /* One-byte types accept any byte-order marker. */
    size_t n = make_npy(buf, sizeof buf, 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (4,), }", 4);
    vkr_npy_array a;
    VKR_ASSERT_OK(vkr_npy_load_memory(buf, n, "u1.npy", &a));
    assert_int_equal(a.dtype, VKR_ELEM_U8);
    vkr_npy_free(&a);
}

static void expect_reject(const uint8_t* buf, size_t n, const char* expect) {
    vkr_npy_array a;
    memset(&a, 0xab, sizeof a);
    vkr_status s = vkr_npy_load_memory(buf, n, "item_emb.npy", &a);
    if (s != VKR_ERR_FORMAT) fail_msg("accepted (status %d), expected '%s'", (int)s, expect);
    assert_null(a.data);
    assert_int_equal(a.ndim, 0);
    if (!strstr(vkr_last_error(), expect)) fail_msg("message '%s' lacks '%s'", vkr_last_error(), expect);
}

static void expect_dict_reject(const char* dict, size_t data_len, const char* expect) {
    static uint8_t buf[1024];
    expect_reject(buf, make_npy(buf, sizeof buf, 1, dict, data_len), expect);
}

static void test_rejects(void** state) {
    (void)state;
    expect_dict_reject("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24,
                       "item_emb.npy: fortran_order is True; only C-order arrays are supported");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20,
                       "item_emb.npy: truncated: shape [2, 3] F32 needs 24 data bytes but the file has 20");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, "trailing bytes");
    expect_dict_reject("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "big-endian dtype '>f4'");
    expect_dict_reject("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype '<c8'");
    expect_dict_reject("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype '|O'");
    expect_dict_reject("{'descr': '<f4', 'shape': (2,), }", 8, "lacks 'fortran_order'");
    expect_dict_reject("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8,
                       "key 'descr' appears twice");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8, "unexpected key 'extra'");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }", 8,
                       "overflows its byte size");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8, "too large");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
                       "more than 8 dimensions");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, "non-negative integer");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': Fals, 'shape': (2,), }", 8, "True or False");
    expect_dict_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) } junk", 8, "only padding");
    expect_dict_reject("{'descr': '<f\\4', 'fortran_order': False, 'shape': (2,) }", 8, "without escapes");
    expect_dict_reject("['descr']", 8, "expected '{'");

    uint8_t buf[256];
    size_t n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    buf[0] = 'X';
    expect_reject(buf, n, "not a .npy file (bad magic)");
    buf[0] = 0x93;
    buf[6] = 4;
    expect_reject(buf, n, "unsupported .npy format version 4.0");
    buf[6] = 1;
    buf[8] = 0xff;
    buf[9] = 0xff;
    expect_reject(buf, n, "header length 65535 exceeds file size");
    n = make_npy(buf, sizeof buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    buf[11] = 0x10; /* 256 MiB header in a v2 file */
    expect_reject(buf, n, "exceeds file size");
    expect_reject(buf, 9, "truncated");
    /* Every prefix of a valid file fails cleanly. */
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    for (size_t len = 0; len < n; len++) {
        vkr_npy_array a;
        assert_int_equal(vkr_npy_load_memory(buf, len, "prefix", &a), VKR_ERR_FORMAT);
    }
    vkr_npy_array a;
    assert_int_equal(vkr_npy_load("/nonexistent/item_emb.npy", &a), VKR_ERR_NOT_FOUND);
    assert_non_null(strstr(vkr_last_error(), "/nonexistent/item_emb.npy"));
}

/* numpy reads what we write; we read what numpy writes (including f2, u2, v2.0/v3.0, Fortran order). */
static void test_numpy_interop(void** state) {
    (void)state;
    if (!have_numpy()) return;
    char ours[300], script[300];
    vkr_test_tmpdir_path(ours, sizeof ours, "ours.npy");
    vkr_test_tmpdir_path(script, sizeof script, "np.py");
    float emb[4 * 3];
    for (int i = 0; i < 12; i++) emb[i] = (float)i * 0.5f - 2.0f;
    const uint64_t s43[2] = {4, 3};
    VKR_ASSERT_OK(vkr_npy_save(ours, VKR_ELEM_F32, 2, s43, emb));
    FILE* fp = fopen(script, "w");
    assert_non_null(fp);
    fputs("import sys, numpy as np\n"
          "d = sys.argv[1]\n"
          "a = np.load(d + '/ours.npy')\n"
          "assert a.dtype == np.float32 and a.shape == (4, 3), (a.dtype, a.shape)\n"
          "assert np.array_equal(a.ravel(), np.arange(12, dtype=np.float32) * 0.5 - 2)\n"
          "np.save(d + '/f4.npy', (np.arange(6, dtype=np.float32) / 4).reshape(2, 3))\n"
          "np.save(d + '/f2.npy', np.array([1.5, -2.0, 0.25], dtype=np.float16))\n"
          "np.save(d + '/u2.npy', np.array([[1, 2, 3, 4], [65535, 0, 7, 9]], dtype=np.uint16))\n"
          "np.save(d + '/fortran.npy', np.asfortranarray(np.ones((3, 2), dtype=np.float32)))\n"
          "for v in ((2, 0), (3, 0)):\n"
          "    with open(d + '/v%d.npy' % v[0], 'wb') as f:\n"
          "        np.lib.format.write_array(f, np.arange(5, dtype='<i8'), version=v)\n",
          fp);
    fclose(fp);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, vkr_test_tmpdir());
    assert_int_equal(system(cmd), 0);

    char p[300];
    vkr_npy_array a;
    vkr_test_tmpdir_path(p, sizeof p, "f4.npy");
    VKR_ASSERT_OK(vkr_npy_load(p, &a));
    assert_int_equal(a.dtype, VKR_ELEM_F32);
    for (int i = 0; i < 6; i++) assert_true(((float*)a.data)[i] == (float)i / 4.0f);
    vkr_npy_free(&a);
    vkr_test_tmpdir_path(p, sizeof p, "f2.npy");
    VKR_ASSERT_OK(vkr_npy_load_f32(p, &a));
    assert_true(((float*)a.data)[0] == 1.5f && ((float*)a.data)[1] == -2.0f && ((float*)a.data)[2] == 0.25f);
    vkr_npy_free(&a);
    vkr_test_tmpdir_path(p, sizeof p, "u2.npy");
    VKR_ASSERT_OK(vkr_npy_load(p, &a));
    assert_int_equal(a.dtype, VKR_ELEM_U16);
    assert_int_equal(a.shape[1], 4);
    assert_int_equal(((uint16_t*)a.data)[4], 65535);
    vkr_npy_free(&a);
    for (int v = 2; v <= 3; v++) {
        char name[16];
        snprintf(name, sizeof name, "v%d.npy", v);
        vkr_test_tmpdir_path(p, sizeof p, name);
        VKR_ASSERT_OK(vkr_npy_load(p, &a));
        assert_int_equal(a.dtype, VKR_ELEM_I64);
        assert_int_equal(((int64_t*)a.data)[4], 4);
        vkr_npy_free(&a);
    }
    vkr_test_tmpdir_path(p, sizeof p, "fortran.npy");
    assert_int_equal(vkr_npy_load(p, &a), VKR_ERR_FORMAT);
    assert_non_null(strstr(vkr_last_error(), "fortran_order is True"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_f16_to_f32),   cmocka_unit_test(test_versions),
        cmocka_unit_test(test_rejects),    cmocka_unit_test(test_numpy_interop),
    };
    return cmocka_run_group_tests(tests, group_open, group_close);
}
