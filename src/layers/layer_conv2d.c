/*
 * layer_conv2d.c - 2-D convolutions: {type: conv2d, filters: F, kernel: K or [KH, KW],
 * stride: 1, padding: 0 | [PH, PW] | same, dilation: 1, bias: true, init: xavier}.
 *
 * x[B][C][H][W] -> y[B][F][OH][OW], weight [F][C][KH][KW] (PyTorch's layout), bias [F]; with
 * explicit padding OH = (H + 2 PH - DH (KH - 1) - 1) / SH + 1 (as PyTorch); with `same`,
 * OH = ceil(H / SH) and the padding that takes, the odd one at the bottom (as TensorFlow).
 *
 * As GEMMs over the whole batch (one launch each, K = C*KH*KW, N = B*OH*OW):
 *   col[K][N] = im2col(x);  t[F][N] = W[F][K] col;  y = chw(t) + b
 *   dt = chw^-1(dy);  dW[F][K] = dt col^T;  db = sum dy;  dcol[K][N] = W^T dt;  dx = col2im(dcol)
 * col and t live in the layer's scratch slot (their gradients in its delta slot).
 * spectral_norm: true divides W by its largest singular value as [F][C KH KW] (spectral.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "layer_conv2d.h"
#include "spectral.h"

enum { FILTERS, KERNEL, STRIDE = 3, PADDING = 5, DILATION = 7, BIAS = 9, INIT = 10,
       PAD_T = 12, PAD_L = 13 /* the padding `same` resolves to (set by infer) */, SPECTRAL = 14 };

static const layer_key keys[] = {
    {"filters", KEY_INT, FILTERS, KEY_REQUIRED, 1, 1 << 16, 0},
    {"kernel", KEY_INT2, KERNEL, KEY_REQUIRED, 1, 1024, 0},
    {"stride", KEY_INT2, STRIDE, 0, 1, 1024, 1},
    {"padding", KEY_INT2, PADDING, KEY_SAME, 0, 1024, 0},
    {"dilation", KEY_INT2, DILATION, 0, 1, 1024, 1},
    {"bias", KEY_BOOL, BIAS, 0, 0, 1, 1},
    {"init", KEY_INIT, INIT, KEY_INIT_ONLY, 0, 0, 0},
    {"spectral_norm", KEY_BOOL, SPECTRAL, KEY_SPARSE, 0, 1, 0},
};

enum { K_SUM = CONV_K_COUNT, K_SN }; /* after conv_setup's; spectral norm's four */

#define ALIGN16(v) (((v) + 15) / 16 * 16)
#define V(i) ((int)L->v[i])

static conv_geom geom(const layer_spec *L) {
    return (conv_geom){L->in.c,    L->in.h,     L->in.w,     V(KERNEL),   V(KERNEL + 1),
                       V(STRIDE),  V(STRIDE + 1), V(PAD_T),  V(PAD_L),    V(DILATION),
                       V(DILATION + 1), L->out.h, L->out.w};
}

/* The output size along one axis, and the leading padding; -1 if the kernel does not fit. */
static int out_size(int in, int k, int s, int p, int d, int *pad) {
    int eff = d * (k - 1) + 1;
    if (p < 0) { /* same */
        int out = (in + s - 1) / s, total = (out - 1) * s + eff - in;
        *pad = total > 0 ? total / 2 : 0;
        return out;
    }
    *pad = p;
    if (eff > in + 2 * p) return -1;
    return (in + 2 * p - eff) / s + 1;
}

