/* Vector quantization kernels (shaders/quant_*.comp) with their CPU references. */
#include "vkr_ops_quant.h"

#include <math.h>
#include <stdlib.h>

#include "vkr_ops_nn.h"
#include "vkr_ops_nn_internal.h"

#define Q_ROWS 64u  /* rows per workgroup of quant_norms / quant_rq_residuals */
#define Q_ASSIGN_TM 16u /* rows per virtual subgroup of quant_assign (QA_TM) */
#define Q_WG 64u        /* invocations per workgroup of quant_assign */

static uint64_t q_div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* ---- nearest codeword ------------------------------------------------------------------------ */

static vkr_status q_check_assign(const vkr_quant_assign_params* p, const char* what) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", what);
    if (p->n == 0 || p->k == 0 || p->d == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: n, k and d must be >= 1 (got %u, %u, %u)", what, p->n, p->k, p->d);
    if (p->code_stride == 0 || p->code_offset >= p->code_stride)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: code_offset %u must be below code_stride %u", what,
                        p->code_offset, p->code_stride);
    if ((uint64_t)p->n * p->d > UINT32_MAX || ((uint64_t)p->c_base + p->k) * p->d > UINT32_MAX ||
        (uint64_t)p->n * p->code_stride > UINT32_MAX || p->k > INT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: shape n=%u k=%u d=%u has 2^32 or more elements", what, p->n,
                        p->k, p->d);
    return VKR_OK;
}

vkr_status vkr_ref_quant_assign(const vkr_quant_assign_params* p, const float* x, const float* c, int32_t* codes,
                                float* dist, float* resid) {
    VKR_TRY(q_check_assign(p, "quant_assign"));
    if (!x || !c || !codes) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant_assign: x, c and codes must not be NULL");
    for (uint32_t i = 0; i < p->n; i++) {
        const float* xi = x + (size_t)i * p->d;
        double best = INFINITY;
        uint32_t bj = 0;
        for (uint32_t j = 0; j < p->k; j++) {
            const float* cj = c + ((size_t)p->c_base + j) * p->d;
            double s = 0;
            for (uint32_t k = 0; k < p->d; k++) s += ((double)xi[k] - cj[k]) * ((double)xi[k] - cj[k]);
            if (s < best) {
                best = s;
                bj = j;
            }
        }
        codes[(size_t)i * p->code_stride + p->code_offset] = (int32_t)bj;
        if (dist) dist[i] = (float)best;
        if (resid)
            for (uint32_t k = 0; k < p->d; k++)
                resid[(size_t)i * p->d + k] = xi[k] - c[((size_t)p->c_base + bj) * p->d + k];
    }
    return VKR_OK;
}

vkr_status vkr_gpu_quant_norms(vkr_sequence* seq, uint32_t rows, uint32_t d, vkr_range c, vkr_range norms) {
    VKR_TRY(vkr_nn_check_dims("quant_norms", "rows", rows, "d", d));
    vkr_range r[2];
    VKR_TRY(vkr_range_take_words(c, (uint64_t)rows * d, "quant_norms", "c", &r[0]));
    VKR_TRY(vkr_range_take_words(norms, rows, "quant_norms", "norms", &r[1]));
    uint32_t push[2] = {rows, d};
    vkr_kernel_desc desc = {.shader = "quant_norms", .binding_count = 2, .access = {VKR_READ, VKR_WRITE},
                            .push_bytes = sizeof push};
    return vkr_sequence_dispatch_grid(seq, &desc, r, push, q_div_up(rows, Q_ROWS));
}

