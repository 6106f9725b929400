/*
 * layer_batch_norm.c - batch normalisation (Ioffe & Szegedy 2015) per channel of an image or
 * per feature of a flat layer: {type: batch_norm, momentum: 0.1, eps: 1e-5} (PyTorch's
 * conventions). Parameters: weight (gamma, 1) and bias (beta, 0), trainable; running_mean (0)
 * and running_var (1), running statistics.
 *
 * Training: y = gamma (x - mean) / sqrt(var + eps) + beta with the batch's mean and biased
 * variance, computed apart for each of the network's row groups (n->groups: a discriminator
 * step's real rows and generated rows); each group then updates the running statistics, with
 * the unbiased variance, as one call of a PyTorch module would. Evaluation uses the running
 * statistics. Backward (per group, N values per statistic):
 *   dx = gamma / sqrt(var + eps) / N (N dy - sum dy - xhat sum dy xhat);
 *   dgamma = sum dy xhat;  dbeta = sum dy (over every group).
 * The statistics and sums live in the layer's fixed scratch (cl/batch_norm.cl says where).
 *
 * Class-conditional (`conditional: true`, SNGAN's and BigGAN's generators; a model with a
 * condition): weight and bias are [classes][C], learned per class from 1 and 0, and each row
 * takes its label's; the statistics are the batch's as above. Backward, g = gamma[label] dy
 * takes dy's place in the sums and in dx; dgamma and dbeta of class k sum over its rows.
 *
 * Data parallelism (issue 16), a replica's network (n->sum): the statistics are the global
 * batch's. Each replica sums its rows, the host sums over the replicas (n->sum), then the same
 * for the squared deviations from the global mean (two passes, as on one device); backward, the
 * sums of dy and dy xhat are summed over the replicas before dx. dgamma and dbeta stay this
 * replica's share: the gradient reduction adds them up with every other gradient.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "graph.h"

enum { MOMENTUM, EPS, CONDITIONAL };

static const layer_key keys[] = {
    {"momentum", KEY_NUM, MOMENTUM, 0, 0, 1, 0.1},
    {"eps", KEY_NUM, EPS, KEY_LO_OPEN, 0, 1, 1e-5},
    {"conditional", KEY_BOOL, CONDITIONAL, KEY_SPARSE, 0, 1, 0},
};

enum { P_GAMMA, P_BETA, P_MEAN, P_VAR };
enum { K_STATS, K_RUNNING, K_FWD, K_SUMS, K_PARAMS, K_DX, K_PARTIAL, K_FLAT };
/* a flat layer's kernels (HW = 1, not conditional): 16 features per item */
enum { K_STATS_FLAT = K_FLAT, K_FWD_FLAT, K_SUMS_FLAT, K_DX_FLAT, K_END };
static_assert(K_END <= LAYER_MAX_KERNELS, "batch norm's kernels fit a layer's table");

#define COND(L) ((L)->v[CONDITIONAL] != 0)

static int bn_reads_labels(const layer_spec *L) {
    return COND(L);
}

#define MAX_GROUPS 2

static int bn_infer(layer_spec *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = L->in;
    L->fixed = 5L * MAX_GROUPS * L->in.c; /* mean, var, 1/std, two sums: [groups][C] each */
    L->flops = 7.0 * (double)shape_size(L->in);
    return 0;
}

static int bn_params(const layer_spec *L, param_info *out) {
    long c = L->in.c, k = L->classes;
    if (COND(L)) { /* a row per class */
        out[P_GAMMA] = (param_info){"weight", 2, {k, c}, k * c, 1, INIT_CONST, 1, 0, 0, -1};
        out[P_BETA] = (param_info){"bias", 2, {k, c}, k * c, 1, INIT_CONST, 0, 0, 0, -1};
    } else {
        out[P_GAMMA] = (param_info){"weight", 1, {c}, c, 1, INIT_CONST, 1, 0, 0, -1};
        out[P_BETA] = (param_info){"bias", 1, {c}, c, 1, INIT_CONST, 0, 0, 0, -1};
    }
    out[P_MEAN] = (param_info){"running_mean", 1, {c}, c, 0, INIT_CONST, 0, 0, 0, -1};
    out[P_VAR] = (param_info){"running_var", 1, {c}, c, 0, INIT_CONST, 1, 0, 0, -1};
    return 4;
}

