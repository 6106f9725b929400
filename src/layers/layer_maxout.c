/*
 * layer_maxout.c - maxout units (Goodfellow et al. 2013): {type: maxout, units: U, pieces: P}.
 * An affine product into z[B][U*P] (weight [U*P, n_in], bias [U*P], as dense), then
 * y[b][u] = max_q z[b][u*P + q]. Backward routes dy to the arg max piece, then the affine
 * backward. The kernels are built per number of pieces (cl/maxout.cl, -DMAXOUT_PIECES).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "layer_dense.h"

enum { UNITS, PIECES, INIT, INIT_SCALE, BIAS, BIAS_VALUE };

static const layer_key keys[] = {
    {"units", KEY_INT, UNITS, KEY_REQUIRED, 1, 1 << 30, 0},
    {"pieces", KEY_INT, PIECES, KEY_REQUIRED, 1, 64, 0},
    {"init", KEY_INIT, INIT, KEY_INIT_ONLY, 0, 0, 0},
    {"bias", KEY_BIAS, BIAS, KEY_INIT_ONLY, 0, 0, 0},
};

enum { K_MAX_FWD = 2, K_MAX_BWD, K_MAX_TAN }; /* after affine_setup's two */

static long outs(const layer_spec *L) {
    return (long)L->v[UNITS] * (long)L->v[PIECES];
}

static int maxout_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    double n_in = (double)shape_size(L->in), units = L->v[UNITS], o = (double)outs(L);
    L->out = (shape3){(int)units, 1, 1, 0};
    L->scratch = outs(L); /* the pre-activations z */
    L->flops = 2.0 * o * n_in + o + units * (L->v[PIECES] - 1.0);
    return 0;
}

static int maxout_params(const layer_spec *L, param_info *out) {
    return affine_params(L, outs(L), INIT, BIAS, out);
}

static void maxout_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "%dx%d", (int)L->v[UNITS], (int)L->v[PIECES]);
}

static int maxout_gemms(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din,
                        int dw, gemm_shape *out) {
    (void)dev;
    return affine_gemms(L, outs(L), rows, fwd, din, dw, out);
}

static clgan_status maxout_setup(net *n, layer *l) {
    clgan_status st = affine_setup(n, l);
    if (st != CLGAN_OK) return st;
    char defs[32];
    snprintf(defs, sizeof defs, "-DMAXOUT_PIECES=%d", (int)l->spec->v[PIECES]);
    cl_program prog;
    st = device_program_defines(n->dev, "cl/maxout.cl", defs, &prog);
    if (st != CLGAN_OK) return st;
    static const char *const names[3] = {"maxout_fwd", "maxout_bwd", "maxout_tan"};
    cl_kernel *const ks[3] = {&l->k[K_MAX_FWD], &l->k[K_MAX_BWD], &l->k[K_MAX_TAN]};
    st = device_create_kernels(n->dev, prog, "cl/maxout.cl", defs, names, ks, 3);
    clReleaseProgram(prog); /* the kernels hold it */
    return st;
}

static clgan_status maxout_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    clgan_status st = affine_forward(n, l, l->z, batch);
    if (st != CLGAN_OK) return st;
    cl_uint z_off = (cl_uint)l->z.off, y_off = (cl_uint)l->y.off, rows = (cl_uint)batch,
            units = (cl_uint)l->spec->v[UNITS], pieces = (cl_uint)l->spec->v[PIECES];
    if (n->tangent) { /* the tangent of the piece that won in the values' pass */
        karg t[] = {KA(n->primal), KA(z_off), KA(n->acts), KA(y_off), KA(rows), KA(units),
                    KA(pieces)};
        st = device_set_args(n->dev, l->k[K_MAX_TAN], "maxout_tan", t, 7);
        if (st != CLGAN_OK) return st;
        return device_run1d(n->dev, l->k[K_MAX_TAN], (size_t)batch * units, "maxout_tan");
    }
    karg a[] = {KA(n->acts), KA(z_off), KA(y_off), KA(rows), KA(units), KA(pieces)};
    st = device_set_args(n->dev, l->k[K_MAX_FWD], "maxout_fwd", a, 6);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_MAX_FWD], (size_t)batch * units, "maxout_fwd");
}

static clgan_status maxout_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    cl_uint z_off = (cl_uint)l->z.off, dy_off = (cl_uint)l->dy.off, dz_off = (cl_uint)l->dz.off,
            rows = (cl_uint)batch, units = (cl_uint)l->spec->v[UNITS],
            pieces = (cl_uint)l->spec->v[PIECES];
    cl_mem vals = net_values(n); /* the winners: the values' pass's */
    karg a[] = {KA(vals),   KA(z_off), KA(n->deltas), KA(dy_off),
                KA(dz_off), KA(rows),  KA(units),     KA(pieces)};
    clgan_status st = device_set_args(n->dev, l->k[K_MAX_BWD], "maxout_bwd", a, 8);
    if (st != CLGAN_OK) return st;
    st = device_run1d(n->dev, l->k[K_MAX_BWD], (size_t)batch * units, "maxout_bwd");
    if (st != CLGAN_OK) return st;
    return affine_backward(n, l, l->dz, batch, need_dx, need_dw);
}

static void maxout_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                        int batch, const host_ctx *c) {
    (void)c;
    long units = (long)L->v[UNITS], pieces = (long)L->v[PIECES], o = outs(L);
    double *z = malloc((size_t)batch * (size_t)o * sizeof *z);
    if (!z) return;
    affine_host(p[0], p[1], x, z, batch, shape_size(L->in), o);
    for (long r = 0; r < batch; r++)
        for (long u = 0; u < units; u++) {
            double best = -INFINITY;
            for (long q = 0; q < pieces; q++) { /* NaN wins, as on the device */
                double v = z[r * o + u * pieces + q];
                best = isnan(v) || v > best ? v : best;
            }
            y[r * units + u] = best;
        }
    free(z);
}

const layer_class layer_maxout = {
    .name = "maxout",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = maxout_infer,
    .params = maxout_params,
    .describe = maxout_describe,
    .gemms = maxout_gemms,
    .ops = {maxout_setup, maxout_forward, maxout_backward},
    .host_forward = maxout_host,
    .tangent = 1,
};
