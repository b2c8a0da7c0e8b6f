/* Domain-agnostic categories: on two domains offset by a domain vector but sharing K latent
 * categories, removing the domain directions gives categories that mix both domains while plain
 * k-means follows the domains; seeded determinism; GPU and CPU k-means agree; zero rows are
 * "none"; K above the items is refused; the CSV import round-trips and names file:line on bad files. */
#include "vkr_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_data_util.h"
#include "vkr_agnostic.h"
#include "vkr_data_prep.h"

enum { LATENT = 4, PER = 40, DIM = 16, N = 2 * LATENT * PER };

/* The synthetic input: rows, their domains and latent categories. */
typedef struct synth_set {
    float x[N * DIM];    /* unit rows */
    uint8_t dom[N];      /* domain of each row */
    uint32_t latent[N];  /* latent category of each row */
} synth_set;

/* 2 domains x LATENT categories x PER items: x = center + noise + (domain 1 ? v : 0), unit rows. */
static const synth_set* synth(void) {
    static synth_set s;
    float centers[LATENT * DIM], v[DIM], noise[N * DIM];
    vkr_test_fill_random(centers, LATENT * DIM, 11);
    vkr_test_fill_random(v, DIM, 12);
    vkr_test_fill_random(noise, N * DIM, 13);
    for (uint32_t i = 0; i < N; i++) {
        s.dom[i] = (uint8_t)(i / (LATENT * PER));
        s.latent[i] = i % LATENT;
        double len = 0;
        float* xi = s.x + (size_t)i * DIM;
        for (uint32_t j = 0; j < DIM; j++) {
            xi[j] = centers[s.latent[i] * DIM + j] + 0.1f * noise[(size_t)i * DIM + j] + (s.dom[i] ? 2.5f * v[j] : 0);
            len += (double)xi[j] * xi[j];
        }
        for (uint32_t j = 0; j < DIM; j++) xi[j] = (float)(xi[j] / sqrt(len));
    }
    return &s;
}

/* Fraction of items whose category is the majority category of their latent class. */
static double purity(const vkr_agnostic* a, const uint32_t* latent) {
    uint32_t hits = 0;
    for (uint32_t l = 0; l < LATENT; l++) {
        uint32_t cnt[LATENT] = {0}, best = 0;
        for (uint32_t i = 0; i < a->n; i++)
            if (latent[i] == l && a->assign[2 * i] >= 0) cnt[a->assign[2 * i]]++;
        for (uint32_t c = 0; c < LATENT; c++) best = cnt[c] > best ? cnt[c] : best;
        hits += best;
    }
    return (double)hits / a->n;
}

static void test_removal_mixes_domains(void** state) {
    (void)state;
    const synth_set* s = synth();
    const float* x = s->x;
    const uint8_t* dom = s->dom;
    uint32_t n = N;
    vkr_agnostic a, plain;
    vkr_agnostic_mix mix, plain_mix;
    vkr_agnostic_options o = {.k = LATENT, .seed = 5};
    VKR_ASSERT_OK(vkr_agnostic_derive(vkr_test_shared.device, x, n, DIM, dom, 2, &o, &a));
    VKR_ASSERT_OK(vkr_agnostic_mix_compute(&a, dom, 2, &mix));
    o.keep_domains = true;
    VKR_ASSERT_OK(vkr_agnostic_derive(vkr_test_shared.device, x, n, DIM, dom, 2, &o, &plain));
    VKR_ASSERT_OK(vkr_agnostic_mix_compute(&plain, dom, 2, &plain_mix));
    print_message("agnostic figure: %.3f with removal, %.3f without; latent purity %.3f\n", mix.overall,
                  plain_mix.overall, purity(&a, s->latent));
    assert_true(mix.overall > 0.95);      /* every category holds both domains in proportion */
    assert_true(purity(&a, s->latent) > 0.95); /* and the categories are the latent ones */
    assert_true(plain_mix.overall < 0.2); /* plain k-means splits by domain */
    assert_int_equal(mix.none, 0);
    assert_int_equal(mix.domain_items[0] + mix.domain_items[1], n);
    assert_string_equal(a.names[3], "c3");
    vkr_agnostic_mix_free(&mix), vkr_agnostic_mix_free(&plain_mix);
    vkr_agnostic_free(&a), vkr_agnostic_free(&plain);
}

