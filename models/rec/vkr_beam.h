/* Constrained beam search over the semantic-ID trie (vkr_trie.h): one decoding step turns the
 * decoder's per-level logits into the next beams, keeping only code paths that are prefixes of
 * items in the trie, so every finished beam is a valid item of that trie (of one domain, or all).
 *
 * Contract:
 * - State per user b and beam w, two arrays:
 *     int32 state_i[batch][width][2 + depth] = {node, alive, tok_0 .. tok_{depth-1}}
 *     float state_f[batch][width]            = cumulative log-probability (-INFINITY when dead)
 *   The input state of a step has in_width beams per user (same layout, in_width for width).
 *   Tokens after `level` are 0; a dead beam is {node 0, alive 0, all tokens 0}, score -INFINITY.
 * - logits: float [batch * in_width][vocab]; row b * in_width + w belongs to input beam w of user b.
 * - One step: an input beam is usable when alive != 0, its node lies at depth `level` of the trie
 *   (level_begin[level] <= node < level_begin[level + 1]), its child edges lie inside the edge
 *   section and it has at most `vocab` children. Each child edge e of a usable beam with
 *   child_token[e] < vocab gets lp(e) = logit[child_token[e]] - logsumexp over the logits of the
 *   node's children (log-softmax restricted to the valid children), and the candidate score is
 *   beam score + lp(e). Candidates scoring -INFINITY are impossible and dropped. Per user the
 *   `width` best candidates (ties: lower input beam index, then lower edge index) become the
 *   output beams in descending score order: node = child_node[e], alive = 1, tokens = the
 *   parent's before `level`, child_token[e] at `level`. Missing candidates give dead beams.
 * - Bit-exact on every device: logits and scores are canonicalized (NaN -> -INFINITY, +INFINITY
 *   -> FLT_MAX, subnormals -> +0), every arithmetic result is flushed the same way, and exp/log are
 *   fixed polynomials in correctly rounded float multiplies and adds (shaders/beam_math.glsl and
 *   models/vkr_beam.c mirror each other: same constants, same operation order), so the GPU step
 *   equals the CPU reference bit for bit, and the same logits rank the same items on any vendor.
 *   logsumexp = m + log(s), m the largest logit of the children, s the sum of exp(x - m) over
 *   blocks of VKR_BEAM_LSE_BLOCK children in edge order (each block summed in order, then the
 *   block sums in order: the GPU sums blocks in parallel); exp and log are accurate to about 1e-7.
 * - The GPU step never reads outside its bindings: the trie header is checked against the bound
 *   buffer (magic, depth, every section inside it; otherwise every output beam is dead), and
 *   malformed state (node out of range or at the wrong depth) makes a beam unusable.
 * - Invalid parameters return VKR_ERR_INVALID_ARGUMENT with a message naming the argument; the GPU
 *   recorder then records nothing. */
#ifndef VKR_BEAM_H
#define VKR_BEAM_H
#include <stdint.h>

#include "vkr_runtime.h"
#include "vkr_trie.h"

#define VKR_BEAM_MAX_WIDTH 256u            /* most beams per user (width and in_width) */
#define VKR_BEAM_MAX_VOCAB 8192u           /* most logits per row */
#define VKR_BEAM_MAX_CANDIDATES (1u << 19) /* most in_width * vocab per user (bounds GPU loop lengths) */
#define VKR_BEAM_LSE_BLOCK 16u             /* children per block of the logsumexp sum */

/* Shape of one beam-search step. */
typedef struct vkr_beam_params {
    uint32_t batch;    /* users */
    uint32_t width;    /* beams kept per user, W (1..VKR_BEAM_MAX_WIDTH) */
    uint32_t in_width; /* beams per user in the input state (1 at level 0, W after) */
    uint32_t depth;    /* tokens per ID (trie depth) */
    uint32_t level;    /* the token position this step chooses, 0..depth-1 */
    uint32_t vocab;    /* logits per row (codes at this level; >= 1 + largest child token) */
} vkr_beam_params;

/* Checks the shape alone (no trie): every field in range, element counts below 2^32. */
vkr_status vkr_beam_check_params(const vkr_beam_params* p);

/* CPU reference of one step; trie_words is the packed image (vkr_trie_pack). Besides the shape it
 * checks the trie header (magic, depth == p->depth, p->vocab >= the trie's vocab at `level`). */
vkr_status vkr_ref_beam_step(const vkr_beam_params* p, const uint32_t* trie_words, const float* logits,
                             const int32_t* in_i, const float* in_f, int32_t* out_i, float* out_f);

/* GPU: records one step (shaders/beam_step.comp, one workgroup per user). `trie` is the uploaded
 * buffer from its header on (vkr_trie_gpu.buf at offset 0, or vkr_trie_gpu.header): only its buffer
 * and offset matter, the kernel binds up to the end of the buffer and bounds every read by it.
 * The other ranges need their element counts (VKR_WHOLE_SIZE: to the end of the buffer); the
 * outputs must not overlap the inputs. */
vkr_status vkr_gpu_beam_step(vkr_sequence* seq, const vkr_beam_params* p, vkr_range trie, vkr_range logits,
                             vkr_range in_i, vkr_range in_f, vkr_range out_i, vkr_range out_f);

/* After the last level: the item of each alive beam whose node is a leaf (leaf_item), in beam
 * order, else -1; out_scores the beam's score, or -INFINITY where the item is -1. out_items and
 * out_scores are [batch][width]; p->level and p->in_width are not used. */
vkr_status vkr_beam_items(const vkr_beam_params* p, const uint32_t* trie_words, const int32_t* state_i,
                          const float* state_f, int32_t* out_items, float* out_scores);

/* The prefix tokens of every beam for the next level's decoder: tok[r][j] = offset[j] + code j of
 * beam row r (rows = users x beams, state layout as above) when the beam is alive, else 0, for
 * j < count <= depth. */
vkr_status vkr_ref_beam_tokens(uint32_t rows, uint32_t depth, uint32_t count, const uint32_t* offset,
                               const int32_t* state_i, int32_t* tok);
/* GPU: records vkr_ref_beam_tokens (shaders/beam_tokens.comp) from `state_i` into `tok`. */
vkr_status vkr_gpu_beam_tokens(vkr_sequence* seq, uint32_t rows, uint32_t depth, uint32_t count, const uint32_t* offset,
                               vkr_range state_i, vkr_range tok);

/* Level-0 input state: one alive root beam per user (in_width = 1), score 0, tokens 0. */
vkr_status vkr_beam_init_host(uint32_t batch, uint32_t depth, int32_t* state_i, float* state_f);

/* The restricted log-probabilities of the children of `node` from its logits row (vocab entries),
 * computed exactly as the step does: lp[j] for edge first_child[node] + j, -INFINITY for a child
 * whose token is >= vocab or whose logit is -INFINITY/NaN. *out_count = the node's children
 * (lp needs that many entries, at most vocab; more is an error). */
vkr_status vkr_beam_child_logprobs(const uint32_t* trie_words, uint32_t node, const float* logits_row, uint32_t vocab,
                                   float* lp, uint32_t* out_count);

/* A candidate's score from its beam's score and its log-probability, rounded as the step does. */
float vkr_beam_add_score(float score, float lp);

#endif
