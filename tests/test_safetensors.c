/* safetensors: round trips, atomic replacement, Python readability, and rejection of corrupt files
 * with messages that name the file and the tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vkr_safetensors.h"
#include "vkr_test.h"

static int group_open(void** state) {
    (void)state;
    return vkr_test_tmpdir_open("vkr_st");
}

static int group_close(void** state) {
    (void)state;
    return vkr_test_tmpdir_close();
}


/* The fixture every round trip uses: several dtypes and ranks, a scalar and an empty tensor. */
typedef struct fixture {
    float w[6];
    uint16_t h[5];
    int32_t s;
    uint16_t ids[8];
    int64_t big[3];
} fixture;

static void fixture_fill(fixture* f) {
    memset(f, 0, sizeof *f); /* padding too: the test compares whole structs */
    for (int i = 0; i < 6; i++) f->w[i] = 0.25f * (float)i - 1.0f;
    const float hv[5] = {0.0f, 1.0f, -2.5f, 65504.0f, 0.0009765625f};
    for (int i = 0; i < 5; i++) f->h[i] = vkr_float_to_half(hv[i]);
    f->s = -7;
    for (int i = 0; i < 8; i++) f->ids[i] = (uint16_t)(1000 * i + 1);
    for (int i = 0; i < 3; i++) f->big[i] = (int64_t)1 << (40 + i);
}

static void write_fixture(const char* path, const fixture* f) {
    vkr_st_writer* w;
    VKR_ASSERT_OK(vkr_st_writer_create(&w));
    const uint64_t s23[2] = {2, 3}, s5[1] = {5}, s222[3] = {2, 2, 2}, s03[2] = {0, 3}, s3[1] = {3};
    VKR_ASSERT_OK(vkr_st_writer_add(w, "layer.w", VKR_ELEM_F32, 2, s23, f->w));
    VKR_ASSERT_OK(vkr_st_writer_add(w, "half \"quoted\" \\ name", VKR_ELEM_F16, 1, s5, f->h));
    VKR_ASSERT_OK(vkr_st_writer_add(w, "scalar", VKR_ELEM_I32, 0, NULL, &f->s));
    VKR_ASSERT_OK(vkr_st_writer_add(w, "ids", VKR_ELEM_U16, 3, s222, f->ids));
    VKR_ASSERT_OK(vkr_st_writer_add(w, "empty", VKR_ELEM_F32, 2, s03, NULL));
    VKR_ASSERT_OK(vkr_st_writer_add(w, "big", VKR_ELEM_I64, 1, s3, f->big));
    VKR_ASSERT_OK(vkr_st_writer_set_metadata(w, "format", "pt"));
    VKR_ASSERT_OK(vkr_st_writer_set_metadata(w, "step", "41"));
    VKR_ASSERT_OK(vkr_st_writer_set_metadata(w, "step", "42")); /* replaces */
    VKR_ASSERT_OK(vkr_st_writer_set_metadata(w, "note", "tab\there, \"quotes\", caf\xc3\xa9"));
    /* Rejected additions leave the writer usable. */
    assert_int_equal(vkr_st_writer_add(w, "layer.w", VKR_ELEM_F32, 2, s23, f->w), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_st_writer_add(w, "__metadata__", VKR_ELEM_F32, 2, s23, f->w), VKR_ERR_INVALID_ARGUMENT);
    assert_int_equal(vkr_st_writer_add(w, "x", VKR_ELEM_F32, 2, s23, NULL), VKR_ERR_INVALID_ARGUMENT);
    VKR_ASSERT_OK(vkr_st_writer_write(w, path));
    vkr_st_writer_destroy(w);
}

