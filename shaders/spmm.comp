#version 460
// Y = A X for a CSR matrix A (rows x cols) and a dense row-major X (cols x n), Y row-major
// (rows x n), or Y += A X when p.accumulate is set (a backward through a transposed A). One
// workgroup per row, its invocations striding over the n columns: the row's bounds, column indices
// and values are the same for the whole group (uniform loads, no divergent loop bounds), and
// neighbouring invocations read neighbouring columns of X rows (contiguous loads). Each element sums
// its row's entries in stored order (deterministic, no atomics). Empty rows give zeros (or leave Y
// as is). The row index spans gl_NumWorkGroups.x groups per y step, so any row count fits the
// dispatch limits.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer RowPtr { uint row_ptr[]; };
layout(std430, binding = 1) readonly buffer Col { uint col[]; };
layout(std430, binding = 2) readonly buffer Val { float val[]; };
layout(std430, binding = 3) readonly buffer X { float x[]; };
layout(std430, binding = 4) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint rows; uint n; uint accumulate; } p;

void main() {
    uint r = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (r >= p.rows) return;
    uint begin = row_ptr[r], end = row_ptr[r + 1];
    for (uint c = gl_LocalInvocationID.x; c < p.n; c += gl_WorkGroupSize.x) {
        float acc = 0.0;
        for (uint k = begin; k < end; k++) acc += val[k] * x[col[k] * p.n + c];
        uint idx = r * p.n + c;
        y[idx] = p.accumulate != 0u ? y[idx] + acc : acc;
    }
}
