/* RQ-VAE tokenizer: graph construction, the two training phases, k-means initialization, dead-code
 * reseeding, final encoding and statistics. */
#include "vkr_rqvae.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vkr_balance.h"
#include "vkr_semid_rows.h"
#include "vkr_clock.h"
#include "vkr_exec.h"
#include "vkr_init.h"
#include "vkr_kmeans.h"
#include "vkr_ops_quant.h"
#include "vkr_rng.h"
#include "vkr_safetensors.h"
#include "vkr_values.h"

#define RQ_EVAL_BATCH 1024u /* rows per encoding pass */
enum { GROUP_UNIVERSAL = 0, GROUP_CODEBOOK = 1, GROUP_ADAPTER = 2, GROUP_COUNT = 3 };

vkr_status vkr_rqvae_config_resolve(const vkr_rqvae_config* c, vkr_rqvae_config* out) {
    if (!c || !out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_rqvae_config_resolve: NULL argument");
    *out = *c;
    if (out->input_dim == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: input_dim must be >= 1");
    if (out->hidden_count == 0 && out->hidden[0] == 0) {
        static const uint32_t def[3] = {512, 256, 128};
        memcpy(out->hidden, def, sizeof def);
        out->hidden_count = 3;
    }
    if (out->hidden_count > VKR_RQVAE_MAX_HIDDEN)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: at most %u hidden layers (got %u)", VKR_RQVAE_MAX_HIDDEN,
                        out->hidden_count);
    for (uint32_t i = 0; i < out->hidden_count; i++)
        if (out->hidden[i] == 0 || out->hidden[i] > 65536)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: hidden layer %u has width %u (1..65536)", i, out->hidden[i]);
    if (!out->latent) out->latent = 32;
    if (!out->levels) out->levels = 3;
    if (!out->codes) out->codes = 256;
    if (out->beta == 0) out->beta = 0.25f;
    if (out->beta < 0) out->beta = 0;
    if (out->balance < 0) out->balance = 0;
    if (!out->lora_rank) out->lora_rank = 8;
    if (out->levels > VKR_SEMID_MAX_LEVELS)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: levels must be 1..%u (got %u)", VKR_SEMID_MAX_LEVELS,
                        out->levels);
    if (out->codes > VKR_SEMID_MAX_CODES)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: codes must be 1..%u (got %u)", VKR_SEMID_MAX_CODES, out->codes);
    if (out->latent > 4096 || out->input_dim > 65536)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: latent (%u) must be <= 4096 and input_dim (%u) <= 65536",
                        out->latent, out->input_dim);
    if (out->adapters && (out->domains == 0 || out->domains > VKR_RQVAE_MAX_DOMAINS))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: adapters need 1..%u domains (got %u)", VKR_RQVAE_MAX_DOMAINS,
                        out->domains);
    if (!isfinite(out->beta)) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: beta must be finite");
    if (!isfinite(out->balance)) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: balance must be finite");
    return VKR_OK;
}

/* ---- the graph ------------------------------------------------------------------------------- */

typedef struct rq_graph {
    vkr_graph* g;
    uint32_t batch;
    vkr_tensor *x, *dmask;                /* inputs: embeddings, domain one-hot [B, domains] */
    vkr_tensor* route;                    /* adapters: the router's weights [B, 1 + domains], expert 0 universal */
    vkr_tensor *z, *codes, *recon, *loss; /* latent, codes, reconstruction, total loss */
} rq_graph;

static vkr_tensor* rq_param(vkr_graph* g, const char* prefix, const char* part, uint32_t ndim, const uint32_t* shape,
                           uint32_t group, vkr_init_kind init, float scale) {
    char name[VKR_NAME_BYTES];
    snprintf(name, sizeof name, "%s.%s", prefix, part);
    return vkr_graph_param_init(g, name, ndim, shape, group, init, scale);
}

/* One encoder/decoder layer: x W + b (+ every domain adapter's LoRA weighted by the router), ReLU
 * unless last. */
static vkr_tensor* rq_layer(rq_graph* m, const vkr_rqvae_config* c, const char* prefix, vkr_tensor* x, uint32_t in,
                            uint32_t out, bool relu, bool lora) {
    vkr_graph* g = m->g;
    vkr_tensor* w = rq_param(g, prefix, "w", 2, (uint32_t[]){in, out}, GROUP_UNIVERSAL,
                             relu ? VKR_INIT_KAIMING : VKR_INIT_XAVIER, relu ? VKR_INIT_GAIN_RELU : 1.0f);
    vkr_tensor* b = rq_param(g, prefix, "b", 1, &out, GROUP_UNIVERSAL, VKR_INIT_ZEROS, 0);
    vkr_tensor* y = vkr_op_matmul(g, x, w, b, false, false);
    if (lora) {
        uint32_t rr = c->domains * c->lora_rank;
        vkr_tensor* a = rq_param(g, prefix, "lora_a", 2, (uint32_t[]){in, rr}, GROUP_ADAPTER, VKR_INIT_NORMAL,
                                 1.0f / sqrtf((float)in));
        vkr_tensor* bb = rq_param(g, prefix, "lora_b", 2, (uint32_t[]){rr, out}, GROUP_ADAPTER, VKR_INIT_ZEROS, 0);
        /* sum_d route_d (x A_d) B_d: each adapter's rank slice scaled by its routing weight */
        const uint32_t B = m->batch, D = c->domains, r = c->lora_rank;
        vkr_tensor* low = vkr_op_reshape(g, vkr_op_matmul(g, x, a, NULL, false, false), 3, (uint32_t[]){B, D, r});
        vkr_tensor* w_d = vkr_op_reshape(g, vkr_op_slice(g, m->route, 1, 1, D), 3, (uint32_t[]){B, D, 1});
        low = vkr_op_reshape(g, vkr_op_mul(g, low, w_d), 2, (uint32_t[]){B, rr});
        y = vkr_op_add(g, y, vkr_op_matmul(g, low, bb, NULL, false, false));
    }
    return relu ? vkr_op_relu(g, y) : y;
}

