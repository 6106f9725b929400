/*
 * dropout.cl - inverted dropout with masks drawn from a Philox stream (common.cl).
 *
 * Value i is kept iff u01(word i of stream (key, s, RNG_TAG_DROPOUT = 2)) < keep; kept values
 * are scaled by 1/keep so evaluation needs no rescaling. The forward pass draws one Philox block
 * per 4 values and writes the scale it applied (0 or 1/keep) to `mask`; the backward pass
 * multiplies by it.
 * Work size: dropout_fwd global >= ceil(n / 4) (a work-item per block of 4 values);
 * dropout_bwd global >= n.
 */

#define RNG_TAG_DROPOUT 2u

__kernel void dropout_fwd(__global float *acts, uint x_off, uint y_off, uint mask_off, uint n,
                          float keep, uint key0, uint key1, uint s_lo, uint s_hi) {
    uint b = get_global_id(0), i0 = 4 * b;
    if (i0 >= n) return;
    uint4 w = rng_block(i0, key0, key1, s_lo, s_hi, RNG_TAG_DROPOUT);
    float scale = 1.0f / keep;
    float4 m = (float4)(rng_u01(w.x) < keep ? scale : 0.0f, rng_u01(w.y) < keep ? scale : 0.0f,
                        rng_u01(w.z) < keep ? scale : 0.0f, rng_u01(w.w) < keep ? scale : 0.0f);
    if (i0 + 4 <= n) {
        vstore4(m, 0, acts + mask_off + i0);
        vstore4(vload4(0, acts + x_off + i0) * m, 0, acts + y_off + i0);
    } else {
        float mm[4] = {m.x, m.y, m.z, m.w};
        for (uint i = i0; i < n; i++) {
            acts[mask_off + i] = mm[i - i0];
            acts[y_off + i] = acts[x_off + i] * mm[i - i0];
        }
    }
}

__kernel void dropout_bwd(const __global float *restrict acts, uint mask_off,
                          __global float *deltas, uint dy_off, uint dx_off, uint n) {
    uint i = get_global_id(0);
    if (i >= n) return;
    deltas[dx_off + i] = deltas[dy_off + i] * acts[mask_off + i];
}
