/*
 * metrics.c - FID, KID, precision/recall/density/coverage and the classifier score on feature
 * sets (see metrics.h). Owns nothing beyond a call, except gram_device's buffers.
 *
 * The n^2 products come in tiles of at most TILE_VALUES floats, so 10,000 x 10,000 sets need
 * 32 MiB at a time, whatever n is.
 */
#include "metrics.h"

#include <dlfcn.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "rng.h"

#define TILE_VALUES (8L << 20)

/* ---- pairwise products ---------------------------------------------------------------------- */

static clgan_status host_gram(void *ctx, const float *a, long na, const float *b, long nb, int d,
                              float *out, clgan_err *e) {
    (void)ctx;
    (void)e;
    for (long i = 0; i < na; i++)
        for (long j = 0; j < nb; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += (double)a[i * d + k] * b[j * d + k];
            out[i * nb + j] = (float)s;
        }
    return CLGAN_OK;
}

const gram_ops gram_host = {host_gram, NULL};

static clgan_status grow(gram_device *g, cl_mem *buf, size_t *cap, size_t need, const char *what) {
    if (*cap >= need) return CLGAN_OK;
    device_release(g->dev, *buf);
    *buf = NULL;
    *cap = 0;
    clgan_status st = device_alloc(g->dev, need * sizeof(float), what, buf);
    if (st == CLGAN_OK) *cap = need;
    return st;
}

static clgan_status device_gram(void *ctx, const float *a, long na, const float *b, long nb,
                                int d, float *out, clgan_err *e) {
    gram_device *g = ctx;
    size_t sa = (size_t)na * (size_t)d, sb = (size_t)nb * (size_t)d, sc = (size_t)na * (size_t)nb;
    clgan_status st = grow(g, &g->a, &g->cap_a, sa, "features (rows)");
    if (st == CLGAN_OK) st = grow(g, &g->b, &g->cap_b, sb, "features (columns)");
    if (st == CLGAN_OK) st = grow(g, &g->c, &g->cap_c, sc, "feature products");
    if (st == CLGAN_OK) st = device_write(g->dev, g->a, 0, sa * sizeof(float), a, 0);
    if (st == CLGAN_OK) st = device_write(g->dev, g->b, 0, sb * sizeof(float), b, 0);
    /* C[na][nb] = A[na][d] B[nb][d]^T */
    if (st == CLGAN_OK)
        st = gemm(g->dev, 0, 1, (size_t)na, (size_t)nb, (size_t)d, 1.0f, g->a, 0, (size_t)d, g->b,
                  0, (size_t)d, 0.0f, g->c, 0, (size_t)nb);
    if (st == CLGAN_OK) st = device_read(g->dev, g->c, 0, sc * sizeof(float), out);
    if (st != CLGAN_OK) err_set(e, st, "%s", g->dev->err.msg);
    return st;
}

void gram_device_init(gram_device *g, clgan_device *dev, gram_ops *ops) {
    memset(g, 0, sizeof *g);
    g->dev = dev;
    ops->gram = device_gram;
    ops->ctx = g;
}

void gram_device_free(gram_device *g) {
    if (!g->dev) return;
    device_release(g->dev, g->a);
    device_release(g->dev, g->b);
    device_release(g->dev, g->c);
    memset(g, 0, sizeof *g);
}

/* ---- FID ------------------------------------------------------------------------------------- */

clgan_status feature_gaussian(const float *x, long n, int d, double *mu, double *cov,
                              clgan_err *e) {
    if (n < 2) return err_set(e, CLGAN_ERR_ARG, "a covariance needs at least 2 samples, got %ld", n);
    double *row = malloc((size_t)d * sizeof *row);
    if (!row) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    for (int a = 0; a < d; a++) mu[a] = 0;
    for (long i = 0; i < n; i++)
        for (int a = 0; a < d; a++) mu[a] += x[i * d + a];
    for (int a = 0; a < d; a++) mu[a] /= (double)n;
    memset(cov, 0, (size_t)d * (size_t)d * sizeof *cov);
    for (long i = 0; i < n; i++) {
        for (int a = 0; a < d; a++) row[a] = x[i * d + a] - mu[a];
        for (int a = 0; a < d; a++) {
            double ra = row[a], *ca = cov + (size_t)a * (size_t)d;
            for (int b = a; b < d; b++) ca[b] += ra * row[b];
        }
    }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) {
            double v = cov[(size_t)a * d + b] / (double)(n - 1);
            cov[(size_t)a * d + b] = cov[(size_t)b * d + a] = v;
        }
    free(row);
    return CLGAN_OK;
}

