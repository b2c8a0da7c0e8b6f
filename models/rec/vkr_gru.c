#include "vkr_gru.h"

#include <stdio.h>

#include "vkr_transformer.h"

vkr_tensor* vkr_gru_encoder(vkr_graph* g, const char* prefix, vkr_tensor* x, vkr_tensor* mask, uint32_t D,
                            uint32_t group) {
    uint32_t B = x->shape[0], T = x->shape[1];
    char name[96];
    snprintf(name, sizeof name, "%s.x", prefix);
    /* the input's three parts for every position at once: one matmul instead of T */
    vkr_tensor* xp = vkr_tf_linear(g, name, x, D, 3 * D, true, group); /* [B, T, 3D] */
    snprintf(name, sizeof name, "%s.u", prefix);
    vkr_tensor* u = vkr_graph_param_init(g, name, 2, (uint32_t[]){D, 3 * D}, group, VKR_INIT_XAVIER, 1.0f);
    vkr_tensor *h = NULL, *out = NULL;
    for (uint32_t t = 0; t < T; t++) {
        vkr_tensor* xt = vkr_op_reshape(g, vkr_op_slice(g, xp, 1, t, 1), 2, (uint32_t[]){B, 3 * D});
        vkr_tensor* mt = vkr_op_reshape(g, vkr_op_slice(g, mask, 1, t, 1), 2, (uint32_t[]){B, 1});
        vkr_tensor *az = vkr_op_slice(g, xt, 1, 0, D), *ar = vkr_op_slice(g, xt, 1, D, D), *an = vkr_op_slice(g, xt, 1, 2 * D, D);
        vkr_tensor* hn = NULL;
        if (h) { /* the state's parts (the first step's state is zero: nothing to add) */
            vkr_tensor* hu = vkr_op_matmul(g, h, u, NULL, false, false);
            az = vkr_op_add(g, az, vkr_op_slice(g, hu, 1, 0, D));
            ar = vkr_op_add(g, ar, vkr_op_slice(g, hu, 1, D, D));
            hn = vkr_op_slice(g, hu, 1, 2 * D, D);
        }
        vkr_tensor* z = vkr_op_sigmoid(g, az);
        vkr_tensor* n = vkr_op_tanh(g, hn ? vkr_op_add(g, an, vkr_op_mul(g, vkr_op_sigmoid(g, ar), hn)) : an);
        /* h' = (1 - z) n + z h, and a padded step keeps h: h += mask (h' - h) */
        vkr_tensor* step = h ? vkr_op_mul(g, vkr_op_sub(g, h, n), z) : vkr_op_scale(g, vkr_op_mul(g, n, z), -1.0f);
        vkr_tensor* delta = h ? vkr_op_add(g, vkr_op_sub(g, n, h), step) : vkr_op_add(g, n, step);
        h = h ? vkr_op_add(g, h, vkr_op_mul(g, delta, mt)) : vkr_op_mul(g, delta, mt);
        vkr_tensor* h3 = vkr_op_reshape(g, h, 3, (uint32_t[]){B, 1, D});
        out = out ? vkr_op_concat(g, out, h3, 1) : h3;
    }
    return out;
}
