/*
 * layer_self_attention.c - self-attention over an image's positions (SAGAN, Zhang et al. 2019):
 * {type: self_attention, reduction: 8}. With N = H*W positions and D = C / reduction:
 *   q = Wq x + bq (D x N), k = Wk x + bk (D x N), v = Wv x + bv (C x N)   (1x1 convolutions)
 *   A = softmax over j of q_i . k_j (N x N, row i: where position i looks)
 *   o = v A^T (C x N),   y = gamma o + x, gamma learned from 0.
 * Parameters: weight [2D + C][C] (the query, key and value convolutions' weights, in that order,
 * as one matrix: PyTorch's fused in_proj_weight), bias [2D + C], gamma [1]: the parameters of
 * SAGAN's three convolutions and gamma. Scratch per sample: qkv, A, o; the GEMMs run per sample
 * (cl/attention.cl does the rest).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "graph.h"

enum { REDUCTION, INIT = 1 };

static const layer_key keys[] = {
    {"reduction", KEY_INT, REDUCTION, 0, 1, 1024, 8},
    {"init", KEY_INIT, INIT, KEY_INIT_ONLY, 0, 0, 0},
};

enum { P_W, P_B, P_GAMMA };
enum { K_BIAS, K_SOFTMAX, K_OUT, K_OUT_BWD, K_GAMMA_BWD, K_SOFTMAX_BWD, K_BIAS_BWD };

#define D_OF(L) ((L)->in.c / (int)(L)->v[REDUCTION])

/* Per sample: rows of qkv, positions, and where qkv, A and o lie in the scratch row. */
typedef struct geom {
    size_t C, D, R, N, qkv, a, o, per;
} geom;

static geom geom_of(const layer_spec *L) {
    geom g;
    g.C = (size_t)L->in.c;
    g.D = (size_t)D_OF(L);
    g.R = 2 * g.D + g.C;
    g.N = (size_t)L->in.h * (size_t)L->in.w;
    g.qkv = 0;
    g.a = g.R * g.N;
    g.o = g.a + g.N * g.N;
    g.per = g.o + g.C * g.N;
    return g;
}

static int sa_infer(layer_spec *L, char *why, size_t len) {
    if (layer_image_input(L, why, len) != 0) return -1;
    if (D_OF(L) < 1) {
        snprintf(why, len, "reduction %d leaves no channel of the %d for the query and key",
                 (int)L->v[REDUCTION], L->in.c);
        return -1;
    }
    geom g = geom_of(L);
    L->out = L->in;
    L->scratch = (long)g.per;
    double N = (double)g.N;
    L->flops = 2.0 * (double)g.R * (double)g.C * N + 2.0 * N * N * (double)g.D +
               2.0 * (double)g.C * N * N + 4.0 * N * N;
    return 0;
}

static int sa_params(const layer_spec *L, param_info *out) {
    geom g = geom_of(L);
    long r = (long)g.R, c = (long)g.C;
    init_kind ik = (init_kind)(int)L->v[INIT];
    float scale = (float)L->v[INIT + 1];
    out[P_W] = (param_info){"weight", 2, {r, c}, r * c, 1, ik, scale, c, c, -1};
    out[P_B] = (param_info){"bias", 1, {r}, r, 1, INIT_CONST, 0, 0, 0, -1};
    out[P_GAMMA] = (param_info){"gamma", 1, {1}, 1, 1, INIT_CONST, 0, 0, 0, -1};
    return 3;
}

static void sa_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "q,k %d of %d", D_OF(L), L->in.c);
}

static int sa_gemms(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din,
                    int dw, gemm_shape *out) {
    (void)dev, (void)rows;
    geom g = geom_of(L);
    int i = 0;
    if (fwd) {
        out[i++] = (gemm_shape){0, 0, g.R, g.N, g.C}; /* qkv = W x */
        out[i++] = (gemm_shape){1, 0, g.N, g.N, g.D}; /* scores q^T k */
        out[i++] = (gemm_shape){0, 1, g.C, g.N, g.N}; /* o = v A^T */
    }
    if (din || dw) {
        out[i++] = (gemm_shape){0, 0, g.C, g.N, g.N}; /* dv = do A */
        out[i++] = (gemm_shape){1, 0, g.N, g.N, g.C}; /* dA = do^T v */
        out[i++] = (gemm_shape){0, 1, g.D, g.N, g.N}; /* dq = k dE^T */
        out[i++] = (gemm_shape){0, 0, g.D, g.N, g.N}; /* dk = q dE */
    }
    if (dw) out[i++] = (gemm_shape){0, 1, g.R, g.C, g.N}; /* dW += dqkv x^T */
    if (din) out[i++] = (gemm_shape){1, 0, g.C, g.N, g.R}; /* dx += W^T dqkv */
    return i;
}

static clgan_status sa_setup(net *n, layer *l) {
    static const char *const names[] = {"attn_bias_fwd",  "attn_softmax_fwd", "attn_out_fwd",
                                        "attn_out_bwd",   "attn_gamma_bwd",   "attn_softmax_bwd",
                                        "attn_bias_bwd"};
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < (int)ARRAY_LEN(names) && st == CLGAN_OK; i++)
        st = net_kernel(n, "cl/attention.cl", names[i], &l->k[i]);
    return st;
}

