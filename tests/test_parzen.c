/*
 * test_parzen.c - the Parzen-window log-likelihood on the device against a host reference in
 * double, including points so far from every centre that exp() underflows done naively, and
 * the choice of bandwidth.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "modes.h"
#include "parzen.h"
#include "testutil.h"

#define LL_RTOL 1e-4
#define LL_ATOL 2e-3 /* nats: float distances through |x|^2 + |mu|^2 - 2 x.mu */

static clgan_device *dev;
static void setup(void) {
    dev = test_device();
}
static void teardown(void) {
    clgan_device_free(dev);
}

/* log p(x) in double with a stable log-sum-exp. */
static double host_ll(const float *mu, long S, int d, const float *x, double sigma) {
    double *a = malloc((size_t)S * sizeof *a), m = -INFINITY;
    for (long i = 0; i < S; i++) {
        double d2 = 0;
        for (int j = 0; j < d; j++) {
            double t = (double)x[j] - mu[(size_t)i * d + j];
            d2 += t * t;
        }
        a[i] = -d2 / (2 * sigma * sigma);
        if (a[i] > m) m = a[i];
    }
    double s = 0;
    for (long i = 0; i < S; i++) s += exp(a[i] - m);
    free(a);
    return m + log(s) - log((double)S) - d * log(sigma * sqrt(2 * CLGAN_PI));
}

static float *random_points(long n, int d, unsigned seed, double lo, double hi) {
    float *p = malloc((size_t)n * d * sizeof *p);
    for (size_t i = 0; i < (size_t)n * d; i++) p[i] = (float)test_uniform(&seed, lo, hi);
    return p;
}

START_TEST(loglik_matches_host) {
    const long S = 300, N = 37;
    const int d = 20;
    float *mu = random_points(S, d, 1, 0, 1), *x = random_points(N, d, 2, 0, 1);
    const double sig[3] = {0.2, 0.35, 0.9};
    parzen p;
    ck_assert_msg(parzen_init(&p, dev, mu, S, d) == CLGAN_OK, "%s", dev->err.msg);
    double *ll = malloc(3 * N * sizeof *ll), *want = malloc(3 * N * sizeof *want);
    ck_assert_msg(parzen_loglik(&p, x, N, sig, 3, ll) == CLGAN_OK, "%s", dev->err.msg);
    float *got = malloc(3 * N * sizeof *got);
    for (int k = 0; k < 3; k++)
        for (long j = 0; j < N; j++) {
            want[k * N + j] = host_ll(mu, S, d, x + j * d, sig[k]);
            got[k * N + j] = (float)ll[k * N + j];
        }
    assert_close("log p(x)", got, want, 3 * N, LL_RTOL, LL_ATOL);
    free(mu);
    free(x);
    free(ll);
    free(want);
    free(got);
    parzen_free(&p);
}
END_TEST

/* Points 50 units from every centre at sigma 0.1: exp(-d2 / 2 sigma^2) = exp(-125000) is 0. */
START_TEST(far_points_do_not_underflow) {
    const long S = 64, N = 5;
    const int d = 4;
    float *mu = random_points(S, d, 3, 0, 1), *x = random_points(N, d, 4, 50, 51);
    parzen p;
    ck_assert(parzen_init(&p, dev, mu, S, d) == CLGAN_OK);
    double sig = 0.1, ll[5];
    ck_assert(parzen_loglik(&p, x, N, &sig, 1, ll) == CLGAN_OK);
    for (long j = 0; j < N; j++) {
        double want = host_ll(mu, S, d, x + j * d, sig);
        ck_assert_msg(isfinite(ll[j]), "point %ld: %g", j, ll[j]);
        ck_assert_msg(want < -100000, "the test point is not far: %g", want);
        ck_assert_msg(fabs(ll[j] - want) <= 1e-4 * fabs(want), "point %ld: %g vs %g", j, ll[j], want);
    }
    free(mu);
    free(x);
    parzen_free(&p);
}
END_TEST

