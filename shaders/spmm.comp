#version 460
// Y = A X for a CSR matrix A (rows x cols) and a dense row-major X (cols x n), Y row-major
// (rows x n), or Y += A X when p.accumulate is set (a backward through a transposed A). One
// invocation per element of Y sums its row's entries in stored order (deterministic, no atomics):
// the invocations of one row read the same column indices and values (broadcast loads) and
// neighbouring columns of X rows (contiguous loads). Empty rows give zeros (or leave Y as is).
// The flat index spans gl_NumWorkGroups.x groups per y step, so any rows * n fits the dispatch limits.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer RowPtr { uint row_ptr[]; };
layout(std430, binding = 1) readonly buffer Col { uint col[]; };
layout(std430, binding = 2) readonly buffer Val { float val[]; };
layout(std430, binding = 3) readonly buffer X { float x[]; };
layout(std430, binding = 4) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint rows; uint n; uint accumulate; } p;

void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (idx >= p.rows * p.n) return;
    uint r = idx / p.n;
    uint c = idx - r * p.n;
    float acc = 0.0;
    uint end = row_ptr[r + 1];
    for (uint k = row_ptr[r]; k < end; k++) acc += val[k] * x[col[k] * p.n + c];
    y[idx] = p.accumulate != 0u ? y[idx] + acc : acc;
}