static int conv_infer(layer_spec *L, char *why, size_t len) {
    if (layer_image_input(L, why, len) != 0) return -1;
    shape3 in = L->in;
    int pt, pl, oh = out_size(in.h, V(KERNEL), V(STRIDE), V(PADDING), V(DILATION), &pt),
        ow = out_size(in.w, V(KERNEL + 1), V(STRIDE + 1), V(PADDING + 1), V(DILATION + 1), &pl);
    if (oh < 1 || ow < 1) {
        snprintf(why, len, "kernel %dx%d (dilation %dx%d) is larger than the padded input %dx%d "
                 "(input %dx%d, padding %dx%d)", V(KERNEL), V(KERNEL + 1), V(DILATION),
                 V(DILATION + 1), in.h + 2 * V(PADDING), in.w + 2 * V(PADDING + 1), in.h, in.w,
                 V(PADDING), V(PADDING + 1));
        return -1;
    }
    double k = (double)in.c * V(KERNEL) * V(KERNEL + 1), ohw = (double)oh * ow, f = V(FILTERS);
    if (k * f > 2147483647.0 || (k + f) * ohw + 16 > 2147483647.0) {
        snprintf(why, len, "%.0f weights and %.0f column values per sample: more than one device "
                 "buffer holds (2^31 - 1 values)", k * f, (k + f) * ohw);
        return -1;
    }
    L->v[PAD_T] = pt;
    L->v[PAD_L] = pl;
    L->out = (shape3){V(FILTERS), oh, ow, 1};
    conv_geom g = geom(L);
    /* col and t, t 16-aligned; then conv_dw's copies and sums */
    L->scratch = (long)((k + f) * ohw) + 16 + conv_dw_scratch(&g, (int)f);
    /* W_sn (F x C KH KW) and the weight as conv_implicit packs it */
    L->fixed = (V(SPECTRAL) ? spectral_fixed((long)f, (long)k) : 0) + conv_fixed(&g, (int)f);
    L->flops = 2.0 * f * ohw * k + (V(BIAS) ? f * ohw : 0);
    return 0;
}

static int conv_params(const layer_spec *L, param_info *out) {
    long f = V(FILTERS), c = L->in.c, kh = V(KERNEL), kw = V(KERNEL + 1);
    out[0] = (param_info){"weight", 4, {f, c, kh, kw}, f * c * kh * kw, 1, (init_kind)L->v[INIT],
                          (float)L->v[INIT + 1], c * kh * kw, f * kh * kw, 0};
    int np = 1;
    if (V(BIAS)) out[np++] = (param_info){"bias", 1, {f}, f, 1, INIT_CONST, 0, 0, 0, -1};
    if (V(SPECTRAL)) np += spectral_params(f, c * kh * kw, out + np);
    return np;
}

/* "F KHxKW" and what differs from the defaults: " s2", " p1" (or " same"), " d2", " nobias". */
static void pair(char *buf, size_t len, const char *tag, int a, int b) {
    if (a == b) snprintf(buf, len, " %s%d", tag, a);
    else snprintf(buf, len, " %s%dx%d", tag, a, b);
}

static void conv_describe(const layer_spec *L, char *buf, size_t len) {
    char s[32] = "", p[32] = "", d[32] = "";
    if (V(STRIDE) != 1 || V(STRIDE + 1) != 1) pair(s, sizeof s, "s", V(STRIDE), V(STRIDE + 1));
    if (V(PADDING) < 0) snprintf(p, sizeof p, " same");
    else if (V(PADDING) || V(PADDING + 1)) pair(p, sizeof p, "p", V(PADDING), V(PADDING + 1));
    if (V(DILATION) != 1 || V(DILATION + 1) != 1)
        pair(d, sizeof d, "d", V(DILATION), V(DILATION + 1));
    snprintf(buf, len, "%d %dx%d%s%s%s%s%s", V(FILTERS), V(KERNEL), V(KERNEL + 1), s, p, d,
             V(BIAS) ? "" : " nobias", V(SPECTRAL) ? " sn" : "");
}

static int conv_gemms(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din,
                      int dw, gemm_shape *out) {
    conv_geom g = geom(L);
    conv_gemm_passes(dev, &g, V(FILTERS), &fwd, &din, &dw);
    size_t f = (size_t)V(FILTERS), k = (size_t)L->in.c * V(KERNEL) * V(KERNEL + 1),
           n = (size_t)rows * L->out.h * L->out.w;
    int i = 0;
    if (fwd) out[i++] = (gemm_shape){0, 0, f, n, k};
    if (dw) out[i++] = (gemm_shape){0, 1, f, k, n};
    if (din) out[i++] = (gemm_shape){1, 0, k, n, f};
    return i;
}

