/*
 * rng.cl - drawing noise on the device from Philox streams (see common.cl).
 *
 * Layout: a flat float array; out[off + i] gets element i of the stream.
 * Work size: global >= n (one work-item per element, tail guarded); any local size.
 */

/* Raw words, for checking the device stream against the host bit for bit. */
__kernel void rng_bits(__global uint *out, uint n, uint key0, uint key1, uint s_lo, uint s_hi,
                       uint tag) {
    uint i = get_global_id(0);
    if (i >= n) return;
    out[i] = rng_lane(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u);
}

/* out[off + i] = low + (high - low) * u, u uniform on (0, 1). */
__kernel void rng_uniform(__global float *out, uint off, uint n, float low, float high, uint key0,
                          uint key1, uint s_lo, uint s_hi, uint tag) {
    uint i = get_global_id(0);
    if (i >= n) return;
    float u = rng_u01(rng_lane(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u));
    out[off + i] = low + (high - low) * u;
}

/* out[off + i] = mean + stddev * g, g standard normal. */
__kernel void rng_normal(__global float *out, uint off, uint n, float mean, float stddev,
                         uint key0, uint key1, uint s_lo, uint s_hi, uint tag) {
    uint i = get_global_id(0);
    if (i >= n) return;
    float g = rng_gauss(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u);
    out[off + i] = mean + stddev * g;
}
