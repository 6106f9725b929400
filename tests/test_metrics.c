/*
 * test_metrics.c - FID, KID, precision/recall/density/coverage and the classifier score against
 * host references in double written here from the definitions: the Frechet distance through a
 * Denman-Beavers square root of S1 S2 (another method than the library's eigendecompositions)
 * and in closed form on commuting, nearly singular covariances; KID and PRDC by direct loops;
 * the device's pairwise products against the host's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "testutil.h"

static clgan_device *dev;
static void setup(void) {
    dev = test_device();
}
static void teardown(void) {
    clgan_device_free(dev);
}

static float *randn(long n, int d, unsigned seed, double scale, double shift) {
    float *p = malloc((size_t)n * d * sizeof *p);
    for (size_t i = 0; i < (size_t)n * d; i++) {
        double u1 = test_uniform(&seed, 1e-12, 1), u2 = test_uniform(&seed, 0, 1);
        p[i] = (float)(shift + scale * sqrt(-2 * log(u1)) * cos(2 * CLGAN_PI * u2));
    }
    return p;
}

/* ---- small dense linear algebra in double, for the references ---------------------------- */

static void matmul(const double *a, const double *b, int d, double *c) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += a[i * d + k] * b[k * d + j];
            c[i * d + j] = s;
        }
}

/* Gauss-Jordan with partial pivoting. */
static void inverse(const double *a, int d, double *out) {
    double *m = malloc((size_t)d * 2 * d * sizeof *m);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < 2 * d; j++) m[i * 2 * d + j] = j < d ? a[i * d + j] : (j - d == i);
    for (int c = 0; c < d; c++) {
        int p = c;
        for (int r = c + 1; r < d; r++)
            if (fabs(m[r * 2 * d + c]) > fabs(m[p * 2 * d + c])) p = r;
        for (int j = 0; j < 2 * d; j++) {
            double t = m[c * 2 * d + j];
            m[c * 2 * d + j] = m[p * 2 * d + j];
            m[p * 2 * d + j] = t;
        }
        double piv = m[c * 2 * d + c];
        for (int j = 0; j < 2 * d; j++) m[c * 2 * d + j] /= piv;
        for (int r = 0; r < d; r++) {
            if (r == c) continue;
            double f = m[r * 2 * d + c];
            for (int j = 0; j < 2 * d; j++) m[r * 2 * d + j] -= f * m[c * 2 * d + j];
        }
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) out[i * d + j] = m[i * 2 * d + d + j];
    free(m);
}

/* tr sqrtm(A) by the Denman-Beavers iteration (A with positive real eigenvalues). */
static double trace_sqrtm(const double *a, int d) {
    size_t dd = (size_t)d * d;
    double *y = malloc(dd * sizeof *y), *z = malloc(dd * sizeof *z);
    double *yi = malloc(dd * sizeof *yi), *zi = malloc(dd * sizeof *zi);
    memcpy(y, a, dd * sizeof *y);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) z[i * d + j] = i == j;
    for (int it = 0; it < 60; it++) {
        inverse(y, d, yi);
        inverse(z, d, zi);
        for (size_t i = 0; i < dd; i++) {
            y[i] = 0.5 * (y[i] + zi[i]);
            z[i] = 0.5 * (z[i] + yi[i]);
        }
    }
    double tr = 0;
    for (int i = 0; i < d; i++) tr += y[i * d + i];
    free(y);
    free(z);
    free(yi);
    free(zi);
    return tr;
}

/* A random orthogonal matrix: Gram-Schmidt on random columns. */
static void orthogonal(int d, unsigned seed, double *q) {
    for (int i = 0; i < d * d; i++) q[i] = test_uniform(&seed, -1, 1);
    for (int c = 0; c < d; c++) {
        for (int p = 0; p < c; p++) {
            double dot = 0;
            for (int r = 0; r < d; r++) dot += q[r * d + c] * q[r * d + p];
            for (int r = 0; r < d; r++) q[r * d + c] -= dot * q[r * d + p];
        }
        double n = 0;
        for (int r = 0; r < d; r++) n += q[r * d + c] * q[r * d + c];
        for (int r = 0; r < d; r++) q[r * d + c] /= sqrt(n);
    }
}

