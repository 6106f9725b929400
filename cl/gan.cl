/*
 * gan.cl - the training statistics, accumulated on the device and read once per log interval.
 *
 * stats[] slots: 0 sum of D losses, 1 sum of G losses, 2 sum of mean D(x), 3 sum of mean
 * D(G(z)), 4 D steps, 5 G steps, 6 non-finite flag (1 once any loss or logit is NaN or Inf);
 * a classifier's: 7 sum of losses, 8 rows classified right, 9 rows, 10 steps.
 * Work size: exactly one work-group of GAN_STATS_WG work-items (a fixed summation order, so
 * the figures are the same run after run).
 */
#ifndef GAN_STATS_WG
#define GAN_STATS_WG 64
#endif

/*
 * Adds one step: loss_scale * sum(loss[0..n)) to stats[slot_loss]; the mean of sigmoid(z) over
 * rows [0, n_first) to stats[2] and over [n_first, n) to stats[3] if `probs` is 1 (the mean of
 * z itself, a critic's output, if 2); one to the step counter stats[slot_count].
 */
__kernel void gan_stats(const __global float *restrict acts, uint z_off,
                        const __global float *restrict loss, uint n, uint n_first,
                        __global float *stats, uint slot_loss, uint slot_count, uint probs,
                        float loss_scale) {
    __local float sl[GAN_STATS_WG], s1[GAN_STATS_WG], s2[GAN_STATS_WG];
    __local int bad[GAN_STATS_WG];
    uint t = get_local_id(0);
    float a = 0.0f, b = 0.0f, c = 0.0f;
    int nf = 0;
    for (uint i = t; i < n; i += GAN_STATS_WG) {
        float z = acts[z_off + i], l = loss[i];
        nf |= !isfinite(z) || !isfinite(l);
        a += l;
        float p = probs == 2 ? z : z >= 0.0f ? 1.0f / (1.0f + exp(-z)) : exp(z) / (1.0f + exp(z));
        if (i < n_first)
            b += p;
        else
            c += p;
    }
    sl[t] = a;
    s1[t] = b;
    s2[t] = c;
    bad[t] = nf;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = GAN_STATS_WG / 2; s > 0; s >>= 1) {
        if (t < s) {
            sl[t] += sl[t + s];
            s1[t] += s1[t + s];
            s2[t] += s2[t + s];
            bad[t] |= bad[t + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) {
        stats[slot_loss] += loss_scale * sl[0];
        stats[slot_count] += 1.0f;
        if (probs) {
            if (n_first > 0) stats[2] += s1[0] / (float)n_first;
            if (n > n_first) stats[3] += s2[0] / (float)(n - n_first);
        }
        if (bad[0]) stats[6] = 1.0f;
    }
}

/*
 * A classifier step: adds the sum of loss[0..n) to stats[7], of correct[0..n) to stats[8], n
 * to stats[9] and one step to stats[10]; a non-finite loss sets stats[6].
 * Work size: one work-group of GAN_STATS_WG work-items.
 */
__kernel void classify_stats(const __global float *restrict loss,
                             const __global float *restrict correct, uint n,
                             __global float *stats) {
    __local float sl[GAN_STATS_WG], sc[GAN_STATS_WG];
    __local int bad[GAN_STATS_WG];
    uint t = get_local_id(0);
    float a = 0.0f, b = 0.0f;
    int nf = 0;
    for (uint i = t; i < n; i += GAN_STATS_WG) {
        nf |= !isfinite(loss[i]);
        a += loss[i];
        b += correct[i];
    }
    sl[t] = a;
    sc[t] = b;
    bad[t] = nf;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = GAN_STATS_WG / 2; s > 0; s >>= 1) {
        if (t < s) {
            sl[t] += sl[t + s];
            sc[t] += sc[t + s];
            bad[t] |= bad[t + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) {
        stats[7] += sl[0];
        stats[8] += sc[0];
        stats[9] += (float)n;
        stats[10] += 1.0f;
        if (bad[0]) stats[6] = 1.0f;
    }
}

/*
 * Sets stats[6], the non-finite flag, if any of x[off .. off + n) is NaN or Inf: a network's
 * parameters, where a NaN can sit without reaching a loss (a ReLU or a maxout that passes only
 * the other values). Work size: any; each work-item strides over the values, and only one that
 * finds a bad value writes, atomically (no two work-items race on the flag).
 */
__kernel void flag_nonfinite(const __global float *restrict x, uint off, uint n,
                             __global float *stats) {
    int bad = 0;
    for (uint i = get_global_id(0); i < n; i += get_global_size(0)) bad |= !isfinite(x[off + i]);
    if (bad) atomic_xchg((volatile __global float *)&stats[6], 1.0f);
}

/*
 * Adaptive augmentation (ADA's r_t = E[sign D(x)] over real rows): acc[0] += the sum of
 * sign(z) over z[0 .. n), acc[1] += n. Work size: exactly one work-group of GAN_STATS_WG.
 */
__kernel void sign_sum(const __global float *restrict acts, uint z_off, uint n,
                       __global float *acc) {
    __local float s[GAN_STATS_WG];
    uint t = get_local_id(0);
    float a = 0.0f;
    for (uint i = t; i < n; i += GAN_STATS_WG) {
        float z = acts[z_off + i];
        a += z > 0.0f ? 1.0f : z < 0.0f ? -1.0f : 0.0f;
    }
    s[t] = a;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint k = GAN_STATS_WG / 2; k > 0; k >>= 1) {
        if (t < k) s[t] += s[t + k];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) {
        acc[0] += s[0];
        acc[1] += (float)n;
    }
}