vkr_status vkr_gpu_quant_assign(vkr_sequence* seq, const vkr_quant_assign_params* p, vkr_range x, vkr_range c,
                                vkr_range norms, vkr_range codes, vkr_range dist, vkr_range resid) {
    VKR_TRY(q_check_assign(p, "quant_assign"));
    const char* op = "quant_assign";
    bool with_resid = resid.buffer != NULL;
    vkr_range r[6];
    VKR_TRY(vkr_range_take_words(x, (uint64_t)p->n * p->d, op, "x", &r[0]));
    VKR_TRY(vkr_range_take_words(c, ((uint64_t)p->c_base + p->k) * p->d, op, "c", &r[1]));
    VKR_TRY(vkr_range_take_words(norms, (uint64_t)p->c_base + p->k, op, "norms", &r[2]));
    VKR_TRY(vkr_range_take_words(codes, (uint64_t)(p->n - 1) * p->code_stride + p->code_offset + 1, op, "codes", &r[3]));
    VKR_TRY(vkr_range_take_words(dist, p->n, op, "dist", &r[4]));
    if (with_resid) VKR_TRY(vkr_range_take_words(resid, (uint64_t)p->n * p->d, op, "resid", &r[5]));
    uint32_t push[6] = {p->n, p->k, p->d, p->c_base, p->code_stride, p->code_offset};
    /* vec4 loads when every row starts 16-byte aligned */
    uint32_t vec = p->d % 4 == 0 && r[0].offset % 16 == 0 && r[1].offset % 16 == 0;
    /* lanes per virtual subgroup: 8, or the largest power of two dividing the device's subgroup */
    uint32_t sg = 8, real = vkr_device_get_info(vkr_sequence_device(seq))->subgroup_size;
    while (sg > 1 && (real == 0 || real % sg != 0)) sg >>= 1;
    if (real > Q_WG || Q_WG % (real ? real : 1) != 0)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "quant_assign: subgroup size %u does not divide %u", real, Q_WG);
    vkr_kernel_desc desc = {.shader = with_resid ? "quant_assign_res" : "quant_assign",
                            .binding_count = with_resid ? 6 : 5,
                            .access = {VKR_READ, VKR_READ, VKR_READ, VKR_WRITE, VKR_WRITE, VKR_WRITE},
                            .push_bytes = sizeof push, .spec_count = 2, .spec = {sg, vec}};
    return vkr_sequence_dispatch_grid(seq, &desc, r, push, q_div_up(p->n, (uint64_t)(Q_WG / sg) * Q_ASSIGN_TM));
}

/* ---- sums of rows grouped by code ------------------------------------------------------------ */

static vkr_status q_check_segsum(const vkr_quant_segsum_params* p) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant_segsum: params is NULL");
    if (p->n == 0 || p->k == 0 || p->d == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant_segsum: n, k and d must be >= 1 (got %u, %u, %u)", p->n, p->k,
                        p->d);
    if (p->code_stride == 0 || p->code_offset >= p->code_stride)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant_segsum: code_offset %u must be below code_stride %u",
                        p->code_offset, p->code_stride);
    if (p->mode != VKR_SEGSUM_MEAN && p->mode != VKR_SEGSUM_ACCUM)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant_segsum: unknown mode %d", (int)p->mode);
    uint64_t blocks = q_div_up(p->n, VKR_QUANT_SEG_BLOCK);
    if ((uint64_t)p->n * p->d > UINT32_MAX || blocks * p->k * p->d > UINT32_MAX ||
        ((uint64_t)p->out_base + p->k) * p->d > UINT32_MAX || (uint64_t)p->n * p->code_stride > UINT32_MAX ||
        p->k > INT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant_segsum: shape n=%u k=%u d=%u is too large", p->n, p->k, p->d);
    return VKR_OK;
}

uint64_t vkr_quant_segsum_scratch(const vkr_quant_segsum_params* p) {
    uint64_t blocks = q_div_up(p->n, VKR_QUANT_SEG_BLOCK);
    return vkr_storage_align_words(blocks * p->k * p->d) + blocks * p->k;
}

vkr_status vkr_ref_quant_segsum(const vkr_quant_segsum_params* p, const float* x, const int32_t* codes,
                                const float* scale, float* out, uint32_t* counts) {
    VKR_TRY(q_check_segsum(p));
    if (!x || !codes || !out || (p->mode == VKR_SEGSUM_ACCUM && !scale))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "quant_segsum: x, codes, out (and scale in ACCUM mode) are required");
    double* sum = calloc((size_t)p->k * p->d, sizeof *sum);
    uint32_t* cnt = calloc(p->k, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "quant_segsum: out of host memory");
    }
    for (uint32_t i = 0; i < p->n; i++) {
        int32_t c = codes[(size_t)i * p->code_stride + p->code_offset];
        if (c < 0 || (uint32_t)c >= p->k) continue;
        cnt[c]++;
        for (uint32_t k = 0; k < p->d; k++) sum[(size_t)c * p->d + k] += x[(size_t)i * p->d + k];
    }
    for (uint32_t c = 0; c < p->k; c++) {
        float* o = out + ((size_t)p->out_base + c) * p->d;
        for (uint32_t k = 0; k < p->d; k++) {
            double s = sum[(size_t)c * p->d + k];
            if (p->mode == VKR_SEGSUM_MEAN) {
                if (cnt[c]) o[k] = (float)(s / cnt[c]);
            } else {
                o[k] += (float)((double)p->alpha * scale[0] * s);
            }
        }
        if (counts) counts[c] = cnt[c];
    }
    free(sum);
    free(cnt);
    return VKR_OK;
}