/* Q diag(ev) Q^T */
static void rotate(const double *q, const double *ev, int d, double *out) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += q[i * d + k] * ev[k] * q[j * d + k];
            out[i * d + j] = s;
        }
}

/* ---- FID ------------------------------------------------------------------------------------ */

START_TEST(gaussian_matches_host) {
    const long n = 97;
    const int d = 6;
    float *x = randn(n, d, 3, 1.5, 0.25);
    double mu[6], cov[36], wm[6] = {0}, wc[36] = {0};
    ck_assert(feature_gaussian(x, n, d, mu, cov, NULL) == CLGAN_OK);
    for (long i = 0; i < n; i++)
        for (int a = 0; a < d; a++) wm[a] += x[i * d + a] / (double)n;
    for (long i = 0; i < n; i++)
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                wc[a * d + b] += (x[i * d + a] - wm[a]) * (x[i * d + b] - wm[b]) / (double)(n - 1);
    for (int a = 0; a < d; a++) ck_assert_double_eq_tol(mu[a], wm[a], 1e-12);
    for (int a = 0; a < d * d; a++) ck_assert_double_eq_tol(cov[a], wc[a], 1e-12);
    free(x);
}
END_TEST

START_TEST(fid_matches_denman_beavers) {
    const int d = 7;
    double q1[49], q2[49], e1[7], e2[7], s1[49], s2[49], mu1[7], mu2[7], p[49];
    unsigned seed = 11;
    for (int i = 0; i < d; i++) {
        e1[i] = test_uniform(&seed, 0.2, 3);
        e2[i] = test_uniform(&seed, 0.1, 2);
        mu1[i] = test_uniform(&seed, -1, 1);
        mu2[i] = test_uniform(&seed, -1, 1);
    }
    orthogonal(d, 5, q1);
    orthogonal(d, 6, q2); /* different bases: S1 and S2 do not commute */
    rotate(q1, e1, d, s1);
    rotate(q2, e2, d, s2);
    matmul(s1, s2, d, p);
    double want = 0;
    for (int i = 0; i < d; i++) want += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + s1[i * d + i] +
                                        s2[i * d + i];
    want -= 2 * trace_sqrtm(p, d);
    double fid;
    clgan_err e;
    ck_assert_msg(frechet_distance(mu1, s1, mu2, s2, d, &fid, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert_msg(fabs(fid - want) < 1e-9 * (1 + fabs(want)), "FID %.12g, want %.12g", fid, want);
    ck_assert(want > 0.1); /* the test means something */
}
END_TEST

/* Commuting covariances of rank 2 and 3 in 6 dimensions, eigenvalues down to 1e-14: FID =
 * |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2 in closed form. */
START_TEST(fid_nearly_singular_closed_form) {
    const int d = 6;
    double q[36], s1[36], s2[36], mu[6] = {0};
    const double a[6] = {2.0, 1e-12, 0, 0.7, 0, 3e-15};
    const double b[6] = {0.5, 0, 1e-14, 0.7, 1.2, 0};
    orthogonal(d, 9, q);
    rotate(q, a, d, s1);
    rotate(q, b, d, s2);
    double want = 0, fid;
    for (int i = 0; i < d; i++) want += (sqrt(a[i]) - sqrt(b[i])) * (sqrt(a[i]) - sqrt(b[i]));
    clgan_err e;
    ck_assert_msg(frechet_distance(mu, s1, mu, s2, d, &fid, &e) == CLGAN_OK, "%s", e.msg);
    /* sqrt near 0 amplifies rounding: eigenvalues of size 1e-16 give square roots of 1e-8 */
    ck_assert_msg(fabs(fid - want) < 1e-6, "FID %.12g, want %.12g", fid, want);
    ck_assert(isfinite(fid));
}
END_TEST

START_TEST(fid_of_a_set_with_itself_is_zero) {
    const long n = 50; /* fewer samples than dimensions: a singular covariance */
    const int d = 64;
    float *x = randn(n, d, 21, 1, 0);
    double *mu = malloc(d * sizeof *mu), *cov = malloc(d * d * sizeof *cov), fid, tr = 0;
    ck_assert(feature_gaussian(x, n, d, mu, cov, NULL) == CLGAN_OK);
    for (int i = 0; i < d; i++) tr += cov[i * d + i];
    ck_assert(frechet_distance(mu, cov, mu, cov, d, &fid, NULL) == CLGAN_OK);
    ck_assert_msg(fabs(fid) < 1e-6 * tr, "FID(x, x) = %g (trace %g)", fid, tr);
    /* and a shifted copy: exactly the squared shift */
    float *y = malloc((size_t)n * d * sizeof *y);
    for (long i = 0; i < n * d; i++) y[i] = x[i] + (i % d == 3 ? 0.5f : 0.0f);
    double *mu2 = malloc(d * sizeof *mu2), *cov2 = malloc(d * d * sizeof *cov2);
    ck_assert(feature_gaussian(y, n, d, mu2, cov2, NULL) == CLGAN_OK);
    ck_assert(frechet_distance(mu, cov, mu2, cov2, d, &fid, NULL) == CLGAN_OK);
    ck_assert_msg(fabs(fid - 0.25) < 1e-5, "FID of a shifted copy %g, want 0.25", fid);
    free(x);
    free(y);
    free(mu);
    free(cov);
    free(mu2);
    free(cov2);
}
END_TEST

START_TEST(fid_refuses_non_finite) {
    double mu[2] = {0, 0}, c1[4] = {1, 0, 0, NAN}, c2[4] = {1, 0, 0, 1}, fid;
    clgan_err e;
    ck_assert(frechet_distance(mu, c1, mu, c2, 2, &fid, &e) == CLGAN_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "NaN or Inf"));
}
END_TEST

/* ---- KID ------------------------------------------------------------------------------------ */

static double poly(const float *a, const float *b, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) s += (double)a[k] * b[k];
    s = s / d + 1;
    return s * s * s;
}

