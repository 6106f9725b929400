/*
 * cli_theory.c - `clgan theory MODEL` (the paper's theory, checked numerically on a 1-D model)
 * and `clgan figure1 CKPT-or-RUN` (the paper's Figure 1 drawn from a real run).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "cli.h"
#include "image.h"
#include "rundir.h"
#include "theory.h"

#define TOL_D 0.05   /* (1): max |D - D*| */
#define TOL_V 0.02   /* (2), (3): nats */

int cmd_theory(const cli_opts *o) {
    long pre = 0, steps = 3000;
    if (opt_long(o, "--pre-iters", 0, 1L << 30, &pre) < 0 ||
        opt_long(o, "--d-steps", 1, 1L << 30, &steps) < 0)
        return EXIT_USAGE;
    clgan_model *m;
    if (clgan_model_load(o->positional, &m) != CLGAN_OK) {
        fprintf(stderr, "clgan theory: %s\n", clgan_model_errmsg(m));
        clgan_model_free(m);
        return 1;
    }
    if (m->kind != MODEL_GAN || m->train.pack > 1 || m->condition_classes > 0 ||
        (m->train.loss != GAN_LOSS_NON_SATURATING && m->train.loss != GAN_LOSS_MINIMAX)) {
        fprintf(stderr, "clgan theory: %s: theory checks the paper's GAN (one D judging one "
                        "sample, cross-entropy); this model %s\n", o->positional,
                m->kind != MODEL_GAN ? "declares a classifier" : m->train.pack > 1
                    ? "packs samples" : m->condition_classes ? "is conditional"
                    : "has another loss");
        clgan_model_free(m);
        return 1;
    }
    clgan_device *dev;
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        fprintf(stderr, "clgan theory: %s\n", clgan_device_errmsg(dev));
        clgan_device_free(dev);
        clgan_model_free(m);
        return 1;
    }
    theory_result r;
    clgan_status st = theory_run(dev, m, pre, steps, &r);
    if (st != CLGAN_OK) {
        fprintf(stderr, "clgan theory: %s\n", dev->err.msg);
        clgan_device_free(dev);
        clgan_model_free(m);
        return 1;
    }
    const char *csv = opt_get(o, "--csv");
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) {
            fprintf(stderr, "clgan theory: --csv: cannot write %s\n", csv);
        } else {
            fprintf(f, "x,p_data,p_g,d,d_star\n");
            const theory_curves *c = &r.curves;
            for (int j = 0; j < c->n; j++)
                fprintf(f, "%.6f,%.6g,%.6g,%.6f,%.6f\n", c->x[j], c->p_data[j], c->p_g[j], c->d[j],
                        c->p_data[j] + c->p_g[j] > 0 ? c->p_data[j] / (c->p_data[j] + c->p_g[j]) : 0.5);
            fclose(f);
        }
    }
    int ok1 = r.max_d_err <= TOL_D, ok2 = fabs(r.v - r.c_jsd) <= TOL_V,
        ok3 = fabs(r.v_equal + log(4.0)) <= TOL_V;
    printf("clgan theory: %s; G after %ld iterations of Algorithm 1, then D alone for %ld steps\n",
           m->name, pre, steps);
    printf("(1) optimal D: max |D(x) - p_data/(p_data+p_g)| = %.4f where p_data+p_g > 10%% of "
           "its peak (tolerance %.2f): %s\n", r.max_d_err, TOL_D, ok1 ? "ok" : "FAILED");
    printf("(2) V(D*, G) = %.4f nats, -log 4 + 2 JSD(p_data||p_g) = %.4f nats, |diff| %.4f "
           "(tolerance %.2f): %s\n", r.v, r.c_jsd, fabs(r.v - r.c_jsd), TOL_V, ok2 ? "ok" : "FAILED");
    printf("(3) p_g = p_data: max |D(x) - 1/2| = %.4f, C(G) = %.4f nats vs -log 4 = %.4f "
           "(tolerance %.2f): %s\n", r.max_half_err, r.v_equal, -log(4.0), TOL_V,
           ok3 ? "ok" : "FAILED");
    clgan_device_free(dev);
    clgan_model_free(m);
    return ok1 && ok2 && ok3 ? 0 : 1;
}

/* ---- Figure 1 -------------------------------------------------------------------------------- */

#define PW 360 /* panel */
#define PH 280
#define TOP 20
#define CURVE_H 170
#define XLINE 215
#define ZLINE 265