/* ---- the kernels both convolutions use ----------------------------------------------------- */

int conv_route(const clgan_device *dev, const conv_geom *g, int n_out) {
    if (dev->conv_path != CONV_AUTO) return dev->conv_path;
    int cpu = strcmp(dev->info.type, "CPU") == 0;
    return cpu && g->SH == 1 && g->SW == 1 && g->C >= 16 && n_out >= 16 ? CONV_IMPLICIT
                                                                          : CONV_COLUMNS;
}

clgan_status conv_setup(net *n, layer *l, const conv_geom *g, int n_out) {
    static const char *const names[CONV_K_COUNT] = {
        "im2col",    "col2im",   "chw_from_cbhw", "cbhw_from_chw", "conv_pack",
        "conv_gemm", "conv_pad", "conv_dw",       "conv_dw_sum"};
    clgan_status st = CLGAN_OK;
    /* the implicit route's kernels only where it runs: rusticl compiles each kernel as it is
     * created, conv_gemm's tiles for minutes */
    int count = conv_route(n->dev, g, n_out) == CONV_IMPLICIT ? CONV_K_COUNT : CONV_K_PACK;
    for (int i = 0; i < count && st == CLGAN_OK; i++)
        st = net_kernel(n, "cl/conv2d.cl", names[i], &l->k[i]);
    return st;
}

/* conv_fixed's parts: the packed weight's values and the zeros' */
static void fixed_parts(const conv_geom *g, int n_out, long *weight, long *zeros) {
    long image = (long)g->C * g->H * g->W, grid = (long)n_out * g->OH * g->OW;
    *weight = (long)n_out * g->C * g->KH * g->KW;
    *zeros = image > grid ? image : grid;
}

long conv_fixed(const conv_geom *g, int n_out) {
    long weight, zeros;
    fixed_parts(g, n_out, &weight, &zeros);
    return ALIGN16(weight) + ALIGN16(zeros) + 16;
}

int conv_implicit_on(const layer *l, const conv_geom *g) {
    /* set up for it (conv_setup); conv_gemm keeps a row's source coordinates in 15 bits each */
    return l->k[CONV_K_GEMM] && g->H < 32768 && g->W < 32768 && g->OH < 32768 && g->OW < 32768;
}

#define CONV_TM 8 /* rows per work-item: cl/conv2d.cl's CONV_TM */