static void bn_describe(const layer_spec *L, char *buf, size_t len) {
    snprintf(buf, len, "%s %d%s", shape_is_image(L->in) ? "channels" : "features", L->in.c,
             COND(L) ? ", by class" : "");
}

static int bn_check_rows(const layer_spec *L, int rows, char *why, size_t len) {
    long n = (long)rows * L->in.h * L->in.w;
    if (n >= 2) return 0;
    snprintf(why, len, "batch_norm has nothing to normalise: each of its statistics would be over "
             "%ld value (%d row%s of %dx%d per channel); use a larger batch", n, rows,
             rows == 1 ? "" : "s", L->in.h, L->in.w);
    return -1;
}

/* Does the layer run the flat kernels? */
static int is_flat(const layer_spec *L) {
    return L->in.h * L->in.w == 1 && !COND(L);
}

/* Items of a flat kernel over `rows` rows (or groups): a block of 16 features each. */
static size_t flat_items(const layer *l, cl_uint rows) {
    return (size_t)rows * (((size_t)l->spec->in.c + 15) / 16);
}

static clgan_status bn_setup(net *n, layer *l) {
    static const char *const names[] = {"bn_stats",      "bn_running", "bn_fwd",
                                        "bn_bwd_sums",   "bn_bwd_params", "bn_bwd_dx",
                                        "bn_partial"},
                             *const cond[] = {"bn_stats",           "bn_running",
                                              "bn_fwd_cond",        "bn_bwd_sums_cond",
                                              "bn_bwd_params_cond", "bn_bwd_dx_cond",
                                              "bn_partial"};
    static const char *const flat[] = {"bn_stats_flat", "bn_fwd_flat", "bn_bwd_sums_flat",
                                       "bn_bwd_dx_flat"};
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < (int)ARRAY_LEN(names) && st == CLGAN_OK; i++)
        st = net_kernel(n, "cl/batch_norm.cl", COND(l->spec) ? cond[i] : names[i], &l->k[i]);
    for (int i = 0; i < (int)ARRAY_LEN(flat) && st == CLGAN_OK && is_flat(l->spec); i++)
        st = net_kernel(n, "cl/batch_norm.cl", flat[i], &l->k[K_FLAT + i]);
    return st;
}

/* Where the statistics lie: after the (empty) per-sample scratch of the layer's slot. */
static size_t st_off(const layer *l) {
    return l->z.off;
}

static clgan_status run_groups(net *n, cl_kernel k, const char *name, int groups, int C) {
    return device_run1d(n->dev, k, (size_t)groups * (size_t)C, name);
}

/* Is the layer's network a replica, computing a share of a global batch? */
static int over_replicas(const net *n) {
    return n->sum && n->rows_global > 0;
}

/* Values per statistic: this network's rows of a group, or every rank's. */
static cl_uint per_stat(const net *n, const layer *l, cl_uint R) {
    cl_uint HW = (cl_uint)(l->spec->in.h * l->spec->in.w);
    return (over_replicas(n) ? (cl_uint)n->rows_global : R) * HW;
}

/* count floats of the statistics at st_off + at (host copy h) summed over the replicas. */
static clgan_status sum_replicas(net *n, const layer *l, size_t at, size_t count, float *h) {
    size_t off = (st_off(l) + at) * sizeof(float);
    clgan_status st = device_read(n->dev, n->acts, off, count * sizeof(float), h);
    if (st == CLGAN_OK) st = n->sum(n, h, count, "batch statistics", n->sum_ctx);
    return st;
}

/* Over the replicas: the global batch's mean, variance and 1/sqrt(var + eps) per (group,
 * channel), into st. */
