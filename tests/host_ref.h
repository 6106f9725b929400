/*
 * host_ref.h - double-precision host reference of a network's forward pass and the GAN loss.
 */
#ifndef CLGAN_HOST_REF_H
#define CLGAN_HOST_REF_H

#include "graph.h"

double h_sigmoid(double x);
double h_bce(double z, double t);
double dot(const double *a, const double *b, size_t n);

/*
 * Runs layers [0, upto) of n on x (batch rows) with parameters p (laid out as n->params);
 * returns a malloc'd batch x cols output. Dropout masks come from streams[i] for layer i (or,
 * with streams NULL, from the stream the device's layer used last).
 */
double *host_forward_s(const net *n, const double *p, const double *x, int batch, int train,
                       int upto, const uint64_t *streams);
/*
 * The same with `groups` row groups of their own batch statistics, and (update) the running
 * statistics in p updated as the device's training forward pass updates them.
 */
double *host_forward_u(const net *n, double *p, const double *x, int batch, int train, int upto,
                       const uint64_t *streams, int groups, int update);
/* The rows' labels that conditional layers read in the host passes above (NULL: none). */
extern const unsigned char *host_labels;

double *host_forward(const net *n, const double *p, const double *x, int batch, int train,
                     int upto);

#endif /* CLGAN_HOST_REF_H */
