/* Plumbing shared by the t-SNE sources (not public API). */
#ifndef VKR_TSNE_INTERNAL_H
#define VKR_TSNE_INTERNAL_H
#include "vkr_tsne.h"

/* Dispatches `desc` over `invocations` invocations in workgroups of `wg`, folding into 2-D grids. */
vkr_status vkr_tsne_dispatch(vkr_sequence* seq, const vkr_kernel_desc* desc, const vkr_range* ranges,
                             const void* push, uint64_t invocations, uint32_t wg);

#endif
