/*
 * dropout.cl - inverted dropout with masks drawn from a Philox stream (common.cl).
 *
 * Value i is kept iff u01(word i of stream (key, s, RNG_TAG_DROPOUT = 2)) < keep; kept values
 * are scaled by 1/keep so evaluation needs no rescaling. The forward pass writes the scale it
 * applied (0 or 1/keep) to `mask`; the backward pass multiplies by it.
 * Work size: dropout_fwd global >= ceil(n / 64) (a work-item per 64 values, 16 Philox blocks
 * drawn in vectors); dropout_bwd global >= ceil(n / 16) (16 values per work-item).
 */

#define RNG_TAG_DROPOUT 2u

__kernel void dropout_fwd(__global float *acts, uint x_off, uint y_off, uint mask_off, uint n,
                          float keep, uint key0, uint key1, uint s_lo, uint s_hi) {
    uint i0 = 64 * get_global_id(0);
    if (i0 >= n) return;
    float scale = 1.0f / keep;
    if (i0 + 64 <= n) { /* 16 blocks at once */
        uint16 x, y, z, w;
        rng_block_x16(i0, key0, key1, s_lo, s_hi, RNG_TAG_DROPOUT, &x, &y, &z, &w);
        float16 mx = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(x), keep));
        float16 my = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(y), keep));
        float16 mz = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(z), keep));
        float16 mw = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(w), keep));
        for (int q = 0; q < 4; q++) {
            float16 m = rng_interleave(mx, my, mz, mw, q);
            vstore16(m, 0, acts + mask_off + i0 + 16 * q);
            vstore16(vload16(0, acts + x_off + i0 + 16 * q) * m, 0, acts + y_off + i0 + 16 * q);
        }
        return;
    }
    for (uint i = i0; i < n; i++) {
        float u = rng_u01(rng_lane(rng_block(i, key0, key1, s_lo, s_hi, RNG_TAG_DROPOUT), i & 3u));
        float m = u < keep ? scale : 0.0f;
        acts[mask_off + i] = m;
        acts[y_off + i] = acts[x_off + i] * m;
    }
}

__kernel void dropout_bwd(const __global float *restrict acts, uint mask_off,
                          __global float *deltas, uint dy_off, uint dx_off, uint n) {
    uint i = 16 * get_global_id(0);
    if (i >= n) return;
    uint cnt = min(16u, n - i);
    float16 m = vload16_part(acts + mask_off + i, cnt);
    vstore16_part(vload16_part(deltas + dy_off + i, cnt) * m, deltas + dx_off + i, cnt);
}
