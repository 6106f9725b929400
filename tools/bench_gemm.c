/*
 * bench_gemm.c - every GEMM of a model (forward, and both backward layouts, as Algorithm 1
 * runs them) timed on the engine's kernels, on CLBlast and on OpenBLAS's cblas_sgemm, in one
 * run on one machine. Built by tools/bench_gemm.sh (OpenBLAS is a tool dependency only).
 *
 * One-unit layers that the device runs without GEMMs (layer_runs_as_unit) are timed apart, as
 * training runs them (net_forward, net_backward on the layer alone), against OpenBLAS doing the
 * same work: sgemv and the bias forward; sgemm (K = 1) for dx, sgemv for dw and a sum for db.
 *
 * usage: bench_gemm MODEL [--device SEL]
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm.h"
#include "graph.h"

/*
 * Median over 7 runs of the time of `reps` calls, then `after` (the device's calls are enqueued
 * back to back and waited for once, as a training step runs them).
 */
#define MEDIAN_OF(body, after)                                                                     \
    do {                                                                                           \
        double ts_[7];                                                                             \
        for (int r_ = 0; r_ < 7; r_++) {                                                           \
            double t0_ = clock_seconds();                                                          \
            for (int q_ = 0; q_ < reps; q_++) {                                                    \
                body;                                                                              \
            }                                                                                      \
            after;                                                                                 \
            ts_[r_] = (clock_seconds() - t0_) / reps;                                              \
        }                                                                                          \
        result = median(ts_, 7);                                                                   \
    } while (0)

/* Fills v[n] with small values that do not repeat soon. */
static void fill(float *v, size_t n, int mod) {
    for (size_t q = 0; q < n; q++)
        v[q] = (float)((q * 7 + 3) % (size_t)mod) * 0.01f - 0.05f;
}

static double max_rel(const float *got, const float *want, size_t n) {
    double m = 0;
    for (size_t q = 0; q < n; q++) {
        double d = fabs((double)got[q] - want[q]) / (fabs((double)want[q]) + 1e-3);
        if (d > m) m = d;
    }
    return m;
}

/*
 * The passes of one iteration (k = 1) over one-unit layer `l` (position `pos`) of network
 * `which`, as net_gemm_shapes lists the GEMMs; adds each pass's time to *t_blas and *t_eng.
 * Returns 1 if the engine's results differ from OpenBLAS's.
 */
static int bench_unit(clgan_device *dev, const layer_spec *l, int pos, int which, int b,
                      double *t_blas, double *t_eng) {
    struct pass {
        int rows, din, dw;
    } passes[2] = {{b, 0, 1}, {b, 0, 1}};
    if (which == CLGAN_DISCRIMINATOR) { /* D step on 2m rows; G step through D on m rows */
        passes[0] = (struct pass){2 * b, 0, 1};
        passes[1] = (struct pass){b, 1, 0};
    }
    clgan_model *um = calloc(1, sizeof *um);
    net_spec *ns = &um->net[CLGAN_GENERATOR];
    ns->layers = malloc(sizeof *ns->layers);
    ns->layers[0] = *l;
    ns->n_layers = 1;
    ns->in = l->in;
    net *n = NULL;
    if (net_infer(um, ns, "bench") != CLGAN_OK ||
        net_create(dev, um, CLGAN_GENERATOR, 2 * b, 1, &n) != CLGAN_OK) {
        fprintf(stderr, "bench_gemm: one-unit layer: %s%s\n", um->err.msg, dev->err.msg);
        clgan_model_free(um);
        return 1;
    }
    const layer *ul = &n->layers[0];
    size_t R = 2 * (size_t)b, K = ul->x.cols;
    float *x = malloc(R * K * 4), *w = malloc((K + 1) * 4), *dy = malloc(R * 4), *y = malloc(R * 4),
          *dx = malloc(R * K * 4), *dw = malloc((K + 1) * 4), *got = malloc(R * K * 4);
    fill(x, R * K, 13);
    fill(w, K + 1, 7);
    fill(dy, R, 11);
    device_write(dev, n->acts, ul->x.off * 4, R * K * 4, x, 1);
    device_write(dev, n->params, ul->w_off * 4, K * 4, w, 1);
    device_write(dev, n->params, ul->b_off * 4, 4, w + K, 1);
    int bad = 0;
    for (int p = 0; p < 2; p++) {
        const struct pass *ps = &passes[p];
        int rows = ps->rows, need_dx = pos > 0 || ps->din, reps = 200;
        double result, tb, te;
        /* forward: y = x w + b */
        MEDIAN_OF(
            {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, (int)K, 1.0f, x, (int)K, w, 1, 0.0f,
                            y, 1);
                for (int r = 0; r < rows; r++)
                    y[r] += w[K];
            },
            (void)0);
        tb = result;
        net_forward(n, rows, 1);
        device_finish(dev);
        MEDIAN_OF(net_forward(n, rows, 1), device_finish(dev));
        te = result;
        device_read(dev, n->acts, ul->y.off * 4, (size_t)rows * 4, got);
        bad |= max_rel(got, y, (size_t)rows) > 1e-3;
        char shape[40];
        snprintf(shape, sizeof shape, "%dx%zu", rows, K);
        printf("%-22s %6s %10.2f %10.2f %12.2f  y = x w + b\n", shape, "fwd", tb * 1e6, te * 1e6,
               tb / te);
        *t_blas += tb;
        *t_eng += te;
        /* backward: dx = dy w^T; dw = x^T dy, db = sum dy */
        device_write(dev, n->deltas, ul->dy.off * 4, (size_t)rows * 4, dy, 1);
        MEDIAN_OF(
            {
                if (need_dx)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, (int)K, 1, 1.0f,
                                dy, 1, w, (int)K, 0.0f, dx, (int)K);
                if (ps->dw) {
                    cblas_sgemv(CblasRowMajor, CblasTrans, rows, (int)K, 1.0f, x, (int)K, dy, 1,
                                0.0f, dw, 1);
                    float s = 0;
                    for (int r = 0; r < rows; r++)
                        s += dy[r];
                    dw[K] = s;
                }
            },
            (void)0);
        tb = result;
        net_backward(n, 0, rows, need_dx, ps->dw);
        device_finish(dev);
        MEDIAN_OF(net_backward(n, 0, rows, need_dx, ps->dw), device_finish(dev));
        te = result;
        if (need_dx) {
            device_read(dev, n->deltas, ul->dx.off * 4, (size_t)rows * K * 4, got);
            bad |= max_rel(got, dx, (size_t)rows * K) > 1e-3;
        }
        if (ps->dw) {
            device_read(dev, n->grads, ul->w_off * 4, K * 4, got);
            device_read(dev, n->grads, ul->b_off * 4, 4, got + K);
            bad |= max_rel(got, dw, K + 1) > 1e-3;
        }
        printf("%-22s %6s %10.2f %10.2f %12.2f  %s%s%s\n", shape, "bwd", tb * 1e6, te * 1e6,
               tb / te, need_dx ? "dx = dy w^T" : "", need_dx && ps->dw ? "; " : "",
               ps->dw ? "dw = x^T dy, db = sum dy" : "");
        *t_blas += tb;
        *t_eng += te;
    }
    free(x);
    free(w);
    free(dy);
    free(y);
    free(dx);
    free(dw);
    free(got);
    net_free(n);
    clgan_model_free(um);
    return bad;
}

