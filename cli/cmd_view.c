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

int cli_cmd_view(int argc, char** argv) {
    const char* cmd = "view";
#ifndef VKR_HAVE_VIEWER
    (void)argc;
    (void)argv;
    fprintf(stderr, "vkrec %s: this build has no viewer (SDL2, SDL2_ttf, cglm or libpng were missing at configure "
                    "time; scripts/install-deps.sh installs them)\n", cmd);
    return CLI_FAILED;
#else
    vkr_viewer_options o = {.width = 1280, .height = 800, .panel = VKR_PANEL_MAP};
    const char *run_dir = NULL, *emb = NULL, *selector = NULL;
    bool live = false;
    vkr_tsne_options tsne = {0};
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = NULL;
        if (strcmp(a, "--screenshot") == 0) {
            if (!(o.screenshot = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--live") == 0) {
            live = true;
        } else if (strcmp(a, "--emb") == 0) {
            if (!(emb = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--device") == 0) {
            if (!(selector = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--iters") == 0) {
            unsigned u = 0;
            if (!(v = cli_value(cmd, argc, argv, &i)) || !cli_parse_uint(cmd, a, v, &u)) return CLI_USAGE;
            tsne.iterations = u;
        } else if (strcmp(a, "--map") == 0) {
            if (!(o.map = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--data") == 0) {
            if (!(o.data_dir = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
        } else if (strcmp(a, "--panel") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            if (strcmp(v, "map") == 0) o.panel = VKR_PANEL_MAP;
            else if (strcmp(v, "trie") == 0) o.panel = VKR_PANEL_TRIE;
            else return cli_usage_error(cmd, "--panel expects map or trie, got '%s'", v);
        } else if (strcmp(a, "--size") == 0) {
            if (!(v = cli_value(cmd, argc, argv, &i))) return CLI_USAGE;
            unsigned w = 0, h = 0;
            char tail = 0;
            if (sscanf(v, "%ux%u%c", &w, &h, &tail) != 2 || w < 320 || h < 240 || w > 8192 || h > 8192)
                return cli_usage_error(cmd, "--size expects WxH between 320x240 and 8192x8192, got '%s'", v);
            o.width = w;
            o.height = h;
        } else if (a[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (run_dir) {
            return cli_usage_error(cmd, "one run directory expected (got '%s' and '%s')", run_dir, a);
        } else {
            run_dir = a;
        }
    }
    if (!run_dir) return cli_usage_error(cmd, "a run directory is required");
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