clgan_status conv_implicit(net *n, layer *l, const conv_geom *g, int n_out, int batch,
                           int against, cl_mem src, size_t s_off, cl_mem dst, size_t d_off,
                           cl_mem w, size_t w_off, cl_mem pack_buf, long b_off) {
    const layer_spec *L = l->spec;
    long weight, zeros, image = (long)g->C * g->H * g->W, grid = (long)n_out * g->OH * g->OW;
    fixed_parts(g, n_out, &weight, &zeros);
    /* 16-aligned, so that conv_gemm's rows of 16 weights are whole cache lines */
    size_t pack_off = ALIGN16(l->z.off + (size_t)n->capacity * (size_t)L->scratch +
                              (size_t)L->fixed - (size_t)conv_fixed(g, n_out));
    cl_uint wo = (cl_uint)w_off, po = (cl_uint)pack_off, f = (cl_uint)n_out, c = (cl_uint)g->C,
            t = (cl_uint)(g->KH * g->KW), ag = (cl_uint)against,
            zo = (cl_uint)(pack_off + ALIGN16((size_t)weight)),
            nz = (cl_uint)(against ? grid : image);
    karg pa[] = {KA(w), KA(wo), KA(pack_buf), KA(po), KA(f), KA(c), KA(t), KA(ag), KA(zo), KA(nz)};
    clgan_status st = device_set_args(n->dev, l->k[CONV_K_PACK], "conv_pack", pa, 10);
    if (st == CLGAN_OK)
        st = device_run1d(n->dev, l->k[CONV_K_PACK], (size_t)(f * c * t > nz ? f * c * t : nz),
                          "conv_pack");
    /* the grid side and the image side as conv_gemm's source and destination */
    cl_int8 io = {{batch, g->C, g->H, g->W, n_out, g->OH, g->OW, 0}};
    if (against) io = (cl_int8){{batch, n_out, g->OH, g->OW, g->C, g->H, g->W, 0}};
    cl_uint so = (cl_uint)s_off, dof = (cl_uint)d_off, bo = b_off < 0 ? 0 : (cl_uint)b_off,
            has = b_off >= 0;
    /* each launch's share of the pass's multiply-adds, by its rows, for the profile */
    double flops = 2.0 * batch * g->OH * g->OW * n_out * g->C * g->KH * g->KW,
           all_rows = (double)batch * (against ? g->H * g->W : g->OH * g->OW);
    const size_t local[2] = {1, 1}; /* PoCL's CPU devices: one item per group runs fastest */
    char name[96]; /* for the profile: source -> destination channels, destination pixels */
    snprintf(name, sizeof name, "conv_gemm %d->%d %dx%d%s", io.s[1], io.s[4], io.s[5], io.s[6],
             against ? " adjoint" : "");
    n->dev->gemm_flops += flops;
    int cpu = strcmp(n->dev->info.type, "CPU") == 0;
    int phases_y = against ? g->SH : 1, phases_x = against ? g->SW : 1;
    for (int py = 0; py < phases_y && st == CLGAN_OK; py++)
        for (int px = 0; px < phases_x && st == CLGAN_OK; px++) {
            cl_int8 gy = {{g->KH, g->OH, 1, 0, g->SH, -g->PH, g->DH, 1}},
                    gx = {{g->KW, g->OW, 1, 0, g->SW, -g->PW, g->DW, 1}};
            if (against) { /* the image's pixels (qy SH + py, qx SW + px): one phase */
                gy = (cl_int8){{g->KH, (g->H - py + g->SH - 1) / g->SH, g->SH, py, 1, py + g->PH,
                                -g->DH, g->SH}};
                gx = (cl_int8){{g->KW, (g->W - px + g->SW - 1) / g->SW, g->SW, px, 1, px + g->PW,
                                -g->DW, g->SW}};
            }
            size_t rows = (size_t)batch * (size_t)gy.s[1] * (size_t)gx.s[1];
            if (rows == 0) continue;
            size_t global[2] = {(rows + CONV_TM - 1) / CONV_TM, ((size_t)io.s[4] + 31) / 32};
            karg a[] = {KA(src), KA(so), KA(zo), KA(dst), KA(dof), KA(pack_buf), KA(po),
                        KA(n->params), KA(bo), KA(has), KA(io), KA(gy), KA(gx)};
            st = device_set_args(n->dev, l->k[CONV_K_GEMM], "conv_gemm", a, 13);
            if (st == CLGAN_OK)
                st = device_run_nd(n->dev, l->k[CONV_K_GEMM], 2, global, cpu ? local : NULL,
                                   name, flops * (double)rows / all_rows);
        }
    return st;
}

static clgan_status geom_kernel(net *n, cl_kernel k, const char *name, const conv_geom *g,
                                int batch, cl_mem src, size_t s_off, cl_mem dst, size_t d_off,
                                int accumulate, int with_acc, size_t *global, cl_uint dims) {
    cl_uint so = (cl_uint)s_off, dof = (cl_uint)d_off, b = (cl_uint)batch, acc = (cl_uint)accumulate;
    cl_uint v[14] = {(cl_uint)g->C,  (cl_uint)g->H,  (cl_uint)g->W,  (cl_uint)g->KH, (cl_uint)g->KW,
                     (cl_uint)g->SH, (cl_uint)g->SW, (cl_uint)g->PH, (cl_uint)g->PW, (cl_uint)g->DH,
                     (cl_uint)g->DW, (cl_uint)g->OH, (cl_uint)g->OW, acc};
    karg a[19] = {KA(src), KA(so), KA(dst), KA(dof), KA(b)};
    for (int i = 0; i < 14; i++) a[5 + i] = KA(v[i]);
    clgan_status st = device_set_args(n->dev, k, name, a, with_acc ? 19 : 18);
    if (st != CLGAN_OK) return st;
    return device_run_nd(n->dev, k, dims, global, NULL, name, 0);
}