static void rq_graph_destroy(rq_graph* m) {
    vkr_graph_destroy(m->g);
    memset(m, 0, sizeof *m);
}

/* Builds the model for `batch` rows; with `train` the loss gets gradients. */
static vkr_status rq_graph_build(const vkr_rqvae_config* c, uint32_t batch, bool train, uint64_t seed, rq_graph* m) {
    memset(m, 0, sizeof *m);
    VKR_TRY(vkr_graph_create(seed, &m->g));
    vkr_graph* g = m->g;
    m->batch = batch;
    m->x = vkr_graph_input(g, "x", VKR_F32, 2, (uint32_t[]){batch, c->input_dim});
    vkr_tensor* balance = NULL;
    if (c->adapters) { /* the router: softmax over the universal expert and the D adapters, from the item and its domain */
        const uint32_t E = c->domains + 1;
        m->dmask = vkr_graph_input(g, "domain_mask", VKR_F32, 2, (uint32_t[]){batch, c->domains});
        vkr_tensor* wr = rq_param(g, "router", "w", 2, (uint32_t[]){c->input_dim, E}, GROUP_ADAPTER, VKR_INIT_ZEROS, 0);
        vkr_tensor* ur = rq_param(g, "router", "u", 2, (uint32_t[]){c->domains, E}, GROUP_ADAPTER, VKR_INIT_ZEROS, 0);
        vkr_tensor* br = rq_param(g, "router", "b", 1, &E, GROUP_ADAPTER, VKR_INIT_ZEROS, 0);
        vkr_tensor* logits = vkr_op_add(g, vkr_op_matmul(g, m->x, wr, br, false, false),
                                        vkr_op_matmul(g, m->dmask, ur, NULL, false, false));
        m->route = vkr_graph_keep(vkr_op_softmax(g, logits));
        if (train && c->balance > 0) { /* balance x E x sum_e (mean routing weight of e)^2: balance when even */
            vkr_tensor* mean = vkr_op_mean(g, m->route, 0);
            balance = vkr_op_scale(g, vkr_op_sum(g, vkr_op_mul(g, mean, mean), -1), (float)E * c->balance);
        }
    }
    uint32_t dims[VKR_RQVAE_MAX_HIDDEN + 2];
    uint32_t nd = 0;
    dims[nd++] = c->input_dim;
    for (uint32_t i = 0; i < c->hidden_count; i++) dims[nd++] = c->hidden[i];
    dims[nd++] = c->latent;
    vkr_tensor* h = m->x;
    char prefix[32];
    for (uint32_t i = 0; i + 1 < nd; i++) {
        snprintf(prefix, sizeof prefix, "enc%u", i);
        h = rq_layer(m, c, prefix, h, dims[i], dims[i + 1], i + 2 < nd, c->adapters);
    }
    m->z = vkr_graph_keep(h);
    vkr_tensor* cb = vkr_graph_param_init(g, "codebooks", 3, (uint32_t[]){c->levels, c->codes, c->latent},
                                          GROUP_CODEBOOK, VKR_INIT_NORMAL, 0.1f);
    m->codes = vkr_graph_keep(vkr_op_rq_codes(g, m->z, cb));
    vkr_tensor* zq = vkr_op_rq_quantized(g, m->z, cb, m->codes);
    h = zq;
    for (uint32_t i = nd - 1; i > 0; i--) {
        snprintf(prefix, sizeof prefix, "dec%u", nd - 1 - i);
        h = rq_layer(m, c, prefix, h, dims[i], dims[i - 1], i > 1, false);
    }
    m->recon = vkr_graph_keep(h);
    if (train) {
        vkr_tensor* qloss = vkr_op_rq_loss(g, m->z, cb, m->codes, c->beta);
        vkr_tensor* loss = vkr_op_add(g, vkr_op_mse(g, m->recon, m->x), qloss);
        if (balance) loss = vkr_op_add(g, loss, balance);
        m->loss = vkr_graph_keep(loss);
    }
    vkr_status s = vkr_graph_status(g);
    if (s == VKR_OK && train) s = vkr_graph_backward(g, m->loss);
    if (s != VKR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", vkr_graph_status(g) != VKR_OK ? vkr_graph_error(g) : vkr_last_error());
        rq_graph_destroy(m);
        return vkr_fail(s, "rqvae: %s", msg);
    }
    return VKR_OK;
}

/* ---- parameters on the host ------------------------------------------------------------------ */

