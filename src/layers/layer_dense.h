/*
 * layer_dense.h - the affine product that dense and maxout layers share (layer_dense.c):
 * out[B][n_out] = x W^T + b with W the layer's parameter 0 and b its parameter 1.
 */
#ifndef CLGAN_LAYER_DENSE_H
#define CLGAN_LAYER_DENSE_H

#include "graph.h"

/* The bias kernels of cl/dense.cl into l->k[0], l->k[1]. */
clgan_status affine_setup(net *n, layer *l);
/* out (y for dense, z for maxout) = x W^T + b on the first `batch` rows. */
clgan_status affine_forward(net *n, layer *l, tensor out, int batch);
/* Given dout (dy or dz): dW[n_out][n_in] = dout^T X, db = sum_B dout, dX = dout W. */
clgan_status affine_backward(net *n, layer *l, tensor dout, int batch, int need_dx, int need_dw);
/* The GEMMs of affine_forward/affine_backward with n_out outputs. */
int affine_gemms(const layer_spec *L, long n_out, int rows, int fwd, int din, int dw,
                 gemm_shape *out);
/* The weight [n_out, n_in] and bias [n_out] of a layer whose init and bias keys start at the
 * given slots. */
int affine_params(const layer_spec *L, long n_out, int init_slot, int bias_slot, param_info *out);
/* y[b][o] = b[o] + sum_i W[o][i] x[b][i] on the host. */
void affine_host(const double *w, const double *b, const double *x, double *y, int batch,
                 long n_in, long n_out);

#endif /* CLGAN_LAYER_DENSE_H */