static clgan_status stats_over_replicas(net *n, layer *l, karg *a, cl_uint G, cl_uint C,
                                        cl_uint N, float eps) {
    size_t gc = (size_t)G * C;
    float *h = malloc(2 * gc * sizeof *h);
    if (!h) return err_set(&n->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = CLGAN_OK;
    for (cl_uint which = 0; which < 2 && st == CLGAN_OK; which++) {
        a[8] = KA(which);
        st = device_set_args(n->dev, l->k[K_PARTIAL], "bn_partial", a, 9);
        if (st == CLGAN_OK) st = run_groups(n, l->k[K_PARTIAL], "bn_partial", (int)G, (int)C);
        if (st == CLGAN_OK) st = sum_replicas(n, l, which * gc, gc, h);
        for (size_t i = 0; i < gc && st == CLGAN_OK; i++) {
            h[i] = (float)((double)h[i] / N); /* the mean, then the (biased) variance */
            if (which) h[gc + i] = (float)(1.0 / sqrt((double)h[i] + eps));
        }
        if (st == CLGAN_OK)
            st = device_write(n->dev, n->acts, (st_off(l) + which * gc) * sizeof(float),
                              (which ? 2 : 1) * gc * sizeof(float), h, 1);
    }
    free(h);
    return st;
}

static clgan_status bn_forward(net *n, layer *l, int batch, int train) {
    const layer_spec *L = l->spec;
    if (n->groups < 1 || n->groups > MAX_GROUPS || batch % n->groups != 0)
        return err_set(&n->dev->err, CLGAN_ERR_ARG, "batch_norm: %d rows do not split into %d "
                       "groups", batch, n->groups);
    cl_uint G = (cl_uint)n->groups, B = (cl_uint)batch, R = B / G, C = (cl_uint)L->in.c,
            HW = (cl_uint)(L->in.h * L->in.w), so = (cl_uint)st_off(l), xo = (cl_uint)l->x.off,
            yo = (cl_uint)l->y.off, go = (cl_uint)l->param_off[P_GAMMA],
            bo = (cl_uint)l->param_off[P_BETA], mo = (cl_uint)l->param_off[P_MEAN],
            vo = (cl_uint)l->param_off[P_VAR], tr = (cl_uint)(train != 0), nv = per_stat(n, l, R);
    float eps = (float)L->v[EPS], mom = (float)L->v[MOMENTUM];
    clgan_status st = CLGAN_OK;
    if (train) {
        karg a[] = {KA(n->acts), KA(xo), KA(n->acts), KA(so), KA(R), KA(C), KA(HW), KA(G),
                    KA(eps)};
        if (over_replicas(n)) {
            st = stats_over_replicas(n, l, a, G, C, nv, eps);
        } else if (is_flat(L)) {
            karg f[] = {KA(n->acts), KA(xo), KA(n->acts), KA(so), KA(R), KA(C), KA(G), KA(eps)};
            st = device_set_args(n->dev, l->k[K_STATS_FLAT], "bn_stats_flat", f, 8);
            if (st == CLGAN_OK)
                st = device_run1d(n->dev, l->k[K_STATS_FLAT], flat_items(l, G), "bn_stats_flat");
        } else {
            st = device_set_args(n->dev, l->k[K_STATS], "bn_stats", a, 9);
            if (st == CLGAN_OK) st = run_groups(n, l->k[K_STATS], "bn_stats", (int)G, (int)C);
        }
        karg r[] = {KA(n->params), KA(mo), KA(vo), KA(n->acts), KA(so), KA(C), KA(G), KA(nv),
                    KA(mom)};
        if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[K_RUNNING], "bn_running", r, 9);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_RUNNING], C, "bn_running");
    }
    karg a[] = {KA(n->acts), KA(xo), KA(yo), KA(n->params), KA(go), KA(bo), KA(mo), KA(vo),
                KA(n->acts), KA(so), KA(B),  KA(R),  KA(C),         KA(HW), KA(G),  KA(tr),
                KA(eps),     KA(n->labels)};
    if (is_flat(L)) {
        karg f[] = {KA(n->acts), KA(xo), KA(yo), KA(n->params), KA(go), KA(bo), KA(mo), KA(vo),
                    KA(n->acts), KA(so), KA(B),  KA(R),  KA(C),         KA(G),  KA(tr), KA(eps)};
        if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[K_FWD_FLAT], "bn_fwd_flat", f, 16);
        if (st == CLGAN_OK)
            st = device_run1d(n->dev, l->k[K_FWD_FLAT], flat_items(l, B), "bn_fwd_flat");
        return st;
    }
    const char *fwd = COND(L) ? "bn_fwd_cond" : "bn_fwd";
    if (st == CLGAN_OK) st = device_set_args(n->dev, l->k[K_FWD], fwd, a, COND(L) ? 18 : 17);
    if (st == CLGAN_OK) st = device_run2d(n->dev, l->k[K_FWD], C, B, fwd);
    return st;
}

