/* Mean and sample standard deviation of the main job's results over seeds (see run_seeds.h). */
#include "run_seeds.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

static const char* const group_keys[] = {"model", "domain", "protocol", "split"};

/* Whether a and b agree on group_keys from index `from` on (0: the whole group; 1: all but the model). */
static bool same_keys(const cJSON* a, const cJSON* b, size_t from) {
    for (size_t k = from; k < sizeof group_keys / sizeof *group_keys; k++) {
        const cJSON* x = cJSON_GetObjectItemCaseSensitive(a, group_keys[k]);
        const cJSON* y = cJSON_GetObjectItemCaseSensitive(b, group_keys[k]);
        if (!cJSON_Compare(x, y, true)) return false;
    }
    return true;
}

static bool same_group(const cJSON* a, const cJSON* b) { return same_keys(a, b, 0); }

/* {"mean", "std", "values"} of field `key` over the rows of first's group. */
static cJSON* aggregate(const cJSON* results, const cJSON* first, const char* key) {
    cJSON* o = cJSON_CreateObject();
    cJSON* values = cJSON_CreateArray();
    double sum = 0, sq = 0;
    int n = 0;
    const cJSON* row = NULL;
    cJSON_ArrayForEach(row, results) {
        const cJSON* v = cJSON_GetObjectItemCaseSensitive(row, key);
        if (!same_group(row, first) || !cJSON_IsNumber(v)) continue;
        cJSON_AddItemToArray(values, cJSON_CreateNumber(v->valuedouble));
        sum += v->valuedouble;
        n++;
    }
    double mean = n ? sum / n : 0;
    cJSON_ArrayForEach(row, values) sq += (row->valuedouble - mean) * (row->valuedouble - mean);
    cJSON_AddNumberToObject(o, "mean", mean);
    if (n > 1) cJSON_AddNumberToObject(o, "std", sqrt(sq / (n - 1)));
    else cJSON_AddNullToObject(o, "std"); /* one run has no spread to report */
    cJSON_AddItemToObject(o, "values", values);
    return o;
}

cJSON* run_seeds_summary(const cJSON* results) {
    cJSON* out = cJSON_CreateArray();
    const cJSON* row = NULL;
    cJSON_ArrayForEach(row, results) {
        const cJSON* seen = NULL;
        bool found = false;
        cJSON_ArrayForEach(seen, out) found = found || same_group(seen, row);
        if (found) continue;
        cJSON* g = cJSON_CreateObject();
        for (size_t k = 0; k < sizeof group_keys / sizeof *group_keys; k++) {
            const cJSON* v = cJSON_GetObjectItemCaseSensitive(row, group_keys[k]);
            if (v) cJSON_AddItemToObject(g, group_keys[k], cJSON_Duplicate(v, true));
        }
        const cJSON* ex = cJSON_GetObjectItemCaseSensitive(row, "examples");
        if (ex) cJSON_AddItemToObject(g, "examples", cJSON_Duplicate(ex, true));
        int n = 0;
        const cJSON* r = NULL;
        cJSON_ArrayForEach(r, results) n += same_group(r, row);
        cJSON_AddNumberToObject(g, "seeds", n);
        const cJSON* f = NULL;
        cJSON_ArrayForEach(f, row) {
            if (!cJSON_IsNumber(f) || strcmp(f->string, "seed") == 0 || strcmp(f->string, "examples") == 0) continue;
            cJSON_AddItemToObject(g, f->string, aggregate(results, row, f->string));
        }
        cJSON_AddItemToArray(out, g);
    }
    return out;
}

/* Whether a result field is a metric column: hr*, ndcg* or mrr. */
static bool is_metric(const cJSON* f) {
    return (cJSON_IsNumber(f) || cJSON_IsObject(f)) &&
           (strncmp(f->string, "hr", 2) == 0 || strncmp(f->string, "ndcg", 4) == 0 || strcmp(f->string, "mrr") == 0);
}