/* One panel: p_data dotted black, p_g green, D dashed blue; below, z mapped to x = G(z). */
static void panel(canvas *cv, int ox, const theory_curves *c, const float *zs, const float *xs,
                  int nz, float zlo, float zhi, char label) {
    double mx = 0;
    for (int j = 0; j < c->n; j++) mx = fmax(mx, fmax(c->p_data[j], c->p_g[j]));
    if (!(mx > 0)) mx = 1;
    double lo = c->x[0], hi = c->x[c->n - 1];
#define PXX(v) (ox + 10 + (int)lrint(((v) - lo) / (hi - lo) * (PW - 20)))
#define PYD(p) (TOP + CURVE_H - (int)lrint((p) / mx * CURVE_H * 0.9))
#define PYP(p) (TOP + CURVE_H - (int)lrint((p) * CURVE_H))
    canvas_line(cv, ox + 10, TOP + CURVE_H, ox + PW - 10, TOP + CURVE_H, 200, 200, 200);
    for (int j = 0; j + 1 < c->n; j++) {
        int x0 = PXX(c->x[j]), x1 = PXX(c->x[j + 1]);
        if (j % 4 < 2)
            canvas_line(cv, x0, PYD(c->p_data[j]), x1, PYD(c->p_data[j + 1]), 0, 0, 0);
        canvas_line(cv, x0, PYD(c->p_g[j]), x1, PYD(c->p_g[j + 1]), 20, 160, 40);
        if (j % 8 < 5) canvas_line(cv, x0, PYP(c->d[j]), x1, PYP(c->d[j + 1]), 30, 60, 220);
    }
    canvas_line(cv, ox + 10, XLINE, ox + PW - 10, XLINE, 0, 0, 0);
    canvas_line(cv, ox + 10, ZLINE, ox + PW - 10, ZLINE, 0, 0, 0);
    for (int i = 0; i < nz; i++) {
        int zx = ox + 10 + (int)lrint((zs[i] - zlo) / (zhi - zlo) * (PW - 20));
        int xx = PXX(xs[i]);
        if (xx < ox || xx > ox + PW) continue;
        canvas_line(cv, zx, ZLINE, xx, XLINE, 90, 90, 90);
    }
    canvas_text(cv, ox + PW - 20, XLINE - 10, "x", 0, 0, 0);
    canvas_text(cv, ox + PW - 20, ZLINE - 10, "z", 0, 0, 0);
    char lab[4] = {'(', label, ')', 0};
    canvas_text(cv, ox + PW / 2 - 9, PH - 10, lab, 0, 0, 0);
#undef PXX
#undef PYD
#undef PYP
}

typedef struct run_ckpt {
    char *path;
    unsigned long long iter;
} run_ckpt;

static int cmp_iter(const void *a, const void *b) {
    const run_ckpt *x = a, *y = b;
    return x->iter < y->iter ? -1 : x->iter > y->iter;
}

/*
 * The periodic checkpoints of a run (checkpoints/iter_N.safetensors) in the order of N, as a
 * number: past 999,999 iterations the names are no longer zero-padded to one width. Where the
 * run has a run id, checkpoints of another run (left by a --force) are left out.
 */
