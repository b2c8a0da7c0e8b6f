/* Data suites: prepare throughput on the shared releases; TF-IDF + randomized SVD of every item,
 * GPU beside the same algorithm on the CPU references. The releases are read from VKR_SHARED_DATA
 * (default ../shared/data); a suite whose data is absent says so and is skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "vkr_data_prep.h"
#include "vkr_embed.h"

typedef vkr_status (*parse_fn)(vkr_raw*, const char*, const char* const[2]);

static bool release_dir(const char* name, char* out, size_t cap) {
    const char* base = getenv("VKR_SHARED_DATA");
    snprintf(out, cap, "%s/%s", base && *base ? base : "../shared/data", name);
    if (vkr_path_exists(out)) return true;
    fprintf(stderr, "vkrec bench: %s not found (set VKR_SHARED_DATA); suite skipped\n", out);
    return false;
}

typedef struct prep_body {
    const char* dir;
    parse_fn parse;
    vkr_prep_options opt;
    uint64_t events;
} prep_body;

static vkr_status run_prepare(void* user, double* out_device_s) {
    prep_body* p = user;
    *out_device_s = -1;
    vkr_raw raw = {0};
    vkr_dataset d = {0};
    vkr_prep_report rep;
    vkr_status s = p->parse(&raw, p->dir, NULL);
    if (s == VKR_OK) s = vkr_data_prepare(&raw, &p->opt, &d, &rep);
    p->events = raw.event_count;
    vkr_dataset_free(&d);
    vkr_raw_free(&raw);
    return s;
}

vkr_status vkr_bench_suite_data(vkr_bench* b) {
    static const char* const names[2] = {"amazon-food-kitchen-llmcdsr", "amazon-food-kitchen-c2dsr"};
    static const parse_fn parsers[2] = {vkr_parse_llmcdsr, vkr_parse_c2dsr};
    for (int k = 0; k < 2; k++) {
        char dir[4096];
        if (!release_dir(names[k], dir, sizeof dir)) continue;
        for (int given = 0; given < 2; given++) {
            prep_body body = {dir, parsers[k], vkr_prep_options_default(), 0};
            if (given) body.opt.split = VKR_SPLIT_GIVEN, body.opt.no_filter = true;
            else body.opt.min_item = k ? 3 : 10, body.opt.min_user = k ? 2 : 3; /* C2DSR is too sparse for 10/3 */
            double ignored;
            VKR_TRY(run_prepare(&body, &ignored)); /* learn the event count for the rate */
            vkr_bench_unit unit = {"events/s", (double)body.events};
            vkr_bench_stats wall;
            VKR_TRY(vkr_bench_measure(b, run_prepare, &body, unit, &wall, NULL, NULL));
            cJSON* p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "release", names[k]);
            cJSON_AddNumberToObject(p, "interactions", (double)body.events);
            cJSON_AddStringToObject(p, "steps", given ? "parse, sort, given split" : "parse, sort, dedupe, k-core, overlap, loo");
            vkr_bench_report(b, "data", given ? (k ? "prepare_c2dsr_given" : "prepare_llmcdsr_given")
                                              : (k ? "prepare_c2dsr_loo" : "prepare_llmcdsr_loo"),
                             p, unit, &wall, NULL, NULL, NULL);
        }
    }
    return VKR_OK;
}

typedef struct embed_body {
    vkr_device* dev; /* NULL: CPU reference path */
    const vkr_csr* tf;
    float* out;
} embed_body;

static vkr_status run_embed(void* user, double* out_device_s) {
    embed_body* e = user;
    *out_device_s = -1;
    vkr_svd_options o = {.dim = 64};
    return vkr_svd_embed(e->dev, e->tf, &o, e->out, NULL);
}

static void collect_doc(const vkr_dataset* d, uint32_t i, char* buf, size_t cap) {
    snprintf(buf, cap, "%s %s", vkr_strtab_get(&d->item_title, i), vkr_strtab_get(&d->item_text, i));
}

vkr_status vkr_bench_suite_embed(vkr_bench* b) {
    char dir[4096];
    if (!release_dir("amazon-food-kitchen-llmcdsr", dir, sizeof dir)) return VKR_OK;
    vkr_raw raw = {0};
    vkr_dataset d = {0};
    vkr_prep_report rep;
    vkr_prep_options o = vkr_prep_options_default();
    o.no_filter = true;
    vkr_status s = vkr_parse_llmcdsr(&raw, dir, NULL);
    if (s == VKR_OK) s = vkr_data_prepare(&raw, &o, &d, &rep);
    vkr_raw_free(&raw);
    /* TF-IDF is host work shared by both paths: measured once, reported on its own. */
    char** docs = s == VKR_OK ? calloc(d.item_count, sizeof *docs) : NULL;
    for (uint32_t i = 0; docs && i < d.item_count; i++) {
        docs[i] = malloc(4096);
        if (docs[i]) collect_doc(&d, i, docs[i], 4096);
    }
    vkr_csr tf = {0};
    double t0 = vkr_now_s();
    if (s == VKR_OK) s = docs ? vkr_tfidf((const char* const*)docs, d.item_count, NULL, &tf)
                              : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    double tfidf_s = vkr_now_s() - t0;
    float* out = s == VKR_OK ? malloc(sizeof(float) * d.item_count * 64) : NULL;
    if (s == VKR_OK && !out) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    /* Each SVD run takes seconds on a CPU driver: fewer repetitions than the default. */
    vkr_bench few = *b;
    few.runs = b->runs < 3 ? b->runs : 3;
    few.warmup = b->warmup ? 1 : 0;
    vkr_bench_unit unit = {"s", 1};
    vkr_bench_stats gpu, cpu;
    embed_body gb = {b->dev, &tf, out}, cb = {NULL, &tf, out};
    if (s == VKR_OK) s = vkr_bench_measure(&few, run_embed, &cb, unit, &cpu, NULL, NULL);
    if (s == VKR_OK) s = vkr_bench_measure(&few, run_embed, &gb, unit, &gpu, NULL, NULL);
    if (s == VKR_OK) {
        cJSON* p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "items", d.item_count);
        cJSON_AddNumberToObject(p, "terms", tf.cols);
        cJSON_AddNumberToObject(p, "nnz", tf.nnz);
        cJSON_AddNumberToObject(p, "dim", 64);
        cJSON_AddNumberToObject(p, "tfidf_s", tfidf_s);
        vkr_bench_report(b, "embed", "tfidf_svd_all_items", p, unit, &gpu, NULL, "cpu_reference", &cpu);
    }
    for (uint32_t i = 0; docs && i < d.item_count; i++) free(docs[i]);
    free(docs);
    free(out);
    vkr_csr_free(&tf);
    vkr_dataset_free(&d);
    return s;
}
