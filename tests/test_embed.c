/* Item embeddings: the randomized SVD against a matrix with known singular vectors (GPU and CPU
 * paths), TF-IDF, and the sources of vkrec embed on the bundled sample: titles that share words are
 * nearer than random pairs, items that co-occur are nearer than random pairs, imports are checked. */
#include "vkr_test.h"

#include <math.h>

#include "test_data_util.h"
#include "vkr_data_prep.h"
#include "vkr_embed.h"
#include "vkr_npy.h"

/* A = sum_k s_k u_k v_k^T with u_k, v_k normalized indicators of disjoint row/column blocks: the
 * singular values are s_k and rows of one block share their singular vector. */
static const float block_s[6] = {9.0f, 6.0f, 4.0f, 2.5f, 1.0f, 0.3f};
static uint32_t block_of_row(uint32_t i) { return (i * 7 + 3) % 6; }
static uint32_t block_of_col(uint32_t j) { return (j * 5 + 1) % 6; }

static void block_matrix(uint32_t rows, uint32_t cols, vkr_csr* a) {
    uint32_t rn[6] = {0}, cn[6] = {0};
    for (uint32_t i = 0; i < rows; i++) rn[block_of_row(i)]++;
    for (uint32_t j = 0; j < cols; j++) cn[block_of_col(j)]++;
    VKR_ASSERT_OK(vkr_csr_alloc(rows, cols, rows * cols, a));
    uint32_t nnz = 0;
    for (uint32_t i = 0; i < rows; i++) {
        uint32_t b = block_of_row(i);
        for (uint32_t j = 0; j < cols; j++)
            if (block_of_col(j) == b) {
                a->col[nnz] = j;
                a->val[nnz++] = block_s[b] / sqrtf((float)rn[b] * (float)cn[b]);
            }
        a->row_ptr[i + 1] = nnz;
    }
    a->nnz = nnz;
}

static double cosine(const float* a, const float* b, uint32_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t k = 0; k < d; k++) ab += (double)a[k] * b[k], aa += (double)a[k] * a[k], bb += (double)b[k] * b[k];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static void check_block_svd(vkr_device* dev, uint32_t dim) {
    uint32_t rows = 211, cols = 97;
    vkr_csr a;
    block_matrix(rows, cols, &a);
    float* e = malloc(sizeof(float) * rows * dim);
    float sv[16];
    vkr_svd_options o = {.dim = dim, .oversample = 4, .power_iters = 2, .seed = 5};
    VKR_ASSERT_OK(vkr_svd_embed(dev, &a, &o, e, sv));
    for (uint32_t k = 0; k < dim && k < 6; k++)
        if (fabsf(sv[k] - block_s[k]) > 1e-3f * block_s[0]) fail_msg("singular value %u: %g, expected %g", k, sv[k], block_s[k]);
    for (uint32_t k = 6; k < dim; k++) assert_true(fabsf(sv[k]) < 1e-3f);
    for (uint32_t i = 0; i < rows; i += 5)
        for (uint32_t j = 1; j < rows; j += 7) {
            uint32_t bi = block_of_row(i), bj = block_of_row(j);
            double c = cosine(e + (size_t)i * dim, e + (size_t)j * dim, dim);
            if (bi >= dim || bj >= dim) continue; /* blocks beyond the kept rank are not separated */
            if (fabs(c - (bi == bj ? 1.0 : 0.0)) > 1e-3) fail_msg("rows %u, %u (blocks %u, %u): cosine %g", i, j, bi, bj, c);
        }
    for (uint32_t i = 0; i < rows * dim; i++) assert_true(isfinite(e[i]));
    free(e);
    vkr_csr_free(&a);
}

static void test_svd_known_spectrum(void** state) {
    (void)state;
    check_block_svd(vkr_test_shared.device, 4);
    check_block_svd(NULL, 4);
    check_block_svd(vkr_test_shared.device, 9); /* more columns than the rank: extra directions are zero */
}