static int run_checkpoints(const char *dir, run_ckpt **out, int *foreign) {
    char *path = str_fmt("%s/checkpoints", dir);
    DIR *d = path ? opendir(path) : NULL;
    int n = 0, cap = 0, known;
    char id[17];
    rundir_read_id(dir, id, &known);
    run_ckpt *list = NULL;
    struct dirent *e;
    *foreign = 0;
    while (d && (e = readdir(d))) {
        unsigned long long it;
        int used = 0;
        if (sscanf(e->d_name, "iter_%llu.safetensors%n", &it, &used) != 1 ||
            e->d_name[used] != '\0' || strncmp(e->d_name, "iter_", 5) != 0 ||
            e->d_name[5] < '0' || e->d_name[5] > '9')
            continue;
        char *p = str_fmt("%s/%s", path, e->d_name);
        if (!p) break;
        if (known) {
            ckpt c;
            clgan_err er;
            int same = ckpt_open(p, &c, &er) != CLGAN_OK || strcmp(c.run_id, id) == 0;
            ckpt_close(&c);
            if (!same) { /* (a damaged one stays in: drawing it says what is wrong) */
                (*foreign)++;
                free(p);
                continue;
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            run_ckpt *l = realloc(list, (size_t)cap * sizeof *list);
            if (!l) {
                free(p);
                break;
            }
            list = l;
        }
        list[n++] = (run_ckpt){p, it};
    }
    if (d) closedir(d);
    free(path);
    if (n) qsort(list, (size_t)n, sizeof *list, cmp_iter);
    *out = list;
    return n;
}

/* Why Figure 1 cannot be drawn of model m (the checkpoint at path), or NULL: it needs a GAN
 * on 1-D data with 1-D noise, unconditional and unpacked. */
static const char *not_figure1(const clgan_model *m, char *buf, size_t len) {
    if (m->kind != MODEL_GAN)
        return "a classifier's checkpoint: Figure 1 draws a GAN's p_g and D(x)";
    if (shape_size(m->data.shape) != 1 || m->noise.dim != 1 ||
        (m->data.format != DATA_GAUSSIAN_1D && m->data.format != DATA_MIXTURE_1D)) {
        snprintf(buf, len, "Figure 1 needs 1-D noise and 1-D data (gaussian_1d or mixture_1d); "
                 "this model has %d-D noise and %s", m->noise.dim,
                 data_is_images(&m->data) ? "images" : "data of another kind");
        return buf;
    }
    if (m->condition_classes > 0) return "a conditional model: Figure 1 draws one p_g and one D(x)";
    if (m->train.pack > 1) {
        snprintf(buf, len, "its D judges %d samples at once (pack); Figure 1 draws D(x) of one",
                 m->train.pack);
        return buf;
    }
    return NULL;
}

int cmd_figure1(const cli_opts *o) {
    const char *outp = opt_get(o, "-o") ? opt_get(o, "-o") : "figure1.png";
    struct stat st_;
    char *chosen[4];
    int np = 0;
    run_ckpt *all = NULL;
    int nall = 0;
    if (stat(o->positional, &st_) == 0 && S_ISDIR(st_.st_mode)) {
        int foreign;
        /* the run's own model first: a run Figure 1 cannot draw is refused for that reason, not
         * for the periodic checkpoints it lacks */
        char *own = str_fmt("%s/checkpoint.safetensors", o->positional);
        ckpt c;
        clgan_err er;
        if (own && ckpt_open(own, &c, &er) == CLGAN_OK) {
            char why[300];
            const char *no = not_figure1(ckpt_model(&c), why, sizeof why);
            if (no) fprintf(stderr, "clgan figure1: %s: %s\n", o->positional, no);
            ckpt_close(&c);
            if (no) {
                free(own);
                return 1;
            }
        }
        free(own);
        nall = run_checkpoints(o->positional, &all, &foreign);
        if (nall == 0) {
            fprintf(stderr, "clgan figure1: %s/checkpoints holds no iter_*.safetensors of this "
                            "run%s (set train.checkpoint_every)\n", o->positional,
                    foreign ? ", only another run's" : "");
            free(all);
            return 1;
        }
        /* four panels spread over the run: (a) early ... (d) last */
        np = nall < 4 ? nall : 4;
        for (int i = 0; i < np; i++)
            chosen[i] = all[np == 1 ? 0 : (long)i * (nall - 1) / (np - 1)].path;
    } else {
        chosen[0] = (char *)o->positional;
        np = 1;
    }
    clgan_device *dev = NULL;
    int rc = 1;
    canvas cv = {0};
    clgan_err e;
    err_clear(&e);
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        fprintf(stderr, "clgan figure1: %s\n", clgan_device_errmsg(dev));
        goto done;
    }
    if (canvas_init(&cv, np * PW, PH, 255, &e) != CLGAN_OK) goto done;
    for (int i = 0; i < np; i++) {
        ckpt c;
        const clgan_model *m = NULL;
        net *g = NULL, *d = NULL;
        theory_curves curves;
        int ok = 0;
        if (ckpt_open(chosen[i], &c, &e) != CLGAN_OK) {
            fprintf(stderr, "clgan figure1: %s\n", e.msg);
            goto done;
        }
        m = ckpt_model(&c);
        char why[300];
        const char *no = not_figure1(m, why, sizeof why);
        if (no) {
            fprintf(stderr, "clgan figure1: %s: %s\n", chosen[i], no);
        } else if (ckpt_net(&c, dev, CLGAN_GENERATOR, 4096, &g, &e) != CLGAN_OK ||
                   ckpt_net(&c, dev, CLGAN_DISCRIMINATOR, THEORY_GRID, &d, &e) != CLGAN_OK) {
            fprintf(stderr, "clgan figure1: %s\n", e.msg);
        } else if (theory_curves_of(m, g, d, 100000, &curves) != CLGAN_OK) {
            fprintf(stderr, "clgan figure1: %s\n", dev->err.msg);
        } else {
            enum { NZ = 24 };
            float zs[NZ], xs[NZ];
            float zlo = m->noise.dist == NOISE_UNIFORM ? m->noise.a : m->noise.a - 2.5f * m->noise.b;
            float zhi = m->noise.dist == NOISE_UNIFORM ? m->noise.b : m->noise.a + 2.5f * m->noise.b;
            for (int k = 0; k < NZ; k++) zs[k] = zlo + (zhi - zlo) * (k + 0.5f) / NZ;
            if (net_run_eval(g, zs, NZ, xs) != CLGAN_OK) {
                fprintf(stderr, "clgan figure1: %s\n", dev->err.msg);
            } else {
                panel(&cv, i * PW, &curves, zs, xs, NZ, zlo, zhi, (char)('a' + i));
                printf("(%c) %s: iteration %s\n", 'a' + i, chosen[i], ckpt_meta(&c, "iter"));
                ok = 1;
            }
        }
        net_free(g);
        net_free(d);
        ckpt_close(&c);
        if (!ok) goto done;
    }
    if (canvas_write_png(&cv, outp, &e) != CLGAN_OK) {
        fprintf(stderr, "clgan figure1: %s\n", e.msg);
        goto done;
    }
    printf("clgan figure1: wrote %s (black dotted: p_data, green: p_g, blue dashed: D(x); "
           "below: z mapped to x = G(z))\n", outp);
    rc = 0;
done:
    canvas_free(&cv);
    for (int i = 0; i < nall; i++) free(all[i].path);
    free(all);
    clgan_device_free(dev);
    return rc;
}
