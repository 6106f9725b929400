/*
 * theory.c - the paper's Proposition 1 and Theorem 1 checked numerically on 1-D models.
 */
#include "theory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double data_density(const data_spec *d, double x) {
    double p = 0;
    for (int k = 0; k < d->n_comp; k++) {
        double s = d->stddev[k], z = (x - d->mean[k]) / s;
        p += d->weight[k] * exp(-0.5 * z * z) / (s * sqrt(2 * CLGAN_PI));
    }
    return p;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Gaussian KDE with Silverman's bandwidth, on sorted samples (only nearby ones contribute). */
static void kde(float *s, long n, const double *x, int nx, double *out) {
    qsort(s, (size_t)n, sizeof *s, cmp_float);
    double mean = 0, var = 0;
    for (long i = 0; i < n; i++) mean += s[i];
    mean /= n;
    for (long i = 0; i < n; i++) var += (s[i] - mean) * (s[i] - mean);
    double sd = sqrt(var / n), iqr = s[(n * 3) / 4] - s[n / 4];
    double spread = fmin(sd, iqr / 1.34);
    if (!(spread > 0)) spread = sd > 0 ? sd : 1e-3;
    double h = 0.9 * spread * pow((double)n, -0.2);
    for (int j = 0; j < nx; j++) {
        double lo = x[j] - 6 * h, hi = x[j] + 6 * h, acc = 0;
        long a = 0, b = n;
        while (a < b) { /* first sample >= lo */
            long mid = (a + b) / 2;
            if (s[mid] < lo) a = mid + 1; else b = mid;
        }
        for (long i = a; i < n && s[i] <= hi; i++) {
            double z = (x[j] - s[i]) / h;
            acc += exp(-0.5 * z * z);
        }
        out[j] = acc / (n * h * sqrt(2 * CLGAN_PI));
    }
}

