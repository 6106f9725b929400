/*
 * host_ref.c - the naive host reference in double precision that device results are checked
 * against: forward passes of any network, and the binary cross-entropy.
 */
#include "host_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* ---- host reference ------------------------------------------------------------------------ */

const unsigned char *host_labels;

double h_sigmoid(double x) {
    return 1.0 / (1.0 + exp(-x));
}

/* Runs layers [0, upto) of n on x (batch rows) with parameters p, each layer through its
 * class's host reference on the outputs of the layers it reads; returns a malloc'd output. */
double *host_forward_u(const net *n, double *p, const double *x, int batch, int train, int upto,
                       const uint64_t *streams, int groups, int update) {
    double **outs = calloc((size_t)upto + 1, sizeof *outs); /* outs[0]: the input */
    outs[0] = malloc((size_t)batch * n->in.cols * sizeof **outs);
    memcpy(outs[0], x, (size_t)batch * n->in.cols * sizeof **outs);
    for (int li = 0; li < upto; li++) {
        const layer *l = &n->layers[li];
        outs[li + 1] = calloc((size_t)batch * l->y.cols, sizeof **outs);
        const double *ps[LAYER_MAX_PARAMS], *xs[LAYER_MAX_INPUTS];
        double *mut[LAYER_MAX_PARAMS];
        for (int j = 0; j < l->n_params; j++) ps[j] = mut[j] = p + l->param_off[j];
        for (int k = 0; k < l->n_in; k++) {
            int j = l->spec->in_idx[k];
            xs[k] = outs[j + 1];
        }
        host_ctx c = {train, groups, {n->key[0], n->key[1]}, streams ? streams[li] : l->stream,
                      update ? mut : NULL, host_labels, xs};
        l->cls->host_forward(l->spec, ps, xs[0], outs[li + 1], batch, &c);
    }
    double *y = outs[upto];
    for (int li = 0; li < upto; li++) free(outs[li]);
    free(outs);
    return y;
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
