/* The viewer application: loading, input handling, the window loop and headless screenshots. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_viewer_internal.h"

/* Opens the viewer's two font sizes. */
static vkr_status open_fonts(vkr_viewer* v) {
    VKR_TRY(vkr_canvas_font_open(14, &v->font));
    return vkr_canvas_font_open(12, &v->font_small);
}

static void reset_view(vkr_viewer* v) {
    v->zoom = 1;
    v->point_radius = v->n > 50000 ? 1.2f : v->n > 5000 ? 2.0f : 3.0f;
    v->opacity = v->n > 50000 ? 0.5f : 0.8f;
    if (v->map_count) {
        v->pan[0] = 0.5f * (v->map_lo[v->map][0] + v->map_hi[v->map][0]);
        v->pan[1] = 0.5f * (v->map_lo[v->map][1] + v->map_hi[v->map][1]);
    }
    v->trie_zoom = 1;
    v->trie_pan = 0;
}

/* vkr_viewer_open, with a live map of live_n points shown first when live_n > 0. */
static vkr_status open_viewer(const vkr_viewer_options* options, uint32_t live_n, vkr_viewer** out) {
    *out = NULL;
    if (!options || !options->run_dir) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "viewer: no run directory given");
    if (options->width < 320 || options->height < 240 || options->width > 8192 || options->height > 8192)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "viewer: size %ux%u is outside 320x240 .. 8192x8192", options->width,
                        options->height);
    vkr_viewer* v = calloc(1, sizeof *v);
    if (!v) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "viewer: out of host memory");
    v->opt = *options;
    snprintf(v->run_dir, sizeof v->run_dir, "%s", options->run_dir);
    v->opt.run_dir = v->run_dir;
    v->hovered = v->selected = v->beam_user = -1;
    v->live_n = live_n;
    vkr_status s = vkr_viewer_load(v);
    if (s == VKR_OK) s = open_fonts(v);
    if (s != VKR_OK) {
        vkr_viewer_close(v);
        return s;
    }
    if (live_n) {
        v->map = v->live_map;
    } else if (options->map) {
        while (v->map < v->map_count && strcmp(v->map_name[v->map], options->map) != 0) v->map++;
        if (v->map == v->map_count) {
            vkr_viewer_close(v);
            return vkr_fail(VKR_ERR_NOT_FOUND, "viewer: %s has no map named '%s' (tsne*.npy, maps/NAME.npy)",
                            options->run_dir, options->map);
        }
    }
    v->panel = options->panel == VKR_PANEL_TRIE ? VKR_PANEL_TRIE : VKR_PANEL_MAP;
    v->win_w = options->width;
    v->win_h = options->height;
    reset_view(v);
    vkr_viewer_trie_layout(v);
    *out = v;
    return VKR_OK;
}

vkr_status vkr_viewer_open(const vkr_viewer_options* options, vkr_viewer** out) {
    return open_viewer(options, 0, out);
}

void vkr_viewer_close(vkr_viewer* v) {
    if (!v) return;
    if (v->font) TTF_CloseFont(v->font);
    if (v->font_small) TTF_CloseFont(v->font_small);
    if (v->window) {
        SDL_DestroyWindow(v->window);
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
    }
    free(v->frame);
    vkr_viewer_unload(v);
    free(v);
}

vkr_status vkr_viewer_render(vkr_viewer* v, uint32_t* pixels, uint32_t width, uint32_t height, uint32_t pitch) {
    if (!v || !pixels || width == 0 || height == 0 || pitch < width * 4 || pitch % 4)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_viewer_render: bad target");
    vkr_canvas c = {pixels, width, height, pitch / 4};
    if (v->panel == VKR_PANEL_TRIE) vkr_viewer_trie_draw(v, &c);
    else vkr_viewer_map_draw(v, &c);
    v->frames++;
    return VKR_OK;
}

void vkr_viewer_get_state(const vkr_viewer* v, vkr_viewer_state* s) {
    memset(s, 0, sizeof *s);
    s->panel = v->panel;
    s->map = v->map;
    s->map_count = v->map_count;
    s->zoom = v->zoom;
    s->pan_x = v->pan[0];
    s->pan_y = v->pan[1];
    s->hovered = v->hovered;
    s->selected = v->selected;
    s->neighbours = v->neighbour_count;
    s->matches = v->match_count;
    s->trie_visible = 0;
    for (uint32_t i = 0; i < v->trie.node_count; i++) s->trie_visible += v->nodes[i].visible;
    s->beam_user = v->beam_user >= 0 ? v->beams.users[v->beam_user].user : -1;
    s->frames = v->frames;
}

