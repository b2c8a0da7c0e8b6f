#version 460
#extension GL_GOOGLE_include_directive : require
// Top-k per row, one workgroup of 256 per row, ranked by nn_rank_key with ties to the lower index.
// 1. Radix select: four passes of 8-bit digits (most significant first) narrow down the key T of
//    the k-th ranked element; a shared histogram (integer atomics) and a suffix scan pick the digit.
// 2. Gather: elements with key > T (fewer than k) go to any free slot; of those with key == T the
//    `want` lowest indices are taken (all of them when there are exactly that many, else by rank
//    in index order from a scan of per-invocation counts over contiguous segments).
// 3. A bitonic sort of the k winners in shared memory by (key desc, index asc), a total order, so
//    the output does not depend on the gather's slot order.
layout(local_size_x = 256) in;
#include "nn_common.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Vals { float vals[]; };
layout(std430, binding = 2) writeonly buffer Inds { int inds[]; };
layout(push_constant) uniform Push { uint rows; uint cols; uint k; } p;

const uint WG = 256u;
const uint KMAX = 1024u; // VKR_TOPK_MAX_K
shared uint hist[WG];
shared uint win_key[KMAX];
shared uint win_idx[KMAX];
shared uint sel_digit, sel_above, slots;

// In-place inclusive scan of hist[] towards lower (suffix) or higher (prefix) indices.
void scan_hist(bool suffix) {
    uint t = gl_LocalInvocationID.x;
    for (uint off = 1u; off < WG; off <<= 1) {
        uint v = hist[t];
        if (suffix && t + off < WG) v += hist[t + off];
        if (!suffix && t >= off) v += hist[t - off];
        barrier();
        hist[t] = v;
        barrier();
    }
}

void main() {
    uint row = nn_group();
    if (row >= p.rows) return;
    uint t = gl_LocalInvocationID.x, base = row * p.cols;

    // 1. radix select
    uint prefix = 0u, known = 0u, want = p.k, ties = 0u;
    for (int shift = 24; shift >= 0; shift -= 8) {
        hist[t] = 0u;
        barrier();
        for (uint c = t; c < p.cols; c += WG) {
            uint key = nn_rank_key(x[base + c]);
            if ((key & known) == prefix) atomicAdd(hist[(key >> uint(shift)) & 255u], 1u);
        }
        barrier();
        scan_hist(true); // hist[d] = elements of the bucket with digit >= d
        uint above = t + 1u < WG ? hist[t + 1u] : 0u;
        if (hist[t] >= want && above < want) {
            sel_digit = t;
            sel_above = above;
        }
        barrier();
        prefix |= sel_digit << uint(shift);
        known |= 255u << uint(shift);
        want -= sel_above;
        ties = hist[sel_digit] - sel_above; // elements equal to the prefix so far (exact after 4 passes)
        barrier();
    }
    uint T = prefix, greater = p.k - want;

    // 2. gather
    if (t == 0u) slots = 0u;
    barrier();
    if (ties == want) {
        for (uint c = t; c < p.cols; c += WG) {
            uint key = nn_rank_key(x[base + c]);
            if (key >= T) {
                uint s = atomicAdd(slots, 1u);
                win_key[s] = key;
                win_idx[s] = c;
            }
        }
    } else {
        // Ties must be taken by lowest index, so each invocation owns a contiguous segment: count
        // its ties (gathering keys > T on the way), scan the counts, then place its ties by rank.
        uint seg = (p.cols + WG - 1u) / WG, first = min(t * seg, p.cols), last = min(first + seg, p.cols);
        uint mine = 0u;
        for (uint c = first; c < last; c++) {
            uint key = nn_rank_key(x[base + c]);
            if (key > T) {
                uint s = atomicAdd(slots, 1u);
                win_key[s] = key;
                win_idx[s] = c;
            }
            mine += key == T ? 1u : 0u;
        }
        hist[t] = mine;
        barrier();
        scan_hist(false);
        uint rank = hist[t] - mine; // ties in earlier segments
        for (uint c = first; c < last && rank < want; c++) {
            if (nn_rank_key(x[base + c]) == T) {
                win_key[greater + rank] = T;
                win_idx[greater + rank] = c;
                rank++;
            }
        }
    }
    // 3. bitonic sort over the next power of two, padded with entries that rank last
    uint n2 = 1u;
    while (n2 < p.k) n2 <<= 1;
    for (uint i = p.k + t; i < n2; i += WG) {
        win_key[i] = 0u;
        win_idx[i] = 0xFFFFFFFFu;
    }
    barrier();
    for (uint size = 2u; size <= n2; size <<= 1) {
        for (uint stride = size >> 1; stride > 0u; stride >>= 1) {
            for (uint q = t; q < n2 / 2u; q += WG) {
                uint a = 2u * q - (q & (stride - 1u)), b = a + stride;
                bool first_ranks_first = (a & size) == 0u;
                bool b_before_a = nn_ranks_before(win_key[b], win_idx[b], win_key[a], win_idx[a]);
                if (b_before_a == first_ranks_first) {
                    uint tk = win_key[a], ti = win_idx[a];
                    win_key[a] = win_key[b];
                    win_idx[a] = win_idx[b];
                    win_key[b] = tk;
                    win_idx[b] = ti;
                }
            }
            barrier();
        }
    }
    for (uint i = t; i < p.k; i += WG) {
        uint j = win_idx[i];
        vals[row * p.k + i] = x[base + j];
        inds[row * p.k + i] = int(j);
    }
}
