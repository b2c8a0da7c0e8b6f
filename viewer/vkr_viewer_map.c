/* The map panel: a scatter of one t-SNE map coloured by domain, with legend, hover, selection with
 * nearest neighbours, and title search. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vkr_viewer_internal.h"

#define MAP_TOP 30    /* status bar height */
#define MAP_BOTTOM 22 /* help line height */

void vkr_viewer_map_transform(const vkr_viewer* v, uint32_t w, uint32_t h, mat3 out) {
    const float* lo = v->map_lo[v->map];
    const float* hi = v->map_hi[v->map];
    float ph = (float)h - MAP_TOP - MAP_BOTTOM;
    float ex = fmaxf(hi[0] - lo[0], 1e-6f), ey = fmaxf(hi[1] - lo[1], 1e-6f);
    float scale = 0.92f * fminf((float)w / ex, ph / ey) * v->zoom;
    mat3 t_centre, s, t_pan;
    glm_translate2d_make(t_centre, (vec2){(float)w * 0.5f, MAP_TOP + ph * 0.5f});
    glm_mat3_identity(s);
    glm_scale2d(s, (vec2){scale, -scale}); /* map y up, screen y down */
    glm_translate2d_make(t_pan, (vec2){-v->pan[0], -v->pan[1]});
    glm_mat3_mul(t_centre, s, out);
    glm_mat3_mul(out, t_pan, out);
}

static inline void to_screen(mat3 m, float x, float y, float* sx, float* sy) {
    *sx = m[0][0] * x + m[1][0] * y + m[2][0];
    *sy = m[0][1] * x + m[1][1] * y + m[2][1];
}

int64_t vkr_viewer_map_pick(const vkr_viewer* v, uint32_t w, uint32_t h, int x, int y) {
    if (!v->map_count || y < MAP_TOP || y >= (int)h - MAP_BOTTOM) return -1;
    mat3 m;
    vkr_viewer_map_transform(v, w, h, m);
    const float* p = v->maps[v->map];
    float reach = fmaxf(6.0f, v->point_radius + 3.0f), best = reach * reach;
    int64_t hit = -1;
    for (uint32_t i = 0; i < v->n; i++) {
        float sx, sy;
        to_screen(m, p[2 * i], p[2 * i + 1], &sx, &sy);
        float d = (sx - (float)x) * (sx - (float)x) + (sy - (float)y) * (sy - (float)y);
        if (d < best) {
            best = d;
            hit = i;
        }
    }
    return hit;
}

void vkr_viewer_map_select(vkr_viewer* v, int64_t item) {
    v->selected = item;
    v->neighbour_count = 0;
    if (item < 0 || !v->map_count) return;
    const float* p = v->maps[v->map];
    float dist[VKR_VIEWER_NEIGHBOURS];
    for (uint32_t i = 0; i < v->n; i++) {
        if (i == (uint32_t)item) continue;
        float dx = p[2 * i] - p[2 * item], dy = p[2 * i + 1] - p[2 * item + 1], d = dx * dx + dy * dy;
        uint32_t k = v->neighbour_count;
        if (k == VKR_VIEWER_NEIGHBOURS && d >= dist[k - 1]) continue;
        if (k < VKR_VIEWER_NEIGHBOURS) v->neighbour_count++;
        else k--;
        /* insertion into the sorted list */
        while (k > 0 && dist[k - 1] > d) {
            dist[k] = dist[k - 1];
            v->neighbours[k] = v->neighbours[k - 1];
            k--;
        }
        dist[k] = d;
        v->neighbours[k] = i;
    }
}

/* Case-insensitive substring test. */
static bool contains_ci(const char* hay, const char* needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t k = 0;
        while (k < n && hay[k] && tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k])) k++;
        if (k == n) return true;
    }
    return n == 0;
}

void vkr_viewer_map_search_update(vkr_viewer* v) {
    v->match_count = 0;
    char buf[512];
    for (uint32_t i = 0; i < v->n; i++) {
        v->match[i] = v->search[0] && contains_ci(vkr_viewer_title(v, i, buf, sizeof buf), v->search);
        v->match_count += v->match[i];
    }
}

static void draw_legend(vkr_viewer* v, vkr_canvas* c) {
    if (!v->has_dataset) return;
    int lh = 20, w = 0;
    for (uint32_t d = 0; d < v->domain_count; d++) {
        int tw = vkr_canvas_text_width(v->font, v->dataset.domain_name[d]);
        if (tw > w) w = tw;
    }
    int bw = w + 40, bh = (int)v->domain_count * lh + 10, x = (int)c->w - bw - 10, y = MAP_TOP + 10;
    vkr_canvas_rect(c, x, y, bw, bh, 0xFFFFFF, 0.9f);
    vkr_canvas_frame(c, x, y, bw, bh, 0x808080);
    for (uint32_t d = 0; d < v->domain_count; d++) {
        int ly = y + 5 + (int)d * lh;
        vkr_canvas_disc(c, (float)x + 14, (float)ly + 10, 6, vkr_viewer_domain_colour(d), 1);
        vkr_canvas_text(c, v->font, x + 26, ly + 1, v->dataset.domain_name[d], 0x202020);
    }
}

