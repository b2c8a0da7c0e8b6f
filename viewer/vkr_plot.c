/* Training-curve plots on the viewer's canvas, written with the viewer's PNG writer (see vkr_plot.h). */
#include "vkr_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vkr_viewer_internal.h"

#define PLOT_LEFT 76   /* room for the y tick labels */
#define PLOT_RIGHT 24  /* right margin */
#define PLOT_LABEL 22  /* a panel's label line above it */
#define PLOT_BOTTOM 50 /* x tick labels and the x label */
#define PLOT_INSET 10  /* the first and last x stay off the frame */

/* One panel: its frame on the canvas and its y scale. */
typedef struct plot_panel {
    int x, y, w, h;     /* frame */
    double lo, hi;      /* y range shown */
    double step;        /* y tick spacing */
} plot_panel;

uint32_t vkr_plot_colour(uint32_t k) {
    return vkr_viewer_domain_colour(k);
}

/* A round tick spacing (1, 2 or 5 x 10^k) giving about `target` ticks over range. */
static double nice_step(double range, int target) {
    double raw = range / target, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

/* The y range of one panel's values over every series, widened to whole ticks. */
static void panel_scale(plot_panel* p, const vkr_plot_series* s, uint32_t n, bool top) {
    double lo = INFINITY, hi = -INFINITY;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < s[k].count; i++) {
            double v = top ? s[k].top[i] : s[k].bottom[i];
            if (isfinite(v)) lo = fmin(lo, v), hi = fmax(hi, v);
        }
    if (!isfinite(lo)) lo = 0, hi = 1; /* nothing to draw: an empty unit scale */
    double pad = hi - lo > 1e-12 ? 0.05 * (hi - lo) : fmax(0.1 * fabs(hi), 1e-3);
    p->step = nice_step(hi - lo + 2 * pad, 5);
    p->lo = floor((lo - pad) / p->step) * p->step;
    p->hi = ceil((hi + pad) / p->step) * p->step;
}

static float panel_y(const plot_panel* p, double v) {
    return (float)(p->y + p->h - (v - p->lo) / (p->hi - p->lo) * p->h);
}

static float plot_x(const plot_panel* p, uint32_t x, uint32_t xmax) {
    if (xmax <= 1) return (float)p->x + 0.5f * (float)p->w;
    return (float)(p->x + PLOT_INSET) + (float)(x - 1) / (float)(xmax - 1) * (float)(p->w - 2 * PLOT_INSET);
}

/* Frame, grid, y ticks and label of a panel; x ticks under it when with_x. */
static void panel_axes(vkr_canvas* c, TTF_Font* font, const plot_panel* p, const char* label, uint32_t xmax,
                       bool with_x) {
    vkr_canvas_rect(c, p->x, p->y, p->w, p->h, 0xFFFFFF, 1);
    vkr_canvas_text(c, font, p->x, p->y - PLOT_LABEL + 2, label, 0x202020);
    int decimals = p->step >= 1 ? 0 : (int)ceil(-log10(p->step) - 1e-9);
    for (double v = p->lo; v <= p->hi + 0.5 * p->step; v += p->step) {
        int y = (int)lroundf(panel_y(p, v));
        vkr_canvas_rect(c, p->x, y, p->w, 1, 0xE4E4E4, 1);
        vkr_canvas_rect(c, p->x - 5, y, 5, 1, 0x404040, 1);
        char t[32];
        snprintf(t, sizeof t, "%.*f", decimals, fabs(v) < 0.5 * p->step ? 0.0 : v);
        vkr_canvas_text(c, font, p->x - 8 - vkr_canvas_text_width(font, t), y - 8, t, 0x404040);
    }
    uint32_t xstep = xmax > 1 ? (uint32_t)ceil(nice_step((double)(xmax - 1), 8)) : 1;
    for (uint32_t x = 1; x <= xmax; x += xstep) {
        int sx = (int)lroundf(plot_x(p, x, xmax));
        vkr_canvas_rect(c, sx, p->y, 1, p->h, 0xF0F0F0, 1);
        vkr_canvas_rect(c, sx, p->y + p->h, 1, 5, 0x404040, 1);
        if (!with_x) continue;
        char t[16];
        snprintf(t, sizeof t, "%u", x);
        vkr_canvas_text(c, font, sx - vkr_canvas_text_width(font, t) / 2, p->y + p->h + 7, t, 0x404040);
    }
    vkr_canvas_frame(c, p->x, p->y, p->w, p->h, 0x404040);
}

/* One series on one panel: segments between finite neighbours, a dot per point, a ring at the mark. */
static void panel_series(vkr_canvas* c, const plot_panel* p, const vkr_plot_series* s, const double* v,
                         uint32_t xmax) {
    for (uint32_t i = 0; i < s->count; i++) {
        if (!isfinite(v[i])) continue;
        float x = plot_x(p, i + 1, xmax), y = panel_y(p, v[i]);
        if (i + 1 < s->count && isfinite(v[i + 1]))
            vkr_canvas_line(c, x, y, plot_x(p, i + 2, xmax), panel_y(p, v[i + 1]), 2.0f, s->colour, 1);
        vkr_canvas_disc(c, x, y, 3.0f, s->colour, 1);
        if (s->mark == i + 1) {
            vkr_canvas_disc(c, x, y, 8.0f, s->colour, 1);
            vkr_canvas_disc(c, x, y, 5.5f, 0xFFFFFF, 1);
            vkr_canvas_disc(c, x, y, 3.0f, s->colour, 1);
        }
    }
}