/* The same seed gives the same categories; the GPU and the CPU reference k-means agree here. */
static void test_deterministic(void** state) {
    (void)state;
    const synth_set* s = synth();
    const float* x = s->x;
    const uint8_t* dom = s->dom;
    uint32_t n = N;
    vkr_agnostic a, b, cpu;
    vkr_agnostic_options o = {.k = 3, .sub = 2, .seed = 9};
    VKR_ASSERT_OK(vkr_agnostic_derive(vkr_test_shared.device, x, n, DIM, dom, 2, &o, &a));
    VKR_ASSERT_OK(vkr_agnostic_derive(vkr_test_shared.device, x, n, DIM, dom, 2, &o, &b));
    VKR_ASSERT_OK(vkr_agnostic_derive(NULL, x, n, DIM, dom, 2, &o, &cpu));
    assert_memory_equal(a.assign, b.assign, sizeof(int32_t) * 2 * n);
    uint32_t differ = 0;
    for (uint32_t i = 0; i < 2 * n; i++) differ += a.assign[i] != cpu.assign[i];
    assert_int_equal(differ, 0);
    assert_int_equal(a.m, 2);
    for (uint32_t i = 0; i < n; i++) assert_true(a.assign[2 * i + 1] >= 0 && a.assign[2 * i + 1] < 2);
    assert_string_equal(a.sub_names[2 * 2 + 1], "c2.1");
    vkr_agnostic_free(&a), vkr_agnostic_free(&b), vkr_agnostic_free(&cpu);
}

/* Zero rows and rows with nothing left after the removal get "none" (-1, -1) and are counted apart;
 * K above the rows with signal is refused, as are bad domains and non-finite values. */
static void test_none_and_too_many(void** state) {
    (void)state;
    enum { R = 9, D = 3 };
    float x[R * D];
    uint8_t dom[R] = {0, 0, 0, 0, 1, 1, 1, 1, 2}; /* item 8 is its domain's mean: no residual */
    vkr_test_fill_random(x, R * D, 4);
    memset(x + 2 * D, 0, D * sizeof *x);
    memset(x + 7 * D, 0, D * sizeof *x);
    vkr_agnostic a;
    vkr_agnostic_mix mix;
    vkr_agnostic_options o = {.k = 2, .sub = 2, .seed = 1};
    VKR_ASSERT_OK(vkr_agnostic_derive(NULL, x, R, D, dom, 3, &o, &a));
    assert_int_equal(a.assign[2 * 2], VKR_AGNOSTIC_NONE);
    assert_int_equal(a.assign[2 * 2 + 1], VKR_AGNOSTIC_NONE);
    assert_int_equal(a.assign[2 * 7], VKR_AGNOSTIC_NONE);
    assert_int_equal(a.assign[2 * 8], VKR_AGNOSTIC_NONE);
    for (uint32_t i = 0; i < R; i++)
        if (i != 2 && i != 7 && i != 8) assert_true(a.assign[2 * i] >= 0 && a.assign[2 * i] < 2);
    VKR_ASSERT_OK(vkr_agnostic_mix_compute(&a, dom, 3, &mix));
    assert_int_equal(mix.none, 3);
    for (int e = 0; e < 3; e++) assert_int_equal(mix.count[2 * 3 + e], 1); /* "none" row: one item per domain */
    assert_int_equal(mix.domains_present, 2);
    vkr_agnostic_mix_free(&mix);
    vkr_agnostic_free(&a);
    o.k = 7; /* 6 rows with signal */
    assert_int_equal(vkr_agnostic_derive(NULL, x, R, D, dom, 3, &o, &a), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "K = 7 is more than the 6 items with a signal"));
    assert_null(a.assign);
    uint8_t bad[R] = {0, 0, 0, 0, 1, 1, 1, 1, 3};
    o.k = 2;
    assert_int_equal(vkr_agnostic_derive(NULL, x, R, D, bad, 3, &o, &a), VKR_ERR_INVALID_ARGUMENT);
    x[5] = NAN;
    assert_int_equal(vkr_agnostic_derive(NULL, x, R, D, dom, 3, &o, &a), VKR_ERR_INVALID_ARGUMENT);
}

/* The balance: a category with the same share of each domain is 1, a one-domain category 0. */
static void test_balance(void** state) {
    (void)state;
    /* Categorized: domain 0 has 2 items, domain 1 has 4. Category 0 = {1 of domain 0, 2 of domain 1}: half
     * of each, balance 1; categories 1 and 2 hold one domain each: 0. Item 6 is none. */
    uint8_t dom[7] = {0, 0, 1, 1, 1, 1, 1};
    int32_t assign[14] = {0, -1, 1, -1, 0, -1, 0, -1, 2, -1, 2, -1, -1, -1};
    vkr_agnostic a = {.n = 7, .k = 3, .assign = assign};
    vkr_agnostic_mix mix;
    VKR_ASSERT_OK(vkr_agnostic_mix_compute(&a, dom, 2, &mix));
    assert_true(fabs(mix.balance[0] - 1) < 1e-12);
    assert_true(mix.balance[1] == 0 && mix.balance[2] == 0);
    assert_true(fabs(mix.overall - 3.0 / 6) < 1e-12);
    assert_int_equal(mix.none, 1);
    assert_int_equal(mix.domains_present, 2);
    vkr_agnostic_mix_free(&mix);
    assign[2] = 5; /* a category beyond K */
    assert_int_equal(vkr_agnostic_mix_compute(&a, dom, 2, &mix), VKR_ERR_INVALID_ARGUMENT);
}

