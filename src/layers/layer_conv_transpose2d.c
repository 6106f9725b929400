/*
 * layer_conv_transpose2d.c - transposed 2-D convolutions, the adjoint of conv2d as PyTorch's
 * ConvTranspose2d defines it: {type: conv_transpose2d, filters: F, kernel, stride: 1,
 * padding: 0, output_padding: 0, dilation: 1, bias: true, init: xavier}.
 *
 * x[B][C][H][W] -> y[B][F][OH][OW] with OH = (H - 1) SH - 2 PH + DH (KH - 1) + OPH + 1, weight
 * [C][F][KH][KW] (PyTorch's layout; its output units are along axis 1), bias [F]. It runs the
 * convolution from y to x backwards (cl/conv2d.cl; K2 = KH*KW, N = B*H*W):
 *   xt[C][N] = chw^-1(x);  col[F*K2][N] = W^T xt;  y = col2im(col) + b
 *   dcol = im2col(dy);  dW[C][F*K2] = xt dcol^T;  dxt[C][N] = W dcol;  dx = chw(dxt);  db = sum dy
 */
#include <stdio.h>
#include <string.h>

#include "gemm.h"
#include "layer_conv2d.h"

enum { FILTERS, KERNEL, STRIDE = 3, PADDING = 5, OUT_PADDING = 7, DILATION = 9, BIAS = 11,
       INIT = 12 };

static const layer_key keys[] = {
    {"filters", KEY_INT, FILTERS, KEY_REQUIRED, 1, 1 << 16, 0},
    {"kernel", KEY_INT2, KERNEL, KEY_REQUIRED, 1, 1024, 0},
    {"stride", KEY_INT2, STRIDE, 0, 1, 1024, 1},
    {"padding", KEY_INT2, PADDING, 0, 0, 1024, 0},
    {"output_padding", KEY_INT2, OUT_PADDING, 0, 0, 1024, 0},
    {"dilation", KEY_INT2, DILATION, 0, 1, 1024, 1},
    {"bias", KEY_BOOL, BIAS, 0, 0, 1, 1},
    {"init", KEY_INIT, INIT, KEY_INIT_ONLY, 0, 0, 0},
};

enum { K_SUM = CONV_K_COUNT, K_BIAS };

#define ALIGN16(v) (((v) + 15) / 16 * 16)
#define V(i) ((int)L->v[i])

/* The convolution from y to x. */
static conv_geom geom(const layer_spec *L) {
    return (conv_geom){V(FILTERS),       L->out.h,         L->out.w,   V(KERNEL),
                       V(KERNEL + 1),    V(STRIDE),        V(STRIDE + 1), V(PADDING),
                       V(PADDING + 1),   V(DILATION),      V(DILATION + 1), L->in.h,
                       L->in.w};
}

static int convt_infer(layer_spec *L, char *why, size_t len) {
    if (layer_image_input(L, why, len) != 0) return -1;
    shape3 in = L->in;
    for (int a = 0; a < 2; a++)
        if (V(OUT_PADDING + a) >= V(STRIDE + a) && V(OUT_PADDING + a) >= V(DILATION + a)) {
            snprintf(why, len, "output_padding %d must be smaller than the stride (%d) or the "
                     "dilation (%d)", V(OUT_PADDING + a), V(STRIDE + a), V(DILATION + a));
            return -1;
        }
    long oh = (long)(in.h - 1) * V(STRIDE) - 2L * V(PADDING) + (long)V(DILATION) * (V(KERNEL) - 1) +
              V(OUT_PADDING) + 1,
         ow = (long)(in.w - 1) * V(STRIDE + 1) - 2L * V(PADDING + 1) +
              (long)V(DILATION + 1) * (V(KERNEL + 1) - 1) + V(OUT_PADDING + 1) + 1;
    if (oh < 1 || ow < 1 || oh > 1 << 16 || ow > 1 << 16) {
        snprintf(why, len, "the output would be %ldx%ld (input %dx%d, kernel %dx%d, stride %dx%d, "
                 "padding %dx%d)", oh, ow, in.h, in.w, V(KERNEL), V(KERNEL + 1), V(STRIDE),
                 V(STRIDE + 1), V(PADDING), V(PADDING + 1));
        return -1;
    }
    double k2 = (double)V(KERNEL) * V(KERNEL + 1), f = V(FILTERS), c = in.c,
           hw = (double)in.h * in.w;
    if (c * f * k2 > 2147483647.0 || (c + f * k2) * hw + 16 > 2147483647.0) {
        snprintf(why, len, "%.0f weights and %.0f column values per sample: more than one device "
                 "buffer holds (2^31 - 1 values)", c * f * k2, (c + f * k2) * hw);
        return -1;
    }
    L->out = (shape3){V(FILTERS), (int)oh, (int)ow, 1};
    conv_geom g = geom(L);
    /* col and xt, xt 16-aligned; then conv_dw's copies and sums */
    L->scratch = (long)((c + f * k2) * hw) + 16 + conv_dw_scratch(&g, in.c);
    /* the weight as conv_implicit packs it, and its zeros */
    L->fixed = conv_fixed(&g, in.c);
    L->flops = 2.0 * c * f * k2 * hw + (V(BIAS) ? f * (double)oh * ow : 0);
    return 0;
}