static clgan_status run(net *n, layer *l, int k, const char *name, const karg *a, int na,
                        size_t items) {
    clgan_status st = device_set_args(n->dev, l->k[k], name, a, na);
    return st == CLGAN_OK ? device_run1d(n->dev, l->k[k], items, name) : st;
}

static clgan_status sa_forward(net *n, layer *l, int batch, int train) {
    (void)train;
    geom g = geom_of(l->spec);
    size_t z = l->z.off, per = g.per, x = l->x.off, cn = g.C * g.N;
    cl_uint B = (cl_uint)batch, R = (cl_uint)g.R, N = (cl_uint)g.N, stride = (cl_uint)per;
    clgan_status st = CLGAN_OK;
    /* qkv = W x + b */
    for (int b = 0; b < batch && st == CLGAN_OK; b++)
        st = gemm(n->dev, 0, 0, g.R, g.N, g.C, 1.0f, n->params, l->param_off[P_W], g.C, n->acts,
                  x + (size_t)b * cn, g.N, 0.0f, n->acts, z + (size_t)b * per + g.qkv, g.N);
    cl_uint qo = (cl_uint)(z + g.qkv), bo = (cl_uint)l->param_off[P_B];
    karg ab[] = {KA(n->acts), KA(qo), KA(stride), KA(n->params), KA(bo), KA(B), KA(R), KA(N)};
    if (st == CLGAN_OK) st = run(n, l, K_BIAS, "attn_bias_fwd", ab, 8, (size_t)batch * g.R * g.N);
    /* A = softmax(q^T k) */
    for (int b = 0; b < batch && st == CLGAN_OK; b++) {
        size_t zb = z + (size_t)b * per;
        st = gemm(n->dev, 1, 0, g.N, g.N, g.D, 1.0f, n->acts, zb + g.qkv, g.N, n->acts,
                  zb + g.qkv + g.D * g.N, g.N, 0.0f, n->acts, zb + g.a, g.N);
    }
    cl_uint ao = (cl_uint)(z + g.a);
    karg sm[] = {KA(n->acts), KA(ao), KA(stride), KA(B), KA(N)};
    if (st == CLGAN_OK) st = run(n, l, K_SOFTMAX, "attn_softmax_fwd", sm, 5, (size_t)batch * g.N);
    /* o = v A^T; y = gamma o + x */
    for (int b = 0; b < batch && st == CLGAN_OK; b++) {
        size_t zb = z + (size_t)b * per;
        st = gemm(n->dev, 0, 1, g.C, g.N, g.N, 1.0f, n->acts, zb + g.qkv + 2 * g.D * g.N, g.N,
                  n->acts, zb + g.a, g.N, 0.0f, n->acts, zb + g.o, g.N);
    }
    cl_uint xo = (cl_uint)x, oo = (cl_uint)(z + g.o), yo = (cl_uint)l->y.off,
            go = (cl_uint)l->param_off[P_GAMMA], cnt = (cl_uint)cn;
    karg o[] = {KA(n->acts), KA(xo),  KA(oo),  KA(stride), KA(yo),
                KA(n->params), KA(go), KA(cnt), KA(B)};
    if (st == CLGAN_OK) st = run(n, l, K_OUT, "attn_out_fwd", o, 9, (size_t)batch * cn);
    return st;
}

