/* Training end to end on both backends: an MLP learns XOR, a 2-block causal transformer overfits a
 * toy next-token task, runs are bitwise reproducible, checkpoints round-trip and resume exactly,
 * parameters copy between executors, the gradient hook keeps its contract on both backends, and
 * executors sharing parameters train one set of weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vkr_exec.h"
#include "vkr_graph_ops.h"
#include "vkr_test.h"
#include "vkr_transformer.h"


/* ---- XOR --------------------------------------------------------------------------------- */

typedef struct xor_model {
    vkr_graph* g;
    vkr_tensor *x, *y, *logits, *loss;
} xor_model;

static void xor_build(xor_model* m) {
    VKR_ASSERT_OK(vkr_graph_create(3, &m->g));
    m->x = vkr_graph_input(m->g, "x", VKR_F32, 2, (uint32_t[]){4, 2});
    m->y = vkr_graph_input(m->g, "y", VKR_F32, 2, (uint32_t[]){4, 1});
    vkr_tensor* h = vkr_op_tanh(m->g, vkr_tf_linear(m->g, "l1", m->x, 2, 8, true, 0));
    m->logits = vkr_graph_keep(vkr_tf_linear(m->g, "l2", h, 8, 1, true, 0));
    m->loss = vkr_op_bce_logits(m->g, m->logits, m->y);
    VKR_ASSERT_OK(vkr_graph_backward(m->g, m->loss));
}

static void xor_learns(vkr_device* dev) {
    xor_model m;
    xor_build(&m);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = 0.05f}, .beta1 = 0.9f, .beta2 = 0.999f,
                           .eps = 1e-8f};
    vkr_exec* ex = NULL;
    VKR_ASSERT_OK(vkr_exec_create(m.g, &(vkr_exec_options){.device = dev, .optimizer = &oc, .training = true}, &ex));
    VKR_ASSERT_OK(vkr_exec_init_params(ex, 42));
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    VKR_ASSERT_OK(vkr_exec_write(ex, m.x, x, sizeof x));
    VKR_ASSERT_OK(vkr_exec_write(ex, m.y, y, sizeof y));
    float loss = 0;
    for (int step = 0; step < 300; step++) VKR_ASSERT_OK(vkr_exec_run(ex));
    VKR_ASSERT_OK(vkr_exec_read(ex, m.loss, &loss, 4));
    float logits[4];
    VKR_ASSERT_OK(vkr_exec_read(ex, m.logits, logits, sizeof logits));
    if (!(loss < 0.05f)) fail_msg("XOR loss %g after 300 steps on %s", loss, dev ? "GPU" : "CPU");
    for (int i = 0; i < 4; i++) assert_true((logits[i] > 0) == (y[i] > 0.5f));
    vkr_exec_destroy(ex);
    vkr_graph_destroy(m.g);
}

static void test_xor_cpu(void** state) {
    (void)state;
    xor_learns(NULL);
}

static void test_xor_gpu(void** state) {
    (void)state;
    xor_learns(vkr_test_shared.device);
}

/* ---- toy next-token transformer ------------------------------------------------------------ */

enum { TB = 8, TT = 8, TV = 13, TD = 32 };

typedef struct toy {
    vkr_graph* g;
    vkr_tensor *ids, *mask, *targets, *loss;
} toy;

