/* Prefix trie over semantic IDs: breadth-first construction from the sorted IDs, lookups, masks,
 * statistics and the packed GPU image. */
#include "vkr_trie.h"

#include <stdlib.h>
#include <string.h>

#include "vkr_quantize.h"

void vkr_trie_free(vkr_trie* t) {
    if (!t) return;
    free(t->first_child);
    free(t->child_count);
    free(t->child_token);
    free(t->child_node);
    free(t->leaf_item);
    free(t->parent);
    free(t->item_leaf);
    free(t->mask0);
    free(t->mask1);
    memset(t, 0, sizeof *t);
}

/* Allocates the node arrays once node_count is known. */
static vkr_status trie_alloc(vkr_trie* t) {
    uint32_t nc = t->node_count, ec = nc - 1;
    t->first_child = calloc(nc, sizeof *t->first_child);
    t->child_count = calloc(nc, sizeof *t->child_count);
    t->child_token = calloc(ec ? ec : 1, sizeof *t->child_token);
    t->child_node = calloc(ec ? ec : 1, sizeof *t->child_node);
    t->leaf_item = malloc(nc * sizeof *t->leaf_item);
    t->parent = calloc(nc, sizeof *t->parent);
    t->mask0_words = (t->vocab[0] + 31) / 32;
    t->mask1_words = t->depth > 1 ? (t->vocab[1] + 31) / 32 : 0;
    t->mask0 = calloc(t->mask0_words ? t->mask0_words : 1, sizeof *t->mask0);
    t->mask1 = calloc((size_t)t->vocab[0] * t->mask1_words + 1, sizeof *t->mask1);
    if (!t->first_child || !t->child_count || !t->child_token || !t->child_node || !t->leaf_item || !t->parent ||
        !t->mask0 || !t->mask1)
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "trie: out of host memory for %u nodes", nc);
    for (uint32_t v = 0; v < nc; v++) t->leaf_item[v] = -1;
    return VKR_OK;
}

vkr_status vkr_trie_build(const uint16_t* ids, uint32_t n, uint32_t depth, const uint8_t* item_domain, int domain,
                          vkr_trie* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_trie_build: out_trie is NULL");
    memset(out, 0, sizeof *out);
    if (!ids || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "trie: no semantic IDs");
    if (depth == 0 || depth > VKR_TRIE_MAX_DEPTH)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "trie: IDs must have 1..%u tokens (got %u)", VKR_TRIE_MAX_DEPTH, depth);
    bool all = domain < 0 || !item_domain;
    vkr_trie* t = out;
    t->depth = depth;
    t->total_items = n;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t p = 0; p < depth; p++)
            if ((uint32_t)ids[(size_t)i * depth + p] + 1 > t->vocab[p]) t->vocab[p] = ids[(size_t)i * depth + p] + 1u;
    uint32_t* order = malloc((size_t)n * sizeof *order);
    uint32_t* lcp = malloc((size_t)n * sizeof *lcp);  /* common prefix with the previous kept item */
    uint32_t* node = malloc((size_t)n * sizeof *node); /* node of each kept item at the current depth */
    t->item_leaf = malloc((size_t)n * sizeof *t->item_leaf);
    if (!order || !lcp || !node || !t->item_leaf) {
        free(order);
        free(lcp);
        free(node);
        vkr_trie_free(t);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "trie: out of host memory for %u items", n);
    }
    vkr_semantic_ids_order(ids, n, depth, order);
    uint32_t m = 0; /* kept items, in ID order */
    for (uint32_t r = 0; r < n; r++)
        if (all || item_domain[order[r]] == (uint32_t)domain) order[m++] = order[r];
    vkr_status s = m ? VKR_OK : vkr_fail(VKR_ERR_INVALID_ARGUMENT, "trie: domain %d has no items", domain);
    for (uint32_t r = 0; r < m && s == VKR_OK; r++) {
        const uint16_t* a = ids + (size_t)order[r] * depth;
        const uint16_t* b = r ? ids + (size_t)order[r - 1] * depth : NULL;
        uint32_t l = 0;
        while (b && l < depth && a[l] == b[l]) l++;
        if (b && l == depth)
            s = vkr_fail(VKR_ERR_INVALID_ARGUMENT, "trie: items %u and %u have the same semantic ID", order[r - 1],
                         order[r]);
        lcp[r] = r ? l : 0;
    }
    /* count nodes per depth: a kept item opens a new depth-t node when it differs within t tokens */
    t->level_begin[0] = 0;
    t->level_begin[1] = 1;
    for (uint32_t d = 1; d <= depth && s == VKR_OK; d++) {
        uint32_t count = 0;
        for (uint32_t r = 0; r < m; r++) count += r == 0 || lcp[r] < d;
        t->level_begin[d + 1] = t->level_begin[d] + count;
    }
    if (s == VKR_OK) {
        t->node_count = t->level_begin[depth + 1];
        t->edge_count = t->node_count - 1;
        t->item_count = m;
        s = trie_alloc(t);
    }
    for (uint32_t r = 0; r < m && s == VKR_OK; r++) node[r] = 0;
    for (uint32_t d = 1; d <= depth && s == VKR_OK; d++) {
        uint32_t next = t->level_begin[d];
        for (uint32_t r = 0; r < m; r++) {
            if (r > 0 && lcp[r] >= d) { /* same depth-d prefix as the previous item */
                node[r] = node[r - 1];
                continue;
            }
            uint32_t v = next++, p = node[r];
            t->parent[v] = p;
            t->child_token[v - 1] = ids[(size_t)order[r] * depth + d - 1];
            t->child_node[v - 1] = v;
            if (t->child_count[p]++ == 0) t->first_child[p] = v - 1;
            node[r] = v;
        }
    }
    for (uint32_t i = 0; i < n && s == VKR_OK; i++) t->item_leaf[i] = UINT32_MAX;
    for (uint32_t r = 0; r < m && s == VKR_OK; r++) {
        t->leaf_item[node[r]] = (int32_t)order[r];
        t->item_leaf[order[r]] = node[r];
    }
    if (s == VKR_OK) { /* dense masks of the first two positions */
        for (uint32_t e = 0; e < t->child_count[0]; e++) {
            uint32_t tok = t->child_token[t->first_child[0] + e], c = t->child_node[t->first_child[0] + e];
            t->mask0[tok / 32] |= 1u << (tok % 32);
            for (uint32_t f = 0; depth > 1 && f < t->child_count[c]; f++) {
                uint32_t tok1 = t->child_token[t->first_child[c] + f];
                t->mask1[(size_t)tok * t->mask1_words + tok1 / 32] |= 1u << (tok1 % 32);
            }
        }
    }
    free(order);
    free(lcp);
    free(node);
    if (s != VKR_OK) vkr_trie_free(t);
    return s;
}

