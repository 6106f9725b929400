/*
 * layer_add.c - the sum of layers of one shape: {type: add, from: [a, b, ...]} (a residual
 * block's skip). y = x_0 + x_1 + ...; each input's gradient is dy (cl/merge.cl).
 */
#include <stdio.h>

#include "graph.h"

enum { K_ADD, K_ACC, K_COPY };

static int same_shape(shape3 a, shape3 b) {
    return a.c == b.c && a.h == b.h && a.w == b.w;
}

static int add_infer(layer_spec *L, char *why, size_t len) {
    for (int k = 1; k < L->n_in; k++)
        if (!same_shape(L->ins[k], L->ins[0])) {
            snprintf(why, len, "its inputs differ in shape: %s is %dx%dx%d, %s is %dx%dx%d "
                     "(add sums layers of one shape)", "the first", L->ins[0].c, L->ins[0].h,
                     L->ins[0].w, k == 1 ? "the second" : "another", L->ins[k].c, L->ins[k].h,
                     L->ins[k].w);
            return -1;
        }
    L->out = L->ins[0];
    L->out.image = 0;
    for (int k = 0; k < L->n_in; k++) L->out.image |= L->ins[k].image;
    L->flops = (double)(L->n_in - 1) * (double)shape_size(L->out);
    return 0;
}

static void add_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "%d inputs", L->n_in);
}

static clgan_status add_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/merge.cl", "add_fwd", &l->k[K_ADD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/merge.cl", "grad_acc", &l->k[K_ACC]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/merge.cl", "copy_fwd", &l->k[K_COPY]);
    return st;
}

static clgan_status add_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    cl_uint y = (cl_uint)l->y.off, a = (cl_uint)l->xs[0].off, b = (cl_uint)l->xs[1].off,
            cnt = (cl_uint)((size_t)batch * l->y.cols);
    karg args[] = {KA(n->acts), KA(y), KA(a), KA(b), KA(cnt)};
    clgan_status st = device_set_args(n->dev, l->k[K_ADD], "add_fwd", args, 5);
    if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_ADD], cnt, "add_fwd");
    for (int k = 2; k < l->n_in && st == CLGAN_OK; k++) {
        cl_uint x = (cl_uint)l->xs[k].off;
        karg acc[] = {KA(n->acts), KA(y), KA(x), KA(cnt)};
        st = device_set_args(n->dev, l->k[K_ACC], "grad_acc", acc, 4);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_ACC], cnt, "grad_acc");
    }
    return st;
}

static clgan_status add_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    clgan_status st = CLGAN_OK;
    cl_uint dy = (cl_uint)l->dy.off, cnt = (cl_uint)((size_t)batch * l->y.cols);
    for (int k = 0; k < l->n_in && need_dx && st == CLGAN_OK; k++) {
        cl_uint dx = (cl_uint)l->dxs[k].off;
        karg a[] = {KA(n->deltas), KA(dx), KA(dy), KA(cnt)};
        st = device_set_args(n->dev, l->k[K_COPY], "copy_fwd", a, 4);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_COPY], cnt, "copy_fwd");
    }
    return st;
}

static void add_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                     int batch, const host_ctx *c) {
    (void)p, (void)x;
    long n = (long)batch * shape_size(L->out);
    for (long i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < L->n_in; k++) s += c->xs[k][i];
        y[i] = s;
    }
}

const layer_class layer_add = {
    .name = "add",
    .keys = NULL,
    .n_keys = 0,
    .infer = add_infer,
    .params = layer_no_params,
    .describe = add_describe,
    .gemms = layer_no_gemms,
    .ops = {add_setup, add_forward, add_backward},
    .host_forward = add_host,
    .min_inputs = 2,
    .max_inputs = LAYER_MAX_INPUTS,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};
