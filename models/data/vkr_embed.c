/* Embedding sources of `vkrec embed`: text (TF-IDF + SVD), co-occurrence (PPMI + SVD), import. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_data_raw.h"
#include "vkr_embed.h"
#include "vkr_npy.h"
#include "vkr_values.h"

static vkr_status oom(void) { return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory computing embeddings"); }

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

vkr_status vkr_cooc_ppmi(const vkr_dataset* d, uint32_t window, vkr_csr* out) {
    memset(out, 0, sizeof *out);
    if (window == 0) window = 5;
    uint64_t pairs = 0;
    for (uint32_t u = 0; u < d->user_count; u++) {
        uint64_t t = d->train_len[u];
        pairs += 2 * (t * (window < t ? window : t));
    }
    if (pairs == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "no training interactions to count co-occurrences in (a given split "
                        "without training sequences? prepare with --split loo)");
    uint64_t* key = malloc(pairs * sizeof *key);
    if (!key) return oom();
    uint64_t n = 0;
    for (uint32_t u = 0; u < d->user_count; u++) {
        const uint32_t* seq = d->seq_item + d->seq_begin[u];
        for (uint32_t p = 0; p < d->train_len[u]; p++)
            for (uint32_t q = p + 1; q <= p + window && q < d->train_len[u]; q++) {
                if (seq[p] == seq[q]) continue;
                key[n++] = (uint64_t)seq[p] << 32 | seq[q];
                key[n++] = (uint64_t)seq[q] << 32 | seq[p];
            }
    }
    qsort(key, n, sizeof *key, cmp_u64);
    /* Run-length counts in place: key[j] keeps the pair, cnt[j] its count. */
    uint32_t* cnt = malloc((n + 1) * sizeof *cnt);
    double* row_sum = calloc((size_t)d->item_count + 1, sizeof *row_sum);
    if (!cnt || !row_sum) {
        free(key);
        free(cnt);
        free(row_sum);
        return oom();
    }
    uint64_t uniq = 0;
    for (uint64_t i = 0; i < n;) {
        uint64_t j = i;
        while (j < n && key[j] == key[i]) j++;
        key[uniq] = key[i];
        cnt[uniq++] = (uint32_t)(j - i);
        row_sum[key[i] >> 32] += (double)(j - i);
        i = j;
    }
    double total = 0;
    for (uint32_t i = 0; i < d->item_count; i++) total += row_sum[i];
    uint32_t nnz = 0;
    for (uint64_t k = 0; k < uniq; k++) {
        uint32_t a = (uint32_t)(key[k] >> 32), b = (uint32_t)key[k];
        nnz += log(cnt[k] * total / (row_sum[a] * row_sum[b])) > 0;
    }
    vkr_status s = vkr_csr_alloc(d->item_count, d->item_count, nnz, out);
    if (s == VKR_OK) {
        uint32_t pos = 0;
        for (uint64_t k = 0; k < uniq; k++) {
            uint32_t a = (uint32_t)(key[k] >> 32), b = (uint32_t)key[k];
            double pmi = log(cnt[k] * total / (row_sum[a] * row_sum[b]));
            if (pmi <= 0) continue;
            out->col[pos] = b;
            out->val[pos++] = (float)pmi;
            out->row_ptr[a + 1] = pos;
        }
        for (uint32_t i = 0; i < d->item_count; i++) /* rows without entries inherit the previous end */
            if (out->row_ptr[i + 1] < out->row_ptr[i]) out->row_ptr[i + 1] = out->row_ptr[i];
    }
    free(key);
    free(cnt);
    free(row_sum);
    return s;
}

/* Title and text of every item, joined; empty items give "". */
vkr_status vkr_embed_item_docs(const vkr_dataset* d, char*** out) {
    char** docs = calloc(d->item_count ? d->item_count : 1, sizeof *docs);
    if (!docs) return oom();
    for (uint32_t i = 0; i < d->item_count; i++) {
        const char* t = vkr_strtab_get(&d->item_title, i);
        const char* x = vkr_strtab_get(&d->item_text, i);
        size_t nt = strlen(t), nx = strlen(x);
        docs[i] = malloc(nt + nx + 2);
        if (!docs[i]) {
            for (uint32_t k = 0; k < i; k++) free(docs[k]);
            free(docs);
            return oom();
        }
        memcpy(docs[i], t, nt);
        docs[i][nt] = ' ';
        memcpy(docs[i] + nt + 1, x, nx + 1);
    }
    *out = docs;
    return VKR_OK;
}

void vkr_embed_item_docs_free(char** docs, uint32_t n) {
    for (uint32_t i = 0; docs && i < n; i++) free(docs[i]);
    free(docs);
}

