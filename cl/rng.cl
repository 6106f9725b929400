/*
 * rng.cl - drawing noise on the device from Philox streams (see common.cl).
 *
 * Layout: a flat float array; out[off + i] gets element i of the stream.
 * Work size: rng_bits global >= n (a work-item per element); rng_uniform and rng_normal
 * global >= ceil(n / 64) (a work-item per 64 elements, 16 Philox blocks drawn in vectors); tails
 * guarded; any local size.
 */

/* Raw words, for checking the device stream against the host bit for bit. */
__kernel void rng_bits(__global uint *out, uint n, uint key0, uint key1, uint s_lo, uint s_hi,
                       uint tag) {
    uint i = get_global_id(0);
    if (i >= n) return;
    out[i] = rng_lane(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u);
}

/* out[off + i] = low + (high - low) * u, u uniform on (0, 1). A work-item per 64 elements. */
__kernel void rng_uniform(__global float *out, uint off, uint n, float low, float high, uint key0,
                          uint key1, uint s_lo, uint s_hi, uint tag) {
    uint i0 = 64 * get_global_id(0);
    if (i0 >= n) return;
    if (i0 + 64 <= n) {
        uint16 x, y, z, w;
        rng_block_x16(i0, key0, key1, s_lo, s_hi, tag, &x, &y, &z, &w);
        float16 ux = rng_u01_x16(x), uy = rng_u01_x16(y), uz = rng_u01_x16(z),
                uw = rng_u01_x16(w);
        for (int q = 0; q < 4; q++)
            vstore16((float16)(low) + (float16)(high - low) * rng_interleave(ux, uy, uz, uw, q),
                     0, out + off + i0 + 16 * q);
        return;
    }
    for (uint i = i0; i < n; i++) {
        float u = rng_u01(rng_lane(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u));
        out[off + i] = low + (high - low) * u;
    }
}

/* out[off + i] = mean + stddev * g, g standard normal. A work-item per 64 elements. */
__kernel void rng_normal(__global float *out, uint off, uint n, float mean, float stddev,
                         uint key0, uint key1, uint s_lo, uint s_hi, uint tag) {
    uint i0 = 64 * get_global_id(0);
    if (i0 >= n) return;
    if (i0 + 64 <= n) { /* Box-Muller on (x, y) for lanes 0, 1 and on (z, w) for lanes 2, 3 */
        uint16 x, y, z, w;
        rng_block_x16(i0, key0, key1, s_lo, s_hi, tag, &x, &y, &z, &w);
        float16 r0 = sqrt(-2.0f * log(rng_u01_x16(x))), t0 = 6.2831853071795864769f * rng_u01_x16(y);
        float16 r1 = sqrt(-2.0f * log(rng_u01_x16(z))), t1 = 6.2831853071795864769f * rng_u01_x16(w);
        float16 g0 = r0 * cos(t0), g1 = r0 * sin(t0), g2 = r1 * cos(t1), g3 = r1 * sin(t1);
        for (int q = 0; q < 4; q++)
            vstore16((float16)(mean) + (float16)(stddev) * rng_interleave(g0, g1, g2, g3, q), 0,
                     out + off + i0 + 16 * q);
        return;
    }
    for (uint i = i0; i < n; i++) {
        float g = rng_gauss(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u);
        out[off + i] = mean + stddev * g;
    }
}

/*
 * Labels for generated rows: out[i] uniform on [0, classes), from element i's 32-bit word
 * (multiply-shift, as the host's shuffles). Work size: global >= n.
 */
__kernel void rng_labels(__global uchar *out, uint n, uint classes, uint key0, uint key1,
                         uint s_lo, uint s_hi, uint tag) {
    uint i = get_global_id(0);
    if (i >= n) return;
    uint x = rng_lane(rng_block(i, key0, key1, s_lo, s_hi, tag), i & 3u);
    out[i] = (uchar)(((ulong)x * classes) >> 32);
}