void vkr_rqvae_result_free(vkr_rqvae_result* r) {
    if (!r) return;
    for (uint32_t i = 0; i < r->param_count; i++) free(r->params[i].data);
    free(r->params);
    free(r->codes);
    free(r->ids);
    memset(r, 0, sizeof *r);
}

const vkr_rqvae_param* vkr_rqvae_result_param(const vkr_rqvae_result* r, const char* name) {
    for (uint32_t i = 0; r && name && i < r->param_count; i++)
        if (strcmp(r->params[i].name, name) == 0) return &r->params[i];
    return NULL;
}

/* Allocates the result's parameter list from the graph's parameters. */
static vkr_status rq_params_alloc(vkr_graph* g, vkr_rqvae_result* r) {
    uint32_t count = 0, n = vkr_graph_tensor_count(g);
    for (uint32_t i = 0; i < n; i++) count += vkr_graph_tensor(g, i)->role == VKR_ROLE_PARAM;
    r->params = calloc(count ? count : 1, sizeof *r->params);
    if (!r->params) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rqvae: out of host memory");
    for (uint32_t i = 0; i < n; i++) {
        const vkr_tensor* t = vkr_graph_tensor(g, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        vkr_rqvae_param* p = &r->params[r->param_count++];
        snprintf(p->name, sizeof p->name, "%s", t->name);
        p->ndim = t->ndim;
        for (uint32_t d = 0; d < t->ndim; d++) p->shape[d] = t->shape[d];
        p->numel = t->numel;
        p->group = t->group;
        p->data = malloc(t->numel * sizeof *p->data);
        if (!p->data) return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rqvae: out of host memory for %s", t->name);
    }
    return VKR_OK;
}

/* Copies every parameter between the host list and an executor of graph g. */
static vkr_status rq_params_sync(vkr_exec* ex, vkr_graph* g, vkr_rqvae_result* r, bool to_host) {
    for (uint32_t i = 0; i < r->param_count; i++) {
        vkr_rqvae_param* p = &r->params[i];
        const vkr_tensor* t = vkr_graph_find(g, p->name);
        if (!t) return vkr_fail(VKR_ERR_NOT_FOUND, "rqvae: parameter %s is missing from the graph", p->name);
        uint64_t bytes = p->numel * sizeof *p->data;
        VKR_TRY(to_host ? vkr_exec_read(ex, t, p->data, bytes) : vkr_exec_write(ex, t, p->data, bytes));
    }
    return VKR_OK;
}

/* ---- data ------------------------------------------------------------------------------------ */

/* Host staging for one batch. */
typedef struct rq_batch {
    float *x, *dmask;
} rq_batch;

static void rq_batch_free(rq_batch* b) {
    free(b->x);
    free(b->dmask);
    memset(b, 0, sizeof *b);
}

static vkr_status rq_batch_alloc(const vkr_rqvae_config* c, uint32_t rows, rq_batch* b) {
    memset(b, 0, sizeof *b);
    b->x = malloc((size_t)rows * c->input_dim * sizeof *b->x);
    if (c->adapters) b->dmask = malloc((size_t)rows * c->domains * sizeof *b->dmask);
    if (!b->x || (c->adapters && !b->dmask)) {
        rq_batch_free(b);
        return vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rqvae: out of host memory for a batch of %u", rows);
    }
    return VKR_OK;
}

/* Fills the batch with items idx[0..count) and uploads it to the executor. */
static vkr_status rq_batch_load(const vkr_rqvae_config* c, const rq_graph* m, vkr_exec* ex, rq_batch* b,
                                const float* emb, const uint8_t* dom, const uint32_t* idx) {
    uint32_t rows = m->batch, D = c->domains;
    for (uint32_t r = 0; r < rows; r++) {
        uint32_t item = idx[r];
        memcpy(b->x + (size_t)r * c->input_dim, emb + (size_t)item * c->input_dim, c->input_dim * sizeof *b->x);
        for (uint32_t d = 0; c->adapters && d < D; d++) b->dmask[(size_t)r * D + d] = dom[item] == d ? 1.0f : 0.0f;
    }
    VKR_TRY(vkr_exec_write(ex, m->x, b->x, (uint64_t)rows * c->input_dim * 4));
    return c->adapters ? vkr_exec_write(ex, m->dmask, b->dmask, (uint64_t)rows * D * 4) : VKR_OK;
}

/* Encodes every item with the evaluation graph: latents z (n x latent, optional), codes (n x L,
 * optional) and the summed squared reconstruction error (optional), row i's scaled by scale[i]^2. */
static vkr_status rq_encode_all(const vkr_rqvae_config* c, const rq_graph* m, vkr_exec* ex, rq_batch* b,
                                const float* emb, const float* scale, const uint8_t* dom, uint32_t n, float* z,
                                int32_t* codes, float* route, double* sq_err) {
    uint32_t B = m->batch, E = c->domains + 1;
    if (!m->route) route = NULL;
    float* pb = route ? malloc((size_t)B * E * sizeof *pb) : NULL;
    uint32_t* idx = malloc((size_t)B * sizeof *idx);
    float* zb = malloc((size_t)B * c->latent * sizeof *zb);
    int32_t* cb = malloc((size_t)B * c->levels * sizeof *cb);
    float* rb = malloc((size_t)B * c->input_dim * sizeof *rb);
    vkr_status s = idx && zb && cb && rb && (!route || pb) ? VKR_OK
                                                             : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rqvae: out of host memory");
    if (sq_err) *sq_err = 0;
    for (uint32_t start = 0; start < n && s == VKR_OK; start += B) {
        uint32_t count = n - start < B ? n - start : B;
        for (uint32_t r = 0; r < B; r++) idx[r] = start + (r < count ? r : count - 1); /* pad with the last item */
        s = rq_batch_load(c, m, ex, b, emb, dom, idx);
        if (s == VKR_OK) s = vkr_exec_run(ex);
        if (s == VKR_OK && z) s = vkr_exec_read(ex, m->z, zb, (uint64_t)B * c->latent * 4);
        if (s == VKR_OK && codes) s = vkr_exec_read(ex, m->codes, cb, (uint64_t)B * c->levels * 4);
        if (s == VKR_OK && sq_err) s = vkr_exec_read(ex, m->recon, rb, (uint64_t)B * c->input_dim * 4);
        if (s == VKR_OK && route) s = vkr_exec_read(ex, m->route, pb, (uint64_t)B * E * 4);
        if (s != VKR_OK) break;
        if (route) memcpy(route + (size_t)start * E, pb, (size_t)count * E * sizeof *route);
        if (z) memcpy(z + (size_t)start * c->latent, zb, (size_t)count * c->latent * sizeof *z);
        if (codes) memcpy(codes + (size_t)start * c->levels, cb, (size_t)count * c->levels * sizeof *codes);
        if (sq_err)
            for (size_t e = 0; e < (size_t)count * c->input_dim; e++) {
                double d = ((double)rb[e] - emb[(size_t)start * c->input_dim + e]) * scale[start + e / c->input_dim];
                *sq_err += d * d;
            }
    }
    free(idx);
    free(zb);
    free(cb);
    free(rb);
    free(pb);
    return s;
}

/* Residuals of level l for every item: z - sum_{j<l} C_j[code_j] (n x latent). */
static void rq_level_residuals(const vkr_rqvae_config* c, const float* z, const float* cb, const int32_t* codes,
                               uint32_t n, uint32_t level, float* out) {
    uint32_t D = c->latent;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < D; k++) {
            float r = z[(size_t)i * D + k];
            for (uint32_t l = 0; l < level; l++)
                r -= cb[((size_t)l * c->codes + (uint32_t)codes[(size_t)i * c->levels + l]) * D + k];
            out[(size_t)i * D + k] = r;
        }
}

