/*
 * rng.cl - drawing noise on the device from Philox streams (see common.cl).
 *
 * Layout: a flat float array; out[off + i] gets element e0 + i of the stream, so that a replica
 * drawing rows [r0, r1) of a batch (e0 = r0 x values per row) gets those rows of the whole
 * batch's draw (issue 16). Work size: rng_bits global >= n (a work-item per element);
 * rng_uniform and rng_normal global >= rng_items(e0, n) = ((e0 % 64) + n + 63) / 64 (a
 * work-item per 64-element block of the stream, 16 Philox blocks drawn in vectors; the partial
 * blocks at either end element by element); any local size.
 */

/* Raw words, for checking the device stream against the host bit for bit. */
__kernel void rng_bits(__global uint *out, uint n, uint key0, uint key1, uint s_lo, uint s_hi,
                       uint tag) {
    uint i = get_global_id(0);
    if (i >= n) return;
    out[i] = rng_lane(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u);
}

/* out[off + i] = low + (high - low) * u, u uniform on (0, 1), of element e0 + i. */
__kernel void rng_uniform(__global float *out, uint off, uint e0, uint n, float low, float high,
                          uint key0, uint key1, uint s_lo, uint s_hi, uint tag) {
    uint lo, hi;
    int whole = rng_range(e0, n, &lo, &hi);
    if (whole < 0) return;
    __global float *o = out + off + (lo - e0); /* o[j]: element lo + j of the stream */
    if (whole) {
        uint16 x, y, z, w;
        rng_block_x16(lo, key0, key1, s_lo, s_hi, tag, &x, &y, &z, &w);
        float16 ux = rng_u01_x16(x), uy = rng_u01_x16(y), uz = rng_u01_x16(z),
                uw = rng_u01_x16(w);
        for (int q = 0; q < 4; q++)
            vstore16((float16)(low) + (float16)(high - low) * rng_interleave(ux, uy, uz, uw, q),
                     0, o + 16 * q);
        return;
    }
    for (uint i = lo; i < hi; i++) {
        float u = rng_u01(rng_lane(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u));
        o[i - lo] = low + (high - low) * u;
    }
}

/* out[off + i] = mean + stddev * g, g standard normal, of element e0 + i. */
__kernel void rng_normal(__global float *out, uint off, uint e0, uint n, float mean, float stddev,
                         uint key0, uint key1, uint s_lo, uint s_hi, uint tag) {
    uint lo, hi;
    int whole = rng_range(e0, n, &lo, &hi);
    if (whole < 0) return;
    __global float *o = out + off + (lo - e0);
    if (whole) { /* Box-Muller on (x, y) for lanes 0, 1 and on (z, w) for lanes 2, 3 */
        uint16 x, y, z, w;
        rng_block_x16(lo, key0, key1, s_lo, s_hi, tag, &x, &y, &z, &w);
        float16 r0 = sqrt(-2.0f * log(rng_u01_x16(x))), t0 = 6.2831853071795864769f * rng_u01_x16(y);
        float16 r1 = sqrt(-2.0f * log(rng_u01_x16(z))), t1 = 6.2831853071795864769f * rng_u01_x16(w);
        float16 g0 = r0 * cos(t0), g1 = r0 * sin(t0), g2 = r1 * cos(t1), g3 = r1 * sin(t1);
        for (int q = 0; q < 4; q++)
            vstore16((float16)(mean) + (float16)(stddev) * rng_interleave(g0, g1, g2, g3, q), 0,
                     o + 16 * q);
        return;
    }
    for (uint i = lo; i < hi; i++) {
        float g = rng_gauss(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u);
        o[i - lo] = mean + stddev * g;
    }
}

/*
 * Labels for generated rows: out[i] uniform on [0, classes), from the 32-bit word of element
 * e0 + i (multiply-shift, as the host's shuffles). Work size: global >= n.
 */
__kernel void rng_labels(__global uchar *out, uint e0, uint n, uint classes, uint key0,
                         uint key1, uint s_lo, uint s_hi, uint tag) {
    uint i = get_global_id(0);
    if (i >= n) return;
    uint j = e0 + i, x = rng_lane(rng_block(j, key0, key1, s_lo, s_hi, tag), j & 3u);
    out[i] = (uchar)(((ulong)x * classes) >> 32);
}
