/* The main job's embedding maps: alignment in each view's embedding space and t-SNE map, the map
 * files, the viewer's picture of each map, the report section and the metrics (see run_maps.h). */
#include "run_maps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vkr_align.h"
#include "vkr_tsne.h"
#include "vkr_tsne_io.h"
#ifdef VKR_HAVE_VIEWER
#include "vkr_viewer.h"
#endif

/* What one view produced. */
typedef struct view_result {
    vkr_align_result emb;  /* alignment in the embedding space */
    vkr_align_result map;  /* alignment in the t-SNE map (valid when has_map) */
    vkr_tsne_report tsne;  /* the t-SNE run (valid when has_map) */
    bool has_map;          /* the map was computed and written */
    bool has_png;          /* its picture was drawn */
    char png_note[256];    /* why there is no picture, when there is none */
} view_result;

static bool name_ok(const char* name) {
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > RUN_MAPS_NAME_MAX || name[0] == '.') return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '_' && c != '-' && c != '.') return false;
    }
    return true;
}

static vkr_status check_views(const char* run_dir, const vkr_dataset* ds, const run_map_view* views, uint32_t n_views) {
    const char* op = "cli_stage_maps";
    if (!run_dir || !ds || !views || n_views == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: need a run directory, a dataset and at least one view", op);
    if (ds->item_count < 2 || ds->domain_count < 2)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: the dataset needs >= 2 items in >= 2 domains (has %u in %u)", op,
                        ds->item_count, ds->domain_count);
    for (uint32_t v = 0; v < n_views; v++) {
        if (!name_ok(views[v].name))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: view %u's name '%s' is not 1..%d of [A-Za-z0-9_.-] "
                            "(it names files)", op, v, views[v].name ? views[v].name : "(null)", RUN_MAPS_NAME_MAX);
        if (!views[v].emb || views[v].dim == 0)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: view '%s' has no embedding or 0 columns", op, views[v].name);
        for (uint32_t w = 0; w < v; w++)
            if (strcmp(views[w].name, views[v].name) == 0)
                return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: two views are named '%s'", op, views[v].name);
    }
    return VKR_OK;
}

/* The viewer's map panel of view `name`, headless, into png; a failure only leaves a note. */
static void draw_png(const char* run_dir, const char* data_dir, const char* name, const char* png, view_result* r) {
#ifdef VKR_HAVE_VIEWER
    vkr_viewer_options o = {.run_dir = run_dir, .data_dir = data_dir, .screenshot = png, .width = 1280,
                            .height = 800, .panel = VKR_PANEL_MAP, .map = name};
    r->has_png = vkr_viewer_screenshot(&o) == VKR_OK;
    if (!r->has_png) snprintf(r->png_note, sizeof r->png_note, "picture not drawn: %s", vkr_last_error());
#else
    (void)run_dir, (void)data_dir, (void)name, (void)png;
    snprintf(r->png_note, sizeof r->png_note, "picture not drawn: this build has no viewer");
#endif
    if (!r->has_png) vkr_log(VKR_LOG_WARN, "maps: %s", r->png_note);
}

static vkr_status map_view(vkr_device* dev, const char* run_dir, const char* data_dir, const vkr_dataset* ds,
                           const run_map_view* view, view_result* r) {
    uint32_t n = ds->item_count;
    if (!dev)
        return vkr_ref_align_compute(view->emb, n, view->dim, ds->item_domain, ds->domain_count, RUN_MAPS_K, &r->emb);
    VKR_TRY(vkr_align_compute(dev, view->emb, n, view->dim, ds->item_domain, ds->domain_count, RUN_MAPS_K, &r->emb));
    float* y = malloc(sizeof(float) * 2 * n);
    if (!y) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "maps: out of host memory for %u points", n);
    vkr_tsne_options o = {.iterations = RUN_MAPS_ITERATIONS, .fft_max_grid = RUN_MAPS_MAX_GRID};
    vkr_status s = vkr_tsne_run(dev, view->emb, n, view->dim, &o, y, &r->tsne);
    if (s == VKR_OK) s = vkr_align_compute(dev, y, n, 2, ds->item_domain, ds->domain_count, RUN_MAPS_K, &r->map);
    char npy[4400], csv[4400], png[4400];
    snprintf(npy, sizeof npy, "%s/maps/%s.npy", run_dir, view->name);
    snprintf(csv, sizeof csv, "%s/maps/%s.csv", run_dir, view->name);
    snprintf(png, sizeof png, "%s/maps/%s.png", run_dir, view->name);
    if (s == VKR_OK) s = vkr_tsne_save(npy, csv, y, n, ds);
    free(y);
    if (s != VKR_OK) return vkr_fail_context(s, "map of view '%s': ", view->name);
    r->has_map = true;
    draw_png(run_dir, data_dir, view->name, png, r);
    return VKR_OK;
}

static cJSON* align_json(const vkr_dataset* ds, const vkr_align_result* a) {
    cJSON* j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "overall", a->overall);
    cJSON_AddNumberToObject(j, "other_fraction", a->overall_raw);
    cJSON* doms = cJSON_AddObjectToObject(j, "domains");
    for (uint32_t c = 0; c < ds->domain_count; c++) cJSON_AddNumberToObject(doms, ds->domain_name[c], a->mixing[c]);
    return j;
}

