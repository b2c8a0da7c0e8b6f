/* Domain-agnostic categories: domain-direction removal, k-means categories and subcategories, and
 * the domain-mix measure. */
#include "vkr_agnostic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_kmeans.h"
#include "vkr_values.h"

static vkr_status oom(void) { return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "categories: out of host memory"); }

static double dot(const double* a, const double* b, uint32_t d) {
    double s = 0;
    for (uint32_t j = 0; j < d; j++) s += a[j] * b[j];
    return s;
}

/* A residual below this fraction of the row's own length is rounding noise, not a direction. */
#define AGN_RESIDUAL_MIN 1e-6

/* Removes each domain's direction from the signal rows of x (in place; `signal` marks them) and
 * re-normalizes; a row with no residual left loses its signal. */
static vkr_status remove_domains(float* x, uint32_t n, uint32_t d, const uint8_t* domain, uint32_t domain_count,
                                 uint8_t* signal) {
    double* mean = calloc((size_t)(domain_count + 1) * d, sizeof *mean); /* + 1: the weighted mean of means */
    double* basis = calloc((size_t)domain_count * d, sizeof *basis);
    double* row = malloc((size_t)d * sizeof *row);
    uint64_t cnt[VKR_DATA_MAX_DOMAINS] = {0};
    if (!mean || !basis || !row) {
        free(mean), free(basis), free(row);
        return oom();
    }
    double* all = mean + (size_t)domain_count * d;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!signal[i]) continue;
        cnt[domain[i]]++, total++;
        for (uint32_t j = 0; j < d; j++) mean[(size_t)domain[i] * d + j] += x[(size_t)i * d + j];
    }
    for (uint32_t c = 0; c < domain_count; c++)
        for (uint32_t j = 0; j < d && cnt[c]; j++) {
            mean[(size_t)c * d + j] /= (double)cnt[c];
            all[j] += mean[(size_t)c * d + j] * (double)cnt[c] / (double)total;
        }
    /* Orthonormal basis of the between-domain directions (Gram-Schmidt; dependent ones dropped). */
    uint32_t b = 0;
    for (uint32_t c = 0; c < domain_count; c++) {
        if (!cnt[c]) continue;
        double* v = basis + (size_t)b * d;
        for (uint32_t j = 0; j < d; j++) v[j] = mean[(size_t)c * d + j] - all[j];
        double len0 = sqrt(dot(v, v, d));
        for (uint32_t e = 0; e < b; e++) {
            double p = dot(v, basis + (size_t)e * d, d);
            for (uint32_t j = 0; j < d; j++) v[j] -= p * basis[(size_t)e * d + j];
        }
        double len = sqrt(dot(v, v, d));
        if (len > 1e-9 * (len0 > 1 ? len0 : 1) && len > 1e-12) {
            for (uint32_t j = 0; j < d; j++) v[j] /= len;
            b++;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!signal[i]) continue;
        float* xi = x + (size_t)i * d;
        const double* mu = mean + (size_t)domain[i] * d;
        double len0 = 0;
        for (uint32_t j = 0; j < d; j++) {
            len0 += (double)xi[j] * xi[j];
            row[j] = xi[j] - mu[j];
        }
        for (uint32_t e = 0; e < b; e++) {
            double p = dot(row, basis + (size_t)e * d, d);
            for (uint32_t j = 0; j < d; j++) row[j] -= p * basis[(size_t)e * d + j];
        }
        double len = sqrt(dot(row, row, d));
        if (len <= AGN_RESIDUAL_MIN * sqrt(len0)) {
            signal[i] = 0;
            continue;
        }
        for (uint32_t j = 0; j < d; j++) xi[j] = (float)(row[j] / len);
    }
    free(mean), free(basis), free(row);
    return VKR_OK;
}

/* Gathers the rows listed in idx (count) into dst (count x d). */
static void gather(const float* x, uint32_t d, const uint32_t* idx, uint32_t count, float* dst) {
    for (uint32_t r = 0; r < count; r++) memcpy(dst + (size_t)r * d, x + (size_t)idx[r] * d, d * sizeof *dst);
}