static void toy_build(toy* m, float dropout, vkr_tf_style style) {
    VKR_ASSERT_OK(vkr_graph_create(5, &m->g));
    vkr_graph* g = m->g;
    m->ids = vkr_graph_input(g, "ids", VKR_I32, 2, (uint32_t[]){TB, TT});
    m->mask = vkr_graph_input(g, "mask", VKR_I32, 2, (uint32_t[]){TB, TT});
    m->targets = vkr_graph_input(g, "targets", VKR_I32, 1, (uint32_t[]){TB * TT});
    vkr_tensor* emb = vkr_graph_param_init(g, "emb", 2, (uint32_t[]){TV, TD}, 0, VKR_INIT_NORMAL, 0.1f);
    vkr_tensor* pos = vkr_graph_param_init(g, "pos", 2, (uint32_t[]){TT, TD}, 0, VKR_INIT_NORMAL, 0.1f);
    vkr_tensor* x = vkr_op_add(g, vkr_op_embedding(g, emb, m->ids), pos);
    vkr_tf_config c = {.style = style, .blocks = 2, .hidden = TD, .heads = 2, .ffn_mult = 2, .dropout = dropout,
                       .causal = true};
    vkr_tensor* h = vkr_tf_encoder(g, "enc", &c, x, m->mask);
    vkr_tensor* logits = vkr_op_matmul(g, vkr_op_reshape(g, h, 2, (uint32_t[]){TB * TT, TD}), emb, NULL, false, true);
    m->loss = vkr_op_cross_entropy(g, logits, m->targets, -1);
    assert_int_equal(vkr_graph_status(g), VKR_OK);
    VKR_ASSERT_OK(vkr_graph_backward(g, m->loss));
}

/* Sequences follow next = (3 * cur + 1) mod V from a per-row start; some rows are left-padded. */
static void toy_batch(vkr_exec* ex, const toy* m) {
    int32_t ids[TB * TT], mask[TB * TT], tg[TB * TT];
    for (int b = 0; b < TB; b++) {
        int pad = b % 3 == 2 ? 2 : 0;
        int32_t cur = b % TV;
        for (int t = 0; t < TT; t++) {
            int i = b * TT + t;
            bool real = t >= pad;
            ids[i] = real ? cur : 0;
            mask[i] = real;
            int32_t next = (3 * cur + 1) % TV;
            tg[i] = real ? next : -1;
            if (real) cur = next;
        }
    }
    VKR_ASSERT_OK(vkr_exec_write(ex, m->ids, ids, sizeof ids));
    VKR_ASSERT_OK(vkr_exec_write(ex, m->mask, mask, sizeof mask));
    VKR_ASSERT_OK(vkr_exec_write(ex, m->targets, tg, sizeof tg));
}

static vkr_optim_config toy_optim(void) {
    return (vkr_optim_config){.kind = VKR_OPTIM_ADAMW, .schedule = {.peak_lr = 3e-3f, .min_lr = 3e-4f, .warmup_steps = 10,
                                                                     .total_steps = 200, .decay = VKR_LR_COSINE},
                              .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f, .weight_decay = 0.01f, .clip_norm = 1.0f};
}

static vkr_exec* toy_exec(const toy* m, vkr_device* dev, const vkr_optim_config* oc) {
    vkr_exec* ex = NULL;
    VKR_ASSERT_OK(vkr_exec_create(m->g, &(vkr_exec_options){.device = dev, .optimizer = oc, .training = true}, &ex));
    VKR_ASSERT_OK(vkr_exec_init_params(ex, 1234));
    toy_batch(ex, m);
    return ex;
}

static void toy_overfits(vkr_device* dev, vkr_tf_style style) {
    toy m;
    toy_build(&m, 0.0f, style);
    vkr_optim_config oc = toy_optim();
    vkr_exec* ex = toy_exec(&m, dev, &oc);
    float first = 0, loss = 0;
    for (int step = 0; step < 200; step++) {
        VKR_ASSERT_OK(vkr_exec_run(ex));
        if (step == 0) VKR_ASSERT_OK(vkr_exec_read(ex, m.loss, &first, 4));
    }
    VKR_ASSERT_OK(vkr_exec_read(ex, m.loss, &loss, 4));
    /* log(13) = 2.56 at chance; the rule is deterministic, so the model must nearly memorize it */
    if (!(first > 2.0f && loss < 0.1f)) fail_msg("toy transformer: loss %g -> %g on %s", first, loss, dev ? "GPU" : "CPU");
    vkr_optim_scalars sc;
    VKR_ASSERT_OK(vkr_exec_optim_scalars(ex, &sc));
    assert_int_equal(sc.step, 200);
    vkr_exec_destroy(ex);
    vkr_graph_destroy(m.g);
}

static void test_transformer_overfits_cpu(void** state) {
    (void)state;
    toy_overfits(NULL, VKR_TF_PRENORM);
    toy_overfits(NULL, VKR_TF_SASREC);
}