/* conv_dw's padded sizes: planes Hp x Wp of the image, grid rows of OWr, filters Fp; the
 * samples each work-item sums (fewer partial sums to add: 64 samples took conv_dw_sum 13 ms of
 * sngan_fashion's iteration, chunks of 8 0.5 ms) */
typedef struct dw_dims {
    cl_uint Hp, Wp, OWr, Fp, T;
} dw_dims;
#define DW_ROWS 8

static dw_dims dw_dims_of(const conv_geom *g, int n_out) {
    cl_uint owr = (cl_uint)ALIGN16(g->OW), kwr = (cl_uint)((g->KW + 2) / 3 * 3);
    return (dw_dims){(cl_uint)(g->OH + (g->KH - 1) * g->DH), owr + (kwr - 1) * (cl_uint)g->DW,
                     owr, (cl_uint)((n_out + 3) / 4 * 4), (cl_uint)(g->KH * g->KW)};
}

/* conv_dw's geometries: stride 1 */
static int dw_fits(const conv_geom *g) {
    return g->SH == 1 && g->SW == 1;
}

long conv_dw_scratch(const conv_geom *g, int n_out) {
    if (!dw_fits(g)) return 0;
    dw_dims d = dw_dims_of(g, n_out);
    return (long)g->C * d.Hp * d.Wp + (long)d.Fp * g->OH * d.OWr + (long)n_out * g->C * d.T + 48;
}

int conv_dw_on(const layer *l, const conv_geom *g) {
    return conv_implicit_on(l, g) && dw_fits(g);
}

void conv_gemm_passes(const clgan_device *dev, const conv_geom *g, int n_out, int *fwd, int *din,
                      int *dw) {
    if (conv_route(dev, g, n_out) != CONV_IMPLICIT) return;
    *fwd = *din = 0;
    if (dw_fits(g)) *dw = 0;
}