static int convt_params(const layer_spec *L, param_info *out) {
    long f = V(FILTERS), c = L->in.c, kh = V(KERNEL), kw = V(KERNEL + 1);
    /* fan-in and fan-out as PyTorch reckons them for this layout */
    out[0] = (param_info){"weight", 4, {c, f, kh, kw}, c * f * kh * kw, 1, (init_kind)L->v[INIT],
                          (float)L->v[INIT + 1], f * kh * kw, c * kh * kw, 1};
    if (!V(BIAS)) return 1;
    out[1] = (param_info){"bias", 1, {f}, f, 1, INIT_CONST, 0, 0, 0, -1};
    return 2;
}

static void convt_describe(const layer_spec *L, char *buf, size_t len) {
    char s[24] = "", p[24] = "", o[24] = "", d[24] = "";
    if (V(STRIDE) != 1 || V(STRIDE + 1) != 1)
        snprintf(s, sizeof s, V(STRIDE) == V(STRIDE + 1) ? " s%d" : " s%dx%d", V(STRIDE),
                 V(STRIDE + 1));
    if (V(PADDING) || V(PADDING + 1))
        snprintf(p, sizeof p, V(PADDING) == V(PADDING + 1) ? " p%d" : " p%dx%d", V(PADDING),
                 V(PADDING + 1));
    if (V(OUT_PADDING) || V(OUT_PADDING + 1))
        snprintf(o, sizeof o, " op%dx%d", V(OUT_PADDING), V(OUT_PADDING + 1));
    if (V(DILATION) != 1 || V(DILATION + 1) != 1)
        snprintf(d, sizeof d, " d%dx%d", V(DILATION), V(DILATION + 1));
    snprintf(buf, len, "%d %dx%d%s%s%s%s%s", V(FILTERS), V(KERNEL), V(KERNEL + 1), s, p, o, d,
             V(BIAS) ? "" : " nobias");
}

static int convt_gemms(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din,
                       int dw, gemm_shape *out) {
    conv_geom g = geom(L);
    conv_gemm_passes(dev, &g, L->in.c, &fwd, &din, &dw);
    size_t c = (size_t)L->in.c, fk = (size_t)V(FILTERS) * V(KERNEL) * V(KERNEL + 1),
           n = (size_t)rows * L->in.h * L->in.w;
    int i = 0;
    if (fwd) out[i++] = (gemm_shape){1, 0, fk, n, c};
    if (dw) out[i++] = (gemm_shape){0, 1, c, fk, n};
    if (din) out[i++] = (gemm_shape){0, 0, c, n, fk};
    return i;
}

static clgan_status convt_setup(net *n, layer *l) {
    conv_geom g = geom(l->spec);
    clgan_status st = conv_setup(n, l, &g, l->spec->in.c); /* the convolution it is the adjoint of */
    if (st == CLGAN_OK && l->n_params > 1)
        st = net_kernel(n, "cl/conv2d.cl", "channel_sum", &l->k[K_SUM]);
    if (st == CLGAN_OK && l->n_params > 1)
        st = net_kernel(n, "cl/conv2d.cl", "channel_bias", &l->k[K_BIAS]);
    return st;
}

static clgan_status convt_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    const layer_spec *L = l->spec;
    conv_geom g = geom(L);
    size_t c = (size_t)L->in.c, fk = (size_t)V(FILTERS) * g.KH * g.KW,
           hw = (size_t)L->in.h * L->in.w, cols = (size_t)batch * hw;
    size_t col = l->z.off, xt = l->z.off + ALIGN16(fk * cols);
    if (conv_implicit_on(l, &g))
        return conv_implicit(n, l, &g, (int)c, batch, 1, n->acts, l->x.off, n->acts, l->y.off,
                             n->params, l->param_off[0], n->acts,
                             l->n_params > 1 ? (long)l->param_off[1] : -1);
    clgan_status st = conv_from_chw(n, l, batch, (int)c, (int)hw, n->acts, l->x.off, n->acts, xt);
    if (st == CLGAN_OK)
        st = gemm(n->dev, 1, 0, fk, cols, c, 1.0f, n->params, l->param_off[0], fk, n->acts, xt,
                  cols, 0.0f, n->acts, col, cols);
    if (st == CLGAN_OK) st = conv_col2im(n, l, &g, batch, n->acts, col, n->acts, l->y.off, 0);
    if (st == CLGAN_OK && l->n_params > 1) {
        cl_uint yo = (cl_uint)l->y.off, bo = (cl_uint)l->param_off[1], b = (cl_uint)batch,
                f = (cl_uint)V(FILTERS), ohw = (cl_uint)(L->out.h * L->out.w);
        karg a[] = {KA(n->acts), KA(yo), KA(n->params), KA(bo), KA(b), KA(f), KA(ohw)};
        st = device_set_args(n->dev, l->k[K_BIAS], "channel_bias", a, 7);
        if (st == CLGAN_OK)
            st = device_run2d(n->dev, l->k[K_BIAS], f, (size_t)batch, "channel_bias");
    }
    return st;
}

