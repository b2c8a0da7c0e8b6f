/* Data ingestion and preprocessing on small hand-written inputs: every parser, the errors and
 * counted skips, sort/dedupe/k-core/overlap/splits, and the dataset directory round trip. */
#include "vkr_test.h"

#include <cjson/cJSON.h>

#include "test_data_util.h"
#include "vkr_data_prep.h"

/* Items of user u as a comma-separated string of item keys. */
static void user_items(const vkr_dataset* d, uint32_t u, char* out, size_t cap) {
    out[0] = 0;
    for (uint64_t e = d->seq_begin[u]; e < d->seq_begin[u + 1]; e++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? "," : "", vkr_strtab_get(&d->item_key, d->seq_item[e]));
    }
}

static int64_t find_user(const vkr_dataset* d, const char* key) {
    for (uint32_t u = 0; u < d->user_count; u++)
        if (strcmp(vkr_strtab_get(&d->user_key, u), key) == 0) return u;
    return -1;
}

static void test_llmcdsr_given(void** state) {
    td_fixture* f = *state;
    write_llmcdsr(f->dir);
    vkr_raw raw = {0};
    const char* names[2] = {"Food", "Kitchen"};
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, f->dir, names));
    vkr_prep_options o = vkr_prep_options_default();
    o.split = VKR_SPLIT_GIVEN;
    o.no_filter = true;
    vkr_dataset d;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    assert_int_equal(d.user_count, 6);
    assert_int_equal(d.item_count, 7);
    assert_int_equal(d.event_count, 3 + 3 + 2 + 4 + 4 + 3);
    assert_int_equal(d.item_begin[1], 3); /* ids keep the release's offsets when nothing is filtered */
    assert_string_equal(d.domain_name[1], "Kitchen");
    assert_string_equal(vkr_strtab_get(&d.item_key, 0), "A0");
    assert_string_equal(vkr_strtab_get(&d.item_key, 2), "2"); /* no title row: the seq id stays the key */
    assert_string_equal(vkr_strtab_get(&d.item_title, 3), "Tea kettle");
    assert_string_equal(vkr_strtab_get(&d.item_title, 4), "");
    assert_int_equal(d.valid_count, 1);
    assert_int_equal(d.test_count, 1);
    int64_t vu = find_user(&d, "valid:1");
    assert_true(vu >= 0);
    assert_int_equal(d.valid[0], vu);
    assert_int_equal(d.valid[1], 3);
    assert_int_equal(d.seq_item[d.seq_begin[vu] + 3], 6);
    assert_int_equal(d.train_len[vu], 0);
    assert_int_equal(d.train_len[find_user(&d, "train_overlap:1")], 4);
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(&d, &st);
    assert_int_equal(st.overlap_users, 3);
    assert_int_equal(st.domain[0].interactions, 3 + 2 + 2 + 2);
    assert_int_equal(st.domain[0].text_items, 2);
    assert_int_equal(st.domain[1].valid_targets, 1);
    assert_int_equal(st.domain[0].test_targets, 1);
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
}

