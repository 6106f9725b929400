/*
 * batch_norm.cl - batch normalisation (src/layers/layer_batch_norm.c) per channel of x[B][C][HW]
 * (batch-major; a flat layer has HW = 1 and a channel per feature). The batch splits into G
 * groups of R = B / G consecutive rows, each normalised with its own statistics (a
 * discriminator step's real rows and generated rows).
 *
 * Statistics of the latest training pass, at st (floats, each [G][C]): mean at 0, biased
 * variance at G*C, 1/sqrt(var + eps) at 2*G*C; the backward pass's sums of dy and of dy*xhat at
 * 3*G*C and 4*G*C. Each reduction is one item's loop per (group, channel) over its rows in
 * order, each row summed as common.cl's row_sum does (16 lanes over its whole 16-value blocks,
 * folded pairwise, then the tail): an order fixed by the code, so the same result on every run
 * and device. Elementwise passes take one (sample, channel) row per item. Flat layers run the
 * *_flat kernels, 16 features per item.
 */

/* Mean and variance (two passes) of group g, channel c, one item each.
 * Work size: global >= G*C; item id = g*C + c. */
__kernel void bn_stats(const __global float *restrict x, uint x_off, __global float *st,
                       uint st_off, uint R, uint C, uint HW, uint G, float eps) {
    uint id = get_global_id(0);
    if (id >= G * C) return;
    uint g = id / C, c = id % C;
    float s = 0.0f;
    for (uint r = g * R; r < (g + 1) * R; r++)
        s += row_sum(x + x_off + ((size_t)r * C + c) * HW, HW);
    float n = (float)(R * HW), mean = s / n;
    s = 0.0f;
    for (uint r = g * R; r < (g + 1) * R; r++)
        s += row_sq_dev(x + x_off + ((size_t)r * C + c) * HW, HW, mean);
    float var = s / n;
    st[st_off + id] = mean;
    st[st_off + G * C + id] = var;
    st[st_off + 2 * G * C + id] = 1.0f / sqrt(var + eps);
}

/*
 * Statistics over several ranks' rows (data parallelism): per (group, channel), this rank's sum
 * of x into the mean's place (which 0), or its sum of squared deviations from the mean already
 * there (the global batch's, which 1) into the variance's. The host sums them over the ranks
 * and writes back the mean, the variance and 1/sqrt(var + eps). Work size as bn_stats.
 */
__kernel void bn_partial(const __global float *restrict x, uint x_off, __global float *st,
                         uint st_off, uint R, uint C, uint HW, uint G, uint which) {
    uint id = get_global_id(0);
    if (id >= G * C) return;
    uint g = id / C, c = id % C;
    float mean = which ? st[st_off + id] : 0.0f, s = 0.0f;
    for (uint r = g * R; r < (g + 1) * R; r++) {
        const __global float *row = x + x_off + ((size_t)r * C + c) * HW;
        for (uint p = 0; p < HW; p++) s += which ? (row[p] - mean) * (row[p] - mean) : row[p];
    }
    st[st_off + which * G * C + id] = s;
}

/*
 * Running statistics, group after group (as two calls of the network would update them):
 * m = (1 - momentum) m + momentum mean;  v = (1 - momentum) v + momentum var * N / (N - 1).
 * Work size: global >= C.
 */
__kernel void bn_running(__global float *params, uint rm_off, uint rv_off,
                         const __global float *restrict st, uint st_off, uint C, uint G, uint n,
                         float momentum) {
    uint c = get_global_id(0);
    if (c >= C) return;
    float unbias = n > 1 ? (float)n / (float)(n - 1) : 1.0f;
    for (uint g = 0; g < G; g++) {
        params[rm_off + c] = (1.0f - momentum) * params[rm_off + c] + momentum * st[st_off + g * C + c];
        params[rv_off + c] = (1.0f - momentum) * params[rv_off + c] +
                             momentum * st[st_off + G * C + g * C + c] * unbias;
    }
}

/* Row (b, c) normalised: y = gamma (x - mean) / sqrt(var + eps) + beta with gamma and beta at
 * params[gamma_at], params[beta_at], and the group's batch statistics (train) or the running
 * ones. bn_fwd's and bn_fwd_cond's body. */
static void bn_fwd_row(__global float *acts, uint x_off, uint y_off,
                       const __global float *restrict params, uint gamma_at, uint beta_at,
                       uint rm_off, uint rv_off, const __global float *restrict st, uint st_off,
                       uint b, uint c, uint R, uint C, uint HW, uint G, uint train, float eps) {
    uint id = (b / R) * C + c;
    float mean, inv;
    if (train) {
        mean = st[st_off + id];
        inv = st[st_off + 2 * G * C + id];
    } else {
        mean = params[rm_off + c];
        inv = 1.0f / sqrt(params[rv_off + c] + eps);
    }
    float k = params[gamma_at] * inv, o = params[beta_at] - k * mean;
    size_t row = ((size_t)b * C + c) * HW;
    for (uint p = 0; p < HW; p++) acts[y_off + row + p] = k * acts[x_off + row + p] + o;
}

