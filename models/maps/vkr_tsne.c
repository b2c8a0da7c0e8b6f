/* The t-SNE driver: affinities, device buffers, the optimization loop in recorded chunks, KL. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_clock.h"
#include "vkr_ops_nn.h"
#include "vkr_tsne_internal.h"
#include "vkr_values.h"

const char* vkr_tsne_method_name(vkr_tsne_method method) {
    return method == VKR_TSNE_EXACT ? "exact" : method == VKR_TSNE_FFT ? "fft" : "auto";
}

vkr_tsne_method vkr_tsne_resolve_method(const vkr_device* device, vkr_tsne_method method, uint32_t n) {
    if (method != VKR_TSNE_AUTO) return method;
    /* Where the O(N^2) pass stops beating the FFT's grid cost: on lavapipe (2 cores, 1000 iterations)
     * at N = 5,000 exact takes 17.6 s (KL 2.140), FFT 30.5 s (2.147); at 10,000 exact ~70 s, FFT 38 s. */
    uint32_t limit = vkr_device_get_info(device)->type == VKR_DEVICE_CPU ? 6144 : 32768;
    return n <= limit ? VKR_TSNE_EXACT : VKR_TSNE_FFT;
}

void vkr_tsne_options_defaults(vkr_tsne_options* o, uint32_t n) {
    if (o->perplexity <= 0) o->perplexity = 30;
    if (o->iterations == 0) o->iterations = 1000;
    if (o->exaggeration <= 0) o->exaggeration = 12;
    if (o->exaggeration_iters == 0) o->exaggeration_iters = 250;
    if (o->exaggeration_iters > o->iterations) o->exaggeration_iters = o->iterations;
    if (o->learning_rate <= 0) o->learning_rate = fmaxf((float)n / 48.0f, 50.0f);
    if (o->callback_every == 0) o->callback_every = VKR_TSNE_CHUNK;
}

/* Device state of one run. */
typedef struct tsne_state {
    vkr_device* dev;
    uint32_t n;
    vkr_tsne_method method;
    vkr_buffer row_ptr, col, val;   /* CSR P */
    vkr_buffer y, update, gains;    /* n x 2 each */
    vkr_buffer attr, rep, zrow, z;  /* gradient pieces */
    vkr_tsne_fft fft;               /* FFT state (FFT method) */
    uint32_t max_grid;              /* cap on the FFT grid side */
    const uint32_t* perm;           /* perm[r]: the caller's id of point r (locality order) */
    float* y_out;                   /* the caller's y, in its order (for callbacks) */
    bool host_attract;              /* the attraction runs on the host between submissions (CPU driver) */
    bool overlap;                   /* host_attract: the host attraction runs while the device repulses */
    vkr_sequence* seq;              /* the recorded chunk (host_attract: one iteration; overlap: its repulsion) */
    vkr_sequence* seq_step;         /* overlap: the iteration's step, after both gradient terms */
    int key_stage, key_chunk;       /* what seq holds (-1: nothing) */
    uint32_t key_grid;
} tsne_state;

static void state_free(tsne_state* st) {
    vkr_sequence_destroy(st->seq);
    vkr_sequence_destroy(st->seq_step);
    vkr_tsne_fft_destroy(st->dev, &st->fft);
    vkr_buffer* b[] = {&st->row_ptr, &st->col, &st->val, &st->y, &st->update, &st->gains,
                       &st->attr, &st->rep, &st->zrow, &st->z};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) vkr_buffer_destroy(st->dev, b[i]);
}

static vkr_range whole(const vkr_buffer* b) { return vkr_range_whole(b); }