START_TEST(sigma_choice_matches_host) {
    const long S = 200, NV = 50, NT = 40;
    const int d = 8;
    /* centres and points from the same clustered distribution */
    float *mu = random_points(S, d, 5, 0, 1), *v = random_points(NV, d, 6, 0, 1),
          *t = random_points(NT, d, 7, 0, 1);
    double sig[8];
    log_space(0.05, 2.0, 8, sig);
    parzen p;
    ck_assert(parzen_init(&p, dev, mu, S, d) == CLGAN_OK);
    parzen_result r;
    ck_assert_msg(parzen_evaluate(&p, v, NV, t, NT, sig, 8, &r) == CLGAN_OK, "%s", dev->err.msg);
    int best = 0;
    double bv = -INFINITY;
    for (int k = 0; k < 8; k++) {
        double s = 0;
        for (long j = 0; j < NV; j++) s += host_ll(mu, S, d, v + j * d, sig[k]);
        ck_assert_msg(fabs(s / NV - r.valid_mean[k]) < 1e-3 * (1 + fabs(s / NV)), "sigma %g: %g vs %g",
                      sig[k], r.valid_mean[k], s / NV);
        if (s / NV > bv) {
            bv = s / NV;
            best = k;
        }
    }
    ck_assert_int_eq(r.best, best);
    ck_assert(best > 0 && best < 7); /* an interior choice: the grid brackets the optimum */
    double s = 0, q = 0;
    for (long j = 0; j < NT; j++) s += host_ll(mu, S, d, t + j * d, sig[best]);
    double mean = s / NT;
    for (long j = 0; j < NT; j++) {
        double x = host_ll(mu, S, d, t + j * d, sig[best]) - mean;
        q += x * x;
    }
    ck_assert_double_eq_tol(r.test_mean, mean, 1e-3);
    ck_assert_double_eq_tol(r.test_se, sqrt(q / (NT - 1)) / sqrt((double)NT), 1e-3);
    free(mu);
    free(v);
    free(t);
    parzen_free(&p);
}
END_TEST

/* ---- mode coverage (modes.c): host only --------------------------------------------------- */

/* A ring of 8 (radius 2, stddev 0.02): 25 samples on each of modes 0-5, 10 within 3 stddev of
 * mode 6, 30 at the centre, one NaN; mode 7 gets none. */
START_TEST(modes_ring) {
    data_spec d;
    memset(&d, 0, sizeof d);
    d.format = DATA_RING_2D;
    d.n_comp = 8;
    d.radius = 2;
    d.stddev[0] = 0.02f;
    float x[2 * 191];
    long n = 0;
    for (int m = 0; m < 7; m++)
        for (int i = 0; i < (m < 6 ? 25 : 10); i++, n++) {
            double a = 2 * CLGAN_PI * m / 8, r = 2 + (i % 5 - 2) * 0.02; /* up to 2 stddev off */
            x[2 * n] = (float)(r * cos(a));
            x[2 * n + 1] = (float)(r * sin(a));
        }
    for (int i = 0; i < 30; i++, n++) x[2 * n] = x[2 * n + 1] = 0.0f;
    x[2 * n] = NAN, x[2 * n + 1] = 0.0f, n++;
    ck_assert_int_eq(n, 191);
    mode_stats ms;
    clgan_err e;
    ck_assert(modes_count(&d, x, n, 20, &ms, &e) == CLGAN_OK);
    ck_assert_int_eq(ms.modes, 8);
    ck_assert_int_eq(ms.covered, 6); /* mode 6 has 10 < 20 */
    ck_assert_int_eq(ms.high_quality, 160);
    ck_assert_int_eq(ms.count[6], 10);
    ck_assert_int_eq(ms.count[7], 0);
    ck_assert_int_eq(ms.nonfinite, 1); /* the NaN sample: counted, and said */
    ck_assert(modes_count(&d, x, n, 10, &ms, &e) == CLGAN_OK);
    ck_assert_int_eq(ms.covered, 7);
    /* a sample 4 stddev from its mode is not high-quality */
    float far[2] = {2.08f, 0.0f};
    ck_assert(modes_count(&d, far, 1, 1, &ms, &e) == CLGAN_OK);
    ck_assert_int_eq(ms.high_quality, 0);
}
END_TEST

/* A 1-D mixture with stddevs of its own per component; images have no modes to count. */
START_TEST(modes_mixture_and_images) {
    data_spec d;
    memset(&d, 0, sizeof d);
    d.format = DATA_MIXTURE_1D;
    d.n_comp = 2;
    d.mean[0] = -2, d.stddev[0] = 0.1f;
    d.mean[1] = 3, d.stddev[1] = 1.0f;
    float x[4] = {-2.25f, -2.4f, 5.5f, 0.4f}; /* hq, not (4 sd), hq (2.5 sd), nearest -2: not */
    mode_stats ms;
    clgan_err e;
    ck_assert(modes_count(&d, x, 4, 1, &ms, &e) == CLGAN_OK);
    ck_assert_int_eq(ms.high_quality, 2);
    ck_assert_int_eq(ms.count[0], 1);
    ck_assert_int_eq(ms.count[1], 1);
    ck_assert_int_eq(ms.covered, 2);
    d.format = DATA_IDX;
    ck_assert_int_eq(modes_count(&d, x, 4, 1, &ms, &e), CLGAN_ERR_ARG);
    ck_assert_msg(strstr(e.msg, "images") != NULL, "%s", e.msg);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("parzen");
    TCase *tc = tcase_create("parzen");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, loglik_matches_host);
    tcase_add_test(tc, far_points_do_not_underflow);
    tcase_add_test(tc, sigma_choice_matches_host);
    suite_add_tcase(s, tc);
    TCase *mc = tcase_create("modes");
    tcase_add_test(mc, modes_ring);
    tcase_add_test(mc, modes_mixture_and_images);
    suite_add_tcase(s, mc);
    return run_suite(s, argc, argv, 0);
}