static void test_tfidf(void** state) {
    (void)state;
    const char* docs[] = {"Green Tea Bags", "green tea &amp; honey", "Tea Kettle, Stainless", "", NULL, "12 of the xx"};
    vkr_csr m;
    VKR_ASSERT_OK(vkr_tfidf(docs, 6, NULL, &m));
    /* Kept (df >= 2): green, tea, "green tea". */
    assert_int_equal(m.cols, 3);
    assert_int_equal(m.row_ptr[1] - m.row_ptr[0], 3);
    assert_int_equal(m.row_ptr[3] - m.row_ptr[2], 1);
    assert_int_equal(m.row_ptr[6], m.row_ptr[3]); /* empty, NULL, stop words and numbers */
    for (uint32_t r = 0; r < 3; r++) {
        double n = 0;
        for (uint32_t k = m.row_ptr[r]; k < m.row_ptr[r + 1]; k++) n += (double)m.val[k] * m.val[k];
        assert_true(fabs(n - 1) < 1e-6);
    }
    vkr_csr t;
    VKR_ASSERT_OK(vkr_csr_transpose(&m, &t));
    assert_int_equal(t.rows, 3);
    assert_int_equal(t.nnz, m.nnz);
    vkr_csr_free(&t);
    /* the same matrix with each column's term; unigrams only drops the bigram */
    vkr_csr m2;
    char** terms = NULL;
    VKR_ASSERT_OK(vkr_tfidf_terms(docs, 6, NULL, &m2, &terms));
    assert_int_equal(m2.nnz, m.nnz);
    assert_memory_equal(m2.col, m.col, m.nnz * sizeof *m.col);
    assert_string_equal(terms[0], "green");
    assert_string_equal(terms[1], "tea");
    assert_string_equal(terms[2], "green tea");
    assert_null(terms[3]);
    free(terms);
    vkr_csr_free(&m2);
    VKR_ASSERT_OK(vkr_tfidf_terms(docs, 6, &(vkr_tfidf_options){.unigrams_only = true}, &m2, &terms));
    assert_int_equal(m2.cols, 2);
    assert_string_equal(terms[1], "tea");
    free(terms);
    vkr_csr_free(&m2);
    vkr_csr_free(&m);
}

/* The bundled sample's 10-core (603 items), as the other sample-based tests prepare it. */
static void load_sample(vkr_dataset* d) {
    const char* assets = getenv("VKR_ASSETS");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/food-kitchen-sample", assets ? assets : "");
    if (!assets || !vkr_path_exists(dir)) {
        fprintf(stderr, "skipping: %s not found (set VKR_ASSETS)\n", dir);
        skip();
    }
    vkr_raw raw = {0};
    VKR_ASSERT_OK(vkr_parse_llmcdsr(&raw, dir, NULL));
    vkr_prep_options o = vkr_prep_options_default();
    o.min_item = 10;
    o.min_user = 3;
    vkr_prep_report rep;
    VKR_ASSERT_OK(vkr_data_prepare(&raw, &o, d, &rep));
    vkr_raw_free(&raw);
}

static void collect(const char* tok, uint32_t n, void* user) {
    char* set = user; /* " tok1 tok2 ... " */
    char key[80];
    snprintf(key, sizeof key, " %.*s ", (int)n, tok);
    size_t len = strlen(set);
    if (!strstr(set, key) && len + n + 2 < 1024) snprintf(set + len, 1024 - len, "%.*s ", (int)n, tok);
}

static bool share_word(const char* a, const char* b) {
    char sa[1024] = " ", sb[1024] = " ";
    vkr_text_tokens(a, collect, sa);
    vkr_text_tokens(b, collect, sb);
    for (char* t = strtok(sa, " "); t; t = strtok(NULL, " ")) {
        char key[80];
        snprintf(key, sizeof key, " %s ", t);
        if (strstr(sb, key)) return true;
    }
    return false;
}