/* A dashed vertical line at the series' mark across both panels. */
static void mark_line(vkr_canvas* c, const plot_panel* top, const plot_panel* bottom, const vkr_plot_series* s,
                      uint32_t xmax) {
    if (s->mark == 0 || s->mark > s->count) return;
    float x = plot_x(top, s->mark, xmax);
    for (const plot_panel* p = top; p; p = p == top ? bottom : NULL)
        for (int y = p->y + 2; y < p->y + p->h - 2; y += 8)
            vkr_canvas_line(c, x, (float)y, x, (float)(y + 4 < p->y + p->h ? y + 4 : p->y + p->h), 1.0f, s->colour,
                            0.5f);
}

/* The legend in rows from (x, y) across width w; returns its height (drawn only when draw). */
static int legend(vkr_canvas* c, TTF_Font* font, const vkr_plot_options* o, const vkr_plot_series* s, uint32_t n,
                  int x, int y, int w, bool draw) {
    int cx = x, rows = 1;
    for (uint32_t k = 0; k <= n; k++) {
        const char* name = k < n ? s[k].name : o->mark_label;
        if (!name) continue;
        int ew = 30 + vkr_canvas_text_width(font, name) + 18;
        if (cx > x && cx + ew > x + w) cx = x, rows++;
        int cy = y + (rows - 1) * 20;
        if (draw && k < n) {
            vkr_canvas_line(c, (float)cx, (float)cy + 9, (float)cx + 22, (float)cy + 9, 2.0f, s[k].colour, 1);
            vkr_canvas_disc(c, (float)cx + 11, (float)cy + 9, 3.0f, s[k].colour, 1);
        } else if (draw) {
            vkr_canvas_disc(c, (float)cx + 11, (float)cy + 9, 8.0f, 0x404040, 1);
            vkr_canvas_disc(c, (float)cx + 11, (float)cy + 9, 5.5f, 0xFFFFFF, 1);
        }
        if (draw) vkr_canvas_text(c, font, cx + 30, cy + 1, name, 0x202020);
        cx += ew;
    }
    return rows * 20;
}

static vkr_status check(const char* path, const vkr_plot_options* o, const vkr_plot_series* s, uint32_t n) {
    if (!path || !o || !s || n == 0 || n > VKR_PLOT_MAX_SERIES)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_plot_write_png: need a path, options and 1..%d series",
                        VKR_PLOT_MAX_SERIES);
    if (o->width < 320 || o->height < 240 || o->width > 8192 || o->height > 8192)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_plot_write_png: size %ux%u is outside 320x240 .. 8192x8192",
                        o->width, o->height);
    for (uint32_t k = 0; k < n; k++)
        if (!s[k].name || (s[k].count && (!s[k].top || !s[k].bottom)))
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_plot_write_png: series %u lacks a name or values", k);
    return VKR_OK;
}

vkr_status vkr_plot_write_png(const char* path, const vkr_plot_options* o, const vkr_plot_series* s, uint32_t n) {
    VKR_TRY(check(path, o, s, n));
    TTF_Font *font = NULL, *title = NULL;
    vkr_status st = vkr_canvas_font_open(13, &font);
    if (st == VKR_OK) st = vkr_canvas_font_open(16, &title);
    uint32_t* px = st == VKR_OK ? malloc((size_t)o->width * o->height * sizeof *px) : NULL;
    if (st == VKR_OK && !px) st = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "plot: out of host memory for the image");
    if (st == VKR_OK) {
        vkr_canvas c = {px, o->width, o->height, o->width};
        vkr_canvas_clear(&c, 0xF7F7F7);
        int w = (int)o->width - PLOT_LEFT - PLOT_RIGHT;
        vkr_canvas_text(&c, title, PLOT_LEFT, 8, o->title ? o->title : "", 0x101010);
        int top_y = 34 + legend(&c, font, o, s, n, PLOT_LEFT, 34, w, false) + 6 + PLOT_LABEL;
        legend(&c, font, o, s, n, PLOT_LEFT, 34, w, true);
        int ph = ((int)o->height - top_y - PLOT_BOTTOM - PLOT_LABEL - 14) / 2;
        if (ph < 20) ph = 20;
        plot_panel top = {PLOT_LEFT, top_y, w, ph, 0, 0, 0};
        plot_panel bottom = {PLOT_LEFT, top_y + ph + 14 + PLOT_LABEL, w, ph, 0, 0, 0};
        panel_scale(&top, s, n, true);
        panel_scale(&bottom, s, n, false);
        uint32_t xmax = 1;
        for (uint32_t k = 0; k < n; k++) xmax = s[k].count > xmax ? s[k].count : xmax;
        panel_axes(&c, font, &top, o->top_label ? o->top_label : "", xmax, false);
        panel_axes(&c, font, &bottom, o->bottom_label ? o->bottom_label : "", xmax, true);
        const char* xl = o->x_label ? o->x_label : "";
        vkr_canvas_text(&c, font, PLOT_LEFT + (w - vkr_canvas_text_width(font, xl)) / 2, bottom.y + bottom.h + 26, xl,
                        0x202020);
        for (uint32_t k = 0; k < n; k++) {
            mark_line(&c, &top, &bottom, &s[k], xmax);
            panel_series(&c, &top, &s[k], s[k].top, xmax);
            panel_series(&c, &bottom, &s[k], s[k].bottom, xmax);
        }
        st = vkr_viewer_write_png(path, px, o->width, o->height, o->width * 4);
    }
    free(px);
    if (font) TTF_CloseFont(font);
    if (title) TTF_CloseFont(title);
    return st;
}
