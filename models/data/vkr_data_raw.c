/* The raw interaction store that parsers fill. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_data_raw.h"

static vkr_status oom(void) { return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory while reading data"); }

void vkr_raw_free(vkr_raw* raw) {
    vkr_strmap_free(&raw->users);
    vkr_strmap_free(&raw->items);
    free(raw->user_role);
    free(raw->item_domain);
    free(raw->item_title);
    free(raw->item_text);
    free(raw->item_label);
    vkr_strpool_free(&raw->text);
    free(raw->events);
    memset(raw, 0, sizeof *raw);
}

vkr_status vkr_raw_domain(vkr_raw* raw, const char* name, uint32_t* out_domain) {
    *out_domain = 0;
    size_t n = strlen(name);
    if (n == 0 || n >= VKR_DATA_NAME_MAX || !vkr_utf8_valid(name, n) || strpbrk(name, "\t\n\r\"\\"))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "domain name '%.80s' must be 1..%d bytes of UTF-8 without tabs, "
                        "newlines, quotes or backslashes", name, VKR_DATA_NAME_MAX - 1);
    for (uint32_t d = 0; d < raw->domain_count; d++)
        if (strcmp(raw->domain_name[d], name) == 0) {
            *out_domain = d;
            return VKR_OK;
        }
    if (raw->domain_count == VKR_DATA_MAX_DOMAINS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "more than %d domains (at '%s')", VKR_DATA_MAX_DOMAINS, name);
    memcpy(raw->domain_name[raw->domain_count], name, n + 1);
    *out_domain = raw->domain_count++;
    return VKR_OK;
}

vkr_status vkr_raw_user(vkr_raw* raw, const char* key, size_t n, vkr_user_role role, uint32_t* out_user,
                        bool* out_added) {
    bool added = false;
    VKR_TRY(vkr_strmap_intern(&raw->users, key, n, out_user, &added));
    if (out_added) *out_added = added;
    if (!added) return VKR_OK;
    if (*out_user >= raw->user_cap) {
        uint32_t cap = raw->user_cap ? raw->user_cap * 2 : 1024;
        uint8_t* r = realloc(raw->user_role, cap);
        if (!r) return oom();
        raw->user_role = r;
        raw->user_cap = cap;
    }
    raw->user_role[*out_user] = (uint8_t)role;
    return VKR_OK;
}

vkr_status vkr_raw_item(vkr_raw* raw, const char* key, size_t n, uint32_t domain, uint32_t* out_item,
                        bool* out_added) {
    bool added = false;
    VKR_TRY(vkr_strmap_intern(&raw->items, key, n, out_item, &added));
    if (out_added) *out_added = added;
    uint32_t id = *out_item;
    if (!added) {
        if (raw->item_domain[id] != domain)
            return vkr_fail(VKR_ERR_FORMAT, "item '%.*s' appears in domains %s and %s", (int)(n > 80 ? 80 : n), key,
                            raw->domain_name[raw->item_domain[id]], raw->domain_name[domain]);
        return VKR_OK;
    }
    if (id >= raw->item_cap) {
        uint32_t cap = raw->item_cap ? raw->item_cap * 2 : 1024;
        uint8_t* d = realloc(raw->item_domain, cap);
        if (d) raw->item_domain = d;
        uint64_t* t = realloc(raw->item_title, cap * sizeof *t);
        if (t) raw->item_title = t;
        uint64_t* x = realloc(raw->item_text, cap * sizeof *x);
        if (x) raw->item_text = x;
        uint64_t* l = realloc(raw->item_label, cap * sizeof *l);
        if (l) raw->item_label = l;
        if (!d || !t || !x || !l) return oom();
        raw->item_cap = cap;
    }
    raw->item_domain[id] = (uint8_t)domain;
    raw->item_title[id] = raw->item_text[id] = raw->item_label[id] = UINT64_MAX;
    return VKR_OK;
}

vkr_status vkr_raw_item_string(vkr_raw* raw, uint32_t item, int which, const char* s, size_t n, const char* where) {
    if (!vkr_utf8_valid(s, n)) {
        static const char* const reasons[3] = {"title that is not UTF-8 (dropped)", "item text that is not UTF-8 (dropped)",
                                               "item id that is not UTF-8 (kept as the line's id)"};
        vkr_raw_skip_count(raw, reasons[which], where, 0);
        return VKR_OK;
    }
    uint64_t* slot = which == 0 ? &raw->item_title[item] : which == 1 ? &raw->item_text[item] : &raw->item_label[item];
    return vkr_strpool_add(&raw->text, s, n, slot);
}

vkr_status vkr_raw_event_add(vkr_raw* raw, uint32_t user, uint32_t item, int64_t time) {
    if (raw->event_count == raw->event_cap) {
        size_t cap = raw->event_cap ? raw->event_cap * 2 : 4096;
        vkr_raw_event* e = realloc(raw->events, cap * sizeof *e);
        if (!e) return oom();
        raw->events = e;
        raw->event_cap = cap;
    }
    raw->events[raw->event_count] = (vkr_raw_event){user, item, time, raw->event_count};
    raw->event_count++;
    return VKR_OK;
}

void vkr_raw_skip_add(vkr_raw* raw, const char* reason, const char* path, uint64_t line, uint64_t count) {
    uint32_t k = 0;
    while (k < raw->skip_count && strcmp(raw->skips[k].reason, reason) != 0) k++;
    if (k == VKR_RAW_MAX_SKIPS) {
        /* The table has room for every reason the parsers use; this only guards the invariant. */
        k = VKR_RAW_MAX_SKIPS - 1;
        raw->skips[k].reason = "records skipped for other reasons";
    } else if (k == raw->skip_count) {
        raw->skip_count++;
        raw->skips[k].reason = reason;
        raw->skips[k].count = 0;
        if (line) snprintf(raw->skips[k].first, sizeof raw->skips[k].first, "%s:%llu", path, (unsigned long long)line);
        else snprintf(raw->skips[k].first, sizeof raw->skips[k].first, "%s", path);
    }
    raw->skips[k].count += count;
}
