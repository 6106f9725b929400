/*
 * layer_dense.c - fully connected layers, and maxout built on them.
 *
 * Weights W[n_out][n_in] (row-major, as PyTorch stores them), bias b[n_out]; batch-major
 * activations. Forward: Y[B][n_out] = X[B][n_in] W^T + b.
 * Backward: dX[B][n_in] = dY W;  dW[n_out][n_in] = dY^T X;  db[n_out] = sum_B dY.
 * Maxout runs the same product into z[B][units*pieces] and takes the max over pieces.
 *
 * A one-unit dense layer (a discriminator's output) runs as two fused kernels on CPU devices
 * (layer_runs_as_unit): there its products, a matrix-vector product and an outer product with
 * K = 1, cost less than the GEMM launches and bias kernels they would take.
 */
#include <stdio.h>

#include "gemm.h"
#include "graph.h"

enum { K_BIAS_FWD, K_BIAS_BWD, K_MAX_FWD, K_MAX_BWD };
enum { K_UNIT_FWD, K_UNIT_BWD }; /* one-unit layers */

int layer_runs_as_unit(const clgan_device *dev, const layer_spec *l) {
    return dev && dev->unit_kernels && l->kind == LAYER_DENSE && l->n_bias == 1;
}

static clgan_status dense_setup(net *n, layer *l) {
    l->as_unit = layer_runs_as_unit(n->dev, l->spec);
    if (l->as_unit) {
        clgan_status st = net_kernel(n, "cl/dense.cl", "unit_fwd", &l->k[K_UNIT_FWD]);
        if (st == CLGAN_OK) st = net_kernel(n, "cl/dense.cl", "unit_bwd", &l->k[K_UNIT_BWD]);
        return st;
    }
    clgan_status st = net_kernel(n, "cl/dense.cl", "bias_fwd", &l->k[K_BIAS_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/dense.cl", "bias_bwd", &l->k[K_BIAS_BWD]);
    return st;
}

static clgan_status unit_forward(net *n, layer *l, int batch) {
    cl_uint x_off = (cl_uint)l->x.off, y_off = (cl_uint)l->y.off, w_off = (cl_uint)l->w_off,
            b_off = (cl_uint)l->b_off, rows = (cl_uint)batch, n_in = (cl_uint)l->x.cols;
    karg a[] = {KA(n->acts), KA(x_off), KA(y_off), KA(n->params),
                KA(w_off),   KA(b_off), KA(rows),  KA(n_in)};
    clgan_status st = device_set_args(n->dev, l->k[K_UNIT_FWD], "unit_fwd", a, 8);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_UNIT_FWD], (size_t)batch, "unit_fwd");
}

static clgan_status unit_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    if (!need_dx && !need_dw) return CLGAN_OK;
    cl_uint x_off = (cl_uint)l->x.off, dy_off = (cl_uint)l->dy.off, dx_off = (cl_uint)l->dx.off,
            w_off = (cl_uint)l->w_off, b_off = (cl_uint)l->b_off, rows = (cl_uint)batch,
            n_in = (cl_uint)l->x.cols, dx = (cl_uint)need_dx, dw = (cl_uint)need_dw;
    karg a[] = {KA(n->acts),   KA(x_off), KA(n->deltas), KA(dy_off), KA(dx_off),
                KA(n->params), KA(w_off), KA(n->grads),  KA(w_off),  KA(b_off),
                KA(rows),      KA(n_in),  KA(dx),        KA(dw)};
    clgan_status st = device_set_args(n->dev, l->k[K_UNIT_BWD], "unit_bwd", a, 14);
    if (st != CLGAN_OK) return st;
    /* one work-group per 16 columns: a few items, each walking every row */
    size_t items = (n_in + 15) / 16, local = 1;
    return device_run_nd(n->dev, l->k[K_UNIT_BWD], 1, &items, &local, "unit_bwd", 0);
}

/* out[B][n_out] = x W^T + b, where out is y (dense) or z (maxout). */
static clgan_status affine_forward(net *n, layer *l, tensor out, int batch) {
    size_t n_in = l->x.cols, n_out = out.cols;
    clgan_status st = gemm(n->dev, 0, 1, (size_t)batch, n_out, n_in, 1.0f, n->acts, l->x.off, n_in,
                           n->params, l->w_off, n_in, 0.0f, n->acts, out.off, n_out);
    if (st != CLGAN_OK) return st;
    cl_uint y_off = (cl_uint)out.off, b_off = (cl_uint)l->b_off, rows = (cl_uint)batch,
            cols = (cl_uint)n_out;
    karg a[] = {KA(n->acts), KA(y_off), KA(n->params), KA(b_off), KA(rows), KA(cols)};
    st = device_set_args(n->dev, l->k[K_BIAS_FWD], "bias_fwd", a, 6);
    if (st != CLGAN_OK) return st;
    return device_run2d(n->dev, l->k[K_BIAS_FWD], (n_out + 15) / 16, (size_t)batch, "bias_fwd");
}

