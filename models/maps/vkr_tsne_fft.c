/* FFT-accelerated interpolation of the t-SNE repulsion (FIt-SNE) on the device: state, grid choice
 * and the recorder of one evaluation (geometry, binning, charges, kernel, FFTs, interpolation). */
#include <string.h>

#include "vkr_tsne_internal.h"

#define FFT_LINE_GROUP 32 /* lines per workgroup of tsne_fft_line.comp (its local_size_x) */

static uint32_t log2_u32(uint32_t v) {
    uint32_t l = 0;
    while ((1u << l) < v) l++;
    return l;
}

uint32_t vkr_tsne_fft_grid_for(float extent, uint32_t max_grid) {
    /* Boxes at most one unit wide: the kernel varies on the unit scale, and 3 nodes per box then
     * interpolate it to about 1e-3 (FIt-SNE's default of one interval per unit). */
    uint32_t grid = VKR_TSNE_FFT_MIN_GRID;
    while (grid < max_grid && grid < VKR_TSNE_FFT_MAX_GRID && (float)(grid / (2 * VKR_TSNE_INTERP_NODES)) < extent)
        grid *= 2;
    return grid;
}

uint32_t vkr_tsne_fft_max_grid(const vkr_device* device) {
    return vkr_device_get_info(device)->type == VKR_DEVICE_CPU ? VKR_TSNE_FFT_MAX_GRID_CPU : VKR_TSNE_FFT_MAX_GRID;
}

vkr_status vkr_tsne_fft_create(vkr_device* device, uint32_t n, uint32_t grid, vkr_tsne_fft* out_fft) {
    memset(out_fft, 0, sizeof *out_fft);
    if (n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_fft_create: n must be >= 1");
    if (grid < VKR_TSNE_FFT_MIN_GRID || grid > VKR_TSNE_FFT_MAX_GRID || (grid & (grid - 1)))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_fft_create: grid %u is not a power of two in [%u, %u]",
                        grid, VKR_TSNE_FFT_MIN_GRID, VKR_TSNE_FFT_MAX_GRID);
    vkr_tsne_fft f = {.n = n, .grid = grid, .boxes = grid / (2 * VKR_TSNE_INTERP_NODES)};
    uint64_t boxes = (uint64_t)f.boxes * f.boxes, plane = (uint64_t)grid * grid * 8;
    vkr_status s = vkr_buffer_create(device, 16, VKR_MEMORY_DEVICE, &f.geom);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)n * 4, VKR_MEMORY_DEVICE, &f.box_of);
    if (s == VKR_OK) s = vkr_buffer_create(device, (boxes + 1) * 4, VKR_MEMORY_DEVICE, &f.counts);
    if (s == VKR_OK) s = vkr_buffer_create(device, boxes * 4, VKR_MEMORY_DEVICE, &f.cursor);
    if (s == VKR_OK) s = vkr_buffer_create(device, (uint64_t)n * 4, VKR_MEMORY_DEVICE, &f.order);
    if (s == VKR_OK) s = vkr_buffer_create(device, plane, VKR_MEMORY_DEVICE, &f.kernel);
    if (s == VKR_OK) s = vkr_buffer_create(device, 2 * plane, VKR_MEMORY_DEVICE, &f.charges);
    if (s != VKR_OK) {
        vkr_tsne_fft_destroy(device, &f);
        return s;
    }
    *out_fft = f;
    return VKR_OK;
}

void vkr_tsne_fft_destroy(vkr_device* device, vkr_tsne_fft* fft) {
    vkr_buffer* b[] = {&fft->geom, &fft->box_of, &fft->counts, &fft->cursor, &fft->order, &fft->kernel, &fft->charges};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) vkr_buffer_destroy(device, b[i]);
    memset(fft, 0, sizeof *fft);
}

/* A CPU driver runs the line-per-invocation kernels (butterflies as SIMD vectors in registers) up to its
 * default grid cap, which bounds their private array; larger grids and GPUs the shared-memory one. */
static bool line_kernel(vkr_device* dev, uint32_t grid) {
    return vkr_device_get_info(dev)->type == VKR_DEVICE_CPU && grid <= VKR_TSNE_FFT_MAX_GRID_CPU;
}

static vkr_status check_grid(const char* op, uint32_t grid) {
    if (grid < 2 || grid > VKR_TSNE_FFT_MAX_GRID || (grid & (grid - 1)))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: grid %u is not a power of two in [2, %u]", op, grid,
                        VKR_TSNE_FFT_MAX_GRID);
    return VKR_OK;
}

