/*
 * test_rng.c - Philox4x32-10: published known-answer vectors, and the device stream against the
 * host bit for bit (raw words, uniforms) or within float rounding (Gaussians).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "rng.h"
#include "testutil.h"

/* Random123's tests/kat_vectors, the three philox4x32 10-round lines: counter, key, result. */
static const uint32_t kat[3][10] = {
    {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
     0xa20bc7c6, 0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
     0x5001e420, 0x24126ea1},
};

START_TEST(host_known_answers) {
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        philox4x32_10(kat[t], kat[t] + 4, out);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(out[i] == kat[t][6 + i], "vector %d word %d: got %08x want %08x", t, i,
                          out[i], kat[t][6 + i]);
    }
}
END_TEST

START_TEST(host_uniform_range) {
    rng_stream s = {{7, 9}, 3, RNG_TAG_NOISE};
    double sum = 0, sq = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        float u = rng_uniform01(&s, (uint64_t)i);
        ck_assert(u > 0.0f && u < 1.0f);
        sum += u;
        sq += (double)u * u;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    ck_assert_msg(fabs(mean - 0.5) < 0.005, "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0 / 12) < 0.002, "variance %g", var);
    double gs = 0, gq = 0;
    for (int i = 0; i < n; i++) {
        double g = rng_normal(&s, (uint64_t)i, 0, 1);
        gs += g;
        gq += g * g;
    }
    ck_assert_msg(fabs(gs / n) < 0.02, "normal mean %g", gs / n);
    ck_assert_msg(fabs(gq / n - 1) < 0.02, "normal variance %g", gq / n);
}
END_TEST

/* Runs one rng.cl kernel over elements [e0, e0 + n) of stream s; returns the device output. */
static void *run_rng_at(clgan_device *dev, const char *name, const rng_stream *s, cl_uint e0,
                        cl_uint n, float a, float b) {
    cl_kernel k;
    ck_assert_msg(device_kernel(dev, "cl/rng.cl", name, &k) == CLGAN_OK, "%s", dev->err.msg);
    cl_mem buf;
    ck_assert(device_alloc(dev, n * 4, "test", &buf) == CLGAN_OK);
    cl_uint off = 0, s_lo = (cl_uint)s->stream, s_hi = (cl_uint)(s->stream >> 32);
    if (strcmp(name, "rng_bits") == 0) {
        karg args[] = {KA(buf),  KA(n),    KA(s->key[0]), KA(s->key[1]),
                       KA(s_lo), KA(s_hi), KA(s->tag)};
        ck_assert(device_set_args(dev, k, name, args, 7) == CLGAN_OK);
    } else {
        karg args[] = {KA(buf),       KA(off),       KA(e0),   KA(n),    KA(a),    KA(b),
                       KA(s->key[0]), KA(s->key[1]), KA(s_lo), KA(s_hi), KA(s->tag)};
        ck_assert(device_set_args(dev, k, name, args, 11) == CLGAN_OK);
    }
    /* rng_bits: a work-item per word; the others: a work-item per 64-element block */
    size_t items = strcmp(name, "rng_bits") == 0 ? n : rng_items(e0, n);
    ck_assert(device_run1d(dev, k, items, name) == CLGAN_OK);
    void *out = malloc(n * 4);
    ck_assert(device_read(dev, buf, 0, n * 4, out) == CLGAN_OK);
    clReleaseKernel(k);
    clReleaseMemObject(buf);
    return out;
}

static void *run_rng(clgan_device *dev, const char *name, const rng_stream *s, cl_uint n, float a,
                     float b) {
    return run_rng_at(dev, name, s, 0, n, a, b);
}

START_TEST(device_matches_host) {
    clgan_device *dev = test_device();
    const rng_stream streams[] = {
        {{0, 0}, 0, RNG_TAG_NOISE},
        {{0xdeadbeef, 0x12345678}, 5, RNG_TAG_DROPOUT},
        {{1234, 0}, (1ULL << 32) + 77, RNG_TAG_INIT},
    };
    const cl_uint n = 1003; /* not a multiple of 4: the tail block is partial */
    for (size_t t = 0; t < ARRAY_LEN(streams); t++) {
        const rng_stream *s = &streams[t];
        uint32_t *bits = run_rng(dev, "rng_bits", s, n, 0, 0);
        float *uni = run_rng(dev, "rng_uniform", s, n, -1.7320508f, 1.7320508f);
        float *gau = run_rng(dev, "rng_normal", s, n, 0.5f, 2.0f);
        for (cl_uint i = 0; i < n; i++) {
            ck_assert_msg(bits[i] == rng_bits(s, i), "stream %zu word %u: device %08x host %08x", t,
                          i, bits[i], rng_bits(s, i));
            float hu = rng_uniform(s, i, -1.7320508f, 1.7320508f);
            ck_assert_msg(uni[i] == hu, "stream %zu uniform %u: device %.9g host %.9g", t, i,
                          (double)uni[i], (double)hu);
            float hg = rng_normal(s, i, 0.5f, 2.0f);
            ck_assert_msg(fabsf(gau[i] - hg) <= 1e-5f * (1.0f + fabsf(hg)),
                          "stream %zu normal %u: device %.9g host %.9g", t, i, (double)gau[i],
                          (double)hg);
        }
        free(bits);
        free(uni);
        free(gau);
    }
    clgan_device_free(dev);
}
END_TEST

/*
 * Issue 16's replicas draw rows [r0, r1) of a batch as elements [e0, e0 + n) of the step's
 * stream: the draw must equal those elements of the whole batch's draw, wherever e0 falls
 * against the 64-element blocks, and a partial block at either end must not touch its
 * neighbours' outputs.
 */
START_TEST(offset_draws_match_whole) {
    clgan_device *dev = test_device();
    const rng_stream s = {{0x0badcafe, 77}, 12, RNG_TAG_NOISE};
    const cl_uint total = 1200;
    float *uni = run_rng(dev, "rng_uniform", &s, total, -1.0f, 1.0f);
    float *gau = run_rng(dev, "rng_normal", &s, total, 0.0f, 1.0f);
    static const cl_uint e0s[] = {0, 1, 5, 63, 64, 70, 1000}, ns[] = {1, 37, 64, 130};
    for (size_t a = 0; a < ARRAY_LEN(e0s); a++)
        for (size_t b = 0; b < ARRAY_LEN(ns); b++) {
            cl_uint e0 = e0s[a], n = ns[b];
            if (e0 + n > total) continue;
            float *u = run_rng_at(dev, "rng_uniform", &s, e0, n, -1.0f, 1.0f);
            float *g = run_rng_at(dev, "rng_normal", &s, e0, n, 0.0f, 1.0f);
            for (cl_uint i = 0; i < n; i++) {
                ck_assert_msg(u[i] == uni[e0 + i], "uniform e0 %u element %u: %.9g, whole %.9g",
                              e0, i, (double)u[i], (double)uni[e0 + i]);
                /* a block drawn whole (vectors) in one and in parts in the other may differ
                 * in the last bits of sin and cos */
                ck_assert_msg(fabsf(g[i] - gau[e0 + i]) <= 1e-6f * (1.0f + fabsf(gau[e0 + i])),
                              "normal e0 %u element %u: %.9g, whole %.9g", e0, i, (double)g[i],
                              (double)gau[e0 + i]);
            }
            free(u);
            free(g);
        }
    free(uni);
    free(gau);

    /* dropout masks: element e0 + i of the stream decides value i; the buffer around the
     * layer's values is left alone */
    cl_kernel k;
    ck_assert(device_kernel(dev, "cl/dropout.cl", "dropout_fwd", &k) == CLGAN_OK);
    enum { N = 150, PAD = 8 };
    cl_mem buf;
    ck_assert(device_alloc(dev, (3 * (N + PAD)) * 4, "test", &buf) == CLGAN_OK);
    float host[3 * (N + PAD)], out[3 * (N + PAD)];
    const rng_stream ds = {{0x0badcafe, 77}, 3, RNG_TAG_DROPOUT};
    const float keep = 0.6f;
    for (size_t a = 0; a < ARRAY_LEN(e0s); a++) {
        cl_uint e0 = e0s[a], x_off = 0, y_off = N + PAD, m_off = 2 * (N + PAD), n = N;
        for (int i = 0; i < 3 * (N + PAD); i++) host[i] = (float)(i % 17) - 8.0f;
        ck_assert(device_write(dev, buf, 0, sizeof host, host, 1) == CLGAN_OK);
        cl_uint s_lo = (cl_uint)ds.stream, s_hi = 0;
        karg args[] = {KA(buf),  KA(x_off), KA(y_off), KA(m_off), KA(e0),  KA(n),
                       KA(keep), KA(ds.key[0]), KA(ds.key[1]), KA(s_lo), KA(s_hi)};
        ck_assert(device_set_args(dev, k, "dropout_fwd", args, 11) == CLGAN_OK);
        ck_assert(device_run1d(dev, k, rng_items(e0, n), "dropout_fwd") == CLGAN_OK);
        ck_assert(device_read(dev, buf, 0, sizeof out, out) == CLGAN_OK);
        for (int i = 0; i < N; i++) {
            float m = rng_uniform01(&ds, e0 + (uint64_t)i) < keep ? 1.0f / keep : 0.0f;
            ck_assert_msg(out[m_off + i] == m, "dropout e0 %u mask %d: %g, want %g", e0, i,
                          (double)out[m_off + i], (double)m);
            ck_assert(out[y_off + i] == host[x_off + i] * m);
        }
        for (int i = 0; i < PAD; i++)
            ck_assert_msg(out[y_off + N + i] == host[y_off + N + i] &&
                              out[m_off + N + i] == host[m_off + N + i],
                          "dropout e0 %u wrote past its values", e0);
    }
    clReleaseKernel(k);
    clReleaseMemObject(buf);
    clgan_device_free(dev);
}
END_TEST

START_TEST(noise_draw_matches_host) {
    clgan_device *dev = test_device();
    clgan_model *m;
    ck_assert_msg(clgan_model_load(src_path("tests/data/tiny.yaml"), &m) == CLGAN_OK, "%s",
                  clgan_model_errmsg(m));
    net *g;
    ck_assert_msg(net_create(dev, m, CLGAN_GENERATOR, 16, 99, &g) == CLGAN_OK, "%s", dev->err.msg);
    g->own_stream = 41;
    uint64_t used;
    ck_assert(net_draw_noise(g, &m->noise, 16, &used) == CLGAN_OK);
    ck_assert_uint_eq(used, 41);
    ck_assert_uint_eq(g->own_stream, 42);
    float z[16 * 4];
    ck_assert(device_read(dev, g->acts, 0, sizeof z, z) == CLGAN_OK);
    rng_stream s = {{g->key[0], g->key[1]}, 41, RNG_TAG_NOISE};
    for (int i = 0; i < 64; i++) {
        float want = rng_uniform(&s, (uint64_t)i, m->noise.a, m->noise.b);
        ck_assert_msg(z[i] == want, "noise %d: device %.9g host %.9g", i, (double)z[i],
                      (double)want);
        ck_assert(z[i] >= m->noise.a && z[i] <= m->noise.b);
    }
    net_free(g);
    clgan_model_free(m);
    clgan_device_free(dev);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("rng");
    TCase *host = tcase_create("host");
    tcase_add_test(host, host_known_answers);
    tcase_add_test(host, host_uniform_range);
    suite_add_tcase(s, host);
    TCase *dev = tcase_create("device");
    tcase_add_test(dev, device_matches_host);
    tcase_add_test(dev, noise_draw_matches_host);
    tcase_add_test(dev, offset_draws_match_whole);
    suite_add_tcase(s, dev);
    return run_suite(s, argc, argv, 1);
}
