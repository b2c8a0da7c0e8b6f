/* Nothing lost, nothing silently wrong in data ingestion (issue 13): truncated gzip and plain inputs,
 * byte order marks, release counts checked before anything is allocated by them, and data.bin's
 * checksum (every single-bit flip of a prepared image is refused). */
#include "vkr_test.h"

#include "test_data_util.h"
#include "vkr_data_prep.h"

/* Reads a whole small file; returns its size. */
static size_t slurp(const char* path, char* buf, size_t cap) {
    FILE* fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    assert_true(n < cap);
    return n;
}

/* Writes n bytes of buf to path. */
static void spill(const char* path, const char* buf, size_t n) {
    FILE* fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    fclose(fp);
}

/* Reviews of 40 users, one line each, as JSON lines. */
static void reviews_text(char* out, size_t cap) {
    size_t n = 0;
    for (int k = 0; k < 40; k++)
        n += (size_t)snprintf(out + n, cap - n, "{\"reviewerID\": \"U%d\", \"asin\": \"F%d\", \"unixReviewTime\": %d}\n",
                              k, k % 7, 1000 + k);
}

/* A gzip file cut at any byte, from inside the header to the last trailer byte, is an error naming
 * the file (zlib alone reports such a file as complete). */
static void test_truncated_gzip(void** state) {
    td_fixture* f = *state;
    char text[8192], gz[8192], path[600], cut[600];
    reviews_text(text, sizeof text);
    td_put(f->dir, "r.json.gz", text, 1);
    snprintf(path, sizeof path, "%s/r.json.gz", f->dir);
    snprintf(cut, sizeof cut, "%s/cut.json.gz", f->dir);
    size_t n = slurp(path, gz, sizeof gz);
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_amazon(&raw, "Food", path, NULL));
    assert_int_equal(raw.event_count, 40);
    vkr_raw_free(&raw);
    for (size_t k = 0; k < n; k++) {
        spill(cut, gz, k);
        ASSERT_FAILS_WITH(vkr_parse_amazon(&raw, "Food", cut, NULL), cut);
        vkr_raw_free(&raw);
        if (k >= 2) assert_non_null(strstr(vkr_last_error(), "truncated"));
    }
    /* A corrupt stream (its CRC no longer matches) is an error too. */
    memcpy(gz + n - 8, "\xde\xad\xbe\xef", 4);
    spill(cut, gz, n);
    ASSERT_FAILS_WITH(vkr_parse_amazon(&raw, "Food", cut, NULL), "corrupt gzip data");
    vkr_raw_free(&raw);
}

/* A plain text file cut inside a line is an error naming file:line (the cut may have changed an id). */
static void test_truncated_line(void** state) {
    td_fixture* f = *state;
    write_llmcdsr(f->dir);
    vkr_raw raw = {0};
    td_put(f->dir, "test.txt", "1\t1,6,2", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "test.txt:1: the last line has no newline");
    vkr_raw_free(&raw);
    td_put(f->dir, "test.txt", "1\t1,6,2\n2\t1,6", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "test.txt:2: the last line has no newline");
    vkr_raw_free(&raw);
    char text[8192], path[600];
    reviews_text(text, sizeof text);
    text[strlen(text) - 1] = 0;
    td_put(f->dir, "r.json", text, 0);
    snprintf(path, sizeof path, "%s/r.json", f->dir);
    ASSERT_FAILS_WITH(vkr_parse_amazon(&raw, "Food", path, NULL), "r.json:40: the last line has no newline");
    vkr_raw_free(&raw);
    td_put(f->dir, "inter.csv", "u1,i1,5,Books\nu1,i2,6,Boo", 0);
    snprintf(path, sizeof path, "%s/inter.csv", f->dir);
    ASSERT_FAILS_WITH(vkr_parse_csv(&raw, path, NULL), "inter.csv:2: the last line has no newline");
    vkr_raw_free(&raw);
    /* CRLF endings and an empty file stay valid. */
    td_put(f->dir, "inter.csv", "u1,i1,5,Books\r\nu1,i2,6,Books\r\n", 0);
    VKR_ASSERT_OK(vkr_parse_csv(&raw, path, NULL));
    assert_int_equal(raw.event_count, 2);
    vkr_raw_free(&raw);
    write_llmcdsr(f->dir);
    td_put(f->dir, "train_A.txt", "", 0);
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, f->dir, NULL));
    vkr_raw_free(&raw);
}

/* A UTF-8 byte order mark before the first line is dropped in every text format. */
static void test_bom(void** state) {
    td_fixture* f = *state;
    vkr_raw raw = {0};
    char path[600], items[600];
    td_put(f->dir, "inter.csv", "\xEF\xBB\xBFuser,item,timestamp,domain\nu1,i1,5,Books\nu1,i2,6,Books\n", 0);
    td_put(f->dir, "items.csv", "\xEF\xBB\xBFi1,Books,First\n", 0);
    snprintf(path, sizeof path, "%s/inter.csv", f->dir);
    snprintf(items, sizeof items, "%s/items.csv", f->dir);
    VKR_ASSERT_OK(vkr_parse_csv(&raw, path, items)); /* else the header is a row with a bad timestamp */
    assert_int_equal(raw.event_count, 2);
    assert_int_equal(raw.skip_count, 0); /* else "\xEF\xBB\xBFi1" names no item */
    assert_string_equal(raw.text.data + raw.item_title[0], "First");
    assert_string_equal(vkr_strmap_get(&raw.users, 0), "u1");
    vkr_raw_free(&raw);
    td_put(f->dir, "r.json.gz", "\xEF\xBB\xBF{\"reviewerID\": \"U1\", \"asin\": \"F1\", \"unixReviewTime\": 1}\n", 1);
    snprintf(path, sizeof path, "%s/r.json.gz", f->dir);
    VKR_ASSERT_OK(vkr_parse_amazon(&raw, "Food", path, NULL));
    assert_int_equal(raw.event_count, 1);
    assert_int_equal(raw.skip_count, 0);
    vkr_raw_free(&raw);
    write_llmcdsr(f->dir);
    td_put(f->dir, "num.txt", "\xEF\xBB\xBF" "3\n4\n", 0);
    td_put(f->dir, "train_A.txt", "\xEF\xBB\xBF" "1\t0,1,2\n", 0);
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, f->dir, NULL));
    assert_true(vkr_strmap_find(&raw.users, "train_A:1", 9) >= 0);
    vkr_raw_free(&raw);
}

