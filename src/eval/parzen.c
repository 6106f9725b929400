/*
 * parzen.c - blocked Parzen-window log-likelihoods on the device (cl/parzen.cl + gemm).
 */
#include "parzen.h"

#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "graph.h"

#define DOT_BLOCK_VALUES (16L << 20) /* floats in the block of dot products: 64 MiB */

void parzen_free(parzen *p) {
    cl_mem *bufs[] = {&p->mu, &p->mu_norm, &p->x, &p->x_norm, &p->dot, &p->ll};
    for (size_t i = 0; i < ARRAY_LEN(bufs); i++)
        if (p->dev) device_release(p->dev, *bufs[i]);
    if (p->k_norm) clReleaseKernel(p->k_norm);
    if (p->k_lse) clReleaseKernel(p->k_lse);
    memset(p, 0, sizeof *p);
}

static clgan_status sqnorm(parzen *p, cl_mem x, long rows, cl_mem out) {
    cl_uint r = (cl_uint)rows, c = (cl_uint)p->d;
    karg a[] = {KA(x), KA(r), KA(c), KA(out)};
    clgan_status st = device_set_args(p->dev, p->k_norm, "row_sqnorm", a, 4);
    return st == CLGAN_OK ? device_run1d(p->dev, p->k_norm, (size_t)rows, "row_sqnorm") : st;
}

clgan_status parzen_init(parzen *p, clgan_device *dev, const float *centres, long S, int d) {
    memset(p, 0, sizeof *p);
    p->dev = dev;
    p->S = S;
    p->d = d;
    p->block = DOT_BLOCK_VALUES / S;
    if (p->block < 1) p->block = 1;
    if (p->block > 4096) p->block = 4096;
    clgan_status st = device_kernel(dev, "cl/parzen.cl", "row_sqnorm", &p->k_norm);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/parzen.cl", "parzen_lse", &p->k_lse);
    if (st == CLGAN_OK) st = device_alloc(dev, (size_t)S * d * 4, "Parzen centres", &p->mu);
    if (st == CLGAN_OK) st = device_alloc(dev, (size_t)S * 4, "Parzen centre norms", &p->mu_norm);
    if (st == CLGAN_OK) st = device_alloc(dev, (size_t)p->block * d * 4, "Parzen points", &p->x);
    if (st == CLGAN_OK) st = device_alloc(dev, (size_t)p->block * 4, "Parzen point norms", &p->x_norm);
    if (st == CLGAN_OK)
        st = device_alloc(dev, (size_t)p->block * S * 4, "Parzen distances", &p->dot);
    if (st == CLGAN_OK) st = device_alloc(dev, (size_t)p->block * 4, "Parzen results", &p->ll);
    if (st == CLGAN_OK) st = device_write(dev, p->mu, 0, (size_t)S * d * 4, centres, 1);
    if (st == CLGAN_OK) st = sqnorm(p, p->mu, S, p->mu_norm);
    if (st != CLGAN_OK) parzen_free(p);
    return st;
}

clgan_status parzen_loglik(parzen *p, const float *x, long N, const double *sigmas, int ns,
                           double *ll) {
    clgan_device *dev = p->dev;
    float *out = malloc((size_t)p->block * sizeof *out);
    if (!out) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = CLGAN_OK;
    for (long b0 = 0; b0 < N && st == CLGAN_OK; b0 += p->block) {
        long rows = N - b0 < p->block ? N - b0 : p->block;
        st = device_write(dev, p->x, 0, (size_t)rows * p->d * 4, x + (size_t)b0 * p->d, 1);
        if (st == CLGAN_OK) st = sqnorm(p, p->x, rows, p->x_norm);
        if (st == CLGAN_OK)
            st = gemm(dev, 0, 1, (size_t)rows, (size_t)p->S, (size_t)p->d, 1.0f, p->x, 0,
                      (size_t)p->d, p->mu, 0, (size_t)p->d, 0.0f, p->dot, 0, (size_t)p->S);
        for (int k = 0; k < ns && st == CLGAN_OK; k++) {
            double s = sigmas[k];
            float inv2s2 = (float)(1.0 / (2 * s * s));
            float bias = (float)(-log((double)p->S) - p->d * log(s * sqrt(2 * CLGAN_PI)));
            cl_uint r = (cl_uint)rows, S = (cl_uint)p->S, off = 0;
            karg a[] = {KA(p->dot), KA(p->x_norm), KA(p->mu_norm), KA(r), KA(S), KA(inv2s2),
                        KA(bias), KA(p->ll), KA(off)};
            st = device_set_args(dev, p->k_lse, "parzen_lse", a, 9);
            if (st == CLGAN_OK) st = device_run1d(dev, p->k_lse, (size_t)rows, "parzen_lse");
            if (st == CLGAN_OK) st = device_read(dev, p->ll, 0, (size_t)rows * 4, out);
            for (long j = 0; j < rows && st == CLGAN_OK; j++) ll[(size_t)k * N + b0 + j] = out[j];
        }
    }
    free(out);
    return st;
}

