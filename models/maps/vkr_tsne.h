/* t-SNE on the GPU (van der Maaten & Hinton 2008; van der Maaten 2014), with a CPU reference for
 * every kernel.
 *
 * Algorithm (the steps and defaults of scikit-learn's TSNE, so the two can be compared):
 *   1. kNN graph: k = min(N-1, floor(3 * perplexity) + 1) neighbours per point by GPU brute force
 *      (blocks of rows: pairwise squared distances, negated, top-k). On a CPU driver, from
 *      VKR_TSNE_KNN_HOST_MIN points, the host computes it instead (OpenBLAS X X^T by blocks, a bounded
 *      list per row, candidates' distances recomputed directly): the same cores, ~10x faster.
 *   2. Per-point binary search for the Gaussian precision beta_i = 1/(2 sigma_i^2) so that the
 *      conditional P_{j|i} over the k neighbours has entropy log(perplexity) (GPU, one invocation
 *      per point; squared distances; at most 100 steps, tolerance 1e-5 nats).
 *   3. Symmetrized sparse P = (P_{j|i} + P_{i|j}) / (2N) in CSR form (host); it sums to 1.
 *      The run then renumbers the points in breadth-first order of P's graph (host), so that the
 *      device's gathers of neighbours' y stay in cache; the caller sees its own order throughout.
 *   4. Gradient descent on KL(P || Q), Q_ij = q_ij / Z, q_ij = 1 / (1 + |y_i - y_j|^2):
 *        dKL/dy_i = 4 [ a * sum_j P_ij q_ij (y_i - y_j) - (1/Z) sum_j q_ij^2 (y_i - y_j) ]
 *      with early exaggeration a (12 for the first 250 iterations, then 1), momentum 0.5 then 0.8,
 *      per-coordinate gains (+0.2 when the gradient changes sign against the update, x0.8 otherwise,
 *      floor 0.01); update and gains restart when the exaggeration ends, as in scikit-learn.
 *      On a CPU driver the attractive sum runs on the host (vkr_tsne_attract_host, through the
 *      buffers' coherent mappings) between submissions of one iteration each, and from
 *      VKR_TSNE_OVERLAP_MIN entries of P while the device computes the repulsion.
 *      The learning rate "auto" is N/12 in the convention of bhtsne/openTSNE (gradient without the
 *      factor 4), i.e. max(N / 48, 50) on the true gradient used here (scikit-learn's "auto").
 *   5. Initialization: PCA (default; the top two principal components scaled so that the first has
 *      standard deviation 1e-4) or Gaussian noise of standard deviation 1e-4; both seeded.
 * Repulsion (the sum over all pairs) is computed either
 *   - exactly (VKR_TSNE_EXACT): a tiled O(N^2) shader, several points per invocation (16 on a CPU
 *     driver, 2 on a GPU) so each point read from a tile feeds several pair evaluations, or
 *   - by FFT-accelerated interpolation (VKR_TSNE_FFT, Linderman et al. 2019, "FIt-SNE"): the
 *     bounding square of Y is cut into nb x nb boxes with 3 x 3 equispaced interpolation nodes each;
 *     per box, the point charges (1, y_x, y_y, |y|^2) are spread to its nodes with Lagrange weights;
 *     the node potentials are the convolution of those charges with the kernel q^2 over the uniform
 *     node grid (circulant embedding in an L x L grid, L = 2^m >= 2 * 3 nb, two complex 2-D FFTs
 *     carrying two real channels each, since the kernel's transform is real), interpolated back to
 *     the points. The 1-D FFTs run in shared memory on a GPU and one line per invocation on a CPU
 *     driver (grids up to VKR_TSNE_FFT_MAX_GRID_CPU), where a line's butterflies run as SIMD vectors
 *     in registers between few passes through memory (every memory access is a scalar per lane
 *     there). They read and write only the node rows and columns that hold data, and on a CPU
 *     driver each column of the charges goes forward, times the kernel and back in one pass.
 *     O(N + L^2 log L) per iteration. nb follows the spread of Y (boxes at most one unit
 *     wide while L <= the cap: VKR_TSNE_FFT_MAX_GRID on a GPU, VKR_TSNE_FFT_MAX_GRID_CPU on a CPU
 *     driver, where the FFT dominates; on lavapipe at N = 10,000 the 512 cap gives KL 2.776 in 37 s,
 *     256 gives 2.813 in 20 s), re-chosen every VKR_TSNE_CHUNK iterations.
 *   VKR_TSNE_AUTO picks EXACT up to 6,144 points on a CPU driver and 32,768 on a GPU, FFT beyond.
 * The final KL divergence is exact (an O(N^2) pass for Z) when N <= VKR_TSNE_EXACT_KL_MAX and uses
 * the method's own Z otherwise.
 *
 * Data layout: X is N x D float32 row-major; Y is N x 2 float32 (x, y interleaved). The kNN graph is
 * N x k (indices int32, squared distances float32), sorted by distance, the point itself excluded.
 * The GPU kernels reached through vkr_tsne_run are also exposed one by one (vkr_gpu_tsne_*) with CPU
 * references (vkr_ref_tsne_*) so tests can compare them on awkward sizes. */