static void test_round_trip(void** state) {
    (void)state;
    fixture f;
    fixture_fill(&f);
    char path[300];
    vkr_test_tmpdir_path(path, sizeof path, "model.safetensors");
    write_fixture(path, &f);

    vkr_st_file* st;
    VKR_ASSERT_OK(vkr_st_open(path, &st));
    assert_int_equal(vkr_st_tensor_count(st), 6);
    assert_string_equal(vkr_st_tensor_at(st, 0)->name, "layer.w"); /* header order kept */
    const vkr_st_tensor* t = vkr_st_find(st, "ids");
    assert_non_null(t);
    assert_int_equal(t->dtype, VKR_ELEM_U16);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->shape[2], 2);
    assert_int_equal(t->bytes, 16);
    for (uint32_t i = 0; i < vkr_st_tensor_count(st); i++) /* each tensor aligned to its element size */
        assert_int_equal(vkr_st_tensor_at(st, i)->offset % vkr_elem_size(vkr_st_tensor_at(st, i)->dtype), 0);
    assert_null(vkr_st_find(st, "nope"));

    fixture g;
    memset(&g, 0, sizeof g);
    const uint64_t s23[2] = {2, 3}, s5[1] = {5}, s222[3] = {2, 2, 2}, s03[2] = {0, 3}, s3[1] = {3};
    VKR_ASSERT_OK(vkr_st_load(st, "layer.w", VKR_ELEM_F32, 2, s23, g.w, sizeof g.w));
    VKR_ASSERT_OK(vkr_st_load(st, "half \"quoted\" \\ name", VKR_ELEM_F16, 1, s5, g.h, sizeof g.h));
    VKR_ASSERT_OK(vkr_st_load(st, "scalar", VKR_ELEM_I32, 0, NULL, &g.s, sizeof g.s));
    VKR_ASSERT_OK(vkr_st_load(st, "ids", VKR_ELEM_U16, 3, s222, g.ids, sizeof g.ids));
    VKR_ASSERT_OK(vkr_st_load(st, "empty", VKR_ELEM_F32, 2, s03, NULL, 0));
    VKR_ASSERT_OK(vkr_st_load(st, "big", VKR_ELEM_I64, 1, s3, g.big, sizeof g.big));
    assert_memory_equal(&f, &g, sizeof f);

    float hf[5];
    VKR_ASSERT_OK(vkr_st_load_f32(st, "half \"quoted\" \\ name", 1, s5, hf, 5));
    assert_true(hf[2] == -2.5f && hf[3] == 65504.0f && hf[4] == 0.0009765625f);
    float wf[6];
    VKR_ASSERT_OK(vkr_st_load_f32(st, "layer.w", 2, s23, wf, 6));
    assert_memory_equal(wf, f.w, sizeof wf);

    assert_int_equal(vkr_st_metadata_count(st), 4); /* and the digest, last */
    assert_non_null(vkr_st_metadata_get(st, VKR_ST_DIGEST_KEY));
    assert_string_equal(vkr_st_metadata_get(st, "step"), "42");
    assert_string_equal(vkr_st_metadata_get(st, "note"), "tab\there, \"quotes\", caf\xc3\xa9");
    const char *k, *v;
    assert_true(vkr_st_metadata_at(st, 0, &k, &v));
    assert_string_equal(k, "format");
    assert_false(vkr_st_metadata_at(st, 4, &k, &v));
    assert_null(vkr_st_metadata_get(st, "absent"));

    /* Mismatches are clear errors naming file, tensor, both shapes and dtypes. */
    const uint64_t s32[2] = {3, 2};
    assert_int_equal(vkr_st_load(st, "layer.w", VKR_ELEM_F32, 2, s32, g.w, sizeof g.w), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "tensor 'layer.w' has shape [2, 3] F32 but [3, 2] F32 was expected"));
    assert_non_null(strstr(vkr_last_error(), "model.safetensors"));
    assert_int_equal(vkr_st_load(st, "layer.w", VKR_ELEM_F16, 2, s23, g.w, sizeof g.w), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "F32 but [2, 3] F16"));
    assert_int_equal(vkr_st_load(st, "layer.w", VKR_ELEM_F32, 2, s23, g.w, 8), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "needs 24 bytes"));
    assert_int_equal(vkr_st_load(st, "missing", VKR_ELEM_F32, 2, s23, g.w, sizeof g.w), VKR_ERR_NOT_FOUND);
    assert_non_null(strstr(vkr_last_error(), "no tensor named 'missing'"));
    assert_int_equal(vkr_st_load_f32(st, "ids", 3, s222, hf, 8), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "not a float type"));
    vkr_st_close(st);

    /* No temporary file is left behind. */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

