/* A GRU sequence encoder (GRU4Rec, Hidasi et al. 2016) from the graph's own ops, unrolled over the
 * sequence: every op it uses has a CPU reference and a gradient check, so it runs on both backends.
 *
 * Contract: x is [B, T, D], left-padded; mask is fp32 [B, T, 1], 1 at real positions. A padded step
 * leaves the state as it was, so the state entering the first real item is zero. Returns the state
 * after every position, [B, T, D]. Parameters: PREFIX.wx [D, 3D] and PREFIX.bx [3D] (the input's
 * update, reset and candidate parts), PREFIX.u [D, 3D] (the state's). */
#ifndef VKR_GRU_H
#define VKR_GRU_H
#include <stdint.h>

#include "vkr_graph_ops.h"

/* The GRU over x; errors are sticky on g. */
vkr_tensor* vkr_gru_encoder(vkr_graph* g, const char* prefix, vkr_tensor* x, vkr_tensor* mask, uint32_t hidden,
                            uint32_t group);

#endif