static void add_json(cJSON* out, const vkr_dataset* ds, const run_map_view* views, const view_result* res,
                     uint32_t n_views) {
    cJSON* m = cJSON_AddObjectToObject(out, "maps");
    cJSON_AddNumberToObject(m, "iterations", RUN_MAPS_ITERATIONS);
    cJSON_AddNumberToObject(m, "k", RUN_MAPS_K);
    cJSON* arr = cJSON_AddArrayToObject(m, "views");
    for (uint32_t v = 0; v < n_views; v++) {
        const view_result* r = &res[v];
        cJSON* j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", views[v].name);
        cJSON_AddNumberToObject(j, "dim", views[v].dim);
        cJSON_AddItemToObject(j, "embedding", align_json(ds, &r->emb));
        if (r->has_map) {
            char path[RUN_MAPS_NAME_MAX + 16];
            snprintf(path, sizeof path, "maps/%s.npy", views[v].name);
            cJSON_AddStringToObject(j, "file", path);
            snprintf(path, sizeof path, "maps/%s.png", views[v].name);
            if (r->has_png) cJSON_AddStringToObject(j, "png", path);
            else cJSON_AddNullToObject(j, "png");
            cJSON_AddItemToObject(j, "map", align_json(ds, &r->map));
            cJSON* t = cJSON_AddObjectToObject(j, "tsne");
            cJSON_AddStringToObject(t, "method", vkr_tsne_method_name(r->tsne.method));
            cJSON_AddNumberToObject(t, "kl", r->tsne.kl);
            cJSON_AddBoolToObject(t, "kl_exact", r->tsne.kl_exact);
            cJSON_AddNumberToObject(t, "seconds", r->tsne.seconds);
        }
        cJSON_AddItemToArray(arr, j);
    }
}

static void write_section(FILE* f, const vkr_device* dev, const vkr_dataset* ds, const run_map_view* views,
                          const view_result* res, uint32_t n_views) {
    fprintf(f, "\n## Embedding maps\n\n");
    fprintf(f, "Domain alignment of %u items per view: the fraction of each item's %d nearest neighbours from "
               "another domain over its value under perfect mixing (0: domains apart, 1: mixed as chance), in the "
               "view's embedding space and in its 2-D t-SNE map. ", ds->item_count, RUN_MAPS_K);
    if (dev)
        fprintf(f, "Maps: t-SNE with %d iterations (half the usual 1000, to keep the job short; 250 with early "
                   "exaggeration), perplexity 30, FFT grid at most %d, on %s; `vkrec view RUN_DIR` shows them "
                   "all.\n\n", RUN_MAPS_ITERATIONS, RUN_MAPS_MAX_GRID, vkr_device_get_info(dev)->name);
    else
        fprintf(f, "Maps skipped: t-SNE needs a Vulkan device and this run used the CPU backend.\n\n");
    fprintf(f, "| view | dim | embedding: overall |");
    for (uint32_t c = 0; c < ds->domain_count; c++) fprintf(f, " %s |", ds->domain_name[c]);
    fprintf(f, " map: overall |");
    for (uint32_t c = 0; c < ds->domain_count; c++) fprintf(f, " %s |", ds->domain_name[c]);
    fprintf(f, " t-SNE KL | picture |\n|---|---:|---:|");
    for (uint32_t c = 0; c < 2 * ds->domain_count + 2; c++) fprintf(f, "---:|");
    fprintf(f, "---|\n");
    for (uint32_t v = 0; v < n_views; v++) {
        const view_result* r = &res[v];
        fprintf(f, "| %s | %u | %.3f |", views[v].name, views[v].dim, r->emb.overall);
        for (uint32_t c = 0; c < ds->domain_count; c++) fprintf(f, " %.3f |", r->emb.mixing[c]);
        if (!r->has_map) {
            for (uint32_t c = 0; c < ds->domain_count + 2; c++) fprintf(f, " - |");
            fprintf(f, " - |\n");
            continue;
        }
        fprintf(f, " %.3f |", r->map.overall);
        for (uint32_t c = 0; c < ds->domain_count; c++) fprintf(f, " %.3f |", r->map.mixing[c]);
        fprintf(f, " %.3f |", r->tsne.kl);
        if (r->has_png) fprintf(f, " [%s.png](maps/%s.png) |\n", views[v].name, views[v].name);
        else fprintf(f, " %s |\n", r->png_note);
    }
}

vkr_status cli_stage_maps(vkr_device* dev, const char* run_dir, const char* data_dir, const vkr_dataset* ds,
                          const run_map_view* views, uint32_t n_views, bool quiet, cJSON* json_out, FILE* report_md) {
    VKR_TRY(check_views(run_dir, ds, views, n_views));
    char maps_dir[4200];
    snprintf(maps_dir, sizeof maps_dir, "%s/maps", run_dir);
    if (dev && mkdir(maps_dir, 0755) != 0 && errno != EEXIST)
        return vkr_fail(VKR_ERR_IO, "maps: cannot create %s: %s", maps_dir, strerror(errno));
    view_result* res = calloc(n_views, sizeof *res);
    if (!res) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "maps: out of host memory");
    vkr_status s = VKR_OK;
    for (uint32_t v = 0; v < n_views && s == VKR_OK; v++) {
        s = map_view(dev, run_dir, data_dir, ds, &views[v], &res[v]);
        if (s != VKR_OK || quiet) continue;
        printf("== map %s (%u x %u): alignment in the embedding %.3f", views[v].name, ds->item_count, views[v].dim,
               res[v].emb.overall);
        if (res[v].has_map)
            printf(", in the map %.3f (t-SNE %s, KL %.3f, %.1f s)%s%s", res[v].map.overall,
                   vkr_tsne_method_name(res[v].tsne.method), res[v].tsne.kl, res[v].tsne.seconds,
                   res[v].has_png ? " -> " : "", res[v].has_png ? maps_dir : "");
        printf("\n");
    }
    if (s == VKR_OK && json_out) add_json(json_out, ds, views, res, n_views);
    if (s == VKR_OK && report_md) write_section(report_md, dev, ds, views, res, n_views);
    free(res);
    return s;
}