/* ---- training -------------------------------------------------------------------------------- */

typedef struct rq_trainer {
    const vkr_rqvae_config* c;
    const vkr_rqvae_train_options* o;
    const float* emb;   /* training rows (vkr_semid_rows) */
    const float* scale; /* their original RMS over the median */
    const uint8_t* dom;
    uint32_t n;
    rq_graph train, eval;
    vkr_exec* eval_ex;
    rq_batch tb, eb;
    vkr_rqvae_result* r;
    float* z;        /* n x latent, from the last encoding pass */
    int32_t* codes;  /* n x L */
    float* route;    /* adapters: n x (1 + domains) routing weights from the last encoding pass, else NULL */
    int32_t* universal_codes; /* adapters: n x L nearest codes after the universal phase, else NULL */
    float* resid;    /* n x latent scratch */
    uint32_t* perm;  /* n: shuffled item order */
    uint32_t* idx;   /* batch: the items of one step */
    double start, total_epochs, done_epochs;
} rq_trainer;

/* The codebook parameter on the host. */
static float* rq_codebooks(rq_trainer* t) {
    for (uint32_t i = 0; i < t->r->param_count; i++)
        if (strcmp(t->r->params[i].name, "codebooks") == 0) return t->r->params[i].data;
    return NULL;
}

/* Pushes the host parameters to the evaluation executor and encodes every item. */
static vkr_status rq_refresh(rq_trainer* t, double* sq_err) {
    VKR_TRY(rq_params_sync(t->eval_ex, t->eval.g, t->r, false));
    return rq_encode_all(t->c, &t->eval, t->eval_ex, &t->eb, t->emb, t->scale, t->dom, t->n, t->z, t->codes,
                         t->route, sq_err);
}

