/*
 * theory.h - numerical checks of the paper's theory on a 1-D model (Section 4):
 *  (1) for fixed G the optimal discriminator is D*(x) = p_data / (p_data + p_g);
 *  (2) at D*, the criterion is V(D*, G) = -log 4 + 2 JSD(p_data || p_g);
 *  (3) with p_g = p_data, D* = 1/2 and C(G) = -log 4.
 * Densities on a grid: p_data from the model's declaration, p_g by a Gaussian kernel density
 * estimate from many generator samples, D by running the trained discriminator.
 */
#ifndef CLGAN_THEORY_H
#define CLGAN_THEORY_H

#include "gan.h"

#define THEORY_GRID 400

typedef struct theory_curves {
    int n;
    double x[THEORY_GRID], p_data[THEORY_GRID], p_g[THEORY_GRID], d[THEORY_GRID];
} theory_curves;

typedef struct theory_result {
    /* (1) */
    double max_d_err;      /* max |D - D*| where p_data + p_g > 10% of its peak */
    /* (2) */
    double v;              /* V(D, G) by quadrature with the trained D */
    double c_jsd;          /* -log 4 + 2 JSD(p_data || p_g) by quadrature */
    /* (3) */
    double max_half_err;   /* max |D - 1/2| where p_data > 10% of its peak, p_g = p_data */
    double v_equal;        /* V(D, G) there; -log 4 = -1.386294 in theory */
    theory_curves curves;  /* of (1)/(2) */
} theory_result;

/* Density of the model's 1-D data distribution (gaussian_1d or mixture_1d) at x. */
double data_density(const data_spec *d, double x);

/*
 * The curves of a trainer's current G and D on a grid spanning the data and G's samples:
 * p_data exactly, p_g from n_samples samples, D(x). Waits for the device.
 */
clgan_status theory_curves_of(const clgan_model *m, net *g, net *d, long n_samples,
                              theory_curves *c);

/* Quadratures on a uniform grid. */
double jsd_on_grid(const double *p, const double *q, int n, double dx);
double v_on_grid(const double *p, const double *q, const double *d, int n, double dx);

/*
 * Runs the three checks on model m (1-D data): pre_iters iterations of Algorithm 1 give a G
 * different from the data; then D alone is trained for d_steps steps against the frozen G, and
 * again against the data itself. Messages go to dev->err.
 */
clgan_status theory_run(clgan_device *dev, const clgan_model *m, long pre_iters, long d_steps,
                        theory_result *r);

#endif /* CLGAN_THEORY_H */