static void test_transformer_overfits_gpu(void** state) {
    (void)state;
    toy_overfits(vkr_test_shared.device, VKR_TF_PRENORM);
    toy_overfits(vkr_test_shared.device, VKR_TF_SASREC);
}

/* The SASRec-style block (separate Q and KV projections, dropout on the attention weights, ReLU) gives
 * the same losses on both backends from the same parameters, dropout included. */
static void test_sasrec_style_backends_agree(void** state) {
    (void)state;
    float loss[2][4];
    for (int backend = 0; backend < 2; backend++) {
        toy m;
        toy_build(&m, 0.2f, VKR_TF_SASREC);
        assert_non_null(vkr_graph_find(m.g, "enc.block0.q.w"));
        assert_non_null(vkr_graph_find(m.g, "enc.block1.kv.w"));
        assert_null(vkr_graph_find(m.g, "enc.block0.qkv.w"));
        vkr_optim_config oc = toy_optim();
        vkr_exec* ex = toy_exec(&m, backend ? vkr_test_shared.device : NULL, &oc);
        for (int s = 0; s < 4; s++) {
            VKR_ASSERT_OK(vkr_exec_run(ex));
            VKR_ASSERT_OK(vkr_exec_read(ex, m.loss, &loss[backend][s], 4));
        }
        vkr_exec_destroy(ex);
        vkr_graph_destroy(m.g);
    }
    for (int s = 0; s < 4; s++)
        if (fabsf(loss[0][s] - loss[1][s]) > 1e-3f * fabsf(loss[0][s]))
            fail_msg("step %d: CPU loss %.6f, GPU loss %.6f", s, (double)loss[0][s], (double)loss[1][s]);
}

/* ---- determinism and resume -------------------------------------------------------------- */

static void losses(vkr_device* dev, float dropout, int steps, float* out) {
    toy m;
    toy_build(&m, dropout, VKR_TF_PRENORM);
    vkr_optim_config oc = toy_optim();
    vkr_exec* ex = toy_exec(&m, dev, &oc);
    for (int s = 0; s < steps; s++) {
        VKR_ASSERT_OK(vkr_exec_run(ex));
        VKR_ASSERT_OK(vkr_exec_read(ex, m.loss, &out[s], 4));
    }
    vkr_exec_destroy(ex);
    vkr_graph_destroy(m.g);
}

static void test_same_seed_same_losses(void** state) {
    (void)state;
    float a[6], b[6];
    for (int backend = 0; backend < 2; backend++) {
        vkr_device* dev = backend ? vkr_test_shared.device : NULL;
        losses(dev, 0.1f, 6, a);
        losses(dev, 0.1f, 6, b);
        assert_memory_equal(a, b, sizeof a); /* bitwise */
    }
}

static void read_params(vkr_exec* ex, vkr_graph* g, float** out, uint64_t* n) {
    *n = 0;
    for (uint32_t i = 0; i < vkr_graph_tensor_count(g); i++)
        if (vkr_graph_tensor(g, i)->role == VKR_ROLE_PARAM) *n += vkr_graph_tensor(g, i)->numel;
    *out = malloc(*n * 4);
    uint64_t at = 0;
    for (uint32_t i = 0; i < vkr_graph_tensor_count(g); i++) {
        vkr_tensor* t = vkr_graph_tensor(g, i);
        if (t->role != VKR_ROLE_PARAM) continue;
        VKR_ASSERT_OK(vkr_exec_read(ex, t, *out + at, t->numel * 4));
        at += t->numel;
    }
}

