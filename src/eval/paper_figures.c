/*
 * paper_figures.c - the paper's theory checked numerically on a 1-D model (clgan_theory) and
 * its Figure 1 drawn from a real run's checkpoints (clgan_figure1), for clgan.h; `clgan theory`
 * and `clgan figure1` print what these return. Messages go to the device handle.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "image.h"
#include "rundir.h"
#include "theory.h"

_Static_assert(THEORY_GRID == ARRAY_LEN(((clgan_theory_result *)0)->x), "the curves fit");

clgan_status clgan_theory(const clgan_model *m, clgan_device *dev, long pre_iters, long d_steps,
                          clgan_theory_result *out) {
    memset(out, 0, sizeof *out);
    if (m->kind != MODEL_GAN || m->train.pack > 1 || m->condition_classes > 0 ||
        (m->train.loss != GAN_LOSS_NON_SATURATING && m->train.loss != GAN_LOSS_MINIMAX))
        return err_set(&dev->err, CLGAN_ERR_MODEL, "%s: theory checks the paper's GAN (one D "
                       "judging one sample, cross-entropy); this model %s", m->path,
                       m->kind != MODEL_GAN ? "declares a classifier" : m->train.pack > 1
                           ? "packs samples" : m->condition_classes ? "is conditional"
                           : "has another loss");
    if (pre_iters < 0 || d_steps < 1)
        return err_set(&dev->err, CLGAN_ERR_ARG, "clgan_theory: %s", pre_iters < 0
                       ? "pre_iters below 0" : "d_steps below 1");
    theory_result r;
    clgan_status st = theory_run(dev, m, pre_iters, d_steps, &r);
    if (st != CLGAN_OK) return st;
    out->max_d_err = r.max_d_err;
    out->v = r.v;
    out->c_jsd = r.c_jsd;
    out->max_half_err = r.max_half_err;
    out->v_equal = r.v_equal;
    out->n = r.curves.n;
    memcpy(out->x, r.curves.x, sizeof out->x);
    memcpy(out->p_data, r.curves.p_data, sizeof out->p_data);
    memcpy(out->p_g, r.curves.p_g, sizeof out->p_g);
    memcpy(out->d, r.curves.d, sizeof out->d);
    return CLGAN_OK;
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

clgan_status clgan_figure1(const char *ckpt_or_run, clgan_device *dev, const char *png,
                           clgan_figure1_result *out) {
    memset(out, 0, sizeof *out);
    clgan_err *e = &dev->err;
    struct stat st_;
    const char *chosen[4];
    int np = 0;
    run_ckpt *all = NULL;
    int nall = 0;
    clgan_status st = CLGAN_OK;
    if (stat(ckpt_or_run, &st_) == 0 && S_ISDIR(st_.st_mode)) {
        int foreign;
        /* the run's own model first: a run Figure 1 cannot draw is refused for that reason, not
         * for the periodic checkpoints it lacks */
        char *own = str_fmt("%s/checkpoint.safetensors", ckpt_or_run);
        ckpt c;
        clgan_err er;
        if (own && ckpt_open(own, &c, &er) == CLGAN_OK) {
            char why[300];
            const char *no = not_figure1(ckpt_model(&c), why, sizeof why);
            if (no) st = err_set(e, CLGAN_ERR_MODEL, "%s: %s", ckpt_or_run, no);
            ckpt_close(&c);
        }
        free(own);
        if (st != CLGAN_OK) return st;
        nall = run_checkpoints(ckpt_or_run, &all, &foreign);
        if (nall == 0) {
            free(all);
            return err_set(e, CLGAN_ERR_DATA, "%s/checkpoints holds no iter_*.safetensors of "
                           "this run%s (set train.checkpoint_every)", ckpt_or_run,
                           foreign ? ", only another run's" : "");
        }
        /* four panels spread over the run: (a) early ... (d) last */
        np = nall < 4 ? nall : 4;
        for (int i = 0; i < np; i++)
            chosen[i] = all[np == 1 ? 0 : (long)i * (nall - 1) / (np - 1)].path;
    } else {
        chosen[0] = ckpt_or_run;
        np = 1;
    }
    canvas cv = {0};
    if ((st = canvas_init(&cv, np * PW, PH, 255, e)) != CLGAN_OK) goto done;
    for (int i = 0; i < np && st == CLGAN_OK; i++) {
        ckpt c;
        net *g = NULL, *d = NULL;
        theory_curves curves;
        if ((st = ckpt_open(chosen[i], &c, e)) != CLGAN_OK) goto done;
        const clgan_model *m = ckpt_model(&c);
        char why[300];
        const char *no = not_figure1(m, why, sizeof why);
        clgan_err ne;
        err_clear(&ne);
        if (no) {
            st = err_set(e, CLGAN_ERR_MODEL, "%s: %s", chosen[i], no);
        } else if ((st = ckpt_net(&c, dev, CLGAN_GENERATOR, 4096, &g, &ne)) != CLGAN_OK ||
                   (st = ckpt_net(&c, dev, CLGAN_DISCRIMINATOR, THEORY_GRID, &d, &ne)) !=
                       CLGAN_OK) {
            *e = ne;
        } else if ((st = theory_curves_of(m, g, d, 100000, &curves)) == CLGAN_OK) {
            enum { NZ = 24 };
            float zs[NZ], xs[NZ];
            float zlo = m->noise.dist == NOISE_UNIFORM ? m->noise.a : m->noise.a - 2.5f * m->noise.b;
            float zhi = m->noise.dist == NOISE_UNIFORM ? m->noise.b : m->noise.a + 2.5f * m->noise.b;
            for (int k = 0; k < NZ; k++) zs[k] = zlo + (zhi - zlo) * (k + 0.5f) / NZ;
            if ((st = net_run_eval(g, zs, NZ, xs)) == CLGAN_OK) {
                panel(&cv, i * PW, &curves, zs, xs, NZ, zlo, zhi, (char)('a' + i));
                snprintf(out->path[i], sizeof out->path[i], "%s", chosen[i]);
                const char *it = ckpt_meta(&c, "iter");
                out->iter[i] = it ? strtoull(it, NULL, 10) : 0;
                out->panels = i + 1;
            }
        }
        net_free(g);
        net_free(d);
        ckpt_close(&c);
    }
    if (st == CLGAN_OK) st = canvas_write_png(&cv, png, e);
done:
    canvas_free(&cv);
    for (int i = 0; i < nall; i++) free(all[i].path);
    free(all);
    return st;
}