/* k-means on each level's residuals of (up to VKR_RQVAE_KMEANS_ROWS) item latents. */
static vkr_status rq_kmeans_init(rq_trainer* t) {
    const vkr_rqvae_config* c = t->c;
    VKR_TRY(rq_refresh(t, NULL));
    VKR_TRY(vkr_check_vectors("rqvae: the encoder's output before k-means", t->z, t->n, c->latent));
    uint32_t rows = t->n < VKR_RQVAE_KMEANS_ROWS ? t->n : VKR_RQVAE_KMEANS_ROWS;
    float* cb = rq_codebooks(t);
    /* the first `rows` of a seeded shuffle: a uniform sample of items */
    for (uint32_t i = 0; i < t->n; i++) t->perm[i] = i;
    vkr_rng rng = vkr_rng_make(t->o->seed, 11);
    for (uint32_t i = 0; i + 1 < t->n && i < rows; i++) {
        uint32_t j = i + (uint32_t)vkr_rng_next_below(&rng, t->n - i);
        uint32_t tmp = t->perm[i];
        t->perm[i] = t->perm[j];
        t->perm[j] = tmp;
    }
    float* sample = t->resid; /* rows x latent */
    for (uint32_t i = 0; i < rows; i++)
        memcpy(sample + (size_t)i * c->latent, t->z + (size_t)t->perm[i] * c->latent, c->latent * sizeof *sample);
    vkr_kmeans_options ko = {.k = c->codes, .iters = t->o->kmeans_iters ? t->o->kmeans_iters : 20, .seed = t->o->seed};
    return vkr_kmeans_residual(t->o->device, sample, rows, c->latent, c->levels, &ko, cb, NULL, &t->r->kmeans_empty);
}

/* An item and how far its residual lies from its code at one level. */
typedef struct rq_far {
    float dist;
    uint32_t item;
} rq_far;

static int rq_far_cmp(const void* a, const void* b) { /* farthest first, then lower item */
    const rq_far *x = a, *y = b;
    if (x->dist != y->dist) return x->dist > y->dist ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* Re-seeds codes no item uses with the residuals the level quantizes worst, each residual at most once
 * (as faiss re-seeds empty clusters): random items failed on inputs with many identical rows, whose
 * identical residuals made every re-seeded code a twin that one code keeps winning. Returns the count. */
static vkr_status rq_reseed(rq_trainer* t, uint32_t* out_count) {
    const vkr_rqvae_config* c = t->c;
    const uint32_t D = c->latent;
    *out_count = 0;
    VKR_TRY(rq_refresh(t, NULL));
    float* cb = rq_codebooks(t);
    uint32_t* used = malloc((size_t)c->codes * sizeof *used);
    rq_far* far = malloc((size_t)t->n * sizeof *far);
    uint32_t* picked = malloc((size_t)c->codes * sizeof *picked);
    vkr_status s = used && far && picked ? VKR_OK : vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rqvae: out of host memory");
    for (uint32_t l = 0; l < c->levels && s == VKR_OK; l++) {
        memset(used, 0, c->codes * sizeof *used);
        for (uint32_t i = 0; i < t->n; i++) used[t->codes[(size_t)i * c->levels + l]]++;
        uint32_t dead = 0;
        for (uint32_t k = 0; k < c->codes; k++) dead += used[k] == 0;
        if (!dead) continue;
        rq_level_residuals(c, t->z, cb, t->codes, t->n, l, t->resid);
        for (uint32_t i = 0; i < t->n; i++) {
            const float* q = cb + ((size_t)l * c->codes + (uint32_t)t->codes[(size_t)i * c->levels + l]) * D;
            const float* res = t->resid + (size_t)i * D;
            double d2 = 0;
            for (uint32_t k = 0; k < D; k++) d2 += ((double)res[k] - q[k]) * ((double)res[k] - q[k]);
            far[i] = (rq_far){(float)d2, i};
        }
        qsort(far, t->n, sizeof *far, rq_far_cmp);
        uint32_t count = 0, k = 0;
        for (uint32_t r = 0; r < t->n && count < dead && far[r].dist > 0; r++) {
            const float* cand = t->resid + (size_t)far[r].item * D;
            bool twin = false; /* identical residuals have identical distances: only those picks can match */
            for (uint32_t p = count; p-- > 0 && !twin && far[picked[p]].dist == far[r].dist;)
                twin = memcmp(t->resid + (size_t)far[picked[p]].item * D, cand, D * sizeof *cand) == 0;
            if (twin) continue;
            while (used[k]) k++;
            memcpy(cb + ((size_t)l * c->codes + k) * D, cand, D * sizeof *cb);
            used[k] = 1;
            picked[count++] = r;
        }
        *out_count += count;
    }
    free(used);
    free(far);
    free(picked);
    return s;
}

/* Runs one phase: a fresh executor whose optimizer updates only the groups with a nonzero lr. */
static vkr_status rq_phase(rq_trainer* t, const char* phase, uint32_t epochs, float lr, const float lr_mult[GROUP_COUNT],
                           bool reseed) {
    const vkr_rqvae_config* c = t->c;
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = lr}, .beta1 = 0.9f, .beta2 = 0.999f,
                           .eps = 1e-8f};
    const float wd[GROUP_COUNT] = {0, 0, 0};
    vkr_exec_options eo = {.device = t->o->device, .optimizer = &oc, .training = true, .group_count = GROUP_COUNT,
                           .group_lr_mult = lr_mult, .group_weight_decay = wd};
    vkr_exec* ex = NULL;
    VKR_TRY(vkr_exec_create(t->train.g, &eo, &ex));
    vkr_status s = rq_params_sync(ex, t->train.g, t->r, false);
    uint32_t B = t->train.batch, steps = (t->n + B - 1) / B;
    uint32_t reseed_every = t->o->reseed_every ? t->o->reseed_every : 5;
    for (uint32_t e = 0; e < epochs && s == VKR_OK; e++) {
        double t0 = vkr_now_s(), loss_sum = 0;
        for (uint32_t i = 0; i < t->n; i++) t->perm[i] = i;
        vkr_rng rng = vkr_rng_make(t->o->seed ^ 0x5DEECE66Dull, t->r->steps); /* seeded by (seed, phase step) */
        vkr_rng_shuffle_u32(&rng, t->perm, t->n);
        for (uint32_t st = 0; st < steps && s == VKR_OK; st++) {
            for (uint32_t r = 0; r < B; r++) t->idx[r] = t->perm[((uint64_t)st * B + r) % t->n];
            s = rq_batch_load(c, &t->train, ex, &t->tb, t->emb, t->dom, t->idx);
            if (s == VKR_OK) s = vkr_exec_run(ex);
            float loss = 0;
            if (s == VKR_OK) s = vkr_exec_read(ex, t->train.loss, &loss, 4);
            if (s == VKR_OK && !isfinite(loss))
                s = vkr_fail(VKR_ERR_STATE, "rqvae: the %s loss became %g at epoch %u, step %u (lower the learning "
                             "rate)", phase, loss, e + 1, st + 1);
            loss_sum += loss;
            t->r->steps++;
        }
        if (s != VKR_OK) break;
        double dt = vkr_now_s() - t0;
        uint32_t reseeded = 0;
        bool check = reseed && (e + 1) % reseed_every == 0 && (e + 1) * 5 <= epochs * 4;
        if (check || e + 1 == epochs) s = rq_params_sync(ex, t->train.g, t->r, true);
        if (s == VKR_OK && check) {
            s = rq_reseed(t, &reseeded);
            if (s == VKR_OK && reseeded) s = rq_params_sync(ex, t->train.g, t->r, false);
            t->r->reseeded += reseeded;
        }
        t->done_epochs++;
        if (s == VKR_OK && t->o->progress) {
            double elapsed = vkr_now_s() - t->start;
            vkr_rqvae_progress p = {.phase = phase, .epoch = e + 1, .epochs = epochs, .loss = loss_sum / steps,
                                    .items_per_s = dt > 0 ? (double)steps * B / dt : 0, .reseeded = reseeded,
                                    .eta_s = elapsed / t->done_epochs * (t->total_epochs - t->done_epochs)};
            t->o->progress(t->o->user, &p);
        }
    }
    vkr_exec_destroy(ex);
    return s;
}

