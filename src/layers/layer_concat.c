/*
 * layer_concat.c - layers joined: {type: concat, from: [a, b, ...]}: images along channels
 * (of one height and width), flat tensors along features. Batch-major rows hold a sample's
 * channels one after another, so both are a row's columns in blocks (cl/merge.cl).
 */
#include <stdio.h>

#include "graph.h"

enum { K_COLS };

static int concat_infer(layer_spec *L, char *why, size_t len) {
    int img = shape_is_image(L->ins[0]);
    long c = 0;
    for (int k = 0; k < L->n_in; k++) {
        shape3 s = L->ins[k];
        if (shape_is_image(s) != img) {
            int fi = img ? k : 0, ii = img ? 0 : k;
            snprintf(why, len, "input %d is an image (%dx%dx%d) and input %d flat (%ld "
                     "values): concat joins images along channels or flat tensors along "
                     "features; flatten the image or reshape the flat one", ii + 1, L->ins[ii].c,
                     L->ins[ii].h, L->ins[ii].w, fi + 1, shape_size(L->ins[fi]));
            return -1;
        }
        if (img && (s.h != L->ins[0].h || s.w != L->ins[0].w)) {
            snprintf(why, len, "its images differ in size: input 1 is %dx%dx%d, input %d "
                     "%dx%dx%d (concat joins channels of one height and width)", L->ins[0].c,
                     L->ins[0].h, L->ins[0].w, k + 1, s.c, s.h, s.w);
            return -1;
        }
        c += img ? s.c : shape_size(s);
    }
    if (c > 1L << 30) {
        snprintf(why, len, "it would have %ld channels", c);
        return -1;
    }
    L->out = img ? (shape3){(int)c, L->ins[0].h, L->ins[0].w, 1} : (shape3){(int)c, 1, 1, 0};
    L->flops = (double)shape_size(L->out); /* a copy per value */
    return 0;
}

static void concat_describe(const layer_spec *L, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < L->n_in && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", k ? "+" : "",
                                 shape_is_image(L->ins[k]) ? L->ins[k].c
                                                           : (int)shape_size(L->ins[k]));
}

static clgan_status concat_setup(net *n, layer *l) {
    return net_kernel(n, "cl/merge.cl", "cols_copy", &l->k[K_COLS]);
}

/* Every input's columns into the output's (put), or back into the inputs' gradients. */
static clgan_status concat_run(net *n, layer *l, int batch, int put) {
    cl_mem buf = put ? n->acts : n->deltas;
    cl_uint wide = (cl_uint)(put ? l->y.off : l->dy.off), wc = (cl_uint)l->y.cols, col0 = 0,
            rows = (cl_uint)batch, p = (cl_uint)put;
    clgan_status st = CLGAN_OK;
    for (int k = 0; k < l->n_in && st == CLGAN_OK; k++) {
        cl_uint narrow = (cl_uint)(put ? l->xs[k].off : l->dxs[k].off), cols = (cl_uint)l->xs[k].cols;
        karg a[] = {KA(buf), KA(wide), KA(wc), KA(col0), KA(narrow), KA(cols), KA(rows), KA(p)};
        st = device_set_args(n->dev, l->k[K_COLS], "cols_copy", a, 8);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_COLS], (size_t)rows * cols, "cols_copy");
        col0 += cols;
    }
    return st;
}

static clgan_status concat_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    return concat_run(n, l, batch, 1);
}

static clgan_status concat_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    return need_dx ? concat_run(n, l, batch, 0) : CLGAN_OK;
}

static void concat_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                        int batch, const host_ctx *c) {
    (void)p, (void)x;
    long oc = shape_size(L->out);
    for (int r = 0; r < batch; r++) {
        long col = 0;
        for (int k = 0; k < L->n_in; k++) {
            long ic = shape_size(L->ins[k]);
            for (long j = 0; j < ic; j++) y[r * oc + col + j] = c->xs[k][r * ic + j];
            col += ic;
        }
    }
}

const layer_class layer_concat = {
    .name = "concat",
    .keys = NULL,
    .n_keys = 0,
    .infer = concat_infer,
    .params = layer_no_params,
    .describe = concat_describe,
    .gemms = layer_no_gemms,
    .ops = {concat_setup, concat_forward, concat_backward},
    .host_forward = concat_host,
    .min_inputs = 2,
    .max_inputs = LAYER_MAX_INPUTS,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};
