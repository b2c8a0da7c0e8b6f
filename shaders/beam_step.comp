#version 460
#extension GL_GOOGLE_include_directive : require
// One constrained beam-search step (models/vkr_beam.h), one workgroup per user (WG = 32, 64 or 256
// invocations, specialization constant 0: the host picks few for small candidate sets, where
// lavapipe's cost per invocation dominates, and 256 for large ones).
// 1. Per input beam: validity against the trie, then the logsumexp of its node's children's
//    logits: the max, then the sum of exps in blocks of 16 children (each summed in order, the
//    block sums added in order: the CPU reference's order), blocks spread over a team of
//    invocations per beam (the whole workgroup at level 0, where one beam has every code).
//    Candidates are numbered flat, beam-major then edge order, which is exactly the tie order.
// 2. Radix select of the `width` best candidate keys (beam_key of the score), 8-bit digits from the
//    top, stopping as soon as the selected bucket holds exactly the number still wanted; shared
//    histograms with integer atomics; digit picked by one invocation over 16 chunk sums.
// 3. Gather: keys above the threshold go to any free slot; of the threshold ties the lowest flat
//    indices are taken (all when they fit, else by rank from per-invocation contiguous segments).
// 4. Each winner's output position is its rank among the winners by (key desc, flat index asc),
//    counted directly (at most 256 x 256 compares, one barrier, where a bitonic sort needs dozens
//    of barriers: costly on lavapipe); dead beams past the winners.
// Every candidate pass recomputes the score from the logits (32768 candidates do not fit in
// shared memory); loops stay far below lavapipe's 65535 iterations per invocation (the host caps
// in_width * vocab at 2^19 and vocab at 8192, and at 2^14 for WG = 32, 2^16 for 64). Shapes are
// push constants, not specialization constants: they only bound loops and index (llvmpipe's cost
// is in branches, which they do not select), and three pipelines serve every width and depth (lavapipe spends about a
// second compiling each one). Candidate keys are cached in shared memory (CACHE entries, constant
// 1, sized by the host to the device) when they fit, so later passes read 4 bytes per candidate.
layout(local_size_x_id = 0) in;
#include "beam_math.glsl"

layout(std430, binding = 0) readonly buffer Trie { uint tw[]; };
layout(std430, binding = 1) readonly buffer Logits { float logits[]; };
layout(std430, binding = 2) readonly buffer InI { int in_i[]; };
layout(std430, binding = 3) readonly buffer InF { float in_f[]; };
layout(std430, binding = 4) writeonly buffer OutI { int out_i[]; };
layout(std430, binding = 5) writeonly buffer OutF { float out_f[]; };
layout(push_constant) uniform Push {
    uint batch;    // users
    uint width;    // output beams per user
    uint in_width; // input beams per user
    uint depth;    // tokens per ID
    uint level;    // token position chosen
    uint vocab;    // logits per row
} p;

layout(constant_id = 0) const uint WG = 256u;  // invocations per user: 32, 64 or 256
layout(constant_id = 1) const uint CACHE = 1u; // candidate keys kept in shared memory (device budget)
const uint MAXW = 256u;                       // VKR_BEAM_MAX_WIDTH
const uint TRIE_MAGIC = 0x45495254u;
const uint LSE_BLOCK = 16u; // children per block of the logsumexp sum (VKR_BEAM_LSE_BLOCK)

shared uint sh_first[MAXW]; // first edge of the beam's node
shared uint sh_cnt[MAXW];   // candidates of the beam (0 when unusable)
shared uint sh_off[MAXW];   // flat index of the beam's first candidate
shared float sh_score[MAXW];
shared float sh_lse[MAXW];
shared uint sh_mkey[MAXW];  // key of the largest logit of the beam's children
shared uint hist[512]; // two 256-bin histograms used in turn (one is cleared while the other counts)
shared uint part[16];
shared uint win_key[MAXW];
shared uint win_idx[MAXW];
shared uint key_cache[CACHE];
shared uint sh_total, sh_take, sh_want, sh_greater, sh_prefix, sh_known, sh_ties, slots;

uint user, t, stride_i;   // stride_i: ints per beam (2 + depth)
uint off_token, off_node; // trie sections the candidates read

// Whether `n` words from word offset `off` lie inside the bound trie buffer.
bool section_ok(uint off, uint n, uint len) { return off <= len && n <= len - off; }

// part[c] = the sum of 16 bins hist[h + 16c ..]; ends with a barrier.
void hist_chunks(uint h) {
    if (t < 16u) {
        uint s = 0u;
        for (uint i = 0u; i < 16u; i++) s += hist[h + 16u * t + i];
        part[t] = s;
    }
    barrier();
}

