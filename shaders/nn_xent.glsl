// Shared by the cross-entropy kernels (nn_xent*.comp): push constants, the targets binding, and the
// class each row is scored against. InfoNCE runs the same kernels with diagonal = 1 (row r's target
// is column r; the targets binding is then a placeholder that is never read).
layout(std430, binding = 1) readonly buffer Targets { int targets[]; };
layout(push_constant) uniform Push {
    uint rows;        // rows of logits
    uint classes;     // logits per row
    int ignore_index; // rows with this target do not count
    float scale;      // logits are scale * input (1 / temperature for InfoNCE)
    uint diagonal;    // 1: target of row r is r
} p;

// Target class of row r, or -1 when the row does not count (ignored or out of range).
int nn_xent_class(uint r) {
    int t = p.diagonal != 0u ? int(r) : targets[r];
    return t == p.ignore_index || t < 0 || uint(t) >= p.classes ? -1 : t;
}
