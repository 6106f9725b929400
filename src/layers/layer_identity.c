/*
 * layer_identity.c - y = x: {type: identity} (a block's plain skip, a name for a layer's
 * output). A copy forward and back (cl/merge.cl).
 */
#include <string.h>

#include "graph.h"

enum { K_COPY };

static int identity_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = L->in;
    return 0;
}

static clgan_status identity_setup(net *n, layer *l) {
    return net_kernel(n, "cl/merge.cl", "copy_fwd", &l->k[K_COPY]);
}

static clgan_status copy(net *n, layer *l, cl_mem buf, size_t dst, size_t src, int batch) {
    cl_uint d = (cl_uint)dst, s = (cl_uint)src, cnt = (cl_uint)((size_t)batch * l->y.cols);
    karg a[] = {KA(buf), KA(d), KA(s), KA(cnt)};
    clgan_status st = device_set_args(n->dev, l->k[K_COPY], "copy_fwd", a, 4);
    return st == CLGAN_OK ? device_run1d(n->dev, l->k[K_COPY], cnt, "copy_fwd") : st;
}

static clgan_status identity_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    return copy(n, l, n->acts, l->y.off, l->x.off, batch);
}

static clgan_status identity_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    return need_dx ? copy(n, l, n->deltas, l->dx.off, l->dy.off, batch) : CLGAN_OK;
}

static void identity_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                          int batch, const host_ctx *c) {
    (void)p, (void)c;
    memcpy(y, x, (size_t)batch * (size_t)shape_size(L->out) * sizeof *y);
}

static int identity_passes(const layer_spec *L) {
    (void)L;
    return 1;
}

const layer_class layer_identity = {
    .name = "identity",
    .keys = NULL,
    .n_keys = 0,
    .infer = identity_infer,
    .params = layer_no_params,
    .describe = layer_no_detail,
    .gemms = layer_no_gemms,
    .ops = {identity_setup, identity_forward, identity_backward},
    .host_forward = identity_host,
    .passes_values = identity_passes,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};
