/*
 * layer_dense.c - fully connected layers: {type: dense, units: N, init: ..., bias: ...}.
 *
 * Weights W[n_out][n_in] (row-major, as PyTorch stores them), bias b[n_out]; batch-major
 * activations. Forward: Y[B][n_out] = X[B][n_in] W^T + b.
 * Backward: dX[B][n_in] = dY W;  dW[n_out][n_in] = dY^T X;  db[n_out] = sum_B dY.
 *
 * A one-unit dense layer (a discriminator's output) runs as two fused kernels on CPU devices
 * (layer_runs_as_unit): there its products, a matrix-vector product and an outer product with
 * K = 1, cost less than the GEMM launches and bias kernels they would take.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "layer_dense.h"
#include "spectral.h"

enum { UNITS, INIT, INIT_SCALE, BIAS, BIAS_VALUE, SPECTRAL };

static const layer_key keys[] = {
    {"units", KEY_INT, UNITS, KEY_REQUIRED, 1, 1 << 30, 0},
    {"init", KEY_INIT, INIT, KEY_INIT_ONLY, 0, 0, 0},
    {"bias", KEY_BIAS, BIAS, KEY_INIT_ONLY, 0, 0, 0},
    {"spectral_norm", KEY_BOOL, SPECTRAL, KEY_SPARSE, 0, 1, 0},
};

enum { K_BIAS_FWD, K_BIAS_BWD };
enum { K_UNIT_FWD, K_UNIT_BWD }; /* one-unit layers */

#define P_WEIGHT 0
#define P_BIAS 1

int layer_runs_as_unit(const clgan_device *dev, const layer_spec *l) {
    return dev && dev->unit_kernels && l->kind == LAYER_DENSE && l->v[UNITS] == 1 &&
           !l->v[SPECTRAL];
}

static int dense_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    double n_in = (double)shape_size(L->in), units = L->v[UNITS];
    L->out = (shape3){(int)units, 1, 1, 0};
    L->flops = 2.0 * units * n_in + units;
    L->fixed = L->v[SPECTRAL] ? spectral_fixed((long)units, (long)n_in) : 0;
    return 0;
}

int affine_params(const layer_spec *L, long n_out, int init_slot, int bias_slot, param_info *out) {
    long n_in = shape_size(L->in);
    out[P_WEIGHT] = (param_info){"weight", 2, {n_out, n_in}, n_out * n_in, 1,
                                 (init_kind)L->v[init_slot], (float)L->v[init_slot + 1], n_in,
                                 n_out, 0};
    out[P_BIAS] = (param_info){"bias", 1, {n_out}, n_out, 1, (init_kind)L->v[bias_slot],
                               (float)L->v[bias_slot + 1], 0, 0, -1};
    return 2;
}

static int dense_params(const layer_spec *L, param_info *out) {
    int np = affine_params(L, (long)L->v[UNITS], INIT, BIAS, out);
    if (L->v[SPECTRAL]) np += spectral_params((long)L->v[UNITS], shape_size(L->in), out + np);
    return np;
}

static void dense_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "%d%s", (int)L->v[UNITS], L->v[SPECTRAL] ? " sn" : "");
}

int affine_gemms(const layer_spec *L, long n_out, int rows, int fwd, int din, int dw,
                 gemm_shape *out) {
    size_t n_in = (size_t)shape_size(L->in), no = (size_t)n_out, b = (size_t)rows;
    int k = 0;
    if (fwd) out[k++] = (gemm_shape){0, 1, b, no, n_in};
    if (din) out[k++] = (gemm_shape){0, 0, b, n_in, no};
    if (dw) out[k++] = (gemm_shape){1, 0, no, n_in, b};
    return k;
}

static int dense_gemms(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din,
                       int dw, gemm_shape *out) {
    if (layer_runs_as_unit(dev, L)) return 0;
    return affine_gemms(L, (long)L->v[UNITS], rows, fwd, din, dw, out);
}

