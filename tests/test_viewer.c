/* The viewer: headless rendering (no display) shows both domain colours, the legend and a status bar;
 * the PNG equals the in-memory drawing; under Xvfb a real window starts, synthetic events (zoom,
 * hover, click, keys, panel switch) change the state as expected, and what the window shows equals
 * the headless drawing of the same state. Bad run directories give clear errors. Training-curve plots
 * decode to the asked size and draw each series where its values say. */
#include "vkr_test.h"

#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_data_util.h"
#include "vkr_npy.h"
#include "vkr_plot.h"
#include "vkr_viewer_internal.h"

static char run[512];
static uint32_t items;
static pid_t xvfb; /* the Xvfb this test started (stopped in the group teardown, even after a failure) */

/* A tiny two-domain dataset (via vkrec prepare), a map with one cluster per domain, semantic IDs
 * and beams. */
static int make_run(void** state) {
    (void)state;
    td_mkdtemp(run);
    char csv[4096] = "", path[1024];
    size_t len = 0;
    for (int u = 0; u < 12; u++)
        for (int e = 0; e < 6; e++)
            len += (size_t)snprintf(csv + len, sizeof csv - len, "u%d,%s%d,%d,%s\n", u, e % 2 ? "k" : "f", (u + e) % 9,
                                    100 * u + e, e % 2 ? "Kitchen" : "Food");
    td_put(run, "inter.csv", csv, 0);
    len = 0;
    for (int i = 0; i < 9; i++) {
        len += (size_t)snprintf(csv + len, sizeof csv - len, "f%d,Food,Organic snack %d\n", i, i);
        len += (size_t)snprintf(csv + len, sizeof csv - len, "k%d,Kitchen,Steel pan %d\n", i, i);
    }
    td_put(run, "items.csv", csv, 0);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' prepare --format csv --no-filter --quiet '%s/inter.csv' '%s/items.csv' --out '%s/data'",
             getenv("VKR_CLI"), run, run, run);
    if (system(cmd) != 0) fail_msg("prepare failed: %s", cmd);
    snprintf(path, sizeof path, "%s/data", run);
    vkr_dataset d;
    VKR_ASSERT_OK(vkr_dataset_load(path, &d));
    items = d.item_count;
    float* y = malloc(sizeof(float) * 2 * items);
    uint16_t* ids = malloc(sizeof(uint16_t) * 3 * items);
    for (uint32_t i = 0; i < items; i++) {
        uint32_t dom = d.item_domain[i];
        y[2 * i] = (dom ? 10.0f : -10.0f) + (float)(i % 5);
        y[2 * i + 1] = (float)(i % 7) - 3.0f;
        ids[3 * i] = (uint16_t)dom;
        ids[3 * i + 1] = (uint16_t)(i % 3);
        ids[3 * i + 2] = (uint16_t)i;
    }
    vkr_dataset_free(&d);
    uint64_t shape[2] = {items, 2}, ishape[2] = {items, 3};
    snprintf(path, sizeof path, "%s/tsne.npy", run);
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_F32, 2, shape, y));
    snprintf(path, sizeof path, "%s/tsne_text.npy", run);
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_F32, 2, shape, y));
    snprintf(path, sizeof path, "%s/semantic_ids.npy", run);
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_U16, 2, ishape, ids));
    td_put(run, "beams.json", "{\"users\": [{\"user\": 3, \"beams\": [{\"path\": [1, 0], \"score\": -0.5, \"item\": 2}]}]}", 0);
    free(y);
    free(ids);
    return 0;
}

static int remove_run(void** state) {
    (void)state;
    if (xvfb > 0) {
        kill(xvfb, SIGTERM);
        waitpid(xvfb, NULL, 0);
    }
    td_rmtree(run);
    return 0;
}

static vkr_viewer_options options(vkr_panel panel) {
    static char data[600];
    snprintf(data, sizeof data, "%s/data", run);
    return (vkr_viewer_options){.run_dir = run, .data_dir = data, .width = 640, .height = 480, .panel = panel};
}

/* Pixels exactly equal to rgb. */
static uint32_t count_colour(const uint32_t* px, uint32_t n, uint32_t rgb) {
    uint32_t c = 0;
    for (uint32_t i = 0; i < n; i++) c += (px[i] & 0xFFFFFFu) == rgb;
    return c;
}

