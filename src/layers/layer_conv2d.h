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

/* Kernels of cl/conv2d.cl a conv layer uses, by these indexes into l->k. */
enum { CONV_K_IM2COL, CONV_K_COL2IM, CONV_K_TO_CHW, CONV_K_FROM_CHW };
/* Creates the four kernels above (channel sums use CONV_K_... of the caller, see below). */
clgan_status conv_setup(net *n, layer *l);
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
