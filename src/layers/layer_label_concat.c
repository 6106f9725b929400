/*
 * layer_label_concat.c - the condition joined to the input: {type: label_concat, embed: 0}.
 * x[B][C][H][W] (or flat [B][F]) -> y[B][C + D][H][W]: the input, then the row's label as D
 * more channels (features), one-hot (embed 0, D = the model's classes) or a learned embedding
 * of `embed` values, repeated over every pixel as the DCGAN reference's conv_cond_concat does.
 * Parameter (embed > 0): embedding [classes, embed], N(0, 1) as PyTorch's nn.Embedding.
 * Backward: dx is dy's input part; dE[c] sums dy's label part over the rows labelled c and
 * their pixels (cl/label.cl).
 */
#include <stdio.h>

#include "graph.h"

enum { EMBED };

static const layer_key keys[] = {
    {"embed", KEY_INT, EMBED, 0, 0, 4096, 0},
};

enum { K_FWD, K_BWD_X, K_BWD_E };

static long width(const layer_spec *L) {
    return L->v[EMBED] > 0 ? (long)L->v[EMBED] : L->classes;
}

static int lc_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = (shape3){L->in.c + (int)width(L), L->in.h, L->in.w, L->in.image};
    L->flops = (double)shape_size(L->out); /* a copy per value */
    return 0;
}

static int lc_params(const layer_spec *L, param_info *out) {
    long e = (long)L->v[EMBED], k = L->classes;
    if (e <= 0) return 0;
    out[0] = (param_info){"embedding", 2, {k, e}, k * e, 1, INIT_NORMAL, 1.0f, k, e, -1};
    return 1;
}

static void lc_describe(const layer_spec *L, char *buf, size_t len) {
    if (L->v[EMBED] > 0) snprintf(buf, len, "embed %d of %d", (int)L->v[EMBED], L->classes);
    else snprintf(buf, len, "one-hot %d", L->classes);
}

static clgan_status lc_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/label.cl", "label_concat_fwd", &l->k[K_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/label.cl", "label_concat_bwd_x", &l->k[K_BWD_X]);
    if (st == CLGAN_OK && l->n_params > 0)
        st = net_kernel(n, "cl/label.cl", "label_concat_bwd_e", &l->k[K_BWD_E]);
    return st;
}

static clgan_status lc_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    const layer_spec *L = l->spec;
    cl_uint xo = (cl_uint)l->x.off, yo = (cl_uint)l->y.off, C = (cl_uint)L->in.c,
            hw = (cl_uint)(L->in.h * L->in.w), D = (cl_uint)width(L),
            eo = (cl_uint)(l->n_params > 0 ? l->param_off[0] : 0), on = l->n_params > 0,
            cnt = (cl_uint)batch * (C + D) * hw, tan = (cl_uint)n->tangent;
    karg a[] = {KA(n->acts), KA(xo), KA(yo), KA(C), KA(hw), KA(D), KA(n->labels), KA(n->params),
                KA(eo), KA(on), KA(cnt), KA(tan)};
    clgan_status st = device_set_args(n->dev, l->k[K_FWD], "label_concat_fwd", a, 12);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_FWD], cnt, "label_concat_fwd");
}

static clgan_status lc_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    const layer_spec *L = l->spec;
    cl_uint dyo = (cl_uint)l->dy.off, dxo = (cl_uint)l->dx.off, C = (cl_uint)L->in.c,
            hw = (cl_uint)(L->in.h * L->in.w), D = (cl_uint)width(L),
            cnt = (cl_uint)batch * C * hw, b = (cl_uint)batch;
    clgan_status st = CLGAN_OK;
    /* a tangent pass: the label's part is constant, and its embedding gets no gradient (the
     * pass zeroed it) */
    if (need_dw && l->n_params > 0 && !n->tangent) {
        cl_uint eo = (cl_uint)l->param_off[0], k = (cl_uint)L->classes;
        karg a[] = {KA(n->deltas), KA(dyo), KA(n->labels), KA(n->grads), KA(eo),
                    KA(C),         KA(hw),  KA(D),         KA(k),        KA(b)};
        st = device_set_args(n->dev, l->k[K_BWD_E], "label_concat_bwd_e", a, 10);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_BWD_E], k * D, "label_concat_bwd_e");
    }
    if (st == CLGAN_OK && need_dx) {
        karg a[] = {KA(n->deltas), KA(dyo), KA(dxo), KA(C), KA(hw), KA(D), KA(cnt)};
        st = device_set_args(n->dev, l->k[K_BWD_X], "label_concat_bwd_x", a, 7);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_BWD_X], cnt, "label_concat_bwd_x");
    }
    return st;
}

static void lc_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                    int batch, const host_ctx *c) {
    long C = L->in.c, hw = (long)L->in.h * L->in.w, D = width(L);
    for (int r = 0; r < batch; r++) {
        int lab = c->labels ? c->labels[r] : 0;
        for (long ch = 0; ch < C + D; ch++)
            for (long px = 0; px < hw; px++) {
                double v;
                if (ch < C) v = x[((long)r * C + ch) * hw + px];
                else if (L->v[EMBED] > 0) v = p[0][(long)lab * D + (ch - C)];
                else v = ch - C == lab;
                y[((long)r * (C + D) + ch) * hw + px] = v;
            }
    }
}

const layer_class layer_label_concat = {
    .name = "label_concat",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = lc_infer,
    .params = lc_params,
    .describe = lc_describe,
    .gemms = layer_no_gemms,
    .ops = {lc_setup, lc_forward, lc_backward},
    .host_forward = lc_host,
    .needs_labels = 1,
    .tangent = 1,
};
