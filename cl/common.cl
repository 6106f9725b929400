/*
 * common.cl - the prelude prepended to every clgan program: Philox4x32-10 and the conversions
 * from its words to floats, bit-identical to src/core/rng.c.
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

/*
 * The same on 16 counters at once: lane j of x, y, z, w holds words 0..3 of counter j. Written
 * for CPU devices, where it runs in vector registers (a work-item draws 64 words).
 */
inline void philox4x32_10_x16(uint16 *x, uint16 *y, uint16 *z, uint16 *w, uint2 k) {
    uint16 cx = *x, cy = *y, cz = *z, cw = *w;
    for (int r = 0; r < 10; r++) {
        uint16 hi0 = mul_hi((uint16)(PHILOX_M0), cx), lo0 = (uint16)(PHILOX_M0) * cx;
        uint16 hi1 = mul_hi((uint16)(PHILOX_M1), cz), lo1 = (uint16)(PHILOX_M1) * cz;
        cx = hi1 ^ cy ^ (uint16)(k.x);
        cy = lo1;
        cz = hi0 ^ cw ^ (uint16)(k.y);
        cw = lo0;
        k += (uint2)(PHILOX_W0, PHILOX_W1);
    }
    *x = cx;
    *y = cy;
    *z = cz;
    *w = cw;
}

