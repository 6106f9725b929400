/*
 * common.cl - the prelude prepended to every clgan program: Philox4x32-10 and the conversions
 * from its words to floats, bit-identical to src/rng.c.
 *
 * Streams: element i of stream (key, stream, tag) is lane i%4 of philox({i/4, stream_lo,
 * stream_hi, tag}, key). Contraction into fma is off so uniform floats match the host exactly.
 */
#pragma OPENCL FP_CONTRACT OFF

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

inline uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int r = 0; r < 10; r++) {
        uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k += (uint2)(PHILOX_W0, PHILOX_W1);
    }
    return c;
}

inline uint4 rng_block(uint i, uint key0, uint key1, uint s_lo, uint s_hi, uint tag) {
    return philox4x32_10((uint4)(i >> 2, s_lo, s_hi, tag), (uint2)(key0, key1));
}

inline uint rng_lane(uint4 b, uint lane) {
    return lane == 0 ? b.x : lane == 1 ? b.y : lane == 2 ? b.z : b.w;
}

inline float rng_u01(uint x) {
    return (float)(x >> 8) * (1.0f / 16777216.0f) + (0.5f / 16777216.0f);
}

/* Standard normal for lane `lane` of block b (Box-Muller on the lane's pair). */
inline float rng_gauss(uint4 b, uint lane) {
    float u0 = rng_u01((lane & 2u) ? b.z : b.x);
    float u1 = rng_u01((lane & 2u) ? b.w : b.y);
    float r = sqrt(-2.0f * log(u0));
    float t = 6.2831853071795864769f * u1;
    return (lane & 1u) ? r * sin(t) : r * cos(t);
}