static double mmd_ref(const float *x, long n, const float *y, long m, int d) {
    double sxx = 0, syy = 0, sxy = 0;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++)
            if (i != j) sxx += poly(x + i * d, x + j * d, d);
    for (long i = 0; i < m; i++)
        for (long j = 0; j < m; j++)
            if (i != j) syy += poly(y + i * d, y + j * d, d);
    for (long i = 0; i < n; i++)
        for (long j = 0; j < m; j++) sxy += poly(x + i * d, y + j * d, d);
    return sxx / (n * (n - 1.0)) + syy / (m * (m - 1.0)) - 2 * sxy / ((double)n * m);
}

START_TEST(kid_matches_host) {
    const long n = 40;
    const int d = 9;
    float *x = randn(n, d, 31, 1, 0), *y = randn(n, d, 32, 1.3, 0.4);
    double want = mmd_ref(x, n, y, n, d);
    gram_device gd;
    gram_ops ops;
    gram_device_init(&gd, dev, &ops);
    const gram_ops *gs[2] = {&gram_host, &ops};
    for (int w = 0; w < 2; w++) {
        kid_result r;
        clgan_err e;
        /* one subset of all rows: a permutation, and the MMD does not depend on order */
        ck_assert_msg(kid_compute(x, n, y, n, d, 1, (int)n, 1, gs[w], &r, &e) == CLGAN_OK, "%s",
                      e.msg);
        ck_assert_msg(fabs(r.mean - want) < (w ? 1e-4 : 1e-6) * (1 + fabs(want)),
                      "%s gram: KID %.10g, want %.10g", w ? "device" : "host", r.mean, want);
        ck_assert_int_eq(r.subset_size, n);
    }
    ck_assert(want > 0.05);
    /* subsets: mean and standard error over them; two sets of one distribution: about 0 */
    kid_result r;
    float *x2 = randn(4 * n, d, 33, 1, 0), *x3 = randn(4 * n, d, 34, 1, 0);
    ck_assert(kid_compute(x2, 4 * n, x3, 4 * n, d, 20, 30, 7, &ops, &r, NULL) == CLGAN_OK);
    ck_assert_int_eq(r.subsets, 20);
    ck_assert_msg(fabs(r.mean) < 4 * r.std / sqrt(8.0), "KID of one distribution %g +- %g",
                  r.mean, r.std);
    free(x2);
    free(x3);
    ck_assert(r.std > 0 && fabs(r.se - r.std / sqrt(20.0)) < 1e-12);
    gram_device_free(&gd);
    free(x);
    free(y);
}
END_TEST