/* Records repulsion (by `method`) and Z = sum(zrow) into z. */
static vkr_status record_repulsion(tsne_state* st, vkr_sequence* seq, vkr_tsne_method method) {
    if (method == VKR_TSNE_FFT) VKR_TRY(vkr_gpu_tsne_repulse_fft(seq, &st->fft, whole(&st->y), whole(&st->rep), whole(&st->zrow)));
    else VKR_TRY(vkr_gpu_tsne_repulse_exact(seq, st->n, whole(&st->y), whole(&st->rep), whole(&st->zrow)));
    vkr_sum_params sp = {st->n, 1.0f};
    return vkr_gpu_sum_scalar(seq, &sp, whole(&st->zrow), (vkr_range){&st->z, 0, 4});
}

static vkr_status record_chunk(tsne_state* st, const vkr_tsne_step_params* step, int chunk) {
    VKR_TRY(vkr_sequence_reset(st->seq));
    if (st->overlap) VKR_TRY(vkr_sequence_reset(st->seq_step));
    for (int c = 0; c < chunk; c++) { /* chunk is 1 with the host attraction (see optimize) */
        if (!st->host_attract)
            VKR_TRY(vkr_gpu_tsne_attract(st->seq, st->n, whole(&st->row_ptr), whole(&st->col), whole(&st->val),
                                         whole(&st->y), whole(&st->attr)));
        VKR_TRY(record_repulsion(st, st->seq, st->method));
        VKR_TRY(vkr_gpu_tsne_step(st->overlap ? st->seq_step : st->seq, step, whole(&st->attr), whole(&st->rep),
                                  (vkr_range){&st->z, 0, 4}, whole(&st->y), whole(&st->update), whole(&st->gains)));
    }
    return VKR_OK;
}

/* Evaluates Z at the current layout with `method` (one extra pass). */
static vkr_status evaluate_z(tsne_state* st, vkr_tsne_method method, double* out_z) {
    vkr_sequence* seq = NULL;
    VKR_TRY(vkr_sequence_create(st->dev, &seq));
    vkr_status s = record_repulsion(st, seq, method);
    if (s == VKR_OK) s = vkr_sequence_submit(seq);
    float z = 0;
    if (s == VKR_OK) s = vkr_buffer_download(st->dev, &st->z, 0, &z, 4);
    vkr_sequence_destroy(seq);
    *out_z = z;
    return s;
}

static float layout_extent(const float* y, uint32_t n) {
    float lo[2] = {y[0], y[1]}, hi[2] = {y[0], y[1]};
    for (uint32_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            lo[a] = fminf(lo[a], y[2 * i + a]);
            hi[a] = fmaxf(hi[a], y[2 * i + a]);
        }
    return fmaxf(hi[0] - lo[0], hi[1] - lo[1]);
}

