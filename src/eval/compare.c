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

/* Differences of a view a[off, off + count) from b[...], added into d: max |a - b|, max |a|,
 * the sums of (a - b)^2 and of a^2. A NaN in a - b makes the maximum NaN. */
typedef struct diffs {
    double max, max_a, sq, sq_a;
} diffs;

static void diff_add(diffs *d, const float *a, const float *b, size_t off, size_t count) {
    for (size_t i = off; i < off + count; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (!(x <= d->max)) d->max = x; /* NaN propagates */
        if (fabs(a[i]) > d->max_a) d->max_a = fabs(a[i]);
        d->sq += x * x;
        d->sq_a += (double)a[i] * a[i];
    }
}

/* max |a - b| relative to max |a| (absolute where a is 0). */
static double diff_rel(const diffs *d) {
    return d->max_a > 0 ? d->max / d->max_a : d->max;
}

/* ||a - b|| / ||a|| (NaN stays NaN). */
static double diff_norm(const diffs *d) {
    return d->sq_a > 0 ? sqrt(d->sq / d->sq_a) : sqrt(d->sq);
}

/*
 * The parameters' drift of network w into r: over every tensor but the biases that feed a batch
 * norm and that batch norm's running mean, which follows them (drift_abs/rel), and over those
 * apart (drift_norm_abs), which the batch norm subtracts: they part by +-lr a step on rounding
 * noise without changing what the network computes.
 */
static void drift(const net *n, const float *a, const float *b, compare_report *r, int w) {
    diffs kept = {0}, apart = {0};
    for (int li = 0; li < n->n_layers; li++) {
        const layer *l = &n->layers[li];
        int bias = net_spec_bias_into_norm(n->spec, li);
        int fed = net_spec_bias_into_norm(n->spec, li - 1); /* its running mean follows */
        for (int j = 0; j < l->n_params; j++) {
            const char *name = l->params[j].name;
            int away =
                (bias && strcmp(name, "bias") == 0) || (fed && strcmp(name, "running_mean") == 0);
            diff_add(away ? &apart : &kept, a, b, l->param_off[j], (size_t)l->params[j].count);
        }
    }
    r->drift_abs[w] = kept.max;
    r->drift_rel[w] = diff_rel(&kept);
    r->drift_norm_abs[w] = apart.max;
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
                    layer_path(n[0]->spec, li, d->path, sizeof d->path);
                    d->kind = layer_kind_name(l->spec->kind);
                    diffs da = {0}, dg = {0}, dw = {0};
                    diff_add(&da, acts[0], acts[1], l->y.off, cnt);
                    /* D's last step needed no gradient below its first layer; G's does */
                    diff_add(&dg, dl[0], dl[1], l->dy.off, cnt);
                    d->act_abs = da.max;
                    d->act_rel = diff_rel(&da);
                    d->act_norm = diff_norm(&da);
                    d->grad_abs = dg.max;
                    d->grad_rel = diff_rel(&dg);
                    d->grad_norm = diff_norm(&dg);
                    /* the layer's gradient as one vector, relative to its largest value over all
                     * its tensors (a tensor whose gradient is rounding noise, as a bias that
                     * feeds batch norm, has no scale of its own) */
                    for (int j = 0; j < l->n_params; j++)
                        diff_add(&dw, gr[0], gr[1], l->param_off[j], (size_t)l->params[j].count);
                    d->wgrad_abs = d->wgrad_rel = d->wgrad_norm = -1;
                    if (l->n_params > 0) {
                        d->wgrad_abs = dw.max;
                        d->wgrad_rel = diff_rel(&dw);
                        d->wgrad_norm = diff_norm(&dw);
                    }
                    d->bias_into_norm = net_spec_bias_into_norm(n[0]->spec, li);
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

clgan_status clgan_compare(const char *sel_a, const char *sel_b, clgan_model *m, int iters,
                           clgan_compare_report *r) {
    err_clear(&m->err);
    return compare_run(sel_a, sel_b, m, iters, r, &m->err);
}

void clgan_compare_report_free(clgan_compare_report *r) {
    compare_report_free(r);
}