/*
 * LAPACKE is loaded when an eigendecomposition is first asked for, not at start-up: the BLAS
 * under it may be OpenBLAS, which starts a pool of threads as it loads; threads started before
 * main() have every signal unblocked, and one of them taking a Ctrl-C while PoCL's compiler
 * (LLVM) has its SIGINT hook in place failed kernel builds (src/cli/cli_train.c). Loaded later,
 * from a thread that blocks the stop signals, its threads inherit that mask.
 */
typedef lapack_int (*dsyevd_fn)(int layout, char jobz, char uplo, lapack_int n, double *a,
                                lapack_int lda, double *w);
static dsyevd_fn dsyevd;
static char dsyevd_why[256];
static pthread_once_t dsyevd_once = PTHREAD_ONCE_INIT;

static void load_dsyevd(void) {
    static const char *const names[] = {"liblapacke.so.3", "liblapacke.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(dsyevd_why, sizeof dsyevd_why, "%s", why ? why : "not found");
        return;
    }
    dsyevd = (dsyevd_fn)(uintptr_t)dlsym(h, "LAPACKE_dsyevd");
    if (!dsyevd) snprintf(dsyevd_why, sizeof dsyevd_why, "no LAPACKE_dsyevd in liblapacke");
}

/* Eigenvalues (w) and eigenvectors (the columns of a, row-major d x d) of symmetric a. */
static clgan_status eig_sym(double *a, int d, double *w, clgan_err *e) {
    pthread_once(&dsyevd_once, load_dsyevd);
    if (!dsyevd)
        return err_set(e, CLGAN_ERR_ARG, "the Frechet distance needs LAPACKE (Debian's "
                       "liblapacke), which could not be loaded: %s", dsyevd_why);
    lapack_int info = dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, a, d, w);
    if (info != 0)
        return err_set(e, CLGAN_ERR_ARG, "symmetric eigendecomposition (LAPACKE_dsyevd) failed: "
                       "info %d%s", (int)info, info < 0 ? "" : " (no convergence: NaN or Inf in "
                                                              "the features?)");
    return CLGAN_OK;
}

clgan_status frechet_distance(const double *mu1, const double *cov1, const double *mu2,
                              const double *cov2, int d, double *fid, clgan_err *e) {
    size_t dd = (size_t)d * (size_t)d;
    double *v = malloc(dd * sizeof *v), *s = malloc(dd * sizeof *s), *t = malloc(dd * sizeof *t);
    double *w = malloc((size_t)d * sizeof *w);
    clgan_status st = CLGAN_OK;
    if (!v || !s || !t || !w) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < dd; i++)
        if (!isfinite(cov1[i]) || !isfinite(cov2[i])) {
            st = err_set(e, CLGAN_ERR_ARG, "a covariance holds NaN or Inf (features of "
                         "non-finite samples?)");
            goto done;
        }
    /* S1^1/2 = V diag(sqrt(max(w, 0))) V^T */
    memcpy(v, cov1, dd * sizeof *v);
    if ((st = eig_sym(v, d, w, e)) != CLGAN_OK) goto done;
    for (int a = 0; a < d; a++)
        for (int k = 0; k < d; k++) t[(size_t)a * d + k] = v[(size_t)a * d + k] * sqrt(fmax(w[k], 0));
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) {
            double x = 0;
            for (int k = 0; k < d; k++) x += t[(size_t)a * d + k] * v[(size_t)b * d + k];
            s[(size_t)a * d + b] = s[(size_t)b * d + a] = x;
        }
    /* M = S1^1/2 S2 S1^1/2, symmetric PSD: t = S2 S1^1/2, then M = S1^1/2 t, symmetrised */
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double x = 0;
            for (int k = 0; k < d; k++) x += cov2[(size_t)a * d + k] * s[(size_t)k * d + b];
            t[(size_t)a * d + b] = x;
        }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double x = 0;
            for (int k = 0; k < d; k++) x += s[(size_t)a * d + k] * t[(size_t)k * d + b];
            v[(size_t)a * d + b] = x;
        }
    for (int a = 0; a < d; a++)
        for (int b = a + 1; b < d; b++) {
            double x = 0.5 * (v[(size_t)a * d + b] + v[(size_t)b * d + a]);
            v[(size_t)a * d + b] = v[(size_t)b * d + a] = x;
        }
    if ((st = eig_sym(v, d, w, e)) != CLGAN_OK) goto done;
    double tr_sqrt = 0, tr1 = 0, tr2 = 0, dm = 0;
    for (int a = 0; a < d; a++) {
        tr_sqrt += sqrt(fmax(w[a], 0));
        tr1 += cov1[(size_t)a * d + a];
        tr2 += cov2[(size_t)a * d + a];
        dm += (mu1[a] - mu2[a]) * (mu1[a] - mu2[a]);
    }
    *fid = dm + tr1 + tr2 - 2 * tr_sqrt;
    /* square roots of eigenvalues that are 0 but for rounding (rank-deficient covariances)
     * leave about 1e-8 of the trace: a slightly negative distance of equal sets is 0 */
    if (*fid < 0 && *fid > -1e-6 * (tr1 + tr2 + 1)) *fid = 0;