static vkr_status setup(tsne_state* st, const vkr_tsne_p* p, const float* y, vkr_tsne_attraction where) {
    vkr_device* dev = st->dev;
    uint64_t n = st->n, nnz = p->nnz ? p->nnz : 1;
    VKR_TRY(vkr_buffer_create(dev, (n + 1) * 4, VKR_MEMORY_DEVICE, &st->row_ptr));
    VKR_TRY(vkr_buffer_create(dev, nnz * 4, VKR_MEMORY_DEVICE, &st->col));
    VKR_TRY(vkr_buffer_create(dev, nnz * 4, VKR_MEMORY_DEVICE, &st->val));
    vkr_buffer* b2[] = {&st->y, &st->update, &st->gains, &st->attr, &st->rep};
    for (size_t i = 0; i < sizeof b2 / sizeof b2[0]; i++) VKR_TRY(vkr_buffer_create(dev, n * 8, VKR_MEMORY_DEVICE, b2[i]));
    VKR_TRY(vkr_buffer_create(dev, n * 4, VKR_MEMORY_DEVICE, &st->zrow));
    VKR_TRY(vkr_buffer_create(dev, 16, VKR_MEMORY_DEVICE, &st->z));
    vkr_transfer* t = NULL;
    VKR_TRY(vkr_transfer_begin(dev, &t));
    vkr_status s = vkr_transfer_upload(t, &st->row_ptr, 0, p->row_ptr, (n + 1) * 4);
    if (s == VKR_OK && p->nnz) s = vkr_transfer_upload(t, &st->col, 0, p->col, p->nnz * 4);
    if (s == VKR_OK && p->nnz) s = vkr_transfer_upload(t, &st->val, 0, p->val, p->nnz * 4);
    if (s == VKR_OK) s = vkr_transfer_upload(t, &st->y, 0, y, n * 8);
    if (s != VKR_OK) {
        vkr_transfer_abort(t);
        return s;
    }
    VKR_TRY(vkr_transfer_submit(t));
    /* A CPU driver's "device" is these cores and its buffers are host memory: the attraction's
     * gathers run several times faster as host code on the mapped y and attr. */
    bool mapped = st->y.host && st->attr.host;
    if (where == VKR_TSNE_ATTRACT_HOST || where == VKR_TSNE_ATTRACT_HOST_OVERLAP) {
        if (!mapped)
            return vkr_fail(VKR_ERR_UNSUPPORTED, "t-SNE: the host attraction needs host-mapped device buffers, "
                                                 "which this device does not offer");
        st->host_attract = true;
        st->overlap = where == VKR_TSNE_ATTRACT_HOST_OVERLAP;
    } else if (where == VKR_TSNE_ATTRACT_AUTO) {
        st->host_attract = vkr_device_get_info(dev)->type == VKR_DEVICE_CPU && mapped;
        /* Overlapping costs a second submission per iteration and the two sides share the cores: at
         * N = 10,000 (1.2M entries) it measured slower, at 100,000 (12M) 58 -> 47 s of iterations. */
        st->overlap = st->host_attract && p->nnz >= VKR_TSNE_OVERLAP_MIN;
    }
    if (st->method == VKR_TSNE_FFT)
        VKR_TRY(vkr_tsne_fft_create(dev, st->n, vkr_tsne_fft_grid_for(layout_extent(y, st->n), st->max_grid), &st->fft));
    if (st->overlap) VKR_TRY(vkr_sequence_create(dev, &st->seq_step));
    return vkr_sequence_create(dev, &st->seq);
}

/* Zero update, unit gains: the state at the start of each stage. */
static vkr_status reset_momentum(tsne_state* st) {
    vkr_sequence* seq = NULL;
    VKR_TRY(vkr_sequence_create(st->dev, &seq));
    vkr_status s = vkr_sequence_fill(seq, &st->update, 0, (uint64_t)st->n * 8, 0);
    if (s == VKR_OK) s = vkr_sequence_fill(seq, &st->gains, 0, (uint64_t)st->n * 8, 0x3F800000u); /* 1.0f */
    if (s == VKR_OK) s = vkr_sequence_submit(seq);
    vkr_sequence_destroy(seq);
    return s;
}

/* y_out[perm[r]] = y[r]: a layout in the locality order back in the caller's. */
static void unpermute(const uint32_t* perm, const float* y, uint32_t n, float* y_out) {
    for (uint32_t r = 0; r < n; r++) {
        y_out[2 * (size_t)perm[r]] = y[2 * (size_t)r];
        y_out[2 * (size_t)perm[r] + 1] = y[2 * (size_t)r + 1];
    }
}