static void resume_matches(vkr_device* dev) {
    char path[] = "/tmp/vkrec-ckpt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    vkr_optim_config oc = toy_optim();
    /* uninterrupted: 8 steps */
    toy m;
    toy_build(&m, 0.1f, VKR_TF_PRENORM);
    vkr_exec* ex = toy_exec(&m, dev, &oc);
    for (int s = 0; s < 8; s++) VKR_ASSERT_OK(vkr_exec_run(ex));
    float* want;
    uint64_t n;
    read_params(ex, m.g, &want, &n);
    vkr_exec_destroy(ex);
    /* interrupted after 5, saved, reloaded into a fresh executor, 3 more */
    ex = toy_exec(&m, dev, &oc);
    for (int s = 0; s < 5; s++) VKR_ASSERT_OK(vkr_exec_run(ex));
    VKR_ASSERT_OK(vkr_exec_save(ex, path, (const char* []){"model", "toy", NULL}));
    vkr_exec_destroy(ex);
    ex = toy_exec(&m, dev, &oc);
    VKR_ASSERT_OK(vkr_exec_load(ex, path));
    assert_int_equal(vkr_exec_steps(ex), 5);
    for (int s = 0; s < 3; s++) VKR_ASSERT_OK(vkr_exec_run(ex));
    float* got;
    read_params(ex, m.g, &got, &n);
    assert_memory_equal(want, got, n * 4); /* bitwise, dropout masks included */
    /* a truncated checkpoint is rejected with the file named, and the executor keeps working */
    FILE* f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path, size / 2), 0);
    vkr_log_level old = vkr_log_get_level();
    assert_int_not_equal(vkr_exec_load(ex, path), VKR_OK);
    vkr_log_set_level(old);
    assert_non_null(strstr(vkr_last_error(), path));
    VKR_ASSERT_OK(vkr_exec_run(ex));
    free(want);
    free(got);
    vkr_exec_destroy(ex);
    vkr_graph_destroy(m.g);
    remove(path);
}

static void test_resume_equals_uninterrupted_cpu(void** state) {
    (void)state;
    resume_matches(NULL);
}

static void test_resume_equals_uninterrupted_gpu(void** state) {
    (void)state;
    resume_matches(vkr_test_shared.device);
}

/* ---- the gradient hook (data-parallel all-reduce) ------------------------------------------ */

typedef struct hook_probe {
    float scale;     /* what the hook multiplies every gradient by */
    uint64_t count;  /* floats it was given */
    int calls;
    bool fail;       /* return an error instead */
} hook_probe;

static vkr_status probe_hook(void* user, float* grads, uint64_t count) {
    hook_probe* p = user;
    p->calls++;
    p->count = count;
    if (p->fail) return vkr_fail(VKR_ERR_IO, "the probe hook failed");
    for (uint64_t i = 0; i < count; i++) grads[i] *= p->scale;
    return VKR_OK;
}

/* Parameters after `steps` steps of the toy model with the hook (NULL: none) installed. */
static void hooked_params(vkr_device* dev, hook_probe* probe, int steps, float** out, uint64_t* n) {
    toy m;
    toy_build(&m, 0.0f, VKR_TF_PRENORM);
    vkr_optim_config oc = {.kind = VKR_OPTIM_ADAM, .schedule = {.peak_lr = 0.01f}, .beta1 = 0.9f, .beta2 = 0.999f,
                           .eps = 1e-8f};
    vkr_exec* ex = toy_exec(&m, dev, &oc);
    if (probe) VKR_ASSERT_OK(vkr_exec_set_grad_hook(ex, probe_hook, probe));
    for (int s = 0; s < steps; s++) VKR_ASSERT_OK(vkr_exec_run(ex));
    read_params(ex, m.g, out, n);
    vkr_exec_destroy(ex);
    vkr_graph_destroy(m.g);
}

/* The hook sees every parameter gradient once per step between backward and update: an identity
 * hook changes nothing (on the GPU the step is then two submissions around a host copy), a zeroing
 * hook leaves Adam's parameters where they started, and a failing hook fails the step. */