#ifndef VKR_TSNE_H
#define VKR_TSNE_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_runtime.h"

#define VKR_TSNE_CHUNK 10               /* iterations recorded per submission */
#define VKR_TSNE_OVERLAP_MIN 4000000u   /* entries of P from which a CPU driver's host attraction overlaps the repulsion */
#define VKR_TSNE_EXACT_KL_MAX 20000     /* exact final KL up to this many points */
#define VKR_TSNE_FFT_MIN_GRID 64        /* smallest FFT grid side */
#define VKR_TSNE_FFT_MAX_GRID 1024      /* largest FFT grid side (the FFT runs in shared memory) */
#define VKR_TSNE_FFT_MAX_GRID_CPU 512   /* default cap on a CPU driver, where the FFT dominates */
#define VKR_TSNE_INTERP_NODES 3         /* interpolation nodes per box and dimension */
#define VKR_TSNE_KNN_HOST_MIN 512       /* fewest points for the host kNN on a CPU driver */

/* How repulsive forces are computed. */
typedef enum vkr_tsne_method {
    VKR_TSNE_AUTO = 0, /* EXACT for small N, FFT for large N (see the contract above) */
    VKR_TSNE_EXACT,    /* tiled O(N^2) shader */
    VKR_TSNE_FFT       /* FFT-accelerated interpolation, O(N) */
} vkr_tsne_method;

/* Initial layout. */
typedef enum vkr_tsne_init {
    VKR_TSNE_INIT_PCA = 0, /* top two principal components, first scaled to std 1e-4 */
    VKR_TSNE_INIT_RANDOM   /* seeded Gaussian, std 1e-4 */
} vkr_tsne_init;

/* Where the attractive term is computed. */
typedef enum vkr_tsne_attraction {
    VKR_TSNE_ATTRACT_AUTO = 0,     /* the host on CPU drivers (overlapping from VKR_TSNE_OVERLAP_MIN entries of
                                      P), the device elsewhere */
    VKR_TSNE_ATTRACT_DEVICE,       /* the tsne_attract kernel, in the recorded chunks */
    VKR_TSNE_ATTRACT_HOST,         /* the host, between one-iteration submissions (needs mapped buffers) */
    VKR_TSNE_ATTRACT_HOST_OVERLAP, /* the host, while the device computes the repulsion (likewise) */
} vkr_tsne_attraction;

/* Called every `callback_every` iterations with the current layout (N x 2, host memory); returning
 * false stops the run there (the layout so far is the result; the report's `iterations` says where). */
typedef bool (*vkr_tsne_callback)(void* user, uint32_t iteration, const float* y, uint32_t n);

/* Settings; zero fields take the defaults in brackets. */
typedef struct vkr_tsne_options {
    float perplexity;            /* target perplexity [30] */
    uint32_t iterations;         /* total iterations [1000] */
    float exaggeration;          /* early exaggeration factor [12] */
    uint32_t exaggeration_iters; /* iterations with exaggeration [250]; capped at `iterations` */
    float learning_rate;         /* on the true gradient [auto: max(N / 48, 50)] */
    vkr_tsne_method method;      /* repulsion [auto] */
    vkr_tsne_init init;          /* initialization [PCA] */
    uint64_t seed;               /* random init and PCA sign-free power iteration seed (0 is a valid seed) */
    bool progress;               /* print progress (iteration, KL estimate) to stderr with \r */
    vkr_tsne_callback callback;  /* optional observer of intermediate layouts */
    void* callback_user;         /* passed to callback */
    uint32_t callback_every;     /* iterations between callbacks [VKR_TSNE_CHUNK] */
    uint32_t fft_max_grid;       /* largest FFT grid side, a power of two [vkr_tsne_fft_max_grid(device)] */
    vkr_tsne_attraction attraction; /* where the attraction runs [auto] */
} vkr_tsne_options;

