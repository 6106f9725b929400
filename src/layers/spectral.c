/*
 * spectral.c - spectral normalisation's host side (spectral.h): the parameters, the layout of
 * the fixed scratch, the kernels' arguments and the host reference.
 */
#include "spectral.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define A16(v) (((v) + 15) / 16 * 16)

enum { K_POWER, K_SCALE, K_LAMBDA, K_GRAD };

int spectral_params(long rows, long cols, param_info *out) {
    out[0] = (param_info){"weight_u", 1, {rows}, rows, 0, INIT_NORMAL, 1.0f, 0, 0, -1};
    out[1] = (param_info){"weight_v", 1, {cols}, cols, 0, INIT_NORMAL, 1.0f, 0, 0, -1};
    return 2;
}

long spectral_fixed(long rows, long cols) {
    return A16(rows * cols) + A16(cols) + A16(rows) + 16;
}

clgan_status spectral_setup(net *n, layer *l, int k0, int u_param, long rows, long cols) {
    static const char *const names[] = {"sn_power", "sn_scale", "sn_lambda", "sn_grad"};
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < 4 && st == CLGAN_OK; i++)
        st = net_kernel(n, "cl/spectral.cl", names[i], &l->k[k0 + i]);
    l->sn_k0 = k0;
    l->sn_u = u_param;
    l->sn_rows = rows;
    l->sn_cols = cols;
    /* the fixed scratch follows the per-sample scratch of the layer's slot */
    l->sn_ws = l->z.off + (size_t)n->capacity * (size_t)l->spec->scratch;
    return st;
}

cl_mem layer_weight_buf(const net *n, const layer *l) {
    return l->sn_rows ? net_values(n) : n->params;
}

size_t layer_weight_off(const layer *l) {
    return l->sn_rows ? l->sn_ws : l->param_off[0];
}

static void offsets(const layer *l, cl_uint *tin, cl_uint *tout, cl_uint *sig) {
    size_t rc = (size_t)l->sn_rows * (size_t)l->sn_cols;
    *tin = (cl_uint)(l->sn_ws + A16(rc));
    *tout = *tin + (cl_uint)A16(l->sn_cols);
    *sig = *tout + (cl_uint)A16(l->sn_rows);
}

clgan_status spectral_forward(net *n, layer *l, int train) {
    cl_uint w_off = (cl_uint)l->param_off[0], u_off = (cl_uint)l->param_off[l->sn_u],
            v_off = (cl_uint)l->param_off[l->sn_u + 1], rows = (cl_uint)l->sn_rows,
            cols = (cl_uint)l->sn_cols, tr = (cl_uint)(train != 0), tin, tout, sig,
            ws = (cl_uint)l->sn_ws, cnt = rows * cols;
    offsets(l, &tin, &tout, &sig);
    karg a[] = {KA(n->params), KA(w_off), KA(n->params), KA(u_off), KA(v_off), KA(rows),
                KA(cols),      KA(n->acts), KA(tin),     KA(tout),  KA(sig),   KA(tr)};
    clgan_status st = device_set_args(n->dev, l->k[l->sn_k0 + K_POWER], "sn_power", a, 12);
    if (st == CLGAN_OK) st = device_run_group(n->dev, l->k[l->sn_k0 + K_POWER], 256, "sn_power");
    karg b[] = {KA(n->params), KA(w_off), KA(n->acts), KA(ws), KA(sig), KA(cnt)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[l->sn_k0 + K_SCALE], "sn_scale", b, 6);
    if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[l->sn_k0 + K_SCALE], cnt, "sn_scale");
    return st;
}

clgan_status spectral_backward(net *n, layer *l) {
    cl_uint w_off = (cl_uint)l->param_off[0], u_off = (cl_uint)l->param_off[l->sn_u],
            v_off = (cl_uint)l->param_off[l->sn_u + 1], cols = (cl_uint)l->sn_cols, tin, tout,
            sig, ws = (cl_uint)l->sn_ws, cnt = (cl_uint)l->sn_rows * cols, lam;
    offsets(l, &tin, &tout, &sig);
    lam = sig + 1;
    cl_mem vals = net_values(n); /* W_sn and sigma: the values' (a tangent pass swaps acts) */
    karg a[] = {KA(n->grads), KA(w_off), KA(vals), KA(ws), KA(lam), KA(cnt)};
    clgan_status st = device_set_args(n->dev, l->k[l->sn_k0 + K_LAMBDA], "sn_lambda", a, 6);
    if (st == CLGAN_OK) st = device_run_group(n->dev, l->k[l->sn_k0 + K_LAMBDA], 256, "sn_lambda");
    karg b[] = {KA(n->grads), KA(w_off), KA(n->params), KA(u_off), KA(v_off), KA(cols),
                KA(vals), KA(sig),   KA(lam),       KA(cnt)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[l->sn_k0 + K_GRAD], "sn_grad", b, 10);
    if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[l->sn_k0 + K_GRAD], cnt, "sn_grad");
    return st;
}

static void normalize(double *x, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += x[i] * x[i];
    s = fmax(sqrt(s), 1e-12);
    for (long i = 0; i < n; i++) x[i] /= s;
}

double spectral_host(const double *w, double *u, double *v, long rows, long cols, int train,
                     double *w_sn) {
    if (train) {
        for (long j = 0; j < cols; j++) {
            double a = 0;
            for (long i = 0; i < rows; i++) a += w[i * cols + j] * u[i];
            v[j] = a;
        }
        normalize(v, cols);
        for (long i = 0; i < rows; i++) {
            double a = 0;
            for (long j = 0; j < cols; j++) a += w[i * cols + j] * v[j];
            u[i] = a;
        }
        normalize(u, rows);
    }
    double sigma = 0;
    for (long i = 0; i < rows; i++) {
        double a = 0;
        for (long j = 0; j < cols; j++) a += w[i * cols + j] * v[j];
        sigma += u[i] * a;
    }
    for (long k = 0; k < rows * cols; k++) w_sn[k] = w[k] / sigma;
    return sigma;
}

double *spectral_host_weight(const double *const *p, int iu, long rows, long cols,
                             const host_ctx *c) {
    double *w = malloc((size_t)(rows * cols) * sizeof *w), *u = malloc((size_t)rows * sizeof *u),
           *v = malloc((size_t)cols * sizeof *v);
    memcpy(u, p[iu], (size_t)rows * sizeof *u);
    memcpy(v, p[iu + 1], (size_t)cols * sizeof *v);
    spectral_host(p[0], u, v, rows, cols, c->train, w);
    if (c->train && c->update && c->update[iu] && c->update[iu + 1]) {
        memcpy(c->update[iu], u, (size_t)rows * sizeof *u);
        memcpy(c->update[iu + 1], v, (size_t)cols * sizeof *v);
    }
    free(u);
    free(v);
    return w;
}