static void test_text_embedding_neighbours(void** state) {
    (void)state;
    vkr_dataset d;
    load_sample(&d);
    vkr_embed_options o = {.source = VKR_EMBED_TEXT, .svd = {.dim = 32}};
    float* e = malloc(sizeof(float) * d.item_count * 32);
    vkr_embed_report rep;
    VKR_ASSERT_OK(vkr_embed_items(vkr_test_shared.device, &d, &o, e, &rep));
    assert_true(rep.text_items > d.item_count * 9 / 10);
    /* Pairs drawn deterministically; pairs sharing a word against all other pairs. */
    double shared = 0, other = 0;
    uint32_t ns = 0, no = 0;
    uint32_t s = 12345;
    for (int t = 0; t < 20000; t++) {
        s = s * 1664525u + 1013904223u;
        uint32_t i = (s >> 8) % d.item_count;
        s = s * 1664525u + 1013904223u;
        uint32_t j = (s >> 8) % d.item_count;
        if (i == j) continue;
        double c = cosine(e + (size_t)i * 32, e + (size_t)j * 32, 32);
        if (share_word(vkr_strtab_get(&d.item_title, i), vkr_strtab_get(&d.item_title, j))) shared += c, ns++;
        else other += c, no++;
    }
    shared /= ns;
    other /= no;
    fprintf(stderr, "mean cosine: %u pairs sharing a title word %.3f, %u other pairs %.3f\n", ns, shared, no, other);
    assert_true(ns > 100);
    assert_true(shared > other + 0.1);
    free(e);
    vkr_dataset_free(&d);
}

static void test_cooc_and_auto(void** state) {
    (void)state;
    vkr_dataset d;
    load_sample(&d);
    uint32_t dim = 16;
    float* e = malloc(sizeof(float) * d.item_count * dim);
    vkr_embed_options o = {.source = VKR_EMBED_COOC, .svd = {.dim = dim}};
    vkr_embed_report rep;
    VKR_ASSERT_OK(vkr_embed_items(vkr_test_shared.device, &d, &o, e, &rep));
    assert_int_equal(rep.cooc_items + rep.zero_items, d.item_count);
    /* Items adjacent in a training sequence against random pairs. */
    double adj = 0, rnd = 0;
    uint32_t na = 0;
    uint32_t s = 99;
    for (uint32_t u = 0; u < d.user_count; u++)
        for (uint32_t p = 1; p < d.train_len[u]; p++) {
            uint32_t i = d.seq_item[d.seq_begin[u] + p - 1], j = d.seq_item[d.seq_begin[u] + p];
            s = s * 1664525u + 1013904223u;
            uint32_t r = (s >> 8) % d.item_count;
            adj += cosine(e + (size_t)i * dim, e + (size_t)j * dim, dim);
            rnd += cosine(e + (size_t)i * dim, e + (size_t)r * dim, dim);
            na++;
        }
    fprintf(stderr, "mean cosine: adjacent %.3f, random %.3f (%u pairs)\n", adj / na, rnd / na, na);
    assert_true(adj / na > rnd / na + 0.1);
    o.source = VKR_EMBED_AUTO;
    VKR_ASSERT_OK(vkr_embed_items(vkr_test_shared.device, &d, &o, e, &rep));
    assert_int_equal(rep.text_items + rep.cooc_items + rep.zero_items, d.item_count);
    assert_true(rep.text_items > 0);
    free(e);
    vkr_dataset_free(&d);
}

/* BOTH puts the text embedding (dim/2) beside the co-occurrence embedding (the rest) of the same
 * settings: each half is its source's row up to one positive factor, and rows are unit length. */
static void test_both(void** state) {
    (void)state;
    vkr_dataset d;
    load_sample(&d);
    const uint32_t dim = 15, dt = 7, dc = 8; /* odd: the co-occurrence part takes the extra column */
    float* both = malloc(sizeof(float) * d.item_count * dim);
    float* text = malloc(sizeof(float) * d.item_count * dt);
    float* cooc = malloc(sizeof(float) * d.item_count * dc);
    vkr_embed_report rep, rt, rc;
    vkr_embed_options o = {.source = VKR_EMBED_BOTH, .svd = {.dim = dim}};
    VKR_ASSERT_OK(vkr_embed_items(vkr_test_shared.device, &d, &o, both, &rep));
    o.source = VKR_EMBED_TEXT, o.svd.dim = dt;
    VKR_ASSERT_OK(vkr_embed_items(vkr_test_shared.device, &d, &o, text, &rt));
    o.source = VKR_EMBED_COOC, o.svd.dim = dc;
    VKR_ASSERT_OK(vkr_embed_items(vkr_test_shared.device, &d, &o, cooc, &rc));
    assert_int_equal(rep.dim, dim);
    assert_int_equal(rep.text_items, rt.text_items);
    assert_int_equal(rep.cooc_items, rc.cooc_items);
    uint32_t both_parts = 0;
    for (uint32_t i = 0; i < d.item_count; i++) {
        const float* row = both + (size_t)i * dim;
        double n2 = 0, nt = 0, nc = 0;
        for (uint32_t j = 0; j < dim; j++) n2 += (double)row[j] * row[j];
        for (uint32_t j = 0; j < dt; j++) nt += (double)text[(size_t)i * dt + j] * text[(size_t)i * dt + j];
        for (uint32_t j = 0; j < dc; j++) nc += (double)cooc[(size_t)i * dc + j] * cooc[(size_t)i * dc + j];
        if (nt == 0 && nc == 0) {
            assert_true(n2 == 0);
            continue;
        }
        assert_true(fabs(n2 - 1) < 1e-4);
        if (nt > 0) assert_true(cosine(row, text + (size_t)i * dt, dt) > 0.9999);
        if (nc > 0) assert_true(cosine(row + dt, cooc + (size_t)i * dc, dc) > 0.9999);
        both_parts += nt > 0 && nc > 0;
    }
    assert_true(both_parts > d.item_count / 2);
    o.source = VKR_EMBED_BOTH, o.svd.dim = 1;
    assert_int_equal(vkr_embed_items(vkr_test_shared.device, &d, &o, both, &rep), VKR_ERR_INVALID_ARGUMENT);
    free(both);
    free(text);
    free(cooc);
    vkr_dataset_free(&d);
}

