/* Private state and helpers of the viewer (not public API). */
#ifndef VKR_VIEWER_INTERNAL_H
#define VKR_VIEWER_INTERNAL_H
#include <SDL2/SDL_ttf.h>
#include <cglm/cglm.h>

#include "vkr_data.h"
#include "vkr_viewer.h"

#define VIEWER_MAX_MAPS 8       /* embedding views shown */
#define VIEWER_NEIGHBOURS 10    /* neighbours highlighted around a selection */
#define VIEWER_SEARCH_MAX 128   /* search text bytes */
#define VIEWER_MAX_LEVELS 16    /* semantic-ID columns */

/* A 32-bit ARGB drawing target. */
typedef struct canvas {
    uint32_t* px;       /* first pixel */
    uint32_t w, h;      /* size */
    uint32_t stride;    /* pixels per row */
} canvas;

/* One node of the semantic-ID prefix tree. */
typedef struct trie_node {
    uint32_t code;           /* code at this level (root: 0) */
    uint32_t depth;          /* 0 for the root */
    uint32_t count;          /* items below */
    uint32_t first_child;    /* index of the first child, UINT32_MAX if none */
    uint32_t next_sibling;   /* next child of the same parent, UINT32_MAX if last */
    uint32_t parent;         /* parent index (root: itself) */
    uint32_t item;           /* an item below (the only one for a leaf) */
    uint16_t domain_count[VKR_DATA_MAX_DOMAINS]; /* items per domain below (saturating) */
    bool expanded;           /* children shown */
    float y;                 /* layout row (centre), valid when visible */
    bool visible;            /* laid out in the current state */
} trie_node;

/* One beam of a user's beam search. */
typedef struct beam {
    uint32_t len;                       /* codes in the path */
    uint32_t path[VIEWER_MAX_LEVELS];   /* code per level */
    double score;                       /* log-probability */
    int64_t item;                       /* recommended item or -1 */
} beam;

/* Beams of one user. */
typedef struct beam_user {
    int64_t user;   /* user id */
    uint32_t count; /* beams */
    beam* beams;    /* [count] */
} beam_user;

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
    float* maps[VIEWER_MAX_MAPS];       /* n x 2 each */
    char map_name[VIEWER_MAX_MAPS][64];
    float map_lo[VIEWER_MAX_MAPS][2], map_hi[VIEWER_MAX_MAPS][2];
    trie_node* nodes;                   /* [node_count], 0 is the root */
    uint32_t node_count;
    uint32_t levels;                    /* semantic-ID columns */
    char trie_note[256];                /* why there is no trie, when there is none */
    beam_user* users;                   /* beams.json */
    uint32_t user_count;
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
    uint32_t neighbours[VIEWER_NEIGHBOURS];
    bool searching;
    char search[VIEWER_SEARCH_MAX];
    uint8_t* match;                     /* [n] 1 when the title matches the search */
    uint32_t match_count;
    float trie_zoom, trie_pan;          /* rows per screen scale, first row shown */
    uint32_t trie_rows;                 /* visible rows in the layout */
    int64_t beam_user;                  /* index into users, or -1 */
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
uint32_t viewer_domain_colour(uint32_t d);
/* Fills the whole canvas. */
void canvas_clear(canvas* c, uint32_t rgb);
/* Blends a filled rectangle with opacity alpha (0..1). */
void canvas_rect(canvas* c, int x, int y, int w, int h, uint32_t rgb, float alpha);
/* Blends an anti-aliased filled disc. */
void canvas_disc(canvas* c, float cx, float cy, float r, uint32_t rgb, float alpha);
/* Blends a line of the given width (discs along the segment). */
void canvas_line(canvas* c, float x0, float y0, float x1, float y1, float width, uint32_t rgb, float alpha);
/* Blends a one-pixel rectangle outline. */
void canvas_frame(canvas* c, int x, int y, int w, int h, uint32_t rgb);
/* Draws UTF-8 text with its top-left at (x, y); returns its width in pixels (0 without a font). */
int canvas_text(canvas* c, TTF_Font* font, int x, int y, const char* text, uint32_t rgb);
/* Width of text in pixels. */
int text_width(TTF_Font* font, const char* text);

/* ---- data (vkr_viewer_data.c) ---- */
/* Loads dataset, maps, semantic IDs (trie) and beams of v->opt.run_dir. */
vkr_status viewer_load(vkr_viewer* v);
/* Sets map m's bounding box from its points; false when a coordinate is not finite. */
bool viewer_map_bounds(vkr_viewer* v, uint32_t m);
/* Frees what viewer_load loaded. */
void viewer_unload(vkr_viewer* v);
/* Title of item i ("item i" without a dataset) into buf. */
const char* viewer_title(const vkr_viewer* v, uint32_t i, char* buf, size_t size);
/* Domain of item i (0 without a dataset). */
uint32_t viewer_domain(const vkr_viewer* v, uint32_t i);

/* ---- map panel (vkr_viewer_map.c) ---- */
/* Map-to-screen transform of the current view for a w x h panel. */
void map_transform(const vkr_viewer* v, uint32_t w, uint32_t h, mat3 out);
/* Draws the map panel. */
void map_draw(vkr_viewer* v, canvas* c);
/* Item nearest to screen point (x, y) within a few pixels, or -1. */
int64_t map_pick(const vkr_viewer* v, uint32_t w, uint32_t h, int x, int y);
/* Selects item i (or clears with -1) and finds its neighbours in the shown map. */
void map_select(vkr_viewer* v, int64_t item);
/* Recomputes the search matches. */
void map_search_update(vkr_viewer* v);

/* ---- trie panel (vkr_viewer_trie.c) ---- */
/* Lays out the visible nodes (rows), honouring expanded flags. */
void trie_layout(vkr_viewer* v);
/* Draws the trie panel. */
void trie_draw(vkr_viewer* v, canvas* c);
/* Toggles the node under screen point (x, y); true when one was hit. */
bool trie_click(vkr_viewer* v, uint32_t w, uint32_t h, int x, int y);
/* Expands the nodes along the current user's beam paths. */
void trie_show_beams(vkr_viewer* v);

#endif
