/* The viewer's software rasterizer: blended rectangles, anti-aliased discs, lines, SDL2_ttf text,
 * and PNG output with libpng. One code path for the window and for headless screenshots. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vkr_file.h"
#include "vkr_viewer_internal.h"

#ifndef VKR_FONT_DIR
#define VKR_FONT_DIR "assets/fonts"
#endif

vkr_status vkr_canvas_font_open(int size, TTF_Font** out) {
    *out = NULL;
    if (!TTF_WasInit() && TTF_Init() != 0) return vkr_fail(VKR_ERR_UNSUPPORTED, "SDL_ttf: %s", TTF_GetError());
    char path[4200];
    const char* assets = getenv("VKR_ASSETS");
    snprintf(path, sizeof path, "%s/fonts/DejaVuSans.ttf", assets ? assets : "");
    if (!assets || access(path, R_OK) != 0) snprintf(path, sizeof path, "%s/DejaVuSans.ttf", VKR_FONT_DIR);
    *out = TTF_OpenFont(path, size);
    if (!*out) return vkr_fail(VKR_ERR_IO, "cannot open the viewer's font %s: %s", path, TTF_GetError());
    return VKR_OK;
}

uint32_t vkr_viewer_domain_colour(uint32_t d) {
    /* Distinct, colour-blind-friendly first pair (orange, blue), then a qualitative palette. */
    static const uint32_t palette[] = {0xE69F00, 0x0072B2, 0x009E73, 0xCC79A7, 0xD55E00, 0x56B4E9, 0xF0E442, 0x999999};
    return palette[d % (sizeof palette / sizeof palette[0])];
}

static inline void blend(uint32_t* p, uint32_t rgb, float a) {
    if (a >= 1.0f) {
        *p = 0xFF000000u | rgb;
        return;
    }
    uint32_t d = *p;
    float b = 1.0f - a;
    uint32_t r = (uint32_t)(((rgb >> 16) & 255) * a + ((d >> 16) & 255) * b + 0.5f);
    uint32_t g = (uint32_t)(((rgb >> 8) & 255) * a + ((d >> 8) & 255) * b + 0.5f);
    uint32_t bl = (uint32_t)((rgb & 255) * a + (d & 255) * b + 0.5f);
    *p = 0xFF000000u | (r << 16) | (g << 8) | bl;
}

void vkr_canvas_clear(vkr_canvas* c, uint32_t rgb) {
    for (uint32_t y = 0; y < c->h; y++)
        for (uint32_t x = 0; x < c->w; x++) c->px[(size_t)y * c->stride + x] = 0xFF000000u | rgb;
}

void vkr_canvas_rect(vkr_canvas* c, int x, int y, int w, int h, uint32_t rgb, float alpha) {
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > (int)c->w ? (int)c->w : x + w, y1 = y + h > (int)c->h ? (int)c->h : y + h;
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) blend(&c->px[(size_t)yy * c->stride + xx], rgb, alpha);
}

void vkr_canvas_frame(vkr_canvas* c, int x, int y, int w, int h, uint32_t rgb) {
    vkr_canvas_rect(c, x, y, w, 1, rgb, 1);
    vkr_canvas_rect(c, x, y + h - 1, w, 1, rgb, 1);
    vkr_canvas_rect(c, x, y, 1, h, rgb, 1);
    vkr_canvas_rect(c, x + w - 1, y, 1, h, rgb, 1);
}

void vkr_canvas_disc(vkr_canvas* c, float cx, float cy, float r, uint32_t rgb, float alpha) {
    if (cx + r < 0 || cy + r < 0 || cx - r >= (float)c->w || cy - r >= (float)c->h) return;
    int x0 = (int)floorf(cx - r), x1 = (int)ceilf(cx + r), y0 = (int)floorf(cy - r), y1 = (int)ceilf(cy + r);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 >= (int)c->w) x1 = (int)c->w - 1;
    if (y1 >= (int)c->h) y1 = (int)c->h - 1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
            /* Coverage falls off over the last pixel of the radius (cheap anti-aliasing). */
            float cover = r + 0.5f - sqrtf(dx * dx + dy * dy);
            if (cover <= 0) continue;
            blend(&c->px[(size_t)y * c->stride + x], rgb, alpha * (cover < 1 ? cover : 1));
        }
}