/*
 * y = gamma (x - mean) / sqrt(var + eps) + beta, with the group's batch statistics (train) or
 * the running ones, one (b, c) row of HW values per item. Work size: global >= (C, B).
 */
__kernel void bn_fwd(__global float *acts, uint x_off, uint y_off,
                     const __global float *restrict params, uint gamma_off, uint beta_off,
                     uint rm_off, uint rv_off, const __global float *restrict st, uint st_off,
                     uint B, uint R, uint C, uint HW, uint G, uint train, float eps) {
    uint c = get_global_id(0), b = get_global_id(1);
    if (c >= C || b >= B) return;
    bn_fwd_row(acts, x_off, y_off, params, gamma_off + c, beta_off + c, rm_off, rv_off, st, st_off,
               b, c, R, C, HW, G, train, eps);
}

/* Per (group, channel): sum dy and sum dy * xhat, one item each. Work size as bn_stats. */
__kernel void bn_bwd_sums(const __global float *restrict x, uint x_off,
                          const __global float *restrict deltas, uint dy_off, __global float *st,
                          uint st_off, uint R, uint C, uint HW, uint G) {
    uint id = get_global_id(0);
    if (id >= G * C) return;
    uint g = id / C, c = id % C;
    float mean = st[st_off + id], inv = st[st_off + 2 * G * C + id], s1 = 0.0f, s2 = 0.0f;
    for (uint r = g * R; r < (g + 1) * R; r++) {
        size_t row = ((size_t)r * C + c) * HW;
        row_dot_dev(deltas + dy_off + row, x + x_off + row, HW, mean, inv, &s1, &s2);
    }
    st[st_off + 3 * G * C + id] = s1;
    st[st_off + 4 * G * C + id] = s2;
}

/* dgamma[c] = sum_g sum dy*xhat, dbeta[c] = sum_g sum dy. Work size: global >= C. */
__kernel void bn_bwd_params(const __global float *restrict st, uint st_off, __global float *grads,
                            uint gamma_off, uint beta_off, uint C, uint G) {
    uint c = get_global_id(0);
    if (c >= C) return;
    float s1 = 0.0f, s2 = 0.0f;
    for (uint g = 0; g < G; g++) {
        s1 += st[st_off + 3 * G * C + g * C + c];
        s2 += st[st_off + 4 * G * C + g * C + c];
    }
    grads[gamma_off + c] = s2;
    grads[beta_off + c] = s1;
}

/* dx = gamma inv / N (N dy - sum dy - xhat sum dy*xhat), N values per statistic (R*HW, or
 * over every rank's rows); one (b, c) row per item. Work size: global >= (C, B). */
__kernel void bn_bwd_dx(const __global float *restrict acts, uint x_off, __global float *deltas,
                        uint dy_off, uint dx_off, const __global float *restrict params,
                        uint gamma_off, const __global float *restrict st, uint st_off, uint B,
                        uint R, uint C, uint HW, uint G, uint N) {
    uint c = get_global_id(0), b = get_global_id(1);
    if (c >= C || b >= B) return;
    uint id = (b / R) * C + c;
    float n = (float)N, mean = st[st_off + id], inv = st[st_off + 2 * G * C + id];
    float k = params[gamma_off + c] * inv / n, s1 = st[st_off + 3 * G * C + id],
          s2 = st[st_off + 4 * G * C + id];
    size_t row = ((size_t)b * C + c) * HW;
    for (uint p = 0; p < HW; p++) {
        float xhat = (acts[x_off + row + p] - mean) * inv;
        deltas[dx_off + row + p] = k * (n * deltas[dy_off + row + p] - s1 - xhat * s2);
    }
}

/*
 * Flat layers (HW = 1, not conditional): an item takes 16 consecutive features (its lanes) of a
 * group or of a row as float16 vectors, where an item per feature left each lane's load a
 * gather; statistics and sums run over the rows in order in each lane, as bn_stats and
 * bn_bwd_sums sum them. Work size: global >= G * ceil(C / 16) (statistics, sums) or
 * B * ceil(C / 16) (y, dx); item id = g (or b) * ceil(C / 16) + the block of 16 features.
 */