static void test_import(void** state) {
    (void)state;
    vkr_dataset d;
    load_sample(&d);
    char dir[512], npy[600], ids[600];
    td_mkdtemp(dir);
    snprintf(npy, sizeof npy, "%s/e.npy", dir);
    snprintf(ids, sizeof ids, "%s/ids.txt", dir);
    uint32_t n = d.item_count;
    /* float16 rows in reverse item order with an id file; row value = item index. */
    uint16_t* half = malloc(sizeof(uint16_t) * n * 2);
    FILE* f = fopen(ids, "w");
    for (uint32_t r = 0; r < n; r++) {
        uint32_t item = n - 1 - r;
        fprintf(f, "%s\n", vkr_strtab_get(&d.item_key, item));
        float v = (float)item;
        uint32_t bits;
        memcpy(&bits, &v, 4);
        /* exact float -> half for small integers: rebias the exponent, keep 10 mantissa bits */
        half[2 * r] = item == 0 ? 0 : (uint16_t)((((bits >> 23) & 0xFF) - 127 + 15) << 10 | ((bits >> 13) & 0x3FF));
        half[2 * r + 1] = 0x3C00; /* 1.0 */
    }
    fclose(f);
    uint64_t shape[2] = {n, 2};
    VKR_ASSERT_OK(vkr_npy_save(npy, VKR_ELEM_F16, 2, shape, half));
    float* e = NULL;
    uint32_t dim = 0, unknown = 0;
    VKR_ASSERT_OK(vkr_embed_import(&d, npy, ids, &e, &dim, &unknown));
    assert_int_equal(dim, 2);
    for (uint32_t i = 0; i < n; i++) assert_true(e[2 * i] == (float)i && e[2 * i + 1] == 1.0f);
    free(e);
    /* Without the id file the row count must match; a wrong shape is a clear error. */
    VKR_ASSERT_OK(vkr_embed_import(&d, npy, NULL, &e, &dim, &unknown));
    free(e);
    shape[0] = n - 1;
    VKR_ASSERT_OK(vkr_npy_save(npy, VKR_ELEM_F16, 2, shape, half));
    assert_int_equal(vkr_embed_import(&d, npy, NULL, &e, &dim, &unknown), VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "rows but the dataset has"));
    assert_int_not_equal(vkr_embed_import(&d, npy, ids, &e, &dim, &unknown), VKR_OK);
    int32_t ints[4] = {1, 2, 3, 4};
    uint64_t s2[2] = {2, 2};
    VKR_ASSERT_OK(vkr_npy_save(npy, VKR_ELEM_I32, 2, s2, ints));
    assert_int_not_equal(vkr_embed_import(&d, npy, NULL, &e, &dim, &unknown), VKR_OK);
    free(half);
    td_rmtree(dir);
    vkr_dataset_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svd_known_spectrum),
        cmocka_unit_test(test_tfidf),
        cmocka_unit_test(test_text_embedding_neighbours),
        cmocka_unit_test(test_cooc_and_auto),
        cmocka_unit_test(test_both),
        cmocka_unit_test(test_import),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