clgan_status conv_dw(net *n, layer *l, const conv_geom *g, int n_out, int batch, cl_mem gbuf,
                     size_t g_off, cl_mem ibuf, size_t i_off, cl_mem sbuf, size_t s_off,
                     size_t w_off) {
    dw_dims d = dw_dims_of(g, n_out);
    cl_uint B = (cl_uint)batch, C = (cl_uint)g->C, F = (cl_uint)n_out, OH = (cl_uint)g->OH,
            OW = (cl_uint)g->OW, H = (cl_uint)g->H, W = (cl_uint)g->W, KH = (cl_uint)g->KH,
            KW = (cl_uint)g->KW, DH = (cl_uint)g->DH, DW = (cl_uint)g->DW, PH = (cl_uint)g->PH,
            PW = (cl_uint)g->PW, zero = 0, n_w = F * C * d.T;
    size_t img = s_off, grid = img + ALIGN16((size_t)B * C * d.Hp * d.Wp),
           part = grid + ALIGN16((size_t)B * d.Fp * OH * d.OWr);
    cl_uint so = (cl_uint)i_off, io = (cl_uint)img, go = (cl_uint)g_off, gpo = (cl_uint)grid,
            po = (cl_uint)part, wo = (cl_uint)w_off;
    karg a[] = {KA(ibuf), KA(so), KA(sbuf), KA(io), KA(B), KA(C), KA(C), KA(H), KA(W),
                KA(d.Hp), KA(d.Wp), KA(PH), KA(PW)};
    clgan_status st = device_set_args(n->dev, l->k[CONV_K_PAD], "conv_pad", a, 13);
    if (st == CLGAN_OK) st = device_run2d(n->dev, l->k[CONV_K_PAD], d.Hp, (size_t)B * C, "conv_pad");
    karg b[] = {KA(gbuf), KA(go), KA(sbuf), KA(gpo), KA(B), KA(F), KA(d.Fp), KA(OH), KA(OW),
                KA(OH), KA(d.OWr), KA(zero), KA(zero)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[CONV_K_PAD], "conv_pad", b, 13);
    if (st == CLGAN_OK)
        st = device_run2d(n->dev, l->k[CONV_K_PAD], OH, (size_t)B * d.Fp, "conv_pad");
    cl_uint R = DW_ROWS;
    karg c[] = {KA(sbuf), KA(gpo), KA(sbuf), KA(io), KA(sbuf),  KA(po), KA(B),
                KA(R),    KA(F),   KA(d.Fp), KA(C),  KA(OH),    KA(d.OWr), KA(d.Hp),
                KA(d.Wp), KA(KH),  KA(KW),   KA(DH), KA(DW)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[CONV_K_DW], "conv_dw", c, 19);
    cl_uint chunks = (B + DW_ROWS - 1) / DW_ROWS;
    size_t global[3] = {(size_t)C * KH * ((KW + 2) / 3), d.Fp / 4, chunks};
    /* the weight gradient's FLOPs: 2 per grid pixel, filter and weight column */
    double flops = 2.0 * B * OH * OW * (double)n_w;
    if (st == CLGAN_OK)
        st = device_run_nd(n->dev, l->k[CONV_K_DW], 3, global, NULL, "conv_dw", flops);
    karg s[] = {KA(sbuf), KA(po), KA(n->grads), KA(wo), KA(chunks), KA(n_w)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[CONV_K_DW_SUM], "conv_dw_sum", s, 6);
    if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[CONV_K_DW_SUM], n_w, "conv_dw_sum");
    return st;
}

clgan_status conv_im2col(net *n, layer *l, const conv_geom *g, int batch, cl_mem src,
                         size_t x_off, cl_mem dst, size_t col_off) {
    size_t global[2] = {(size_t)batch, (size_t)g->C * g->KH * g->KW};
    return geom_kernel(n, l->k[CONV_K_IM2COL], "im2col", g, batch, src, x_off, dst, col_off, 0,
                       0, global, 2);
}

clgan_status conv_col2im(net *n, layer *l, const conv_geom *g, int batch, cl_mem src,
                         size_t col_off, cl_mem dst, size_t x_off, int accumulate) {
    size_t global[1] = {(size_t)batch * g->C};
    return geom_kernel(n, l->k[CONV_K_COL2IM], "col2im", g, batch, src, col_off, dst, x_off,
                       accumulate, 1, global, 1);
}

clgan_status conv_to_chw(net *n, layer *l, int batch, int C, int HW, cl_mem src, size_t t_off,
                         cl_mem dst, size_t y_off, long b_off) {
    cl_uint to = (cl_uint)t_off, yo = (cl_uint)y_off, bo = b_off < 0 ? 0 : (cl_uint)b_off,
            has = b_off >= 0, b = (cl_uint)batch, c = (cl_uint)C, hw = (cl_uint)HW;
    karg a[] = {KA(src), KA(to), KA(dst), KA(yo), KA(n->params), KA(bo), KA(has),
                KA(b),   KA(c),  KA(hw)};
    clgan_status st = device_set_args(n->dev, l->k[CONV_K_TO_CHW], "chw_from_cbhw", a, 10);
    if (st != CLGAN_OK) return st;
    return device_run2d(n->dev, l->k[CONV_K_TO_CHW], (size_t)C, (size_t)batch, "chw_from_cbhw");
}

