/* Static computation graphs: tensors, op nodes, reverse-mode autodiff.
 *
 * Contract: a model builds its forward graph once for a given batch shape by calling the vkr_op_*
 * constructors (vkr_graph_ops.h). Nodes are kept in creation order, which is a topological order.
 * Errors are sticky, as in a builder: a failing constructor records the first error (read it with
 * vkr_graph_status) and returns NULL, and every constructor given a NULL operand returns NULL, so a
 * model can build its whole graph and check once. vkr_graph_backward marks every node that depends
 * on a trainable parameter and gives it a gradient tensor; the executor (vkr_exec.h) runs forward,
 * then the nodes' backward functions in reverse order, each ACCUMULATING into its inputs' gradients.
 * Tensors are owned by the graph and live until vkr_graph_destroy. */
#ifndef VKR_GRAPH_H
#define VKR_GRAPH_H
#include <stdbool.h>
#include <stdint.h>

#include "vkr_runtime.h"

#define VKR_MAX_DIMS 4
#define VKR_MAX_SRC 8 /* spmm reads x and the six arrays of a sparse constant and its transpose */
#define VKR_OP_PARAM_BYTES 96
#define VKR_NAME_BYTES 64

/* Element type of a tensor. */
typedef enum vkr_dtype {
    VKR_F32 = 0, /* 32-bit float */
    VKR_I32      /* 32-bit signed integer (indices, targets, lengths) */
} vkr_dtype;

/* What a tensor is, which decides where it is stored and how long it lives. */
typedef enum vkr_role {
    VKR_ROLE_ACTIVATION = 0, /* computed by an op; planned into the shared arena */
    VKR_ROLE_INPUT,          /* set by the host before each run (a batch) */
    VKR_ROLE_PARAM,          /* trainable weight: persistent, has a gradient when training */
    VKR_ROLE_CONST,          /* set by the host once (buffers such as inverse indices); no gradient */
    VKR_ROLE_GRAD            /* gradient of another tensor */
} vkr_role;

/* How vkr_exec_init_params fills a parameter. */
typedef enum vkr_init_kind {
    VKR_INIT_ZEROS = 0,     /* all zero (biases, LayerNorm beta) */
    VKR_INIT_ONES,          /* all one (LayerNorm gamma) */
    VKR_INIT_NORMAL,        /* normal(0, init_scale) (embeddings) */
    VKR_INIT_XAVIER,        /* Glorot uniform over [fan_in, fan_out] = the first two dims */
    VKR_INIT_KAIMING        /* He uniform with fan_in = the first dim (ReLU layers) */
} vkr_init_kind;

typedef struct vkr_tensor vkr_tensor;
typedef struct vkr_graph vkr_graph;

/* One tensor, and the node that computes it when role is ACTIVATION. */
struct vkr_tensor {
    uint32_t index;                  /* position in the graph's tensor list */
    char name[VKR_NAME_BYTES];       /* name (parameters: the checkpoint key) */
    vkr_dtype dtype;                 /* element type */
    vkr_role role;                   /* storage class */
    uint32_t ndim;                   /* number of dimensions (1..4) */
    uint32_t shape[VKR_MAX_DIMS];    /* dims, outermost first; unused trailing entries are 1 */
    uint64_t numel;                  /* product of the dims */
    uint32_t op;                     /* producing op (vkr_op_kind in vkr_graph_ops.h); 0 for leaves */
    uint32_t src_count;              /* operands used */
    vkr_tensor* src[VKR_MAX_SRC];    /* operands (a NULL entry is an absent optional operand) */
    _Alignas(8) uint8_t params[VKR_OP_PARAM_BYTES]; /* op parameters (the op's own struct) */
    vkr_tensor* aux;                 /* extra saved state the op's backward needs (e.g. layernorm stats) */
    vkr_tensor* aux_of;              /* when this is a node's aux tensor: that node */
    vkr_tensor* view_of;             /* when a view (reshape): the tensor whose storage it shares */
    bool requires_grad;              /* a gradient flows to this tensor */
    vkr_tensor* grad;                /* its gradient (same shape), after vkr_graph_backward */
    bool keep;                       /* the host reads it after a run: never overwritten by the planner */
    uint32_t group;                  /* parameter group (per-group learning rates) */
    vkr_init_kind init;              /* parameter initializer */
    float init_scale;                /* standard deviation (NORMAL) or gain (XAVIER, KAIMING) */
    /* storage, assigned by the executor's planner */
    uint32_t storage;                /* storage slot (internal) */
    uint64_t offset;                 /* byte offset within the slot */
};

/* Creates an empty graph. `seed` drives every seeded op (dropout). */
vkr_status vkr_graph_create(uint64_t seed, vkr_graph** out_graph);
/* Destroys the graph and its tensors. */
void vkr_graph_destroy(vkr_graph* graph);
/* The first error any constructor hit (VKR_OK when none); the message is in vkr_graph_error. */
vkr_status vkr_graph_status(const vkr_graph* graph);
/* The message that went with the first error ("" when none). */
const char* vkr_graph_error(const vkr_graph* graph);
/* Number of tensors. */
uint32_t vkr_graph_tensor_count(const vkr_graph* graph);
/* Tensor `i`, or NULL. */
vkr_tensor* vkr_graph_tensor(const vkr_graph* graph, uint32_t i);
/* The parameter called `name`, or NULL. */
vkr_tensor* vkr_graph_find(const vkr_graph* graph, const char* name);
/* The graph's seed. */
uint64_t vkr_graph_seed(const vkr_graph* graph);

/* A host-set input (e.g. a batch of ids) of the given shape. */
vkr_tensor* vkr_graph_input(vkr_graph* graph, const char* name, vkr_dtype dtype, uint32_t ndim, const uint32_t* shape);
/* A constant set once by the host. */
vkr_tensor* vkr_graph_const(vkr_graph* graph, const char* name, vkr_dtype dtype, uint32_t ndim, const uint32_t* shape);
/* A trainable fp32 parameter in parameter group `group` (0 is the default group). */
vkr_tensor* vkr_graph_param(vkr_graph* graph, const char* name, uint32_t ndim, const uint32_t* shape, uint32_t group);
/* A trainable parameter with an initializer for vkr_exec_init_params. */
vkr_tensor* vkr_graph_param_init(vkr_graph* graph, const char* name, uint32_t ndim, const uint32_t* shape,
                                 uint32_t group, vkr_init_kind init, float init_scale);
/* Marks a tensor the host will read after runs (outputs, metrics). Returns it. */
vkr_tensor* vkr_graph_keep(vkr_tensor* tensor);
/* Adds gradients for everything `loss` (a 1-element fp32 tensor) depends on through parameters. */
vkr_status vkr_graph_backward(vkr_graph* graph, vkr_tensor* loss);
/* The loss passed to vkr_graph_backward, or NULL. */
vkr_tensor* vkr_graph_loss(const vkr_graph* graph);

/* Records an error on the graph (first one wins) and returns NULL: for op constructors and for
 * model builders that reject their own arguments the same sticky way. */
vkr_tensor* vkr_graph_fail(vkr_graph* graph, vkr_status status, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Bytes of storage the tensor needs. */
uint64_t vkr_tensor_bytes(const vkr_tensor* t);

#endif
