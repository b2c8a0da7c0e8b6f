/* The main job's training-curve pictures and report section (see run_curves.h). */
#include "run_curves.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef VKR_HAVE_VIEWER
#include "vkr_plot.h"
#define RUN_CURVES_MAX VKR_PLOT_MAX_SERIES
#else
#define RUN_CURVES_MAX 32
#endif

/* One line of a model's picture. */
typedef struct run_curve {
    const cJSON* training; /* the row's "training" object */
    const cJSON* seed;     /* the row's "seed" (may be NULL) */
    char name[96];         /* legend label */
    uint32_t domains;      /* rows of other domains sharing it (a model for every domain) */
} run_curve;

static const char* str(const cJSON* o, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The distinct curves of `model` in results, at most RUN_CURVES_MAX; *more when some were left out. */
static uint32_t collect(const cJSON* results, const char* model, uint32_t seed_count, run_curve* out, bool* more) {
    uint32_t n = 0;
    *more = false;
    const cJSON* row = NULL;
    cJSON_ArrayForEach(row, results) {
        const cJSON* t = cJSON_GetObjectItemCaseSensitive(row, "training");
        if (strcmp(str(row, "model"), model) != 0 || !cJSON_GetObjectItemCaseSensitive(t, "curve")) continue;
        const cJSON* seed = cJSON_GetObjectItemCaseSensitive(row, "seed");
        uint32_t k = 0;
        while (k < n && !(cJSON_Compare(out[k].training, t, true) &&
                          (out[k].seed == seed || cJSON_Compare(out[k].seed, seed, true))))
            k++;
        if (k < n) { /* another protocol of the same model, or another domain of a model for all */
            if (strcmp(out[k].name, str(row, "domain")) != 0 && !out[k].domains++)
                snprintf(out[k].name, sizeof out[k].name, "all domains");
            continue;
        }
        if (n == RUN_CURVES_MAX) {
            *more = true;
            continue;
        }
        out[n] = (run_curve){.training = t, .seed = seed};
        snprintf(out[n++].name, sizeof out->name, "%s", str(row, "domain"));
    }
    for (uint32_t k = 0; k < n && seed_count > 1; k++) {
        size_t len = strlen(out[k].name);
        double seed = out[k].seed ? out[k].seed->valuedouble : 0;
        snprintf(out[k].name + len, sizeof out[k].name - len, ", seed %.0f", seed);
    }
    return n;
}

#ifdef VKR_HAVE_VIEWER
/* The array as doubles (null: NaN, a gap); NULL when out of memory. */
static double* values(const cJSON* a, uint32_t* n) {
    *n = (uint32_t)cJSON_GetArraySize(a);
    double* v = malloc((*n ? *n : 1) * sizeof *v);
    uint32_t i = 0;
    const cJSON* e = NULL;
    cJSON_ArrayForEach(e, a) if (v) v[i++] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
    return v;
}

/* Draws the picture of one model's curves into png. */
static vkr_status plot(const char* model, const run_curve* c, uint32_t n, const char* png) {
    vkr_plot_series s[RUN_CURVES_MAX] = {{0}};
    char title[160], bottom[96] = "validation HR@10";
    vkr_status st = VKR_OK;
    for (uint32_t k = 0; k < n && st == VKR_OK; k++) {
        const cJSON* curve = cJSON_GetObjectItemCaseSensitive(c[k].training, "curve");
        const cJSON* loss = cJSON_GetObjectItemCaseSensitive(curve, "loss");
        const cJSON* hr = loss ? loss->next : NULL; /* the validation figure, named after its protocol */
        const cJSON* best = cJSON_GetObjectItemCaseSensitive(c[k].training, "best_epoch");
        uint32_t nl = 0, nh = 0;
        s[k] = (vkr_plot_series){.name = c[k].name, .top = values(loss, &nl), .bottom = values(hr, &nh),
                                 .mark = cJSON_IsNumber(best) ? (uint32_t)best->valuedouble : 0,
                                 .colour = vkr_plot_colour(k)};
        s[k].count = nl < nh ? nl : nh;
        if (!s[k].top || !s[k].bottom) st = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "curves: out of host memory");
        if (hr && strcmp(hr->string, "valid_hr10") != 0 && strncmp(hr->string, "valid_hr10_", 11) == 0)
            snprintf(bottom, sizeof bottom, "validation HR@10 (%s)", hr->string + 11);
    }
    snprintf(title, sizeof title, "%s: training curves", model);
    vkr_plot_options o = {title, "epoch", "mean sampled training loss", bottom, "best epoch (evaluated)",
                          RUN_CURVES_WIDTH, RUN_CURVES_HEIGHT};
    if (st == VKR_OK) st = vkr_plot_write_png(png, &o, s, n);
    for (uint32_t k = 0; k < n; k++) {
        free((void*)s[k].top);
        free((void*)s[k].bottom);
    }
    return st;
}
#endif

/* One model: its picture, the JSON entry and the report lines. */
static void model_curves(const char* run_dir, const char* model, const run_curve* c, uint32_t n, bool more,
                         cJSON* json_out, FILE* md) {
    char png[4200], note[512] = "";
    snprintf(png, sizeof png, "%s/curves/%s.png", run_dir, model);
#ifdef VKR_HAVE_VIEWER
    if (plot(model, c, n, png) != VKR_OK) snprintf(note, sizeof note, "picture not drawn: %s", vkr_last_error());
#else
    (void)c, (void)n;
    snprintf(note, sizeof note, "picture not drawn: this build has no viewer");
#endif
    if (note[0]) vkr_log(VKR_LOG_WARN, "curves of %s: %s", model, note);
    char rel[160];
    snprintf(rel, sizeof rel, "curves/%s.png", model);
    if (json_out) cJSON_AddItemToObject(json_out, model, note[0] ? cJSON_CreateNull() : cJSON_CreateString(rel));
    if (!md) return;
    if (note[0]) fprintf(md, "- %s: %s (the curves are in metrics.json)\n\n", model, note);
    else fprintf(md, "![%s training curves](%s)%s\n\n", model, rel, more ? "\n\n(the first curves only)" : "");
}

vkr_status run_curves_write(const char* run_dir, const cJSON* results, uint32_t seed_count, cJSON* json_out,
                            FILE* md) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/curves", run_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return vkr_fail(VKR_ERR_IO, "curves: cannot create %s: %s", dir, strerror(errno));
    run_curve* c = calloc(RUN_CURVES_MAX, sizeof *c);
    if (!c) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "curves: out of host memory");
    if (md)
        fprintf(md, "\n## Training curves\n\nPer epoch: the mean sampled training loss (top) and the validation "
                    "HR@10 that picks the best epoch (bottom); the ring marks the best epoch, whose parameters are "
                    "evaluated above.\n\n");
    const cJSON* row = NULL;
    cJSON_ArrayForEach(row, results) {
        const char* model = str(row, "model");
        bool first = true; /* draw each model once, at its first row */
        for (const cJSON* r = results->child; r != row && first; r = r->next)
            first = strcmp(str(r, "model"), model) != 0;
        bool more = false;
        uint32_t n = first ? collect(results, model, seed_count, c, &more) : 0;
        if (n) model_curves(run_dir, model, c, n, more, json_out, md);
    }
    free(c);
    return VKR_OK;
}