/* Zooms the map by `factor` keeping the map point under screen (x, y) in place. */
static void zoom_map_at(vkr_viewer* v, float factor, int x, int y) {
    if (!v->map_count) return;
    mat3 m, inv;
    vkr_viewer_map_transform(v, v->win_w, v->win_h, m);
    glm_mat3_inv(m, inv);
    vec3 before, scr = {(float)x, (float)y, 1};
    glm_mat3_mulv(inv, scr, before);
    v->zoom = fminf(fmaxf(v->zoom * factor, 0.2f), 500.0f);
    vkr_viewer_map_transform(v, v->win_w, v->win_h, m);
    glm_mat3_inv(m, inv);
    vec3 after;
    glm_mat3_mulv(inv, scr, after);
    v->pan[0] += before[0] - after[0];
    v->pan[1] += before[1] - after[1];
}

/* Pans the map by a screen offset. */
static void pan_map(vkr_viewer* v, float dx, float dy) {
    if (!v->map_count) return;
    mat3 m;
    vkr_viewer_map_transform(v, v->win_w, v->win_h, m);
    v->pan[0] -= dx / m[0][0];
    v->pan[1] -= dy / m[1][1];
}

static void zoom(vkr_viewer* v, float factor, int x, int y) {
    if (v->panel == VKR_PANEL_MAP) zoom_map_at(v, factor, x, y);
    else v->trie_zoom = fminf(fmaxf(v->trie_zoom * factor, 0.25f), 40.0f);
}

static void pan(vkr_viewer* v, float dx, float dy) {
    if (v->panel == VKR_PANEL_MAP) pan_map(v, dx, dy);
    else v->trie_pan = fmaxf(v->trie_pan - dy / 10.0f, -5.0f);
}

static bool handle_key(vkr_viewer* v, SDL_Keycode key) {
    if (v->searching) {
        if (key == SDLK_ESCAPE) v->search[0] = 0;
        if (key == SDLK_ESCAPE || key == SDLK_RETURN) {
            v->searching = false;
            SDL_StopTextInput();
        } else if (key == SDLK_BACKSPACE && v->search[0]) {
            v->search[strlen(v->search) - 1] = 0;
        }
        vkr_viewer_map_search_update(v);
        return true;
    }
    int cx = (int)v->win_w / 2, cy = (int)v->win_h / 2;
    switch (key) {
    case SDLK_q:
    case SDLK_ESCAPE: return false;
    case SDLK_TAB: v->panel = v->panel == VKR_PANEL_MAP ? VKR_PANEL_TRIE : VKR_PANEL_MAP; break;
    case SDLK_v:
        if (v->map_count) {
            v->map = (v->map + 1) % v->map_count;
            reset_view(v);
            vkr_viewer_map_select(v, v->selected);
        }
        break;
    case SDLK_PLUS: case SDLK_EQUALS: case SDLK_KP_PLUS: zoom(v, 1.25f, cx, cy); break;
    case SDLK_MINUS: case SDLK_KP_MINUS: zoom(v, 0.8f, cx, cy); break;
    case SDLK_LEFT: pan(v, 60, 0); break;
    case SDLK_RIGHT: pan(v, -60, 0); break;
    case SDLK_UP: pan(v, 0, 60); break;
    case SDLK_DOWN: pan(v, 0, -60); break;
    case SDLK_COMMA: v->point_radius = fmaxf(v->point_radius / 1.25f, 0.5f); break;
    case SDLK_PERIOD: v->point_radius = fminf(v->point_radius * 1.25f, 20.0f); break;
    case SDLK_LEFTBRACKET: v->opacity = fmaxf(v->opacity - 0.1f, 0.1f); break;
    case SDLK_RIGHTBRACKET: v->opacity = fminf(v->opacity + 0.1f, 1.0f); break;
    case SDLK_r: reset_view(v); break;
    case SDLK_SLASH:
        v->searching = true;
        v->search[0] = 0;
        SDL_StartTextInput();
        break;
    case SDLK_u:
        if (v->beams.user_count) {
            v->beam_user = (v->beam_user + 1) % (int64_t)v->beams.user_count;
            vkr_viewer_trie_show_beams(v);
        }
        break;
    default: break;
    }
    return true;
}