static vkr_status rq_check_inputs(const vkr_rqvae_config* c, const float* emb, uint32_t n, const uint8_t* dom) {
    if (!emb || n == 0) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: no item embeddings (n = %u)", n);
    if (c->codes > n) /* k-means cannot fill more codes than there are items: the work would be wasted */
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: %u codes per level for %u items; at most %u codes (one per "
                        "item) can be used", c->codes, n, n);
    VKR_TRY(vkr_check_vectors("rqvae: item embeddings", emb, n, c->input_dim));
    if (!c->adapters) return VKR_OK;
    if (!dom) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: adapters need item domains");
    for (uint32_t i = 0; i < n; i++)
        if (dom[i] >= c->domains)
            return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "rqvae: item %u has domain %u, but there are %u domains", i, dom[i],
                            c->domains);
    return VKR_OK;
}

/* The collapse error: the rule's message (vkr_last_error(), just set by a failed check) with what the
 * input held and what to try. */
static vkr_status rq_collapse_error(const vkr_rqvae_result* out, uint32_t n) {
    return vkr_semid_collapse_error("rqvae", out->distinct_rows, n, out->no_signal,
                                    "more epochs, a lower learning rate, fewer codes per level, or embeddings with "
                                    "more signal (item text)");
}

/* What the adapters did: each domain's mean routing weights, and the items whose nearest codes differ
 * from those with the adapters off (the universal phase's). */
static void rq_adapter_report(rq_trainer* t) {
    const vkr_rqvae_config* c = t->c;
    vkr_rqvae_result* out = t->r;
    const uint32_t L = c->levels, E = c->domains + 1;
    uint32_t count[VKR_RQVAE_MAX_DOMAINS] = {0};
    double sum[VKR_RQVAE_MAX_DOMAINS][VKR_RQVAE_MAX_DOMAINS + 1] = {{0}};
    for (uint32_t i = 0; i < t->n; i++) {
        count[t->dom[i]]++;
        for (uint32_t e = 0; e < E; e++) sum[t->dom[i]][e] += t->route[(size_t)i * E + e];
        out->adapter_changed += memcmp(t->codes + (size_t)i * L, t->universal_codes + (size_t)i * L,
                                       L * sizeof *t->codes) != 0;
    }
    for (uint32_t d = 0; d < c->domains; d++)
        for (uint32_t e = 0; e < E; e++) out->route_mean[d][e] = count[d] ? (float)(sum[d][e] / count[d]) : 0.0f;
}

/* After training: the uniform mapping of the last level, the spread paths of the signal-free items,
 * the IDs and statistics of all n items, the losses, and the collapse check. */
