/*
 * layer_activation.c - element-wise activations: relu, leaky_relu (slope, default 0.2), tanh and
 * sigmoid. Four classes that share everything but their kernels (cl/activation.cl:
 * <kind>_fwd and <kind>_bwd, all with the same arguments) and their host reference.
 */
#include <math.h>
#include <stdio.h>

#include "graph.h"

enum { SLOPE };

static const layer_key slope_keys[] = {
    {"slope", KEY_NUM, SLOPE, KEY_LO_OPEN | KEY_HI_OPEN, 0, 1, 0.2},
};

enum { K_FWD, K_BWD, K_BWD2 };

/* tanh and sigmoid: a second derivative that is not zero (a penalty's third pass adds it) */
static int curved(layer_kind k) {
    return k == LAYER_TANH || k == LAYER_SIGMOID;
}

static int act_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = L->in;
    /* one op per value (a transcendental counts as one); leaky_relu multiplies and selects */
    L->flops = (L->kind == LAYER_LEAKY_RELU ? 2.0 : 1.0) * (double)shape_size(L->in);
    return 0;
}

static void leaky_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "slope %g", L->v[SLOPE]);
}

static clgan_status act_setup(net *n, layer *l) {
    char fwd[40], bwd[40];
    const char *kind = layer_kind_name(l->spec->kind);
    snprintf(fwd, sizeof fwd, "%s_fwd", kind);
    snprintf(bwd, sizeof bwd, "%s_bwd", kind);
    clgan_status st = net_kernel(n, "cl/activation.cl", fwd, &l->k[K_FWD]);
    if (st == CLGAN_OK) st = net_kernel(n, "cl/activation.cl", bwd, &l->k[K_BWD]);
    if (st == CLGAN_OK && curved(l->spec->kind)) {
        char bwd2[40];
        snprintf(bwd2, sizeof bwd2, "%s_bwd2", kind);
        st = net_kernel(n, "cl/activation.cl", bwd2, &l->k[K_BWD2]);
    }
    return st;
}

/* The slope argument every activation kernel takes (only leaky_relu reads it). */
static float slope_of(const layer *l) {
    return l->spec->kind == LAYER_LEAKY_RELU ? (float)l->spec->v[SLOPE] : 0.0f;
}

static clgan_status act_backward(net *n, layer *l, int batch, int need_dx, int need_dw);

static clgan_status act_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    if (n->tangent) return act_backward(n, l, batch, 1, 0);
    cl_uint x_off = (cl_uint)l->x.off, y_off = (cl_uint)l->y.off,
            cnt = (cl_uint)((size_t)batch * l->y.cols);
    float p = slope_of(l);
    karg a[] = {KA(n->acts), KA(x_off), KA(y_off), KA(cnt), KA(p)};
    clgan_status st = device_set_args(n->dev, l->k[K_FWD], "activation forward", a, 5);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_FWD], (cnt + 15) / 16, layer_kind_name(l->spec->kind));
}

static clgan_status act_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    (void)need_dw;
    if (!need_dx) return CLGAN_OK;
    if (n->second && curved(l->spec->kind)) { /* a penalty's third pass: f'' t dv added */
        cl_uint x_off = (cl_uint)l->x.off, y_off = (cl_uint)l->y.off,
                dy_off = (cl_uint)l->dy.off, dx_off = (cl_uint)l->dx.off,
                cnt = (cl_uint)((size_t)batch * l->y.cols);
        karg a[] = {KA(n->acts), KA(x_off), KA(y_off), KA(n->deltas), KA(dy_off),
                    KA(dx_off),  KA(n->tan), KA(n->delta_vals), KA(cnt)};
        clgan_status st = device_set_args(n->dev, l->k[K_BWD2], "activation backward", a, 9);
        if (st != CLGAN_OK) return st;
        return device_run1d(n->dev, l->k[K_BWD2], (cnt + 15) / 16,
                            layer_kind_name(l->spec->kind));
    }
    /* a tangent pass's forward (act_forward): t_y = f'(x) t_x, the same product with the
     * tangents in the gradients' place */
    int t = n->tangent;
    cl_uint x_off = (cl_uint)l->x.off, y_off = (cl_uint)l->y.off,
            dy_off = (cl_uint)(t ? l->x.off : l->dy.off), dx_off = (cl_uint)(t ? l->y.off : l->dx.off),
            cnt = (cl_uint)((size_t)batch * l->y.cols);
    float p = slope_of(l);
    cl_mem vals = net_values(n), out = t ? n->acts : n->deltas;
    karg a[] = {KA(vals), KA(x_off),  KA(y_off), KA(out),
                KA(dy_off),        KA(dx_off), KA(cnt),   KA(p)};
    clgan_status st = device_set_args(n->dev, l->k[K_BWD], "activation backward", a, 8);
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, l->k[K_BWD], (cnt + 15) / 16, layer_kind_name(l->spec->kind));
}

#define ACT_HOST(name, expr)                                                                       \
    static void name##_host(const layer_spec *L, const double *const *p, const double *x,         \
                            double *y, int batch, const host_ctx *c) {                             \
        (void)p, (void)c;                                                                          \
        for (long i = 0, n = batch * shape_size(L->in); i < n; i++) {                              \
            double v = x[i];                                                                       \
            y[i] = (expr);                                                                         \
        }                                                                                          \
    }
ACT_HOST(relu, v < 0 ? 0 : v) /* NaN passes, as on the device */
ACT_HOST(leaky_relu, v > 0 ? v : L->v[SLOPE] * v)
ACT_HOST(tanh, tanh(v))
ACT_HOST(sigmoid, 1.0 / (1.0 + exp(-v)))

/* relu and leaky_relu are piecewise linear: a penalty's gradient through them needs no more than
 * the tangent pass; tanh's and sigmoid's second derivatives add a term in a third pass */
#define ACT_CLASS(kind, key_list, key_count, describe_fn, curved)                                 \
    const layer_class layer_##kind = {                                                             \
        .name = #kind,                                                                             \
        .keys = key_list,                                                                          \
        .n_keys = key_count,                                                                       \
        .infer = act_infer,                                                                        \
        .params = layer_no_params,                                                                 \
        .describe = describe_fn,                                                                   \
        .gemms = layer_no_gemms,                                                                   \
        .ops = {act_setup, act_forward, act_backward},                                             \
        .host_forward = kind##_host,                                                               \
        .tangent = 1,                                                                              \
        .second_order = curved,                                                                    \
    };
ACT_CLASS(relu, NULL, 0, layer_no_detail, 0)
ACT_CLASS(leaky_relu, slope_keys, (int)ARRAY_LEN(slope_keys), leaky_describe, 0)
ACT_CLASS(tanh, NULL, 0, layer_no_detail, 1)
ACT_CLASS(sigmoid, NULL, 0, layer_no_detail, 1)
