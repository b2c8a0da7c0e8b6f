// Shared by ew_concat_scatter.comp and ew_concat_gather.comp: they move elements between a big
// tensor and up to two parts that tile ranges of one of its axes (concat: parts a and b at offsets
// 0 and a_len; slice: part a alone). The big tensor is viewed as [outer, len, inner] and a part as
// [outer, part_len, inner]; the host folds inner into the axis (extents and offsets below are in
// units of the dims after it, times 4 floats with VEC4). Invocation i walks the parts' units, a's
// first, so every element is touched by exactly one invocation.
#ifndef EW_CONCAT_GLSL
#define EW_CONCAT_GLSL

layout(push_constant) uniform Push {
    uint len;   // big tensor's row length
    uint a_len; // a's row length
    uint a_off; // a's first unit in a big row
    uint b_len; // b's row length (0: no b)
    uint b_off; // b's first unit in a big row
    uint a_n;   // a's unit count
    uint b_n;   // b's unit count
} p;

// For part element i (a's elements first, then b's): whether it is in a, its index within its
// part, and the index of the big-tensor element it pairs with.
void ew_concat_locate(uint i, out bool in_a, out uint s, out uint big_index) {
    in_a = i < p.a_n;
    s = in_a ? i : i - p.a_n;
    uint row = in_a ? p.a_len : p.b_len;
    uint outer = s / row;
    big_index = outer * p.len + (in_a ? p.a_off : p.b_off) + (s - outer * row);
}

#endif