/* What vkr_tsne_run did. */
typedef struct vkr_tsne_report {
    uint32_t n;             /* points */
    uint32_t k;             /* neighbours per point in the kNN graph */
    uint64_t nnz;           /* entries of the symmetric P */
    vkr_tsne_method method; /* repulsion method used (never AUTO) */
    uint32_t iterations;    /* iterations run (fewer than asked when the callback stopped the run) */
    float learning_rate;    /* learning rate used */
    double kl;              /* final KL(P || Q) */
    bool kl_exact;          /* kl used an exact Z */
    double seconds;         /* wall time of the whole run */
    double affinity_seconds; /* kNN + binary search + symmetrization + locality order */
    uint32_t max_grid;      /* largest FFT grid side used (0 for EXACT) */
} vkr_tsne_report;

/* Symmetric sparse P in CSR form (host memory, malloc'd). */
typedef struct vkr_tsne_p {
    uint32_t n;        /* rows (points) */
    uint64_t nnz;      /* entries */
    uint32_t* row_ptr; /* [n+1] start of each row in col/val */
    uint32_t* col;     /* [nnz] column indices, increasing within a row */
    float* val;        /* [nnz] P_ij, summing to 1 over all entries */
} vkr_tsne_p;

/* Runs t-SNE on X (n x d) into y (n x 2, caller-allocated); report may be NULL. */
vkr_status vkr_tsne_run(vkr_device* device, const float* x, uint32_t n, uint32_t d, const vkr_tsne_options* options,
                        float* y, vkr_tsne_report* out_report);
/* Fills the defaults of an options struct in place (perplexity 30, 1000 iterations, ...). */
void vkr_tsne_options_defaults(vkr_tsne_options* options, uint32_t n);
/* Neighbours per point for perplexity `perplexity` and n points. */
uint32_t vkr_tsne_neighbours(float perplexity, uint32_t n);
/* Name of a method: "auto", "exact", "fft". */
const char* vkr_tsne_method_name(vkr_tsne_method method);
/* The method AUTO resolves to for n points on `device`. */
vkr_tsne_method vkr_tsne_resolve_method(const vkr_device* device, vkr_tsne_method method, uint32_t n);

/* ---- affinities ---------------------------------------------------------------------------- */

/* kNN graph of X (n x d) on the device: idx and dist (n x k, host) sorted by squared distance. */
vkr_status vkr_tsne_knn(vkr_device* device, const float* x, uint32_t n, uint32_t d, uint32_t k, int32_t* idx,
                        float* dist);
/* The same kNN graph on the host (OpenBLAS X X^T by row blocks, a bounded list per row, candidates'
 * distances recomputed in double): the reference's result, at BLAS speed. The CPU backend's kNN, and a
 * CPU driver's from VKR_TSNE_KNN_HOST_MIN points. */
vkr_status vkr_tsne_knn_host(const float* x, uint32_t n, uint32_t d, uint32_t k, int32_t* idx, float* dist);
/* CPU reference kNN (full sort per row; ties by lower index; the point itself excluded). */
vkr_status vkr_ref_tsne_knn(const float* x, uint32_t n, uint32_t d, uint32_t k, int32_t* idx, float* dist);
/* Records the binary search: dist (n x k squared distances) -> cond (n x k, rows sum to 1). */
vkr_status vkr_gpu_tsne_sigma(vkr_sequence* seq, uint32_t n, uint32_t k, float perplexity, vkr_range dist,
                              vkr_range cond);
/* CPU reference of the binary search, in double. */
vkr_status vkr_ref_tsne_sigma(uint32_t n, uint32_t k, float perplexity, const float* dist, float* cond);
/* Symmetrizes conditional P over a kNN graph into CSR; out_p is zeroed on entry. */
vkr_status vkr_tsne_symmetrize(uint32_t n, uint32_t k, const int32_t* idx, const float* cond, vkr_tsne_p* out_p);
/* All of steps 1-3 (the GPU kNN and binary search, host symmetrization); out_p zeroed on entry. */
vkr_status vkr_tsne_affinities(vkr_device* device, const float* x, uint32_t n, uint32_t d, float perplexity,
                               vkr_tsne_p* out_p);