// Sum of bins hist[h .. h+i-1], after hist_chunks(h).
uint hist_before(uint h, uint i) {
    uint s = 0u;
    for (uint c = 0u; c < (i >> 4); c++) s += part[c];
    for (uint k = i & ~15u; k < i; k++) s += hist[h + k];
    return s;
}

// Score of the candidate on edge e of beam b; -inf when impossible.
float cand_score(uint b, uint e) {
    uint tok = tw[off_token + e];
    if (tok >= p.vocab) return BEAM_NEG_INF;
    float x = beam_canon(logits[(user * p.in_width + b) * p.vocab + tok]);
    return beam_add(sh_score[b], beam_sub(x, sh_lse[b]));
}

// Advances b (never backwards) to the beam holding flat candidate c < sh_total.
uint beam_at(uint c, uint b) {
    while (c >= sh_off[b] + sh_cnt[b]) b++;
    return b;
}

// Score of flat candidate c (b: as for beam_at, updated).
float flat_score(uint c, inout uint b) {
    b = beam_at(c, b);
    return cand_score(b, sh_first[b] + c - sh_off[b]);
}

// Ranking key of flat candidate c (b as for beam_at, updated); 0 when impossible (every
// possible candidate's key is larger).
uint key_at(uint c, inout uint b) {
    float v = flat_score(c, b);
    return v == BEAM_NEG_INF ? 0u : beam_key(v);
}

// Radix pass: counts the key's digit at `shift` when its known bits match the prefix so far.
void count_key(uint key, uint h, uint shift, uint prefix, uint known) {
    if (key != 0u && (key & known) == prefix) atomicAdd(hist[h + ((key >> shift) & 255u)], 1u);
}

// Gather: a key above the threshold T (or equal, with `or_equal`) takes a free slot; returns
// whether the key ties with T.
uint gather_key(uint key, uint c, uint known, uint T, bool or_equal) {
    if (key != 0u && ((key & known) > T || (or_equal && (key & known) == T))) {
        uint s = atomicAdd(slots, 1u);
        win_key[s] = key;
        win_idx[s] = c;
    }
    return key != 0u && (key & known) == T ? 1u : 0u;
}

// Places a tie with T at slot `rank`; returns 1 when it did.
uint place_tie(uint key, uint c, uint known, uint T, uint rank) {
    if (key == 0u || (key & known) != T) return 0u;
    win_key[rank] = key;
    win_idx[rank] = c;
    return 1u;
}

// Largest canonical logit key (beam_key) of the children in blocks k = k0, k0 + step, ... of
// input beam b (edges from sh_first[b], sh_cnt[b] of them); 0 when none is a valid child.
uint blocks_max_key(uint b, uint k0, uint step) {
    uint row = (user * p.in_width + b) * p.vocab, first = sh_first[b], cnt = sh_cnt[b], best = 0u;
    for (uint j0 = k0 * LSE_BLOCK; j0 < cnt; j0 += step * LSE_BLOCK)
        for (uint j = j0; j < min(j0 + LSE_BLOCK, cnt); j++) {
            uint tok = tw[off_token + first + j];
            if (tok < p.vocab) best = max(best, beam_key(beam_canon(logits[row + tok])));
        }
    return best;
}

// In-order sum of exp(x - m) over the valid children of block k of input beam b.
float block_sum(uint b, uint k, float m) {
    uint row = (user * p.in_width + b) * p.vocab, first = sh_first[b], cnt = sh_cnt[b];
    float s = 0.0;
    for (uint j = k * LSE_BLOCK; j < min(k * LSE_BLOCK + LSE_BLOCK, cnt); j++) {
        uint tok = tw[off_token + first + j];
        if (tok < p.vocab) s = beam_add(s, beam_exp(beam_sub(beam_canon(logits[row + tok]), m)));
    }
    return s;
}

// The float whose beam_key is `key` (-inf for 0: no valid child).
float key_float(uint key) {
    if (key == 0u) return BEAM_NEG_INF;
    return uintBitsToFloat((key & 0x80000000u) != 0u ? key & 0x7FFFFFFFu : ~key);
}

// Blocks of beam b's children to sum (none when its largest logit m is -inf).
uint beam_blocks(uint b, float m) { return m == BEAM_NEG_INF ? 0u : (sh_cnt[b] + LSE_BLOCK - 1u) / LSE_BLOCK; }

// Sets beam b's logsumexp from its max m and block-sum total s; a beam without possible children
// gets no candidates. Its candidate count goes to the offsets histogram.
void finish_beam(uint b, float m, float s) {
    bool any = beam_blocks(b, m) > 0u;
    sh_lse[b] = any ? beam_add(m, beam_log(s)) : BEAM_NEG_INF;
    if (!any) sh_cnt[b] = 0u;
    hist[256u + b] = sh_cnt[b];
}