void vkr_canvas_line(vkr_canvas* c, float x0, float y0, float x1, float y1, float width, uint32_t rgb, float alpha) {
    float len = hypotf(x1 - x0, y1 - y0);
    int steps = (int)ceilf(len / fmaxf(width * 0.5f, 0.5f));
    if (steps > 4096) steps = 4096;
    for (int s = 0; s <= steps; s++) {
        float t = steps ? (float)s / (float)steps : 0;
        vkr_canvas_disc(c, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, width * 0.5f, rgb, alpha);
    }
}

int vkr_canvas_text_width(TTF_Font* font, const char* text) {
    int w = 0, h = 0;
    if (!font || !text[0] || TTF_SizeUTF8(font, text, &w, &h) != 0) return 0;
    return w;
}

int vkr_canvas_text(vkr_canvas* c, TTF_Font* font, int x, int y, const char* text, uint32_t rgb) {
    if (!font || !text[0]) return 0;
    SDL_Color col = {(uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb, 255};
    SDL_Surface* s = TTF_RenderUTF8_Blended(font, text, col);
    if (!s) return 0;
    SDL_Surface* argb = SDL_ConvertSurfaceFormat(s, SDL_PIXELFORMAT_ARGB8888, 0);
    SDL_FreeSurface(s);
    if (!argb) return 0;
    SDL_LockSurface(argb);
    for (int yy = 0; yy < argb->h; yy++) {
        int ty = y + yy;
        if (ty < 0 || ty >= (int)c->h) continue;
        const uint32_t* row = (const uint32_t*)((const uint8_t*)argb->pixels + (size_t)yy * argb->pitch);
        for (int xx = 0; xx < argb->w; xx++) {
            int tx = x + xx;
            uint32_t a = row[xx] >> 24;
            if (tx < 0 || tx >= (int)c->w || a == 0) continue;
            blend(&c->px[(size_t)ty * c->stride + tx], row[xx] & 0xFFFFFFu, (float)a / 255.0f);
        }
    }
    int w = argb->w;
    SDL_UnlockSurface(argb);
    SDL_FreeSurface(argb);
    return w;
}

vkr_status vkr_viewer_write_png(const char* path, const uint32_t* pixels, uint32_t width, uint32_t height,
                                uint32_t pitch) {
    if (!path || !pixels || width == 0 || height == 0 || pitch < width * 4)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_viewer_write_png: bad image");
    vkr_atomic_file out;
    VKR_TRY(vkr_atomic_open(path, &out));
    FILE* f = out.file;
    uint8_t* row = malloc((size_t)width * 3);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    bool ok = row && png && info;
    /* libpng reports errors by longjmp; the volatile flag survives it. */
    volatile bool failed = false;
    if (ok && setjmp(png_jmpbuf(png))) failed = true;
    if (ok && !failed) {
        png_init_io(png, f);
        png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (uint32_t y = 0; y < height; y++) {
            const uint32_t* src = (const uint32_t*)((const uint8_t*)pixels + (size_t)y * pitch);
            for (uint32_t x = 0; x < width; x++) {
                row[3 * x] = (uint8_t)(src[x] >> 16);
                row[3 * x + 1] = (uint8_t)(src[x] >> 8);
                row[3 * x + 2] = (uint8_t)src[x];
            }
            png_write_row(png, row);
        }
        png_write_end(png, NULL);
    }
    ok = ok && !failed;
    if (png) png_destroy_write_struct(&png, info ? &info : NULL);
    free(row);
    if (ok) return vkr_atomic_commit(&out);
    vkr_atomic_abort(&out);
    return vkr_fail(VKR_ERR_IO, "cannot write PNG %s", path);
}