/* Frees a P and zeroes it. */
void vkr_tsne_p_free(vkr_tsne_p* p);
/* Breadth-first order of P's graph (components in order of their lowest id): perm[new] = old id, n
 * entries. Neighbours get nearby ids, so the device's gathers of their y stay in cache. */
vkr_status vkr_tsne_locality_order(const vkr_tsne_p* p, uint32_t* perm);
/* out_p = P with point perm[r] renumbered r (rows and columns; columns increasing within a row). */
vkr_status vkr_tsne_p_permute(const vkr_tsne_p* p, const uint32_t* perm, vkr_tsne_p* out_p);

/* ---- gradient ------------------------------------------------------------------------------ */

/* CPU reference gradient of KL(a P || Q) at y (n x 2) into grad (n x 2), exact, in double; the
 * normalization Z into *out_z when not NULL. */
vkr_status vkr_ref_tsne_gradient(const vkr_tsne_p* p, const float* y, float exaggeration, double* grad,
                                 double* out_z);
/* KL(P || Q) at y, exactly, in double (the value the reference gradient differentiates at a = 1). */
vkr_status vkr_ref_tsne_kl(const vkr_tsne_p* p, const double* y, double* out_kl);
/* KL from the sparse P, the layout and a given Z (host; O(nnz)). */
double vkr_tsne_kl_given_z(const vkr_tsne_p* p, const float* y, double z);
/* The attractive term on the host, on one thread (y and attr n x 2): a CPU driver's, where the
 * kernel's per-lane gathers cost several times what these cores take directly. */
vkr_status vkr_tsne_attract_host(const vkr_tsne_p* p, const float* y, float* attr);
/* Records the attractive term attr_i = sum_j P_ij q_ij (y_i - y_j) (n x 2) from CSR P on the device. */
vkr_status vkr_gpu_tsne_attract(vkr_sequence* seq, uint32_t n, vkr_range row_ptr, vkr_range col, vkr_range val,
                                vkr_range y, vkr_range attr);
/* Records the exact repulsion: rep_i = sum_j q_ij^2 (y_i - y_j) (n x 2) and zrow_i = sum_{j != i} q_ij. */
vkr_status vkr_gpu_tsne_repulse_exact(vkr_sequence* seq, uint32_t n, vkr_range y, vkr_range rep, vkr_range zrow);

/* Device state of the FFT repulsion for n points and grid side L (buffers sized for L). */
typedef struct vkr_tsne_fft {
    uint32_t n;          /* points */
    uint32_t grid;       /* L, the FFT side (power of two) */
    uint32_t boxes;      /* nb, boxes per dimension = floor(L / (2 * 3)) */
    vkr_buffer geom;     /* 4 floats: x0, y0, box width, node spacing (written on the device) */
    vkr_buffer box_of;   /* n uint: box of each point */
    vkr_buffer counts;   /* nb^2 + 1 uint: points per box, then exclusive offsets */
    vkr_buffer cursor;   /* nb^2 uint: fill cursor per box */
    vkr_buffer order;    /* n uint: point ids grouped by box */
    vkr_buffer kernel;   /* L x L complex: circulant kernel, then its transform */
    vkr_buffer charges;  /* 2 x L x L complex: (1 + i y_x) and (y_y + i |y|^2) charges, then potentials */
} vkr_tsne_fft;

/* Allocates FFT state for n points and grid side `grid` (a power of two within the limits). */
vkr_status vkr_tsne_fft_create(vkr_device* device, uint32_t n, uint32_t grid, vkr_tsne_fft* out_fft);
/* Frees FFT state and zeroes it. */
void vkr_tsne_fft_destroy(vkr_device* device, vkr_tsne_fft* fft);
/* Records the FFT-interpolated repulsion: rep (n x 2) and zrow (n) as for the exact kernel. */
vkr_status vkr_gpu_tsne_repulse_fft(vkr_sequence* seq, vkr_tsne_fft* fft, vkr_range y, vkr_range rep,
                                    vkr_range zrow);
