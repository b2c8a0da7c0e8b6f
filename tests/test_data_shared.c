/* The real releases: with filters off and --split given, prepare + stats reproduce the counts their
 * PROVENANCE.md files state (VKR_SHARED_DATA); the bundled sample (VKR_ASSETS) prepares with the
 * documented counts, is its own k-core and prepares through the command line, and the default filtered
 * run yields a dataset. */
#include "vkr_test.h"

#include <cjson/cJSON.h>

#include "test_data_util.h"
#include "vkr_data_prep.h"

typedef vkr_status (*parse_fn)(vkr_raw*, const char*, const char* const[2]);

/* Parses and prepares dir/sub; skips the test with a message when the data is absent. */
static void prepare_release(const char* env, const char* sub, parse_fn parse, const vkr_prep_options* o,
                            vkr_dataset* d) {
    const char* base = getenv(env);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", base ? base : "", sub);
    if (!base || !vkr_path_exists(dir)) {
        fprintf(stderr, "skipping: %s not found (set %s)\n", dir, env);
        skip();
    }
    vkr_raw raw = {0};
    vkr_prep_report rep;
    VKR_ASSERT_OK(parse(&raw, dir, NULL));
    VKR_ASSERT_OK(vkr_data_prepare(&raw, o, d, &rep));
    vkr_raw_free(&raw);
}

static vkr_prep_options given_raw(void) {
    vkr_prep_options o = vkr_prep_options_default();
    o.split = VKR_SPLIT_GIVEN;
    o.no_filter = true;
    return o;
}

static void test_llmcdsr_provenance_counts(void** state) {
    (void)state;
    vkr_prep_options o = given_raw();
    vkr_dataset d;
    prepare_release("VKR_SHARED_DATA", "amazon-food-kitchen-llmcdsr", vkr_parse_llmcdsr, &o, &d);
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(&d, &st);
    assert_int_equal(st.users, 53061);
    assert_int_equal(st.interactions, 436127);
    assert_int_equal(st.domain[0].items, 8661);
    assert_int_equal(st.domain[1].items, 27637);
    assert_int_equal(st.domain[0].interactions, 37281 + 45849 + 8739 + 6447);
    assert_int_equal(st.domain[1].interactions, 265817 + 53321 + 9394 + 9279);
    assert_int_equal(st.overlap_users, 7501 + 960 + 937);
    assert_int_equal(st.valid, 960);
    assert_int_equal(st.test, 937);
    assert_int_equal(st.domain[0].valid_targets, 363);
    assert_int_equal(st.domain[1].valid_targets, 597);
    assert_int_equal(st.domain[0].test_targets, 300);
    assert_int_equal(st.domain[1].test_targets, 637);
    assert_int_equal(st.train_interactions, 37281 + 265817 + 99170);
    assert_int_equal(st.min_len, 5);
    assert_int_equal(st.max_len, 156);
    assert_int_equal(st.domain[0].text_items, 8661);
    assert_int_equal(st.domain[1].text_items, 27637);
    vkr_dataset_free(&d);
}

static void test_c2dsr_provenance_counts(void** state) {
    (void)state;
    vkr_prep_options o = given_raw();
    vkr_dataset d;
    prepare_release("VKR_SHARED_DATA", "amazon-food-kitchen-c2dsr", vkr_parse_c2dsr, &o, &d);
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(&d, &st);
    assert_int_equal(st.users, 16579);
    assert_int_equal(st.interactions, 80447 + 82787);
    assert_int_equal(st.domain[0].interactions, 37975 + 38867);
    assert_int_equal(st.domain[1].interactions, 42472 + 43920);
    assert_int_equal(st.domain[0].items, 24354);
    assert_int_equal(st.domain[1].items, 29000);
    assert_int_equal(st.overlap_users, 16579);
    assert_int_equal(st.valid, 8173);
    assert_int_equal(st.test, 8406);
    /* The target is the last token after the stable time sort, not the last one written. */
    assert_int_equal(st.domain[0].valid_targets, 2722);
    assert_int_equal(st.domain[1].valid_targets, 5451);
    assert_int_equal(st.domain[0].test_targets, 2747);
    assert_int_equal(st.domain[1].test_targets, 5659);
    assert_int_equal(st.min_len, 6);
    assert_int_equal(st.max_len, 15);
    /* Titles come from the LLMCDSR release for part of the items only. */
    assert_true(st.domain[0].text_coverage > 0.2 && st.domain[0].text_coverage < 0.5);
    for (uint32_t u = 0; u < d.user_count; u++)
        for (uint64_t e = d.seq_begin[u] + 1; e < d.seq_begin[u + 1]; e++) assert_true(d.seq_time[e - 1] <= d.seq_time[e]);
    vkr_dataset_free(&d);
}