uint32_t vkr_trie_child(const vkr_trie* t, uint32_t v, uint32_t token) {
    if (!t || v >= t->node_count) return UINT32_MAX;
    uint32_t lo = t->first_child[v], hi = lo + t->child_count[v];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->child_token[mid] < token) lo = mid + 1;
        else hi = mid;
    }
    return lo < t->first_child[v] + t->child_count[v] && t->child_token[lo] == token ? t->child_node[lo] : UINT32_MAX;
}

vkr_status vkr_trie_find(const vkr_trie* t, const uint16_t* prefix, uint32_t len, uint32_t* out_node) {
    if (out_node) *out_node = 0;
    if (!t || !t->node_count || (!prefix && len) || !out_node)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_trie_find: trie, prefix and out_node are required");
    if (len > t->depth)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "trie: a prefix of %u tokens is longer than the IDs (%u)", len,
                        t->depth);
    uint32_t v = 0;
    for (uint32_t p = 0; p < len; p++) {
        v = vkr_trie_child(t, v, prefix[p]);
        if (v == UINT32_MAX)
            return vkr_fail(VKR_ERR_NOT_FOUND, "trie: no item's ID starts with this path (token %u at position %u)",
                            prefix[p], p);
    }
    *out_node = v;
    return VKR_OK;
}

uint32_t vkr_trie_node_depth(const vkr_trie* t, uint32_t node) {
    uint32_t d = 0;
    while (d < t->depth && node >= t->level_begin[d + 1]) d++;
    return d;
}

vkr_status vkr_trie_lookup(const vkr_trie* t, const uint16_t* path, int32_t* out_item) {
    if (out_item) *out_item = -1;
    if (!t || !out_item) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_trie_lookup: trie and out_item are required");
    uint32_t v = 0;
    VKR_TRY(vkr_trie_find(t, path, t->depth, &v));
    *out_item = t->leaf_item[v];
    return VKR_OK;
}

vkr_status vkr_trie_item_path(const vkr_trie* t, uint32_t item, uint16_t* path) {
    if (!t || !path || !t->node_count)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_trie_item_path: trie and path are required");
    if (item >= t->total_items || t->item_leaf[item] == UINT32_MAX)
        return vkr_fail(VKR_ERR_NOT_FOUND, "trie: item %u is not in this trie", item);
    uint32_t v = t->item_leaf[item];
    for (uint32_t p = t->depth; p-- > 0;) {
        path[p] = (uint16_t)t->child_token[v - 1];
        v = t->parent[v];
    }
    return VKR_OK;
}