clgan_status affine_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/dense.cl", "bias_fwd", &l->k[K_BIAS_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/dense.cl", "bias_bwd", &l->k[K_BIAS_BWD]);
    return st;
}

static clgan_status dense_setup(net *n, layer *l) {
    l->as_unit = layer_runs_as_unit(n->dev, l->spec);
    if (l->as_unit) {
        clgan_status st = net_kernel(n, "cl/dense.cl", "unit_fwd", &l->k[K_UNIT_FWD]);
        if (st == CLGAN_OK) st = net_kernel(n, "cl/dense.cl", "unit_bwd", &l->k[K_UNIT_BWD]);
        return st;
    }
    clgan_status st = affine_setup(n, l);
    if (st == CLGAN_OK && l->spec->v[SPECTRAL])
        st = spectral_setup(n, l, 2, 2, (long)l->spec->v[UNITS], (long)l->x.cols);
    return st;
}

static clgan_status unit_forward(net *n, layer *l, int batch) {
    cl_uint x_off = (cl_uint)l->x.off, y_off = (cl_uint)l->y.off,
            w_off = (cl_uint)l->param_off[P_WEIGHT], b_off = (cl_uint)l->param_off[P_BIAS],
            rows = (cl_uint)batch, n_in = (cl_uint)l->x.cols;
    karg a[] = {KA(n->acts), KA(x_off), KA(y_off), KA(n->params),
                KA(w_off),   KA(b_off), KA(rows),  KA(n_in)};
    clgan_status st = device_set_args(n->dev, l->k[K_UNIT_FWD], "unit_fwd", a, 8);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_UNIT_FWD], (size_t)batch, "unit_fwd");
}

static clgan_status unit_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    if (!need_dx && !need_dw) return CLGAN_OK;
    cl_uint x_off = (cl_uint)l->x.off, dy_off = (cl_uint)l->dy.off, dx_off = (cl_uint)l->dx.off,
            w_off = (cl_uint)l->param_off[P_WEIGHT], b_off = (cl_uint)l->param_off[P_BIAS],
            rows = (cl_uint)batch, n_in = (cl_uint)l->x.cols, dx = (cl_uint)need_dx,
            dw = (cl_uint)need_dw;
    karg a[] = {KA(n->acts),   KA(x_off), KA(n->deltas), KA(dy_off), KA(dx_off),
                KA(n->params), KA(w_off), KA(n->grads),  KA(w_off),  KA(b_off),
                KA(rows),      KA(n_in),  KA(dx),        KA(dw)};
    clgan_status st = device_set_args(n->dev, l->k[K_UNIT_BWD], "unit_bwd", a, 14);
    if (st != CLGAN_OK) return st;
    /* one work-group per 16 columns: a few items, each walking every row */
    size_t items = (n_in + 15) / 16, local = 1;
    return device_run_nd(n->dev, l->k[K_UNIT_BWD], 1, &items, &local, "unit_bwd", 0);
}

clgan_status affine_forward(net *n, layer *l, tensor out, int batch) {
    size_t n_in = l->x.cols, n_out = out.cols, w_off = layer_weight_off(l);
    clgan_status st = gemm(n->dev, 0, 1, (size_t)batch, n_out, n_in, 1.0f, n->acts, l->x.off, n_in,
                           layer_weight_buf(n, l), w_off, n_in, 0.0f, n->acts, out.off, n_out);
    if (st != CLGAN_OK || n->tangent) return st; /* a tangent has no bias */
    cl_uint y_off = (cl_uint)out.off, b_off = (cl_uint)l->param_off[P_BIAS],
            rows = (cl_uint)batch, cols = (cl_uint)n_out;
    karg a[] = {KA(n->acts), KA(y_off), KA(n->params), KA(b_off), KA(rows), KA(cols)};
    st = device_set_args(n->dev, l->k[K_BIAS_FWD], "bias_fwd", a, 6);
    if (st != CLGAN_OK) return st;
    return device_run2d(n->dev, l->k[K_BIAS_FWD], (n_out + 15) / 16, (size_t)batch, "bias_fwd");
}

