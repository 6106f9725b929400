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
