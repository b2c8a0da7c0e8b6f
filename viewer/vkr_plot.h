/* Training-curve plots drawn by the viewer's software renderer and written as PNG (no display needed).
 *
 * A plot has two panels over a shared x axis (x = 1..count, e.g. epochs): the top panel draws each
 * series' `top` values, the bottom panel its `bottom` values, each panel on its own y scale with
 * ticks and a label. Every series is one colour in both panels and in the legend; a non-finite value
 * leaves a gap; a series' `mark` (e.g. the best epoch) is a ring on both panels and a dashed vertical
 * line. Colours 0xRRGGBB; vkr_plot_colour gives a palette that matches the viewer's domain colours. */
#ifndef VKR_PLOT_H
#define VKR_PLOT_H
#include <stdint.h>

#include "vkr_runtime.h"

#define VKR_PLOT_MAX_SERIES 32 /* most series one plot draws */

/* One line in both panels. */
typedef struct vkr_plot_series {
    const char* name;      /* legend label */
    const double* top;     /* [count] top-panel values (non-finite: gap) */
    const double* bottom;  /* [count] bottom-panel values (non-finite: gap) */
    uint32_t count;        /* points, at x = 1..count */
    uint32_t mark;         /* 1-based x to mark (0: none) */
    uint32_t colour;       /* 0xRRGGBB */
} vkr_plot_series;

/* What the plot says around its lines. */
typedef struct vkr_plot_options {
    const char* title;        /* over the panels */
    const char* x_label;      /* under the x axis ("epoch") */
    const char* top_label;    /* the top panel's y quantity ("training loss") */
    const char* bottom_label; /* the bottom panel's ("validation HR@10") */
    const char* mark_label;   /* what a mark means, in the legend ("best epoch"; NULL: no legend entry) */
    uint32_t width, height;   /* image size in pixels (320x240 .. 8192x8192) */
} vkr_plot_options;

/* Colour k of the palette (the viewer's domain colours). */
uint32_t vkr_plot_colour(uint32_t k);
/* Draws the plot of `n` series (1..VKR_PLOT_MAX_SERIES) and writes it to the PNG at path, atomically. */
vkr_status vkr_plot_write_png(const char* path, const vkr_plot_options* options, const vkr_plot_series* series,
                              uint32_t n);

#endif
