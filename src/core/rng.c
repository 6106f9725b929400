/*
 * rng.c - host Philox4x32-10 (Salmon et al., SC'11), bit-identical to cl/common.cl.
 */
#include "rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

static void block_of(const rng_stream *s, uint64_t i, uint32_t out[4]) {
    uint32_t ctr[4] = {(uint32_t)(i >> 2), (uint32_t)s->stream, (uint32_t)(s->stream >> 32), s->tag};
    philox4x32_10(ctr, s->key, out);
}

uint32_t rng_bits(const rng_stream *s, uint64_t i) {
    uint32_t b[4];
    block_of(s, i, b);
    return b[i & 3];
}

static float u01(uint32_t x) {
    return (float)(x >> 8) * (1.0f / 16777216.0f) + (0.5f / 16777216.0f);
}

float rng_uniform01(const rng_stream *s, uint64_t i) {
    return u01(rng_bits(s, i));
}

float rng_uniform(const rng_stream *s, uint64_t i, float low, float high) {
    float u = rng_uniform01(s, i);
    volatile float scaled = (high - low) * u; /* keep the two roundings the device does */
    return low + scaled;
}

float rng_normal(const rng_stream *s, uint64_t i, float mean, float stddev) {
    uint32_t b[4];
    block_of(s, i, b);
    unsigned lane = (unsigned)(i & 3), pair = lane & 2u;
    float u0 = u01(b[pair]), u1 = u01(b[pair + 1]);
    float r = sqrtf(-2.0f * logf(u0));
    float t = 6.2831853071795864769f * u1;
    float g = (lane & 1) ? r * sinf(t) : r * cosf(t);
    volatile float scaled = stddev * g;
    return mean + scaled;
}

void rng_key_from_seed(uint64_t seed, uint32_t key[2]) {
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
}