static void draw_tooltip(vkr_viewer* v, vkr_canvas* c, uint32_t item, int x, int y) {
    char title[512], line[700];
    vkr_viewer_title(v, item, title, sizeof title);
    if (v->has_dataset)
        snprintf(line, sizeof line, "%s  [id %u, %s]", title, item, v->dataset.domain_name[vkr_viewer_domain(v, item)]);
    else
        snprintf(line, sizeof line, "%s  [id %u]", title, item);
    int w = vkr_canvas_text_width(v->font, line) + 12, h = 24;
    if (x + 14 + w > (int)c->w) x = (int)c->w - w - 14;
    if (x < 0) x = 0;
    vkr_canvas_rect(c, x + 12, y + 12, w, h, 0xFFFFF0, 0.95f);
    vkr_canvas_frame(c, x + 12, y + 12, w, h, 0x404040);
    vkr_canvas_text(c, v->font, x + 18, y + 15, line, 0x101010);
}

void vkr_viewer_map_draw(vkr_viewer* v, vkr_canvas* c) {
    vkr_canvas_clear(c, 0xFAFAFA);
    char bar[512];
    if (!v->map_count) {
        vkr_canvas_text(c, v->font, 20, MAP_TOP + 20,
                        "no t-SNE map in the run directory: run 'vkrec tsne RUN_DIR' first", 0xA00000);
    } else {
        mat3 m;
        vkr_viewer_map_transform(v, c->w, c->h, m);
        const float* p = v->maps[v->map];
        bool filter = v->search[0] != 0;
        for (uint32_t i = 0; i < v->n; i++) {
            float sx, sy;
            to_screen(m, p[2 * i], p[2 * i + 1], &sx, &sy);
            bool dim = filter && !v->match[i];
            uint32_t colour = dim ? 0xC8C8C8 : vkr_viewer_domain_colour(vkr_viewer_domain(v, i));
            vkr_canvas_disc(c, sx, sy, v->point_radius, colour, dim ? v->opacity * 0.5f : v->opacity);
        }
        if (v->selected >= 0) {
            float sx, sy;
            to_screen(m, p[2 * v->selected], p[2 * v->selected + 1], &sx, &sy);
            for (uint32_t k = 0; k < v->neighbour_count; k++) {
                float nx, ny;
                uint32_t j = v->neighbours[k];
                to_screen(m, p[2 * j], p[2 * j + 1], &nx, &ny);
                vkr_canvas_line(c, sx, sy, nx, ny, 1.5f, 0x303030, 0.6f);
                vkr_canvas_disc(c, nx, ny, v->point_radius + 3, 0x000000, 1);
                uint32_t colour = vkr_viewer_domain_colour(vkr_viewer_domain(v, j));
                vkr_canvas_disc(c, nx, ny, v->point_radius + 1.5f, colour, 1);
            }
            vkr_canvas_disc(c, sx, sy, v->point_radius + 6, 0xD00000, 1);
            uint32_t colour = vkr_viewer_domain_colour(vkr_viewer_domain(v, (uint32_t)v->selected));
            vkr_canvas_disc(c, sx, sy, v->point_radius + 3, colour, 1);
        }
        draw_legend(v, c);
        if (v->hovered >= 0) draw_tooltip(v, c, (uint32_t)v->hovered, v->mouse_x, v->mouse_y);
    }
    /* status bar and help line */
    vkr_canvas_rect(c, 0, 0, (int)c->w, MAP_TOP, 0x2B2B2B, 1);
    snprintf(bar, sizeof bar, "map %s (%u/%u)  |  %u items  |  zoom %.2f  |  point %.1f px, opacity %.2f",
             v->map_count ? v->map_name[v->map] : "-", v->map_count ? v->map + 1 : 0, v->map_count, v->n, v->zoom,
             v->point_radius, v->opacity);
    vkr_canvas_text(c, v->font, 10, 6, bar, 0xF0F0F0);
    if (v->searching || v->search[0]) {
        snprintf(bar, sizeof bar, "search: %s%s  (%u)", v->search, v->searching ? "_" : "", v->match_count);
        int w = vkr_canvas_text_width(v->font, bar) + 16, x = (int)c->w - w - 8;
        vkr_canvas_rect(c, x, 3, w, MAP_TOP - 6, v->searching ? 0xFFFFFF : 0xDDDDDD, 1);
        vkr_canvas_text(c, v->font, x + 8, 6, bar, 0x101010);
    }
    if (v->selected >= 0) {
        char title[400];
        snprintf(bar, sizeof bar, "selected: %s [id %lld] and its %u nearest neighbours",
                 vkr_viewer_title(v, (uint32_t)v->selected, title, sizeof title), (long long)v->selected,
                 v->neighbour_count);
        vkr_canvas_rect(c, 0, MAP_TOP, (int)c->w, 22, 0xFFF4D6, 0.95f);
        vkr_canvas_text(c, v->font_small, 10, MAP_TOP + 4, bar, 0x402000);
    }
    vkr_canvas_rect(c, 0, (int)c->h - MAP_BOTTOM, (int)c->w, MAP_BOTTOM, 0xE8E8E8, 1);
    vkr_canvas_text(c, v->font_small, 10, (int)c->h - MAP_BOTTOM + 4,
                    "wheel/+ - zoom  drag/arrows pan  click select  / search  v map  , . point size  [ ] opacity  "
                    "r reset  Tab trie  q quit",
                    0x404040);
}