static vkr_status rq_finish(rq_trainer* t, const float* emb, const vkr_semid_rows* rows, uint32_t n) {
    const vkr_rqvae_config* c = t->c;
    vkr_rqvae_result* out = t->r;
    const uint32_t L = c->levels, K = c->codes, D = c->latent;
    double sq_err = 0;
    VKR_TRY(rq_refresh(t, &sq_err));
    out->no_signal = n - rows->n;
    VKR_TRY(vkr_semid_rows_distinct(emb, rows, &out->distinct_rows));
    /* the model's own codes must use every level before the uniform mapping spreads the last one:
     * spreading a collapsed level over the last level's codes would hide the collapse, not cure it
     * (and a collapsed prefix would make the mapping's plans as wide as the input). Items per path
     * are judged after the mapping, which exists to cut them. */
    VKR_TRY(vkr_semantic_ids_build(t->codes, t->n, L, K, NULL, &out->nearest_stats));
    if (vkr_semid_check_levels(&out->nearest_stats) != VKR_OK) return rq_collapse_error(out, n);
    if (t->universal_codes) rq_adapter_report(t);
    float* cb = rq_codebooks(t);
    rq_level_residuals(c, t->z, cb, t->codes, t->n, L - 1, t->resid);
    if (!t->o->no_balance)
        VKR_TRY(vkr_balance_last_level(t->resid, cb + (size_t)(L - 1) * K * D, t->n, D, K, L, t->codes,
                                       &out->balanced));
    out->recon_loss = sq_err / ((double)t->n * c->input_dim);
    vkr_rq_params rp = {.rows = t->n, .levels = L, .codes = K, .dim = D, .beta = c->beta};
    float ql = 0;
    VKR_TRY(vkr_ref_rq_loss(&rp, t->z, cb, t->codes, &ql));
    out->quant_loss = ql;
    vkr_semid_ids ids;
    vkr_status s = vkr_semid_rows_finish(rows, t->codes, n, L, K, &ids);
    out->codes = ids.codes;
    out->ids = ids.ids;
    out->stats = ids.stats;
    out->signal_stats = ids.signal_stats;
    if (s == VKR_ERR_STATE) return rq_collapse_error(out, n);
    return s;
}

vkr_status vkr_rqvae_train(const vkr_rqvae_config* config, const vkr_rqvae_train_options* options, const float* emb,
                           uint32_t n, const uint8_t* item_domain, vkr_rqvae_result* out) {
    if (!out) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_rqvae_train: out_result is NULL");
    memset(out, 0, sizeof *out);
    if (!options) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_rqvae_train: options is NULL");
    vkr_rqvae_config c;
    VKR_TRY(vkr_rqvae_config_resolve(config, &c));
    /* the default codebook shrinks to small data; an explicit size is checked against it below */
    if (config && !config->codes && c.codes > n && n > 0) c.codes = n;
    VKR_TRY(rq_check_inputs(&c, emb, n, item_domain));
    vkr_semid_rows rows;
    VKR_TRY(vkr_semid_rows_build("rqvae", emb, n, c.input_dim, &rows));
    const uint32_t m = rows.n; /* training rows */
    vkr_rqvae_train_options o = *options;
    if (!o.batch) o.batch = 256;
    if (o.batch > m) o.batch = m;
    if (!o.epochs) { /* about VKR_RQVAE_DEFAULT_STEPS steps, 10..200 epochs */
        uint32_t per_epoch = (m + o.batch - 1) / o.batch;
        o.epochs = (VKR_RQVAE_DEFAULT_STEPS + per_epoch - 1) / per_epoch;
        o.epochs = o.epochs < 10 ? 10 : o.epochs > 200 ? 200 : o.epochs;
    }
    if (!o.adapter_epochs) o.adapter_epochs = o.epochs / 4 ? o.epochs / 4 : 1;
    if (!c.adapters) o.adapter_epochs = 0;
    if (!(o.lr > 0)) o.lr = 1e-3f;
    if (!(o.adapter_lr > 0)) o.adapter_lr = o.lr;
    out->config = c;
    out->options = o;
    out->items = n;
    rq_trainer t = {.c = &c, .o = &o, .emb = rows.x, .scale = rows.scale, .n = m, .r = out,
                    .start = vkr_now_s(), .total_epochs = (double)o.epochs + o.adapter_epochs};
    uint32_t eval_batch = m < RQ_EVAL_BATCH ? m : RQ_EVAL_BATCH;
    vkr_status s = rq_graph_build(&c, o.batch, true, o.seed, &t.train);
    if (s == VKR_OK) s = rq_graph_build(&c, eval_batch, false, o.seed, &t.eval);
    if (s == VKR_OK) s = rq_batch_alloc(&c, o.batch, &t.tb);
    if (s == VKR_OK) s = rq_batch_alloc(&c, eval_batch, &t.eb);
    if (s == VKR_OK) s = rq_params_alloc(t.train.g, out);
    t.z = malloc((size_t)m * c.latent * sizeof *t.z);
    t.resid = malloc((size_t)m * c.latent * sizeof *t.resid);
    t.codes = malloc((size_t)m * c.levels * sizeof *t.codes);
    if (c.adapters) {
        t.route = malloc((size_t)m * (c.domains + 1) * sizeof *t.route);
        t.universal_codes = malloc((size_t)m * c.levels * sizeof *t.universal_codes);
        if (s == VKR_OK && (!t.route || !t.universal_codes))
            s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rqvae: out of host memory for %u items", n);
    }
    t.perm = malloc((size_t)m * sizeof *t.perm);
    t.idx = malloc((size_t)o.batch * sizeof *t.idx);
    uint8_t* dom = c.adapters ? malloc(m) : NULL; /* each row's domain */
    for (uint32_t r = 0; dom && r < m; r++) dom[r] = item_domain[rows.item[r]];
    t.dom = dom;
    if (s == VKR_OK && (!t.z || !t.resid || !t.codes || !t.perm || !t.idx || (c.adapters && !dom)))
        s = vkr_fail(VKR_ERR_OUT_OF_HOST_MEMORY, "rqvae: out of host memory for %u items", n);
    if (s == VKR_OK) /* initial weights: a throwaway executor fills them from the initializers */
        s = vkr_exec_create(t.eval.g, &(vkr_exec_options){.device = o.device}, &t.eval_ex);
    if (s == VKR_OK) s = vkr_exec_init_params(t.eval_ex, o.seed);
    if (s == VKR_OK) s = rq_params_sync(t.eval_ex, t.eval.g, out, true);
    if (s == VKR_OK && c.adapters) { /* the router's prior: an item's own domain's adapter */
        vkr_rqvae_param* u = (vkr_rqvae_param*)vkr_rqvae_result_param(out, "router.u");
        for (uint32_t d = 0; u && d < c.domains; d++) u->data[(size_t)d * (c.domains + 1) + d + 1] = VKR_RQVAE_ROUTER_PRIOR;
    }
    if (s == VKR_OK) s = rq_kmeans_init(&t);
    const float universal[GROUP_COUNT] = {1, 1, 0}, adapters[GROUP_COUNT] = {0, 0, 1};
    if (s == VKR_OK) s = rq_phase(&t, "universal", o.epochs, o.lr, universal, true);
    if (s == VKR_OK && c.adapters) { /* the adapters' B start at 0: these are the codes with the adapters off */
        s = rq_refresh(&t, NULL);
        if (s == VKR_OK) memcpy(t.universal_codes, t.codes, (size_t)m * c.levels * sizeof *t.codes);
        if (s == VKR_OK) s = vkr_semantic_ids_build(t.codes, m, c.levels, c.codes, NULL, &out->universal_stats);
    }
    if (s == VKR_OK && o.adapter_epochs) s = rq_phase(&t, "adapters", o.adapter_epochs, o.adapter_lr, adapters, false);
    if (s == VKR_OK) s = rq_finish(&t, emb, &rows, n);
    for (uint32_t i = 0; i < out->param_count && s == VKR_OK; i++) /* the stage never hands out a broken model */
        s = vkr_check_tensor_finite("rqvae: the trained tokenizer", out->params[i].name, out->params[i].data,
                                    out->params[i].numel);
    out->seconds = vkr_now_s() - t.start;
    vkr_exec_destroy(t.eval_ex);
    rq_graph_destroy(&t.train);
    rq_graph_destroy(&t.eval);
    rq_batch_free(&t.tb);
    rq_batch_free(&t.eb);
    vkr_semid_rows_free(&rows);
    free(dom);
    free(t.z);
    free(t.resid);
    free(t.codes);
    free(t.route);
    free(t.universal_codes);
    free(t.perm);
    free(t.idx);
    if (s != VKR_OK) vkr_rqvae_result_free(out);
    return s;
}