/* 16 blocks of a stream at once: lane j of x, y, z, w holds block i0 / 4 + j (i0 % 4 == 0). */
inline void rng_block_x16(uint i0, uint key0, uint key1, uint s_lo, uint s_hi, uint tag,
                          uint16 *x, uint16 *y, uint16 *z, uint16 *w) {
    *x = (uint16)(i0 >> 2) + (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    *y = (uint16)(s_lo);
    *z = (uint16)(s_hi);
    *w = (uint16)(tag);
    philox4x32_10_x16(x, y, z, w, (uint2)(key0, key1));
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

inline float16 rng_u01_x16(uint16 x) {
    return convert_float16(x >> 8) * (1.0f / 16777216.0f) + (0.5f / 16777216.0f);
}

/* Four vectors of lane-wise words (x, y, z, w of 16 blocks) in stream order, q = 0..3. */
inline float16 rng_interleave(float16 x, float16 y, float16 z, float16 w, int q) {
    const uint16 pair_lo = (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const uint16 pair_hi = pair_lo + (uint16)(8);
    const uint16 quad_lo = (uint16)(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const uint16 quad_hi = quad_lo + (uint16)(8);
    float16 xy = shuffle2(x, y, q < 2 ? pair_lo : pair_hi);
    float16 zw = shuffle2(z, w, q < 2 ? pair_lo : pair_hi);
    return shuffle2(xy, zw, (q & 1) ? quad_hi : quad_lo);
}

/* Standard normal for lane `lane` of block b (Box-Muller on the lane's pair). */
inline float rng_gauss(uint4 b, uint lane) {
    float u0 = rng_u01((lane & 2u) ? b.z : b.x);
    float u1 = rng_u01((lane & 2u) ? b.w : b.y);
    float r = sqrt(-2.0f * log(u0));
    float t = 6.2831853071795864769f * u1;
    return (lane & 1u) ? r * sin(t) : r * cos(t);
}

/*
 * The elements [lo, hi) of a stream that work-item get_global_id(0) draws when a kernel draws
 * elements [e0, e0 + n), 64 per work-item in blocks aligned on the stream (not on e0), so that
 * a block is the same whatever e0 (issue 16's replicas). Returns 1 for a whole block (the
 * vector path), 0 for a partial one at either end, -1 for none. Work size:
 * ((e0 % 64) + n + 63) / 64.
 */
inline int rng_range(uint e0, uint n, uint *lo, uint *hi) {
    uint b0 = (e0 & ~63u) + 64u * get_global_id(0), end = e0 + n;
    if (b0 >= end) return -1;
    *lo = max(b0, e0);
    *hi = min(b0 + 64u, end);
    return *lo == b0 && *hi == b0 + 64u;
}

/* The sum of the 16 lanes, halves first (the order every reduction here uses). */
inline float hsum16(float16 v) {
    float8 h8 = v.lo + v.hi;
    float4 h4 = h8.lo + h8.hi;
    return (h4.x + h4.y) + (h4.z + h4.w);
}

/*
 * The sum over a work-group of each item's v, in a fixed order (the same on every device):
 * every item of the group calls it; sh holds n local floats, n the group's size, a power of 2.
 */
inline float group_sum(float v, __local float *sh, uint n) {
    uint t = get_local_id(0);
    sh[t] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = n / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = sh[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* The first cnt (<= 16) floats at p, zeros after them (the last block of a row). */
inline float16 vload16_part(const __global float *p, uint cnt) {
    if (cnt >= 16) return vload16(0, p);
    float t[16];
    for (uint i = 0; i < 16; i++) t[i] = i < cnt ? p[i] : 0.0f;
    return vload16(0, t);
}

/* Stores the first cnt (<= 16) lanes of v at p. */
inline void vstore16_part(float16 v, __global float *p, uint cnt) {
    if (cnt >= 16) {
        vstore16(v, 0, p);
        return;
    }
    float t[16];
    vstore16(v, 0, t);
    for (uint i = 0; i < cnt; i++) p[i] = t[i];
}

/*
 * REPn(X) writes X(0) ... X(n-1) out, REPJn(X, i) X(i, 0) ... X(i, n-1): register tiles as
 * named variables (cl/gemm.cl, conv_gemm in cl/conv2d.cl), since PoCL's compiler leaves loops
 * over arrays rolled and keeps such accumulators in memory.
 */
#define REP1(X) X(0)
#define REP2(X) X(0) X(1)
#define REP3(X) REP2(X) X(2)
#define REP4(X) REP3(X) X(3)
#define REP5(X) REP4(X) X(4)
#define REP6(X) REP5(X) X(5)
#define REP8(X) REP6(X) X(6) X(7)
#define REP12(X) REP8(X) X(8) X(9) X(10) X(11)
#define REP_(n, X) REP##n(X)
#define REP(n, X) REP_(n, X)
/* the same for a second index j, with i passed along */
#define REPJ1(X, i) X(i, 0)
#define REPJ2(X, i) X(i, 0) X(i, 1)
#define REPJ3(X, i) REPJ2(X, i) X(i, 2)
#define REPJ4(X, i) REPJ3(X, i) X(i, 3)
#define REPJ6(X, i) REPJ4(X, i) X(i, 4) X(i, 5)
#define REPJ8(X, i) REPJ6(X, i) X(i, 6) X(i, 7)
#define REPJ_(n, X, i) REPJ##n(X, i)
#define REPJ(n, X, i) REPJ_(n, X, i)

/* First row of a tile of height th whose nominal first row is m0, moved up to end at row M - 1
 * (when M >= th): the tile at the bottom edge stores only the rows no other work-item stores. */
inline uint tile_base(uint m0, uint th, uint M) {
    return M >= th && m0 + th > M ? M - th : m0;
}

/*
 * Sums over contiguous rows, for the per-channel reductions (batch norm, bias gradients): 16
 * running lane sums over the row's whole 16-value blocks (vector loads: a CPU core reads the row
 * as cache lines, not one lane per work-item), folded pairwise, then the tail in order. The
 * order is fixed by this code, so every device gives the same float.
 */
inline float sum16(float16 v) {
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

/* row[0] + ... + row[n-1] */
inline float row_sum(const __global float *row, uint n) {
    float16 acc = 0.0f;
    uint p = 0;
    for (; p + 16 <= n; p += 16) acc += vload16(0, row + p);
    float s = sum16(acc);
    for (; p < n; p++) s += row[p];
    return s;
}

/* sum of (row[p] - m)^2 */
inline float row_sq_dev(const __global float *row, uint n, float m) {
    float16 acc = 0.0f;
    uint p = 0;
    for (; p + 16 <= n; p += 16) {
        float16 d = vload16(0, row + p) - m;
        acc += d * d;
    }
    float s = sum16(acc);
    for (; p < n; p++) s += (row[p] - m) * (row[p] - m);
    return s;
}

/* sum of dy[p] and of dy[p] * (x[p] - m) * inv, into *s1 and *s2 */
inline void row_dot_dev(const __global float *dy, const __global float *x, uint n, float m,
                        float inv, float *s1, float *s2) {
    float16 a1 = 0.0f, a2 = 0.0f;
    uint p = 0;
    for (; p + 16 <= n; p += 16) {
        float16 d = vload16(0, dy + p);
        a1 += d;
        a2 += d * ((vload16(0, x + p) - m) * inv);
    }
    float t1 = sum16(a1), t2 = sum16(a2);
    for (; p < n; p++) {
        t1 += dy[p];
        t2 += dy[p] * ((x[p] - m) * inv);
    }
    *s1 += t1;
    *s2 += t2;
}