static clgan_status convt_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    const layer_spec *L = l->spec;
    conv_geom g = geom(L);
    size_t c = (size_t)L->in.c, fk = (size_t)V(FILTERS) * g.KH * g.KW,
           hw = (size_t)L->in.h * L->in.w, cols = (size_t)batch * hw;
    size_t col = l->z.off, xt = l->z.off + ALIGN16(fk * cols); /* in acts; deltas alike */
    int dx_implicit = need_dx && conv_implicit_on(l, &g), dw_implicit = conv_dw_on(l, &g);
    clgan_status st = CLGAN_OK;
    if ((need_dw && !dw_implicit) || (need_dx && !dx_implicit))
        st = conv_im2col(n, l, &g, batch, n->deltas, l->dy.off, n->deltas, col);
    if (st == CLGAN_OK && need_dw && dw_implicit) {
        /* the grid is x, the image dy; the copies after col and xt in the deltas' scratch */
        st = conv_dw(n, l, &g, (int)c, batch, n->acts, l->x.off, n->deltas, l->dy.off, n->deltas,
                     xt + ALIGN16(c * cols), l->param_off[0]);
    } else if (st == CLGAN_OK && need_dw) {
        /* x channel-major: the forward pass wrote it unless it ran without a column matrix */
        if (conv_implicit_on(l, &g))
            st = conv_from_chw(n, l, batch, (int)c, (int)hw, n->acts, l->x.off, n->acts, xt);
        if (st == CLGAN_OK)
            st = gemm(n->dev, 0, 1, c, fk, cols, 1.0f, n->acts, xt, cols, n->deltas, col, cols,
                      0.0f, n->grads, l->param_off[0], fk);
    }
    if (st == CLGAN_OK && need_dw) {
        if (st == CLGAN_OK && l->n_params > 1)
            st = conv_channel_sum(n, l->k[K_SUM], batch, V(FILTERS), L->out.h * L->out.w,
                                  l->dy.off, l->param_off[1]);
    }
    if (st == CLGAN_OK && dx_implicit)
        return conv_implicit(n, l, &g, (int)c, batch, 0, n->deltas, l->dy.off, n->deltas,
                             l->dx.off, n->params, l->param_off[0], n->deltas, -1);
    if (st == CLGAN_OK && need_dx) {
        st = gemm(n->dev, 0, 0, c, cols, fk, 1.0f, n->params, l->param_off[0], fk, n->deltas, col,
                  cols, 0.0f, n->deltas, xt, cols);
        if (st == CLGAN_OK)
            st = conv_to_chw(n, l, batch, (int)c, (int)hw, n->deltas, xt, n->deltas, l->dx.off,
                             -1);
    }
    return st;
}

/* y[b][f][iy*SH - PH + i*DH][ix*SW - PW + j*DW] += W[c][f][i][j] x[b][c][iy][ix]. */
static void convt_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                       int batch, const host_ctx *hc) {
    (void)hc;
    conv_geom g = geom(L);
    int C = L->in.c, F = V(FILTERS), H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    const double *w = p[0];
    for (int b = 0; b < batch; b++) {
        double *yb = y + (size_t)b * F * OH * OW;
        for (int f = 0; f < F; f++)
            for (int q = 0; q < OH * OW; q++) yb[(size_t)f * OH * OW + q] = V(BIAS) ? p[1][f] : 0;
        for (int c = 0; c < C; c++)
            for (int iy = 0; iy < H; iy++)
                for (int ix = 0; ix < W; ix++) {
                    double xv = x[(((size_t)b * C + c) * H + iy) * W + ix];
                    for (int f = 0; f < F; f++)
                        for (int i = 0; i < g.KH; i++)
                            for (int j = 0; j < g.KW; j++) {
                                int oy = iy * g.SH - g.PH + i * g.DH, ox = ix * g.SW - g.PW + j * g.DW;
                                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                                yb[((size_t)f * OH + oy) * OW + ox] +=
                                    w[(((size_t)c * F + f) * g.KH + i) * g.KW + j] * xv;
                            }
                }
    }
}

const layer_class layer_conv_transpose2d = {
    .name = "conv_transpose2d",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = convt_infer,
    .params = convt_params,
    .describe = convt_describe,
    .gemms = convt_gemms,
    .ops = {convt_setup, convt_forward, convt_backward},
    .host_forward = convt_host,
};