/* Counts in num.txt and local indices in Alist/Blist are checked against what the files hold before
 * they size anything: an 18-byte num.txt once cost 1.8 GB before its error. */
static void test_release_counts(void** state) {
    td_fixture* f = *state;
    write_llmcdsr(f->dir);
    vkr_raw raw = {0};
    td_put(f->dir, "num.txt", "16777216\n16777216\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "num.txt: no sequence uses an item of domain B");
    assert_int_equal(raw.items.count, 0);
    vkr_raw_free(&raw);
    /* Items past the largest id in use are counted, not created; their titles are counted skips. */
    td_put(f->dir, "num.txt", "3\n16777216\n", 0);
    td_put(f->dir, "derived/items_B.tsv", "seq_id\tlocal_id\tasin\ttitle\n3\t0\tB0\tKettle\n9\t6\tB6\tUnused\n", 0);
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, f->dir, NULL));
    assert_int_equal(raw.items.count, 7);
    assert_int_equal(raw.skip_count, 2);
    assert_int_equal(raw.skips[0].count, 16777216 + 3 - 7);
    assert_non_null(strstr(raw.skips[1].first, "items_B.tsv:3"));
    vkr_raw_free(&raw);
    write_llmcdsr(f->dir);
    td_put(f->dir, "num.txt", "3\n4\n9\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "num.txt:3: expected only two lines");
    vkr_raw_free(&raw);
    td_put(f->dir, "num.txt", "3\n4\n\n", 0);
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, f->dir, NULL));
    vkr_raw_free(&raw);
    td_put(f->dir, "num.txt", "3\n3\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "item id beyond the counts in num.txt");
    vkr_raw_free(&raw);
    /* A C2DSR list's local_idx is bounded by its number of lines, not by 2^24. */
    td_put(f->dir, "Alist.txt", "10\tA0\t0\n11\tA1\t16000000\n", 0);
    td_put(f->dir, "Blist.txt", "20\tB0\t0\n", 0);
    td_put(f->dir, "testdata_new.txt", "2\t7\t0|10|d|\t2|20|d|\n", 0);
    td_put(f->dir, "validdata_new.txt", "1\t5\t1|10|d|\t2|20|d|\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_c2dsr(&raw, f->dir, NULL), "Alist.txt:2: local_idx 16000000, but the file has 2 lines");
    vkr_raw_free(&raw);
    td_put(f->dir, "Alist.txt", "11\tA1\t1\n10\tA0\t0\n", 0);
    VKR_ASSERT_OK(vkr_parse_c2dsr(&raw, f->dir, NULL));
    assert_string_equal(raw.text.data + raw.item_label[1], "A1");
    vkr_raw_free(&raw);
}

/* Prepares the tiny release into dir/ds and returns the path of its data.bin in bin. */
static void write_dataset(const char* dir, char* bin, size_t cap) {
    write_llmcdsr(dir);
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, dir, NULL));
    vkr_prep_options o = vkr_prep_options_default();
    o.no_filter = true;
    vkr_dataset d;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    char out[600];
    snprintf(out, sizeof out, "%s/ds", dir);
    VKR_ASSERT_OK(vkr_dataset_write(&d, out, NULL, false));
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
    snprintf(bin, cap, "%s/data.bin", out);
}

/* Every single-bit flip anywhere in data.bin fails to load with an error naming the file. */
static void test_data_bin_checksum(void** state) {
    td_fixture* f = *state;
    char bin[700], out[600];
    write_dataset(f->dir, bin, sizeof bin);
    snprintf(out, sizeof out, "%s/ds", f->dir);
    static char img[1 << 16];
    size_t n = slurp(bin, img, sizeof img);
    vkr_dataset d;
    VKR_ASSERT_OK(vkr_dataset_load(out, &d));
    vkr_dataset_free(&d);
    for (size_t k = 0; k < n; k++) {
        img[k] ^= (char)(1u << (k % 8));
        spill(bin, img, n);
        ASSERT_FAILS_WITH(vkr_dataset_load(out, &d), "data.bin");
        img[k] ^= (char)(1u << (k % 8));
    }
    img[100] ^= 1;
    spill(bin, img, n);
    ASSERT_FAILS_WITH(vkr_dataset_load(out, &d), "data.bin is corrupt: its CRC-32 does not match");
    /* An image of the previous format (no checksum) asks for a new prepare. */
    img[100] ^= 1;
    img[8] = 1;
    spill(bin, img, n);
    ASSERT_FAILS_WITH(vkr_dataset_load(out, &d), "re-run vkrec prepare");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_truncated_gzip, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_line, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_bom, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_release_counts, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_data_bin_checksum, td_setup, td_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