/* Writes the fixture to the temporary directory's `name` and reads the file back into buf[4096]. */
static size_t fixture_bytes(const char* name, uint8_t* buf) {
    fixture f;
    fixture_fill(&f);
    char path[300];
    vkr_test_tmpdir_path(path, sizeof path, name);
    write_fixture(path, &f);
    FILE* fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, 4096, fp);
    fclose(fp);
    assert_true(n > 100 && n < 4096);
    return n;
}

/* Every strict prefix of a valid file is rejected cleanly. */
static void test_truncations(void** state) {
    (void)state;
    uint8_t buf[4096];
    size_t n = fixture_bytes("trunc.safetensors", buf);
    vkr_st_file* st;
    VKR_ASSERT_OK(vkr_st_open_memory(buf, n, "whole", &st));
    vkr_st_close(st);
    for (size_t len = 0; len < n; len++) {
        assert_int_equal(vkr_st_open_memory(buf, len, "prefix", &st), VKR_ERR_FORMAT);
        assert_null(st);
    }
    assert_int_equal(vkr_st_open_memory(buf, 7, "short.safetensors", &st), VKR_ERR_FORMAT);
    assert_non_null(strstr(vkr_last_error(), "short.safetensors: truncated"));
    assert_int_equal(vkr_st_open_memory(buf, n - 1, "cut.safetensors", &st), VKR_ERR_FORMAT);
    assert_non_null(strstr(vkr_last_error(), "cut.safetensors: truncated: tensor 'ids'"));
}

/* Builds a file from a header and `data_len` zero bytes of data; returns its size. */
static size_t make_file(uint8_t* out, size_t cap, const char* header, size_t data_len) {
    size_t h = strlen(header);
    assert_true(8 + h + data_len <= cap);
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(out + 8, header, h);
    memset(out + 8 + h, 0, data_len);
    return 8 + h + data_len;
}

/* Expects `header` + `data_len` bytes to be rejected with a message containing `expect`. */
static void expect_reject(const char* header, size_t data_len, const char* expect) {
    static uint8_t buf[1 << 16];
    size_t n = make_file(buf, sizeof buf, header, data_len);
    vkr_st_file* st = (vkr_st_file*)1;
    vkr_status s = vkr_st_open_memory(buf, n, "model.safetensors", &st);
    if (s != VKR_ERR_FORMAT) fail_msg("header %s was accepted (status %d)", header, (int)s);
    assert_null(st);
    if (!strstr(vkr_last_error(), expect)) fail_msg("message '%s' lacks '%s'", vkr_last_error(), expect);
}