static clgan_status bn_backward(net *n, layer *l, int batch, int need_dx, int need_dw) {
    const layer_spec *L = l->spec;
    cl_uint G = (cl_uint)n->groups, B = (cl_uint)batch, R = B / G, C = (cl_uint)L->in.c,
            HW = (cl_uint)(L->in.h * L->in.w), so = (cl_uint)st_off(l), xo = (cl_uint)l->x.off,
            dyo = (cl_uint)l->dy.off, dxo = (cl_uint)l->dx.off,
            go = (cl_uint)l->param_off[P_GAMMA], bo = (cl_uint)l->param_off[P_BETA],
            N = per_stat(n, l, R);
    int cond = COND(L);
    cl_uint K = (cl_uint)L->classes;
    karg a[] = {KA(n->acts), KA(xo), KA(n->deltas), KA(dyo), KA(n->acts),    KA(so),
                KA(R),       KA(C),  KA(HW),        KA(G),   KA(n->params), KA(go),
                KA(n->labels)};
    const char *sums = cond ? "bn_bwd_sums_cond" : "bn_bwd_sums";
    clgan_status st;
    if (is_flat(L)) {
        karg f[] = {KA(n->acts), KA(xo), KA(n->deltas), KA(dyo), KA(n->acts), KA(so),
                    KA(R),       KA(C),  KA(G)};
        st = device_set_args(n->dev, l->k[K_SUMS_FLAT], "bn_bwd_sums_flat", f, 9);
        if (st == CLGAN_OK)
            st = device_run1d(n->dev, l->k[K_SUMS_FLAT], flat_items(l, G), "bn_bwd_sums_flat");
    } else {
        st = device_set_args(n->dev, l->k[K_SUMS], sums, a, cond ? 13 : 10);
        if (st == CLGAN_OK) st = run_groups(n, l->k[K_SUMS], sums, (int)G, (int)C);
    }
    if (st == CLGAN_OK && need_dw && cond) {
        karg p[] = {KA(n->acts), KA(xo), KA(n->deltas), KA(dyo), KA(n->acts), KA(so),
                    KA(n->grads), KA(go), KA(bo), KA(B), KA(R), KA(C), KA(HW), KA(G), KA(K),
                    KA(n->labels)};
        st = device_set_args(n->dev, l->k[K_PARAMS], "bn_bwd_params_cond", p, 16);
        if (st == CLGAN_OK)
            st = device_run1d(n->dev, l->k[K_PARAMS], (size_t)K * C, "bn_bwd_params_cond");
    } else if (st == CLGAN_OK && need_dw) {
        karg p[] = {KA(n->acts), KA(so), KA(n->grads), KA(go), KA(bo), KA(C), KA(G)};
        st = device_set_args(n->dev, l->k[K_PARAMS], "bn_bwd_params", p, 7);
        if (st == CLGAN_OK) st = device_run1d(n->dev, l->k[K_PARAMS], C, "bn_bwd_params");
    }
    if (st == CLGAN_OK && need_dx && over_replicas(n)) { /* the sums over every replica's rows */
        size_t gc = (size_t)G * C;
        float *h = malloc(2 * gc * sizeof *h);
        st = h ? sum_replicas(n, l, 3 * gc, 2 * gc, h)
               : err_set(&n->dev->err, CLGAN_ERR_NOMEM, "out of memory");
        if (st == CLGAN_OK)
            st = device_write(n->dev, n->acts, (st_off(l) + 3 * gc) * sizeof(float),
                              2 * gc * sizeof(float), h, 1);
        free(h);
    }
    if (st == CLGAN_OK && need_dx && is_flat(L)) {
        karg f[] = {KA(n->acts), KA(xo), KA(n->deltas), KA(dyo), KA(dxo), KA(n->params),
                    KA(go),      KA(n->acts), KA(so),   KA(B),   KA(R),   KA(C),
                    KA(G),       KA(N)};
        st = device_set_args(n->dev, l->k[K_DX_FLAT], "bn_bwd_dx_flat", f, 14);
        if (st == CLGAN_OK)
            st = device_run1d(n->dev, l->k[K_DX_FLAT], flat_items(l, B), "bn_bwd_dx_flat");
    } else if (st == CLGAN_OK && need_dx) {
        karg d[] = {KA(n->acts), KA(xo), KA(n->deltas), KA(dyo), KA(dxo), KA(n->params),
                    KA(go),      KA(n->acts), KA(so),   KA(B),   KA(R),   KA(C),
                    KA(HW),      KA(G),  KA(N),         KA(n->labels)};
        const char *dx = cond ? "bn_bwd_dx_cond" : "bn_bwd_dx";
        st = device_set_args(n->dev, l->k[K_DX], dx, d, cond ? 16 : 15);
        if (st == CLGAN_OK) st = device_run2d(n->dev, l->k[K_DX], C, B, dx);
    }
    return st;
}

