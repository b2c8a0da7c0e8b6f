/* Private state and helpers of the viewer (not public API). */
#ifndef VKR_VIEWER_INTERNAL_H
#define VKR_VIEWER_INTERNAL_H
#include <SDL2/SDL_ttf.h>
#include <cglm/cglm.h>

#include "vkr_beams_io.h"
#include "vkr_data.h"
#include "vkr_trie.h"
#include "vkr_viewer.h"

#define VKR_VIEWER_MAX_MAPS 8       /* embedding views shown */
#define VKR_VIEWER_NEIGHBOURS 10    /* neighbours highlighted around a selection */
#define VKR_VIEWER_SEARCH_MAX 128   /* search text bytes */

/* A 32-bit ARGB drawing target. */
typedef struct vkr_canvas {
    uint32_t* px;       /* first pixel */
    uint32_t w, h;      /* size */
    uint32_t stride;    /* pixels per row */
} vkr_canvas;

/* What the trie panel keeps beside each node of the semantic-ID trie (same index). */
typedef struct vkr_viewer_trie_node {
    uint32_t depth;          /* 0 for the root */
    uint32_t count;          /* items below */
    uint16_t domain_count[VKR_DATA_MAX_DOMAINS]; /* items per domain below (saturating) */
    bool expanded;           /* children shown */
    float y;                 /* layout row (centre), valid when visible */
    bool visible;            /* laid out in the current state */
} vkr_viewer_trie_node;

struct vkr_viewer {
    vkr_viewer_options opt;
    char run_dir[4096];
    char data_dir[4096];                /* the dataset's directory, when has_dataset */
    /* data */
    uint32_t n;                         /* items */
    bool has_dataset;
    vkr_dataset dataset;
    uint32_t domain_count;              /* 1 without a dataset */
    uint32_t map_count;
    uint32_t live_n;                    /* points of the live t-SNE map (0: none) */
    uint32_t live_map;                  /* its index, when live_n */
    float* maps[VKR_VIEWER_MAX_MAPS];   /* n x 2 each */
    char map_name[VKR_VIEWER_MAX_MAPS][64];
    float map_lo[VKR_VIEWER_MAX_MAPS][2], map_hi[VKR_VIEWER_MAX_MAPS][2];
    vkr_trie trie;                      /* of every item's semantic ID (node_count 0: none) */
    vkr_viewer_trie_node* nodes;        /* [trie.node_count] the panel's state of each trie node */
    char trie_note[256];                /* why there is no trie, when there is none */
    vkr_beams beams;                    /* beams.json (no users: none) */
    /* view state */
    vkr_panel panel;
    uint32_t map;
    float zoom, pan[2];
    float point_radius, opacity;
    int mouse_x, mouse_y;
    bool dragging;
    int drag_x, drag_y;
    int64_t hovered, selected;
    uint32_t neighbour_count;
    uint32_t neighbours[VKR_VIEWER_NEIGHBOURS];
    bool searching;
    char search[VKR_VIEWER_SEARCH_MAX];
    uint8_t* match;                     /* [n] 1 when the title matches the search */
    uint32_t match_count;
    float trie_zoom, trie_pan;          /* rows per screen scale, first row shown */
    uint32_t trie_rows;                 /* visible rows in the layout */
    int64_t beam_user;                  /* index into beams.users, or -1 */
    uint32_t frames;
    /* rendering */
    TTF_Font* font;
    TTF_Font* font_small;
    uint32_t win_w, win_h;
    SDL_Window* window;
    uint32_t* frame;                    /* window-sized ARGB buffer */
};

/* ---- canvas (vkr_viewer_canvas.c) ---- */
/* Colour of domain d (a fixed qualitative palette), 0xRRGGBB. */
uint32_t vkr_viewer_domain_colour(uint32_t d);
/* Fills the whole canvas. */
void vkr_canvas_clear(vkr_canvas* c, uint32_t rgb);
/* Blends a filled rectangle with opacity alpha (0..1). */
void vkr_canvas_rect(vkr_canvas* c, int x, int y, int w, int h, uint32_t rgb, float alpha);
/* Blends an anti-aliased filled disc. */
void vkr_canvas_disc(vkr_canvas* c, float cx, float cy, float r, uint32_t rgb, float alpha);
/* Blends a line of the given width (discs along the segment). */
void vkr_canvas_line(vkr_canvas* c, float x0, float y0, float x1, float y1, float width, uint32_t rgb, float alpha);
/* Blends a one-pixel rectangle outline. */
void vkr_canvas_frame(vkr_canvas* c, int x, int y, int w, int h, uint32_t rgb);
/* Draws UTF-8 text with its top-left at (x, y); returns its width in pixels (0 without a font). */
int vkr_canvas_text(vkr_canvas* c, TTF_Font* font, int x, int y, const char* text, uint32_t rgb);
/* Width of text in pixels. */
int vkr_canvas_text_width(TTF_Font* font, const char* text);
/* Opens the bundled font at `size` points: $VKR_ASSETS/fonts first (tests, relocated installs), then the
 * source tree; *out is NULL on failure. */
vkr_status vkr_canvas_font_open(int size, TTF_Font** out);

/* ---- data (vkr_viewer_data.c) ---- */
/* Loads dataset, maps, semantic IDs (trie) and beams of v->opt.run_dir. */
vkr_status vkr_viewer_load(vkr_viewer* v);
/* Sets map m's bounding box from its points; false when a coordinate is not finite. */
bool vkr_viewer_map_bounds(vkr_viewer* v, uint32_t m);
/* Frees what vkr_viewer_load loaded. */
void vkr_viewer_unload(vkr_viewer* v);
/* Title of item i ("item i" without a dataset) into buf. */
const char* vkr_viewer_title(const vkr_viewer* v, uint32_t i, char* buf, size_t size);
/* Domain of item i (0 without a dataset). */
uint32_t vkr_viewer_domain(const vkr_viewer* v, uint32_t i);

/* ---- map panel (vkr_viewer_map.c) ---- */
/* Map-to-screen transform of the current view for a w x h panel. */
void vkr_viewer_map_transform(const vkr_viewer* v, uint32_t w, uint32_t h, mat3 out);
/* Draws the map panel. */
void vkr_viewer_map_draw(vkr_viewer* v, vkr_canvas* c);
/* Item nearest to screen point (x, y) within a few pixels, or -1. */
int64_t vkr_viewer_map_pick(const vkr_viewer* v, uint32_t w, uint32_t h, int x, int y);
/* Selects item i (or clears with -1) and finds its neighbours in the shown map. */
void vkr_viewer_map_select(vkr_viewer* v, int64_t item);
/* Recomputes the search matches. */
void vkr_viewer_map_search_update(vkr_viewer* v);

/* ---- trie panel (vkr_viewer_trie.c) ---- */
/* Lays out the visible nodes (rows), honouring expanded flags. */
void vkr_viewer_trie_layout(vkr_viewer* v);
/* Draws the trie panel. */
void vkr_viewer_trie_draw(vkr_viewer* v, vkr_canvas* c);
/* Toggles the node under screen point (x, y); true when one was hit. */
bool vkr_viewer_trie_click(vkr_viewer* v, uint32_t w, uint32_t h, int x, int y);
/* Expands the nodes along the current user's beam paths. */
void vkr_viewer_trie_show_beams(vkr_viewer* v);

#endif