vkr_status vkr_gpu_tsne_fft(vkr_sequence* seq, const vkr_tsne_fft_lines* f, vkr_range data) {
    const char* op = "tsne_fft";
    if (!seq || !f) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: sequence or parameters are NULL", op);
    uint32_t grid = f->grid;
    VKR_TRY(check_grid(op, grid));
    if (f->count == 0 || f->lines == 0 || f->lines > grid || f->load_len > grid || f->store_len > grid)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: count must be >= 1, lines in [1, %u], load_len and store_len <= %u",
                        op, grid, grid);
    if (f->sign != 1 && f->sign != -1) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: sign must be +1 or -1", op);
    vkr_range r;
    VKR_TRY(vkr_range_take(data, (uint64_t)f->count * grid * grid * 8, op, "data", &r));
    vkr_device* dev = vkr_sequence_device(seq);
    bool per_line = line_kernel(dev, grid);
    vkr_kernel_desc d = {.shader = per_line ? "tsne_fft_line" : "tsne_fft", .binding_count = 1,
                         .access = {VKR_READ_WRITE}, .push_bytes = 32};
    uint32_t group_lines = per_line ? FFT_LINE_GROUP : VKR_TSNE_FFT_MAX_GRID / grid;
    if (per_line) {
        d.spec_count = 1;
        d.spec[0] = grid; /* the private array's length: one pipeline per grid side */
    } else if (group_lines > f->lines) {
        group_lines = f->lines;
    }
    struct { uint32_t L, log2L, columns; float sign; uint32_t lines, group_lines, load_len, store_len; } push = {
        grid, log2_u32(grid), f->columns ? 1u : 0u, (float)f->sign, f->lines, group_lines,
        f->load_len ? f->load_len : grid, f->store_len ? f->store_len : grid};
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(dev, &d, &k));
    return vkr_sequence_dispatch(seq, k, &r, 1, &push, sizeof push, (f->lines + group_lines - 1) / group_lines,
                                 f->count, 1);
}

vkr_status vkr_gpu_tsne_fft_convolve(vkr_sequence* seq, uint32_t grid, uint32_t count, uint32_t rows_in,
                                     uint32_t rows_out, vkr_range kern, vkr_range data) {
    const char* op = "tsne_fft_convolve";
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: sequence is NULL", op);
    VKR_TRY(check_grid(op, grid));
    if (count == 0 || rows_in == 0 || rows_in > grid || rows_out == 0 || rows_out > grid)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: count must be >= 1, rows_in and rows_out in [1, %u]", op, grid);
    uint64_t plane = (uint64_t)grid * grid;
    vkr_range r[2];
    VKR_TRY(vkr_range_take(kern, plane * 8, op, "kern", &r[1]));
    VKR_TRY(vkr_range_take(data, count * plane * 8, op, "data", &r[0]));
    vkr_device* dev = vkr_sequence_device(seq);
    if (!line_kernel(dev, grid)) {
        /* Forward, product, inverse as three passes (the shared-memory FFT holds no kernel column). */
        vkr_tsne_fft_lines fwd = {grid, count, grid, true, -1, rows_in, grid};
        VKR_TRY(vkr_gpu_tsne_fft(seq, &fwd, r[0]));
        struct { uint32_t plane, count; } pm = {(uint32_t)plane, count};
        vkr_kernel_desc mul_d = {.shader = "tsne_fft_mul", .binding_count = 2,
                                 .access = {VKR_READ, VKR_READ_WRITE}, .push_bytes = 8};
        vkr_range r_mul[2] = {r[1], r[0]};
        VKR_TRY(vkr_tsne_dispatch(seq, &mul_d, r_mul, &pm, plane, 64));
        vkr_tsne_fft_lines inv = {grid, count, grid, true, 1, grid, rows_out};
        return vkr_gpu_tsne_fft(seq, &inv, r[0]);
    }
    vkr_kernel_desc d = {.shader = "tsne_fft_conv", .binding_count = 2, .access = {VKR_READ_WRITE, VKR_READ},
                         .push_bytes = 16, .spec_count = 1, .spec = {grid}};
    struct { uint32_t L, log2L, load_len, store_len; } push = {grid, log2_u32(grid), rows_in, rows_out};
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(dev, &d, &k));
    return vkr_sequence_dispatch(seq, k, r, 2, &push, sizeof push, (grid + FFT_LINE_GROUP - 1) / FFT_LINE_GROUP,
                                 count, 1);
}