// Writes output beam i: the candidate with flat index c, or a dead beam.
void write_beam(uint i, bool alive, uint c) {
    uint o = (user * p.width + i) * stride_i;
    if (!alive) {
        for (uint k = 0u; k < stride_i; k++) out_i[o + k] = 0;
        out_f[user * p.width + i] = BEAM_NEG_INF;
        return;
    }
    uint b = beam_at(c, 0u), e = sh_first[b] + c - sh_off[b];
    uint tok = tw[off_token + e];
    uint parent = (user * p.in_width + b) * stride_i;
    out_i[o] = int(tw[off_node + e]);
    out_i[o + 1u] = 1;
    for (uint k = 0u; k < p.depth; k++)
        out_i[o + 2u + k] = k < p.level ? in_i[parent + 2u + k] : (k == p.level ? int(tok) : 0);
    out_f[user * p.width + i] = cand_score(b, e);
}

void main() {
    user = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (user >= p.batch) return;
    t = gl_LocalInvocationID.x;
    stride_i = 2u + p.depth;

    // 1. trie header (the host guarantees >= 64 bound words), per-beam validity and logsumexp;
    //    beam counts go to the second histogram (scanned into offsets), the first is cleared
    uint len = uint(tw.length());
    uint node_count = tw[2], edge_count = tw[3], off_first = tw[5], off_count = tw[6], off_lb = tw[14];
    off_token = tw[7];
    off_node = tw[8];
    bool trie_ok = tw[0] == TRIE_MAGIC && tw[1] == p.depth && section_ok(off_first, node_count, len) &&
                   section_ok(off_count, node_count, len) && section_ok(off_token, edge_count, len) &&
                   section_ok(off_node, edge_count, len) && section_ok(off_lb, p.depth + 2u, len);
    for (uint i = t; i < 512u; i += WG) hist[i] = 0u;
    for (uint b = t; b < p.in_width; b += WG) {
        uint row = user * p.in_width + b;
        uint node = uint(in_i[row * stride_i]);
        bool ok = trie_ok && in_i[row * stride_i + 1u] != 0;
        if (ok) ok = node >= tw[off_lb + p.level] && node < tw[off_lb + p.level + 1u] && node < node_count;
        uint first = 0u, cnt = 0u;
        if (ok) {
            first = tw[off_first + node];
            cnt = tw[off_count + node];
            ok = first <= edge_count && cnt <= edge_count - first && cnt <= p.vocab;
        }
        float score = beam_canon(in_f[row]);
        ok = ok && score != BEAM_NEG_INF;
        sh_first[b] = first;
        sh_cnt[b] = ok ? cnt : 0u;
        sh_score[b] = score;
        sh_mkey[b] = 0u;
    }
    // logsumexp per beam. Few beams (level 0 has one, with every code as a child): a team of 4 or
    // more invocations per beam takes its blocks of LSE_BLOCK children in turn (max by atomicMax of
    // keys, then block sums into the key cache, free until the candidates' keys go there), and
    // the beam's first invocation adds the block sums in order. Otherwise each beam's invocation
    // computes the same blocks alone, with no extra barrier (the team path is a loop that runs
    // zero times then: llvmpipe would execute a branch's body anyway).
    uint blocks = (p.vocab + LSE_BLOCK - 1u) / LSE_BLOCK; // most blocks of a beam
    uint team = 1u;
    while (team * 2u * p.in_width <= WG && team < blocks && p.in_width * blocks <= CACHE) team *= 2u;
    uint solo = team < 4u ? p.in_width : 0u; // a team of 2 does not pay for its 3 barriers
    for (uint b = t; b < solo; b += WG) {
        float m = key_float(blocks_max_key(b, 0u, 1u)), s = 0.0;
        for (uint k = 0u; k < beam_blocks(b, m); k++) s = beam_add(s, block_sum(b, k, m));
        finish_beam(b, m, s);
    }
    for (uint once = solo > 0u ? 1u : 0u; once < 1u; once++) {
        barrier();
        for (uint q = t; q < p.in_width * team; q += WG) {
            uint b = q / team, key = blocks_max_key(b, q % team, team);
            if (key != 0u) atomicMax(sh_mkey[b], key);
        }
        barrier();
        for (uint q = t; q < p.in_width * team; q += WG) {
            uint b = q / team;
            float m = key_float(sh_mkey[b]);
            for (uint k = q % team; k < beam_blocks(b, m); k += team)
                key_cache[b * blocks + k] = floatBitsToUint(block_sum(b, k, m));
        }
        barrier();
        for (uint b = t; b < p.in_width; b += WG) {
            float m = key_float(sh_mkey[b]), s = 0.0;
            for (uint k = 0u; k < beam_blocks(b, m); k++) s = beam_add(s, uintBitsToFloat(key_cache[b * blocks + k]));
            finish_beam(b, m, s);
        }
    }
    barrier();
    hist_chunks(256u);
    for (uint b = t; b < p.in_width; b += WG) sh_off[b] = hist_before(256u, b);
    if (t == 0u) {
        uint s = 0u;
        for (uint c = 0u; c < 16u; c++) s += part[c];
        sh_total = s;
        sh_take = 0u;
        sh_want = 0u;
        sh_greater = 0u;
        sh_prefix = 0u;
        sh_known = 0u;
        sh_ties = 0u;
        slots = 0u;
    }
    barrier();
    uint total = sh_total;

    // candidate keys are computed once into shared memory when they fit, else in every pass
    uint n_cached = total <= CACHE ? total : 0u, n_direct = total - n_cached;
    for (uint c = t, b = 0u; c < n_cached; c += WG) key_cache[c] = key_at(c, b);
    barrier();

    // 2. radix select; pass k counts into histogram k & 1 and clears the other one
    uint pass = 0u;
    for (int shift = 24; shift >= 0 && total > 0u; shift -= 8, pass++) {
        uint h = (pass & 1u) * 256u, prefix = sh_prefix, known = sh_known;
        for (uint c = t; c < n_cached; c += WG) count_key(key_cache[c], h, uint(shift), prefix, known);
        for (uint c = t, b = 0u; c < n_direct; c += WG) count_key(key_at(c, b), h, uint(shift), prefix, known);
        barrier();
        for (uint i = t; i < 256u; i += WG) hist[256u - h + i] = 0u;
        hist_chunks(h);
        if (t == 0u) {
            if (pass == 0u) {
                uint s = 0u;
                for (uint c = 0u; c < 16u; c++) s += part[c];
                sh_take = min(p.width, s);
                sh_want = sh_take;
            }
            uint want = sh_want;
            if (want > 0u) {
                uint above = 0u, c = 15u;
                while (c > 0u && above + part[c] < want) above += part[c--];
                uint d = 16u * c + 15u;
                while (d > 16u * c && above + hist[h + d] < want) above += hist[h + d--];
                sh_prefix |= d << uint(shift);
                sh_known |= 255u << uint(shift);
                sh_want = want - above;
                sh_greater += above;
                sh_ties = hist[h + d];
            }
        }
        barrier();
        if (sh_want == 0u || sh_ties == sh_want) break;
    }
    uint take = sh_take, want = sh_want, greater = sh_greater, T = sh_prefix, known = sh_known;

    // 3. gather (slots was zeroed in step 1); loops rather than branches choose between cached
    //    and recomputed keys: llvmpipe executes both sides of a branch, but no empty loop body
    if (take > 0u && sh_ties == want) {
        for (uint c = t; c < n_cached; c += WG) gather_key(key_cache[c], c, known, T, true);
        for (uint c = t, b = 0u; c < n_direct; c += WG) gather_key(key_at(c, b), c, known, T, true);
    } else if (take > 0u) {
        // per-invocation contiguous segments: count ties (placing keys above T on the way), then
        // place the ties by rank in flat order
        uint seg = (total + WG - 1u) / WG, first = min(t * seg, total), last = min(first + seg, total);
        uint cached_end = n_cached > 0u ? last : first, direct_end = n_cached > 0u ? first : last;
        uint mine = 0u;
        for (uint c = first; c < cached_end; c++) mine += gather_key(key_cache[c], c, known, T, false);
        for (uint c = first, b = 0u; c < direct_end; c++) mine += gather_key(key_at(c, b), c, known, T, false);
        for (uint i = t; i < 256u; i += WG) hist[i] = i == t ? mine : 0u;
        barrier();
        hist_chunks(0u);
        uint rank = greater + hist_before(0u, t), end = greater + want;
        for (uint c = first; c < cached_end && rank < end; c++) rank += place_tie(key_cache[c], c, known, T, rank);
        for (uint c = first, b = 0u; c < direct_end && rank < end; c++) rank += place_tie(key_at(c, b), c, known, T, rank);
    }
    barrier();

    // 4. each winner's output position is its rank among the winners by (key desc, flat index
    //    asc), a total order, so the gather's slot order does not matter; the rest are dead
    for (uint s = t; s < take; s += WG) {
        uint k = win_key[s], c = win_idx[s], r = 0u;
        for (uint j = 0u; j < take; j++) r += win_key[j] > k || (win_key[j] == k && win_idx[j] < c) ? 1u : 0u;
        write_beam(r, true, c);
    }
    for (uint i = take + t; i < p.width; i += WG) write_beam(i, false, 0u);
}
