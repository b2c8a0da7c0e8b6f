#include "vkr_cdgraph.h"

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define VKR_CDGRAPH_DEFAULT_MAX_ENTRIES (1ull << 28)

/* A growing edge list (both directions are pushed by the callers). */
typedef struct cd_edges {
    uint32_t *src, *dst;
    uint64_t n, cap, max;
} cd_edges;

static vkr_status cd_push(cd_edges* e, uint32_t a, uint32_t b, const char* what) {
    if (e->n == e->max)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: more than %llu entries (raise max_entries or set a window)",
                        what, (unsigned long long)e->max);
    if (e->n == e->cap) {
        uint64_t cap = e->cap ? 2 * e->cap : 1024;
        uint32_t* s = realloc(e->src, cap * sizeof *s);
        if (s) e->src = s;
        uint32_t* d = s ? realloc(e->dst, cap * sizeof *d) : NULL;
        if (d) e->dst = d;
        if (!s || !d) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory for %llu edges", what,
                                      (unsigned long long)cap);
        e->cap = cap;
    }
    e->src[e->n] = a;
    e->dst[e->n++] = b;
    return VKR_OK;
}

static void cd_free(cd_edges* e) {
    free(e->src);
    free(e->dst);
}

/* Self-loops, binary weights (repeats summed by vkr_csr_from_edges are reset to 1), normalization. */
static vkr_status cd_finish(cd_edges* e, uint32_t nodes, const char* what, vkr_csr* out) {
    vkr_status s = VKR_OK;
    for (uint32_t i = 0; s == VKR_OK && i < nodes; i++) s = cd_push(e, i, i, what);
    vkr_csr a = {0};
    if (s == VKR_OK && e->n > UINT32_MAX)
        s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: %llu entries exceed the CSR's 32-bit count", what,
                     (unsigned long long)e->n);
    if (s == VKR_OK) s = vkr_csr_from_edges(nodes, nodes, (uint32_t)e->n, e->src, e->dst, NULL, &a);
    if (s == VKR_OK) {
        for (uint32_t k = 0; k < a.nnz; k++) a.val[k] = 1.0f;
        s = vkr_csr_normalize_sym(&a, out);
    }
    vkr_csr_free(&a);
    cd_free(e);
    return s;
}

static uint64_t cd_max(const vkr_cdgraph_options* o) {
    return o && o->max_entries ? o->max_entries : VKR_CDGRAPH_DEFAULT_MAX_ENTRIES;
}

vkr_status vkr_cdgraph_items(const vkr_dataset* ds, uint32_t domain, const vkr_cdgraph_options* options,
                             vkr_csr* out) {
    if (out) memset(out, 0, sizeof *out);
    bool all = domain == VKR_CDGRAPH_ALL_DOMAINS;
    if (!ds || !out || (!all && domain >= ds->domain_count))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_cdgraph_items: no dataset, no output or domain %u out of range",
                        domain);
    uint32_t d_first = all ? 0 : domain, d_last = all ? ds->domain_count : domain + 1;
    uint32_t base = all ? 0 : ds->item_begin[domain]; /* node = item - base */
    uint32_t window = options ? options->window : 0;
    char what[96];
    snprintf(what, sizeof what, "item graph of %s%s", all ? "every domain" : "domain ", all ? "" : ds->domain_name[domain]);
    cd_edges e = {.max = cd_max(options)};
    vkr_status s = VKR_OK;
    uint32_t* hist = NULL;
    uint32_t hist_cap = 0;
    for (uint32_t u = 0; s == VKR_OK && u < ds->user_count; u++) {
        const uint32_t* ev = ds->seq_item + ds->seq_begin[u];
        uint32_t len = ds->train_len[u];
        if (len > hist_cap) {
            uint32_t* h = realloc(hist, (size_t)len * sizeof *h);
            if (!h) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "%s: out of host memory", what);
            else hist = h, hist_cap = len;
        }
        for (uint32_t d = d_first; s == VKR_OK && d < d_last; d++) {
            uint32_t begin = ds->item_begin[d], end = ds->item_begin[d + 1], m = 0;
            for (uint32_t j = 0; j < len; j++)
                if (ev[j] >= begin && ev[j] < end) hist[m++] = ev[j] - base;
            for (uint32_t a = 0; s == VKR_OK && a < m; a++)
                for (uint32_t b = a + 1; s == VKR_OK && b < m && (!window || b - a <= window); b++) {
                    if (hist[a] == hist[b]) continue; /* a repeat is the self-loop */
                    s = cd_push(&e, hist[a], hist[b], what);
                    if (s == VKR_OK) s = cd_push(&e, hist[b], hist[a], what);
                }
        }
    }
    free(hist);
    if (s != VKR_OK) {
        cd_free(&e);
        return s;
    }
    return cd_finish(&e, all ? ds->item_count : ds->item_begin[domain + 1] - base, what, out);
}

vkr_status vkr_cdgraph_mixed(const vkr_dataset* ds, const vkr_cdgraph_options* options, vkr_csr* out) {
    if (out) memset(out, 0, sizeof *out);
    if (!ds || !out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_cdgraph_mixed: no dataset or no output");
    if ((uint64_t)ds->user_count + ds->item_count > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "mixed-domain graph: %u users + %u items exceed 32-bit node ids",
                        ds->user_count, ds->item_count);
    const char* what = "mixed-domain graph";
    cd_edges e = {.max = cd_max(options)};
    vkr_status s = VKR_OK;
    for (uint32_t u = 0; s == VKR_OK && u < ds->user_count; u++) {
        const uint32_t* ev = ds->seq_item + ds->seq_begin[u];
        for (uint32_t j = 0; s == VKR_OK && j < ds->train_len[u]; j++) {
            s = cd_push(&e, u, ds->user_count + ev[j], what);
            if (s == VKR_OK) s = cd_push(&e, ds->user_count + ev[j], u, what);
        }
    }
    if (s != VKR_OK) {
        cd_free(&e);
        return s;
    }
    return cd_finish(&e, ds->user_count + ds->item_count, what, out);
}