/* ---- precision, recall, density, coverage --------------------------------------------------- */

static double dist(const float *a, const float *b, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return sqrt(s);
}

/* radius of each row: the k-th smallest distance to the other rows */
static void radii(const float *x, long n, int d, int k, double *r) {
    double *v = malloc((size_t)n * sizeof *v);
    for (long i = 0; i < n; i++) {
        long c = 0;
        for (long j = 0; j < n; j++)
            if (j != i) v[c++] = dist(x + i * d, x + j * d, d);
        for (int a = 0; a < k; a++) /* selection: the k smallest to the front */
            for (long b = a + 1; b < c; b++)
                if (v[b] < v[a]) {
                    double t = v[a];
                    v[a] = v[b];
                    v[b] = t;
                }
        r[i] = v[k - 1];
    }
    free(v);
}

static void prdc_ref(const float *real, long nr, const float *fake, long nf, int d, int k,
                     prdc_result *o) {
    double *rr = malloc(nr * sizeof *rr), *fr = malloc(nf * sizeof *fr);
    radii(real, nr, d, k, rr);
    radii(fake, nf, d, k, fr);
    long p = 0, r = 0, c = 0;
    double den = 0;
    for (long j = 0; j < nf; j++) {
        long in = 0;
        for (long i = 0; i < nr; i++) in += dist(real + i * d, fake + j * d, d) < rr[i];
        p += in > 0;
        den += in;
    }
    for (long i = 0; i < nr; i++) {
        int any = 0;
        double mn = INFINITY;
        for (long j = 0; j < nf; j++) {
            double dd = dist(real + i * d, fake + j * d, d);
            any |= dd < fr[j];
            mn = fmin(mn, dd);
        }
        r += any;
        c += mn < rr[i];
    }
    o->precision = (double)p / nf;
    o->recall = (double)r / nr;
    o->density = den / ((double)k * nf);
    o->coverage = (double)c / nr;
    free(rr);
    free(fr);
}

START_TEST(prdc_matches_host) {
    const long nr = 120, nf = 90;
    const int d = 5, k = 5;
    /* fakes: part of the real distribution, part off it, so no figure is 0 or 1 */
    float *real = randn(nr, d, 41, 1, 0), *fake = randn(nf, d, 42, 0.7, 0.9);
    prdc_result want, got;
    prdc_ref(real, nr, fake, nf, d, k, &want);
    ck_assert(want.precision > 0.05 && want.precision < 0.95);
    ck_assert(want.recall > 0.05 && want.recall < 0.95);
    ck_assert(want.coverage > 0.05 && want.coverage < 0.95);
    clgan_err e;
    ck_assert_msg(prdc_compute(real, nr, fake, nf, d, k, &gram_host, &got, &e) == CLGAN_OK, "%s",
                  e.msg);
    ck_assert_double_eq_tol(got.precision, want.precision, 1e-12);
    ck_assert_double_eq_tol(got.recall, want.recall, 1e-12);
    ck_assert_double_eq_tol(got.density, want.density, 1e-12);
    ck_assert_double_eq_tol(got.coverage, want.coverage, 1e-12);
    /* through the device's float products: a pair on a ball's boundary may go either way */
    gram_device gd;
    gram_ops ops;
    gram_device_init(&gd, dev, &ops);
    ck_assert_msg(prdc_compute(real, nr, fake, nf, d, k, &ops, &got, &e) == CLGAN_OK, "%s",
                  e.msg);
    ck_assert_double_eq_tol(got.precision, want.precision, 1.5 / nf);
    ck_assert_double_eq_tol(got.recall, want.recall, 1.5 / nr);
    ck_assert_double_eq_tol(got.density, want.density, 1.5 / (k * nf));
    ck_assert_double_eq_tol(got.coverage, want.coverage, 1.5 / nr);
    gram_device_free(&gd);
    /* k must leave neighbours */
    ck_assert(prdc_compute(real, nr, fake, 5, d, 5, &gram_host, &got, &e) == CLGAN_ERR_ARG);
    free(real);
    free(fake);
}
END_TEST