/* Grid side for a layout whose larger extent is `extent` (boxes at most 1 unit wide, L <= max_grid). */
uint32_t vkr_tsne_fft_grid_for(float extent, uint32_t max_grid);
/* The default grid cap of a device: VKR_TSNE_FFT_MAX_GRID_CPU on a CPU driver, else VKR_TSNE_FFT_MAX_GRID. */
uint32_t vkr_tsne_fft_max_grid(const vkr_device* device);
/* CPU reference of the repulsion (exact, double): rep (n x 2) and zrow (n). */
vkr_status vkr_ref_tsne_repulse(uint32_t n, const float* y, double* rep, double* zrow);
/* CPU reference of one complex FFT of length len (power of two) in place, sign -1 forward, +1 inverse
 * (unscaled); data is len interleaved (re, im) pairs. */
vkr_status vkr_ref_tsne_fft1d(float* data, uint32_t len, int sign);
/* CPU reference of vkr_gpu_tsne_fft_convolve on host grids (interleaved re, im): count L x L
 * grids in data, one L x L kernel transform in kern. */
vkr_status vkr_ref_tsne_fft_convolve(uint32_t grid, uint32_t count, uint32_t rows_in, uint32_t rows_out,
                                     const float* kern, float* data);
/* One batch of in-place 1-D FFTs over the first `lines` rows (or columns) of L x L complex grids. */
typedef struct vkr_tsne_fft_lines {
    uint32_t grid;      /* L, a power of two in [2, VKR_TSNE_FFT_MAX_GRID] */
    uint32_t count;     /* grids back to back */
    uint32_t lines;     /* rows (columns) transformed, in [1, L] */
    bool columns;       /* along the columns, else the rows */
    int sign;           /* -1 forward, +1 inverse (unscaled) */
    uint32_t load_len;  /* elements read per line, the rest taken as zero (not read) [0: L] */
    uint32_t store_len; /* elements written per line, the rest left as they were [0: L] */
} vkr_tsne_fft_lines;

/* Records the FFTs `f` of data (count L x L complex grids). */
vkr_status vkr_gpu_tsne_fft(vkr_sequence* seq, const vkr_tsne_fft_lines* f, vkr_range data);
/* Records the circular convolution along every column of `count` L x L complex grids with the
 * columns of one kernel grid given by its column-wise transform kern: forward FFT of each column
 * (rows >= rows_in taken as zero, not read), product with kern, inverse FFT (unscaled), rows
 * < rows_out written, the others left undefined. One pass per column on a CPU driver (grids up to
 * VKR_TSNE_FFT_MAX_GRID_CPU), three passes (forward, product, inverse) elsewhere. */
vkr_status vkr_gpu_tsne_fft_convolve(vkr_sequence* seq, uint32_t grid, uint32_t count, uint32_t rows_in,
                                     uint32_t rows_out, vkr_range kern, vkr_range data);

/* Records one optimizer step for all points: grad = 4 (a attr - rep / Z) with Z = z[0], gains and
 * momentum update, y += update. */
typedef struct vkr_tsne_step_params {
    uint32_t n;         /* points */
    float exaggeration; /* a */
    float momentum;     /* momentum of the update */
    float learning_rate; /* step size */
} vkr_tsne_step_params;

/* Records the update of y, update and gains (each n x 2) from attr, rep and z (1 float). */
vkr_status vkr_gpu_tsne_step(vkr_sequence* seq, const vkr_tsne_step_params* p, vkr_range attr, vkr_range rep,
                             vkr_range z, vkr_range y, vkr_range update, vkr_range gains);
/* CPU reference of one step (same arithmetic, float). */
vkr_status vkr_ref_tsne_step(const vkr_tsne_step_params* p, const float* attr, const float* rep, float z,
                             float* y, float* update, float* gains);

/* ---- initialization ------------------------------------------------------------------------ */

/* Initial layout y (n x 2) of X (n x d) by `init`, seeded. */
vkr_status vkr_tsne_initial(const float* x, uint32_t n, uint32_t d, vkr_tsne_init init, uint64_t seed, float* y);
/* Synthetic data for tests and benchmarks: n points in d dimensions from `clusters` unit-variance
 * Gaussians whose centres are drawn with standard deviation `spread`; point i belongs to cluster
 * i % clusters (label written to labels when not NULL). Seeded. */
vkr_status vkr_tsne_gaussian_mixture(uint32_t n, uint32_t d, uint32_t clusters, float spread, uint64_t seed, float* x,
                                     uint32_t* labels);

#endif
