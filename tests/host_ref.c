/*
 * host_ref.c - the naive host reference in double precision that device results are checked
 * against: forward passes of any network, and the binary cross-entropy.
 */
#include "host_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* ---- host reference ------------------------------------------------------------------------ */

double h_sigmoid(double x) {
    return 1.0 / (1.0 + exp(-x));
}

/* Runs layers [0, upto) of n on x (batch rows) with parameters p, each layer through its
 * class's host reference; returns a malloc'd output. */
double *host_forward_u(const net *n, double *p, const double *x, int batch, int train, int upto,
                       const uint64_t *streams, int groups, int update) {
    size_t cols = n->in.cols;
    double *cur = malloc((size_t)batch * cols * sizeof *cur);
    memcpy(cur, x, (size_t)batch * cols * sizeof *cur);
    for (int li = 0; li < upto; li++) {
        const layer *l = &n->layers[li];
        size_t oc = l->y.cols;
        double *out = calloc((size_t)batch * oc, sizeof *out);
        const double *ps[LAYER_MAX_PARAMS];
        double *mut[LAYER_MAX_PARAMS];
        for (int j = 0; j < l->n_params; j++) ps[j] = mut[j] = p + l->param_off[j];
        host_ctx c = {train, groups, {n->key[0], n->key[1]}, streams ? streams[li] : l->stream,
                      update ? mut : NULL, NULL};
        l->cls->host_forward(l->spec, ps, cur, out, batch, &c);
        free(cur);
        cur = out;
        cols = oc;
    }
    return cur;
}

double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

double *host_forward_s(const net *n, const double *p, const double *x, int batch, int train,
                       int upto, const uint64_t *streams) {
    return host_forward_u(n, (double *)p, x, batch, train, upto, streams, 1, 0);
}

double *host_forward(const net *n, const double *p, const double *x, int batch, int train,
                     int upto) {
    return host_forward_s(n, p, x, batch, train, upto, NULL);
}

double h_bce(double z, double t) {
    return fmax(z, 0) - z * t + log1p(exp(-fabs(z)));
}
