/*
 * layer_conv2d.h - what 2-D convolutions and transposed convolutions share (layer_conv2d.c):
 * the geometry of a convolution from an image x[B][C][H][W] to an output grid OH x OW, and the
 * kernels of cl/conv2d.cl around their GEMMs. A transposed convolution runs the convolution
 * whose input is its output: the same geometry, with col2im where conv2d has im2col.
 */
#ifndef CLGAN_LAYER_CONV2D_H
#define CLGAN_LAYER_CONV2D_H

#include "graph.h"

typedef struct conv_geom {
    int C, H, W;    /* the image side: channels, height, width */
    int KH, KW, SH, SW, PH, PW, DH, DW; /* kernel, stride, padding (top, left), dilation */
    int OH, OW;     /* the grid side */
} conv_geom;

/* Kernels a conv layer uses, by these indexes into l->k (its own follow CONV_K_COUNT). */
enum { CONV_K_IM2COL, CONV_K_COL2IM, CONV_K_TO_CHW, CONV_K_FROM_CHW, CONV_K_PACK, CONV_K_GEMM,
       CONV_K_PAD, CONV_K_DW, CONV_K_DW_SUM, CONV_K_COUNT };
/*
 * The route of a convolution of geometry g with n_out filters on dev: CONV_COLUMNS or
 * CONV_IMPLICIT, dev->conv_path unless that is CONV_AUTO. Then, from measurements on the 2-core
 * CPU (docs/benchmarks.md): on CPU devices the implicit GEMM for stride 1 with 16 channels or more
 * on both sides (a column matrix of KH*KW values per pixel, and conv_gemm's 32-channel tiles at
 * least half used), the columns otherwise and on every other device (not measured there yet).
 */
int conv_route(const clgan_device *dev, const conv_geom *g, int n_out);
/* Creates the kernels above for the route of geometry g with n_out filters (CONV_K_PACK and
 * after only for the implicit one; channel sums use a kernel index of the caller). */
clgan_status conv_setup(net *n, layer *l, const conv_geom *g, int n_out);
/*
 * The fixed scratch conv_implicit needs for the convolution of geometry g with n_out filters
 * (add it to L->fixed): the weight packed, and the zeros it reads outside its source (the
 * larger of the image's and the grid's values per sample).
 */
long conv_fixed(const conv_geom *g, int n_out);
/* Whether the passes of layer l, of geometry g, run as conv_implicit: its route when it was set
 * up, where conv_gemm takes the geometry. */
int conv_implicit_on(const layer *l, const conv_geom *g);
/*
 * Without a column matrix (conv_gemm of cl/conv2d.cl): along the convolution of geometry g with
 * n_out filters, the grid dst[B][n_out][OH][OW] at d_off from the image src[B][C][H][W] at
 * s_off; against it, the image from the grid. The weight w[n_out][C][KH][KW] at w_off is packed
 * first into the last conv_fixed values of the layer's fixed scratch in pack_buf (n->acts or
 * n->deltas, the buffer src lies in: its zeros are read there); plus params[b_off + channel]
 * where b_off >= 0.
 */
clgan_status conv_implicit(net *n, layer *l, const conv_geom *g, int n_out, int batch,
                           int against, cl_mem src, size_t s_off, cl_mem dst, size_t d_off,
                           cl_mem w, size_t w_off, cl_mem pack_buf, long b_off);
/*
 * The per-sample scratch conv_dw needs for geometry g with n_out filters (add it to L->scratch;
 * 0 where it does not run: a stride other than 1).
 */
long conv_dw_scratch(const conv_geom *g, int n_out);
/* Whether layer l's weight gradient runs as conv_dw: the implicit route and stride 1. */
int conv_dw_on(const layer *l, const conv_geom *g);
/* Clears the flags of the passes (forward, input gradient, weight gradient) of the convolution
 * of geometry g with n_out filters that run no GEMM on dev: the GEMM tuner measures only those
 * that do (a layer's gemms hook). */
void conv_gemm_passes(const clgan_device *dev, const conv_geom *g, int n_out, int *fwd, int *din,
                      int *dw);
/*
 * The weight gradient of the convolution of geometry g with n_out filters, without a column
 * matrix (cl/conv2d.cl's conv_pad, conv_dw, conv_dw_sum): n->grads[w_off + (f C + c) KH KW + t]
 * = sum over rows and grid pixels of grid[b][f][p] times the image pixel tap t of p reads; the
 * grid [batch][n_out][OH][OW] at g_off in gbuf, the image [batch][C][H][W] at i_off in ibuf;
 * conv_dw_scratch(g, n_out) * batch values at s_off in sbuf for the padded copies and partial
 * sums.
 */
clgan_status conv_dw(net *n, layer *l, const conv_geom *g, int n_out, int batch, cl_mem gbuf,
                     size_t g_off, cl_mem ibuf, size_t i_off, cl_mem sbuf, size_t s_off,
                     size_t w_off);
/* col[C*KH*KW][batch*OH*OW] at col_off in dst from the image at x_off in src. */
clgan_status conv_im2col(net *n, layer *l, const conv_geom *g, int batch, cl_mem src,
                         size_t x_off, cl_mem dst, size_t col_off);
/* The image at x_off in dst (+)= col2im(col at col_off in src). */
clgan_status conv_col2im(net *n, layer *l, const conv_geom *g, int batch, cl_mem src,
                         size_t col_off, cl_mem dst, size_t x_off, int accumulate);
/* y[b][c][p] = t[c][b*HW + p] (+ bias at b_off of the parameters, b_off < 0: none). */
clgan_status conv_to_chw(net *n, layer *l, int batch, int C, int HW, cl_mem src, size_t t_off,
                         cl_mem dst, size_t y_off, long b_off);
/* t[c][b*HW + p] = y[b][c][p]. */
clgan_status conv_from_chw(net *n, layer *l, int batch, int C, int HW, cl_mem src, size_t y_off,
                           cl_mem dst, size_t t_off);
/* grads[b_off + c] = sum over rows and pixels of dy[b][c][.] (kernel k: channel_sum). */
clgan_status conv_channel_sum(net *n, cl_kernel k, int batch, int C, int HW, size_t dy_off,
                              size_t b_off);
/* Host reference: y[b][o][oy][ox] = sum_c,i,j w[o][c][i][j] x[b][c][..][..] (+ bias[o]), the
 * convolution from x (C x H x W) to y (n_out x OH x OW) of geometry g. */
void conv_host(const conv_geom *g, int n_out, const double *w, const double *bias,
               const double *x, double *y, int batch);

#endif /* CLGAN_LAYER_CONV2D_H */
