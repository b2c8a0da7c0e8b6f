/* vkrec view: the SDL2 viewer of maps and the semantic-ID trie, or a headless PNG of the same drawing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#ifdef VKR_HAVE_VIEWER
#include "vkr_tsne_io.h"
#include "vkr_viewer.h"

/* --live: t-SNE of the dataset's embedding (emb: file name inside it, NULL for item_emb.npy) on the
 * device `selector` picks, drawn as it converges. */
static int view_live(const char* cmd, const vkr_viewer_options* o, const char* emb, const char* selector,
                     const vkr_tsne_options* tsne) {
    char buf[4200];
    const char* data = vkr_viewer_dataset_dir(o, buf, sizeof buf);
    if (!data)
        return cli_usage_error(cmd, "--live needs a dataset with item embeddings: %s has none (give --data DIR)",
                               o->run_dir);
    vkr_tsne_input in;
    vkr_status s = vkr_tsne_input_load(data, emb, data, &in);
    if (s != VKR_OK) return cli_fail(cmd, s);
    vkr_instance* inst = NULL;
    vkr_device* dev = NULL;
    s = cli_open_device(selector, &inst, &dev);
    if (s == VKR_OK) s = vkr_viewer_live(o, dev, in.x, in.n, in.d, tsne);
    vkr_tsne_input_free(&in);
    if (dev) cli_close_device(inst, dev);
    return s == VKR_OK ? CLI_OK : cli_fail(cmd, s);
}
#endif

/* --size WxH between 320x240 and 8192x8192 into a uint32_t[2]. */
static bool parse_size(const char* cmd, const char* option, const char* value, void* dest) {
    unsigned w = 0, h = 0;
    char tail = 0;
    if (sscanf(value, "%ux%u%c", &w, &h, &tail) != 2 || w < 320 || h < 240 || w > 8192 || h > 8192)
        return cli_usage_error(cmd, "%s expects WxH between 320x240 and 8192x8192, got '%s'", option, value), false;
    ((uint32_t*)dest)[0] = w;
    ((uint32_t*)dest)[1] = h;
    return true;
}

/* What `vkrec view` reads from its command line. */
typedef struct view_args {
    const char* run_dir;    /* RUN_DIR */
    const char* data;       /* --data */
    const char* screenshot; /* --screenshot */
    int panel;              /* --panel: index into panel_choices (the vkr_panel order) */
    const char* map;        /* --map */
    uint32_t size[2];       /* --size */
    bool live;              /* --live */
    const char* emb;        /* --emb */
    uint32_t iters;         /* --iters */
} view_args;

static const char* const panel_choices[] = {"map", "trie", NULL};
static const cli_positional view_positionals[] = {{"RUN_DIR", "a run directory", offsetof(view_args, run_dir), 1, 1}};
static const cli_option view_opts[] = {
    CLI_STRING(COMMAND, "--screenshot", "OUT.png", view_args, screenshot, NULL,
               "render without a window (no display needed) and exit"),
    CLI_CHOICE(COMMAND, "--panel", view_args, panel, panel_choices, "map", "panel to start with or to render"),
    CLI_STRING(COMMAND, "--map", "NAME", view_args, map, NULL,
               "map to start with or to render (tsne_text.npy and maps/text.npy: text)"),
    CLI_CUSTOM(COMMAND, "--size", "WxH", view_args, size, parse_size, "1280x800", "window or image size"),
    CLI_STRING(COMMAND, "--data", "DIR", view_args, data, NULL,
               "dataset directory for titles and domains (default RUN_DIR, else RUN_DIR/data, else the dataset_dir "
               "RUN_DIR/metrics.json names)"),
    CLI_FLAG(COMMAND, "--live", view_args, live,
             "run t-SNE of the dataset's embedding on the GPU and redraw its map as it converges (every 10 "
             "iterations; closing the window stops it); with --screenshot, headless: the final map"),
    CLI_STRING(COMMAND, "--emb", "FILE", view_args, emb, "item_emb.npy", "with --live: the embedding file"),
    CLI_UINT(COMMAND, "--iters", "N", view_args, iters, 1, CLI_UINT_LIMIT, "1000", "with --live: t-SNE iterations"),
};
static const cli_option* const view_shared[] = {&cli_opt_gpu, NULL};
const cli_spec cli_view_spec = {
    .name = "view",
    .description =
        "  Map panel: items of every RUN_DIR/tsne*.npy and RUN_DIR/maps/NAME.npy map coloured by domain;\n"
        "  wheel zooms, drag or arrows pan, hover shows title and id, click selects an item and highlights\n"
        "  its nearest neighbours, '/' searches titles, v switches maps, +/- zoom, , and . point size,\n"
        "  [ ] opacity, r resets, Tab switches panels.\n"
        "  Trie panel: the prefix tree of semantic_ids.npy (in RUN_DIR or the dataset directory; levels\n"
        "  left to right, node size by item count, colour by domain mix); click a node to expand or\n"
        "  collapse it; u cycles users of RUN_DIR/beams.json to overlay their beam-search paths and scores.\n"
        "  --device goes with --live.",
    CLI_POSITIONALS(view_positionals),
    CLI_OWN_OPTIONS(view_opts),
    .shared = view_shared,
};

int cli_cmd_view(int argc, char** argv) {
    const char* cmd = "view";
    cli_common com = {0};
    view_args a = {.size = {1280, 800}};
    if (cli_parse(&cli_view_spec, argc, argv, (void* const[CLI_BASE_COUNT]){&com, &a}) != CLI_OK) return CLI_USAGE;
#ifndef VKR_HAVE_VIEWER
    fprintf(stderr, "vkrec %s: this build has no viewer (SDL2, SDL2_ttf, cglm or libpng were missing at configure "
                    "time; scripts/install-deps.sh installs them)\n", cmd);
    return CLI_FAILED;
#else
    vkr_viewer_options o = {.width = a.size[0], .height = a.size[1], .panel = (vkr_panel)a.panel,
                            .screenshot = a.screenshot, .map = a.map, .data_dir = a.data};
    const char *run_dir = a.run_dir, *emb = a.emb, *selector = com.device;
    const bool live = a.live;
    vkr_tsne_options tsne = {.iterations = a.iters};
    o.run_dir = run_dir;
    if ((emb || selector || tsne.iterations) && !live) return cli_usage_error(cmd, "--emb, --device and --iters need --live");
    if (live) {
        int rc = view_live(cmd, &o, emb, selector, &tsne);
        if (rc == CLI_OK && o.screenshot) printf("wrote %s\n", o.screenshot);
        return rc;
    }
    vkr_status s = o.screenshot ? vkr_viewer_screenshot(&o) : vkr_viewer_run(&o);
    if (s != VKR_OK) return cli_fail(cmd, s);
    if (o.screenshot) printf("wrote %s\n", o.screenshot);
    return CLI_OK;
#endif
}
