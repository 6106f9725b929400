/*
 * dropout.cl - inverted dropout with masks drawn from a Philox stream (common.cl).
 *
 * Value i is kept iff u01(word i of stream (key, s, RNG_TAG_DROPOUT = 2)) < keep; kept values
 * are scaled by 1/keep so evaluation needs no rescaling. The mask is never stored: the backward
 * pass draws the same words again from the same stream.
 * Work size: global >= n, one work-item per value.
 */

#define RNG_TAG_DROPOUT 2u

inline float dropout_scale(uint i, float keep, uint key0, uint key1, uint s_lo, uint s_hi) {
    uint w = rng_lane(rng_block(i, key0, key1, s_lo, s_hi, RNG_TAG_DROPOUT), i & 3u);
    return rng_u01(w) < keep ? 1.0f / keep : 0.0f;
}

__kernel void dropout_fwd(__global float *acts, uint x_off, uint y_off, uint n, float keep,
                          uint key0, uint key1, uint s_lo, uint s_hi) {
    uint i = get_global_id(0);
    if (i >= n) return;
    acts[y_off + i] = acts[x_off + i] * dropout_scale(i, keep, key0, key1, s_lo, s_hi);
}

__kernel void dropout_bwd(__global float *deltas, uint dy_off, uint dx_off, uint n, float keep,
                          uint key0, uint key1, uint s_lo, uint s_hi) {
    uint i = get_global_id(0);
    if (i >= n) return;
    deltas[dx_off + i] = deltas[dy_off + i] * dropout_scale(i, keep, key0, key1, s_lo, s_hi);
}