/* Given dout (dy or dz): parameter gradients and dx. */
static clgan_status affine_backward(net *n, layer *l, tensor dout, int batch, int need_dx,
                                    int need_dw) {
    size_t n_in = l->x.cols, n_out = dout.cols;
    clgan_status st;
    if (need_dw) {
        st = gemm(n->dev, 1, 0, n_out, n_in, (size_t)batch, 1.0f, n->deltas, dout.off, n_out,
                  n->acts, l->x.off, n_in, 0.0f, n->grads, l->w_off, n_in);
        if (st != CLGAN_OK) return st;
        cl_uint dy_off = (cl_uint)dout.off, b_off = (cl_uint)l->b_off, rows = (cl_uint)batch,
                cols = (cl_uint)n_out;
        karg a[] = {KA(n->deltas), KA(dy_off), KA(n->grads), KA(b_off), KA(rows), KA(cols)};
        st = device_set_args(n->dev, l->k[K_BIAS_BWD], "bias_bwd", a, 6);
        if (st != CLGAN_OK) return st;
        st = device_run1d(n->dev, l->k[K_BIAS_BWD], (n_out + 15) / 16, "bias_bwd");
        if (st != CLGAN_OK) return st;
    }
    if (need_dx) {
        st = gemm(n->dev, 0, 0, (size_t)batch, n_in, n_out, 1.0f, n->deltas, dout.off, n_out,
                  n->params, l->w_off, n_in, 0.0f, n->deltas, l->dx.off, n_in);
        if (st != CLGAN_OK) return st;
    }
    return CLGAN_OK;
}

static clgan_status dense_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    if (l->as_unit) return unit_forward(n, l, batch);
    return affine_forward(n, l, l->y, batch);
}

static clgan_status dense_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    if (l->as_unit) return unit_backward(n, l, batch, need_dx, need_dw);
    return affine_backward(n, l, l->dy, batch, need_dx, need_dw);
}

const layer_ops layer_dense_ops = {dense_setup, dense_forward, dense_backward};

/* ---- maxout -------------------------------------------------------------------------------- */

/* The maxout kernels built for this layer's number of pieces (see cl/maxout.cl). */
static clgan_status maxout_setup(net *n, layer *l) {
    clgan_status st = dense_setup(n, l);
    if (st != CLGAN_OK) return st;
    char defs[32];
    snprintf(defs, sizeof defs, "-DMAXOUT_PIECES=%d", l->spec->pieces);
    cl_program prog;
    st = device_program_defines(n->dev, "cl/maxout.cl", defs, &prog);
    if (st != CLGAN_OK) return st;
    static const char *const names[2] = {"maxout_fwd", "maxout_bwd"};
    cl_kernel *const ks[2] = {&l->k[K_MAX_FWD], &l->k[K_MAX_BWD]};
    st = device_create_kernels(n->dev, prog, "cl/maxout.cl", defs, names, ks, 2);
    clReleaseProgram(prog); /* the kernels hold it */
    return st;
}

static clgan_status maxout_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    clgan_status st = affine_forward(n, l, l->z, batch);
    if (st != CLGAN_OK) return st;
    cl_uint z_off = (cl_uint)l->z.off, y_off = (cl_uint)l->y.off, rows = (cl_uint)batch,
            units = (cl_uint)l->spec->units, pieces = (cl_uint)l->spec->pieces;
    karg a[] = {KA(n->acts), KA(z_off), KA(y_off), KA(rows), KA(units), KA(pieces)};
    st = device_set_args(n->dev, l->k[K_MAX_FWD], "maxout_fwd", a, 6);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_MAX_FWD], (size_t)batch * units, "maxout_fwd");
}

static clgan_status maxout_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    cl_uint z_off = (cl_uint)l->z.off, dy_off = (cl_uint)l->dy.off, dz_off = (cl_uint)l->dz.off,
            rows = (cl_uint)batch, units = (cl_uint)l->spec->units,
            pieces = (cl_uint)l->spec->pieces;
    karg a[] = {KA(n->acts), KA(z_off), KA(n->deltas), KA(dy_off),
                KA(dz_off),  KA(rows),  KA(units),     KA(pieces)};
    clgan_status st = device_set_args(n->dev, l->k[K_MAX_BWD], "maxout_bwd", a, 8);
    if (st != CLGAN_OK) return st;
    st = device_run1d(n->dev, l->k[K_MAX_BWD], (size_t)batch * units, "maxout_bwd");
    if (st != CLGAN_OK) return st;
    return affine_backward(n, l, l->dz, batch, need_dx, need_dw);
}

const layer_ops layer_maxout_ops = {maxout_setup, maxout_forward, maxout_backward};