void run_seeds_table(FILE* f, const cJSON* rows) {
    const cJSON* fld = NULL;
    fprintf(f, "| model | domain | protocol | examples |");
    cJSON_ArrayForEach(fld, rows->child) {
        if (!is_metric(fld)) continue;
        const char* k = fld->string;
        bool hr = k[0] == 'h';
        if (strcmp(k, "mrr") == 0) fprintf(f, " MRR |");
        else fprintf(f, " %s@%s |", hr ? "HR" : "NDCG", k + (hr ? 2 : 4));
    }
    fprintf(f, "\n|---|---|---|---:|");
    cJSON_ArrayForEach(fld, rows->child) if (is_metric(fld)) fprintf(f, "---:|");
    fprintf(f, "\n");
    const cJSON* it = NULL;
    cJSON_ArrayForEach(it, rows) {
        fprintf(f, "| %s | %s | %s | %.0f |", cJSON_GetObjectItem(it, "model")->valuestring,
                cJSON_GetObjectItem(it, "domain")->valuestring, cJSON_GetObjectItem(it, "protocol")->valuestring,
                cJSON_GetObjectItem(it, "examples")->valuedouble);
        cJSON_ArrayForEach(fld, it) {
            if (!is_metric(fld)) continue;
            if (cJSON_IsNumber(fld)) {
                fprintf(f, " %.4f |", fld->valuedouble);
                continue;
            }
            const cJSON* sd = cJSON_GetObjectItem(fld, "std");
            fprintf(f, " %.4f", cJSON_GetObjectItem(fld, "mean")->valuedouble);
            if (cJSON_IsNumber(sd)) fprintf(f, " ± %.4f", sd->valuedouble);
            fprintf(f, " |");
        }
        fprintf(f, "\n");
    }
}

void run_seeds_append(cJSON* results, cJSON* rows, uint64_t seed) {
    while (rows->child) {
        cJSON* row = cJSON_DetachItemViaPointer(rows, rows->child);
        cJSON_AddNumberToObject(row, "seed", (double)seed);
        cJSON_AddItemToArray(results, row);
    }
}

/* A cell's value: the number of a result row, the mean of a summary group. */
static double cell_value(const cJSON* v) {
    return cJSON_IsObject(v) ? cJSON_GetObjectItem(v, "mean")->valuedouble : v->valuedouble;
}

uint32_t run_seeds_vs_pop(FILE* f, const cJSON* rows) {
    const char* hr_key = NULL; /* the largest HR cutoff the rows report */
    const cJSON* fld = NULL;
    cJSON_ArrayForEach(fld, rows->child) if (is_metric(fld) && strncmp(fld->string, "hr", 2) == 0) hr_key = fld->string;
    if (!hr_key) return 0;
    uint32_t weak = 0, listed = 0;
    const cJSON *it = NULL, *pop = NULL;
    cJSON_ArrayForEach(it, rows) {
        if (strcmp(cJSON_GetObjectItem(it, "model")->valuestring, "pop") == 0) continue;
        cJSON_ArrayForEach(pop, rows) if (strcmp(cJSON_GetObjectItem(pop, "model")->valuestring, "pop") == 0 &&
                                          same_keys(pop, it, 1)) break;
        const cJSON *mv = cJSON_GetObjectItem(it, hr_key), *pv = pop ? cJSON_GetObjectItem(pop, hr_key) : NULL;
        if (!mv || !pv) continue;
        if (!listed++)
            fprintf(f, "\n## Against popularity\n\nHR@%s of each model beside pop's on the same test examples; "
                       "\"within noise\" when the difference is under two standard errors of the difference of two "
                       "proportions (unpaired, so a conservative test).\n\n| model | domain | protocol | HR@%s | pop | "
                       "ratio | verdict |\n|---|---|---|---:|---:|---:|---|\n",
                    hr_key + 2, hr_key + 2);
        double m = cell_value(mv), p = cell_value(pv), n = cJSON_GetObjectItem(it, "examples")->valuedouble;
        double se = n > 0 ? sqrt((m * (1 - m) + p * (1 - p)) / n) : 0;
        const char* verdict = m - p > 2 * se ? "above" : p - m > 2 * se ? "**below**" : "within noise";
        weak += m - p <= 2 * se;
        fprintf(f, "| %s | %s | %s | %.4f | %.4f | ", cJSON_GetObjectItem(it, "model")->valuestring,
                cJSON_GetObjectItem(it, "domain")->valuestring, cJSON_GetObjectItem(it, "protocol")->valuestring, m, p);
        if (p > 0) fprintf(f, "%.2fx | %s |\n", m / p, verdict);
        else fprintf(f, "- | %s |\n", verdict);
    }
    return weak;
}
