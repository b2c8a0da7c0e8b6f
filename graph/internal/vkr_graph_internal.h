/* Graph tier, internal (graph/ only): how op constructors add nodes to a graph. Models build graphs
 * with the public constructors (vkr_graph_ops.h) and never create nodes directly. */
#ifndef VKR_GRAPH_INTERNAL_H
#define VKR_GRAPH_INTERNAL_H
#include "vkr_graph.h"

/* A new node computing `op` over `srcs` with output shape and dtype; params copied (may be NULL). */
vkr_tensor* vkr_graph_node(vkr_graph* graph, uint32_t op, vkr_dtype dtype, uint32_t ndim, const uint32_t* shape,
                           const vkr_tensor* const* srcs, uint32_t src_count, const void* params, size_t params_bytes);
/* An extra fp32 tensor written by `node`'s forward and read by its backward (e.g. saved statistics). */
vkr_tensor* vkr_graph_aux(vkr_graph* graph, vkr_tensor* node, uint32_t ndim, const uint32_t* shape, vkr_dtype dtype);
/* Shape as 4 dims padded with leading ones (the ops' convention: e.g. [T, D] -> [1, 1, T, D]). */
void vkr_tensor_shape4(const vkr_tensor* t, uint32_t out[4]);

#endif