__kernel void bn_stats_flat(const __global float *restrict x, uint x_off, __global float *st,
                            uint st_off, uint R, uint C, uint G, float eps) {
    uint nb = (C + 15) / 16, id = get_global_id(0);
    if (id >= G * nb) return;
    uint g = id / nb, c = id % nb * 16, cnt = min(16u, C - c);
    const __global float *col = x + x_off + (size_t)g * R * C + c;
    float16 s = 0.0f;
    for (uint r = 0; r < R; r++) s += vload16_part(col + (size_t)r * C, cnt);
    float16 mean = s / (float)R;
    s = 0.0f;
    for (uint r = 0; r < R; r++) {
        float16 d = vload16_part(col + (size_t)r * C, cnt) - mean;
        s += d * d;
    }
    float16 var = s / (float)R;
    __global float *at = st + st_off + g * C + c;
    vstore16_part(mean, at, cnt);
    vstore16_part(var, at + G * C, cnt);
    vstore16_part(1.0f / sqrt(var + eps), at + 2 * G * C, cnt);
}

/* As bn_fwd, 16 features of a row per item. */
__kernel void bn_fwd_flat(__global float *acts, uint x_off, uint y_off,
                          const __global float *restrict params, uint gamma_off, uint beta_off,
                          uint rm_off, uint rv_off, const __global float *restrict st,
                          uint st_off, uint B, uint R, uint C, uint G, uint train, float eps) {
    uint nb = (C + 15) / 16, id = get_global_id(0);
    if (id >= B * nb) return;
    uint b = id / nb, c = id % nb * 16, cnt = min(16u, C - c);
    float16 mean, inv;
    if (train) {
        const __global float *at = st + st_off + (b / R) * C + c;
        mean = vload16_part(at, cnt);
        inv = vload16_part(at + 2 * G * C, cnt);
    } else {
        mean = vload16_part(params + rm_off + c, cnt);
        inv = 1.0f / sqrt(vload16_part(params + rv_off + c, cnt) + eps);
    }
    float16 k = vload16_part(params + gamma_off + c, cnt) * inv,
            o = vload16_part(params + beta_off + c, cnt) - k * mean;
    size_t row = (size_t)b * C + c;
    vstore16_part(k * vload16_part(acts + x_off + row, cnt) + o, acts + y_off + row, cnt);
}

/* As bn_bwd_sums, 16 features of a group per item. */
__kernel void bn_bwd_sums_flat(const __global float *restrict x, uint x_off,
                               const __global float *restrict deltas, uint dy_off,
                               __global float *st, uint st_off, uint R, uint C, uint G) {
    uint nb = (C + 15) / 16, id = get_global_id(0);
    if (id >= G * nb) return;
    uint g = id / nb, c = id % nb * 16, cnt = min(16u, C - c);
    __global float *at = st + st_off + g * C + c;
    float16 mean = vload16_part(at, cnt), inv = vload16_part(at + 2 * G * C, cnt), s1 = 0.0f,
            s2 = 0.0f;
    size_t row = (size_t)g * R * C + c;
    for (uint r = 0; r < R; r++, row += C) {
        float16 dy = vload16_part(deltas + dy_off + row, cnt);
        s1 += dy;
        s2 += dy * (vload16_part(x + x_off + row, cnt) - mean) * inv;
    }
    vstore16_part(s1, at + 3 * G * C, cnt);
    vstore16_part(s2, at + 4 * G * C, cnt);
}

/* As bn_bwd_dx, 16 features of a row per item. */
__kernel void bn_bwd_dx_flat(const __global float *restrict acts, uint x_off,
                             __global float *deltas, uint dy_off, uint dx_off,
                             const __global float *restrict params, uint gamma_off,
                             const __global float *restrict st, uint st_off, uint B, uint R,
                             uint C, uint G, uint N) {
    uint nb = (C + 15) / 16, id = get_global_id(0);
    if (id >= B * nb) return;
    uint b = id / nb, c = id % nb * 16, cnt = min(16u, C - c);
    const __global float *at = st + st_off + (b / R) * C + c;
    float n = (float)N;
    float16 mean = vload16_part(at, cnt), inv = vload16_part(at + 2 * G * C, cnt),
            k = vload16_part(params + gamma_off + c, cnt) * inv / n,
            s1 = vload16_part(at + 3 * G * C, cnt), s2 = vload16_part(at + 4 * G * C, cnt);
    size_t row = (size_t)b * C + c;
    float16 xhat = (vload16_part(acts + x_off + row, cnt) - mean) * inv;
    vstore16_part(k * (n * vload16_part(deltas + dy_off + row, cnt) - s1 - xhat * s2),
                  deltas + dx_off + row, cnt);
}

