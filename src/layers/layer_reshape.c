/*
 * layer_reshape.c - reshape ({type: reshape, shape: [C, H, W]}) and flatten: the same values
 * per sample under another shape (batch-major rows do not change), so forward copies x to y and
 * backward dy to dx (one buffer copy each: no kernel).
 */
#include <stdio.h>
#include <string.h>

#include "graph.h"

enum { SHAPE };

static const layer_key reshape_keys[] = {
    {"shape", KEY_SHAPE, SHAPE, KEY_REQUIRED, 1, 1 << 20, 0},
};

static int reshape_infer(layer_spec *L, char *why, size_t len) {
    /* [C, H, W] declares an image, also at 1x1 (flatten makes flat features) */
    shape3 s = {(int)L->v[SHAPE], (int)L->v[SHAPE + 1], (int)L->v[SHAPE + 2], 1};
    double want = (double)s.c * s.h * s.w;
    if (want != (double)shape_size(L->in)) {
        snprintf(why, len, "[%d, %d, %d] holds %.0f values per sample, its input (%dx%dx%d) %ld",
                 s.c, s.h, s.w, want, L->in.c, L->in.h, L->in.w, shape_size(L->in));
        return -1;
    }
    L->out = s;
    return 0;
}

static int flatten_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = (shape3){(int)shape_size(L->in), 1, 1, 0};
    return 0;
}

static void reshape_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "%dx%dx%d", L->out.c, L->out.h, L->out.w);
}

static clgan_status setup(net *n, layer *l) {
    (void)n, (void)l;
    return CLGAN_OK;
}

static clgan_status copy(net *n, cl_mem buf, size_t from, size_t to, size_t count,
                         const char *what) {
    cl_int rc = clEnqueueCopyBuffer(n->dev->queue, buf, buf, from * sizeof(float),
                                    to * sizeof(float), count * sizeof(float), 0, NULL, NULL);
    if (rc != CL_SUCCESS) return err_cl(&n->dev->err, rc, "clEnqueueCopyBuffer", "%s", what);
    return CLGAN_OK;
}

static clgan_status forward(net *n, layer *l, int batch, int train) {
    (void)train;
    return copy(n, n->acts, l->x.off, l->y.off, (size_t)batch * l->y.cols, "reshape");
}

static clgan_status backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    if (!need_dx) return CLGAN_OK;
    return copy(n, n->deltas, l->dy.off, l->dx.off, (size_t)batch * l->y.cols, "reshape backward");
}

static int passes(const layer_spec *L) {
    (void)L;
    return 1;
}

static void host(const layer_spec *L, const double *const *p, const double *x, double *y,
                 int batch, const host_ctx *c) {
    (void)p, (void)c;
    memcpy(y, x, (size_t)batch * (size_t)shape_size(L->in) * sizeof *y);
}

const layer_class layer_reshape = {
    .name = "reshape",
    .keys = reshape_keys,
    .n_keys = (int)ARRAY_LEN(reshape_keys),
    .infer = reshape_infer,
    .params = layer_no_params,
    .describe = reshape_describe,
    .gemms = layer_no_gemms,
    .ops = {setup, forward, backward},
    .host_forward = host,
    .passes_values = passes,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};

const layer_class layer_flatten = {
    .name = "flatten",
    .keys = NULL,
    .n_keys = 0,
    .infer = flatten_infer,
    .params = layer_no_params,
    .describe = layer_no_detail,
    .gemms = layer_no_gemms,
    .ops = {setup, forward, backward},
    .host_forward = host,
    .passes_values = passes,    .tangent = 1, /* linear: a tangent pass runs it as it is */
};