/* The tiny LLMCDSR release of test_data_util.h as a dataset: keys A0 A1 2 | B0 4 5 B3. */
static void tiny_dataset(const char* dir, vkr_dataset* d) {
    write_llmcdsr(dir);
    vkr_raw raw = {0};
    const char* names[2] = {"Food", "Kitchen"};
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, dir, names));
    vkr_prep_options o = vkr_prep_options_default();
    o.split = VKR_SPLIT_GIVEN;
    o.no_filter = true;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, d, &rep));
    vkr_raw_free(&raw);
}

static void test_import(void** state) {
    td_fixture* f = *state;
    vkr_dataset d;
    tiny_dataset(f->dir, &d);
    char path[1024];
    snprintf(path, sizeof path, "%s/cats.csv", f->dir);
    vkr_agnostic a;
    /* BOM, header, CRLF, quotes, a "none" item, subcategory names repeated across categories. */
    td_put(f->dir, "cats.csv",
           "\xEF\xBB\xBFitem,category,subcategory\r\nA0,Cozy,warm\r\nB0,\"Health, wellness\",tea\r\n"
           "A1,Cozy,tea\r\n2,none,\r\n4,Cozy,warm\r\n5,\"Health, wellness\",tea\r\nB3,Health,tea\r\n", 0);
    VKR_ASSERT_OK(vkr_agnostic_import(&d, path, &a));
    assert_int_equal(a.k, 3);
    assert_int_equal(a.m, 2);
    assert_string_equal(a.names[1], "Health, wellness");
    int32_t want[14] = {0, 0, 0, 1, -1, -1, 1, 0, 0, 0, 1, 0, 2, 0}; /* A0 A1 2 | B0 4 5 B3 */
    assert_memory_equal(a.assign, want, sizeof want);
    assert_string_equal(a.sub_names[0 * 2 + 1], "tea");
    assert_string_equal(a.sub_names[1 * 2 + 0], "tea");
    assert_null(a.sub_names[1 * 2 + 1]);
    vkr_agnostic_mix mix;
    VKR_ASSERT_OK(vkr_agnostic_mix_compute(&a, d.item_domain, d.domain_count, &mix));
    assert_int_equal(mix.none, 1);
    vkr_agnostic_mix_free(&mix);
    vkr_agnostic_free(&a);
    /* Without subcategories and header. */
    td_put(f->dir, "cats.csv", "A0,x\nA1,x\n2,y\nB0,y\n4,x\n5,y\nB3,y\n", 0);
    VKR_ASSERT_OK(vkr_agnostic_import(&d, path, &a));
    assert_int_equal(a.k, 2);
    assert_int_equal(a.m, 0);
    assert_null(a.sub_names);
    assert_int_equal(a.assign[2 * 6], 1);
    assert_int_equal(a.assign[2 * 6 + 1], -1);
    vkr_agnostic_free(&a);
    static const struct {
        const char* text;
        const char* error;
    } bad[] = {
        {"A0,x\nA1,x\nZZ,y\n", "cats.csv:3: unknown item 'ZZ'"},
        {"A0,x\nA1,x\nA0,y\n", "cats.csv:3: item 'A0' appears twice"},
        {"A0,x\nA1,x\n2,y\nB0,y\n", "3 items of the dataset are missing, the first '4'"},
        {"A0,x\nA1,\"x\n", "cats.csv:2: malformed quoting"},
        {"A0,x\nA1,x,s\n", "cats.csv:2: 3 fields where the first line has 2"},
        {"A0\n", "cats.csv:1: expected item,category"},
        {"A0,x\nA1,\n", "cats.csv:2: empty category"},
        {"A0,x,s\nA1,x,\n", "cats.csv:2: empty subcategory"},
        {"A0,x\nA1,x", "cats.csv:2: the last line has no newline"},
        {"", "cats.csv: the file is empty"},
        {"A0,none\nA1,none\n2,none\nB0,none\n4,none\n5,none\nB3,none\n", "every item is in category none"},
        {"item,category,sub,extra\n", "cats.csv:1: header with 4 columns"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        td_put(f->dir, "cats.csv", bad[k].text, 0);
        ASSERT_FAILS_WITH(vkr_agnostic_import(&d, path, &a), bad[k].error);
        assert_null(a.assign);
    }
    ASSERT_FAILS_WITH(vkr_agnostic_import(&d, "/nonexistent/cats.csv", &a), "/nonexistent/cats.csv");
    vkr_dataset_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removal_mixes_domains),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_none_and_too_many),
        cmocka_unit_test(test_balance),
        cmocka_unit_test_setup_teardown(test_import, td_setup, td_teardown),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