static void test_headless(void** state) {
    (void)state;
    vkr_viewer_options o = options(VKR_PANEL_MAP);
    vkr_viewer* v = NULL;
    VKR_ASSERT_OK(vkr_viewer_open(&o, &v));
    uint32_t* px = malloc(640 * 480 * 4);
    VKR_ASSERT_OK(vkr_viewer_render(v, px, 640, 480, 640 * 4));
    /* Both domain colours (legend discs and points at their centres) and the dark status bar. */
    assert_true(count_colour(px, 640 * 480, vkr_viewer_domain_colour(0)) > 30);
    assert_true(count_colour(px, 640 * 480, vkr_viewer_domain_colour(1)) > 30);
    assert_true(count_colour(px, 640 * 480, 0x2B2B2B) > 640 * 10);
    /* The trie panel draws nodes in mixed colours. */
    vkr_viewer_state st;
    vkr_viewer_get_state(v, &st);
    assert_int_equal(st.map_count, 2);
    assert_true(st.trie_visible >= 3);
    vkr_viewer_close(v);
    free(px);
}

/* Reads an RGB PNG into ARGB pixels (w x h). */
static uint32_t* read_png(const char* path, uint32_t* w, uint32_t* h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) fail_msg("cannot read %s", path);
    img.format = PNG_FORMAT_BGRA; /* little-endian BGRA bytes = ARGB8888 words */
    uint32_t* px = malloc(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, NULL, px, 0, NULL)) fail_msg("cannot decode %s", path);
    *w = img.width;
    *h = img.height;
    return px;
}

/* Mean row of the pixels of colour rgb in rows [y0, y1) and columns [x0, x1); -1 when there are none. */
static double mean_row(const uint32_t* px, uint32_t w, uint32_t rgb, uint32_t x0, uint32_t x1, uint32_t y0,
                       uint32_t y1, uint32_t* count) {
    double sum = 0;
    *count = 0;
    for (uint32_t y = y0; y < y1; y++)
        for (uint32_t x = x0; x < x1; x++)
            if ((px[(size_t)y * w + x] & 0xFFFFFF) == rgb) sum += y, ++*count;
    return *count ? sum / *count : -1;
}

/* A falling loss and a rising HR@10 are drawn falling in the top panel and rising in the bottom one
 * (screen y grows downwards); a second series with a gap is drawn too; bad input is refused. */
static void test_plot_png(void** state) {
    (void)state;
    const double loss[] = {0.9, 0.7, 0.5, 0.4, 0.35, 0.3}, hr[] = {0.05, 0.1, 0.2, 0.25, 0.3, 0.35};
    const double loss2[] = {0.8, NAN, 0.6, 0.55}, hr2[] = {0.1, 0.12, NAN, 0.15};
    const vkr_plot_series s[2] = {{"A", loss, hr, 6, 6, 0xFF0000}, {"B", loss2, hr2, 4, 4, 0x00B000}};
    vkr_plot_options o = {"curves", "epoch", "training loss", "validation HR@10", "best epoch", 800, 500};
    char png[700];
    snprintf(png, sizeof png, "%s/plot.png", run);
    VKR_ASSERT_OK(vkr_plot_write_png(png, &o, s, 2));
    uint32_t w, h, n_left, n_right;
    uint32_t* px = read_png(png, &w, &h);
    assert_int_equal(w, 800);
    assert_int_equal(h, 500);
    /* top panel: rows between the legend (above row 80 at this size) and the middle; bottom: below it */
    double top_l = mean_row(px, w, 0xFF0000, 0, w / 2, 80, h / 2, &n_left);
    double top_r = mean_row(px, w, 0xFF0000, w / 2, w, 80, h / 2, &n_right);
    assert_true(n_left > 50 && n_right > 50);
    assert_true(top_l < top_r);
    double bot_l = mean_row(px, w, 0xFF0000, 0, w / 2, h / 2, h, &n_left);
    double bot_r = mean_row(px, w, 0xFF0000, w / 2, w, h / 2, h, &n_right);
    assert_true(n_left > 50 && n_right > 50);
    assert_true(bot_l > bot_r);
    uint32_t n_b;
    mean_row(px, w, 0x00B000, 0, w, 0, h, &n_b);
    assert_true(n_b > 50);
    free(px);
    assert_int_equal(vkr_plot_write_png(png, &o, s, 0), VKR_ERR_INVALID_ARGUMENT);
    o.width = 100;
    assert_int_equal(vkr_plot_write_png(png, &o, s, 2), VKR_ERR_INVALID_ARGUMENT);
}

