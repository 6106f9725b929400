/*
 * layer_upsample.c - nearest-neighbour upsampling: {type: upsample, factor: 2 or [FH, FW]}.
 * x[B][C][H][W] -> y[B][C][H*FH][W*FW], each value repeated over its FH x FW block; backward
 * sums dy over the block (cl/upsample.cl).
 */
#include <stdio.h>

#include "graph.h"

enum { FACTOR };

static const layer_key keys[] = {
    {"factor", KEY_INT2, FACTOR, KEY_REQUIRED, 1, 64, 0},
};

enum { K_FWD, K_BWD };

#define FH(L) ((int)(L)->v[FACTOR])
#define FW(L) ((int)(L)->v[FACTOR + 1])

static int upsample_infer(layer_spec *L, char *why, size_t len) {
    if (layer_image_input(L, why, len) != 0) return -1;
    double oh = (double)L->in.h * FH(L), ow = (double)L->in.w * FW(L);
    if (oh > 1 << 16 || ow > 1 << 16) {
        snprintf(why, len, "the output would be %.0fx%.0f, larger than 65536 on a side", oh, ow);
        return -1;
    }
    L->out = (shape3){L->in.c, (int)oh, (int)ow, 1};
    L->flops = (double)shape_size(L->out); /* a copy per value */
    return 0;
}

static void upsample_describe(const layer_spec *L, char *buf, size_t len) {
    if (FH(L) == FW(L)) snprintf(buf, len, "x%d", FH(L));
    else snprintf(buf, len, "x%dx%d", FH(L), FW(L));
}

static clgan_status upsample_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/upsample.cl", "upsample_fwd", &l->k[K_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/upsample.cl", "upsample_bwd", &l->k[K_BWD]);
    return st;
}

static clgan_status upsample_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    const layer_spec *L = l->spec;
    cl_uint xo = (cl_uint)l->x.off, yo = (cl_uint)l->y.off, bc = (cl_uint)batch * L->in.c,
            h = (cl_uint)L->in.h, w = (cl_uint)L->in.w, fh = (cl_uint)FH(L), fw = (cl_uint)FW(L);
    karg a[] = {KA(n->acts), KA(xo), KA(yo), KA(bc), KA(h), KA(w), KA(fh), KA(fw)};
    clgan_status st = device_set_args(n->dev, l->k[K_FWD], "upsample_fwd", a, 8);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_FWD], (size_t)batch * L->in.c * L->out.h, "upsample_fwd");
}

static clgan_status upsample_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    if (!need_dx) return CLGAN_OK;
    const layer_spec *L = l->spec;
    cl_uint dyo = (cl_uint)l->dy.off, dxo = (cl_uint)l->dx.off, bc = (cl_uint)batch * L->in.c,
            h = (cl_uint)L->in.h, w = (cl_uint)L->in.w, fh = (cl_uint)FH(L), fw = (cl_uint)FW(L);
    karg a[] = {KA(n->deltas), KA(dyo), KA(dxo), KA(bc), KA(h), KA(w), KA(fh), KA(fw)};
    clgan_status st = device_set_args(n->dev, l->k[K_BWD], "upsample_bwd", a, 8);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_BWD], (size_t)batch * L->in.c * L->in.h, "upsample_bwd");
}

static void upsample_host(const layer_spec *L, const double *const *p, const double *x,
                          double *y, int batch, const host_ctx *c) {
    (void)p, (void)c;
    int H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    for (long q = 0; q < (long)batch * L->in.c; q++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                y[(q * OH + oy) * OW + ox] = x[(q * H + oy / FH(L)) * W + ox / FW(L)];
}

const layer_class layer_upsample = {
    .name = "upsample",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = upsample_infer,
    .params = layer_no_params,
    .describe = upsample_describe,
    .gemms = layer_no_gemms,
    .ops = {upsample_setup, upsample_forward, upsample_backward},
    .host_forward = upsample_host,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};
