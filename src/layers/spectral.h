/*
 * spectral.h - spectral normalisation (Miyato et al. 2018) for layers with a weight matrix
 * (dense, conv2d: `spectral_norm: true`): not a layer kind but a part of those kinds' classes.
 * The weight (parameter 0) viewed as [rows][cols] is divided by its largest singular value,
 * estimated by one power iteration per training pass from persistent vectors u [rows] and
 * v [cols], two non-trainable parameters that checkpoints keep. cl/spectral.cl has the kernels;
 * the normalised weight lives in the layer's fixed scratch, its gradient goes back through
 * sigma with u and v held fixed, as Miyato et al. and PyTorch do.
 */
#ifndef CLGAN_SPECTRAL_H
#define CLGAN_SPECTRAL_H

#include "graph.h"

/* The two parameters u [rows] and v [cols] into out[0], out[1]; returns 2. */
int spectral_params(long rows, long cols, param_info *out);
/* Fixed scratch values the layer needs for it. */
long spectral_fixed(long rows, long cols);

/*
 * At setup: kernels into l->k[k0 .. k0 + 3] and the layout; u_param is the index of u in the
 * layer's parameter list (v follows), rows x cols the weight's matrix view.
 */
clgan_status spectral_setup(net *n, layer *l, int k0, int u_param, long rows, long cols);
/* Enqueues the power iteration (train) or sigma alone, and W_sn = W / sigma. */
clgan_status spectral_forward(net *n, layer *l, int train);
/* Where the layer's products find their weight: W_sn (acts at l->sn_ws) when on. */
cl_mem layer_weight_buf(const net *n, const layer *l);
size_t layer_weight_off(const layer *l);
/* After dL/dW_sn is in the gradient buffer at the weight's offset: dL/dW through sigma. */
clgan_status spectral_backward(net *n, layer *l);

/*
 * The host's W_sn (rows x cols) from w, u and v in double: train, one power iteration first
 * (u and v updated in place); else sigma = u^T W v. Returns sigma.
 */
double spectral_host(const double *w, double *u, double *v, long rows, long cols, int train,
                     double *w_sn);

/*
 * A layer's host reference: W_sn (malloc'd, rows x cols; the caller frees it) from its weight
 * p[0] and u, v at p[iu], p[iu + 1]; a training pass writes the updated u, v where c says.
 */
double *spectral_host_weight(const double *const *p, int iu, long rows, long cols,
                             const host_ctx *c);

#endif /* CLGAN_SPECTRAL_H */