done:
    free(v);
    free(s);
    free(t);
    free(w);
    return st;
}

/* ---- KID ------------------------------------------------------------------------------------- */

/* Rows idx[0..m) of x, gathered into out (m x d). */
static void gather(const float *x, const long *idx, long m, int d, float *out) {
    for (long i = 0; i < m; i++) memcpy(out + i * d, x + idx[i] * d, (size_t)d * sizeof *out);
}

/* m distinct indices of [0, n): the first m of a Fisher-Yates shuffle of stream s. */
static void choose(long n, long m, const rng_stream *s, long *perm, long *out) {
    for (long i = 0; i < n; i++) perm[i] = i;
    for (long i = 0; i < m; i++) {
        long j = i + (long)(((uint64_t)rng_bits(s, (uint64_t)i) * (uint64_t)(n - i)) >> 32);
        long t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        out[i] = perm[i];
    }
}

clgan_status kid_compute(const float *x, long nx, const float *y, long ny, int d, int subsets,
                         int subset_size, uint64_t seed, const gram_ops *g, kid_result *r,
                         clgan_err *e) {
    long m = subset_size;
    if (m > nx) m = nx;
    if (m > ny) m = ny;
    if (m < 2 || subsets < 1)
        return err_set(e, CLGAN_ERR_ARG, "KID needs subsets of at least 2 samples (have %ld and "
                       "%ld)", nx, ny);
    long nmax = nx > ny ? nx : ny;
    float *ab = malloc((size_t)(2 * m) * (size_t)d * sizeof *ab);
    float *k = malloc((size_t)(2 * m) * (size_t)(2 * m) * sizeof *k);
    long *perm = malloc((size_t)nmax * sizeof *perm), *idx = malloc((size_t)m * sizeof *idx);
    double *mmd = malloc((size_t)subsets * sizeof *mmd);
    clgan_status st = CLGAN_OK;
    if (!ab || !k || !perm || !idx || !mmd) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint32_t key[2];
    rng_key_from_seed(seed, key);
    for (int s = 0; s < subsets && st == CLGAN_OK; s++) {
        rng_stream sx = {{key[0], key[1]}, 2 * (uint64_t)s, RNG_TAG_SAMPLE};
        rng_stream sy = {{key[0], key[1]}, 2 * (uint64_t)s + 1, RNG_TAG_SAMPLE};
        choose(nx, m, &sx, perm, idx);
        gather(x, idx, m, d, ab);
        choose(ny, m, &sy, perm, idx);
        gather(y, idx, m, d, ab + m * d);
        /* one product of [X_s; Y_s] with itself: Kxx, Kxy and Kyy as blocks */
        st = g->gram(g->ctx, ab, 2 * m, ab, 2 * m, d, k, e);
        if (st != CLGAN_OK) break;
        double sxx = 0, syy = 0, sxy = 0;
        for (long i = 0; i < 2 * m; i++)
            for (long j = 0; j < 2 * m; j++) {
                if (i == j) continue;
                double kv = k[i * 2 * m + j] / (double)d + 1;
                kv = kv * kv * kv;
                if (i < m && j < m) sxx += kv;
                else if (i >= m && j >= m) syy += kv;
                else if (i < m) sxy += kv; /* each pair once: (x_i, y_j) */
            }
        mmd[s] = (sxx + syy) / ((double)m * (double)(m - 1)) - 2 * sxy / ((double)m * (double)m);
    }
    if (st != CLGAN_OK) goto done;
    double mean = 0, var = 0;
    for (int s = 0; s < subsets; s++) mean += mmd[s];
    mean /= subsets;
    for (int s = 0; s < subsets; s++) var += (mmd[s] - mean) * (mmd[s] - mean);
    r->mean = mean;
    r->std = subsets > 1 ? sqrt(var / (subsets - 1)) : 0;
    r->se = r->std / sqrt((double)subsets);
    r->subsets = subsets;
    r->subset_size = (int)m;
done:
    free(ab);
    free(k);
    free(perm);
    free(idx);
    free(mmd);
    return st;
}

