/*
 * metrics.h - how good and how diverse a set of generated samples is, measured in a feature
 * space (a domain classifier's penultimate layer) against real samples, as the field reports
 * it: Frechet distance (FID, Heusel et al. 2017), kernel distance (KID, Binkowski et al. 2018),
 * precision and recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020),
 * and the classifier score (the Inception Score's formula, Salimans et al. 2016).
 *
 * Features are n x d floats, row-major; statistics are accumulated in double. The pairwise
 * products that KID and the k-NN balls need (n^2 d) come from a gram_ops: the device's GEMM in
 * clgan eval, or a host loop in double (gram_host) for tests and small sets.
 */
#ifndef CLGAN_METRICS_H
#define CLGAN_METRICS_H

#include "common.h"
#include "device.h"

/* out[i * nb + j] = sum_k a[i * d + k] * b[j * d + k], for i < na, j < nb. */
typedef struct gram_ops {
    clgan_status (*gram)(void *ctx, const float *a, long na, const float *b, long nb, int d,
                         float *out, clgan_err *e);
    void *ctx;
} gram_ops;

/* The host's: accumulates in double. ctx unused. */
extern const gram_ops gram_host;

/* The device's GEMM; operands and products go through device buffers grown as needed. */
typedef struct gram_device {
    clgan_device *dev;
    cl_mem a, b, c;
    size_t cap_a, cap_b, cap_c; /* floats */
} gram_device;
void gram_device_init(gram_device *g, clgan_device *dev, gram_ops *ops);
void gram_device_free(gram_device *g);

/* Mean (d) and covariance (d x d, divided by n - 1) of n >= 2 feature rows, in double. */
clgan_status feature_gaussian(const float *x, long n, int d, double *mu, double *cov,
                              clgan_err *e);

/*
 * ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2): square roots by symmetric
 * eigendecomposition (LAPACKE dsyevd), negative eigenvalues (rounding, rank-deficient
 * covariances) taken as 0, so it needs no inverse and is stable on singular covariances.
 */
clgan_status frechet_distance(const double *mu1, const double *cov1, const double *mu2,
                              const double *cov2, int d, double *fid, clgan_err *e);

typedef struct kid_result {
    double mean, std, se; /* of the unbiased MMD^2 over subsets; se = std / sqrt(subsets) */
    int subsets, subset_size;
} kid_result;

/*
 * KID: the unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, over `subsets` pairs of
 * random subsets of subset_size rows of x and of y (without replacement within a subset; the
 * size is capped at min(nx, ny)), drawn from Philox under seed.
 */
clgan_status kid_compute(const float *x, long nx, const float *y, long ny, int d, int subsets,
                         int subset_size, uint64_t seed, const gram_ops *g, kid_result *r,
                         clgan_err *e);

typedef struct prdc_result {
    double precision, recall, density, coverage;
    int k;
} prdc_result;

/*
 * Precision, recall, density and coverage of `fake` against `real` with k-nearest-neighbour
 * balls (Euclidean; a sample's ball reaches its k-th nearest other sample of its own set):
 * precision, the share of fakes inside some real ball; recall, of reals inside some fake ball;
 * density, the mean number of real balls holding a fake, over k; coverage, the share of real
 * balls holding some fake. Needs k < n_real and k < n_fake.
 */
clgan_status prdc_compute(const float *real, long n_real, const float *fake, long n_fake, int d,
                          int k, const gram_ops *g, prdc_result *r, clgan_err *e);

/*
 * The classifier score: exp(E_x KL(p(y|x) || p(y))) from n rows of `classes` logits, in
 * `splits` equal parts (mean and standard deviation over them), as the Inception Score.
 */
void classifier_score(const float *logits, long n, int classes, int splits, double *mean,
                      double *std);

/*
 * How often a conditional generator's samples are classified as the class they were drawn for:
 * sample i (logits row i of n x classes) is of class i mod classes, as net_sample draws them.
 * acc[c] is class c's fraction (NaN if it has no sample); returns the fraction over all n, NaN
 * when n < 1 or out of memory.
 */
double class_accuracy(const float *logits, long n, int classes, double *acc);

#endif /* CLGAN_METRICS_H */
