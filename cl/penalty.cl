/*
 * penalty.cl - gradient penalties (src/net/penalty.c): each row's gradient norm, the penalty's
 * value and the tangent pass's seed; WGAN-GP's interpolates.
 */
#ifndef PENALTY_WG
#define PENALTY_WG 64
#endif

/*
 * For each of `rows` rows of `cols` values g (the gradient of the row's logit with respect to
 * the network's input, at g_off of deltas): n = |g|. R1 and R2 (centred 0): the value
 * |g|^2 / 2, the seed weight g; WGAN-GP (centred 1): (n - target)^2, the seed
 * 2 weight (n - target) / n g (0 where n is 0). The seed goes to tan at t_off: the tangent pass
 * then yields the penalty's parameter gradient. stats[slot] += vscale * the values' sum,
 * stats[slot + 1] += 1, stats[6] = 1 where a value is not finite.
 * Work size: exactly one work-group of PENALTY_WG work-items (a fixed summation order).
 */
__kernel void penalty_seed(const __global float *restrict deltas, uint g_off, __global float *tan,
                           uint t_off, uint cols, uint rows, float weight, float target,
                           uint centred, float vscale, __global float *stats, uint slot) {
    __local float sv[PENALTY_WG];
    __local int bad[PENALTY_WG];
    uint t = get_local_id(0);
    float v = 0.0f;
    int nf = 0;
    for (uint r = t; r < rows; r += PENALTY_WG) {
        const __global float *g = deltas + g_off + (size_t)r * cols;
        float s = 0.0f;
        for (uint c = 0; c < cols; c++) s += g[c] * g[c];
        float n = sqrt(s), c_r = weight;
        if (centred) c_r = n > 0.0f ? 2.0f * weight * (n - target) / n : 0.0f;
        __global float *o = tan + t_off + (size_t)r * cols;
        for (uint c = 0; c < cols; c++) o[c] = c_r * g[c];
        v += centred ? (n - target) * (n - target) : 0.5f * s;
        nf |= !isfinite(s);
    }
    sv[t] = v;
    bad[t] = nf;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = PENALTY_WG / 2; s > 0; s >>= 1) {
        if (t < s) {
            sv[t] += sv[t + s];
            bad[t] |= bad[t + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) {
        stats[slot] += vscale * sv[0];
        stats[slot + 1] += 1.0f;
        if (bad[0]) stats[6] = 1.0f;
    }
}

/*
 * WGAN-GP's interpolates: row r of `rows` rows of `cols` values at x_off becomes
 * e x + (1 - e) x~ with x~ the row at f_off, e = u01(element e0 + r of Philox stream
 * (key, s, RNG_TAG_PENALTY = 9)): one draw per global row (e0: a replica's first global row),
 * the same on every device. Work size: global >= rows * cols.
 */
__kernel void penalty_mix(__global float *acts, uint x_off, uint f_off, uint cols, uint rows,
                          uint e0, uint key0, uint key1, uint s_lo, uint s_hi) {
    uint i = get_global_id(0);
    if (i >= rows * cols) return;
    uint r = i / cols, e = e0 + r;
    float u = rng_u01(rng_lane(rng_block(e, key0, key1, s_lo, s_hi, 9u), e & 3u));
    float x = acts[x_off + i], f = acts[f_off + i];
    acts[x_off + i] = u * x + (1.0f - u) * f;
}