clgan_status affine_backward(net *n, layer *l, tensor dout, int batch, int need_dx, int need_dw) {
    size_t n_in = l->x.cols, n_out = dout.cols, w_off = l->param_off[P_WEIGHT];
    clgan_status st;
    if (need_dw) {
        st = gemm(n->dev, 1, 0, n_out, n_in, (size_t)batch, 1.0f, n->deltas, dout.off, n_out,
                  n->acts, l->x.off, n_in, 0.0f, n->grads, w_off, n_in);
        if (st != CLGAN_OK) return st;
        if (n->tangent) goto dx; /* the bias's gradient: none (the pass zeroed it) */
        cl_uint dy_off = (cl_uint)dout.off, b_off = (cl_uint)l->param_off[P_BIAS],
                rows = (cl_uint)batch, cols = (cl_uint)n_out;
        karg a[] = {KA(n->deltas), KA(dy_off), KA(n->grads), KA(b_off), KA(rows), KA(cols)};
        st = device_set_args(n->dev, l->k[K_BIAS_BWD], "bias_bwd", a, 6);
        if (st != CLGAN_OK) return st;
        st = device_run1d(n->dev, l->k[K_BIAS_BWD], (n_out + 15) / 16, "bias_bwd");
        if (st != CLGAN_OK) return st;
    }
dx:
    if (need_dx) {
        st = gemm(n->dev, 0, 0, (size_t)batch, n_in, n_out, 1.0f, n->deltas, dout.off, n_out,
                  layer_weight_buf(n, l), layer_weight_off(l), n_in, 0.0f, n->deltas,
                  l->dx.off, n_in);
        if (st != CLGAN_OK) return st;
    }
    return CLGAN_OK;
}

/* A tangent pass runs a one-unit layer as the GEMMs it stands for (no bias). */
static clgan_status dense_forward(net *n, layer *l, int batch, int train) {
    if (l->as_unit && !n->tangent) return unit_forward(n, l, batch);
    clgan_status st = l->sn_rows && !n->tangent ? spectral_forward(n, l, train) : CLGAN_OK;
    return st == CLGAN_OK ? affine_forward(n, l, l->y, batch) : st;
}

static clgan_status dense_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    if (l->as_unit && !n->tangent) return unit_backward(n, l, batch, need_dx, need_dw);
    clgan_status st = affine_backward(n, l, l->dy, batch, need_dx, need_dw);
    if (st == CLGAN_OK && need_dw && l->sn_rows) st = spectral_backward(n, l);
    return st;
}

void affine_host(const double *w, const double *b, const double *x, double *y, int batch,
                 long n_in, long n_out) {
    for (int r = 0; r < batch; r++)
        for (long o = 0; o < n_out; o++) {
            double z = b[o];
            for (long i = 0; i < n_in; i++) z += w[o * n_in + i] * x[(long)r * n_in + i];
            y[(long)r * n_out + o] = z;
        }
}

static void dense_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                       int batch, const host_ctx *c) {
    long n_in = shape_size(L->in), n_out = (long)L->v[UNITS];
    if (!L->v[SPECTRAL]) {
        affine_host(p[P_WEIGHT], p[P_BIAS], x, y, batch, n_in, n_out);
        return;
    }
    /* spectral norm: u, v (parameters 2, 3) updated by the training pass where c says so */
    double *w = spectral_host_weight(p, 2, n_out, n_in, c);
    affine_host(w, p[P_BIAS], x, y, batch, n_in, n_out);
    free(w);
}

const layer_class layer_dense = {
    .name = "dense",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = dense_infer,
    .params = dense_params,
    .describe = dense_describe,
    .gemms = dense_gemms,
    .ops = {dense_setup, dense_forward, dense_backward},
    .host_forward = dense_host,
    .tangent = 1,
};