static void hook_contract(vkr_device* dev) {
    float *plain, *same, *start, *frozen;
    uint64_t n;
    hooked_params(dev, NULL, 4, &plain, &n);
    hook_probe id = {.scale = 1.0f};
    hooked_params(dev, &id, 4, &same, &n);
    assert_int_equal(id.calls, 4);
    assert_true(id.count >= n); /* the gradients' storage, alignment padding included */
    assert_memory_equal(plain, same, n * 4);
    hooked_params(dev, NULL, 0, &start, &n);
    hook_probe zero = {.scale = 0.0f};
    hooked_params(dev, &zero, 3, &frozen, &n);
    assert_memory_equal(start, frozen, n * 4);
    toy m;
    toy_build(&m, 0.0f, VKR_TF_PRENORM);
    vkr_optim_config oc = toy_optim();
    vkr_exec* ex = toy_exec(&m, dev, &oc);
    hook_probe bad = {.fail = true};
    VKR_ASSERT_OK(vkr_exec_set_grad_hook(ex, probe_hook, &bad));
    vkr_log_level old = vkr_log_get_level();
    assert_int_equal(vkr_exec_run(ex), VKR_ERR_IO);
    vkr_log_set_level(old);
    assert_non_null(strstr(vkr_last_error(), "probe hook failed"));
    VKR_ASSERT_OK(vkr_exec_set_grad_hook(ex, NULL, NULL)); /* removed: the plain step again */
    VKR_ASSERT_OK(vkr_exec_run(ex));
    vkr_exec_destroy(ex);
    vkr_graph_destroy(m.g);
    free(plain), free(same), free(start), free(frozen);
}

static void test_grad_hook_cpu(void** state) {
    (void)state;
    hook_contract(NULL);
}

static void test_grad_hook_gpu(void** state) {
    (void)state;
    hook_contract(vkr_test_shared.device);
}

/* ---- executors sharing parameters ------------------------------------------------------------ */

/* Two executors over two builds of the toy graph share one set of weights, moments and steps:
 * steps alternated between them equal (bitwise, dropout masks included) the same steps of one
 * executor; the gradient hook reaches both; either may go first; a different graph, optimizer or
 * device is refused. */
static void sharing(vkr_device* dev) {
    vkr_optim_config oc = toy_optim();
    toy one, a, b;
    toy_build(&one, 0.1f, VKR_TF_PRENORM);
    toy_build(&a, 0.1f, VKR_TF_PRENORM);
    toy_build(&b, 0.1f, VKR_TF_PRENORM);
    vkr_exec* single = toy_exec(&one, dev, &oc);
    for (int s = 0; s < 4; s++) VKR_ASSERT_OK(vkr_exec_run(single));
    float *want, *got, *seen;
    uint64_t n;
    read_params(single, one.g, &want, &n);
    vkr_exec *ea = toy_exec(&a, dev, &oc), *eb = NULL;
    VKR_ASSERT_OK(vkr_exec_create(b.g, &(vkr_exec_options){.device = dev, .training = true, .share = ea}, &eb));
    toy_batch(eb, &b);
    for (int s = 0; s < 4; s++) VKR_ASSERT_OK(vkr_exec_run(s % 2 ? eb : ea));
    assert_int_equal(vkr_exec_steps(ea), 4);
    assert_int_equal(vkr_exec_steps(eb), 4);
    read_params(ea, a.g, &got, &n);
    read_params(eb, b.g, &seen, &n);
    assert_memory_equal(want, got, n * 4);
    assert_memory_equal(want, seen, n * 4);
    hook_probe id = {.scale = 1.0f};
    VKR_ASSERT_OK(vkr_exec_set_grad_hook(ea, probe_hook, &id));
    VKR_ASSERT_OK(vkr_exec_run(eb));
    assert_int_equal(id.calls, 1);
    VKR_ASSERT_OK(vkr_exec_set_grad_hook(eb, NULL, NULL));
    vkr_log_level old = vkr_log_get_level();
    xor_model x;
    xor_build(&x);
    vkr_exec* bad = NULL;
    assert_int_equal(vkr_exec_create(x.g, &(vkr_exec_options){.device = dev, .share = ea}, &bad),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "cannot share parameters"));
    vkr_optim_config other = oc;
    other.eps = 1e-6f;
    assert_int_equal(vkr_exec_create(one.g, &(vkr_exec_options){.device = dev, .optimizer = &other, .share = ea}, &bad),
                     VKR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vkr_last_error(), "shared optimizer"));
    vkr_device* elsewhere = dev ? NULL : vkr_test_shared.device;
    assert_int_equal(vkr_exec_create(one.g, &(vkr_exec_options){.device = elsewhere, .share = ea}, &bad),
                     VKR_ERR_INVALID_ARGUMENT);
    vkr_log_set_level(old);
    assert_null(bad);
    /* the first executor goes first: the state lives on with the second (two steps since the
     * comparison: the hooked one and this) */
    vkr_exec_destroy(ea);
    VKR_ASSERT_OK(vkr_exec_run(eb));
    for (int s = 0; s < 2; s++) VKR_ASSERT_OK(vkr_exec_run(single));
    free(want), free(seen);
    read_params(single, one.g, &want, &n);
    read_params(eb, b.g, &seen, &n);
    assert_memory_equal(want, seen, n * 4);
    free(want), free(got), free(seen);
    vkr_exec_destroy(eb);
    vkr_exec_destroy(single);
    vkr_graph_destroy(x.g);
    vkr_graph_destroy(one.g), vkr_graph_destroy(a.g), vkr_graph_destroy(b.g);
}