clgan_status conv_from_chw(net *n, layer *l, int batch, int C, int HW, cl_mem src, size_t y_off,
                           cl_mem dst, size_t t_off) {
    cl_uint yo = (cl_uint)y_off, to = (cl_uint)t_off, b = (cl_uint)batch, c = (cl_uint)C,
            hw = (cl_uint)HW;
    karg a[] = {KA(src), KA(yo), KA(dst), KA(to), KA(b), KA(c), KA(hw)};
    clgan_status st = device_set_args(n->dev, l->k[CONV_K_FROM_CHW], "cbhw_from_chw", a, 7);
    if (st != CLGAN_OK) return st;
    return device_run2d(n->dev, l->k[CONV_K_FROM_CHW], (size_t)C, (size_t)batch,
                        "cbhw_from_chw");
}

clgan_status conv_channel_sum(net *n, cl_kernel k, int batch, int C, int HW, size_t dy_off,
                              size_t b_off) {
    cl_uint dyo = (cl_uint)dy_off, bo = (cl_uint)b_off, b = (cl_uint)batch, c = (cl_uint)C,
            hw = (cl_uint)HW;
    karg a[] = {KA(n->deltas), KA(dyo), KA(n->grads), KA(bo), KA(b), KA(c), KA(hw)};
    clgan_status st = device_set_args(n->dev, k, "channel_sum", a, 7);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, k, (size_t)C, "channel_sum");
}

void conv_host(const conv_geom *g, int n_out, const double *w, const double *bias,
               const double *x, double *y, int batch) {
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < n_out; o++)
            for (int oy = 0; oy < g->OH; oy++)
                for (int ox = 0; ox < g->OW; ox++) {
                    double s = bias ? bias[o] : 0;
                    for (int c = 0; c < g->C; c++)
                        for (int i = 0; i < g->KH; i++)
                            for (int j = 0; j < g->KW; j++) {
                                int iy = oy * g->SH - g->PH + i * g->DH,
                                    ix = ox * g->SW - g->PW + j * g->DW;
                                if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) continue;
                                s += w[((o * g->C + c) * g->KH + i) * g->KW + j] *
                                     x[(((size_t)b * g->C + c) * g->H + iy) * g->W + ix];
                            }
                    y[(((size_t)b * n_out + o) * g->OH + oy) * g->OW + ox] = s;
                }
}

/* ---- conv2d itself ------------------------------------------------------------------------- */

static clgan_status conv2d_setup(net *n, layer *l) {
    const layer_spec *L = l->spec;
    conv_geom g = geom(L);
    clgan_status st = conv_setup(n, l, &g, (int)V(FILTERS));
    if (st == CLGAN_OK && V(BIAS))
        st = net_kernel(n, "cl/conv2d.cl", "channel_sum", &l->k[K_SUM]);
    if (st == CLGAN_OK && V(SPECTRAL)) /* u and v after the weight (and the bias) */
        st = spectral_setup(n, l, K_SN, V(BIAS) ? 2 : 1, V(FILTERS),
                            (long)L->in.c * V(KERNEL) * V(KERNEL + 1));
    return st;
}

static clgan_status conv2d_forward(net *n, layer *l, int batch, int train) {
    const layer_spec *L = l->spec;
    conv_geom g = geom(L);
    size_t f = (size_t)V(FILTERS), k = (size_t)g.C * g.KH * g.KW, cols = (size_t)batch * g.OH * g.OW;
    size_t col = l->z.off, t = l->z.off + ALIGN16(k * cols);
    /* a tangent pass: the weight of the latest forward pass, no bias; its column matrix and
     * product go to the tangents' scratch */
    clgan_status st = l->sn_rows && !n->tangent ? spectral_forward(n, l, train) : CLGAN_OK;
    long b_off = V(BIAS) && !n->tangent ? (long)l->param_off[1] : -1;
    if (st == CLGAN_OK && conv_implicit_on(l, &g))
        return conv_implicit(n, l, &g, (int)f, batch, 0, n->acts, l->x.off, n->acts, l->y.off,
                             layer_weight_buf(n, l), layer_weight_off(l), n->acts, b_off);
    if (st == CLGAN_OK) st = conv_im2col(n, l, &g, batch, n->acts, l->x.off, n->acts, col);
    if (st == CLGAN_OK)
        st = gemm(n->dev, 0, 0, f, cols, k, 1.0f, layer_weight_buf(n, l), layer_weight_off(l), k,
                  n->acts, col, cols, 0.0f, n->acts, t, cols);
    if (st == CLGAN_OK)
        st = conv_to_chw(n, l, batch, (int)f, g.OH * g.OW, n->acts, t, n->acts, l->y.off, b_off);
    return st;
}