/* "c3" / "c3.1": the derived categories have no words, only ids. */
static vkr_status name_categories(vkr_agnostic* a) {
    a->names = calloc(a->k, sizeof *a->names);
    if (a->m) a->sub_names = calloc((size_t)a->k * a->m, sizeof *a->sub_names);
    if (!a->names || (a->m && !a->sub_names)) return oom();
    char buf[32];
    for (uint32_t c = 0; c < a->k; c++) {
        snprintf(buf, sizeof buf, "c%u", c);
        if (!(a->names[c] = strdup(buf))) return oom();
        for (uint32_t s = 0; s < a->m; s++) {
            snprintf(buf, sizeof buf, "c%u.%u", c, s);
            if (!(a->sub_names[(size_t)c * a->m + s] = strdup(buf))) return oom();
        }
    }
    return VKR_OK;
}

/* k-means of the rows idx[0..count) of x into k clusters; writes the cluster of row r to out[r * 2 + col]. */
static vkr_status cluster(vkr_device* device, const float* x, uint32_t d, const uint32_t* idx, uint32_t count,
                          const vkr_agnostic_options* o, uint32_t k, uint64_t seed, int32_t* out, int col) {
    float* rows = malloc((size_t)count * d * sizeof *rows);
    float* cent = malloc((size_t)k * d * sizeof *cent);
    int32_t* assign = malloc((size_t)count * sizeof *assign);
    vkr_status s = rows && cent && assign ? VKR_OK : oom();
    if (s == VKR_OK) {
        gather(x, d, idx, count, rows);
        vkr_kmeans_options ko = {.k = k, .iters = o->iters ? o->iters : 30, .restarts = o->restarts ? o->restarts : 3,
                                 .seed = seed};
        s = vkr_kmeans(device, rows, count, d, &ko, cent, assign, NULL);
    }
    for (uint32_t r = 0; s == VKR_OK && r < count; r++) out[(size_t)idx[r] * 2 + col] = assign[r];
    free(rows), free(cent), free(assign);
    return s;
}

static vkr_status check_args(const float* x, uint32_t n, uint32_t d, const uint8_t* domain, uint32_t domain_count,
                             const vkr_agnostic_options* o) {
    if (!x || !domain || !o || n == 0 || d == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "categories: x, domain and options are required, n and d > 0");
    if (domain_count == 0 || domain_count > VKR_DATA_MAX_DOMAINS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "categories: domain_count %u is outside 1..%u", domain_count,
                        VKR_DATA_MAX_DOMAINS);
    if (o->k == 0 || o->k > VKR_AGNOSTIC_MAX_K || o->sub > VKR_AGNOSTIC_MAX_K)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "categories: K = %u and M = %u must be in 1..%u and 0..%u", o->k,
                        o->sub, VKR_AGNOSTIC_MAX_K, VKR_AGNOSTIC_MAX_K);
    for (uint32_t i = 0; i < n; i++)
        if (domain[i] >= domain_count)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "categories: item %u has domain %u of %u", i, domain[i],
                            domain_count);
    return vkr_check_vectors("categories: the embedding", x, n, d);
}

vkr_status vkr_agnostic_derive(vkr_device* device, const float* x, uint32_t n, uint32_t d, const uint8_t* domain,
                               uint32_t domain_count, const vkr_agnostic_options* o, vkr_agnostic* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_agnostic_derive: out is NULL");
    memset(out, 0, sizeof *out);
    VKR_TRY(check_args(x, n, d, domain, domain_count, o));
    *out = (vkr_agnostic){.n = n, .k = o->k, .m = o->sub};
    float* y = malloc((size_t)n * d * sizeof *y);
    uint8_t* signal = malloc(n);
    uint32_t* idx = malloc((size_t)n * sizeof *idx);
    out->assign = malloc((size_t)n * 2 * sizeof *out->assign);
    vkr_status s = y && signal && idx && out->assign ? VKR_OK : oom();
    for (uint32_t i = 0; s == VKR_OK && i < n; i++) {
        double len = 0;
        for (uint32_t j = 0; j < d; j++) len += (double)x[(size_t)i * d + j] * x[(size_t)i * d + j];
        signal[i] = len > 0;
        for (uint32_t j = 0; j < d; j++) y[(size_t)i * d + j] = len > 0 ? (float)(x[(size_t)i * d + j] / sqrt(len)) : 0;
        out->assign[2 * (size_t)i] = out->assign[2 * (size_t)i + 1] = VKR_AGNOSTIC_NONE;
    }
    if (s == VKR_OK && !o->keep_domains) s = remove_domains(y, n, d, domain, domain_count, signal);
    uint32_t count = 0;
    for (uint32_t i = 0; s == VKR_OK && i < n; i++)
        if (signal[i]) idx[count++] = i;
    if (s == VKR_OK && o->k > count)
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "categories: K = %u is more than the %u items with a signal (%u of %u "
                     "rows are zero or left nothing after removing the domain directions)", o->k, count, n - count, n);
    if (s == VKR_OK) s = cluster(device, y, d, idx, count, o, o->k, o->seed, out->assign, 0);
    /* Subcategories: each category's rows on their own, with a seed per category. */
    uint32_t* members = o->sub && s == VKR_OK ? malloc((size_t)count * sizeof *members) : NULL;
    if (o->sub && s == VKR_OK && !members) s = oom();
    for (uint32_t c = 0; s == VKR_OK && o->sub && c < o->k; c++) {
        uint32_t m = 0;
        for (uint32_t r = 0; r < count; r++)
            if (out->assign[(size_t)idx[r] * 2] == (int32_t)c) members[m++] = idx[r];
        if (m) s = cluster(device, y, d, members, m, o, o->sub, o->seed + 1 + c, out->assign, 1);
    }
    free(members);
    if (s == VKR_OK) s = name_categories(out);
    free(y), free(signal), free(idx);
    if (s != VKR_OK) vkr_agnostic_free(out);
    return s;
}