static void test_screenshot_png(void** state) {
    (void)state;
    for (int panel = 0; panel < 2; panel++) {
        char png[700];
        snprintf(png, sizeof png, "%s/shot%d.png", run, panel);
        vkr_viewer_options o = options(panel ? VKR_PANEL_TRIE : VKR_PANEL_MAP);
        o.screenshot = png;
        VKR_ASSERT_OK(vkr_viewer_screenshot(&o));
        uint32_t w, h;
        uint32_t* got = read_png(png, &w, &h);
        assert_int_equal(w, 640);
        assert_int_equal(h, 480);
        /* The same drawing in memory (the screenshot of the trie overlays the first user's beams). */
        vkr_viewer* v = NULL;
        VKR_ASSERT_OK(vkr_viewer_open(&o, &v));
        if (panel) {
            SDL_Event e = {.type = SDL_KEYDOWN};
            e.key.keysym.sym = SDLK_u;
            vkr_viewer_handle_event(v, &e);
        }
        uint32_t* want = malloc(640 * 480 * 4);
        VKR_ASSERT_OK(vkr_viewer_render(v, want, 640, 480, 640 * 4));
        for (uint32_t i = 0; i < 640 * 480; i++)
            if ((got[i] & 0xFFFFFF) != (want[i] & 0xFFFFFF)) fail_msg("panel %d pixel %u: %06x vs %06x", panel, i, got[i], want[i]);
        vkr_viewer_close(v);
        free(got);
        free(want);
    }
}

static void test_bad_runs(void** state) {
    (void)state;
    vkr_viewer_options o = {.run_dir = "/nonexistent/run", .width = 640, .height = 480};
    vkr_viewer* v = NULL;
    assert_int_not_equal(vkr_viewer_open(&o, &v), VKR_OK);
    assert_null(v);
    assert_non_null(strstr(vkr_last_error(), "/nonexistent/run"));
    /* A map of the wrong shape. */
    char dir[512], path[700];
    td_mkdtemp(dir);
    float bad[6] = {0};
    uint64_t shape[2] = {2, 3};
    snprintf(path, sizeof path, "%s/tsne.npy", dir);
    VKR_ASSERT_OK(vkr_npy_save(path, VKR_ELEM_F32, 2, shape, bad));
    o.run_dir = dir;
    assert_int_equal(vkr_viewer_open(&o, &v), VKR_ERR_FORMAT);
    /* Nothing to show at all. */
    remove(path);
    assert_int_equal(vkr_viewer_open(&o, &v), VKR_ERR_NOT_FOUND);
    td_rmtree(dir);
    o.run_dir = run;
    o.width = 10;
    assert_int_equal(vkr_viewer_open(&o, &v), VKR_ERR_INVALID_ARGUMENT);
}