static void bn_host(const layer_spec *L, const double *const *p, const double *x, double *y,
                    int batch, const host_ctx *hc) {
    int G = hc->groups > 0 ? hc->groups : 1, R = batch / G, C = L->in.c, HW = L->in.h * L->in.w;
    double eps = (float)L->v[EPS], mom = (float)L->v[MOMENTUM];
    for (int g = 0; g < G; g++)
        for (int c = 0; c < C; c++) {
            double mean, var, n = (double)R * HW;
            if (hc->train) {
                double s = 0, q = 0;
                for (int r = g * R; r < (g + 1) * R; r++)
                    for (int i = 0; i < HW; i++) s += x[((size_t)r * C + c) * HW + i];
                mean = s / n;
                for (int r = g * R; r < (g + 1) * R; r++)
                    for (int i = 0; i < HW; i++) {
                        double d = x[((size_t)r * C + c) * HW + i] - mean;
                        q += d * d;
                    }
                var = q / n;
                if (hc->update) {
                    hc->update[P_MEAN][c] = (1 - mom) * hc->update[P_MEAN][c] + mom * mean;
                    hc->update[P_VAR][c] =
                        (1 - mom) * hc->update[P_VAR][c] + mom * var * (n > 1 ? n / (n - 1) : 1);
                }
            } else {
                mean = p[P_MEAN][c];
                var = p[P_VAR][c];
            }
            double inv = 1 / sqrt(var + eps);
            for (int r = g * R; r < (g + 1) * R; r++)
                for (int i = 0; i < HW; i++) {
                    size_t at = ((size_t)r * C + c) * HW + i;
                    size_t kc = COND(L) ? (size_t)hc->labels[r] * C + c : (size_t)c;
                    y[at] = p[P_GAMMA][kc] * (x[at] - mean) * inv + p[P_BETA][kc];
                }
        }
}

const layer_class layer_batch_norm = {
    .name = "batch_norm",
    .keys = keys,
    .n_keys = (int)ARRAY_LEN(keys),
    .infer = bn_infer,
    .params = bn_params,
    .describe = bn_describe,
    .gemms = layer_no_gemms,
    .ops = {bn_setup, bn_forward, bn_backward},
    .host_forward = bn_host,
    .check_rows = bn_check_rows,
    .reads_labels = bn_reads_labels,    .no_tangent = "its batch statistics tie each row's output to the other rows, so a row's gradient is not its own (the WGAN-GP paper drops batch norm from the critic for this reason)",
};
