/*
 * dropout.cl - inverted dropout with masks drawn from a Philox stream (common.cl).
 *
 * Value i is kept iff u01(word i of stream (key, s, RNG_TAG_DROPOUT = 2)) < keep; kept values
 * are scaled by 1/keep so evaluation needs no rescaling. The forward pass writes the scale it
 * applied (0 or 1/keep) to `mask`; the backward pass multiplies by it.
 * Value i of a pass is element e0 + i of the stream (e0: a replica's first row times the
 * layer's values per row, issue 16). Work size: dropout_fwd global >= ((e0 % 64) + n + 63) / 64
 * (a work-item per 64-element block of the stream, 16 Philox blocks drawn in vectors; see
 * rng_range); dropout_bwd global >= ceil(n / 16) (16 values per work-item).
 */

#define RNG_TAG_DROPOUT 2u

__kernel void dropout_fwd(__global float *acts, uint x_off, uint y_off, uint mask_off, uint e0,
                          uint n, float keep, uint key0, uint key1, uint s_lo, uint s_hi) {
    uint lo, hi;
    int whole = rng_range(e0, n, &lo, &hi);
    if (whole < 0) return;
    float scale = 1.0f / keep;
    /* value lo - e0 of the pass is element lo of the stream; mk[j], y[j], x[j]: element lo + j */
    __global float *mk = acts + mask_off + (lo - e0), *y = acts + y_off + (lo - e0);
    const __global float *x = acts + x_off + (lo - e0);
    if (whole) { /* 16 blocks at once */
        uint16 bx, by, bz, bw;
        rng_block_x16(lo, key0, key1, s_lo, s_hi, RNG_TAG_DROPOUT, &bx, &by, &bz, &bw);
        float16 mx = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(bx), keep));
        float16 my = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(by), keep));
        float16 mz = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(bz), keep));
        float16 mw = select((float16)(0.0f), (float16)(scale), isless(rng_u01_x16(bw), keep));
        for (int q = 0; q < 4; q++) {
            float16 m = rng_interleave(mx, my, mz, mw, q);
            vstore16(m, 0, mk + 16 * q);
            vstore16(vload16(0, x + 16 * q) * m, 0, y + 16 * q);
        }
        return;
    }
    for (uint i = lo; i < hi; i++) {
        float u = rng_u01(rng_lane(rng_block(i, key0, key1, s_lo, s_hi, RNG_TAG_DROPOUT), i & 3u));
        float m = u < keep ? scale : 0.0f;
        mk[i - lo] = m;
        y[i - lo] = x[i - lo] * m;
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