static vkr_status optimize(tsne_state* st, const vkr_tsne_p* p, const vkr_tsne_options* o, float* y,
                           vkr_tsne_report* rep, double t0) {
    st->key_stage = st->key_chunk = -1;
    uint32_t it = 0;
    while (it < o->iterations) {
        int stage = it < o->exaggeration_iters ? 0 : 1;
        uint32_t stage_end = stage == 0 ? o->exaggeration_iters : o->iterations;
        if (it == 0 || it == o->exaggeration_iters) VKR_TRY(reset_momentum(st));
        int chunk = (int)(stage_end - it < VKR_TSNE_CHUNK ? stage_end - it : VKR_TSNE_CHUNK);
        if (st->host_attract) chunk = 1; /* the host reads each iteration's y */
        /* the grid is re-chosen where a chunk of VKR_TSNE_CHUNK iterations starts, also when the host
         * attraction submits one iteration at a time */
        uint32_t stage_start = stage == 0 ? 0 : o->exaggeration_iters;
        if (st->method == VKR_TSNE_FFT && (it - stage_start) % VKR_TSNE_CHUNK == 0) {
            float geom[4];
            VKR_TRY(vkr_buffer_download(st->dev, &st->fft.geom, 0, geom, 16));
            uint32_t grid = it == 0 ? st->fft.grid : vkr_tsne_fft_grid_for(geom[2] * (float)st->fft.boxes, st->max_grid);
            if (grid != st->fft.grid) {
                vkr_tsne_fft_destroy(st->dev, &st->fft);
                VKR_TRY(vkr_tsne_fft_create(st->dev, st->n, grid, &st->fft));
                st->key_stage = -1;
            }
            if (grid > rep->max_grid) rep->max_grid = grid;
        }
        if (stage != st->key_stage || chunk != st->key_chunk || st->fft.grid != st->key_grid) {
            vkr_tsne_step_params sp = {st->n, stage == 0 ? o->exaggeration : 1.0f, stage == 0 ? 0.5f : 0.8f,
                                       o->learning_rate};
            VKR_TRY(record_chunk(st, &sp, chunk));
            st->key_stage = stage;
            st->key_chunk = chunk;
            st->key_grid = st->fft.grid;
        }
        /* The host attraction reads y and writes attr through the coherent mappings; each submission
         * starts with a host-write barrier and ends with a host-read one. With overlap it runs while
         * the driver's threads compute the repulsion (which writes neither), then the step follows. */
        if (st->overlap) {
            VKR_TRY(vkr_sequence_submit_async(st->seq));
            vkr_status sa = vkr_tsne_attract_host(p, st->y.host, st->attr.host);
            vkr_status sw = vkr_sequence_wait(st->seq);
            VKR_TRY(sa);
            VKR_TRY(sw);
            VKR_TRY(vkr_sequence_submit(st->seq_step));
        } else {
            if (st->host_attract) VKR_TRY(vkr_tsne_attract_host(p, st->y.host, st->attr.host));
            VKR_TRY(vkr_sequence_submit(st->seq));
        }
        it += (uint32_t)chunk;
        bool report_now = o->progress && (it % 50 == 0 || it == o->iterations);
        bool call_now = o->callback && (it % o->callback_every == 0 || it == o->iterations);
        if (report_now || call_now) VKR_TRY(vkr_buffer_download(st->dev, &st->y, 0, y, (uint64_t)st->n * 8));
        if (report_now) {
            float z = 0;
            VKR_TRY(vkr_buffer_download(st->dev, &st->z, 0, &z, 4));
            fprintf(stderr, "\rt-SNE %s: iteration %u/%u, KL ~ %.4f, %.1f s   ", vkr_tsne_method_name(st->method), it,
                    o->iterations, vkr_tsne_kl_given_z(p, y, z), vkr_now_s() - t0);
        }
        if (call_now) unpermute(st->perm, y, st->n, st->y_out);
        if (call_now && !o->callback(o->callback_user, it, st->y_out, st->n)) break;
    }
    rep->iterations = it;
    if (o->progress) fprintf(stderr, "\r%78s\r", "");
    return VKR_OK;
}

