/*
 * rng.h - Philox4x32-10, the counter-based generator behind every random number clgan draws.
 *
 * The same function runs on the host (here) and on the device (cl/common.cl), so a seed gives
 * the same stream everywhere. A stream is addressed by a key (the seed, 2 words), a 64-bit
 * stream number (one per draw: each call to draw noise or a dropout mask takes a fresh one),
 * and a tag (what the numbers are for). Element i of a stream is lane i%4 of the block at
 * counter {i/4, stream_lo, stream_hi, tag}.
 */
#ifndef CLGAN_RNG_H
#define CLGAN_RNG_H

#include <stddef.h>
#include <stdint.h>

enum rng_tag {
    RNG_TAG_NOISE = 1,
    RNG_TAG_DROPOUT = 2,
    RNG_TAG_INIT = 3,
    RNG_TAG_SHUFFLE = 4,
    RNG_TAG_DATA = 5,
    RNG_TAG_SAMPLE = 6,
    RNG_TAG_LABEL = 7, /* generated rows' labels (a conditional GAN's) */
    RNG_TAG_CHECK = 8, /* the GEMM tuner's check of each path against the host (gemm.c) */
    RNG_TAG_PENALTY = 9, /* WGAN-GP's interpolation weights, one per global row (penalty.c) */
    RNG_TAG_AUGMENT = 10 /* DiffAugment's draws, 16 words per global sample (augment.c) */
};

typedef struct rng_stream {
    uint32_t key[2];
    uint64_t stream;
    uint32_t tag;
} rng_stream;

/* One Philox4x32-10 block: out = philox(ctr, key). */
void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The raw 32-bit word i of a stream. */
uint32_t rng_bits(const rng_stream *s, uint64_t i);
/* Uniform float in (0, 1) from word i: 24 random bits, never exactly 0 or 1. */
float rng_uniform01(const rng_stream *s, uint64_t i);
/* low + (high - low) * u, as the device computes it (no fused multiply-add). */
float rng_uniform(const rng_stream *s, uint64_t i, float low, float high);
/* mean + stddev * g, g standard normal by Box-Muller on the word pair of lane i. */
float rng_normal(const rng_stream *s, uint64_t i, float mean, float stddev);

/*
 * Work-items for cl/rng.cl's rng_uniform and rng_normal and cl/dropout.cl's dropout_fwd
 * drawing elements [e0, e0 + n): one per 64-element block of the stream they touch.
 */
static inline size_t rng_items(uint32_t e0, uint32_t n) {
    return ((size_t)(e0 % 64u) + n + 63u) / 64u;
}

/* The seed's key: the two halves of a 64-bit seed. */
void rng_key_from_seed(uint64_t seed, uint32_t key[2]);

#endif /* CLGAN_RNG_H */
