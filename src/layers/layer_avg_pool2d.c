/*
 * layer_avg_pool2d.c - average pooling: {type: avg_pool2d, kernel: 2, stride: S, padding: P}.
 * x[B][C][H][W] -> y[B][C][OH][OW], OH = (H + 2P - KH) / S + 1; each output the mean of its
 * window, zero padding counted (PyTorch's default, count_include_pad). Stride 0 (the default)
 * is the kernel's size: windows that tile the image, as SNGAN's down-blocks pool
 * (cl/pool.cl).
 */
#include <stdio.h>

#include "graph.h"

enum { KERNEL, STRIDE = 2, PADDING = 4 };

static const layer_key keys[] = {
    {"kernel", KEY_INT2, KERNEL, KEY_REQUIRED, 1, 1024, 0},
    {"stride", KEY_INT2, STRIDE, 0, 0, 1024, 0},
    {"padding", KEY_INT2, PADDING, 0, 0, 1024, 0},
};

enum { K_FWD, K_BWD };

#define KH(L) ((int)(L)->v[KERNEL])
#define KW(L) ((int)(L)->v[KERNEL + 1])
#define SH(L) ((L)->v[STRIDE] > 0 ? (int)(L)->v[STRIDE] : KH(L))
#define SW(L) ((L)->v[STRIDE + 1] > 0 ? (int)(L)->v[STRIDE + 1] : KW(L))
#define PH(L) ((int)(L)->v[PADDING])
#define PW(L) ((int)(L)->v[PADDING + 1])

static int pool_infer(layer_spec *L, char *why, size_t len) {
    if (layer_image_input(L, why, len) != 0) return -1;
    if (PH(L) >= KH(L) || PW(L) >= KW(L)) {
        snprintf(why, len, "padding %dx%d is not smaller than the kernel %dx%d: some windows "
                 "would hold padding alone", PH(L), PW(L), KH(L), KW(L));
        return -1;
    }
    int eh = L->in.h + 2 * PH(L) - KH(L), ew = L->in.w + 2 * PW(L) - KW(L);
    if (eh < 0 || ew < 0) {
        snprintf(why, len, "the %dx%d kernel is larger than the %dx%d input (padding %dx%d)",
                 KH(L), KW(L), L->in.h, L->in.w, PH(L), PW(L));
        return -1;
    }
    L->out = (shape3){L->in.c, eh / SH(L) + 1, ew / SW(L) + 1, 1};
    L->flops = (double)shape_size(L->out) * KH(L) * KW(L);
    return 0;
}

static void pool_describe(const layer_spec *L, char *buf, size_t len) {
    int n = snprintf(buf, len, "%dx%d", KH(L), KW(L));
    if ((SH(L) != KH(L) || SW(L) != KW(L)) && n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " s%d", SH(L));
    if ((PH(L) || PW(L)) && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " p%d", PH(L));
}

static clgan_status pool_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/pool.cl", "avg_pool_fwd", &l->k[K_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/pool.cl", "avg_pool_bwd", &l->k[K_BWD]);
    return st;
}

static clgan_status pool_run(net *n, layer *l, int batch, int fwd) {
    const layer_spec *L = l->spec;
    cl_uint src = (cl_uint)(fwd ? l->x.off : l->dy.off), dst = (cl_uint)(fwd ? l->y.off : l->dx.off),
            bc = (cl_uint)batch * L->in.c, h = (cl_uint)L->in.h, w = (cl_uint)L->in.w,
            oh = (cl_uint)L->out.h, ow = (cl_uint)L->out.w, kh = (cl_uint)KH(L),
            kw = (cl_uint)KW(L), sh = (cl_uint)SH(L), sw = (cl_uint)SW(L), ph = (cl_uint)PH(L),
            pw = (cl_uint)PW(L);
    cl_mem buf = fwd ? n->acts : n->deltas;
    karg a[] = {KA(buf), KA(src), KA(dst), KA(bc), KA(h),  KA(w),  KA(oh),
                KA(ow),  KA(kh),  KA(kw),  KA(sh), KA(sw), KA(ph), KA(pw)};
    const char *name = fwd ? "avg_pool_fwd" : "avg_pool_bwd";
    cl_kernel k = l->k[fwd ? K_FWD : K_BWD];
    clgan_status st = device_set_args(n->dev, k, name, a, (int)ARRAY_LEN(a));
    size_t rows = (size_t)batch * L->in.c * (size_t)(fwd ? L->out.h : L->in.h);
    return st == CLGAN_OK ? device_run1d(n->dev, k, rows, name) : st;
}

static clgan_status pool_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    return pool_run(n, l, batch, 1);
}

static clgan_status pool_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    return need_dx ? pool_run(n, l, batch, 0) : CLGAN_OK;
}

static void pool_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                      int batch, const host_ctx *c) {
    (void)p, (void)c;
    int H = L->in.h, W = L->in.w, OH = L->out.h, OW = L->out.w;
    for (long q = 0; q < (long)batch * L->in.c; q++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double s = 0;
                for (int a = 0; a < KH(L); a++)
                    for (int b = 0; b < KW(L); b++) {
                        int iy = oy * SH(L) + a - PH(L), ix = ox * SW(L) + b - PW(L);
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += x[(q * H + iy) * W + ix];
                    }
                y[(q * OH + oy) * OW + ox] = s / (KH(L) * KW(L));
            }
}

const layer_class layer_avg_pool2d = {
    .name = "avg_pool2d",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = pool_infer,
    .params = layer_no_params,
    .describe = pool_describe,
    .gemms = layer_no_gemms,
    .ops = {pool_setup, pool_forward, pool_backward},
    .host_forward = pool_host,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};
