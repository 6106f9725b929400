/*
 * loss.cl - binary cross-entropy computed from logits, and its gradient, in one pass.
 *
 * For logit z and target t: bce(z, t) = max(z, 0) - z t + log(1 + exp(-|z|)), which never
 * overflows, and d bce / dz = sigmoid(z) - t. Samples [0, n_first) have target t_first, the rest
 * t_rest (the discriminator sees m real then m generated samples in one batch).
 *   loss[i] = sign * bce(z_i, t_i)          (sign -1 gives the minimax G loss log(1 - D))
 *   dz[i]   = sign * scale * (sigmoid(z_i) - t_i)   (scale = 1/m for a mean over the batch)
 * Layout: z is a slot of the activation buffer (one logit per row), dz a slot of the gradient
 * buffer. Work size: global >= n, one work-item per sample.
 */

__kernel void bce_logits(const __global float *restrict acts, uint z_off, __global float *deltas,
                         uint dz_off, __global float *loss, uint loss_off, uint n, uint n_first,
                         float t_first, float t_rest, float sign, float scale) {
    uint i = get_global_id(0);
    if (i >= n) return;
    float z = acts[z_off + i];
    float t = i < n_first ? t_first : t_rest;
    float l = fmax(z, 0.0f) - z * t + log1p(exp(-fabs(z)));
    float s = z >= 0.0f ? 1.0f / (1.0f + exp(-z)) : exp(z) / (1.0f + exp(z));
    loss[loss_off + i] = sign * l;
    deltas[dz_off + i] = sign * scale * (s - t);
}

/*
 * Softmax cross-entropy from logits, and its gradient, one row per work-item (a classifier's
 * loss). Row i has `classes` logits z at z_off + i * classes and the label y_i in labels[i]:
 *   loss[i]  = log sum_j exp(z_j) - z_{y_i}          (the log-sum-exp taken about max_j z_j)
 *   dz[i][j] = scale * (softmax(z)_j - [j == y_i])
 *   correct[i] = 1 if the first largest logit is y_i's, else 0
 * Precondition: labels[i] < classes (checked when the labels are read). Work size: global >= n.
 */
__kernel void softmax_xent(const __global float *restrict acts, uint z_off, __global float *deltas,
                           uint dz_off, const __global uchar *restrict labels, uint lab_off,
                           __global float *loss, __global float *correct, uint n, uint classes,
                           float scale) {
    uint i = get_global_id(0);
    if (i >= n) return;
    const __global float *z = acts + z_off + (size_t)i * classes;
    __global float *dz = deltas + dz_off + (size_t)i * classes;
    uint y = labels[lab_off + i], arg = 0;
    float mx = z[0];
    for (uint j = 1; j < classes; j++)
        if (z[j] > mx) mx = z[j], arg = j;
    float s = 0.0f;
    for (uint j = 0; j < classes; j++) s += exp(z[j] - mx);
    float lse = mx + log(s);
    loss[i] = lse - z[y];
    correct[i] = arg == y ? 1.0f : 0.0f;
    for (uint j = 0; j < classes; j++) dz[j] = scale * (exp(z[j] - lse) - (j == y ? 1.0f : 0.0f));
}
