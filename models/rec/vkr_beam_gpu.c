/* GPU recorder of the constrained beam-search step (shaders/beam_step.comp): argument and range
 * checks, then one dispatch of one workgroup per user. */
#include <string.h>

#include "vkr_beam.h"

/* Bytes of shared memory beam_step.comp uses besides its key cache (rounded up) */
#define VKR_BEAM_SHARED_FIXED 10240u

/* Candidate keys the kernel keeps in shared memory: the largest power of two up to 8192 that fits
 * beside its other 9.3 KiB of shared arrays (4096 on lavapipe's 32 KiB); 1 when none fits. */
static uint32_t key_cache_entries(uint32_t shared_bytes) {
    uint32_t room = shared_bytes > VKR_BEAM_SHARED_FIXED ? (shared_bytes - VKR_BEAM_SHARED_FIXED) / 4 : 0, n = 1;
    while (n * 2 <= room && n < 8192) n *= 2;
    return n;
}

vkr_status vkr_gpu_beam_step(vkr_sequence* seq, const vkr_beam_params* p, vkr_range trie, vkr_range logits,
                             vkr_range in_i, vkr_range in_f, vkr_range out_i, vkr_range out_f) {
    VKR_TRY(vkr_beam_check_params(p));
    if (!seq) return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_step: sequence is NULL");
    const uint32_t S = 2 + p->depth;
    vkr_range r[6];
    /* the trie binds from its header to the end of its buffer: section offsets count from there */
    r[0] = (vkr_range){trie.buffer, trie.offset, VKR_WHOLE_SIZE};
    VKR_TRY(vkr_range_check(r[0], 4ull * VKR_TRIE_HEADER_WORDS, "beam_step", "trie"));
    VKR_TRY(vkr_range_take_words(logits, (uint64_t)p->batch * p->in_width * p->vocab, "beam_step", "logits", &r[1]));
    VKR_TRY(vkr_range_take_words(in_i, (uint64_t)p->batch * p->in_width * S, "beam_step", "in_i", &r[2]));
    VKR_TRY(vkr_range_take_words(in_f, (uint64_t)p->batch * p->in_width, "beam_step", "in_f", &r[3]));
    VKR_TRY(vkr_range_take_words(out_i, (uint64_t)p->batch * p->width * S, "beam_step", "out_i", &r[4]));
    VKR_TRY(vkr_range_take_words(out_f, (uint64_t)p->batch * p->width, "beam_step", "out_f", &r[5]));
    static const char* const names[6] = {"trie", "logits", "in_i", "in_f", "out_i", "out_f"};
    for (int o = 4; o < 6; o++)
        for (int i = 0; i < o; i++)
            if (vkr_ranges_overlap(&r[o], &r[i]))
                return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_step: %s overlaps %s", names[o], names[i]);
    /* invocations per user: lavapipe pays for every instruction and barrier once per 8 of them,
     * so small candidate bounds get 32 (at most 512 per invocation and pass) or 64; GPUs gain
     * from 256 on large ones */
    uint64_t bound = (uint64_t)p->in_width * p->vocab;
    uint32_t wg = bound <= (1u << 14) ? 32 : bound <= (1u << 16) ? 64 : 256;
    vkr_device* dev = vkr_sequence_device(seq);
    const vkr_device_info* info = vkr_device_get_info(dev);
    vkr_kernel_desc d = {.shader = "beam_step",
                         .binding_count = 6,
                         .access = {VKR_READ, VKR_READ, VKR_READ, VKR_READ, VKR_WRITE, VKR_WRITE},
                         .push_bytes = 24,
                         .spec_count = 2,
                         .spec = {wg, key_cache_entries(info->shared_memory_bytes)}};
    struct {
        uint32_t batch, width, in_width, depth, level, vocab;
    } push = {p->batch, p->width, p->in_width, p->depth, p->level, p->vocab};
    /* one workgroup per user, folded into a 2-D grid past maxComputeWorkGroupCount[0] */
    const uint32_t* max = info->max_workgroup_count;
    uint32_t gx = p->batch < max[0] ? p->batch : max[0];
    uint32_t gy = (p->batch + gx - 1) / gx;
    if (gy > max[1])
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_step: batch %u exceeds the device's %u x %u workgroup grid",
                        p->batch, max[0], max[1]);
    vkr_kernel* k = NULL;
    VKR_TRY(vkr_kernel_get(dev, &d, &k));
    return vkr_sequence_dispatch(seq, k, r, 6, &push, sizeof push, gx, gy, 1);
}

vkr_status vkr_gpu_beam_tokens(vkr_sequence* seq, uint32_t rows, uint32_t depth, uint32_t count, const uint32_t* offset,
                               vkr_range state_i, vkr_range tok) {
    if (!seq || depth == 0 || depth > VKR_TRIE_MAX_DEPTH || count == 0 || count > depth || count > 8 || !offset)
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_tokens: NULL sequence or offsets, depth %u, count %u", depth,
                        count);
    vkr_range r[2];
    VKR_TRY(vkr_range_take_words(state_i, (uint64_t)rows * (2 + depth), "beam_tokens", "state_i", &r[0]));
    VKR_TRY(vkr_range_take_words(tok, (uint64_t)rows * count, "beam_tokens", "tok", &r[1]));
    if (vkr_ranges_overlap(&r[1], &r[0]))
        return vkr_fail(VKR_ERR_INVALID_ARGUMENT, "beam_tokens: tok overlaps state_i");
    struct {
        uint32_t rows, depth, count, offset[8];
    } push = {rows, depth, count, {0}};
    memcpy(push.offset, offset, count * sizeof *offset);
    vkr_kernel_desc d = {.shader = "beam_tokens", .binding_count = 2, .access = {VKR_READ, VKR_WRITE},
                         .push_bytes = sizeof push};
    return vkr_sequence_dispatch_grid(seq, &d, r, &push, (rows + 63) / 64);
}