static void test_rejects(void** state) {
    (void)state;
    expect_reject("{\"w1\":{\"dtype\":\"F32\",\"shape\":[5,6],\"data_offsets\":[0,100]}}", 100,
                  "model.safetensors: tensor 'w1': data_offsets [0, 100) do not match shape [5, 6] F32 (120 bytes)");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24,
                  "tensor 'b': data_offsets [8, 24) overlap tensor 'a' [0, 16)");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20,
                  "tensor 'b': data_offsets [12, 20) leave a gap after byte 8");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "4 trailing bytes");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12,
                  "truncated: tensor 'a' data_offsets [0, 16) run past the 12-byte data buffer");
    expect_reject("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': unsupported dtype \"F33\"");
    expect_reject("{\"a\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "needs a string \"dtype\"");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8,
                  "shape [4294967296, 4294967296, 16] F32 overflows");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape entry 0 is not a non-negative integer");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "not a non-negative integer");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
                  "9 dimensions exceed the limit of 8");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end before they begin");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "two non-negative integers");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e300]}}", 8, "two non-negative integers");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8, "tensor 'a' appears twice");
    expect_reject("{\"__metadata__\":{\"k\":3}}", 0, "__metadata__ value for 'k' is not a string");
    expect_reject("{\"__metadata__\":[]}", 0, "__metadata__ is not a JSON object");
    expect_reject("{\"a\":[]}", 0, "tensor 'a': entry is not a JSON object");
    expect_reject("{\"\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, "empty name");
    /* Found by fuzzing: a name that decodes to "" (escaped NUL) used to leak. */
    expect_reject("{\"\\u0000x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, "empty name");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],", 8, "header is not valid JSON");
    expect_reject("{} x", 0, "unexpected bytes after the header's JSON");
    expect_reject("[1, 2]", 0, "does not start with '{'");
    expect_reject("", 0, "does not start with '{'");

    /* Header length far beyond the file. */
    uint8_t buf[64];
    size_t n = make_file(buf, sizeof buf, "{}", 0);
    uint64_t huge = 1ull << 40;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(huge >> (8 * i));
    vkr_st_file* st;
    assert_int_equal(vkr_st_open_memory(buf, n, "model.safetensors", &st), VKR_ERR_FORMAT);
    assert_non_null(strstr(vkr_last_error(), "header length 1099511627776 exceeds file size 10"));
    uint64_t all = ~0ull;
    memcpy(buf, &all, 8);
    assert_int_equal(vkr_st_open_memory(buf, n, "model.safetensors", &st), VKR_ERR_FORMAT);

    /* Accepted edge cases: an empty header, zero-size tensors sharing an offset, padding. */
    n = make_file(buf, sizeof buf, "{}      ", 0);
    VKR_ASSERT_OK(vkr_st_open_memory(buf, n, "empty", &st));
    assert_int_equal(vkr_st_tensor_count(st), 0);
    vkr_st_close(st);
    static uint8_t big[256];
    n = make_file(big, sizeof big, "{\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                  "\"z2\":{\"dtype\":\"U8\",\"shape\":[0, 5],\"data_offsets\":[0,0]}}  ", 0);
    VKR_ASSERT_OK(vkr_st_open_memory(big, n, "zeros", &st));
    assert_int_equal(vkr_st_tensor_count(st), 2);
    vkr_st_close(st);

    /* A missing file names the path. */
    assert_int_equal(vkr_st_open("/nonexistent/dir/x.safetensors", &st), VKR_ERR_NOT_FOUND);
    assert_non_null(strstr(vkr_last_error(), "/nonexistent/dir/x.safetensors"));
}

/* Replacement is by rename: a hard link to the old file keeps the old bytes, and a failed write
 * (the target is a directory) leaves no temporary file behind. */
static void test_atomic_replace(void** state) {
    (void)state;
    char path[300], old[300];
    vkr_test_tmpdir_path(path, sizeof path, "ckpt.safetensors");
    vkr_test_tmpdir_path(old, sizeof old, "ckpt.old");
    float a = 1.0f, b = 2.0f;
    const uint64_t s1[1] = {1};
    vkr_st_writer* w;
    VKR_ASSERT_OK(vkr_st_writer_create(&w));
    VKR_ASSERT_OK(vkr_st_writer_add(w, "x", VKR_ELEM_F32, 1, s1, &a));
    VKR_ASSERT_OK(vkr_st_writer_write(w, path));
    vkr_st_writer_destroy(w);
    assert_int_equal(link(path, old), 0);
    VKR_ASSERT_OK(vkr_st_writer_create(&w));
    VKR_ASSERT_OK(vkr_st_writer_add(w, "x", VKR_ELEM_F32, 1, s1, &b));
    VKR_ASSERT_OK(vkr_st_writer_write(w, path));

    vkr_st_file* st;
    float got = 0;
    VKR_ASSERT_OK(vkr_st_open(old, &st));
    VKR_ASSERT_OK(vkr_st_load(st, "x", VKR_ELEM_F32, 1, s1, &got, sizeof got));
    vkr_st_close(st);
    assert_true(got == 1.0f);
    VKR_ASSERT_OK(vkr_st_open(path, &st));
    VKR_ASSERT_OK(vkr_st_load(st, "x", VKR_ELEM_F32, 1, s1, &got, sizeof got));
    vkr_st_close(st);
    assert_true(got == 2.0f);

    char dir[300], tmp[400];
    vkr_test_tmpdir_path(dir, sizeof dir, "a_directory");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(vkr_st_writer_write(w, dir), VKR_ERR_IO);
    assert_non_null(strstr(vkr_last_error(), "cannot rename"));
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dir, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    vkr_st_writer_destroy(w);
}

