// Pointwise losses of a pair (a, b) and their gradients, shared by nn_loss.comp and
// nn_loss_bwd.comp; the kind codes match vkr_ops_nn_loss.c.
const uint NN_LOSS_BCE = 0u; // a = logit, b = target
const uint NN_LOSS_BPR = 1u; // a = positive score, b = negative score
const uint NN_LOSS_MSE = 2u; // a = prediction, b = target

float nn_loss_value(uint kind, float a, float b) {
    // A negative target marks an ignored pair (padding): no loss, no gradient.
    if (kind == NN_LOSS_BCE) return b < 0.0 ? 0.0 : max(a, 0.0) - a * b + nn_log1p_exp_neg(abs(a));
    if (kind == NN_LOSS_BPR) {
        float d = b - a; // softplus(b - a) = -log sigmoid(a - b)
        return max(d, 0.0) + nn_log1p_exp_neg(abs(d));
    }
    return (a - b) * (a - b);
}

// (d loss / d a, d loss / d b); b's gradient is only used by BPR (targets are constants).
vec2 nn_loss_grad(uint kind, float a, float b) {
    if (kind == NN_LOSS_BCE) return vec2(b < 0.0 ? 0.0 : nn_sigmoid(a) - b, 0.0);
    if (kind == NN_LOSS_BPR) {
        float s = nn_sigmoid(b - a);
        return vec2(-s, s);
    }
    return vec2(2.0 * (a - b), 0.0);
}
