/* The trie panel: the prefix tree of semantic IDs drawn left to right (one column per level),
 * collapsible, node size by item count, colour by domain mix, with a user's beam paths on top. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vkr_viewer_internal.h"

#define TRIE_TOP 30
#define TRIE_BOTTOM 22
#define TRIE_LEFT 30

/* Assigns rows to visible nodes below `id` (depth-first, children in code order); returns the node's row. */
static float layout_node(vkr_viewer* v, uint32_t id, uint32_t* rows) {
    const vkr_trie* tr = &v->trie;
    vkr_viewer_trie_node* t = &v->nodes[id];
    t->visible = true;
    if (!t->expanded || !tr->child_count[id]) {
        t->y = (float)(*rows)++;
        return t->y;
    }
    float first = -1, last = 0;
    for (uint32_t e = tr->first_child[id]; e < tr->first_child[id] + tr->child_count[id]; e++) {
        last = layout_node(v, tr->child_node[e], rows);
        if (first < 0) first = last;
    }
    t->y = 0.5f * (first + last);
    return t->y;
}

void vkr_viewer_trie_layout(vkr_viewer* v) {
    v->trie_rows = 0;
    if (!v->trie.node_count) return;
    for (uint32_t i = 0; i < v->trie.node_count; i++) v->nodes[i].visible = false;
    layout_node(v, 0, &v->trie_rows);
}

/* Screen geometry of the layout for a w x h canvas. */
typedef struct trie_geom {
    float col_w, row_h, top;
} trie_geom;

static trie_geom geometry(const vkr_viewer* v, uint32_t w, uint32_t h) {
    trie_geom g;
    float ph = (float)h - TRIE_TOP - TRIE_BOTTOM - 20;
    g.col_w = ((float)w - TRIE_LEFT - 260) / (float)(v->trie.depth ? v->trie.depth : 1);
    float fit = v->trie_rows ? ph / (float)v->trie_rows : 20;
    g.row_h = fminf(fmaxf(fit, 3.0f), 22.0f) * v->trie_zoom;
    g.top = TRIE_TOP + 10 + (fit * v->trie_zoom > g.row_h ? 0.5f * (ph - g.row_h * v->trie_rows) : 0) -
            v->trie_pan * g.row_h;
    return g;
}

static void node_pos(const vkr_viewer* v, const trie_geom* g, const vkr_viewer_trie_node* t, float* x, float* y) {
    *x = TRIE_LEFT + g->col_w * (float)t->depth;
    *y = g->top + (t->y + 0.5f) * g->row_h;
}

static float node_radius(const vkr_viewer* v, const vkr_viewer_trie_node* t) {
    return 2.0f + 9.0f * sqrtf((float)t->count / (float)(v->nodes[0].count ? v->nodes[0].count : 1));
}

/* Domain colours mixed by the node's item counts. */
static uint32_t node_colour(const vkr_viewer* v, const vkr_viewer_trie_node* t) {
    float r = 0, g = 0, b = 0, total = 0;
    for (uint32_t d = 0; d < v->domain_count; d++) {
        float w = t->domain_count[d];
        uint32_t c = vkr_viewer_domain_colour(d);
        r += w * (float)(c >> 16 & 255);
        g += w * (float)(c >> 8 & 255);
        b += w * (float)(c & 255);
        total += w;
    }
    if (total <= 0) return 0x808080;
    return ((uint32_t)(r / total) << 16) | ((uint32_t)(g / total) << 8) | (uint32_t)(b / total);
}

bool vkr_viewer_trie_click(vkr_viewer* v, uint32_t w, uint32_t h, int x, int y) {
    if (!v->trie.node_count) return false;
    trie_geom g = geometry(v, w, h);
    for (uint32_t i = 0; i < v->trie.node_count; i++) {
        vkr_viewer_trie_node* t = &v->nodes[i];
        if (!t->visible) continue;
        float nx, ny, r = node_radius(v, t) + 4;
        node_pos(v, &g, t, &nx, &ny);
        if ((nx - (float)x) * (nx - (float)x) + (ny - (float)y) * (ny - (float)y) <= r * r) {
            if (v->trie.child_count[i] && i != 0) {
                t->expanded = !t->expanded;
                vkr_viewer_trie_layout(v);
            }
            return true;
        }
    }
    return false;
}

/* The nodes along `path` from the root, as far as they exist (and, when visible_only, are laid out). */
static uint32_t follow(const vkr_viewer* v, const vkr_beams_path* b, bool visible_only, uint32_t* out_nodes,
                       uint32_t* out_len) {
    uint32_t node = 0, len = 0;
    out_nodes[len++] = 0;
    for (uint32_t l = 0; l < b->len; l++) {
        uint32_t c = vkr_trie_child(&v->trie, node, b->path[l]);
        if (c == UINT32_MAX || (visible_only && !v->nodes[c].visible)) break;
        node = c;
        out_nodes[len++] = c;
    }
    *out_len = len;
    return node;
}

void vkr_viewer_trie_show_beams(vkr_viewer* v) {
    if (v->beam_user < 0 || !v->trie.node_count) return;
    const vkr_beams_user* u = &v->beams.users[v->beam_user];
    uint32_t nodes[VKR_BEAMS_MAX_LEVELS + 1], len;
    for (uint32_t b = 0; b < u->count; b++) {
        follow(v, &u->beams[b], false, nodes, &len);
        /* The last inner node of a path (its children are the disambiguation level) stays collapsed
         * when it has very many children: the path ends there, labelled with the recommended item,
         * instead of flooding the panel with leaves. Wide nodes higher up (the root) do expand. */
        for (uint32_t k = 0; k + 1 < len; k++) {
            if (v->trie.child_count[nodes[k]] > 32 && k + 2 == len) break;
            v->nodes[nodes[k]].expanded = true;
        }
    }
    vkr_viewer_trie_layout(v);
}