static clgan_status sa_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    geom g = geom_of(l->spec);
    size_t z = l->z.off, per = g.per, x = l->x.off, cn = g.C * g.N;
    cl_uint go = (cl_uint)l->param_off[P_GAMMA], N = (cl_uint)g.N, B = (cl_uint)batch,
            stride = (cl_uint)per, cnt = (cl_uint)cn;
    /* in acts: qkv, A, o; in deltas at the same offsets: dqkv, dA, do */
    cl_uint dyo = (cl_uint)l->dy.off, doo = (cl_uint)(z + g.o), dxo = (cl_uint)l->dx.off,
            wdx = (cl_uint)(need_dx != 0);
    karg a[] = {KA(n->deltas), KA(dyo), KA(doo), KA(stride), KA(dxo),
                KA(n->params), KA(go),  KA(cnt), KA(B),      KA(wdx)};
    clgan_status st = run(n, l, K_OUT_BWD, "attn_out_bwd", a, 10, (size_t)batch * cn);
    /* dv = do A, dA = do^T v */
    for (int b = 0; b < batch && st == CLGAN_OK; b++) {
        size_t zb = z + (size_t)b * per;
        st = gemm(n->dev, 0, 0, g.C, g.N, g.N, 1.0f, n->deltas, zb + g.o, g.N, n->acts, zb + g.a,
                  g.N, 0.0f, n->deltas, zb + g.qkv + 2 * g.D * g.N, g.N);
        if (st == CLGAN_OK)
            st = gemm(n->dev, 1, 0, g.N, g.N, g.C, 1.0f, n->deltas, zb + g.o, g.N, n->acts,
                      zb + g.qkv + 2 * g.D * g.N, g.N, 0.0f, n->deltas, zb + g.a, g.N);
    }
    cl_uint ao = (cl_uint)(z + g.a);
    karg s[] = {KA(n->acts), KA(n->deltas), KA(ao), KA(stride), KA(B), KA(N)};
    if (st == CLGAN_OK) st = run(n, l, K_SOFTMAX_BWD, "attn_softmax_bwd", s, 6, (size_t)batch * g.N);
    for (int b = 0; b < batch && st == CLGAN_OK; b++) {
        size_t zb = z + (size_t)b * per;
        /* dq = k dE^T, dk = q dE */
        st = gemm(n->dev, 0, 1, g.D, g.N, g.N, 1.0f, n->acts, zb + g.qkv + g.D * g.N, g.N,
                  n->deltas, zb + g.a, g.N, 0.0f, n->deltas, zb + g.qkv, g.N);
        if (st == CLGAN_OK)
            st = gemm(n->dev, 0, 0, g.D, g.N, g.N, 1.0f, n->acts, zb + g.qkv, g.N, n->deltas,
                      zb + g.a, g.N, 0.0f, n->deltas, zb + g.qkv + g.D * g.N, g.N);
        /* dW (+)= dqkv x^T; dx += W^T dqkv */
        if (st == CLGAN_OK && need_dw)
            st = gemm(n->dev, 0, 1, g.R, g.C, g.N, 1.0f, n->deltas, zb + g.qkv, g.N, n->acts,
                      x + (size_t)b * cn, g.N, b ? 1.0f : 0.0f, n->grads, l->param_off[P_W], g.C);
        if (st == CLGAN_OK && need_dx)
            st = gemm(n->dev, 1, 0, g.C, g.N, g.R, 1.0f, n->params, l->param_off[P_W], g.C,
                      n->deltas, zb + g.qkv, g.N, 1.0f, n->deltas, l->dx.off + (size_t)b * cn,
                      g.N);
    }
    if (st == CLGAN_OK && need_dw) {
        cl_uint R = (cl_uint)g.R, bo = (cl_uint)l->param_off[P_B], qo = (cl_uint)(z + g.qkv);
        karg ab[] = {KA(n->deltas), KA(qo), KA(stride), KA(n->grads), KA(bo), KA(B), KA(R), KA(N)};
        st = run(n, l, K_BIAS_BWD, "attn_bias_bwd", ab, 8, g.R);
        cl_uint oo = (cl_uint)(z + g.o);
        karg gm[] = {KA(n->acts), KA(oo),     KA(stride), KA(n->deltas), KA(dyo),
                     KA(cnt),     KA(n->grads), KA(go),   KA(B)};
        if (st == CLGAN_OK) st = run(n, l, K_GAMMA_BWD, "attn_gamma_bwd", gm, 9, 1);
    }
    return st;
}

static void sa_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                    int batch, const host_ctx *c) {
    (void)c;
    geom g = geom_of(L);
    size_t C = g.C, D = g.D, R = g.R, N = g.N;
    double *qkv = malloc(R * N * sizeof *qkv), *A = malloc(N * N * sizeof *A);
    for (int b = 0; b < batch; b++) {
        const double *xb = x + (size_t)b * C * N;
        for (size_t r = 0; r < R; r++)
            for (size_t q = 0; q < N; q++) {
                double s = p[P_B][r];
                for (size_t ch = 0; ch < C; ch++) s += p[P_W][r * C + ch] * xb[ch * N + q];
                qkv[r * N + q] = s;
            }
        for (size_t i = 0; i < N; i++) {
            double m = -INFINITY, sum = 0;
            for (size_t j = 0; j < N; j++) {
                double e = 0;
                for (size_t d = 0; d < D; d++) e += qkv[d * N + i] * qkv[(D + d) * N + j];
                A[i * N + j] = e;
                m = fmax(m, e);
            }
            for (size_t j = 0; j < N; j++) sum += (A[i * N + j] = exp(A[i * N + j] - m));
            for (size_t j = 0; j < N; j++) A[i * N + j] /= sum;
        }
        for (size_t ch = 0; ch < C; ch++)
            for (size_t i = 0; i < N; i++) {
                double o = 0;
                for (size_t j = 0; j < N; j++) o += qkv[(2 * D + ch) * N + j] * A[i * N + j];
                y[(size_t)b * C * N + ch * N + i] = p[P_GAMMA][0] * o + xb[ch * N + i];
            }
    }
    free(qkv);
    free(A);
}

const layer_class layer_self_attention = {
    .name = "self_attention",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = sa_infer,
    .params = sa_params,
    .describe = sa_describe,
    .gemms = sa_gemms,
    .ops = {sa_setup, sa_forward, sa_backward},
    .host_forward = sa_host,    .no_tangent = "its softmax's second derivative is not zero, and the penalty's gradient through it is not built yet",
};