int main(int argc, char **argv) {
    const char *model = NULL, *sel = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            sel = argv[++i];
        else
            model = argv[i];
    }
    if (!model) {
        fprintf(stderr, "usage: bench_gemm MODEL [--device SEL]\n");
        return 2;
    }
    clgan_model *m;
    if (model_load_shapes(model, &m) != CLGAN_OK) {
        fprintf(stderr, "bench_gemm: %s\n", clgan_model_errmsg(m));
        return 1;
    }
    clgan_device *dev;
    if (clgan_device_open(sel, &dev) != CLGAN_OK) {
        fprintf(stderr, "bench_gemm: %s\n", clgan_device_errmsg(dev));
        return 1;
    }
    int b = m->train.batch;
    /* per iteration (k = 1): G forward in the D step; G forward and backward in the G step;
     * D forward and backward (weights) on 2m rows; D forward and backward (input) on m rows */
    const struct {
        const net_spec *net;
        int rows, din, dw;
    } passes[4] = {{&m->net[CLGAN_GENERATOR], b, 0, 0},
                   {&m->net[CLGAN_GENERATOR], b, 0, 1},
                   {&m->net[CLGAN_DISCRIMINATOR], 2 * b, 0, 1},
                   {&m->net[CLGAN_DISCRIMINATOR], b, 1, 0}};
    int n = 0;
    for (int p = 0; p < 4; p++)
        n += net_gemm_shapes(dev, passes[p].net, passes[p].rows, 1, passes[p].din, passes[p].dw,
                             NULL, 0);
    gemm_shape *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    if (!s) return 1;
    for (int p = 0, at = 0; p < 4; p++)
        at += net_gemm_shapes(dev, passes[p].net, passes[p].rows, 1, passes[p].din, passes[p].dw,
                              s + at, n - at);
    printf("%s on %s; OpenBLAS (cblas_sgemm) on the host\n", m->name, dev->info.name);
    printf("%-22s %6s %10s %10s %10s %12s %9s  %s\n", "M x N x K", "layout", "OpenBLAS", "engine",
           "CLBlast", "engine/BLAS", "calls/it", "engine tiles");
    double t_blas = 0, t_eng = 0, t_clb = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        /* the same shape may occur twice (G step and D step); count it once */
        int dup = 0, calls = 0;
        for (int j = 0; j < n; j++)
            if (s[j].ta == s[i].ta && s[j].tb == s[i].tb && s[j].m == s[i].m && s[j].n == s[i].n &&
                s[j].k == s[i].k) {
                calls++;
                if (j < i) dup = 1;
            }
        if (dup) continue;
        size_t M = s[i].m, N = s[i].n, K = s[i].k;
        double flops = 2.0 * M * N * K;
        int reps = flops < 1e7 ? 50 : flops < 1e8 ? 10 : 3;
        float *a = malloc(M * K * 4), *bb = malloc(K * N * 4), *c = malloc(M * N * 4);
        fill(a, M * K, 13);
        fill(bb, K * N, 7);
        size_t lda = s[i].ta ? M : K, ldb = s[i].tb ? K : N;
        double result, tb, te, tc;
        MEDIAN_OF(cblas_sgemm(CblasRowMajor, s[i].ta ? CblasTrans : CblasNoTrans,
                              s[i].tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, a,
                              (int)lda, bb, (int)ldb, 0.0f, c, (int)N),
                  (void)0);
        tb = result;
        cl_mem da, db, dc;
        device_alloc(dev, M * K * 4, "a", &da);
        device_alloc(dev, K * N * 4, "b", &db);
        device_alloc(dev, M * N * 4, "c", &dc);
        device_write(dev, da, 0, M * K * 4, a, 1);
        device_write(dev, db, 0, K * N * 4, bb, 1);
        /* the engine: every configuration, the fastest reported (as training's tuning picks) */
        int best_v = 0;
        te = 1e30;
        for (int v = 0; v < gemm_n_configs(); v++) {
            gemm_on_config(dev, v, s[i].ta, s[i].tb, M, N, K, 1, da, 0, lda, db, 0, ldb, 0, dc, 0,
                           N);
            device_finish(dev); /* warm-up */
            MEDIAN_OF(gemm_on_config(dev, v, s[i].ta, s[i].tb, M, N, K, 1, da, 0, lda, db, 0, ldb,
                                     0, dc, 0, N),
                      device_finish(dev));
            if (result < te) {
                te = result;
                best_v = v;
            }
        }
        gemm_on(dev, GEMM_CLBLAST, s[i].ta, s[i].tb, M, N, K, 1, da, 0, lda, db, 0, ldb, 0, dc, 0,
                N);
        device_finish(dev); /* warm-up (and CLBlast's compile) */
        MEDIAN_OF(gemm_on(dev, GEMM_CLBLAST, s[i].ta, s[i].tb, M, N, K, 1, da, 0, lda, db, 0, ldb,
                          0, dc, 0, N),
                  device_finish(dev));
        tc = result;
        /* the engine's product against OpenBLAS's (c holds its last result) */
        gemm_on_config(dev, best_v, s[i].ta, s[i].tb, M, N, K, 1, da, 0, lda, db, 0, ldb, 0, dc, 0,
                       N);
        float *got = malloc(M * N * 4);
        device_read(dev, dc, 0, M * N * 4, got);
        double maxrel = max_rel(got, c, M * N);
        free(got);
        if (maxrel > 1e-3) {
            fprintf(stderr, "bench_gemm: %zux%zux%zu: the engine differs from OpenBLAS by %.2g\n",
                    M, N, K, maxrel);
            bad = 1;
        }
        char shape[40];
        snprintf(shape, sizeof shape, "%zux%zux%zu", M, N, K);
        printf("%-22s %6s %10.1f %10.1f %10.1f %12.2f %9d  %s\n", shape,
               s[i].ta   ? "TN"
               : s[i].tb ? "NT"
                         : "NN",
               flops / tb * 1e-9, flops / te * 1e-9, flops / tc * 1e-9, tb / te, calls,
               gemm_config_name(best_v));
        t_blas += tb * calls;
        t_eng += te * calls;
        t_clb += tc * calls;
        clReleaseMemObject(da);
        clReleaseMemObject(db);
        clReleaseMemObject(dc);
        free(a);
        free(bb);
        free(c);
    }
    printf("one iteration's GEMMs: OpenBLAS %.1f ms, engine %.1f ms, CLBlast %.1f ms "
           "(engine/OpenBLAS speed %.2f)\n",
           t_blas * 1e3, t_eng * 1e3, t_clb * 1e3, t_blas / t_eng);
    int header = 0;
    double u_blas = 0, u_eng = 0;
    for (int w = 0; w < 2; w++) {
        const net_spec *ns = &m->net[w];
        for (int i = 0; i < ns->n_layers; i++) {
            if (!layer_runs_as_unit(dev, &ns->layers[i])) continue;
            if (!header++)
                printf("\none-unit layers, fused kernels (unit_fwd, unit_bwd) against OpenBLAS "
                       "doing the same work, microseconds:\n%-22s %6s %10s %10s %12s  %s\n",
                       "rows x inputs", "pass", "OpenBLAS", "engine", "engine/BLAS", "work");
            if (bench_unit(dev, &ns->layers[i], i, w, b, &u_blas, &u_eng)) {
                fprintf(stderr, "bench_gemm: a one-unit layer differs from OpenBLAS\n");
                bad = 1;
            }
        }
    }
    if (header)
        printf("one iteration's one-unit layers: OpenBLAS %.1f us, engine %.1f us (speed %.2f)\n",
               u_blas * 1e6, u_eng * 1e6, u_blas / u_eng);
    free(s);
    clgan_device_free(dev);
    clgan_model_free(m);
    return bad;
}