void vkr_viewer_trie_draw(vkr_viewer* v, vkr_canvas* c) {
    vkr_canvas_clear(c, 0xFCFCFC);
    char text[600];
    const vkr_trie* tr = &v->trie;
    if (!tr->node_count) {
        vkr_canvas_text(c, v->font, 20, TRIE_TOP + 20, v->trie_note, 0xA00000);
    } else {
        trie_geom g = geometry(v, c->w, c->h);
        for (uint32_t l = 0; l <= tr->depth; l++) {
            snprintf(text, sizeof text, l == 0 ? "root" : "level %u", l);
            vkr_canvas_text(c, v->font_small, (int)(TRIE_LEFT + g.col_w * (float)l) - 12, TRIE_TOP + 2, text, 0x707070);
        }
        /* edges first, then nodes on top */
        for (uint32_t i = 1; i < tr->node_count; i++) {
            const vkr_viewer_trie_node* t = &v->nodes[i];
            if (!t->visible) continue;
            float x0, y0, x1, y1;
            node_pos(v, &g, &v->nodes[tr->parent[i]], &x0, &y0);
            node_pos(v, &g, t, &x1, &y1);
            if (fmaxf(y0, y1) < 0 || fminf(y0, y1) > (float)c->h) continue;
            vkr_canvas_line(c, x0, y0, x1, y1, 1.0f, 0xB0B0B0, 0.8f);
        }
        bool labels = g.row_h >= 12;
        for (uint32_t i = 0; i < tr->node_count; i++) {
            const vkr_viewer_trie_node* t = &v->nodes[i];
            if (!t->visible) continue;
            float x, y;
            node_pos(v, &g, t, &x, &y);
            if (y < TRIE_TOP || y > (float)c->h - TRIE_BOTTOM) continue;
            float r = node_radius(v, t);
            bool leaf = !tr->child_count[i], collapsed = !t->expanded && !leaf;
            uint32_t code = i ? tr->child_token[i - 1] : 0;
            if (collapsed) vkr_canvas_disc(c, x, y, r + 1.5f, 0x404040, 1);
            vkr_canvas_disc(c, x, y, r, node_colour(v, t), 1);
            if (labels && (collapsed || leaf)) {
                char title[400];
                if (leaf)
                    snprintf(text, sizeof text, "%u  %s", code,
                             vkr_viewer_title(v, (uint32_t)tr->leaf_item[i], title, sizeof title));
                else
                    snprintf(text, sizeof text, "%u  (%u items)", code, t->count);
                vkr_canvas_text(c, v->font_small, (int)(x + r + 4), (int)y - 7, text, 0x303030);
            }
        }
        if (v->beam_user >= 0) {
            const vkr_beams_user* u = &v->beams.users[v->beam_user];
            uint32_t nodes[VKR_BEAMS_MAX_LEVELS + 1], len;
            for (uint32_t b = 0; b < u->count; b++) {
                const vkr_beams_path* bm = &u->beams[b];
                follow(v, bm, true, nodes, &len);
                uint32_t colour = b == 0 ? 0xD00000 : 0x8E2BD0;
                float px = 0, py = 0;
                for (uint32_t k = 0; k < len; k++) {
                    float x, y;
                    node_pos(v, &g, &v->nodes[nodes[k]], &x, &y);
                    if (k) vkr_canvas_line(c, px, py, x, y, b == 0 ? 3.5f : 2.0f, colour, 0.85f);
                    px = x;
                    py = y;
                }
                char title[300];
                if (bm->item >= 0)
                    snprintf(text, sizeof text, "#%u  %.3f  %s", b + 1, bm->score,
                             vkr_viewer_title(v, (uint32_t)bm->item, title, sizeof title));
                else
                    snprintf(text, sizeof text, "#%u  %.3f", b + 1, bm->score);
                vkr_canvas_rect(c, (int)px + 10, (int)py - 9, vkr_canvas_text_width(v->font_small, text) + 8, 18,
                                0xFFFFFF, 0.85f);
                vkr_canvas_text(c, v->font_small, (int)px + 14, (int)py - 7, text, colour);
            }
        }
    }
    vkr_canvas_rect(c, 0, 0, (int)c->w, TRIE_TOP, 0x2B2B2B, 1);
    if (tr->node_count) {
        if (v->beam_user >= 0)
            snprintf(text, sizeof text, "semantic-ID trie  |  %u items, %u levels, %u nodes  |  beams of user %lld (%u)",
                     v->nodes[0].count, tr->depth, tr->node_count, (long long)v->beams.users[v->beam_user].user,
                     v->beams.users[v->beam_user].count);
        else
            snprintf(text, sizeof text, "semantic-ID trie  |  %u items, %u levels, %u nodes  |  %s", v->nodes[0].count,
                     tr->depth, tr->node_count, v->beams.user_count ? "u: overlay a user's beams" : "no beams.json");
    } else {
        snprintf(text, sizeof text, "semantic-ID trie");
    }
    vkr_canvas_text(c, v->font, 10, 6, text, 0xF0F0F0);
    vkr_canvas_rect(c, 0, (int)c->h - TRIE_BOTTOM, (int)c->w, TRIE_BOTTOM, 0xE8E8E8, 1);
    vkr_canvas_text(c, v->font_small, 10, (int)c->h - TRIE_BOTTOM + 4,
                    "click a node: expand/collapse  wheel/+ - zoom  drag/arrows scroll  u next user's beams  "
                    "Tab map  q quit",
                    0x404040);
}
