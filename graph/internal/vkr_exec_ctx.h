/* Graph tier, internal (graph/ only): the executor's side of the op-implementation contract. An op's
 * forward and backward (vkr_graph_ops_internal.h) receive a vkr_exec_ctx and use it to reach their
 * tensors' storage: GPU ranges and the sequence being recorded, or host pointers on the CPU
 * reference backend. Valid only during vkr_exec_create's recording (GPU) or a CPU run. */
#ifndef VKR_EXEC_CTX_H
#define VKR_EXEC_CTX_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_graph.h"

typedef struct vkr_exec_ctx vkr_exec_ctx;

/* True when the op should record GPU work (else run the CPU reference). */
bool vkr_ctx_gpu(const vkr_exec_ctx* ctx);
/* The sequence being recorded (GPU). */
vkr_sequence* vkr_ctx_sequence(vkr_exec_ctx* ctx);
/* The GPU range of a tensor ({0} for NULL). */
vkr_range vkr_ctx_range(vkr_exec_ctx* ctx, const vkr_tensor* t);
/* Host pointer of a tensor's data (CPU; NULL for NULL). */
void* vkr_ctx_host(vkr_exec_ctx* ctx, const vkr_tensor* t);
/* The step counter buffer on the GPU: one uint32 incremented after every run (ops that need a fresh
 * random stream per step read it). */
vkr_range vkr_ctx_step_range(vkr_exec_ctx* ctx);
/* Steps completed before the current one (CPU backend). */
uint64_t vkr_ctx_step(const vkr_exec_ctx* ctx);
/* True when dropout and other training-only behaviour is on. */
bool vkr_ctx_training(const vkr_exec_ctx* ctx);
/* The graph's seed. */
uint64_t vkr_ctx_seed(const vkr_exec_ctx* ctx);

#endif
