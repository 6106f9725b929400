/*
 * compare.h - the same model, seed, weights and batches on two devices, side by side: per-layer
 * differences of activations and gradients after one iteration, the drift of the parameters over
 * more iterations, the first non-finite value, and the time per iteration on each.
 */
#ifndef CLGAN_COMPARE_H
#define CLGAN_COMPARE_H

#include "gan.h"

typedef struct layer_diff {
    int net;                 /* CLGAN_GENERATOR or CLGAN_DISCRIMINATOR */
    int layer;
    char path[LAYER_PATH_MAX]; /* its path in a graph, or its index */
    const char *kind;
    double act_abs, act_rel; /* max |a - b|, and that over max |a| */
    double grad_abs, grad_rel; /* activation gradients */
    double wgrad_abs, wgrad_rel; /* parameter gradients (layers with parameters; else -1),
                                  * relative to the largest over all the layer's tensors */
    /* normwise: ||a - b|| / ||a|| (a few entries on either side of a kink, where ReLU's
     * gradient is 1 on one device and 0 on the other, move the maxima and not this) */
    double act_norm, grad_norm, wgrad_norm; /* (wgrad_norm -1 without parameters) */
    int bias_into_norm;                     /* its bias feeds a batch norm, which removes it */
} layer_diff;

typedef struct compare_report {
    clgan_device_info dev[2];
    layer_diff *layers;      /* one per layer of G, then D (malloc'd; compare_report_free) */
    int n_layers;
    int iters;
    /* parameters of G and D after `iters` iterations: every tensor but the biases that feed a
     * batch norm and its running mean (drift_*), and those (drift_norm_abs; 0 if none) */
    double drift_abs[2], drift_rel[2], drift_norm_abs[2];
    long nonfinite_iter;     /* first iteration with a NaN/Inf (1-based), 0 if none */
    char nonfinite_where[400];
    double ms[2];            /* median time per iteration */
} compare_report;

/* Fills r (which owns its layer list even on failure: free with compare_report_free). */
clgan_status compare_run(const char *sel_a, const char *sel_b, const clgan_model *m, int iters,
                         compare_report *r, clgan_err *e);
void compare_report_free(compare_report *r);

#endif /* CLGAN_COMPARE_H */
