/*
 * host_ref.c - the naive host reference in double precision that device results are checked
 * against: forward passes of any network, and the binary cross-entropy.
 */
#include "host_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* ---- host reference ------------------------------------------------------------------------ */

double h_sigmoid(double x) {
    return 1.0 / (1.0 + exp(-x));
}

/* Runs layers [0, upto) of n on x (batch rows) with parameters p; returns a malloc'd output. */
double *host_forward_s(const net *n, const double *p, const double *x, int batch, int train,
                      int upto, const uint64_t *streams) {
    size_t cols = n->in.cols;
    double *cur = malloc((size_t)batch * cols * sizeof *cur);
    memcpy(cur, x, (size_t)batch * cols * sizeof *cur);
    for (int li = 0; li < upto; li++) {
        const layer *l = &n->layers[li];
        const layer_spec *s = l->spec;
        size_t oc = l->y.cols;
        double *out = calloc((size_t)batch * oc, sizeof *out);
        switch (s->kind) {
        case LAYER_DENSE:
        case LAYER_MAXOUT: {
            size_t zc = (size_t)s->n_bias, P = s->kind == LAYER_MAXOUT ? (size_t)s->pieces : 1;
            for (int b = 0; b < batch; b++)
                for (size_t u = 0; u < oc; u++) {
                    double best = -INFINITY;
                    for (size_t q = 0; q < P; q++) {
                        size_t o = u * P + q;
                        double z = p[l->b_off + o];
                        for (size_t i = 0; i < cols; i++)
                            z += p[l->w_off + o * cols + i] * cur[(size_t)b * cols + i];
                        if (z > best) best = z;
                    }
                    out[(size_t)b * oc + u] = best;
                }
            (void)zc;
            break;
        }
        case LAYER_DROPOUT: {
            rng_stream rs = {{n->key[0], n->key[1]}, streams ? streams[li] : l->stream, RNG_TAG_DROPOUT};
            for (size_t i = 0; i < (size_t)batch * oc; i++) {
                double scale = !train ? 1.0 : rng_uniform01(&rs, i) < s->keep ? 1.0 / s->keep : 0.0;
                out[i] = cur[i] * scale;
            }
            break;
        }
        default:
            for (size_t i = 0; i < (size_t)batch * oc; i++) {
                double v = cur[i];
                out[i] = s->kind == LAYER_RELU         ? (v > 0 ? v : 0)
                         : s->kind == LAYER_LEAKY_RELU ? (v > 0 ? v : s->slope * v)
                         : s->kind == LAYER_TANH       ? tanh(v)
                                                       : h_sigmoid(v);
            }
        }
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

double *host_forward(const net *n, const double *p, const double *x, int batch, int train,
                     int upto) {
    return host_forward_s(n, p, x, batch, train, upto, NULL);
}

double h_bce(double z, double t) {
    return fmax(z, 0) - z * t + log1p(exp(-fabs(z)));
}