bool vkr_viewer_handle_event(vkr_viewer* v, const SDL_Event* e) {
    switch (e->type) {
    case SDL_QUIT: return false;
    case SDL_KEYDOWN: return handle_key(v, e->key.keysym.sym);
    case SDL_TEXTINPUT:
        if (v->searching && strlen(v->search) + strlen(e->text.text) < VKR_VIEWER_SEARCH_MAX) {
            strcat(v->search, e->text.text);
            vkr_viewer_map_search_update(v);
        }
        return true;
    case SDL_MOUSEWHEEL: zoom(v, e->wheel.y > 0 ? 1.2f : e->wheel.y < 0 ? 1 / 1.2f : 1, v->mouse_x, v->mouse_y); return true;
    case SDL_MOUSEBUTTONDOWN:
        if (e->button.button == SDL_BUTTON_LEFT) {
            v->dragging = true;
            v->drag_x = v->mouse_x = e->button.x;
            v->drag_y = v->mouse_y = e->button.y;
        }
        return true;
    case SDL_MOUSEMOTION:
        if (v->dragging) pan(v, (float)(e->motion.x - v->mouse_x), (float)(e->motion.y - v->mouse_y));
        v->mouse_x = e->motion.x;
        v->mouse_y = e->motion.y;
        v->hovered = v->panel == VKR_PANEL_MAP && !v->dragging
                         ? vkr_viewer_map_pick(v, v->win_w, v->win_h, v->mouse_x, v->mouse_y)
                         : -1;
        return true;
    case SDL_MOUSEBUTTONUP:
        if (e->button.button == SDL_BUTTON_LEFT && v->dragging) {
            v->dragging = false;
            /* A press and release in (nearly) the same place is a click, not a drag. */
            if (abs(e->button.x - v->drag_x) + abs(e->button.y - v->drag_y) <= 3) {
                if (v->panel == VKR_PANEL_MAP)
                    vkr_viewer_map_select(v, vkr_viewer_map_pick(v, v->win_w, v->win_h, e->button.x, e->button.y));
                else vkr_viewer_trie_click(v, v->win_w, v->win_h, e->button.x, e->button.y);
            }
        }
        return true;
    case SDL_WINDOWEVENT:
        if (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED && e->window.data1 >= 64 && e->window.data2 >= 64) {
            v->win_w = (uint32_t)e->window.data1;
            v->win_h = (uint32_t)e->window.data2;
        }
        return true;
    default: return true;
    }
}

vkr_status vkr_viewer_window_open(vkr_viewer* v) {
    if (v->window) return VKR_OK;
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "cannot open a window: %s (no display? --screenshot renders without one)",
                        SDL_GetError());
    char title[4200];
    snprintf(title, sizeof title, "vkrec view %s", v->run_dir);
    v->window = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, (int)v->win_w, (int)v->win_h,
                                 SDL_WINDOW_RESIZABLE);
    if (!v->window) {
        vkr_status s = vkr_fail(VKR_ERR_UNSUPPORTED, "cannot create a window: %s", SDL_GetError());
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        return s;
    }
    int w = 0, h = 0;
    SDL_GetWindowSize(v->window, &w, &h);
    v->win_w = (uint32_t)w;
    v->win_h = (uint32_t)h;
    return VKR_OK;
}

SDL_Surface* vkr_viewer_window_surface(vkr_viewer* v) { return v->window ? SDL_GetWindowSurface(v->window) : NULL; }

vkr_status vkr_viewer_window_frame(vkr_viewer* v, bool* out_quit) {
    *out_quit = false;
    if (!v->window) return vkr_fail(VKR_ERR_STATE, "viewer: the window is not open");
    SDL_Event e;
    while (SDL_PollEvent(&e))
        if (!vkr_viewer_handle_event(v, &e)) *out_quit = true;
    SDL_Surface* dst = SDL_GetWindowSurface(v->window);
    if (!dst) return vkr_fail(VKR_ERR_UNSUPPORTED, "window surface: %s", SDL_GetError());
    v->win_w = (uint32_t)dst->w;
    v->win_h = (uint32_t)dst->h;
    free(v->frame);
    v->frame = malloc((size_t)v->win_w * v->win_h * 4);
    if (!v->frame) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "viewer: out of host memory for a frame");
    VKR_TRY(vkr_viewer_render(v, v->frame, v->win_w, v->win_h, v->win_w * 4));
    SDL_Surface* src = SDL_CreateRGBSurfaceWithFormatFrom(v->frame, (int)v->win_w, (int)v->win_h, 32, (int)v->win_w * 4,
                                                          SDL_PIXELFORMAT_ARGB8888);
    if (!src) return vkr_fail(VKR_ERR_UNSUPPORTED, "frame surface: %s", SDL_GetError());
    int rc = SDL_BlitSurface(src, NULL, dst, NULL);
    SDL_FreeSurface(src);
    if (rc != 0 || SDL_UpdateWindowSurface(v->window) != 0)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "presenting a frame: %s", SDL_GetError());
    return VKR_OK;
}

