/*
 * layer_global_pool.c - an image's positions pooled per channel: global_sum_pool (SNGAN's
 * discriminator: the sum over positions before its last dense layer) and global_avg_pool (the
 * mean). x[B][C][H][W] -> y[B][C], flat features (cl/pool.cl). Two kinds of one file: they
 * differ in a scale alone.
 */
#include <stdio.h>

#include "graph.h"

enum { K_FWD, K_BWD };

static int gp_infer(layer_spec *L, char *why, size_t len) {
    if (layer_image_input(L, why, len) != 0) return -1;
    L->out = (shape3){L->in.c, 1, 1, 0};
    L->flops = (double)shape_size(L->in);
    return 0;
}

static float gp_scale(const layer_spec *L) {
    return L->kind == LAYER_GLOBAL_AVG_POOL ? 1.0f / (float)(L->in.h * L->in.w) : 1.0f;
}

static clgan_status gp_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/pool.cl", "global_pool_fwd", &l->k[K_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/pool.cl", "global_pool_bwd", &l->k[K_BWD]);
    return st;
}

static clgan_status gp_run(net *n, layer *l, int batch, int fwd) {
    const layer_spec *L = l->spec;
    cl_uint src = (cl_uint)(fwd ? l->x.off : l->dy.off), dst = (cl_uint)(fwd ? l->y.off : l->dx.off),
            bc = (cl_uint)batch * L->in.c, hw = (cl_uint)(L->in.h * L->in.w);
    float scale = gp_scale(L);
    cl_mem buf = fwd ? n->acts : n->deltas;
    karg a[] = {KA(buf), KA(src), KA(dst), KA(bc), KA(hw), KA(scale)};
    const char *name = fwd ? "global_pool_fwd" : "global_pool_bwd";
    cl_kernel k = l->k[fwd ? K_FWD : K_BWD];
    clgan_status st = device_set_args(n->dev, k, name, a, (int)ARRAY_LEN(a));
    return st == CLGAN_OK ? device_run1d(n->dev, k, fwd ? (size_t)bc : (size_t)bc * hw, name) : st;
}

static clgan_status gp_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    return gp_run(n, l, batch, 1);
}

static clgan_status gp_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    return need_dx ? gp_run(n, l, batch, 0) : CLGAN_OK;
}

static void gp_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                    int batch, const host_ctx *c) {
    (void)p, (void)c;
    long hw = (long)L->in.h * L->in.w;
    double scale = L->kind == LAYER_GLOBAL_AVG_POOL ? 1.0 / (double)hw : 1.0;
    for (long q = 0; q < (long)batch * L->in.c; q++) {
        double s = 0;
        for (long j = 0; j < hw; j++) s += x[q * hw + j];
        y[q] = scale * s;
    }
}

const layer_class layer_global_sum_pool = {
    .name = "global_sum_pool",
    .infer = gp_infer,
    .params = layer_no_params,
    .describe = layer_no_detail,
    .gemms = layer_no_gemms,
    .ops = {gp_setup, gp_forward, gp_backward},
    .host_forward = gp_host,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};

const layer_class layer_global_avg_pool = {
    .name = "global_avg_pool",
    .infer = gp_infer,
    .params = layer_no_params,
    .describe = layer_no_detail,
    .gemms = layer_no_gemms,
    .ops = {gp_setup, gp_forward, gp_backward},
    .host_forward = gp_host,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};
