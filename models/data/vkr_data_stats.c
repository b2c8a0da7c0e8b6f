/* Dataset statistics: what `vkrec stats` prints and dataset.json records. */
#include <cjson/cJSON.h>
#include <string.h>

#include "vkr_data.h"

void vkr_dataset_stats_compute(const vkr_dataset* d, vkr_dataset_stats* st) {
    memset(st, 0, sizeof *st);
    st->users = d->user_count;
    st->items = d->item_count;
    st->interactions = d->event_count;
    st->valid = d->valid_count;
    st->test = d->test_count;
    st->min_len = d->user_count ? UINT32_MAX : 0;
    for (uint32_t k = 0; k < d->domain_count; k++) {
        vkr_domain_stats* ds = &st->domain[k];
        ds->items = d->item_begin[k + 1] - d->item_begin[k];
        for (uint32_t i = d->item_begin[k]; i < d->item_begin[k + 1]; i++)
            ds->text_items += vkr_strtab_get(&d->item_title, i)[0] || vkr_strtab_get(&d->item_text, i)[0];
        ds->text_coverage = ds->items ? (double)ds->text_items / ds->items : 0;
    }
    for (uint32_t u = 0; u < d->user_count; u++) {
        uint64_t per[VKR_DATA_MAX_DOMAINS] = {0};
        uint32_t len = vkr_dataset_user_len(d, u);
        for (uint64_t e = d->seq_begin[u]; e < d->seq_begin[u + 1]; e++) per[d->item_domain[d->seq_item[e]]]++;
        uint32_t present = 0;
        for (uint32_t k = 0; k < d->domain_count; k++) {
            st->domain[k].interactions += per[k];
            st->domain[k].users += per[k] > 0;
            present += per[k] > 0;
        }
        st->overlap_users += d->domain_count >= 2 && present == d->domain_count;
        st->train_interactions += d->train_len[u];
        st->train_users += d->train_len[u] > 0;
        if (len < st->min_len) st->min_len = len;
        if (len > st->max_len) st->max_len = len;
    }
    for (uint32_t k = 0; k < d->domain_count; k++)
        st->domain[k].avg_len = st->domain[k].users ? (double)st->domain[k].interactions / st->domain[k].users : 0;
    for (uint32_t x = 0; x < d->valid_count; x++) {
        uint32_t u = d->valid[2 * x], pos = d->valid[2 * x + 1];
        st->domain[d->item_domain[d->seq_item[d->seq_begin[u] + pos]]].valid_targets++;
    }
    for (uint32_t x = 0; x < d->test_count; x++) {
        uint32_t u = d->test[2 * x], pos = d->test[2 * x + 1];
        st->domain[d->item_domain[d->seq_item[d->seq_begin[u] + pos]]].test_targets++;
    }
}

void vkr_dataset_stats_print(const vkr_dataset* d, const vkr_dataset_stats* st, FILE* out) {
    fprintf(out, "users %u, items %u, interactions %llu, overlapping users %u, sequence length %u..%u (mean %.2f)\n",
            st->users, st->items, (unsigned long long)st->interactions, st->overlap_users, st->min_len, st->max_len,
            st->users ? (double)st->interactions / st->users : 0.0);
    fprintf(out, "split %s%s%s: train %llu interactions of %u users, valid %u, test %u%s\n",
            d->split == VKR_SPLIT_GIVEN ? "given" : "leave-one-out", d->target_domain >= 0 ? ", target " : "",
            d->target_domain >= 0 ? d->domain_name[d->target_domain] : "", (unsigned long long)st->train_interactions,
            st->train_users, st->valid, st->test, d->max_len ? "" : ", no history window");
    if (d->max_len) fprintf(out, "history window: the %u most recent events\n", d->max_len);
    fprintf(out, "%-16s %9s %9s %13s %9s %13s %9s %9s\n", "domain", "items", "users", "interactions", "avg len",
            "text coverage", "valid", "test");
    for (uint32_t k = 0; k < d->domain_count; k++) {
        const vkr_domain_stats* ds = &st->domain[k];
        fprintf(out, "%-16s %9u %9u %13llu %9.2f %12.1f%% %9u %9u\n", d->domain_name[k], ds->items, ds->users,
                (unsigned long long)ds->interactions, ds->avg_len, 100.0 * ds->text_coverage, ds->valid_targets,
                ds->test_targets);
    }
}

cJSON* vkr_dataset_stats_json(const vkr_dataset* d, const vkr_dataset_stats* st) {
    cJSON* j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "users", st->users);
    cJSON_AddNumberToObject(j, "items", st->items);
    cJSON_AddNumberToObject(j, "interactions", (double)st->interactions);
    cJSON_AddNumberToObject(j, "overlap_users", st->overlap_users);
    cJSON_AddNumberToObject(j, "min_len", st->min_len);
    cJSON_AddNumberToObject(j, "max_len_seen", st->max_len);
    cJSON* sp = cJSON_AddObjectToObject(j, "splits");
    cJSON_AddNumberToObject(sp, "train_interactions", (double)st->train_interactions);
    cJSON_AddNumberToObject(sp, "train_users", st->train_users);
    cJSON_AddNumberToObject(sp, "valid", st->valid);
    cJSON_AddNumberToObject(sp, "test", st->test);
    cJSON* doms = cJSON_AddArrayToObject(j, "domains");
    for (uint32_t k = 0; k < d->domain_count; k++) {
        const vkr_domain_stats* ds = &st->domain[k];
        cJSON* o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", d->domain_name[k]);
        cJSON_AddNumberToObject(o, "items", ds->items);
        cJSON_AddNumberToObject(o, "item_begin", d->item_begin[k]);
        cJSON_AddNumberToObject(o, "interactions", (double)ds->interactions);
        cJSON_AddNumberToObject(o, "users", ds->users);
        cJSON_AddNumberToObject(o, "avg_len", ds->avg_len);
        cJSON_AddNumberToObject(o, "text_items", ds->text_items);
        cJSON_AddNumberToObject(o, "text_coverage", ds->text_coverage);
        cJSON_AddNumberToObject(o, "valid_targets", ds->valid_targets);
        cJSON_AddNumberToObject(o, "test_targets", ds->test_targets);
        cJSON_AddItemToArray(doms, o);
    }
    return j;
}