/* ---- classifier score ----------------------------------------------------------------------- */

START_TEST(class_accuracy_counts_per_class) {
    enum { C = 3, N = 7 };
    /* rows of class 0 1 2 0 1 2 0 with argmax 0 1 0 2 2 2 0: class 0 2 of 3, 1 and 2 1 of 2 */
    const int best[N] = {0, 1, 0, 2, 2, 2, 0};
    float z[N * C];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) z[i * C + c] = c == best[i] ? 2.0f + (float)i : -1.0f * c;
    double acc[C];
    double all = class_accuracy(z, N, C, acc);
    ck_assert_double_eq_tol(all, 4.0 / 7.0, 1e-12);
    ck_assert_double_eq_tol(acc[0], 2.0 / 3.0, 1e-12);
    ck_assert_double_eq_tol(acc[1], 0.5, 1e-12);
    ck_assert_double_eq_tol(acc[2], 0.5, 1e-12);
    double acc5[5];
    class_accuracy(z, 3, 5, acc5); /* classes 3 and 4 have no sample */
    ck_assert(isnan(acc5[3]) && isnan(acc5[4]));
    ck_assert(isnan(class_accuracy(z, 0, C, acc)));
}
END_TEST

START_TEST(classifier_score_known_values) {
    const int C = 10;
    const long n = 200;
    float *z = calloc((size_t)n * C, sizeof *z);
    double m, s;
    classifier_score(z, n, C, 10, &m, &s); /* uniform p(y|x): nothing is recognised */
    ck_assert_double_eq_tol(m, 1.0, 1e-12);
    for (long i = 0; i < n; i++) z[i * C + i % C] = 60; /* certain, every class alike */
    classifier_score(z, n, C, 10, &m, &s);
    ck_assert_double_eq_tol(m, (double)C, 1e-6);
    ck_assert_double_eq_tol(s, 0, 1e-6);
    for (long i = 0; i < n; i++) memset(z + i * C, 0, C * sizeof *z), z[i * C + 3] = 60;
    classifier_score(z, n, C, 1, &m, &s); /* certain, one class only: collapse scores 1 */
    ck_assert_double_eq_tol(m, 1.0, 1e-6);
    free(z);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("fid");
    tcase_add_test(tc, gaussian_matches_host);
    tcase_add_test(tc, fid_matches_denman_beavers);
    tcase_add_test(tc, fid_nearly_singular_closed_form);
    tcase_add_test(tc, fid_of_a_set_with_itself_is_zero);
    tcase_add_test(tc, fid_refuses_non_finite);
    tcase_add_test(tc, classifier_score_known_values);
    tcase_add_test(tc, class_accuracy_counts_per_class);
    suite_add_tcase(s, tc);
    tc = tcase_create("pairwise");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, kid_matches_host);
    tcase_add_test(tc, prdc_matches_host);
    suite_add_tcase(s, tc);
    return run_suite(s, argc, argv, 1);
}
