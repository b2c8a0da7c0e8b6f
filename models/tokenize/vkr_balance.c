/* Balanced semantic-ID assignment: per-prefix Sinkhorn-Knopp with capacity rounding, and spreading. */
#include "vkr_balance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_quantize.h"

/* One (item, code) pair of a group's plan: its value and its item-major index. Sorting copies of the
 * values keeps the comparison free of global state (qsort has no user pointer). */
typedef struct balance_pair {
    float value;
    uint32_t index;
} balance_pair;

static int cmp_pair(const void* a, const void* b) {
    const balance_pair *x = a, *y = b; /* descending value, then ascending index */
    if (x->value != y->value) return x->value > y->value ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sinkhorn-Knopp on the g x k plan (in: exp of the scaled negative distances): rows sum to 1/g,
 * codes to 1/k. */
static void sinkhorn(float* plan, uint32_t g, uint32_t k, double* colsum) {
    for (int it = 0; it < VKR_BALANCE_SINKHORN_ITERS; it++) {
        memset(colsum, 0, k * sizeof *colsum);
        for (size_t e = 0; e < (size_t)g * k; e++) colsum[e % k] += plan[e];
        for (size_t e = 0; e < (size_t)g * k; e++) plan[e] = (float)(plan[e] / (colsum[e % k] * k));
        for (uint32_t i = 0; i < g; i++) {
            double row = 0;
            for (uint32_t c = 0; c < k; c++) row += plan[(size_t)i * k + c];
            for (uint32_t c = 0; c < k; c++) plan[(size_t)i * k + c] = (float)(plan[(size_t)i * k + c] / (row * g));
        }
    }
}

/* Balances one prefix group (items[0..g)); returns how many items changed code. */
static uint32_t balance_group(const float* resid, const float* cb, uint32_t dim, uint32_t k, uint32_t levels,
                              const uint32_t* items, uint32_t g, int32_t* codes, float* plan, balance_pair* pairs,
                              uint32_t* load, double* colsum) {
    uint32_t cap = (g + k - 1) / k, worst = 0;
    memset(load, 0, k * sizeof *load);
    for (uint32_t i = 0; i < g; i++) {
        uint32_t c = (uint32_t)codes[(size_t)items[i] * levels + levels - 1];
        if (++load[c] > worst) worst = load[c];
    }
    if (worst <= cap) return 0;
    double lo = INFINITY, hi = -INFINITY;
    for (uint32_t i = 0; i < g; i++)
        for (uint32_t c = 0; c < k; c++) {
            double d = 0;
            for (uint32_t e = 0; e < dim; e++) {
                double v = (double)resid[(size_t)items[i] * dim + e] - cb[(size_t)c * dim + e];
                d += v * v;
            }
            plan[(size_t)i * k + c] = (float)d;
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
    if (g > k) { /* enough items to fill every code: uniform marginals make sense */
        double mid = (hi + lo) / 2, amp = hi - mid + 1e-5; /* LC-Rec's centering: distances in [-1, 1] */
        for (size_t e = 0; e < (size_t)g * k; e++) plan[e] = (float)exp(-(plan[e] - mid) / amp / VKR_BALANCE_EPSILON);
        sinkhorn(plan, g, k, colsum);
    } else { /* fewer items than codes: uniform code marginals would flatten every row; rank by distance */
        for (size_t e = 0; e < (size_t)g * k; e++) plan[e] = -plan[e];
    }
    for (uint32_t e = 0; e < g * k; e++) pairs[e] = (balance_pair){plan[e], e};
    qsort(pairs, (size_t)g * k, sizeof *pairs, cmp_pair);
    memset(load, 0, k * sizeof *load);
    uint32_t moved = 0, placed = 0;
    for (size_t p = 0; p < (size_t)g * k && placed < g; p++) {
        uint32_t i = pairs[p].index / k, c = pairs[p].index % k;
        int32_t* code = &codes[(size_t)items[i] * levels + levels - 1];
        if (plan[pairs[p].index] == -INFINITY || load[c] >= cap) continue;
        moved += *code != (int32_t)c;
        *code = (int32_t)c;
        load[c]++;
        placed++;
        for (uint32_t o = 0; o < k; o++) plan[(size_t)i * k + o] = -INFINITY; /* placed: its other pairs are void */
    }
    return moved;
}

/* The end of the prefix group that starts at order[a] (items sorted by prefix). */
static uint32_t group_end(const int32_t* codes, uint32_t levels, const uint32_t* order, uint32_t n, uint32_t a) {
    uint32_t b = a + 1;
    while (b < n && memcmp(codes + (size_t)order[a] * levels, codes + (size_t)order[b] * levels,
                           (levels - 1) * sizeof *codes) == 0)
        b++;
    return b;
}

vkr_status vkr_balance_last_level(const float* resid, const float* codebook, uint32_t n, uint32_t dim, uint32_t k,
                                  uint32_t levels, int32_t* codes, uint32_t* out_moved) {
    if (out_moved) *out_moved = 0;
    if (!resid || !codebook || !codes || n == 0 || dim == 0 || k == 0 || levels == 0)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_balance_last_level: empty or NULL input");
    uint32_t* order = malloc((size_t)n * sizeof *order);
    uint32_t* load = malloc((size_t)k * sizeof *load);
    double* colsum = malloc((size_t)k * sizeof *colsum);
    uint32_t widest = 0;
    if (order && load && colsum) vkr_semantic_codes_order(codes, n, levels, order); /* prefix groups contiguous */
    for (uint32_t a = 0, b; order && load && colsum && a < n; a = b) {
        b = group_end(codes, levels, order, n, a);
        widest = b - a > widest ? b - a : widest;
    }
    bool indexable = (uint64_t)widest * k <= UINT32_MAX; /* pair indices are 32-bit */
    float* plan = indexable ? malloc((size_t)widest * k * sizeof *plan) : NULL;
    balance_pair* pairs = indexable ? malloc((size_t)widest * k * sizeof *pairs) : NULL;
    vkr_status s = VKR_OK;
    if (!order || !load || !colsum || !plan || !pairs)
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "balance: no host memory for %u items (%u x %u plans)", n, widest, k);
    uint32_t moved = 0;
    for (uint32_t a = 0, b; a < n && s == VKR_OK; a = b) {
        b = group_end(codes, levels, order, n, a);
        moved += balance_group(resid, codebook, dim, k, levels, order + a, b - a, codes, plan, pairs, load, colsum);
    }
    if (out_moved) *out_moved = moved;
    free(order);
    free(load);
    free(colsum);
    free(plan);
    free(pairs);
    return s;
}

void vkr_balance_spread(uint32_t m, uint32_t levels, uint32_t k, int32_t* codes) {
    for (uint32_t j = 0; j < m; j++) {
        double x = (j + 0.5) / m; /* base-k digits of x, most significant first */
        for (uint32_t l = 0; l < levels; l++) {
            x *= k;
            uint32_t c = (uint32_t)x < k ? (uint32_t)x : k - 1;
            codes[(size_t)j * levels + l] = (int32_t)c;
            x -= c;
        }
    }
}
