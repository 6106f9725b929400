/*
 * layer_act.c - element-wise activation layers: relu, leaky_relu, tanh, sigmoid.
 * One kernel pair per kind (cl/activation.cl), all with the same arguments.
 */
#include <stdio.h>

#include "graph.h"

enum { K_FWD, K_BWD };

static clgan_status act_setup(net *n, layer *l) {
    char fwd[32], bwd[32];
    const char *kind = layer_kind_name(l->spec->kind);
    snprintf(fwd, sizeof fwd, "%s_fwd", kind);
    snprintf(bwd, sizeof bwd, "%s_bwd", kind);
    clgan_status st = net_kernel(n, "cl/activation.cl", fwd, &l->k[K_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/activation.cl", bwd, &l->k[K_BWD]);
    return st;
}

static clgan_status act_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    cl_uint x_off = (cl_uint)l->x.off, y_off = (cl_uint)l->y.off,
            cnt = (cl_uint)((size_t)batch * l->y.cols);
    float p = l->spec->slope;
    karg a[] = {KA(n->acts), KA(x_off), KA(y_off), KA(cnt), KA(p)};
    clgan_status st = device_set_args(n->dev, l->k[K_FWD], "activation forward", a, 5);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_FWD], (cnt + 15) / 16, layer_kind_name(l->spec->kind));
}

static clgan_status act_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    if (!need_dx) return CLGAN_OK;
    cl_uint x_off = (cl_uint)l->x.off, y_off = (cl_uint)l->y.off, dy_off = (cl_uint)l->dy.off,
            dx_off = (cl_uint)l->dx.off, cnt = (cl_uint)((size_t)batch * l->y.cols);
    float p = l->spec->slope;
    karg a[] = {KA(n->acts), KA(x_off), KA(y_off), KA(n->deltas),
                KA(dy_off),  KA(dx_off), KA(cnt),  KA(p)};
    clgan_status st = device_set_args(n->dev, l->k[K_BWD], "activation backward", a, 8);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_BWD], (cnt + 15) / 16, layer_kind_name(l->spec->kind));
}

const layer_ops layer_act_ops = {act_setup, act_forward, act_backward};