/* Shows frames in the open window until it is closed. */
static vkr_status window_loop(vkr_viewer* v) {
    vkr_status s = VKR_OK;
    bool quit = false;
    while (s == VKR_OK && !quit) {
        s = vkr_viewer_window_frame(v, &quit);
        /* Sleep until the next input instead of spinning; the event stays queued for the next frame. */
        if (s == VKR_OK && !quit) SDL_WaitEventTimeout(NULL, 100);
    }
    return s;
}

vkr_status vkr_viewer_run(const vkr_viewer_options* options) {
    vkr_viewer* v = NULL;
    VKR_TRY(vkr_viewer_open(options, &v));
    vkr_status s = vkr_viewer_window_open(v);
    if (s == VKR_OK) s = window_loop(v);
    vkr_viewer_close(v);
    return s;
}

/* State of a live t-SNE session between callbacks. */
typedef struct live_session {
    vkr_viewer* v;
    uint32_t* px;      /* headless frame (options->screenshot), else NULL */
    vkr_status status; /* first drawing failure */
    bool quit;         /* the window was closed */
} live_session;

/* The t-SNE callback: the new layout becomes the live map, recentred, and one frame is drawn. */
static bool live_frame(void* user, uint32_t iteration, const float* y, uint32_t n) {
    live_session* L = user;
    vkr_viewer* v = L->v;
    uint32_t m = v->live_map;
    memcpy(v->maps[m], y, sizeof(float) * 2 * n);
    if (!vkr_viewer_map_bounds(v, m)) {
        L->status = vkr_fail(VKR_ERR_STATE, "live t-SNE: the layout is not finite at iteration %u", iteration);
        return false;
    }
    snprintf(v->map_name[m], sizeof v->map_name[m], "t-SNE, iteration %u", iteration);
    if (v->map == m) {
        /* Follow the growing layout unless the user zoomed in on part of it. */
        if (v->zoom == 1) {
            v->pan[0] = 0.5f * (v->map_lo[m][0] + v->map_hi[m][0]);
            v->pan[1] = 0.5f * (v->map_lo[m][1] + v->map_hi[m][1]);
        }
        if (v->selected >= 0) vkr_viewer_map_select(v, v->selected);
    }
    if (L->px) L->status = vkr_viewer_render(v, L->px, v->win_w, v->win_h, v->win_w * 4);
    else L->status = vkr_viewer_window_frame(v, &L->quit);
    return L->status == VKR_OK && !L->quit;
}

vkr_status vkr_viewer_live(const vkr_viewer_options* options, vkr_device* device, const float* x, uint32_t n,
                           uint32_t d, const vkr_tsne_options* tsne) {
    if (!options || !device || !x || n < 2 || d == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_viewer_live: need options, a device and >= 2 points");
    vkr_viewer* v = NULL;
    VKR_TRY(open_viewer(options, n, &v));
    live_session L = {.v = v};
    vkr_status s = VKR_OK;
    if (options->screenshot) {
        L.px = malloc((size_t)v->win_w * v->win_h * 4);
        if (!L.px) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "viewer: out of host memory for the image");
    } else {
        s = vkr_viewer_window_open(v);
    }
    vkr_tsne_options o = tsne ? *tsne : (vkr_tsne_options){0};
    o.callback = live_frame;
    o.callback_user = &L;
    float* y = s == VKR_OK ? malloc(sizeof(float) * 2 * n) : NULL;
    if (s == VKR_OK && !y) s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "viewer: out of host memory for the layout");
    if (s == VKR_OK) s = vkr_tsne_run(device, x, n, d, &o, y, NULL);
    if (s == VKR_OK) s = L.status;
    if (s == VKR_OK && L.px)
        s = vkr_viewer_write_png(options->screenshot, L.px, v->win_w, v->win_h, v->win_w * 4);
    else if (s == VKR_OK && !L.quit)
        s = window_loop(v);
    free(y);
    free(L.px);
    vkr_viewer_close(v);
    return s;
}

vkr_status vkr_viewer_screenshot(const vkr_viewer_options* options) {
    if (!options || !options->screenshot) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "viewer: no screenshot path given");
    vkr_viewer* v = NULL;
    VKR_TRY(vkr_viewer_open(options, &v));
    uint32_t* px = malloc((size_t)options->width * options->height * 4);
    vkr_status s = px ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "viewer: out of host memory for the image");
    if (s == VKR_OK && v->panel == VKR_PANEL_TRIE && v->beams.user_count) {
        /* The report's trie picture shows the first user's beams when there are any. */
        v->beam_user = 0;
        vkr_viewer_trie_show_beams(v);
    }
    if (s == VKR_OK) s = vkr_viewer_render(v, px, options->width, options->height, options->width * 4);
    if (s == VKR_OK) s = vkr_viewer_write_png(options->screenshot, px, options->width, options->height, options->width * 4);
    free(px);
    vkr_viewer_close(v);
    return s;
}