vkr_status vkr_gpu_quant_segsum(vkr_sequence* seq, const vkr_quant_segsum_params* p, vkr_range x, vkr_range codes,
                                vkr_range scratch, vkr_range scale, vkr_range out, vkr_range counts) {
    VKR_TRY(q_check_segsum(p));
    const char* op = "quant_segsum";
    uint32_t blocks = (uint32_t)q_div_up(p->n, VKR_QUANT_SEG_BLOCK);
    uint64_t psum_floats = (uint64_t)blocks * p->k * p->d;
    vkr_range s;
    VKR_TRY(vkr_range_take_words(scratch, vkr_quant_segsum_scratch(p), op, "scratch", &s));
    vkr_range psum = vkr_range_words(s, 0, psum_floats), pcount = vkr_range_words(s, vkr_storage_align_words(psum_floats), (uint64_t)blocks * p->k);
    vkr_range r1[4] = {{0}, {0}, psum, pcount};
    VKR_TRY(vkr_range_take_words(x, (uint64_t)p->n * p->d, op, "x", &r1[0]));
    VKR_TRY(vkr_range_take_words(codes, (uint64_t)(p->n - 1) * p->code_stride + p->code_offset + 1, op, "codes", &r1[1]));
    uint32_t push1[5] = {p->n, p->k, p->d, p->code_stride, p->code_offset};
    /* one invocation per column (rounded up to 8, at most 64): every invocation walks every row */
    uint32_t wg = (p->d + 7) / 8 * 8;
    vkr_kernel_desc d1 = {.shader = "quant_segsum", .binding_count = 4,
                          .access = {VKR_READ, VKR_READ, VKR_WRITE, VKR_WRITE}, .push_bytes = sizeof push1,
                          .spec_count = 1, .spec = {wg < 64 ? wg : 64}};
    VKR_TRY(vkr_sequence_dispatch_grid(seq, &d1, r1, push1, blocks));
    vkr_range r2[5] = {psum, pcount, psum, {0}, {0}};
    if (p->mode == VKR_SEGSUM_ACCUM) VKR_TRY(vkr_range_take_words(scale, 1, op, "scale", &r2[2]));
    else r2[2] = vkr_range_words(psum, 0, 1); /* unread in MEAN mode; any bound range */
    VKR_TRY(vkr_range_take_words(out, ((uint64_t)p->out_base + p->k) * p->d, op, "out", &r2[3]));
    VKR_TRY(vkr_range_take_words(counts, p->k, op, "counts", &r2[4]));
    struct {
        uint32_t blocks, k, d, mode, out_base;
        float alpha;
    } push2 = {blocks, p->k, p->d, (uint32_t)p->mode, p->out_base, p->alpha};
    vkr_kernel_desc d2 = {.shader = "quant_segsum_reduce", .binding_count = 5,
                          .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ_WRITE, VKR_WRITE},
                          .push_bytes = sizeof push2};
    return vkr_sequence_dispatch_grid(seq, &d2, r2, &push2, q_div_up((uint64_t)p->k * p->d, 64));
}

/* ---- residual quantization ------------------------------------------------------------------- */

vkr_status vkr_rq_check(const vkr_rq_params* p, const char* what) {
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", what);
    if (p->rows == 0 || p->levels == 0 || p->codes == 0 || p->dim == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: rows, levels, codes and dim must be >= 1 (got %u, %u, %u, %u)",
                        what, p->rows, p->levels, p->codes, p->dim);
    if ((uint64_t)p->rows * p->dim * p->levels > UINT32_MAX / 2 ||
        (uint64_t)p->levels * p->codes * p->dim > UINT32_MAX || p->codes > INT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: shape rows=%u levels=%u codes=%u dim=%u is too large", what,
                        p->rows, p->levels, p->codes, p->dim);
    return VKR_OK;
}