void vkr_agnostic_free(vkr_agnostic* a) {
    if (!a) return;
    for (uint32_t c = 0; a->names && c < a->k; c++) free(a->names[c]);
    for (size_t i = 0; a->sub_names && i < (size_t)a->k * a->m; i++) free(a->sub_names[i]);
    free(a->names), free(a->sub_names), free(a->assign);
    memset(a, 0, sizeof *a);
}

vkr_status vkr_agnostic_mix_compute(const vkr_agnostic* a, const uint8_t* domain, uint32_t domain_count,
                                    vkr_agnostic_mix* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_agnostic_mix_compute: out is NULL");
    memset(out, 0, sizeof *out);
    if (!a || !a->assign || !domain || domain_count == 0 || domain_count > VKR_DATA_MAX_DOMAINS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_agnostic_mix_compute: categories, domains (1..%u) required",
                        VKR_DATA_MAX_DOMAINS);
    *out = (vkr_agnostic_mix){.k = a->k, .domain_count = domain_count};
    out->count = calloc((size_t)(a->k + 1) * domain_count, sizeof *out->count);
    out->balance = calloc(a->k + 1, sizeof *out->balance);
    if (!out->count || !out->balance) {
        vkr_agnostic_mix_free(out);
        return oom();
    }
    for (uint32_t i = 0; i < a->n; i++) {
        int32_t c = a->assign[2 * (size_t)i];
        uint32_t row = c == VKR_AGNOSTIC_NONE ? a->k : (uint32_t)c;
        if (domain[i] >= domain_count || (c != VKR_AGNOSTIC_NONE && (c < 0 || (uint32_t)c >= a->k))) {
            vkr_agnostic_mix_free(out);
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_agnostic_mix_compute: item %u has category %d of %u, "
                            "domain %u of %u", i, c, a->k, domain[i], domain_count);
        }
        out->count[(size_t)row * domain_count + domain[i]]++;
        if (row == a->k) out->none++;
        else out->domain_items[domain[i]]++;
    }
    for (uint32_t e = 0; e < domain_count; e++) out->domains_present += out->domain_items[e] > 0;
    double weighted = 0, total = 0;
    for (uint32_t c = 0; c < a->k; c++) {
        const uint32_t* cnt = out->count + (size_t)c * domain_count;
        double q[VKR_DATA_MAX_DOMAINS], qs = 0, size = 0, h = 0;
        for (uint32_t e = 0; e < domain_count; e++) {
            q[e] = out->domain_items[e] ? (double)cnt[e] / out->domain_items[e] : 0;
            qs += q[e], size += cnt[e];
        }
        for (uint32_t e = 0; e < domain_count && qs > 0; e++)
            if (q[e] > 0) h -= q[e] / qs * log(q[e] / qs);
        out->balance[c] = out->domains_present < 2 ? 1 : h / log((double)out->domains_present);
        weighted += size * out->balance[c], total += size;
    }
    out->overall = total > 0 ? weighted / total : 1;
    return VKR_OK;
}

void vkr_agnostic_mix_free(vkr_agnostic_mix* mix) {
    if (!mix) return;
    free(mix->count), free(mix->balance);
    memset(mix, 0, sizeof *mix);
}