/* Embeds `a` and copies the rows selected by `take` (NULL: all) into out; counts them. */
static vkr_status embed_rows(vkr_device* dev, const vkr_csr* a, const vkr_svd_options* o, const uint8_t* take,
                             float* out, uint32_t dim, uint32_t* taken, uint32_t* zero) {
    float* e = malloc(sizeof(float) * a->rows * dim);
    if (!e) return oom();
    vkr_status s = vkr_svd_embed(dev, a, o, e, NULL);
    for (uint32_t i = 0; s == VKR_OK && i < a->rows; i++) {
        if (take && !take[i]) continue;
        memcpy(out + (size_t)i * dim, e + (size_t)i * dim, sizeof(float) * dim);
        if (a->row_ptr[i + 1] > a->row_ptr[i]) (*taken)++;
        else (*zero)++;
    }
    free(e);
    return s;
}

/* BOTH: a text part and a co-occurrence part side by side, so that IDs learned from the vectors
 * group items that are bought together and still place an item without interactions by its text. */
static vkr_status embed_both(vkr_device* dev, const vkr_dataset* d, const vkr_embed_options* opt, float* out,
                             vkr_embed_report* rep) {
    uint32_t dim = opt->svd.dim ? opt->svd.dim : 64;
    if (dim < 2) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "--source both needs a dimension of at least 2");
    uint32_t dims[2] = {dim / 2, dim - dim / 2};
    vkr_embed_source parts[2] = {VKR_EMBED_TEXT, VKR_EMBED_COOC};
    float* e[2] = {malloc(sizeof(float) * d->item_count * dims[0] + 1), malloc(sizeof(float) * d->item_count * dims[1] + 1)};
    vkr_embed_report r[2];
    vkr_status s = e[0] && e[1] ? VKR_OK : oom();
    for (int k = 0; k < 2 && s == VKR_OK; k++) {
        vkr_embed_options o = *opt;
        o.source = parts[k];
        o.svd.dim = dims[k];
        s = vkr_embed_items(dev, d, &o, e[k], &r[k]);
    }
    if (s == VKR_OK) {
        *rep = r[0];
        rep->dim = dim;
        rep->cooc_items = r[1].cooc_items;
        rep->cooc_nnz = r[1].cooc_nnz;
        rep->seconds = r[0].seconds + r[1].seconds; /* both embeddings, not only the text one */
        rep->zero_items = 0;
        for (uint32_t i = 0; i < d->item_count; i++) {
            float* row = out + (size_t)i * dim;
            memcpy(row, e[0] + (size_t)i * dims[0], sizeof(float) * dims[0]);
            memcpy(row + dims[0], e[1] + (size_t)i * dims[1], sizeof(float) * dims[1]);
            double n2 = 0;
            for (uint32_t j = 0; j < dim; j++) n2 += (double)row[j] * row[j];
            if (n2 == 0) {
                rep->zero_items++;
                continue;
            }
            double inv = 1 / sqrt(n2);
            for (uint32_t j = 0; j < dim; j++) row[j] = (float)(row[j] * inv);
        }
    }
    free(e[0]);
    free(e[1]);
    return s;
}

vkr_status vkr_embed_items(vkr_device* dev, const vkr_dataset* d, const vkr_embed_options* opt, float* out,
                           vkr_embed_report* rep) {
    memset(rep, 0, sizeof *rep);
    if (opt->source == VKR_EMBED_BOTH) return embed_both(dev, d, opt, out, rep);
    double t0 = vkr_now_s();
    vkr_svd_options svd = opt->svd;
    if (!svd.dim) svd.dim = 64;
    uint32_t dim = rep->dim = svd.dim;
    memset(out, 0, sizeof(float) * d->item_count * dim);
    uint8_t* need_cooc = calloc(d->item_count ? d->item_count : 1, 1);
    if (!need_cooc) return oom();
    vkr_status s = VKR_OK;
    bool use_cooc = opt->source == VKR_EMBED_COOC;
    if (opt->source != VKR_EMBED_COOC) {
        char** docs = NULL;
        vkr_csr tf = {0};
        s = vkr_embed_item_docs(d, &docs);
        if (s == VKR_OK) s = vkr_tfidf((const char* const*)docs, d->item_count, &opt->tfidf, &tf);
        vkr_embed_item_docs_free(docs, d->item_count);
        rep->vocabulary = tf.cols;
        rep->text_nnz = tf.nnz;
        if (s == VKR_OK && tf.nnz == 0 && opt->source == VKR_EMBED_TEXT)
            s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "no item has text with a term shared by two items (use --source cooc)");
        uint32_t zero = 0;
        if (s == VKR_OK && tf.nnz > 0) {
            uint8_t* has = malloc(d->item_count);
            if (!has) s = oom();
            for (uint32_t i = 0; has && i < d->item_count; i++) has[i] = tf.row_ptr[i + 1] > tf.row_ptr[i];
            /* TEXT embeds every row (items without terms stay zero); AUTO only the items with terms. */
            if (s == VKR_OK)
                s = embed_rows(dev, &tf, &svd, opt->source == VKR_EMBED_TEXT ? NULL : has, out, dim, &rep->text_items, &zero);
            for (uint32_t i = 0; has && i < d->item_count; i++) need_cooc[i] = !has[i];
            free(has);
        } else if (s == VKR_OK) {
            memset(need_cooc, 1, d->item_count);
        }
        rep->zero_items += zero;
        if (opt->source == VKR_EMBED_AUTO)
            for (uint32_t i = 0; i < d->item_count; i++) use_cooc |= need_cooc[i];
        vkr_csr_free(&tf);
    } else {
        memset(need_cooc, 1, d->item_count);
    }
    if (s == VKR_OK && use_cooc) {
        vkr_csr pp = {0};
        s = vkr_cooc_ppmi(d, opt->window, &pp);
        rep->cooc_nnz = pp.nnz;
        vkr_svd_options o = svd;
        o.sv_power = 0.5f; /* U S^1/2 for PPMI (Levy, Goldberg and Dagan 2015) */
        if (s == VKR_OK && pp.nnz == 0) {
            for (uint32_t i = 0; i < d->item_count; i++) rep->zero_items += need_cooc[i];
        } else if (s == VKR_OK) {
            s = embed_rows(dev, &pp, &o, need_cooc, out, dim, &rep->cooc_items, &rep->zero_items);
        }
        vkr_csr_free(&pp);
    }
    free(need_cooc);
    rep->seconds = vkr_now_s() - t0;
    return s;
}