static void test_default_filtered_loo(void** state) {
    (void)state;
    vkr_prep_options o = vkr_prep_options_default();
    vkr_dataset d;
    prepare_release("VKR_SHARED_DATA", "amazon-food-kitchen-llmcdsr", vkr_parse_llmcdsr, &o, &d);
    vkr_dataset_stats st;
    vkr_dataset_stats_compute(&d, &st);
    fprintf(stderr, "default filtered leave-one-out (LLMCDSR): ");
    vkr_dataset_stats_print(&d, &st, stderr);
    assert_true(st.users > 500);
    assert_int_equal(st.overlap_users, st.users);
    assert_int_equal(st.valid, st.users);
    /* Every surviving item has >= 10 interactions and every user >= 3 per domain. */
    uint32_t* count = calloc(d.item_count, sizeof *count);
    for (uint64_t e = 0; e < d.event_count; e++) count[d.seq_item[e]]++;
    for (uint32_t i = 0; i < d.item_count; i++) assert_true(count[i] >= 10);
    free(count);
    for (uint32_t u = 0; u < d.user_count; u++) {
        uint32_t per[2] = {0, 0};
        for (uint64_t e = d.seq_begin[u]; e < d.seq_begin[u + 1]; e++) per[d.item_domain[d.seq_item[e]]]++;
        assert_true(per[0] >= 3 && per[1] >= 3);
    }
    vkr_dataset_free(&d);
}

/* Prepares the bundled sample with `o`, checks its size (PROVENANCE.md: the same under either split
 * when no filter removes anything) and returns its statistics. */
static void sample_stats(const vkr_prep_options* o, vkr_dataset_stats* st) {
    vkr_dataset d;
    prepare_release("VKR_ASSETS", "food-kitchen-sample", vkr_parse_llmcdsr, o, &d);
    vkr_dataset_stats_compute(&d, st);
    vkr_dataset_free(&d);
    assert_int_equal(st->users, 2948);
    assert_int_equal(st->items, 2525);
    assert_int_equal(st->interactions, 39776);
}

static void test_sample_counts(void** state) {
    (void)state;
    vkr_prep_options o = given_raw();
    vkr_dataset_stats st;
    sample_stats(&o, &st);
    assert_int_equal(st.overlap_users, 2948);
    assert_int_equal(st.domain[0].text_items, 906);
    assert_int_equal(st.domain[1].text_items, 1619);
    assert_int_equal(st.valid, 551);
    assert_int_equal(st.test, 490);
    assert_int_equal(st.domain[0].test_targets, 181);
    assert_int_equal(st.domain[1].test_targets, 309);
}

/* The sample is its own k-core (PROVENANCE.md): the 5-item, 3-per-domain filters remove nothing, and
 * leave-one-out gives every user a test target, over a thousand in each domain. */
static void test_sample_is_core(void** state) {
    (void)state;
    vkr_prep_options o = vkr_prep_options_default();
    o.min_item = 5;
    o.min_user = 3;
    vkr_dataset_stats st;
    sample_stats(&o, &st);
    assert_int_equal(st.test, 2948);
    assert_int_equal(st.domain[0].test_targets, 1257);
    assert_int_equal(st.domain[1].test_targets, 1691);
}

/* The command line end to end: prepare the sample as the demo does, then stats --json. */
static void test_cli_prepare_stats(void** state) {
    (void)state;
    const char* cli = getenv("VKR_CLI");
    const char* assets = getenv("VKR_ASSETS");
    if (!cli || !assets) skip();
    char tmp[512], cmd[4096], path[700];
    td_mkdtemp(tmp);
    snprintf(cmd, sizeof cmd,
             "'%s' prepare --format llmcdsr '%s/food-kitchen-sample' --domain-names Food,Kitchen --min-item 5 "
             "--min-user 2 --target Food --out '%s/ds' --quiet && '%s' stats '%s/ds' --json > '%s/stats.json'",
             cli, assets, tmp, cli, tmp, tmp);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/stats.json", tmp);
    FILE* f = fopen(path, "r");
    assert_non_null(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON* j = cJSON_Parse(text);
    assert_non_null(j);
    const cJSON* doms = cJSON_GetObjectItem(j, "domains");
    assert_int_equal(cJSON_GetArraySize(doms), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(doms, 0), "name")->valuestring, "Food");
    assert_true(cJSON_GetObjectItem(j, "users")->valuedouble > 1000);
    assert_true(cJSON_GetObjectItem(j, "overlap_users")->valuedouble == cJSON_GetObjectItem(j, "users")->valuedouble);
    assert_true(cJSON_GetObjectItem(j, "interactions")->valuedouble > 10000);
    assert_string_equal(cJSON_GetObjectItem(j, "target")->valuestring, "Food");
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(doms, 1), "text_coverage")->valuedouble == 1.0);
    cJSON_Delete(j);
    td_rmtree(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llmcdsr_provenance_counts), cmocka_unit_test(test_c2dsr_provenance_counts),
        cmocka_unit_test(test_default_filtered_loo),      cmocka_unit_test(test_sample_counts),
        cmocka_unit_test(test_sample_is_core),
        cmocka_unit_test(test_cli_prepare_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