/*
 * Class-conditional batch norm (SNGAN's and BigGAN's generators): gamma and beta are [K][C],
 * one row per class, and row b takes its class's, labels[b] (< K). The statistics are the same;
 * backward, g = gamma[label] dy stands for dy in the sums and in dx.
 */

/* As bn_fwd, gamma and beta of row b's class. Work size: global >= (C, B). */
__kernel void bn_fwd_cond(__global float *acts, uint x_off, uint y_off,
                          const __global float *restrict params, uint gamma_off, uint beta_off,
                          uint rm_off, uint rv_off, const __global float *restrict st,
                          uint st_off, uint B, uint R, uint C, uint HW, uint G, uint train,
                          float eps, const __global uchar *restrict labels) {
    uint c = get_global_id(0), b = get_global_id(1);
    if (c >= C || b >= B) return;
    uint kc = (uint)labels[b] * C + c;
    bn_fwd_row(acts, x_off, y_off, params, gamma_off + kc, beta_off + kc, rm_off, rv_off, st,
               st_off, b, c, R, C, HW, G, train, eps);
}

/* As bn_bwd_sums with g = gamma[label] dy for dy. Work size as bn_stats. */
__kernel void bn_bwd_sums_cond(const __global float *restrict x, uint x_off,
                               const __global float *restrict deltas, uint dy_off,
                               __global float *st, uint st_off, uint R, uint C, uint HW, uint G,
                               const __global float *restrict params, uint gamma_off,
                               const __global uchar *restrict labels) {
    uint id = get_global_id(0);
    if (id >= G * C) return;
    uint g = id / C, c = id % C;
    float mean = st[st_off + id], inv = st[st_off + 2 * G * C + id], s1 = 0.0f, s2 = 0.0f;
    for (uint r = g * R; r < (g + 1) * R; r++) {
        size_t row = ((size_t)r * C + c) * HW;
        float gamma = params[gamma_off + (uint)labels[r] * C + c], t1 = 0.0f, t2 = 0.0f;
        row_dot_dev(deltas + dy_off + row, x + x_off + row, HW, mean, inv, &t1, &t2);
        s1 += gamma * t1;
        s2 += gamma * t2;
    }
    st[st_off + 3 * G * C + id] = s1;
    st[st_off + 4 * G * C + id] = s2;
}

/* dgamma[k][c] = sum of dy*xhat over the rows of class k, dbeta[k][c] the sum of dy; each item
 * loops over the rows in order. Work size: global >= K*C; item id = k*C + c. */
__kernel void bn_bwd_params_cond(const __global float *restrict x, uint x_off,
                                 const __global float *restrict deltas, uint dy_off,
                                 const __global float *restrict st, uint st_off,
                                 __global float *grads, uint gamma_off, uint beta_off, uint B,
                                 uint R, uint C, uint HW, uint G, uint K,
                                 const __global uchar *restrict labels) {
    uint id = get_global_id(0);
    if (id >= K * C) return;
    uint k = id / C, c = id % C;
    float s1 = 0.0f, s2 = 0.0f;
    for (uint b = 0; b < B; b++) {
        if (labels[b] != k) continue;
        uint sid = (b / R) * C + c;
        float mean = st[st_off + sid], inv = st[st_off + 2 * G * C + sid];
        size_t row = ((size_t)b * C + c) * HW;
        row_dot_dev(deltas + dy_off + row, x + x_off + row, HW, mean, inv, &s1, &s2);
    }
    grads[gamma_off + id] = s2;
    grads[beta_off + id] = s1;
}

/* As bn_bwd_dx with g = gamma[label] dy for dy and no gamma factor outside.
 * Work size: global >= (C, B). */
__kernel void bn_bwd_dx_cond(const __global float *restrict acts, uint x_off,
                             __global float *deltas, uint dy_off, uint dx_off,
                             const __global float *restrict params, uint gamma_off,
                             const __global float *restrict st, uint st_off, uint B, uint R,
                             uint C, uint HW, uint G, uint N,
                             const __global uchar *restrict labels) {
    uint c = get_global_id(0), b = get_global_id(1);
    if (c >= C || b >= B) return;
    uint id = (b / R) * C + c;
    float n = (float)N, mean = st[st_off + id], inv = st[st_off + 2 * G * C + id];
    float gamma = params[gamma_off + (uint)labels[b] * C + c], k = inv / n,
          s1 = st[st_off + 3 * G * C + id], s2 = st[st_off + 4 * G * C + id];
    size_t row = ((size_t)b * C + c) * HW;
    for (uint p = 0; p < HW; p++) {
        float xhat = (acts[x_off + row + p] - mean) * inv;
        deltas[dx_off + row + p] = k * (n * gamma * deltas[dy_off + row + p] - s1 - xhat * s2);
    }
}