vkr_status vkr_rqvae_save(const vkr_rqvae_result* r, const char* path) {
    if (!r || !path || !r->param_count) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "vkr_rqvae_save: nothing to save");
    vkr_st_writer* w = NULL;
    VKR_TRY(vkr_st_writer_create(&w));
    vkr_status s = VKR_OK;
    for (uint32_t i = 0; i < r->param_count && s == VKR_OK; i++)
        s = vkr_st_writer_add(w, r->params[i].name, VKR_ELEM_F32, r->params[i].ndim, r->params[i].shape,
                              r->params[i].data);
    const vkr_rqvae_config* c = &r->config;
    char hidden[64] = "", buf[64];
    for (uint32_t i = 0; i < c->hidden_count; i++) {
        snprintf(buf, sizeof buf, "%s%u", i ? "," : "", c->hidden[i]);
        strncat(hidden, buf, sizeof hidden - strlen(hidden) - 1);
    }
    struct {
        const char* key;
        double value;
    } nums[] = {{"input_dim", c->input_dim}, {"latent", c->latent}, {"levels", c->levels}, {"codes", c->codes},
                {"beta", c->beta}, {"domains", c->domains}, {"lora_rank", c->lora_rank}, {"balance", c->balance},
                {"items", r->items}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0] && s == VKR_OK; i++) {
        snprintf(buf, sizeof buf, "%.9g", nums[i].value);
        s = vkr_st_writer_set_metadata(w, nums[i].key, buf);
    }
    if (s == VKR_OK) s = vkr_st_writer_set_metadata(w, "hidden", hidden);
    if (s == VKR_OK) s = vkr_st_writer_set_metadata(w, "adapters", c->adapters ? "true" : "false");
    if (s == VKR_OK) s = vkr_st_writer_set_metadata(w, "format", "vkrec-rqvae-1");
    if (s == VKR_OK) s = vkr_st_writer_write(w, path);
    vkr_st_writer_destroy(w);
    return s;
}