void log_space(double lo, double hi, int n, double *out) {
    for (int i = 0; i < n; i++)
        out[i] = n == 1 ? lo : exp(log(lo) + (log(hi) - log(lo)) * i / (n - 1));
}

clgan_status parzen_evaluate(parzen *p, const float *valid, long n_valid, const float *test,
                             long n_test, const double *sigmas, int ns, parzen_result *r) {
    memset(r, 0, sizeof *r);
    if (ns < 1 || ns > 64) return err_set(&p->dev->err, CLGAN_ERR_ARG, "1 to 64 bandwidths");
    r->n_sigmas = ns;
    memcpy(r->sigmas, sigmas, (size_t)ns * sizeof *sigmas);
    r->n_valid = n_valid;
    r->n_test = n_test;
    double *ll = malloc((size_t)ns * (size_t)(n_valid > n_test ? n_valid : n_test) * sizeof *ll);
    if (!ll) return err_set(&p->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = parzen_loglik(p, valid, n_valid, sigmas, ns, ll);
    if (st == CLGAN_OK) {
        /* the best finite validation mean; a NaN never wins, nor blocks another from winning */
        r->best = -1;
        for (int k = 0; k < ns; k++) {
            double s = 0;
            for (long j = 0; j < n_valid; j++) s += ll[(size_t)k * n_valid + j];
            r->valid_mean[k] = s / n_valid;
            if (isfinite(r->valid_mean[k]) &&
                (r->best < 0 || r->valid_mean[k] > r->valid_mean[r->best]))
                r->best = k;
        }
        if (r->best < 0) {
            r->best = 0;
            r->test_mean = r->test_se = NAN;
            free(ll);
            return CLGAN_OK; /* no bandwidth gives a finite likelihood: the caller says so */
        }
        st = parzen_loglik(p, test, n_test, &sigmas[r->best], 1, ll);
    }
    if (st == CLGAN_OK) {
        double s = 0, q = 0;
        for (long j = 0; j < n_test; j++) s += ll[j];
        r->test_mean = s / n_test;
        for (long j = 0; j < n_test; j++) q += (ll[j] - r->test_mean) * (ll[j] - r->test_mean);
        r->test_se = n_test > 1 ? sqrt(q / (n_test - 1)) / sqrt((double)n_test) : 0;
    }
    free(ll);
    return st;
}

clgan_status parzen_eval_generator(clgan_device *dev, net *g, const noise_spec *z, uint64_t seed,
                                   const data_spec *data, long S, const float *valid, long n_valid,
                                   const float *test, long n_test, const double *sigmas, int ns,
                                   parzen_result *r) {
    float *centres = malloc((size_t)S * g->out.cols * sizeof *centres);
    if (!centres) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory for %ld samples", S);
    parzen p;
    clgan_status st = net_sample(g, z, seed, 1000, S, centres);
    if (st == CLGAN_OK) data_to_unit(data, centres, (size_t)S * g->out.cols); /* as the images */
    if (st == CLGAN_OK) st = parzen_init(&p, dev, centres, S, (int)g->out.cols);
    free(centres);
    if (st != CLGAN_OK) return st;
    st = parzen_evaluate(&p, valid, n_valid, test, n_test, sigmas, ns, r);
    parzen_free(&p);
    return st;
}