/* ---- precision, recall, density, coverage ---------------------------------------------------- */

static void sq_norms(const float *x, long n, int d, double *out) {
    for (long i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < d; k++) s += (double)x[i * d + k] * x[i * d + k];
        out[i] = s;
    }
}

/* Tiles of rows of a against all of b: squared distances, >= 0, row by row into fn. */
typedef void (*dist_row_fn)(void *ctx, long i, const double *dist2, long nb);

static clgan_status for_distances(const float *a, const double *na2, long na, const float *b,
                                  const double *nb2, long nb, int d, const gram_ops *g,
                                  dist_row_fn fn, void *ctx, clgan_err *e) {
    long tile = TILE_VALUES / (nb > 0 ? nb : 1);
    if (tile < 1) tile = 1;
    if (tile > na) tile = na;
    float *gm = malloc((size_t)tile * (size_t)nb * sizeof *gm);
    double *row = malloc((size_t)nb * sizeof *row);
    clgan_status st = gm && row ? CLGAN_OK : err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    for (long i0 = 0; i0 < na && st == CLGAN_OK; i0 += tile) {
        long t = na - i0 < tile ? na - i0 : tile;
        st = g->gram(g->ctx, a + i0 * d, t, b, nb, d, gm, e);
        for (long i = 0; st == CLGAN_OK && i < t; i++) {
            for (long j = 0; j < nb; j++)
                row[j] = fmax(na2[i0 + i] + nb2[j] - 2.0 * gm[i * nb + j], 0);
            fn(ctx, i0 + i, row, nb);
        }
    }
    free(gm);
    free(row);
    return st;
}

typedef struct knn_ctx {
    int k;
    double *radius2; /* out: squared distance to the k-th nearest other row */
    double *best;    /* k smallest so far, ascending */
} knn_ctx;

static void knn_row(void *ctx, long i, const double *dist2, long nb) {
    knn_ctx *c = ctx;
    int have = 0;
    for (long j = 0; j < nb; j++) {
        if (j == i) continue; /* itself */
        double v = dist2[j];
        if (have == c->k && v >= c->best[have - 1]) continue;
        int p = have < c->k ? have++ : have - 1;
        while (p > 0 && c->best[p - 1] > v) {
            c->best[p] = c->best[p - 1];
            p--;
        }
        c->best[p] = v;
    }
    c->radius2[i] = c->best[c->k - 1];
}

typedef struct cross_ctx {
    const double *real_r2, *fake_r2;
    long *fake_in_balls;  /* per fake: how many real balls hold it */
    char *real_in_fake;   /* per real: inside some fake ball */
    char *real_covered;   /* per real: its ball holds some fake */
} cross_ctx;

static void cross_row(void *ctx, long i, const double *dist2, long nb) {
    cross_ctx *c = ctx;
    double ri = c->real_r2[i];
    for (long j = 0; j < nb; j++) {
        if (dist2[j] < ri) {
            c->fake_in_balls[j]++;
            c->real_covered[i] = 1;
        }
        if (dist2[j] < c->fake_r2[j]) c->real_in_fake[i] = 1;
    }
}