/* Starts Xvfb on a free display (it reports the number on a pipe); 0 when it is not installed. */
static pid_t start_xvfb(void) {
    if (access("/usr/bin/Xvfb", X_OK) != 0) return 0;
    int fds[2];
    if (pipe(fds) != 0) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", fds[1]);
        /* Xvfb must not hold the test's output open (ctest waits for it). */
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
        execl("/usr/bin/Xvfb", "Xvfb", "-displayfd", fd, "-screen", "0", "800x600x24", "-nolisten", "tcp", (char*)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* Read up to the newline: Xvfb writes the number and the newline separately, and closing the pipe
     * between the two makes the second write fail, which Xvfb treats as fatal. */
    char num[32] = {0};
    ssize_t got = 0, r;
    while (got < (ssize_t)sizeof num - 1 && !strchr(num, '\n') && (r = read(fds[0], num + got, sizeof num - 1 - (size_t)got)) > 0)
        got += r;
    close(fds[0]);
    if (got <= 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return 0;
    }
    /* The server is announced before its socket is always connectable: wait for it (up to 5 s). */
    char display[40], sock[64];
    snprintf(display, sizeof display, ":%d", atoi(num));
    snprintf(sock, sizeof sock, "/tmp/.X11-unix/X%d", atoi(num));
    for (int tries = 0; tries < 50 && access(sock, F_OK) != 0; tries++) nanosleep(&(struct timespec){0, 100000000}, NULL);
    setenv("DISPLAY", display, 1);
    setenv("SDL_VIDEODRIVER", "x11", 1);
    return pid;
}

static void push(SDL_Event e) { SDL_PushEvent(&e); }

static void frame(vkr_viewer* v) {
    bool quit = false;
    VKR_ASSERT_OK(vkr_viewer_window_frame(v, &quit));
    assert_false(quit);
}

/* The window's pixels equal the headless drawing of the same state. */
static void assert_window_matches(vkr_viewer* v) {
    SDL_Surface* s = SDL_ConvertSurfaceFormat(vkr_viewer_window_surface(v), SDL_PIXELFORMAT_ARGB8888, 0);
    assert_non_null(s);
    uint32_t w = (uint32_t)s->w, h = (uint32_t)s->h;
    uint32_t* want = malloc((size_t)w * h * 4);
    VKR_ASSERT_OK(vkr_viewer_render(v, want, w, h, w * 4));
    SDL_LockSurface(s);
    for (uint32_t y = 0; y < h; y++) {
        const uint32_t* row = (const uint32_t*)((const uint8_t*)s->pixels + (size_t)y * s->pitch);
        for (uint32_t x = 0; x < w; x++)
            if ((row[x] & 0xFFFFFF) != (want[(size_t)y * w + x] & 0xFFFFFF))
                fail_msg("window pixel (%u, %u) %06x, headless %06x", x, y, row[x] & 0xFFFFFF, want[(size_t)y * w + x]);
    }
    SDL_UnlockSurface(s);
    SDL_FreeSurface(s);
    free(want);
}

static void test_window(void** state) {
    (void)state;
    xvfb = start_xvfb();
    if (!xvfb) {
        print_message("SKIP test_window: Xvfb is not installed (apt-get install xvfb); headless tests still ran\n");
        skip();
    }
    vkr_viewer_options o = options(VKR_PANEL_MAP);
    vkr_viewer* v = NULL;
    VKR_ASSERT_OK(vkr_viewer_open(&o, &v));
    vkr_status s = vkr_viewer_window_open(v);
    if (s != VKR_OK) vkr_viewer_close(v);
    VKR_ASSERT_OK(s);
    frame(v);
    assert_window_matches(v);
    vkr_viewer_state st;
    vkr_viewer_get_state(v, &st);
    float zoom0 = st.zoom;
    /* Wheel up over the centre zooms in. */
    push((SDL_Event){.motion = {.type = SDL_MOUSEMOTION, .x = 320, .y = 240}});
    push((SDL_Event){.wheel = {.type = SDL_MOUSEWHEEL, .y = 1}});
    frame(v);
    vkr_viewer_get_state(v, &st);
    assert_true(st.zoom > zoom0 * 1.1f);
    /* Hover over item 0's screen position, then click it: selected with its neighbours. */
    mat3 m;
    vkr_viewer_map_transform(v, 640, 480, m);
    const float* p = v->maps[0];
    int sx = (int)(m[0][0] * p[0] + m[1][0] * p[1] + m[2][0]), sy = (int)(m[0][1] * p[0] + m[1][1] * p[1] + m[2][1]);
    push((SDL_Event){.motion = {.type = SDL_MOUSEMOTION, .x = sx, .y = sy}});
    frame(v);
    vkr_viewer_get_state(v, &st);
    assert_true(st.hovered >= 0);
    push((SDL_Event){.button = {.type = SDL_MOUSEBUTTONDOWN, .button = SDL_BUTTON_LEFT, .x = sx, .y = sy}});
    push((SDL_Event){.button = {.type = SDL_MOUSEBUTTONUP, .button = SDL_BUTTON_LEFT, .x = sx, .y = sy}});
    frame(v);
    vkr_viewer_get_state(v, &st);
    assert_true(st.selected == st.hovered);
    assert_int_equal(st.neighbours, VKR_VIEWER_NEIGHBOURS);
    assert_window_matches(v);
    /* Drag pans. */
    float pan0 = st.pan_x;
    push((SDL_Event){.button = {.type = SDL_MOUSEBUTTONDOWN, .button = SDL_BUTTON_LEFT, .x = 300, .y = 300}});
    push((SDL_Event){.motion = {.type = SDL_MOUSEMOTION, .x = 360, .y = 300}});
    push((SDL_Event){.button = {.type = SDL_MOUSEBUTTONUP, .button = SDL_BUTTON_LEFT, .x = 360, .y = 300}});
    frame(v);
    vkr_viewer_get_state(v, &st);
    assert_true(st.pan_x < pan0);
    /* Search by title: '/' then text. */
    SDL_Event key = {.type = SDL_KEYDOWN};
    key.key.keysym.sym = SDLK_SLASH;
    push(key);
    SDL_Event text = {.type = SDL_TEXTINPUT};
    snprintf(text.text.text, sizeof text.text.text, "steel");
    push(text);
    frame(v);
    vkr_viewer_get_state(v, &st);
    assert_true(st.matches > 0 && st.matches < items);
    key.key.keysym.sym = SDLK_RETURN;
    push(key);
    /* v switches maps, Tab switches to the trie, u overlays beams. */
    key.key.keysym.sym = SDLK_v;
    push(key);
    key.key.keysym.sym = SDLK_TAB;
    push(key);
    key.key.keysym.sym = SDLK_u;
    push(key);
    frame(v);
    vkr_viewer_get_state(v, &st);
    assert_int_equal(st.map, 1);
    assert_int_equal(st.panel, VKR_PANEL_TRIE);
    assert_int_equal(st.beam_user, 3);
    assert_window_matches(v);
    /* q asks to quit. */
    key.key.keysym.sym = SDLK_q;
    push(key);
    bool quit = false;
    VKR_ASSERT_OK(vkr_viewer_window_frame(v, &quit));
    assert_true(quit);
    vkr_viewer_close(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headless),
        cmocka_unit_test(test_screenshot_png),
        cmocka_unit_test(test_plot_png),
        cmocka_unit_test(test_bad_runs),
        cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, make_run, remove_run);
}
