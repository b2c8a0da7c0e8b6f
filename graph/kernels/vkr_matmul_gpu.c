/* GPU recorders for matmul and pairwise distances: range checks, kernel variant and tile choice,
 * and dispatches split to respect maxComputeWorkGroupCount. */
#include <string.h>

#include "vkr_matmul.h"

/* FLAGS specialization bits, mirrored in shaders/matmul_common.glsl. */
enum {
    VKR_MM_TRANS_A = 1u,
    VKR_MM_TRANS_B = 2u,
    VKR_MM_ACCUMULATE = 4u,
    VKR_MM_BIAS = 8u,
    VKR_MM_VEC_A = 16u,
    VKR_MM_VEC_B = 32u,
    VKR_MM_VEC_C = 64u,
    VKR_MM_K_MUL4 = 128u,
    VKR_MM_BIAS_GRAD = 256u,
};

/* Push constants of the matmul kernels (matmul_common.glsl). */
typedef struct vkr_mm_push {
    uint32_t M, N, K;
    uint32_t lda, ldb, ldc;
    uint32_t stride_a, stride_b, stride_c;
    float alpha;
    uint32_t group_x0, group_y0, batch0;
} vkr_mm_push;

/* Tile configuration of one launch: spec constants plus the C block one workgroup covers. */
typedef struct vkr_mm_config {
    const char* shader;   /* embedded kernel name */
    uint32_t spec[8];     /* spec constants 0.. (0: workgroup size, 1: FLAGS, then per kernel) */
    uint32_t spec_count;  /* number used */
    uint32_t rows, cols;  /* C block per workgroup */
} vkr_mm_config;

/* Checks that `r` holds `bytes` and returns the exactly-sized range to bind. */
static vkr_status vkr_mm_range(vkr_range r, uint64_t bytes, const char* what, const char* name, vkr_range* out) {
    VKR_TRY(vkr_range_check(r, bytes, what, name));
    /* Round fp16 spans up to whole 32-bit words where the buffer allows. */
    uint64_t bind = vkr_align_up(bytes, 4), avail = vkr_range_bytes(r);
    *out = (vkr_range){r.buffer, r.offset, bind <= avail ? bind : bytes};
    return VKR_OK;
}

/* Elements a batched operand spans: (batch - 1) * stride + rows * cols. */
static uint64_t vkr_mm_span(uint32_t batch, uint64_t stride, uint64_t rows, uint64_t cols) {
    return (uint64_t)(batch - 1) * stride + rows * cols;
}

static vkr_matmul_variant vkr_mm_pick_variant(const vkr_device_info* info, const vkr_matmul_params* p) {
    if (p->variant != VKR_MATMUL_AUTO) return p->variant;
    /* CPU drivers run a workgroup as SIMD lanes of one thread: shared memory and barriers cost more
     * than they save there, while subgroup broadcasts are register shuffles. */
    return info->type == VKR_DEVICE_CPU ? VKR_MATMUL_SUBGROUP : VKR_MATMUL_TILED;
}

const char* vkr_matmul_variant_name(const vkr_device* device, const vkr_matmul_params* p) {
    if (!device || !p) return "?";
    return vkr_mm_pick_variant(vkr_device_get_info(device), p) == VKR_MATMUL_SUBGROUP ? "subgroup" : "tiled";
}

static uint32_t vkr_ceil_div(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a + b - 1) / b); }

/* Subgroup variant: a subgroup covers TM rows x SG*TN4*4 columns. Measured on lavapipe (AVX2,
 * subgroup 8): 16 rows and 16 columns per lane with two subgroups per workgroup is the sweet spot
 * at 1024^3; narrow outputs use fewer columns per lane so lanes are not wasted. */
static void vkr_mm_config_subgroup(const vkr_device_info* info, const vkr_matmul_params* p, uint32_t flags,
                                   vkr_mm_config* cfg) {
    uint32_t sg = 8;
    while (sg > 1 && (info->subgroup_size % sg != 0)) sg >>= 1;
    /* Unaligned B or C rows take scalar loads and stores, each of which lavapipe expands into a
     * per-lane loop: a smaller block keeps that kernel's LLVM compile time to about a second. */
    bool aligned = (flags & VKR_MM_VEC_B) && (flags & VKR_MM_VEC_C);
    uint32_t max_tn4 = aligned ? 4 : 2, max_rows = aligned ? 16 : 8;
    uint32_t tn4 = vkr_ceil_div(p->N, sg * 4);
    if (tn4 > max_tn4) tn4 = max_tn4;
    uint32_t tm = sg * vkr_ceil_div(p->M < max_rows ? p->M : max_rows, sg);
    if (tm > 4 * sg) tm = 4 * sg; /* each lane holds at most 4 rows (one vec4) in the K tail */
    uint32_t sgx = 1, wg = 2 * sg;
    /* CPU drivers run exactly their reported subgroup width; GPUs may pick another per pipeline. */
    uint32_t shuffle = !(info->type == VKR_DEVICE_CPU && info->subgroup_size == sg);
    *cfg = (vkr_mm_config){.shader = p->dtype == VKR_MATMUL_F16 ? "matmul_sg_f16" : "matmul_sg",
                           .spec = {wg, flags, tm, tn4, sgx, sg, shuffle},
                           .spec_count = 7,
                           .rows = tm * (wg / sg / sgx),
                           .cols = sgx * sg * tn4 * 4};
}