vkr_status vkr_tsne_run(vkr_device* device, const float* x, uint32_t n, uint32_t d, const vkr_tsne_options* options,
                        float* y, vkr_tsne_report* out_report) {
    vkr_tsne_report rep = {0};
    if (out_report) memset(out_report, 0, sizeof *out_report);
    if (!device || !x || !y) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_tsne_run: NULL device, x or y");
    if (n < 2 || d == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "t-SNE needs at least 2 points of >= 1 feature (got %u x %u)", n, d);
    vkr_tsne_options o = options ? *options : (vkr_tsne_options){0};
    vkr_tsne_options_defaults(&o, n);
    if (o.method != VKR_TSNE_AUTO && o.method != VKR_TSNE_EXACT && o.method != VKR_TSNE_FFT)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "t-SNE: unknown method %d", o.method);
    VKR_TRY(vkr_check_vectors("t-SNE input", x, n, d));
    /* every argument is checked before the affinities are allocated */
    if ((unsigned)o.attraction > VKR_TSNE_ATTRACT_HOST_OVERLAP)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "t-SNE: unknown attraction placement %d", (int)o.attraction);
    if (o.fft_max_grid == 0) o.fft_max_grid = vkr_tsne_fft_max_grid(device);
    if (o.fft_max_grid < VKR_TSNE_FFT_MIN_GRID || o.fft_max_grid > VKR_TSNE_FFT_MAX_GRID ||
        (o.fft_max_grid & (o.fft_max_grid - 1)))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "t-SNE: the FFT grid cap %u is not a power of two in [%u, %u]",
                        o.fft_max_grid, VKR_TSNE_FFT_MIN_GRID, VKR_TSNE_FFT_MAX_GRID);
    double t0 = vkr_now_s();
    vkr_tsne_p p = {0}, ordered = {0};
    VKR_TRY(vkr_tsne_affinities(device, x, n, d, o.perplexity, &p));
    /* The run works in locality order (perm[r] = the caller's id of point r): P renumbered, y
     * gathered on the way in and scattered on the way out. */
    uint32_t* perm = malloc(sizeof *perm * n);
    float* yw = malloc(sizeof *yw * 2 * (size_t)n);
    vkr_status s = perm && yw ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "t-SNE: out of host memory");
    if (s == VKR_OK) s = vkr_tsne_locality_order(&p, perm);
    if (s == VKR_OK) s = vkr_tsne_p_permute(&p, perm, &ordered);
    vkr_tsne_p_free(&p);
    rep.affinity_seconds = vkr_now_s() - t0;
    rep.n = n;
    rep.k = vkr_tsne_neighbours(o.perplexity, n);
    rep.nnz = ordered.nnz;
    rep.learning_rate = o.learning_rate;
    tsne_state st = {.dev = device, .n = n, .method = vkr_tsne_resolve_method(device, o.method, n),
                     .max_grid = o.fft_max_grid, .perm = perm, .y_out = y};
    rep.method = st.method;
    if (s == VKR_OK) s = vkr_tsne_initial(x, n, d, o.init, o.seed, y);
    for (uint32_t r = 0; s == VKR_OK && r < n; r++) {
        yw[2 * (size_t)r] = y[2 * (size_t)perm[r]];
        yw[2 * (size_t)r + 1] = y[2 * (size_t)perm[r] + 1];
    }
    if (s == VKR_OK) s = setup(&st, &ordered, yw, o.attraction);
    if (s == VKR_OK) s = optimize(&st, &ordered, &o, yw, &rep, t0);
    if (s == VKR_OK) s = vkr_buffer_download(device, &st.y, 0, yw, (uint64_t)n * 8);
    if (s == VKR_OK && vkr_check_vectors("t-SNE: the computed map", yw, n, 2) != VKR_OK)
        s = vkr_fail_context(VKR_ERR_STATE, "t-SNE diverged after %u iterations: ", rep.iterations);
    double z = 0;
    rep.kl_exact = st.method == VKR_TSNE_EXACT || n <= VKR_TSNE_EXACT_KL_MAX;
    if (s == VKR_OK) s = evaluate_z(&st, rep.kl_exact ? VKR_TSNE_EXACT : VKR_TSNE_FFT, &z);
    if (s == VKR_OK) rep.kl = vkr_tsne_kl_given_z(&ordered, yw, z);
    if (s == VKR_OK) unpermute(perm, yw, n, y);
    rep.seconds = vkr_now_s() - t0;
    state_free(&st);
    vkr_tsne_p_free(&ordered);
    free(perm);
    free(yw);
    if (s == VKR_OK && out_report) *out_report = rep;
    return s;
}