static void test_llmcdsr_errors(void** state) {
    td_fixture* f = *state;
    write_llmcdsr(f->dir);
    vkr_raw raw = {0};
    td_put(f->dir, "train_B.txt", "1\t3,4,5\n2\t4,99\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "train_B.txt:2: item id beyond");
    vkr_raw_free(&raw);
    td_put(f->dir, "train_B.txt", "1\t3,4,\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "train_B.txt:1: an item id is empty");
    vkr_raw_free(&raw);
    td_put(f->dir, "train_B.txt", "1 3,4\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "train_B.txt:1: expected 'uid<TAB>");
    vkr_raw_free(&raw);
    td_put(f->dir, "train_B.txt", "1\t3\n1\t4\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "train_B.txt:2: this user id already");
    vkr_raw_free(&raw);
    td_put(f->dir, "train_B.txt", "1\t3\n", 0);
    td_put(f->dir, "derived/items_B.tsv", "seq_id\tlocal_id\tasin\ttitle\n2\t0\tB0\tx\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "items_B.tsv:2: seq_id outside");
    vkr_raw_free(&raw);
    td_put(f->dir, "derived/items_B.tsv", "seq_id\tlocal_id\tasin\ttitle\n3\t0\tB0\tbad \xff title\n", 0);
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, f->dir, NULL));
    assert_int_equal(raw.skip_count, 1);
    assert_non_null(strstr(raw.skips[0].reason, "not UTF-8"));
    assert_non_null(strstr(raw.skips[0].first, "items_B.tsv:2"));
    vkr_raw_free(&raw);
    td_put(f->dir, "num.txt", "3\nfour\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "num.txt:2");
    vkr_raw_free(&raw);
    td_put(f->dir, "num.txt", "3\n4\n", 0);
    char path[600];
    snprintf(path, sizeof path, "%s/test.txt", f->dir);
    FILE* fp = fopen(path, "wb");
    fwrite("1\t1,2\n2\t1\0\n", 1, 11, fp);
    fclose(fp);
    ASSERT_FAILS_WITH(vkr_parse_llmcdsr(&raw, f->dir, NULL), "test.txt:2: NUL byte");
    vkr_raw_free(&raw);
}

static void test_c2dsr_time_order(void** state) {
    td_fixture* f = *state;
    td_put(f->dir, "Alist.txt", "10\tA0\t0\n11\tA1\t1\n12\tA2\t2\n", 0);
    td_put(f->dir, "Blist.txt", "20\tB0\t0\n21\tB1\t1\n", 0);
    td_put(f->dir, "derived/titles_A_from_llmcdsr.tsv", "seq_id\tlocal_id\tasin\ttitle\n1\t1\tA1\tOolong\n", 0);
    /* The target (written last) has an earlier timestamp than the A items; ties keep file order. */
    td_put(f->dir, "validdata_new.txt",
           "0\t5\t0|100|d|\t1|300|d|\t3|100|d|\t4|200|d|\n"
           "1\t6\t2|50|d|\t1|50|d|\t3|60|d|\n",
           0);
    td_put(f->dir, "testdata_new.txt", "2\t7\t0|10|d|\t4|20|d|\t2|5|d|\n", 0);
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_c2dsr(&raw, f->dir, NULL));
    assert_int_equal(raw.skip_count, 1); /* the missing training file is reported */
    vkr_prep_options o = vkr_prep_options_default();
    o.split = VKR_SPLIT_GIVEN;
    o.no_filter = true;
    vkr_dataset d;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    char buf[256];
    user_items(&d, (uint32_t)find_user(&d, "valid:0"), buf, sizeof buf);
    assert_string_equal(buf, "A0,B0,B1,A1");
    user_items(&d, (uint32_t)find_user(&d, "valid:1"), buf, sizeof buf);
    assert_string_equal(buf, "A2,A1,B0");
    user_items(&d, (uint32_t)find_user(&d, "test:2"), buf, sizeof buf);
    assert_string_equal(buf, "A2,A0,B1");
    assert_true(d.has_time);
    assert_string_equal(vkr_strtab_get(&d.item_title, 1), "Oolong");
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(&d, &st);
    assert_int_equal(st.domain[0].valid_targets, 1);
    assert_int_equal(st.domain[1].valid_targets, 1);
    assert_int_equal(st.domain[1].test_targets, 1);
    assert_int_equal(st.train_interactions, 0);
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
    td_put(f->dir, "testdata_new.txt", "2\t7\t0|10|d|\t9|20|d|\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_c2dsr(&raw, f->dir, NULL), "testdata_new.txt:1: item id beyond");
    vkr_raw_free(&raw);
    td_put(f->dir, "testdata_new.txt", "2\t7\t0|x|d|\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_c2dsr(&raw, f->dir, NULL), "testdata_new.txt:1: a token is not");
    vkr_raw_free(&raw);
    td_put(f->dir, "Blist.txt", "20\tB0\t0\n21\tB1\t0\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_c2dsr(&raw, f->dir, NULL), "Blist.txt:2: local_idx repeats");
    vkr_raw_free(&raw);
}

static void test_amazon(void** state) {
    td_fixture* f = *state;
    td_put(f->dir, "food.json.gz",
           "{\"reviewerID\": \"U1\", \"asin\": \"F1\", \"unixReviewTime\": 300, \"overall\": 5.0}\n"
           "{\"reviewerID\": \"U1\", \"asin\": \"F2\", \"unixReviewTime\": 100}\n"
           "\n"
           "{\"reviewerID\": \"U2\", \"asin\": \"F1\", \"unixReviewTime\": \"200\"}\n"
           "{\"reviewerID\": \"U2\", \"asin\": \"F3\"}\n"
           "not json at all\n"
           "{\"user_id\": \"U3\", \"asin\": \"F2\", \"timestamp\": 1500000}\n",
           1);
    td_put(f->dir, "food_meta.json",
           "{\"asin\": \"F1\", \"title\": \"Green Tea\", \"categories\": [[\"Grocery\", \"Tea\"]], \"description\": \"Fresh\"}\n"
           "{'asin': 'F2', 'title': 'python literal'}\n"
           "{\"asin\": \"F9\", \"title\": \"Nobody bought me\"}\n"
           "{\"asin\": \"F2\", \"title\": \"Honey\", \"category\": [\"Grocery\"], \"description\": [\"Sweet\", \"Raw\"]}\n",
           0);
    td_put(f->dir, "kitchen.json", "{\"reviewerID\": \"U1\", \"asin\": \"K1\", \"unixReviewTime\": 200}\n"
                                   "{\"reviewerID\": \"U3\", \"asin\": \"K1\", \"unixReviewTime\": 1}\n", 0);
    char reviews[600], meta[600], kitchen[600];
    snprintf(reviews, sizeof reviews, "%s/food.json.gz", f->dir);
    snprintf(meta, sizeof meta, "%s/food_meta.json", f->dir);
    snprintf(kitchen, sizeof kitchen, "%s/kitchen.json", f->dir);
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_amazon(&raw, "Food", reviews, meta));
    VKR_ASSERT_OK(vkr_parse_amazon(&raw, "Kitchen", kitchen, NULL));
    assert_int_equal(raw.event_count, 6);
    uint64_t skipped = 0;
    for (uint32_t k = 0; k < raw.skip_count; k++) skipped += raw.skips[k].count;
    assert_int_equal(skipped, 4); /* no time, not JSON, Python literal, metadata without reviews */
    vkr_prep_options o = vkr_prep_options_default();
    o.no_filter = true;
    vkr_dataset d;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    char buf[256];
    user_items(&d, (uint32_t)find_user(&d, "U1"), buf, sizeof buf);
    assert_string_equal(buf, "F2,K1,F1");
    assert_int_equal(d.seq_time[d.seq_begin[find_user(&d, "U3")] + 1], 1500); /* 2023 timestamps are ms */
    int f1 = -1;
    for (uint32_t i = 0; i < d.item_count; i++)
        if (strcmp(vkr_strtab_get(&d.item_key, i), "F1") == 0) f1 = (int)i;
    assert_true(f1 >= 0);
    assert_string_equal(vkr_strtab_get(&d.item_title, f1), "Green Tea");
    assert_string_equal(vkr_strtab_get(&d.item_text, f1), "Fresh ; Grocery ; Tea");
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
    td_put(f->dir, "kitchen.json", "garbage\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_amazon(&raw, "Kitchen", kitchen, NULL), "no usable review");
    vkr_raw_free(&raw);
}

static void test_csv(void** state) {
    td_fixture* f = *state;
    td_put(f->dir, "inter.csv",
           "user,item,timestamp,domain\n"
           "u1,\"i,1\",5,Books\n"
           "u1,m1,6,Movies\n"
           "u1,i2,7,Books\n"
           "u2,i2,1,Books\n"
           "u2,,3,Books\n"
           "u3,m1,9,Movies\n",
           0);
    td_put(f->dir, "items.tsv", "item\tdomain\ttitle\ttext\ni,1\tBooks\tThe \"Comma\" Book\tabout commas\n"
                                "m1\tMovies\tFilm\n"
                                "zz\tMovies\tUnseen\n", 0);
    char inter[600], items[600];
    snprintf(inter, sizeof inter, "%s/inter.csv", f->dir);
    snprintf(items, sizeof items, "%s/items.tsv", f->dir);
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_csv(&raw, inter, items));
    assert_int_equal(raw.event_count, 5);
    assert_int_equal(raw.skip_count, 2);
    vkr_prep_options o = vkr_prep_options_default();
    o.no_filter = true;
    vkr_dataset d;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    assert_int_equal(rep.short_users, 2); /* u2 and u3 have one event left each */
    assert_int_equal(d.user_count, 1);
    assert_string_equal(vkr_strtab_get(&d.item_key, 0), "i,1");
    assert_string_equal(vkr_strtab_get(&d.item_title, 0), "The \"Comma\" Book");
    assert_string_equal(vkr_strtab_get(&d.item_text, 0), "about commas");
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
    td_put(f->dir, "inter.csv", "u1,i1,5,Books\nu1,i2,6\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_csv(&raw, inter, NULL), "inter.csv:2: expected 4 comma-separated");
    vkr_raw_free(&raw);
    td_put(f->dir, "inter.csv", "u1,\"i1,5,Books\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_csv(&raw, inter, NULL), "inter.csv:1: malformed quoting");
    vkr_raw_free(&raw);
    td_put(f->dir, "inter.csv", "u1,i1,yesterday,Books\n", 0);
    ASSERT_FAILS_WITH(vkr_parse_csv(&raw, inter, NULL), "inter.csv:1: timestamp");
    vkr_raw_free(&raw);
}

/* A two-domain CSV built so each filter step has something to remove. */
static void write_filter_csv(const char* path) {
    FILE* fp = fopen(path, "w");
    assert_non_null(fp);
    int t = 0;
    /* 12 users each with 4 of 5 popular A items and 3 popular B items. */
    for (int u = 0; u < 12; u++) {
        for (int k = 0; k < 4; k++) fprintf(fp, "u%d,a%d,%d,A\n", u, (u + k) % 5, t++);
        for (int k = 0; k < 3; k++) fprintf(fp, "u%d,b%d,%d,B\n", u, (u + k) % 4, t++);
    }
    fprintf(fp, "u0,a0,%d,A\n", t++);   /* a duplicate of u0's a0 */
    fprintf(fp, "u1,rare,%d,A\n", t++); /* an item below min_item */
    for (int k = 0; k < 5; k++) fprintf(fp, "solo,a%d,%d,A\n", k, t++); /* A only: overlap drops it */
    fprintf(fp, "thin,a1,%d,A\nthin,a2,%d,A\nthin,a3,%d,A\nthin,b1,%d,B\n", t, t + 1, t + 2, t + 3);
    fclose(fp);
}

static void test_filters_and_loo(void** state) {
    td_fixture* f = *state;
    char path[600];
    snprintf(path, sizeof path, "%s/f.csv", f->dir);
    write_filter_csv(path);
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_csv(&raw, path, NULL));
    vkr_prep_options o = vkr_prep_options_default();
    o.min_item = 5;
    o.max_len = 3;
    vkr_dataset d;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    assert_int_equal(rep.duplicates, 1);
    assert_int_equal(d.user_count, 12); /* solo (no B) and thin (one B event) are gone */
    assert_int_equal(d.item_count, 9);
    assert_int_equal(d.event_count, 12 * 7);
    assert_true(find_user(&d, "solo") < 0 && find_user(&d, "thin") < 0);
    assert_int_equal(d.valid_count, 12);
    for (uint32_t k = 0; k < d.test_count; k++) {
        uint32_t u = d.test[2 * k];
        assert_int_equal(d.test[2 * k + 1], vkr_dataset_user_len(&d, u) - 1);
        assert_int_equal(d.valid[2 * k + 1], vkr_dataset_user_len(&d, u) - 2);
        assert_int_equal(d.train_len[u], vkr_dataset_user_len(&d, u) - 2);
    }
    /* History windows: mixed, one domain, truncated to the most recent. */
    uint32_t u = (uint32_t)find_user(&d, "u0"), h[8];
    assert_int_equal(vkr_dataset_history(&d, u, 7, VKR_DOMAINS_ALL, d.max_len, h), 3);
    assert_int_equal(h[2], d.seq_item[d.seq_begin[u] + 6]);
    assert_int_equal(vkr_dataset_history(&d, u, 6, 1u << 0, 0, h), 4);
    assert_int_equal(vkr_dataset_history(&d, u, 6, 1u << 1, 0, h), 2);
    vkr_dataset_free(&d);

    /* --target B: the last two B events are test and validation. */
    o.target = "B";
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    assert_int_equal(d.target_domain, 1);
    for (uint32_t k = 0; k < d.test_count; k++) {
        uint32_t tu = d.test[2 * k];
        assert_int_equal(d.item_domain[d.seq_item[d.seq_begin[tu] + d.test[2 * k + 1]]], 1);
        assert_int_equal(d.item_domain[d.seq_item[d.seq_begin[tu] + d.valid[2 * k + 1]]], 1);
        assert_true(d.valid[2 * k + 1] < d.test[2 * k + 1]);
    }
    vkr_dataset_free(&d);
    o.target = "C";
    ASSERT_FAILS_WITH(vkr_data_prepare(&raw, &o, &d, &rep), "--target 'C' is not a domain");
    o.target = NULL;
    o.min_item = 100;
    ASSERT_FAILS_WITH(vkr_data_prepare(&raw, &o, &d, &rep), "no items left after filtering");
    o.split = VKR_SPLIT_GIVEN;
    ASSERT_FAILS_WITH(vkr_data_prepare(&raw, &o, &d, &rep), "--split given needs a release");
    vkr_raw_free(&raw);
}

static void test_directory_round_trip(void** state) {
    td_fixture* f = *state;
    write_llmcdsr(f->dir);
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, f->dir, NULL));
    vkr_prep_options o = vkr_prep_options_default();
    o.no_filter = true;
    vkr_dataset d, back;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, &d, &rep));
    char out[600], path[700];
    snprintf(out, sizeof out, "%s/ds", f->dir);
    VKR_ASSERT_OK(vkr_dataset_write(&d, out, NULL, false));
    ASSERT_FAILS_WITH(vkr_dataset_write(&d, out, NULL, false), "pass --force");
    VKR_ASSERT_OK(vkr_dataset_write(&d, out, NULL, true));
    VKR_ASSERT_OK(vkr_dataset_load(out, &back));
    assert_int_equal(back.user_count, d.user_count);
    assert_int_equal(back.event_count, d.event_count);
    assert_int_equal(back.valid_count, d.valid_count);
    assert_memory_equal(back.seq_item, d.seq_item, d.event_count * 4);
    assert_memory_equal(back.test, d.test, d.test_count * 8);
    assert_string_equal(vkr_strtab_get(&back.item_title, 1), "Black tea");
    assert_int_equal(back.max_len, 50);
    vkr_dataset_free(&back);

    /* A directory that is not a dataset is never overwritten. */
    char other[600];
    snprintf(other, sizeof other, "%s/derived", f->dir);
    ASSERT_FAILS_WITH(vkr_dataset_write(&d, other, NULL, true), "is not a dataset");

    /* Incompatible versions and damaged files are clear errors. */
    snprintf(path, sizeof path, "%s/dataset.json", out);
    FILE* fp = fopen(path, "r");
    char json[65536];
    size_t n = fread(json, 1, sizeof json - 1, fp);
    fclose(fp);
    json[n] = 0;
    cJSON* j = cJSON_Parse(json);
    cJSON_ReplaceItemInObject(j, "version", cJSON_CreateNumber(VKR_DATASET_VERSION + 1));
    char* text = cJSON_Print(j);
    td_put(out, "dataset.json", text, 0);
    ASSERT_FAILS_WITH(vkr_dataset_load(out, &back), "incompatible vkrec");
    cJSON_ReplaceItemInObject(j, "version", cJSON_CreateNumber(VKR_DATASET_VERSION));
    free(text);
    text = cJSON_Print(j);
    td_put(out, "dataset.json", text, 0);
    free(text);
    cJSON_Delete(j);
    VKR_ASSERT_OK(vkr_dataset_load(out, &back));
    vkr_dataset_free(&back);
    snprintf(path, sizeof path, "%s/data.bin", out);
    assert_int_equal(truncate(path, 100), 0);
    ASSERT_FAILS_WITH(vkr_dataset_load(out, &back), "truncated or corrupt");
    snprintf(path, sizeof path, "%s/nothing", f->dir);
    ASSERT_FAILS_WITH(vkr_dataset_load(path, &back), "not a dataset directory");
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
}

/* A prepare that fails leaves no directory behind (and no temporary sibling). */
static void test_failed_prepare_leaves_nothing(void** state) {
    td_fixture* f = *state;
    const char* cli = getenv("VKR_CLI");
    if (!cli) skip();
    write_llmcdsr(f->dir);
    td_put(f->dir, "test.txt", "1\t1,77\n", 0);
    char cmd[2048], out[600];
    snprintf(out, sizeof out, "%s/out", f->dir);
    snprintf(cmd, sizeof cmd, "'%s' prepare --format llmcdsr '%s' --out '%s' --quiet 2>/dev/null", cli, f->dir, out);
    assert_int_not_equal(system(cmd), 0);
    assert_false(vkr_path_exists(out));
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q 'out\\.'", f->dir);
    assert_int_not_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_llmcdsr_given, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_llmcdsr_errors, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_c2dsr_time_order, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_amazon, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_csv, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_filters_and_loo, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_directory_round_trip, td_setup, td_teardown),
        cmocka_unit_test_setup_teardown(test_failed_prepare_leaves_nothing, td_setup, td_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
