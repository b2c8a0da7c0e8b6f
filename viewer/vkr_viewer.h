/* The vkrec viewer: t-SNE maps and the semantic-ID trie of a run directory, in an SDL2 window or
 * rendered headless to PNG.
 *
 * Run directory (RUN_DIR) contents read:
 *   - tsne*.npy: N x 2 float32 maps (vkrec tsne), one "embedding view" each, named after the file
 *     (tsne.npy -> "tsne", tsne_text.npy -> "text"); then maps/NAME.npy (the views the main job
 *     writes, e.g. maps/text.npy, maps/fused.npy -> "text", "fused"). N must equal the dataset's
 *     items; at most 8 maps, in that order (v cycles through them).
 *   - the dataset (dataset.json + data.bin): --data DIR, else RUN_DIR itself, else RUN_DIR/data (where
 *     `vkrec run SRC` prepares it): item titles and domains; without one, items are labelled by row
 *     and all in one domain.
 *   - semantic_ids.npy (in RUN_DIR, else in the dataset directory): items x (L+1) uint16 codes (the
 *     tokenizer's output; last column disambiguates, so every row is distinct; L+1 <= VKR_TRIE_MAX_DEPTH)
 *     for the trie panel, built with vkr_trie.h.
 *   - beams.json (optional), written by the recommender's beam search (schema: vkr_beams_io.h): per
 *     user, beam paths (a code per level from the root), scores and recommended items. The trie
 *     panel overlays one user's beams at a time.
 * At least a map or semantic_ids.npy must exist. Missing or malformed files give a clear error.
 *
 * Drawing: every frame is rasterized by the viewer itself into a 32-bit ARGB buffer (points, lines,
 * rectangles, discs; text through SDL2_ttf), so the window and the headless PNG are pixel-identical
 * for the same state and headless rendering needs no display. View transforms use cglm. */
#ifndef VKR_VIEWER_H
#define VKR_VIEWER_H
#include <SDL2/SDL.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vkr_runtime.h"
#include "vkr_tsne.h"

/* Which panel is shown. */
typedef enum vkr_panel {
    VKR_PANEL_MAP = 0, /* scatter of a t-SNE map */
    VKR_PANEL_TRIE     /* prefix tree of semantic IDs */
} vkr_panel;

/* Viewer settings. */
typedef struct vkr_viewer_options {
    const char* run_dir;    /* directory to show */
    const char* data_dir;   /* dataset directory (NULL: run_dir when it holds one) */
    const char* screenshot; /* PNG path for vkr_viewer_screenshot */
    uint32_t width, height; /* window or image size in pixels */
    vkr_panel panel;        /* initial panel */
    const char* map;        /* name of the map shown first (NULL: the first loaded) */
} vkr_viewer_options;

/* What a test may observe of the viewer's state. */
typedef struct vkr_viewer_state {
    vkr_panel panel;      /* shown panel */
    uint32_t map;         /* index of the shown map */
    uint32_t map_count;   /* maps loaded */
    float zoom;           /* map zoom (1 = whole map fits) */
    float pan_x, pan_y;   /* map centre in map units */
    int64_t hovered;      /* item under the mouse, or -1 */
    int64_t selected;     /* selected item, or -1 */
    uint32_t neighbours;  /* highlighted neighbours of the selection */
    uint32_t matches;     /* items matching the search text */
    uint32_t trie_visible; /* trie nodes currently laid out */
    int64_t beam_user;    /* user whose beams are overlaid, or -1 */
    uint32_t frames;      /* frames drawn */
} vkr_viewer_state;

/* An open viewer: data loaded, no window yet. */
typedef struct vkr_viewer vkr_viewer;

/* The dataset directory a viewer with `options` reads: data_dir, else run_dir when it holds
 * dataset.json, else run_dir/data when that does (in buf); NULL when there is none. */
const char* vkr_viewer_dataset_dir(const vkr_viewer_options* options, char* buf, size_t size);
/* Loads the run directory; out_viewer is NULL on failure. */
vkr_status vkr_viewer_open(const vkr_viewer_options* options, vkr_viewer** out_viewer);
/* Frees everything (closes the window if open). */
void vkr_viewer_close(vkr_viewer* viewer);
/* Draws the current state into `pixels` (ARGB8888, width x height, pitch in bytes). */
vkr_status vkr_viewer_render(vkr_viewer* viewer, uint32_t* pixels, uint32_t width, uint32_t height, uint32_t pitch);
/* Applies one input event (mouse, wheel, keys, text); returns false when it asks to quit. */
bool vkr_viewer_handle_event(vkr_viewer* viewer, const SDL_Event* event);
/* Copies the observable state. */
void vkr_viewer_get_state(const vkr_viewer* viewer, vkr_viewer_state* out_state);
/* Opens the window (SDL video must be available: a clear error otherwise). */
vkr_status vkr_viewer_window_open(vkr_viewer* viewer);
/* Handles pending events and presents one frame; *out_quit is set when the user closed the window. */
vkr_status vkr_viewer_window_frame(vkr_viewer* viewer, bool* out_quit);
/* The window's current surface (valid after a frame), for tests that read back what was shown. */
SDL_Surface* vkr_viewer_window_surface(vkr_viewer* viewer);
/* Writes ARGB8888 pixels as an 8-bit RGB PNG (libpng), atomically. */
vkr_status vkr_viewer_write_png(const char* path, const uint32_t* pixels, uint32_t width, uint32_t height,
                                uint32_t pitch);
/* Interactive session: opens the run, the window, loops until closed. */
vkr_status vkr_viewer_run(const vkr_viewer_options* options);
/* Headless: opens the run, renders options->panel at options->width x height into options->screenshot. */
vkr_status vkr_viewer_screenshot(const vkr_viewer_options* options);
/* Live t-SNE: opens the run with an extra map of X (n x d, row i = item i) shown first, and redraws it
 * from vkr_tsne_run's callback (every tsne->callback_every iterations) on `device` while the user
 * explores it in the window; closing the window stops t-SNE. With options->screenshot it draws the
 * frames headless and writes the last one as the PNG. tsne may be NULL (defaults); its callback is
 * replaced. */
vkr_status vkr_viewer_live(const vkr_viewer_options* options, vkr_device* device, const float* x, uint32_t n,
                           uint32_t d, const vkr_tsne_options* tsne);

#endif