/* Tiled variant: the largest of a few classic shapes that fits the device's limits and is not
 * mostly wasted on a small output. */
static vkr_status vkr_mm_config_tiled(const vkr_device_info* info, const vkr_matmul_params* p, uint32_t flags,
                                      vkr_mm_config* cfg) {
    static const uint32_t shapes[][5] = {/* BM, BN, BK, TM, TN */
                                         {128, 128, 16, 8, 8},
                                         {64, 64, 16, 4, 4},
                                         {64, 32, 16, 4, 4},
                                         {32, 32, 8, 4, 4}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        uint32_t bm = shapes[s][0], bn = shapes[s][1], bk = shapes[s][2], tm = shapes[s][3], tn = shapes[s][4];
        uint32_t wg = (bm / tm) * (bn / tn);
        uint64_t shared = (uint64_t)bk * (bm + 1 + bn) * sizeof(float);
        bool last = s + 1 == sizeof shapes / sizeof shapes[0];
        if (wg > info->max_workgroup_invocations || shared > info->shared_memory_bytes) continue;
        if (!last && (p->M < bm || p->N < bn) && bm > 64) continue;
        *cfg = (vkr_mm_config){.shader = p->dtype == VKR_MATMUL_F16 ? "matmul_tiled_f16" : "matmul_tiled",
                               .spec = {wg, flags, bm, bn, bk, tm, tn},
                               .spec_count = 7,
                               .rows = bm,
                               .cols = bn};
        return VKR_OK;
    }
    return vkr_fail(VKR_ERR_UNSUPPORTED, "vkr_gpu_matmul: device '%s' has too little shared memory (%u bytes) or "
                    "too few invocations per workgroup (%u) for the tiled kernel", info->name,
                    info->shared_memory_bytes, info->max_workgroup_invocations);
}

/* Records a (gx, gy, gz) grid as as many dispatches as maxComputeWorkGroupCount requires; the
 * kernel adds the per-dispatch group offsets written at push offsets x0/y0/z0 (in uint32 words). */
static vkr_status vkr_dispatch_split(vkr_sequence* seq, vkr_kernel* k, const vkr_range* ranges, uint32_t n,
                                     uint32_t* push, uint32_t push_bytes, uint32_t x0, uint32_t y0, int z0,
                                     uint32_t gx, uint32_t gy, uint32_t gz) {
    const vkr_device_info* info = vkr_device_get_info(vkr_sequence_device(seq));
    const uint32_t* lim = info->max_workgroup_count;
    for (uint32_t z = 0; z < gz; z += lim[2])
        for (uint32_t y = 0; y < gy; y += lim[1])
            for (uint32_t x = 0; x < gx; x += lim[0]) {
                push[x0] = x;
                push[y0] = y;
                if (z0 >= 0) push[z0] = z;
                uint32_t cx = gx - x < lim[0] ? gx - x : lim[0];
                uint32_t cy = gy - y < lim[1] ? gy - y : lim[1];
                uint32_t cz = gz - z < lim[2] ? gz - z : lim[2];
                VKR_TRY(vkr_sequence_dispatch(seq, k, ranges, n, push, push_bytes, cx, cy, cz));
            }
    return VKR_OK;
}