void vkr_trie_stats_compute(const vkr_trie* t, vkr_trie_stats* out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!t || !t->node_count) return;
    out->depth = t->depth;
    out->items = t->item_count;
    for (uint32_t d = 0; d <= t->depth; d++) out->nodes[d] = t->level_begin[d + 1] - t->level_begin[d];
    for (uint32_t d = 0; d < t->depth; d++) {
        uint64_t sum = 0;
        for (uint32_t v = t->level_begin[d]; v < t->level_begin[d + 1]; v++) {
            sum += t->child_count[v];
            if (t->child_count[v] > out->max_children[d]) out->max_children[d] = t->child_count[v];
        }
        out->mean_children[d] = out->nodes[d] ? (double)sum / out->nodes[d] : 0;
    }
    out->items_per_path = out->mean_children[t->depth - 1];
    out->max_items_per_path = out->max_children[t->depth - 1];
}

/* Words of each packed section: first_child, child_count, child_token, child_node, leaf_item,
 * mask0, mask1, level_begin, parent. */
static void trie_sizes(const vkr_trie* t, uint32_t sizes[9]) {
    uint32_t v[9] = {t->node_count, t->node_count, t->edge_count, t->edge_count, t->node_count, t->mask0_words,
                     t->vocab[0] * t->mask1_words, t->depth + 2, t->node_count};
    memcpy(sizes, v, sizeof v);
}

/* Section offsets (words) of the packed image, in trie_sizes order, then the end. */
static void trie_layout(const vkr_trie* t, uint32_t off[10]) {
    uint32_t sizes[9];
    trie_sizes(t, sizes);
    uint32_t at = VKR_TRIE_HEADER_WORDS;
    for (int i = 0; i < 9; i++) {
        off[i] = at;
        at += (uint32_t)vkr_storage_align_words(sizes[i] ? sizes[i] : 1);
    }
    off[9] = at;
}

uint32_t vkr_trie_packed_words(const vkr_trie* t) {
    uint32_t off[10];
    trie_layout(t, off);
    return off[9];
}

vkr_status vkr_trie_pack(const vkr_trie* t, uint32_t* w) {
    if (!t || !w || !t->node_count) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_trie_pack: empty trie or NULL words");
    uint32_t off[10];
    trie_layout(t, off);
    memset(w, 0, (size_t)off[9] * sizeof *w);
    uint32_t head[16] = {VKR_TRIE_MAGIC, t->depth,  t->node_count, t->edge_count, t->item_count, off[0],
                         off[1],         off[2],    off[3],        off[4],        off[5],        t->mask0_words,
                         off[6],         t->mask1_words, off[7],   off[8]};
    memcpy(w, head, sizeof head);
    memcpy(w + 16, t->vocab, t->depth * sizeof *w);
    const void* src[9] = {t->first_child, t->child_count, t->child_token, t->child_node, t->leaf_item,
                          t->mask0,       t->mask1,       t->level_begin, t->parent};
    uint32_t sizes[9];
    trie_sizes(t, sizes);
    for (int i = 0; i < 9; i++) memcpy(w + off[i], src[i], (size_t)sizes[i] * sizeof *w);
    return VKR_OK;
}

void vkr_trie_gpu_free(vkr_device* device, vkr_trie_gpu* g) {
    if (!g) return;
    if (device) vkr_buffer_destroy(device, &g->buf);
    memset(g, 0, sizeof *g);
}

vkr_status vkr_trie_upload(vkr_device* device, const vkr_trie* t, vkr_trie_gpu* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_trie_upload: out_gpu is NULL");
    memset(out, 0, sizeof *out);
    if (!device || !t || !t->node_count) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_trie_upload: device and trie required");
    uint32_t words = vkr_trie_packed_words(t);
    uint32_t* img = malloc((size_t)words * sizeof *img);
    if (!img) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "trie: out of host memory for %u words", words);
    vkr_status s = vkr_trie_pack(t, img);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)words * 4, VKR_MEMORY_DEVICE, &out->buf);
    if (s == VKR_OK) s = vkr_buffer_upload(device, &out->buf, 0, img, (uint64_t)words * 4);
    if (s == VKR_OK) {
        uint32_t off[10];
        trie_layout(t, off);
        out->words = words;
        out->header = (vkr_range){&out->buf, 0, VKR_TRIE_HEADER_WORDS * 4};
        vkr_range* r[9] = {&out->first_child, &out->child_count, &out->child_token, &out->child_node, &out->leaf_item,
                           &out->mask0,       &out->mask1,       &out->level_begin, &out->parent};
        for (int i = 0; i < 9; i++) *r[i] = (vkr_range){&out->buf, (uint64_t)off[i] * 4, (uint64_t)(off[i + 1] - off[i]) * 4};
    }
    free(img);
    if (s != VKR_OK) vkr_trie_gpu_free(device, out);
    return s;
}