static void test_sharing_cpu(void** state) {
    (void)state;
    sharing(NULL);
}

static void test_sharing_gpu(void** state) {
    (void)state;
    sharing(vkr_test_shared.device);
}

/* Trained weights move between executors by name, across backends, and a missing one is named. */
static void test_copy_params_across_backends(void** state) {
    (void)state;
    xor_model a, b;
    xor_build(&a);
    xor_build(&b);
    vkr_exec *gpu = NULL, *cpu = NULL, *part_ex = NULL;
    VKR_ASSERT_OK(vkr_exec_create(a.g, &(vkr_exec_options){.device = vkr_test_shared.device}, &gpu));
    VKR_ASSERT_OK(vkr_exec_create(b.g, &(vkr_exec_options){0}, &cpu));
    VKR_ASSERT_OK(vkr_exec_init_params(gpu, 42));
    VKR_ASSERT_OK(vkr_exec_init_params(cpu, 7));
    VKR_ASSERT_OK(vkr_exec_copy_params(cpu, gpu));
    float *want, *got;
    uint64_t n, m;
    read_params(gpu, a.g, &want, &n);
    read_params(cpu, b.g, &got, &m);
    assert_int_equal(n, m);
    assert_memory_equal(want, got, n * 4);
    /* a source graph without l2 cannot fill the destination */
    vkr_graph* part;
    VKR_ASSERT_OK(vkr_graph_create(3, &part));
    vkr_tensor* x = vkr_graph_input(part, "x", VKR_F32, 2, (uint32_t[]){4, 2});
    vkr_graph_keep(vkr_tf_linear(part, "l1", x, 2, 8, true, 0));
    VKR_ASSERT_OK(vkr_exec_create(part, &(vkr_exec_options){0}, &part_ex));
    vkr_log_level old = vkr_log_get_level();
    assert_int_equal(vkr_exec_copy_params(cpu, part_ex), VKR_ERR_NOT_FOUND);
    vkr_log_set_level(old);
    assert_non_null(strstr(vkr_last_error(), "l2"));
    free(want);
    free(got);
    vkr_exec_destroy(part_ex);
    vkr_exec_destroy(cpu);
    vkr_exec_destroy(gpu);
    vkr_graph_destroy(part);
    vkr_graph_destroy(b.g);
    vkr_graph_destroy(a.g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_cpu),
        cmocka_unit_test(test_xor_gpu),
        cmocka_unit_test(test_transformer_overfits_cpu),
        cmocka_unit_test(test_transformer_overfits_gpu),
        cmocka_unit_test(test_sasrec_style_backends_agree),
        cmocka_unit_test(test_same_seed_same_losses),
        cmocka_unit_test(test_resume_equals_uninterrupted_cpu),
        cmocka_unit_test(test_resume_equals_uninterrupted_gpu),
        cmocka_unit_test(test_copy_params_across_backends),
        cmocka_unit_test(test_grad_hook_cpu),
        cmocka_unit_test(test_grad_hook_gpu),
        cmocka_unit_test(test_sharing_cpu),
        cmocka_unit_test(test_sharing_gpu),
    };
    return cmocka_run_group_tests(tests, vkr_test_group_open, vkr_test_group_close);
}