vkr_status vkr_gpu_matmul(vkr_sequence* seq, const vkr_matmul_params* p, vkr_range a, vkr_range b, vkr_range bias,
                          vkr_range c) {
    const char* what = "vkr_gpu_matmul";
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: sequence is NULL", what);
    VKR_TRY(vkr_matmul_validate(p, what));
    vkr_device* dev = vkr_sequence_device(seq);
    const vkr_device_info* info = vkr_device_get_info(dev);
    uint64_t esize = p->dtype == VKR_MATMUL_F16 ? 2 : 4;
    if (p->dtype == VKR_MATMUL_F16 && !info->storage16)
        return vkr_fail(VKR_ERR_UNSUPPORTED, "%s: dtype fp16 needs 16-bit storage buffers, which '%s' lacks", what,
                        info->name);
    uint64_t na = vkr_mm_span(p->batch, p->stride_a, p->M, p->K);
    uint64_t nb = vkr_mm_span(p->batch, p->stride_b, p->K, p->N);
    uint64_t nc = vkr_mm_span(p->batch, p->stride_c, p->M, p->N);
    /* Kernels index with 32-bit element offsets. */
    if (na > UINT32_MAX || nb > UINT32_MAX || nc > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: an operand spans more than 2^32 elements", what);
    vkr_range ranges[5];
    VKR_TRY(vkr_mm_range(a, na * esize, what, "a", &ranges[0]));
    VKR_TRY(vkr_mm_range(b, nb * esize, what, "b", &ranges[1]));
    if (p->has_bias) VKR_TRY(vkr_mm_range(bias, (uint64_t)p->N * 4, what, "bias", &ranges[2]));
    else ranges[2] = ranges[0]; /* unused by the kernel; any readable range keeps the binding valid */
    VKR_TRY(vkr_mm_range(c, nc * 4, what, "c", &ranges[3]));
    /* Binding 4 is the bias gradient; otherwise it repeats C (validation counts a writable binding
     * as written, so it must not alias anything another dispatch reads). */
    if (p->bias_grad) VKR_TRY(vkr_mm_range(bias, (uint64_t)p->N * 4, what, "bias (gradient)", &ranges[4]));
    else ranges[4] = ranges[3];

    uint32_t lda = p->trans_a ? p->M : p->K, ldb = p->trans_b ? p->K : p->N;
    uint32_t flags = (p->trans_a ? VKR_MM_TRANS_A : 0) | (p->trans_b ? VKR_MM_TRANS_B : 0) |
                     (p->accumulate ? VKR_MM_ACCUMULATE : 0) | (p->has_bias ? VKR_MM_BIAS : 0) |
                     (p->bias_grad ? VKR_MM_BIAS_GRAD : 0);
    /* vec4 views need every row start of the operand at a multiple of 4 elements. */
    if (!p->trans_a && lda % 4 == 0 && p->stride_a % 4 == 0) flags |= VKR_MM_VEC_A;
    if (ldb % 4 == 0 && p->stride_b % 4 == 0) flags |= VKR_MM_VEC_B;
    if (p->N % 4 == 0 && p->stride_c % 4 == 0) flags |= VKR_MM_VEC_C;
    if (p->K % 4 == 0) flags |= VKR_MM_K_MUL4;

    vkr_mm_config cfg = {0};
    if (vkr_mm_pick_variant(info, p) == VKR_MATMUL_SUBGROUP) vkr_mm_config_subgroup(info, p, flags, &cfg);
    else VKR_TRY(vkr_mm_config_tiled(info, p, flags, &cfg));
    const vkr_access c_access = p->accumulate ? VKR_READ_WRITE : VKR_WRITE;
    vkr_kernel_desc desc = {.shader = cfg.shader,
                            .binding_count = 5,
                            .access = {VKR_READ, VKR_READ, VKR_READ, c_access, p->bias_grad ? VKR_READ_WRITE : c_access},
                            .push_bytes = sizeof(vkr_mm_push),
                            .spec_count = cfg.spec_count};
    for (uint32_t i = 0; i < cfg.spec_count; i++) desc.spec[i] = cfg.spec[i];
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(dev, &desc, &k));

    vkr_mm_push push = {p->M, p->N, p->K, lda, ldb, p->N,
                        (uint32_t)p->stride_a, (uint32_t)p->stride_b, (uint32_t)p->stride_c, p->alpha, 0, 0, 0};
    uint32_t words[sizeof push / 4];
    _Static_assert(sizeof push == sizeof words, "push constants are 32-bit words");
    memcpy(words, &push, sizeof push);
    return vkr_dispatch_split(seq, k, ranges, 5, words, sizeof words, 10, 11, 12, vkr_ceil_div(p->N, cfg.cols),
                              vkr_ceil_div(p->M, cfg.rows), p->batch);
}

vkr_status vkr_gpu_sqdist(vkr_sequence* seq, const vkr_sqdist_params* p, vkr_range x, vkr_range y, vkr_range dist) {
    const char* what = "vkr_gpu_sqdist";
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: sequence is NULL", what);
    if (!p) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: params is NULL", what);
    if (p->n == 0 || p->m == 0 || p->d == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: n, m and d must be >= 1 (got n=%u m=%u d=%u)", what, p->n, p->m,
                        p->d);
    uint64_t nx = (uint64_t)p->n * p->d, ny = (uint64_t)p->m * p->d, nd = (uint64_t)p->n * p->m;
    if (nx > UINT32_MAX || ny > UINT32_MAX || nd > UINT32_MAX)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "%s: an operand spans more than 2^32 elements", what);
    vkr_range ranges[3];
    VKR_TRY(vkr_mm_range(x, nx * 4, what, "x", &ranges[0]));
    VKR_TRY(vkr_mm_range(y, ny * 4, what, "y", &ranges[1]));
    VKR_TRY(vkr_mm_range(dist, nd * 4, what, "dist", &ranges[2]));
    vkr_kernel_desc desc = {.shader = "sqdist", .binding_count = 3, .access = {VKR_READ, VKR_READ, VKR_WRITE},
                            .push_bytes = 20};
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(vkr_sequence_device(seq), &desc, &k));
    uint32_t push[5] = {p->n, p->m, p->d, 0, 0};
    /* A workgroup covers 32 x 32 distances (8 x 8 invocations of 4 x 4). */
    return vkr_dispatch_split(seq, k, ranges, 3, push, sizeof push, 3, 4, -1, vkr_ceil_div(p->m, 32),
                              vkr_ceil_div(p->n, 32), 1);
}