/* Python with numpy parses our header by hand and checks the values; it also writes a file in its
 * own style (no padding, reversed order) that we must read. */
static void test_python_interop(void** state) {
    (void)state;
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        print_message("skipped: /usr/bin/python3 with numpy is not available\n");
        return;
    }
    fixture f;
    fixture_fill(&f);
    char path[300], py_path[300], script[300];
    vkr_test_tmpdir_path(path, sizeof path, "for_python.safetensors");
    vkr_test_tmpdir_path(py_path, sizeof py_path, "from_python.safetensors");
    vkr_test_tmpdir_path(script, sizeof script, "check.py");
    write_fixture(path, &f);
    FILE* fp = fopen(script, "w");
    assert_non_null(fp);
    fputs("import json, struct, sys\n"
          "import numpy as np\n"
          "DT = {'F32': '<f4', 'F16': '<f2', 'I32': '<i4', 'U16': '<u2', 'I64': '<i8'}\n"
          "def load(path):\n"
          "    raw = open(path, 'rb').read()\n"
          "    (n,) = struct.unpack('<Q', raw[:8])\n"
          "    header = json.loads(raw[8:8 + n].decode('utf-8'))\n"
          "    meta = header.pop('__metadata__', {})\n"
          "    data = raw[8 + n:]\n"
          "    out = {}\n"
          "    for name, t in header.items():\n"
          "        b, e = t['data_offsets']\n"
          "        out[name] = np.frombuffer(data[b:e], dtype=DT[t['dtype']]).reshape(t['shape'])\n"
          "    return out, meta\n"
          "t, meta = load(sys.argv[1])\n"
          "assert meta.pop('vkrec.digest').startswith('fnv1a64:'), meta\n"
          "assert meta == {'format': 'pt', 'step': '42', 'note': 'tab\\there, \"quotes\", caf\\u00e9'}, meta\n"
          "assert np.array_equal(t['layer.w'], (0.25 * np.arange(6, dtype=np.float32) - 1).reshape(2, 3))\n"
          "assert t['half \"quoted\" \\\\ name'].tolist() == [0.0, 1.0, -2.5, 65504.0, 0.0009765625]\n"
          "assert t['scalar'].shape == () and int(t['scalar']) == -7\n"
          "assert t['ids'].shape == (2, 2, 2) and t['ids'].ravel().tolist() == [1000 * i + 1 for i in range(8)]\n"
          "assert t['empty'].shape == (0, 3)\n"
          "assert t['big'].tolist() == [2**40, 2**41, 2**42]\n"
          "a = np.arange(12, dtype=np.float32).reshape(3, 4) / 8\n"
          "c = np.array([7, 9], dtype=np.int32)\n"
          "hdr = {'c': {'dtype': 'I32', 'shape': [2], 'data_offsets': [48, 56]},\n"
          "       'a': {'dtype': 'F32', 'shape': [3, 4], 'data_offsets': [0, 48]},\n"
          "       '__metadata__': {'by': 'python'}}\n"
          "h = json.dumps(hdr).encode()\n"
          "open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + a.tobytes() + c.tobytes())\n",
          fp);
    fclose(fp);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", script, path, py_path);
    assert_int_equal(system(cmd), 0);

    vkr_st_file* st;
    VKR_ASSERT_OK(vkr_st_open(py_path, &st));
    assert_string_equal(vkr_st_metadata_get(st, "by"), "python");
    float a[12];
    int32_t c[2];
    const uint64_t s34[2] = {3, 4}, s2[1] = {2};
    VKR_ASSERT_OK(vkr_st_load(st, "a", VKR_ELEM_F32, 2, s34, a, sizeof a));
    VKR_ASSERT_OK(vkr_st_load(st, "c", VKR_ELEM_I32, 1, s2, c, sizeof c));
    for (int i = 0; i < 12; i++) assert_true(a[i] == (float)i / 8.0f);
    assert_true(c[0] == 7 && c[1] == 9);
    vkr_st_close(st);
}