clgan_status theory_curves_of(const clgan_model *m, net *g, net *dn, long n_samples,
                              theory_curves *c) {
    float *s = malloc((size_t)n_samples * sizeof *s);
    if (!s) return err_set(&g->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = net_sample(g, &m->noise, m->train.seed, 5000, n_samples, s);
    if (st != CLGAN_OK) {
        free(s);
        return st;
    }
    /* Grid: the data's +-5 stddev and the bulk of G's samples. */
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < m->data.n_comp; k++) {
        lo = fmin(lo, m->data.mean[k] - 5 * m->data.stddev[k]);
        hi = fmax(hi, m->data.mean[k] + 5 * m->data.stddev[k]);
    }
    float *sorted = malloc((size_t)n_samples * sizeof *sorted);
    if (!sorted) {
        free(s);
        return err_set(&g->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    memcpy(sorted, s, (size_t)n_samples * sizeof *s);
    qsort(sorted, (size_t)n_samples, sizeof *sorted, cmp_float);
    lo = fmin(lo, sorted[n_samples / 1000]);
    hi = fmax(hi, sorted[n_samples - 1 - n_samples / 1000]);
    free(sorted);
    c->n = THEORY_GRID;
    for (int j = 0; j < c->n; j++) {
        c->x[j] = lo + (hi - lo) * j / (c->n - 1);
        c->p_data[j] = data_density(&m->data, c->x[j]);
    }
    kde(s, n_samples, c->x, c->n, c->p_g);
    free(s);
    /* D on the grid, in chunks of D's capacity */
    float in[THEORY_GRID], out[THEORY_GRID];
    for (int j = 0; j < c->n; j++) in[j] = (float)c->x[j];
    for (int j = 0; j < c->n && st == CLGAN_OK; j += dn->capacity) {
        int rows = c->n - j < dn->capacity ? c->n - j : dn->capacity;
        st = net_run_eval(dn, in + j, rows, out + j);
    }
    for (int j = 0; j < c->n; j++) c->d[j] = out[j];
    return st;
}

/* Trapezoid rule on a uniform grid. */
static double trapz(const double *f, int n, double dx) {
    double s = 0;
    for (int j = 0; j + 1 < n; j++) s += 0.5 * (f[j] + f[j + 1]) * dx;
    return s;
}

double jsd_on_grid(const double *p, const double *q, int n, double dx) {
    double *f = malloc((size_t)n * sizeof *f);
    for (int j = 0; j < n; j++) {
        double m = 0.5 * (p[j] + q[j]), v = 0;
        if (p[j] > 0) v += 0.5 * p[j] * log(p[j] / m);
        if (q[j] > 0) v += 0.5 * q[j] * log(q[j] / m);
        f[j] = v;
    }
    double r = trapz(f, n, dx);
    free(f);
    return r;
}

double v_on_grid(const double *p, const double *q, const double *d, int n, double dx) {
    double *f = malloc((size_t)n * sizeof *f);
    for (int j = 0; j < n; j++) {
        double dj = fmin(fmax(d[j], 1e-12), 1 - 1e-12);
        f[j] = p[j] * log(dj) + q[j] * log(1 - dj);
    }
    double r = trapz(f, n, dx);
    free(f);
    return r;
}

/* D alone for `steps` steps with a learning rate decaying linearly to 0 (settles near D*). */
static clgan_status train_d(trainer *t, long steps) {
    optim_spec spec = *t->opt[1].spec;
    spec.schedule = LR_LINEAR;
    spec.decay_steps = steps;
    spec.lr_min = 0;
    const optim_spec *keep = t->opt[1].spec;
    t->opt[1].spec = &spec;
    t->opt[1].t = 0;
    clgan_status st = CLGAN_OK;
    for (long i = 0; i < steps && st == CLGAN_OK; i++) st = trainer_d_step(t);
    if (st == CLGAN_OK) st = device_finish(t->dev);
    t->opt[1].spec = keep;
    return st;
}

static clgan_status with_trainer(clgan_device *dev, const clgan_model *m, int fake_from_data,
                                 long pre_iters, long d_steps, theory_result *r) {
    dataset data;
    clgan_err e;
    err_clear(&e);
    clgan_status st = dataset_load(m, m->train.seed, &data, &e);
    if (st != CLGAN_OK) return err_set(&dev->err, st, "%s", e.msg);
    trainer t;
    st = dataset_upload(&data, dev);
    if (st == CLGAN_OK) st = trainer_init(&t, dev, m, &data, 4096);
    if (st != CLGAN_OK) {
        dataset_free(&data);
        return st;
    }
    for (long i = 0; i < pre_iters && st == CLGAN_OK; i++) st = trainer_iteration(&t);
    t.fake_from_data = fake_from_data;
    if (st == CLGAN_OK) st = train_d(&t, d_steps);
    theory_curves c;
    if (st == CLGAN_OK) st = theory_curves_of(m, t.g, t.d, 200000, &c);
    if (st == CLGAN_OK) {
        double dx = c.x[1] - c.x[0], peak = 0;
        const double *q = fake_from_data ? c.p_data : c.p_g;
        for (int j = 0; j < c.n; j++) peak = fmax(peak, c.p_data[j] + q[j]);
        double err = 0;
        for (int j = 0; j < c.n; j++) {
            if (c.p_data[j] + q[j] <= 0.1 * peak) continue;
            double dstar = fake_from_data ? 0.5 : c.p_data[j] / (c.p_data[j] + q[j]);
            err = fmax(err, fabs(c.d[j] - dstar));
        }
        double v = v_on_grid(c.p_data, q, c.d, c.n, dx);
        if (fake_from_data) {
            r->max_half_err = err;
            r->v_equal = v;
        } else {
            r->max_d_err = err;
            r->v = v;
            r->c_jsd = -log(4.0) + 2 * jsd_on_grid(c.p_data, c.p_g, c.n, dx);
            r->curves = c;
        }
    }
    trainer_free(&t);
    dataset_free(&data);
    return st;
}

clgan_status theory_run(clgan_device *dev, const clgan_model *m, long pre_iters, long d_steps,
                        theory_result *r) {
    memset(r, 0, sizeof *r);
    if (shape_size(m->data.shape) != 1 ||
        (m->data.format != DATA_GAUSSIAN_1D && m->data.format != DATA_MIXTURE_1D))
        return err_set(&dev->err, CLGAN_ERR_MODEL, "%s: the theory checks need 1-D data "
                       "(gaussian_1d or mixture_1d)", m->path);
    clgan_status st = with_trainer(dev, m, 0, pre_iters, d_steps, r);
    if (st == CLGAN_OK) st = with_trainer(dev, m, 1, 0, d_steps, r);
    return st;
}
