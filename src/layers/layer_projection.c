/*
 * layer_projection.c - the projection discriminator's output (Miyato & Koyama 2018):
 * {type: projection, init: xavier}. h[B][F] (flat) -> y[B][1] = w.h + b + E[label].h: a dense
 * logit plus the inner product of the row's label embedding with D's penultimate features.
 * Parameters: weight [1, F], bias [1], embedding [classes, F]. cl/label.cl has the kernels:
 * one backward kernel, 16 features per work-item, sums every gradient over rows in order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "graph.h"

enum { INIT };

static const layer_key keys[] = {
    {"init", KEY_INIT, INIT, KEY_INIT_ONLY, 0, 0, 0},
};

enum { K_FWD, K_BWD };
enum { P_WEIGHT, P_BIAS, P_EMBED };

static int proj_infer(layer_spec *L, char *why, size_t len) {
    if (L->in.h != 1 || L->in.w != 1) {
        snprintf(why, len, "its input is %dx%dx%d: projection takes flat features (add flatten "
                 "before it)", L->in.c, L->in.h, L->in.w);
        return -1;
    }
    L->out = (shape3){1, 1, 1, 0};
    L->flops = 4.0 * L->in.c;
    return 0;
}

static int proj_params(const layer_spec *L, param_info *out) {
    long f = L->in.c, k = L->classes;
    init_kind ik = (init_kind)L->v[INIT];
    float sc = (float)L->v[INIT + 1];
    out[P_WEIGHT] = (param_info){"weight", 2, {1, f}, f, 1, ik, sc, f, 1, 0};
    out[P_BIAS] = (param_info){"bias", 1, {1}, 1, 1, INIT_CONST, 0, 0, 0, -1};
    out[P_EMBED] = (param_info){"embedding", 2, {k, f}, k * f, 1, ik, sc, f, k, -1};
    return 3;
}

static void proj_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "%d classes", L->classes);
}

static clgan_status proj_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/label.cl", "projection_fwd", &l->k[K_FWD]);
    return st == CLGAN_OK ? net_kernel(n, "cl/label.cl", "projection_bwd", &l->k[K_BWD]) : st;
}

static clgan_status proj_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    cl_uint ho = (cl_uint)l->x.off, yo = (cl_uint)l->y.off, F = (cl_uint)l->x.cols,
            wo = (cl_uint)l->param_off[P_WEIGHT], bo = (cl_uint)l->param_off[P_BIAS],
            eo = (cl_uint)l->param_off[P_EMBED], b = (cl_uint)batch, hb = !n->tangent;
    karg a[] = {KA(n->acts), KA(ho), KA(yo), KA(F), KA(n->labels), KA(n->params),
                KA(wo),      KA(bo), KA(eo), KA(b), KA(hb)};
    clgan_status st = device_set_args(n->dev, l->k[K_FWD], "projection_fwd", a, 11);
    return st == CLGAN_OK ? device_run1d(n->dev, l->k[K_FWD], b, "projection_fwd") : st;
}

static clgan_status proj_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    if (!need_dx && !need_dw) return CLGAN_OK;
    cl_uint ho = (cl_uint)l->x.off, dyo = (cl_uint)l->dy.off, dho = (cl_uint)l->dx.off,
            F = (cl_uint)l->x.cols, wo = (cl_uint)l->param_off[P_WEIGHT],
            eo = (cl_uint)l->param_off[P_EMBED], gwo = wo, gbo = (cl_uint)l->param_off[P_BIAS],
            geo = eo, k = (cl_uint)l->spec->classes, b = (cl_uint)batch, ndx = (cl_uint)need_dx,
            ndw = (cl_uint)need_dw;
    karg a[] = {KA(n->acts), KA(ho),  KA(n->deltas), KA(dyo), KA(dho), KA(n->labels),
                KA(n->params), KA(wo), KA(eo),       KA(n->grads), KA(gwo), KA(gbo),
                KA(geo),     KA(F),   KA(k),         KA(b),   KA(ndx), KA(ndw)};
    clgan_status st = device_set_args(n->dev, l->k[K_BWD], "projection_bwd", a, 18);
    if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_BWD], (F + 15) / 16, "projection_bwd");
    if (st == CLGAN_OK && need_dw && n->tangent) /* a tangent has no bias: its gradient is 0 */
        st = device_fill(n->dev, n->grads, gbo * sizeof(float), sizeof(float));
    return st;
}

static void proj_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                      int batch, const host_ctx *c) {
    long F = L->in.c;
    for (int r = 0; r < batch; r++) {
        int lab = c->labels ? c->labels[r] : 0;
        double s = p[P_BIAS][0];
        for (long f = 0; f < F; f++) s += (p[P_WEIGHT][f] + p[P_EMBED][lab * F + f]) * x[r * F + f];
        y[r] = s;
    }
}

const layer_class layer_projection = {
    .name = "projection",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = proj_infer,
    .params = proj_params,
    .describe = proj_describe,
    .gemms = layer_no_gemms,
    .ops = {proj_setup, proj_forward, proj_backward},
    .host_forward = proj_host,
    .needs_labels = 1,
    .tangent = 1,
};
