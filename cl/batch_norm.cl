/*
 * batch_norm.cl - batch normalisation (src/layers/layer_batch_norm.c) per channel of x[B][C][HW]
 * (batch-major; a flat layer has HW = 1 and a channel per feature). The batch splits into G
 * groups of R = B / G consecutive rows, each normalised with its own statistics (a
 * discriminator step's real rows and generated rows).
 *
 * Statistics of the latest training pass, at st (floats, each [G][C]): mean at 0, biased
 * variance at G*C, 1/sqrt(var + eps) at 2*G*C; the backward pass's sums of dy and of dy*xhat at
 * 3*G*C and 4*G*C. Reductions run one work-group of BN_GROUP items per (group, channel) in a
 * fixed order: the same result on every run.
 */
#ifndef BN_GROUP
#define BN_GROUP 64
#endif

/* The sum over this work-group's items of v, in a fixed tree; every item gets it. */
static float group_sum(float v, __local float *part) {
    uint l = get_local_id(0);
    part[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint w = BN_GROUP / 2; w > 0; w /= 2) {
        if (l < w) part[l] += part[l + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float s = part[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return s;
}

/* Mean and variance (two passes) of group g, channel c. Work size: global = G*C*BN_GROUP,
 * local = BN_GROUP; work-group id = g*C + c. */
__kernel void bn_stats(const __global float *restrict x, uint x_off, __global float *st,
                       uint st_off, uint R, uint C, uint HW, uint G, float eps) {
    __local float part[BN_GROUP];
    uint id = get_group_id(0), g = id / C, c = id % C, l = get_local_id(0), n = R * HW;
    float s = 0.0f;
    for (uint i = l; i < n; i += BN_GROUP) {
        uint r = g * R + i / HW;
        s += x[x_off + ((size_t)r * C + c) * HW + i % HW];
    }
    float mean = group_sum(s, part) / (float)n;
    s = 0.0f;
    for (uint i = l; i < n; i += BN_GROUP) {
        uint r = g * R + i / HW;
        float d = x[x_off + ((size_t)r * C + c) * HW + i % HW] - mean;
        s += d * d;
    }
    float var = group_sum(s, part) / (float)n;
    if (l == 0) {
        st[st_off + id] = mean;
        st[st_off + G * C + id] = var;
        st[st_off + 2 * G * C + id] = 1.0f / sqrt(var + eps);
    }
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

/*
 * y = gamma (x - mean) / sqrt(var + eps) + beta, with the group's batch statistics (train) or
 * the running ones. Work size: global >= B*C*HW, one value per item.
 */
__kernel void bn_fwd(__global float *acts, uint x_off, uint y_off,
                     const __global float *restrict params, uint gamma_off, uint beta_off,
                     uint rm_off, uint rv_off, const __global float *restrict st, uint st_off,
                     uint B, uint R, uint C, uint HW, uint G, uint train, float eps) {
    uint i = get_global_id(0);
    if (i >= B * C * HW) return;
    uint c = (i / HW) % C, g = i / (C * HW) / R;
    float mean, inv;
    if (train) {
        mean = st[st_off + g * C + c];
        inv = st[st_off + 2 * G * C + g * C + c];
    } else {
        mean = params[rm_off + c];
        inv = 1.0f / sqrt(params[rv_off + c] + eps);
    }
    acts[y_off + i] = params[gamma_off + c] * (acts[x_off + i] - mean) * inv + params[beta_off + c];
}

/* Per (group, channel): sum dy and sum dy * xhat. Work size as bn_stats. */
__kernel void bn_bwd_sums(const __global float *restrict x, uint x_off,
                          const __global float *restrict deltas, uint dy_off, __global float *st,
                          uint st_off, uint R, uint C, uint HW, uint G) {
    __local float part[BN_GROUP];
    uint id = get_group_id(0), g = id / C, c = id % C, l = get_local_id(0), n = R * HW;
    float mean = st[st_off + id], inv = st[st_off + 2 * G * C + id], s1 = 0.0f, s2 = 0.0f;
    for (uint i = l; i < n; i += BN_GROUP) {
        size_t at = ((size_t)(g * R + i / HW) * C + c) * HW + i % HW;
        float dy = deltas[dy_off + at];
        s1 += dy;
        s2 += dy * (x[x_off + at] - mean) * inv;
    }
    s1 = group_sum(s1, part);
    s2 = group_sum(s2, part);
    if (l == 0) {
        st[st_off + 3 * G * C + id] = s1;
        st[st_off + 4 * G * C + id] = s2;
    }
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

/* dx = gamma inv / N (N dy - sum dy - xhat sum dy*xhat), N = R*HW values per statistic.
 * Work size: global >= B*C*HW. */
__kernel void bn_bwd_dx(const __global float *restrict acts, uint x_off, __global float *deltas,
                        uint dy_off, uint dx_off, const __global float *restrict params,
                        uint gamma_off, const __global float *restrict st, uint st_off, uint B,
                        uint R, uint C, uint HW, uint G) {
    uint i = get_global_id(0);
    if (i >= B * C * HW) return;
    uint c = (i / HW) % C, id = (i / (C * HW) / R) * C + c;
    float n = (float)(R * HW), mean = st[st_off + id], inv = st[st_off + 2 * G * C + id];
    float xhat = (acts[x_off + i] - mean) * inv;
    deltas[dx_off + i] = params[gamma_off + c] * inv / n *
                         (n * deltas[dy_off + i] - st[st_off + 3 * G * C + id] -
                          xhat * st[st_off + 4 * G * C + id]);
}
