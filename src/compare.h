/*
 * compare.h - the same model, seed, weights and batches on two devices, side by side: per-layer
 * differences of activations and gradients after one iteration, the drift of the parameters over
 * more iterations, the first non-finite value, and the time per iteration on each.
 */
#ifndef CLGAN_COMPARE_H
#define CLGAN_COMPARE_H

#include "gan.h"

#define COMPARE_MAX_LAYERS 128

typedef struct layer_diff {
    int net;                 /* CLGAN_GENERATOR or CLGAN_DISCRIMINATOR */
    int layer;
    const char *kind;
    double act_abs, act_rel; /* max |a - b|, and that over max |a| */
    double grad_abs, grad_rel; /* activation gradients */
    double wgrad_abs, wgrad_rel; /* parameter gradients (layers with parameters; else -1) */
} layer_diff;

typedef struct compare_report {
    clgan_device_info dev[2];
    layer_diff layers[COMPARE_MAX_LAYERS];
    int n_layers;
    int iters;
    double drift_abs[2], drift_rel[2]; /* parameters of G and D after `iters` iterations */
    long nonfinite_iter;     /* first iteration with a NaN/Inf (1-based), 0 if none */
    char nonfinite_where[400];
    double ms[2];            /* median time per iteration */
} compare_report;

clgan_status compare_run(const char *sel_a, const char *sel_b, const clgan_model *m, int iters,
                         compare_report *r, clgan_err *e);

#endif /* CLGAN_COMPARE_H */