vkr_status vkr_embed_import(const vkr_dataset* d, const char* npy_path, const char* ids_path, float** out,
                            uint32_t* out_dim, uint32_t* out_unknown) {
    *out = NULL;
    *out_dim = 0;
    *out_unknown = 0;
    vkr_npy_array a;
    VKR_TRY(vkr_npy_load_f32(npy_path, &a));
    vkr_status s = VKR_OK;
    if (a.ndim != 2 || a.shape[1] == 0 || a.shape[1] > 65536)
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: expected a 2-D array items x d (d in 1..65536), got %u dimensions",
                     npy_path, a.ndim);
    else if (!ids_path && a.shape[0] != d->item_count)
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s has %llu rows but the dataset has %u items (rows must be in item "
                     "order, or give --ids FILE with one item key per row)", npy_path, (unsigned long long)a.shape[0],
                     d->item_count);
    if (s == VKR_OK) s = vkr_check_vectors(npy_path, a.data, a.shape[0], a.shape[1]);
    uint32_t dim = s == VKR_OK ? (uint32_t)a.shape[1] : 0;
    float* emb = s == VKR_OK ? calloc((size_t)d->item_count * dim + 1, sizeof *emb) : NULL;
    if (s == VKR_OK && !emb) s = oom();
    if (s == VKR_OK && !ids_path) memcpy(emb, a.data, sizeof(float) * d->item_count * dim);
    if (s == VKR_OK && ids_path) {
        vkr_strmap keys = {0};
        uint8_t* seen = calloc(d->item_count + 1, 1);
        if (!seen) s = oom();
        if (s == VKR_OK && (s = vkr_dataset_item_keys(d, &keys)) != VKR_OK)
            s = vkr_fail_context(s, "--ids cannot tell items apart (import rows in item order instead): ");
        vkr_lines l;
        if (s == VKR_OK) s = vkr_lines_open(ids_path, &l);
        if (s == VKR_OK) {
            bool ok = true;
            while (s == VKR_OK && (s = vkr_lines_next(&l, &ok)) == VKR_OK && ok) {
                if (l.line > a.shape[0]) {
                    s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s has more lines than %s has rows (%llu)", ids_path,
                                 npy_path, (unsigned long long)a.shape[0]);
                    break;
                }
                int64_t item = vkr_strmap_find(&keys, l.buf, l.len);
                if (item < 0) {
                    (*out_unknown)++;
                    continue;
                }
                if (seen[item]) {
                    s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s:%llu: item '%s' appears twice", ids_path,
                                 (unsigned long long)l.line, l.buf);
                    break;
                }
                seen[item] = 1;
                memcpy(emb + (size_t)item * dim, (const float*)a.data + (size_t)(l.line - 1) * dim, sizeof(float) * dim);
            }
            if (s == VKR_OK && l.line != a.shape[0])
                s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s has %llu lines but %s has %llu rows", ids_path,
                             (unsigned long long)l.line, npy_path, (unsigned long long)a.shape[0]);
            vkr_lines_close(&l);
        }
        for (uint32_t i = 0; s == VKR_OK && i < d->item_count; i++)
            if (!seen[i])
                s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s does not list item '%s' (every item needs a row)", ids_path,
                             vkr_strtab_get(&d->item_key, i));
        free(seen);
        vkr_strmap_free(&keys);
    }
    vkr_npy_free(&a);
    if (s != VKR_OK) {
        free(emb);
        return s;
    }
    *out = emb;
    *out_dim = dim;
    return VKR_OK;
}

vkr_status vkr_embed_save(const char* dir, const float* emb, uint32_t items, uint32_t dim) {
    char path[4200];
    VKR_TRY(vkr_path_join(dir, "item_emb.npy", path, sizeof path));
    if (vkr_check_vectors(path, emb, items, dim) != VKR_OK) /* a stage never writes a broken embedding */
        return vkr_fail_context(VKR_ERR_STATE, "embed: refusing to write a broken embedding: ");
    uint64_t shape[2] = {items, dim};
    return vkr_npy_save(path, VKR_ELEM_F32, 2, shape, emb);
}