vkr_status vkr_ref_rq_encode(const vkr_rq_params* p, const float* z, const float* c, int32_t* codes) {
    VKR_TRY(vkr_rq_check(p, "rq_encode"));
    if (!z || !c || !codes) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rq_encode: z, c and codes must not be NULL");
    size_t n = (size_t)p->rows * p->dim;
    float* r = malloc(2 * n * sizeof *r);
    if (!r) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rq_encode: out of host memory");
    vkr_status s = VKR_OK;
    for (uint32_t l = 0; l < p->levels && s == VKR_OK; l++) {
        vkr_quant_assign_params a = {p->rows, p->codes, p->dim, l * p->codes, p->levels, l};
        s = vkr_ref_quant_assign(&a, l == 0 ? z : r + ((l - 1) % 2) * n, c, codes, NULL, r + (l % 2) * n);
    }
    free(r);
    return s;
}

uint64_t vkr_rq_encode_scratch(const vkr_rq_params* p) {
    return vkr_storage_align_words((uint64_t)p->levels * p->codes) + 2 * vkr_storage_align_words((uint64_t)p->rows * p->dim) + p->rows;
}

vkr_status vkr_gpu_rq_encode(vkr_sequence* seq, const vkr_rq_params* p, vkr_range z, vkr_range c, vkr_range scratch,
                             vkr_range codes) {
    VKR_TRY(vkr_rq_check(p, "rq_encode"));
    vkr_range s;
    VKR_TRY(vkr_range_take_words(scratch, vkr_rq_encode_scratch(p), "rq_encode", "scratch", &s));
    uint64_t nk = vkr_storage_align_words((uint64_t)p->levels * p->codes), nd = vkr_storage_align_words((uint64_t)p->rows * p->dim);
    vkr_range norms = vkr_range_words(s, 0, (uint64_t)p->levels * p->codes);
    vkr_range buf[2] = {vkr_range_words(s, nk, (uint64_t)p->rows * p->dim), vkr_range_words(s, nk + nd, (uint64_t)p->rows * p->dim)};
    vkr_range dist = vkr_range_words(s, nk + 2 * nd, p->rows);
    VKR_TRY(vkr_gpu_quant_norms(seq, p->levels * p->codes, p->dim, c, norms));
    for (uint32_t l = 0; l < p->levels; l++) {
        vkr_quant_assign_params a = {p->rows, p->codes, p->dim, l * p->codes, p->levels, l};
        vkr_range res = l + 1 < p->levels ? buf[l % 2] : (vkr_range){0};
        VKR_TRY(vkr_gpu_quant_assign(seq, &a, l == 0 ? z : buf[(l - 1) % 2], c, norms, codes, dist, res));
    }
    return VKR_OK;
}

/* The codeword of level l chosen for row i, or NULL for an out-of-range code. */
static const float* q_codeword(const vkr_rq_params* p, const float* c, const int32_t* codes, uint32_t i, uint32_t l) {
    int32_t k = codes[(size_t)i * p->levels + l];
    if (k < 0 || (uint32_t)k >= p->codes) return NULL;
    return c + ((size_t)l * p->codes + (uint32_t)k) * p->dim;
}