clgan_status prdc_compute(const float *real, long n_real, const float *fake, long n_fake, int d,
                          int k, const gram_ops *g, prdc_result *r, clgan_err *e) {
    if (k < 1 || k >= n_real || k >= n_fake)
        return err_set(e, CLGAN_ERR_ARG, "precision/recall with k = %d needs more than k real and "
                       "generated samples (have %ld and %ld)", k, n_real, n_fake);
    double *rn = malloc((size_t)n_real * sizeof *rn), *fn = malloc((size_t)n_fake * sizeof *fn);
    double *rr = malloc((size_t)n_real * sizeof *rr), *fr = malloc((size_t)n_fake * sizeof *fr);
    double *best = malloc((size_t)k * sizeof *best);
    long *in_balls = calloc((size_t)n_fake, sizeof *in_balls);
    char *in_fake = calloc((size_t)n_real, 1), *covered = calloc((size_t)n_real, 1);
    clgan_status st = CLGAN_OK;
    if (!rn || !fn || !rr || !fr || !best || !in_balls || !in_fake || !covered) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    sq_norms(real, n_real, d, rn);
    sq_norms(fake, n_fake, d, fn);
    knn_ctx kr = {k, rr, best}, kf = {k, fr, best};
    st = for_distances(real, rn, n_real, real, rn, n_real, d, g, knn_row, &kr, e);
    if (st == CLGAN_OK) st = for_distances(fake, fn, n_fake, fake, fn, n_fake, d, g, knn_row, &kf, e);
    cross_ctx cc = {rr, fr, in_balls, in_fake, covered};
    if (st == CLGAN_OK)
        st = for_distances(real, rn, n_real, fake, fn, n_fake, d, g, cross_row, &cc, e);
    if (st != CLGAN_OK) goto done;
    long prec = 0, rec = 0, cov = 0;
    double dens = 0;
    for (long j = 0; j < n_fake; j++) {
        prec += in_balls[j] > 0;
        dens += (double)in_balls[j];
    }
    for (long i = 0; i < n_real; i++) {
        rec += in_fake[i];
        cov += covered[i];
    }
    r->precision = (double)prec / (double)n_fake;
    r->recall = (double)rec / (double)n_real;
    r->density = dens / ((double)k * (double)n_fake);
    r->coverage = (double)cov / (double)n_real;
    r->k = k;
done:
    free(rn);
    free(fn);
    free(rr);
    free(fr);
    free(best);
    free(in_balls);
    free(in_fake);
    free(covered);
    return st;
}

/* ---- classifier score ------------------------------------------------------------------------ */

void classifier_score(const float *logits, long n, int classes, int splits, double *mean,
                      double *std) {
    if (splits < 1) splits = 1;
    if (splits > n) splits = (int)(n > 0 ? n : 1);
    double *p = malloc((size_t)classes * sizeof *p), *py = malloc((size_t)classes * sizeof *py);
    double *score = malloc((size_t)splits * sizeof *score);
    *mean = *std = NAN;
    if (!p || !py || !score || n < 1) goto done;
    for (int s = 0; s < splits; s++) {
        long a = n * s / splits, b = n * (s + 1) / splits;
        for (int c = 0; c < classes; c++) py[c] = 0;
        /* p(y) of the split, then the mean KL(p(y|x) || p(y)) */
        for (int pass = 0; pass < 2; pass++) {
            double kl = 0;
            for (long i = a; i < b; i++) {
                const float *z = logits + i * classes;
                double mx = z[0], sum = 0;
                for (int c = 1; c < classes; c++) mx = fmax(mx, z[c]);
                for (int c = 0; c < classes; c++) sum += (p[c] = exp(z[c] - mx));
                for (int c = 0; c < classes; c++) {
                    p[c] /= sum;
                    if (pass == 0) py[c] += p[c] / (double)(b - a);
                    else if (p[c] > 0) kl += p[c] * (log(p[c]) - log(py[c]));
                }
            }
            if (pass == 1) score[s] = exp(kl / (double)(b - a));
        }
    }
    double m = 0, v = 0;
    for (int s = 0; s < splits; s++) m += score[s];
    m /= splits;
    for (int s = 0; s < splits; s++) v += (score[s] - m) * (score[s] - m);
    *mean = m;
    *std = splits > 1 ? sqrt(v / splits) : 0;
done:
    free(p);
    free(py);
    free(score);
}

double class_accuracy(const float *logits, long n, int classes, double *acc) {
    long hit = 0, *hits = calloc((size_t)classes, sizeof *hits);
    long *count = calloc((size_t)classes, sizeof *count);
    double all = NAN;
    if (!hits || !count || n < 1) goto done;
    for (long i = 0; i < n; i++) {
        const float *z = logits + i * classes;
        int best = 0, want = (int)(i % classes);
        for (int c = 1; c < classes; c++)
            if (z[c] > z[best]) best = c;
        count[want]++;
        if (best == want) {
            hits[want]++;
            hit++;
        }
    }
    for (int c = 0; c < classes; c++) acc[c] = count[c] ? (double)hits[c] / count[c] : NAN;
    all = (double)hit / n;
done:
    free(hits);
    free(count);
    return all;
}
