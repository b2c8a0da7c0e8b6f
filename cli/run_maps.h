/* The main job's embedding maps: for each view of the items (text embedding, semantic-ID codes, ID
 * embeddings, fused, ...) the domain alignment (vkr_align, k = RUN_MAPS_K) in the embedding space
 * and in its 2-D t-SNE map, the map itself, a picture of it, a report section and metrics.
 *
 * Files written per view NAME (RUN_DIR/maps is created):
 *   RUN_DIR/maps/NAME.npy  the map, items x 2 float32 (row i = item i)
 *   RUN_DIR/maps/NAME.csv  item,key,domain,title,x,y
 *   RUN_DIR/maps/NAME.png  the viewer's map panel rendered headless (1280 x 800), when the build has
 *                          the viewer; `vkrec view RUN_DIR [--data DATA_DIR]` shows every
 *                          maps/NAME.npy and `v` switches between them.
 * t-SNE runs RUN_MAPS_ITERATIONS iterations (250 of them with early exaggeration), half the default,
 * with the FFT grid capped at RUN_MAPS_MAX_GRID, so that three views of the bundled 7,600-item
 * sample take ~25 s on lavapipe (2 cores); the report says so. Without a Vulkan device (dev NULL) only the embedding-space alignment is computed
 * (CPU reference kNN) and the maps are skipped with a note. */
#ifndef VKR_RUN_MAPS_H
#define VKR_RUN_MAPS_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vkr_data.h"

#define RUN_MAPS_ITERATIONS 500 /* t-SNE iterations per map */
#define RUN_MAPS_K 10           /* neighbours of the alignment measure */
#define RUN_MAPS_MAX_GRID 256   /* FFT grid cap: half the time of the CPU default, KL ~1% higher */
#define RUN_MAPS_NAME_MAX 48    /* longest view name */

/* One view of all items. */
typedef struct run_map_view {
    const char* name; /* label and file stem: 1..48 of [A-Za-z0-9_.-], not starting with '.' ("semantic-ID") */
    const float* emb; /* ds->item_count x dim, row-major, row i = item i */
    uint32_t dim;     /* columns of emb (>= 1) */
} run_map_view;

/* Computes and writes the maps of `n_views` views of ds's items under run_dir (see above); data_dir is
 * ds's directory (the viewer reloads it to draw the PNGs), json_out (may be NULL) receives an object
 * "maps", report_md (may be NULL) a "## Embedding maps" section; progress on stdout unless quiet. */
vkr_status cli_stage_maps(vkr_device* dev, const char* run_dir, const char* data_dir, const vkr_dataset* ds,
                          const run_map_view* views, uint32_t n_views, bool quiet, cJSON* json_out, FILE* report_md);

#endif