vkr_status vkr_ref_rq_lookup(const vkr_rq_params* p, const float* z, const float* c, const int32_t* codes, float* zq) {
    VKR_TRY(vkr_rq_check(p, "rq_lookup"));
    if (!z || !c || !codes || !zq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rq_lookup: NULL argument");
    for (uint32_t i = 0; i < p->rows; i++)
        for (uint32_t k = 0; k < p->dim; k++) {
            float q = 0;
            for (uint32_t l = 0; l < p->levels; l++) {
                const float* cw = q_codeword(p, c, codes, i, l);
                q += cw ? cw[k] : 0.0f;
            }
            zq[(size_t)i * p->dim + k] = q;
        }
    return VKR_OK;
}

/* r_{l+1}[i][k] for every level, in double: out[l] (levels values). */
static void q_residuals(const vkr_rq_params* p, const float* z, const float* c, const int32_t* codes, uint32_t i,
                        uint32_t k, double* out) {
    double r = z[(size_t)i * p->dim + k];
    for (uint32_t l = 0; l < p->levels; l++) {
        const float* cw = q_codeword(p, c, codes, i, l);
        r -= cw ? cw[k] : 0.0;
        out[l] = r;
    }
}

vkr_status vkr_ref_rq_loss(const vkr_rq_params* p, const float* z, const float* c, const int32_t* codes,
                           float* loss) {
    VKR_TRY(vkr_rq_check(p, "rq_loss"));
    if (!z || !c || !codes || !loss) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rq_loss: NULL argument");
    double* r = malloc(p->levels * sizeof *r);
    if (!r) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rq_loss: out of host memory");
    double s = 0;
    for (uint32_t i = 0; i < p->rows; i++)
        for (uint32_t k = 0; k < p->dim; k++) {
            q_residuals(p, z, c, codes, i, k, r);
            for (uint32_t l = 0; l < p->levels; l++) s += r[l] * r[l];
        }
    free(r);
    *loss = (float)(s * (1.0 + p->beta) / ((double)p->rows * p->dim));
    return VKR_OK;
}

vkr_status vkr_ref_rq_loss_bwd(const vkr_rq_params* p, const float* z, const float* c, const int32_t* codes, float g,
                               float* dz, float* dc) {
    VKR_TRY(vkr_rq_check(p, "rq_loss_bwd"));
    if (!z || !c || !codes) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rq_loss_bwd: NULL argument");
    double* r = malloc(p->levels * sizeof *r);
    if (!r) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rq_loss_bwd: out of host memory");
    double norm = 2.0 * g / ((double)p->rows * p->dim);
    for (uint32_t i = 0; i < p->rows; i++)
        for (uint32_t k = 0; k < p->dim; k++) {
            q_residuals(p, z, c, codes, i, k, r);
            double sum = 0;
            for (uint32_t l = 0; l < p->levels; l++) {
                sum += r[l];
                int32_t code = codes[(size_t)i * p->levels + l];
                if (dc && code >= 0 && (uint32_t)code < p->codes)
                    dc[((size_t)l * p->codes + (uint32_t)code) * p->dim + k] -= (float)(norm * r[l]);
            }
            if (dz) dz[(size_t)i * p->dim + k] += (float)(norm * p->beta * sum);
        }
    free(r);
    return VKR_OK;
}


/* Records the residual kernel: mode 0 quantized vectors into out, mode 1 residuals + row sums. */
static vkr_status q_residual_kernel(vkr_sequence* seq, const vkr_rq_params* p, uint32_t mode, vkr_range z, vkr_range c,
                                    vkr_range codes, vkr_range out, vkr_range rowsq) {
    uint64_t lstride = vkr_storage_align_words((uint64_t)p->rows * p->dim);
    uint64_t out_floats = mode == 0 ? (uint64_t)p->rows * p->dim : (p->levels - 1) * lstride + (uint64_t)p->rows * p->dim;
    vkr_range r[5];
    VKR_TRY(vkr_range_take_words(z, (uint64_t)p->rows * p->dim, "rq", "z", &r[0]));
    VKR_TRY(vkr_range_take_words(c, (uint64_t)p->levels * p->codes * p->dim, "rq", "codebooks", &r[1]));
    VKR_TRY(vkr_range_take_words(codes, (uint64_t)p->rows * p->levels, "rq", "codes", &r[2]));
    VKR_TRY(vkr_range_take_words(out, out_floats, "rq", "out", &r[3]));
    VKR_TRY(vkr_range_take_words(rowsq, p->rows, "rq", "rowsq", &r[4]));
    uint32_t push[6] = {p->rows, p->levels, p->codes, p->dim, mode, (uint32_t)lstride};
    vkr_kernel_desc d = {.shader = "quant_rq_residuals", .binding_count = 5,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_WRITE, VKR_WRITE}, .push_bytes = sizeof push};
    return vkr_sequence_dispatch_grid(seq, &d, r, push, q_div_up(p->rows, Q_ROWS));
}

uint64_t vkr_rq_lookup_scratch(const vkr_rq_params* p) { return p->rows; }

vkr_status vkr_gpu_rq_lookup(vkr_sequence* seq, const vkr_rq_params* p, vkr_range z, vkr_range c, vkr_range codes,
                             vkr_range scratch, vkr_range zq) {
    VKR_TRY(vkr_rq_check(p, "rq_lookup"));
    return q_residual_kernel(seq, p, 0, z, c, codes, zq, scratch);
}

