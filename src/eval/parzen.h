/*
 * parzen.h - the Parzen-window log-likelihood of the paper's Table 1 (after Breuleux et al.):
 * a Gaussian of bandwidth sigma on each of S centres (generator samples), evaluated on held-out
 * points. Distances run on the device as GEMMs, |x|^2 + |mu|^2 - 2 x.mu, in blocks of points.
 * Owns its device buffers and kernels; borrows the device.
 */
#ifndef CLGAN_PARZEN_H
#define CLGAN_PARZEN_H

#include "device.h"

typedef struct parzen {
    clgan_device *dev;
    long S;
    int d;
    long block;               /* points per GEMM block */
    cl_mem mu, mu_norm, x, x_norm, dot, ll;
    cl_kernel k_norm, k_lse;
} parzen;

/* Uploads S centres of d values each (host, row-major). */
clgan_status parzen_init(parzen *p, clgan_device *dev, const float *centres, long S, int d);
void parzen_free(parzen *p);

/*
 * ll[k * N + j] = log p(x_j) under bandwidth sigmas[k], for N points x (host, row-major), for
 * each of the ns bandwidths. Waits for the device.
 */
clgan_status parzen_loglik(parzen *p, const float *x, long N, const double *sigmas, int ns,
                           double *ll);

typedef struct parzen_result {
    int n_sigmas;
    double sigmas[64];
    double valid_mean[64];  /* mean log-likelihood of the validation points per sigma */
    int best;               /* index of the chosen sigma */
    double test_mean, test_se; /* nats; se = std / sqrt(N) */
    long n_valid, n_test;
} parzen_result;

/* Chooses sigma by the validation mean, then measures the test points with it. */
clgan_status parzen_evaluate(parzen *p, const float *valid, long n_valid, const float *test,
                             long n_test, const double *sigmas, int ns, parzen_result *r);

/*
 * The whole protocol for a generator: S samples of g (noise streams from 1000 on, under seed)
 * as centres, mapped from the data's range to [0, 1] as the images are, then parzen_evaluate.
 * Waits for the device.
 */
struct net;
struct noise_spec;
struct data_spec;
clgan_status parzen_eval_generator(clgan_device *dev, struct net *g, const struct noise_spec *z,
                                   uint64_t seed, const struct data_spec *data, long S,
                                   const float *valid, long n_valid, const float *test,
                                   long n_test, const double *sigmas, int ns, parzen_result *r);

/* n values log-spaced on [lo, hi]. */
void log_space(double lo, double hi, int n, double *out);

#endif /* CLGAN_PARZEN_H */
