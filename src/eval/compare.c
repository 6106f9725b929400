/*
 * compare.c - see compare.h. Reads whole buffers back after each iteration: a diagnostic, not
 * a training path.
 */
#define _POSIX_C_SOURCE 200809L
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float *read_all(cl_mem buf, size_t n, clgan_device *dev, clgan_status *st) {
    float *v = malloc(n * sizeof *v);
    if (!v) {
        *st = err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *st = device_read(dev, buf, 0, n * sizeof *v, v);
    return v;
}

/* max |a - b| and that over max |a| over a view of `count` values; with sq, also the sums of
 * (a - b)^2 and a^2 added into sq[0], sq[1] (for the normwise difference). */
static void diff(const float *a, const float *b, size_t off, size_t count, double *abs_,
                 double *rel, double *sq) {
    double d = 0, mx = 0, s0 = 0, s1 = 0;
    for (size_t i = off; i < off + count; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (!(x <= d)) d = x; /* NaN propagates */
        if (fabs(a[i]) > mx) mx = fabs(a[i]);
        s0 += x * x;
        s1 += (double)a[i] * a[i];
    }
    *abs_ = d;
    *rel = mx > 0 ? d / mx : d;
    if (sq) sq[0] += s0, sq[1] += s1;
}

/* ||a - b|| / ||a|| from diff's sums (NaN stays NaN). */
static double normwise(const double *sq) {
    return sq[1] > 0 ? sqrt(sq[0] / sq[1]) : sqrt(sq[0]);
}

/* Whether layer li's bias feeds the batch norm right after it. */
static int bias_into_norm(const net *n, int li) {
    if (li + 1 >= n->n_layers || n->layers[li + 1].spec->kind != LAYER_BATCH_NORM) return 0;
    for (int j = 0; j < n->layers[li].n_params; j++)
        if (strcmp(n->layers[li].params[j].name, "bias") == 0) return 1;
    return 0;
}

/* The largest |a - b| of the views [off, off + count) of a run, and max |a| over them. */
static void drift_view(const float *a, const float *b, size_t off, size_t count, double *d,
                       double *mx) {
    for (size_t i = off; i < off + count; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (!(x <= *d)) *d = x; /* NaN propagates */
        if (fabs(a[i]) > *mx) *mx = fabs(a[i]);
    }
}

/*
 * The parameters' drift of network w into r: over every tensor but the biases that feed a batch
 * norm and that batch norm's running mean, which follows them (drift_abs/rel), and over those
 * apart (drift_norm_abs), which the batch norm subtracts: they part by +-lr a step on rounding
 * noise without changing what the network computes.
 */
static void drift(const net *n, const float *a, const float *b, compare_report *r, int w) {
    double d = 0, mx = 0, dn = 0, mn = 0;
    for (int li = 0; li < n->n_layers; li++) {
        const layer *l = &n->layers[li];
        int fed = li > 0 && l->spec->kind == LAYER_BATCH_NORM && bias_into_norm(n, li - 1);
        for (int j = 0; j < l->n_params; j++) {
            int apart = (bias_into_norm(n, li) && strcmp(l->params[j].name, "bias") == 0) ||
                        (fed && strcmp(l->params[j].name, "running_mean") == 0);
            drift_view(a, b, l->param_off[j], (size_t)l->params[j].count, apart ? &dn : &d,
                       apart ? &mn : &mx);
        }
    }
    r->drift_abs[w] = d;
    r->drift_rel[w] = mx > 0 ? d / mx : d;
    r->drift_norm_abs[w] = dn;
}

void compare_report_free(compare_report *r) {
    free(r->layers);
    r->layers = NULL;
    r->n_layers = 0;
}

clgan_status compare_run(const char *sel_a, const char *sel_b, const clgan_model *m, int iters,
                         compare_report *r, clgan_err *e) {
    memset(r, 0, sizeof *r);
    r->layers = calloc((size_t)(m->net[0].n_layers + m->net[1].n_layers), sizeof *r->layers);
    if (!r->layers) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    synthetic_run s[2];
    memset(s, 0, sizeof s);
    const char *sel[2] = {sel_a, sel_b};
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < 2 && st == CLGAN_OK; i++) {
        st = clgan_device_open(sel[i], &s[i].dev);
        if (st != CLGAN_OK) {
            err_set(e, st, "%s", clgan_device_errmsg(s[i].dev));
            break;
        }
        r->dev[i] = s[i].dev->info;
        st = synthetic_run_start(&s[i], m, e);
    }
    double *times[2] = {calloc((size_t)iters, sizeof(double)), calloc((size_t)iters, sizeof(double))};
    for (int it = 0; it < iters && st == CLGAN_OK; it++) {
        for (int i = 0; i < 2 && st == CLGAN_OK; i++) {
            double t0 = clock_seconds();
            st = trainer_iteration(&s[i].t);
            if (st == CLGAN_OK) st = device_finish(s[i].dev);
            times[i][it] = clock_seconds() - t0;
            if (st != CLGAN_OK) err_set(e, st, "%s", s[i].dev->err.msg);
        }
        if (st != CLGAN_OK) break;
        /* Everything both networks hold now, on both devices. */
        for (int w = 0; w < 2 && st == CLGAN_OK; w++) {
            net *n[2] = {w ? s[0].t.d : s[0].t.g, w ? s[1].t.d : s[1].t.g};
            float *acts[2], *dl[2], *gr[2], *par[2];
            for (int i = 0; i < 2; i++) {
                acts[i] = read_all(n[i]->acts, n[i]->n_acts, s[i].dev, &st);
                dl[i] = read_all(n[i]->deltas, n[i]->n_acts, s[i].dev, &st);
                gr[i] = read_all(n[i]->grads, n[i]->n_params, s[i].dev, &st);
                par[i] = read_all(n[i]->params, n[i]->n_params, s[i].dev, &st);
            }
            int rows = m->train.batch; /* rows of the last (G) step, in both networks */
            for (int li = 0; li < n[0]->n_layers && st == CLGAN_OK; li++) {
                const layer *l = &n[0]->layers[li];
                size_t cnt = (size_t)rows * l->y.cols;
                for (int i = 0; i < 2; i++)
                    if (!r->nonfinite_iter && (!floats_finite(acts[i] + l->y.off, cnt) ||
                                               !floats_finite(dl[i] + l->dy.off, cnt))) {
                        r->nonfinite_iter = it + 1;
                        snprintf(r->nonfinite_where, sizeof r->nonfinite_where,
                                 "%s layer %d (%s) on %s", w ? "discriminator" : "generator", li,
                                 layer_kind_name(l->spec->kind), r->dev[i].name);
                    }
                if (it == 0) { /* (room for every layer of both networks) */
                    layer_diff *d = &r->layers[r->n_layers++];
                    d->net = w;
                    d->layer = li;
                    d->kind = layer_kind_name(l->spec->kind);
                    double sa[2] = {0, 0}, sg[2] = {0, 0}, sw[2] = {0, 0};
                    diff(acts[0], acts[1], l->y.off, cnt, &d->act_abs, &d->act_rel, sa);
                    /* D's last step needed no gradient below its first layer; G's does */
                    diff(dl[0], dl[1], l->dy.off, cnt, &d->grad_abs, &d->grad_rel, sg);
                    d->act_norm = normwise(sa);
                    d->grad_norm = normwise(sg);
                    /* the layer's gradient as one vector: the largest difference over its
                     * tensors, relative to its largest value (a tensor whose gradient is
                     * rounding noise, as a bias that feeds batch norm, has no scale of its own) */
                    d->wgrad_abs = d->wgrad_rel = -1;
                    double scale = 0;
                    for (int j = 0; j < l->n_params; j++) {
                        double a, rel;
                        diff(gr[0], gr[1], l->param_off[j], (size_t)l->params[j].count, &a, &rel,
                             sw);
                        if (!(a <= d->wgrad_abs)) d->wgrad_abs = a;
                        if (rel > 0 && a / rel > scale) scale = a / rel;
                    }
                    d->wgrad_norm = -1;
                    if (l->n_params > 0) {
                        d->wgrad_rel = scale > 0 ? d->wgrad_abs / scale : d->wgrad_abs;
                        d->wgrad_norm = normwise(sw);
                    }
                    d->bias_into_norm = bias_into_norm(n[0], li);
                }
            }
            if (it == iters - 1) drift(n[0], par[0], par[1], r, w);
            for (int i = 0; i < 2; i++) {
                free(acts[i]);
                free(dl[i]);
                free(gr[i]);
                free(par[i]);
            }
        }
    }
    if (st == CLGAN_OK) {
        r->iters = iters;
        for (int i = 0; i < 2; i++) {
            r->ms[i] = median(times[i], iters) * 1e3;
        }
    }
    free(times[0]);
    free(times[1]);
    synthetic_run_free(&s[0]);
    synthetic_run_free(&s[1]);
    return st;
}