/* Layout of the loss scratch, in floats: the residuals r_1..r_L (one 256-byte aligned block per
 * level), their squared row sums, the grouped sums' scratch, then the code counts. */
typedef struct q_loss_layout {
    uint64_t lstride, rowsq, segsum, counts, total;
} q_loss_layout;

static q_loss_layout q_loss_scratch_layout(const vkr_rq_params* p) {
    vkr_quant_segsum_params sp = {.n = p->rows, .k = p->codes, .d = p->dim, .code_stride = p->levels};
    q_loss_layout o = {.lstride = vkr_storage_align_words((uint64_t)p->rows * p->dim)};
    o.rowsq = (uint64_t)p->levels * o.lstride;
    o.segsum = o.rowsq + vkr_storage_align_words(p->rows);
    o.counts = o.segsum + vkr_storage_align_words(vkr_quant_segsum_scratch(&sp));
    o.total = o.counts + p->codes;
    return o;
}

uint64_t vkr_rq_loss_scratch(const vkr_rq_params* p) { return q_loss_scratch_layout(p).total; }

vkr_status vkr_gpu_rq_loss(vkr_sequence* seq, const vkr_rq_params* p, vkr_range z, vkr_range c, vkr_range codes,
                           vkr_range scratch, vkr_range loss) {
    VKR_TRY(vkr_rq_check(p, "rq_loss"));
    q_loss_layout o = q_loss_scratch_layout(p);
    vkr_range s;
    VKR_TRY(vkr_range_take_words(scratch, o.total, "rq_loss", "scratch", &s));
    VKR_TRY(q_residual_kernel(seq, p, 1, z, c, codes, vkr_range_words(s, 0, o.rowsq), vkr_range_words(s, o.rowsq, p->rows)));
    vkr_sum_params sp = {.n = p->rows, .scale = (1.0f + p->beta) / ((float)p->rows * p->dim)};
    return vkr_gpu_sum_scalar(seq, &sp, vkr_range_words(s, o.rowsq, p->rows), loss);
}

vkr_status vkr_gpu_rq_loss_bwd(vkr_sequence* seq, const vkr_rq_params* p, vkr_range codes, vkr_range scratch,
                               vkr_range g, vkr_range dz, vkr_range dc) {
    VKR_TRY(vkr_rq_check(p, "rq_loss_bwd"));
    q_loss_layout o = q_loss_scratch_layout(p);
    vkr_range s;
    VKR_TRY(vkr_range_take_words(scratch, o.total, "rq_loss", "scratch", &s));
    uint64_t nd = (uint64_t)p->rows * p->dim;
    float norm = 2.0f / ((float)p->rows * p->dim);
    if (dz.buffer) {
        vkr_range r[3];
        VKR_TRY(vkr_range_take_words(vkr_range_words(s, 0, o.rowsq), o.rowsq, "rq_loss", "residuals", &r[0]));
        VKR_TRY(vkr_range_take_words(g, 1, "rq_loss", "loss_grad", &r[1]));
        VKR_TRY(vkr_range_take_words(dz, nd, "rq_loss", "dz", &r[2]));
        struct {
            uint32_t count, levels, lstride;
            float alpha;
        } push = {(uint32_t)nd, p->levels, (uint32_t)o.lstride, norm * p->beta};
        vkr_kernel_desc d = {.shader = "quant_rq_grad_z", .binding_count = 3,
                             .access = {VKR_READ, VKR_READ, VKR_READ_WRITE}, .push_bytes = sizeof push};
        VKR_TRY(vkr_sequence_dispatch_grid(seq, &d, r, &push, q_div_up(nd, 256)));
    }
    if (dc.buffer) {
        vkr_quant_segsum_params sp = {.n = p->rows, .k = p->codes, .d = p->dim, .code_stride = p->levels,
                                      .mode = VKR_SEGSUM_ACCUM, .alpha = -norm};
        vkr_range segsum = vkr_range_words(s, o.segsum, vkr_quant_segsum_scratch(&sp));
        vkr_range counts = vkr_range_words(s, o.counts, p->codes);
        for (uint32_t l = 0; l < p->levels; l++) {
            sp.code_offset = l;
            sp.out_base = l * p->codes;
            VKR_TRY(vkr_gpu_quant_segsum(seq, &sp, vkr_range_words(s, l * o.lstride, nd), codes, segsum, g, dc, counts));
        }
    }
    return VKR_OK;
}
