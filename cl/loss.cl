/*
 * loss.cl - the losses and their gradients in one pass: binary cross-entropy from logits, the
 * GAN losses of train.loss on a critic or on logits, and a classifier's softmax cross-entropy.
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

/*
 * The losses beyond cross-entropy, D's part (part 0) or G's (part 1), on n rows of D's output
 * z: rows [0, n_real) real, [n_real, n) generated; loss[i] is row i's term and
 * dz[i] = d(scale * sum loss) / dz_i (scale = 1/m: a mean over each half).
 *   least squares (kind 2): D: (z-1)^2/2 real, z^2/2 fake;   G: (z-1)^2/2
 *   hinge (kind 3):         D: max(0, 1-z) real, max(0, 1+z) fake;   G: -z
 *   Wasserstein (kind 4):   D: -z real, z fake;   G: -z
 *   relativistic average (kind 5): with mr, mf the means of the real and generated rows and
 *     targets (t_r, t_f) = (1, 0) for D and (0, 1) for G: real rows bce(z - mf, t_r), generated
 *     rows bce(z - mr, t_f). Each row also moves the other half's mean, so
 *     dz_i = scale (s(z_i - mf) - t_r) - scale/m_r * SF for a real row and
 *     dz_j = scale (s(z_j - mr) - t_f) - scale/m_f * SR for a generated one, where
 *     SF = sum_fake (s(z_j - mr) - t_f) and SR = sum_real (s(z_i - mf) - t_r), from ra_sums.
 * Work size: global >= n.
 */
inline float bce_of(float z, float t) {
    return fmax(z, 0.0f) - z * t + log1p(exp(-fabs(z)));
}
inline float sigmoid_of(float z) {
    return z >= 0.0f ? 1.0f / (1.0f + exp(-z)) : exp(z) / (1.0f + exp(z));
}

__kernel void gan_loss(const __global float *restrict acts, uint z_off, __global float *deltas,
                       uint dz_off, __global float *loss, uint n, uint n_real, uint kind,
                       uint part, float scale, const __global float *restrict ra) {
    uint i = get_global_id(0);
    if (i >= n) return;
    float z = acts[z_off + i], l = 0.0f, d = 0.0f;
    int real = i < n_real;
    if (kind == 2) {
        float t = part == 1 || real ? 1.0f : 0.0f;
        l = 0.5f * (z - t) * (z - t);
        d = z - t;
    } else if (kind == 3 && part == 0) {
        float a = real ? 1.0f - z : 1.0f + z;
        l = fmax(a, 0.0f);
        d = a > 0.0f ? (real ? -1.0f : 1.0f) : 0.0f;
    } else if (kind == 4 && part == 0) {
        l = real ? -z : z;
        d = real ? -1.0f : 1.0f;
    } else if (kind == 3 || kind == 4) { /* G: -z */
        l = -z;
        d = -1.0f;
    } else if (kind == 5) {
        float t_r = part == 0 ? 1.0f : 0.0f, t_f = 1.0f - t_r;
        float m_r = ra[4], m_f = ra[5]; /* the rows the means are over */
        if (real) {
            l = bce_of(z - ra[1], t_r);
            d = sigmoid_of(z - ra[1]) - t_r - ra[2] / m_r; /* z_i moves mr: SF's terms */
        } else {
            l = bce_of(z - ra[0], t_f);
            d = sigmoid_of(z - ra[0]) - t_f - ra[3] / m_f; /* z_j moves mf: SR's terms */
        }
    }
    loss[i] = l;
    deltas[dz_off + i] = scale * d;
}

/*
 * The relativistic loss's means and sums (see gan_loss): ra[0] = mr, ra[1] = mf,
 * ra[2] = SF, ra[3] = SR, and the counts of real and generated rows, ra[4] and ra[5] (over
 * several replicas the host writes the global batch's instead). Work size: exactly one
 * work-group of RA_WG work-items.
 */
#ifndef RA_WG
#define RA_WG 64
#endif
/* The work-group's sums of x and y into *x, *y (every item; a, b are RA_WG local floats). */
inline void pair_sum(float *x, float *y, __local float *a, __local float *b) {
    uint t = get_local_id(0);
    a[t] = *x;
    b[t] = *y;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = RA_WG / 2; s > 0; s >>= 1) {
        if (t < s) {
            a[t] += a[t + s];
            b[t] += b[t + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    *x = a[0];
    *y = b[0];
    barrier(CLK_LOCAL_MEM_FENCE);
}

__kernel void ra_sums(const __global float *restrict acts, uint z_off, uint n, uint n_real,
                      uint part, __global float *ra) {
    __local float a[RA_WG], b[RA_WG];
    uint t = get_local_id(0);
    float sr = 0.0f, sf = 0.0f;
    for (uint i = t; i < n; i += RA_WG) {
        float z = acts[z_off + i];
        if (i < n_real) sr += z;
        else sf += z;
    }
    pair_sum(&sr, &sf, a, b);
    float mr = sr / (float)n_real, mf = sf / (float)(n - n_real);
    float t_r = part == 0 ? 1.0f : 0.0f, t_f = 1.0f - t_r;
    sr = 0.0f;
    sf = 0.0f;
    for (uint i = t; i < n; i += RA_WG) {
        float z = acts[z_off + i];
        if (i < n_real) sr += sigmoid_of(z - mf) - t_r;
        else sf += sigmoid_of(z - mr) - t_f;
    }
    pair_sum(&sr, &sf, a, b);
    if (t == 0) {
        ra[0] = mr;
        ra[1] = mf;
        ra[2] = sf;
        ra[3] = sr;
        ra[4] = (float)n_real;
        ra[5] = (float)(n - n_real);
    }
}
