/*
 * layer_dropout.c - inverted dropout: {type: dropout, keep: P}. The mask comes from a fresh
 * Philox stream each training forward (so it is the same on every device for the same seed) and
 * is kept beside the output for the backward pass. Outside training the layer copies its input.
 */
#include <stdio.h>

#include "graph.h"
#include "rng.h"

enum { KEEP };

static const layer_key keys[] = {
    {"keep", KEY_NUM, KEEP, KEY_REQUIRED | KEY_LO_OPEN, 0, 1, 0},
};

enum { K_FWD, K_BWD };

static int dropout_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = L->in;
    L->scratch = shape_size(L->in); /* the mask */
    L->flops = (double)shape_size(L->in);
    return 0;
}

static void dropout_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "keep %g", L->v[KEEP]);
}

static clgan_status dropout_setup(net *n, layer *l) {
    clgan_status st = net_kernel(n, "cl/dropout.cl", "dropout_fwd", &l->k[K_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/dropout.cl", "dropout_bwd", &l->k[K_BWD]);
    return st;
}

/* dst[i] = src[i] mask[i] over the first `batch` rows: the backward pass, and a tangent pass's
 * forward (the mask of the latest forward pass, from the values) */
static clgan_status apply_mask(net *n, layer *l, int batch, cl_mem buf, size_t src, size_t dst) {
    size_t cnt = (size_t)batch * l->y.cols;
    cl_uint m_off = (cl_uint)l->z.off, s = (cl_uint)src, d = (cl_uint)dst, c = (cl_uint)cnt;
    cl_mem vals = net_values(n);
    karg a[] = {KA(vals), KA(m_off), KA(buf), KA(s), KA(d), KA(c)};
    clgan_status st = device_set_args(n->dev, l->k[K_BWD], "dropout_bwd", a, 6);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_BWD], (cnt + 15) / 16, "dropout_bwd");
}

static clgan_status dropout_forward(net *n, layer *l, int batch, int train) {
    size_t cnt = (size_t)batch * l->y.cols;
    if (train && n->tangent) return apply_mask(n, l, batch, n->acts, l->x.off, l->y.off);
    if (!train) {
        cl_int rc =
            clEnqueueCopyBuffer(n->dev->queue, n->acts, n->acts, l->x.off * sizeof(float),
                                l->y.off * sizeof(float), cnt * sizeof(float), 0, NULL, NULL);
        if (rc != CL_SUCCESS)
            return err_cl(&n->dev->err, rc, "clEnqueueCopyBuffer", "dropout (evaluation)");
        return CLGAN_OK;
    }
    l->stream = (*n->stream_next)++;
    /* one launch per row group where a replica's groups are apart in the global batch (a D
     * step's real and generated rows): value (g rows_global + row0 + r) x cols + c of the
     * global pass decides row r of group g */
    int groups = n->groups > 1 ? n->groups : 1, per = batch / groups;
    if (n->rows_global == 0 || n->rows_global == per) groups = 1, per = batch;
    size_t cols = l->y.cols;
    clgan_status st = CLGAN_OK;
    for (int g = 0; g < groups && st == CLGAN_OK; g++) {
        size_t at = (size_t)g * per * cols;
        cl_uint x_off = (cl_uint)(l->x.off + at), y_off = (cl_uint)(l->y.off + at),
                m_off = (cl_uint)(l->z.off + at), c = (cl_uint)((size_t)per * cols),
                s_lo = (cl_uint)l->stream, s_hi = (cl_uint)(l->stream >> 32),
                e0 = (cl_uint)(((size_t)g * (size_t)n->rows_global + (size_t)n->row0) * cols);
        float keep = (float)l->spec->v[KEEP];
        karg a[] = {KA(n->acts), KA(x_off), KA(y_off),     KA(m_off),     KA(e0),   KA(c),
                    KA(keep),    KA(n->key[0]), KA(n->key[1]), KA(s_lo),  KA(s_hi)};
        st = device_set_args(n->dev, l->k[K_FWD], "dropout_fwd", a, 11);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_FWD], rng_items(e0, c), "dropout_fwd");
    }
    return st;
}

static clgan_status dropout_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    if (!need_dx) return CLGAN_OK;
    return apply_mask(n, l, batch, n->deltas, l->dy.off, l->dx.off);
}

/* The mask from the same stream the device used (c->stream), values in the same order. */
static void dropout_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                         int batch, const host_ctx *c) {
    (void)p;
    double keep = (float)L->v[KEEP];
    rng_stream rs = {{c->key[0], c->key[1]}, c->stream, RNG_TAG_DROPOUT};
    for (long i = 0, n = batch * shape_size(L->in); i < n; i++) {
        double scale = !c->train ? 1.0 : rng_uniform01(&rs, (uint64_t)i) < keep ? 1.0 / keep : 0.0;
        y[i] = x[i] * scale;
    }
}

/* keep 1: every value passes, and unscaled */
static int dropout_passes(const layer_spec *L) {
    return L->v[KEEP] == 1;
}

const layer_class layer_dropout = {
    .name = "dropout",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = dropout_infer,
    .params = layer_no_params,
    .describe = dropout_describe,
    .gemms = layer_no_gemms,
    .ops = {dropout_setup, dropout_forward, dropout_backward},
    .host_forward = dropout_host,
    .passes_values = dropout_passes,
    .tangent = 1,
};