vkr_status vkr_gpu_tsne_repulse_fft(vkr_sequence* seq, vkr_tsne_fft* fft, vkr_range y, vkr_range rep,
                                    vkr_range zrow) {
    const char* op = "tsne_repulse_fft";
    if (!fft || fft->n == 0 || !fft->charges.vk)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: FFT state is not created", op);
    uint32_t n = fft->n, nb = fft->boxes, L = fft->grid, nodes = nb * VKR_TSNE_INTERP_NODES;
    uint64_t boxes = (uint64_t)nb * nb, plane = (uint64_t)L * L;
    vkr_range ry, rrep, rz;
    VKR_TRY(vkr_range_take(y, (uint64_t)n * 8, op, "y", &ry));
    VKR_TRY(vkr_range_take(rep, (uint64_t)n * 8, op, "rep", &rrep));
    VKR_TRY(vkr_range_take(zrow, (uint64_t)n * 4, op, "zrow", &rz));
    vkr_range geom = {&fft->geom, 0, 16}, box_of = {&fft->box_of, 0, (uint64_t)n * 4};
    vkr_range counts = {&fft->counts, 0, (boxes + 1) * 4}, cursor = {&fft->cursor, 0, boxes * 4};
    vkr_range order = {&fft->order, 0, (uint64_t)n * 4}, kern = {&fft->kernel, 0, plane * 8};
    vkr_range charges = {&fft->charges, 0, 2 * plane * 8};

    struct { uint32_t n, nb; } pg = {n, nb};
    vkr_kernel_desc geom_d = {.shader = "tsne_fft_geom", .binding_count = 2, .access = {VKR_READ, VKR_WRITE},
                              .push_bytes = 8};
    vkr_range r_geom[2] = {ry, geom};
    VKR_TRY(vkr_tsne_dispatch(seq, &geom_d, r_geom, &pg, 256, 256));
    /* Binning: counts, exclusive offsets, then ids grouped by box. */
    VKR_TRY(vkr_sequence_fill(seq, &fft->counts, 0, (boxes + 1) * 4, 0));
    VKR_TRY(vkr_sequence_fill(seq, &fft->cursor, 0, boxes * 4, 0));
    vkr_kernel_desc bin_d = {.shader = "tsne_fft_bin", .binding_count = 4,
                             .access = {VKR_READ, VKR_READ, VKR_WRITE, VKR_READ_WRITE}, .push_bytes = 8};
    vkr_range r_bin[4] = {ry, geom, box_of, counts};
    VKR_TRY(vkr_tsne_dispatch(seq, &bin_d, r_bin, &pg, n, 64));
    uint32_t nboxes = (uint32_t)boxes;
    vkr_kernel_desc scan_d = {.shader = "tsne_fft_scan", .binding_count = 1, .access = {VKR_READ_WRITE},
                              .push_bytes = 4};
    VKR_TRY(vkr_tsne_dispatch(seq, &scan_d, &counts, &nboxes, 256, 256));
    vkr_kernel_desc place_d = {.shader = "tsne_fft_place", .binding_count = 4,
                               .access = {VKR_READ, VKR_READ, VKR_READ_WRITE, VKR_WRITE}, .push_bytes = 4};
    vkr_range r_place[4] = {box_of, counts, cursor, order};
    VKR_TRY(vkr_tsne_dispatch(seq, &place_d, r_place, &n, n, 64));
    /* Charges on the nodes; the rest of the padded grids is never read (the FFTs take it as zero). */
    struct { uint32_t nb, L; } pc = {nb, L};
    vkr_kernel_desc charge_d = {.shader = "tsne_fft_charge", .binding_count = 5,
                                .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ, VKR_WRITE}, .push_bytes = 8};
    vkr_range r_charge[5] = {ry, geom, counts, order, charges};
    VKR_TRY(vkr_tsne_dispatch(seq, &charge_d, r_charge, &pc, boxes, 64));
    /* Kernel and its transform. */
    struct { uint32_t L, nodes; } pk = {L, nodes};
    vkr_kernel_desc kern_d = {.shader = "tsne_fft_kernel", .binding_count = 2, .access = {VKR_READ, VKR_WRITE},
                              .push_bytes = 8};
    vkr_range r_kern[2] = {geom, kern};
    VKR_TRY(vkr_tsne_dispatch(seq, &kern_d, r_kern, &pk, plane, 64));
    vkr_tsne_fft_lines kern_rows = {L, 1, L, false, -1, L, L}, kern_cols = {L, 1, L, true, -1, L, L};
    VKR_TRY(vkr_gpu_tsne_fft(seq, &kern_rows, kern));
    VKR_TRY(vkr_gpu_tsne_fft(seq, &kern_cols, kern));
    /* Only the first `nodes` rows and columns of the charges are non-zero, and only those of the
     * potentials are interpolated: rows forward, columns convolved, rows back, each pruned. */
    vkr_tsne_fft_lines fwd = {L, 2, nodes, false, -1, nodes, L}, inv = {L, 2, nodes, false, 1, L, nodes};
    VKR_TRY(vkr_gpu_tsne_fft(seq, &fwd, charges));
    VKR_TRY(vkr_gpu_tsne_fft_convolve(seq, L, 2, nodes, nodes, kern, charges));
    VKR_TRY(vkr_gpu_tsne_fft(seq, &inv, charges));
    struct { uint32_t n, nb, L; } pi = {n, nb, L};
    vkr_kernel_desc interp_d = {.shader = "tsne_fft_interp", .binding_count = 5,
                                .access = {VKR_READ, VKR_READ, VKR_READ, VKR_WRITE, VKR_WRITE}, .push_bytes = 12};
    vkr_range r_interp[5] = {ry, geom, charges, rrep, rz};
    return vkr_tsne_dispatch(seq, &interp_d, r_interp, &pi, n, 64);
}