static clgan_status conv2d_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    const layer_spec *L = l->spec;
    conv_geom g = geom(L);
    size_t f = (size_t)V(FILTERS), k = (size_t)g.C * g.KH * g.KW, cols = (size_t)batch * g.OH * g.OW;
    size_t col = l->z.off, t = l->z.off + ALIGN16(k * cols); /* in acts; deltas alike */
    int dx_implicit = need_dx && conv_implicit_on(l, &g), dw_implicit = conv_dw_on(l, &g);
    clgan_status st = CLGAN_OK;
    if ((need_dw && !dw_implicit) || (need_dx && !dx_implicit))
        st = conv_from_chw(n, l, batch, (int)f, g.OH * g.OW, n->deltas, l->dy.off, n->deltas, t);
    if (st == CLGAN_OK && need_dw && dw_implicit) {
        /* the grid is dy, the image x; the copies after col and t in the deltas' scratch */
        st = conv_dw(n, l, &g, (int)f, batch, n->deltas, l->dy.off, n->acts, l->x.off, n->deltas,
                     t + ALIGN16(f * cols), l->param_off[0]);
    } else if (st == CLGAN_OK && need_dw) {
        /* the column matrix: the forward pass wrote it unless it ran without one */
        if (conv_implicit_on(l, &g))
            st = conv_im2col(n, l, &g, batch, n->acts, l->x.off, n->acts, col);
        if (st == CLGAN_OK)
            st = gemm(n->dev, 0, 1, f, k, cols, 1.0f, n->deltas, t, cols, n->acts, col, cols, 0.0f,
                      n->grads, l->param_off[0], k);
    }
    if (st == CLGAN_OK && need_dw) {
        if (st == CLGAN_OK && V(BIAS) && !n->tangent)
            st = conv_channel_sum(n, l->k[K_SUM], batch, (int)f, g.OH * g.OW, l->dy.off,
                                  l->param_off[1]);
        if (st == CLGAN_OK && l->sn_rows) st = spectral_backward(n, l);
    }
    if (st == CLGAN_OK && dx_implicit)
        return conv_implicit(n, l, &g, (int)f, batch, 1, n->deltas, l->dy.off, n->deltas,
                             l->dx.off, layer_weight_buf(n, l), layer_weight_off(l), n->deltas,
                             -1);
    if (st == CLGAN_OK && need_dx) {
        st = gemm(n->dev, 1, 0, k, cols, f, 1.0f, layer_weight_buf(n, l), layer_weight_off(l), k,
                  n->deltas, t, cols, 0.0f, n->deltas, col, cols);
        if (st == CLGAN_OK)
            st = conv_col2im(n, l, &g, batch, n->deltas, col, n->deltas, l->dx.off, 0);
    }
    return st;
}

static void conv2d_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                        int batch, const host_ctx *c) {
    conv_geom g = geom(L);
    if (!V(SPECTRAL)) {
        conv_host(&g, V(FILTERS), p[0], V(BIAS) ? p[1] : NULL, x, y, batch);
        return;
    }
    long rows = V(FILTERS), cols = (long)g.C * g.KH * g.KW;
    double *w = spectral_host_weight(p, V(BIAS) ? 2 : 1, rows, cols, c);
    conv_host(&g, V(FILTERS), w, V(BIAS) ? p[1] : NULL, x, y, batch);
    free(w);
}

const layer_class layer_conv2d = {
    .name = "conv2d",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = conv_infer,
    .params = conv_params,
    .describe = conv_describe,
    .gemms = conv_gemms,
    .ops = {conv2d_setup, conv2d_forward, conv2d_backward},
    .host_forward = conv2d_host,
    .tangent = 1,
};