/* Half conversion: exact round trips for every finite half, correct rounding from float. */
static void test_half_conversion(void** state) {
    (void)state;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = vkr_half_to_float((uint16_t)h);
        if (f != f) continue; /* NaN payloads need not round-trip */
        assert_int_equal(vkr_float_to_half(f), h);
    }
    assert_int_equal(vkr_float_to_half(65520.0f), 0x7c00);          /* rounds to inf */
    assert_int_equal(vkr_float_to_half(65519.0f), 0x7bff);          /* largest finite */
    assert_int_equal(vkr_float_to_half(1.0f + 1.0f / 2048.0f), 0x3c00); /* tie to even */
    assert_int_equal(vkr_float_to_half(1.0f + 3.0f / 2048.0f), 0x3c02); /* tie to even (up) */
    assert_int_equal(vkr_float_to_half(5.9604645e-08f), 0x0001);    /* smallest subnormal */
    assert_int_equal(vkr_float_to_half(2.9802322e-08f), 0x0000);    /* half of it: tie to even */
    assert_true(vkr_bf16_to_float(0x3f80) == 1.0f);
}

/* Every single-bit flip of a file the writer made either fails to parse or fails the digest; a
 * file without the digest (another writer's) still opens. */
static void test_digest(void** state) {
    (void)state;
    uint8_t buf[4096];
    size_t n = fixture_bytes("digest.safetensors", buf);
    vkr_st_file* st;
    VKR_ASSERT_OK(vkr_st_open_memory(buf, n, "digest.safetensors", &st));
    const char* d = vkr_st_metadata_get(st, VKR_ST_DIGEST_KEY);
    assert_non_null(d);
    assert_int_equal(strncmp(d, "fnv1a64:", 8), 0);
    vkr_st_close(st);
    uint32_t corrupt = 0;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            vkr_status s = vkr_st_open_memory(buf, n, "digest.safetensors", &st);
            buf[i] ^= (uint8_t)(1u << bit);
            /* opens only when the flip hit the digest's key: the file then claims no digest, which
             * checkpoint readers refuse */
            if (s == VKR_OK) {
                assert_null(vkr_st_metadata_get(st, VKR_ST_DIGEST_KEY));
                vkr_st_close(st);
                continue;
            }
            assert_non_null(strstr(vkr_last_error(), "digest.safetensors"));
            corrupt += strstr(vkr_last_error(), "corrupt") != NULL;
        }
    assert_true(corrupt >= 8 * sizeof(fixture));
    /* the same file without the digest: opens unverified */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[i];
    char* key = strstr((char*)buf + 8, ",\"" VKR_ST_DIGEST_KEY "\"");
    assert_non_null(key);
    memset(key, ' ', strlen(",\"vkrec.digest\":\"fnv1a64:0123456789abcdef\""));
    assert_true((size_t)(key - (char*)buf) < 8 + hlen);
    VKR_ASSERT_OK(vkr_st_open_memory(buf, n, "nodigest.safetensors", &st));
    assert_null(vkr_st_metadata_get(st, VKR_ST_DIGEST_KEY));
    vkr_st_close(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_rejects),          cmocka_unit_test(test_atomic_replace),
        cmocka_unit_test(test_python_interop),   cmocka_unit_test(test_half_conversion),
        cmocka_unit_test(test_digest),
    };
    return cmocka_run_group_tests(tests, group_open, group_close);
}
