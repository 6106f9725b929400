/*
 * plot.c - a run's curves as a picture: log.csv (train's columns, found by name) drawn as
 * panels against iterations, each with axes, ticks, labels and a legend: the losses, D(x) and
 * D(G(z)), the learning rates, and the Parzen log-likelihood when the run measured it.
 */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"

enum { C_ITER, C_DLOSS, C_GLOSS, C_DREAL, C_DFAKE, C_LRG, C_LRD, C_PARZEN, C_LOSS, C_TRAIN_ACC,
       C_TEST_ACC, C_LR, C_FID, N_COLS };
static const char *const col_names[N_COLS] = {
    "iter", "d_loss", "g_loss", "d_real", "d_fake",   "lr_g", "lr_d",
    "parzen_ll", "loss", "train_acc", "test_acc", "lr", "fid"};
_Static_assert(N_COLS == RUN_LOG_COLS, "run_log holds every column plot knows");

void run_log_free(run_log *l) {
    for (int i = 0; i < RUN_LOG_COLS; i++) free(l->v[i]);
    memset(l, 0, sizeof *l);
}

#define MAX_FIELDS 64

/* Splits a NUL-terminated line at its commas, in place: how many fields (at most max; -1 if
 * there are more). */
static int split(char *line, char **fields, int max) {
    int n = 0;
    for (char *p = line;; p++) {
        if (n == max) return -1;
        fields[n++] = p;
        p = strchr(p, ',');
        if (!p) return n;
        *p = '\0';
    }
}

clgan_status run_log_read(const char *path, run_log *out, clgan_err *e) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    clgan_status st = file_read_all(path, (size_t)1 << 30, &text, &len, e);
    if (st != CLGAN_OK) return st;
    char *fields[MAX_FIELDS];
    int where[MAX_FIELDS], line = 0, n_fields = 0;
    char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3; /* a UTF-8 byte-order mark */
    while (p < end && st == CLGAN_OK) {
        line++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        char *row = p;
        p = nl + 1;
        if (nl > row && nl[-1] == '\r') nl--; /* CRLF line ends */
        *nl = '\0';
        if (memchr(row, '\0', (size_t)(nl - row))) {
            st = err_set(e, CLGAN_ERR_DATA, "%s:%d: a NUL byte: not a text file", path, line);
            break;
        }
        int n = split(row, fields, MAX_FIELDS);
        if (n < 0) {
            st = err_set(e, CLGAN_ERR_DATA, "%s:%d: more than %d fields", path, line, MAX_FIELDS);
            break;
        }
        if (line == 1) { /* the header: the columns this reader knows, by name, among others */
            int have[N_COLS] = {0};
            n_fields = n;
            for (int i = 0; i < n; i++) {
                where[i] = -1;
                for (int c = 0; c < N_COLS; c++)
                    if (strcmp(fields[i], col_names[c]) == 0) where[i] = c, have[c]++;
            }
            for (int c = 0; c < N_COLS && st == CLGAN_OK; c++)
                if (have[c] > 1)
                    st = err_set(e, CLGAN_ERR_DATA, "%s:1: column '%s' appears twice", path,
                                 col_names[c]);
            if (st == CLGAN_OK && !have[C_ITER])
                st = err_set(e, CLGAN_ERR_DATA, "%s:1: no 'iter' column: not a clgan log.csv",
                             path);
            continue;
        }
        if (n == 1 && !*fields[0]) continue; /* an empty line */
        if (n != n_fields) {
            st = err_set(e, CLGAN_ERR_DATA, "%s:%d: %d fields, the header has %d", path, line, n,
                         n_fields);
            break;
        }
        if (out->n == out->cap) {
            int cap = out->cap ? 2 * out->cap : 256;
            for (int c = 0; c < N_COLS && st == CLGAN_OK; c++) {
                double *v = realloc(out->v[c], (size_t)cap * sizeof *v);
                if (!v) st = err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
                else out->v[c] = v;
            }
            if (st != CLGAN_OK) break;
            out->cap = cap;
        }
        for (int c = 0; c < N_COLS; c++) out->v[c][out->n] = NAN;
        for (int i = 0; i < n && st == CLGAN_OK; i++) {
            if (where[i] < 0 || !*fields[i]) continue; /* no interest, or no value */
            char *stop;
            errno = 0;
            double v = strtod(fields[i], &stop);
            /* (a value too small for a normal double, 1e-310, is a number: ERANGE says only
             * that it lost precision) */
            if (*stop || stop == fields[i])
                st = err_set(e, CLGAN_ERR_DATA, "%s:%d: column '%s': '%.40s' is not a number",
                             path, line, col_names[where[i]], fields[i]);
            else if (errno == ERANGE && isinf(v))
                st = err_set(e, CLGAN_ERR_DATA, "%s:%d: column '%s': '%.40s' is beyond the "
                             "range of doubles", path, line, col_names[where[i]], fields[i]);
            else /* a run that went non-finite logs nan or inf: drawn as a gap */
                out->v[where[i]][out->n] = isfinite(v) ? v : NAN;
        }
        if (st == CLGAN_OK && !isfinite(out->v[C_ITER][out->n]))
            st = err_set(e, CLGAN_ERR_DATA, "%s:%d: no iteration number", path, line);
        if (st == CLGAN_OK) out->n++;
    }
    if (st == CLGAN_OK && line == 0)
        st = err_set(e, CLGAN_ERR_DATA, "%s: empty: no header line (iter,epoch,...)", path);
    else if (st == CLGAN_OK && out->n == 0)
        st = err_set(e, CLGAN_ERR_DATA, "%s: no rows after the header", path);
    free(text);
    if (st != CLGAN_OK) run_log_free(out);
    return st;
}

/* ---- drawing ---------------------------------------------------------------------------------- */

#define W 760
#define PANEL_H 190
#define LEFT 78
#define RIGHT 20
#define TOP 24
#define BOTTOM 30

typedef struct rgb {
    unsigned char r, g, b;
} rgb;

static const rgb BLUE = {30, 80, 210}, RED = {210, 40, 40}, GREEN = {20, 150, 60},
                 GREY = {225, 225, 225}, BLACK = {0, 0, 0};

/* Ticks at 1, 2 or 5 times a power of ten, about n of them over [lo, hi]. */
static double tick_step(double lo, double hi, int n) {
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct axes {
    int x0, y0, w, h;      /* the plot area */
    double xlo, xhi, ylo, yhi;
} axes;

/* A pixel offset, clamped far outside any canvas (lrint of a huge value is undefined). */
static int to_pixel(double v) {
    return (int)lrint(v < -1e6 ? -1e6 : v > 1e6 ? 1e6 : v);
}

static int px(const axes *a, double x) {
    return a->x0 + to_pixel((x - a->xlo) / (a->xhi - a->xlo) * (a->w - 1));
}

static int py(const axes *a, double y) {
    return a->y0 + a->h - 1 - to_pixel((y - a->ylo) / (a->yhi - a->ylo) * (a->h - 1));
}

/*
 * Widens [*lo, *hi] where doubles cannot tell its ends apart well enough to draw it (equal
 * values, or values near 1e17 a few units apart): a span of at least a millionth of their size.
 */
static void drawable_span(double *lo, double *hi) {
    double size = fmax(fabs(*lo), fabs(*hi)), min = size > 0 ? size * 1e-6 : 1;
    if (!(*hi - *lo >= min)) {
        double mid = *lo / 2 + *hi / 2;
        *lo = mid - min;
        *hi = mid + min;
    }
}

/* At most this many ticks an axis, whatever the values: the loop that places them is bounded
 * by a count, not by a step that may be below the spacing of doubles. */
#define MAX_TICKS 32

/* The ticks of [lo, hi] at multiples of step: how many (at most MAX_TICKS), the first at
 * *first; each next one is first + i step. */
static int ticks(double lo, double hi, double step, double *first) {
    double k0 = ceil(lo / step), k1 = floor(hi / step + 1e-9);
    *first = k0 * step;
    double n = k1 - k0 + 1;
    return !(n > 0) ? 0 : n > MAX_TICKS ? MAX_TICKS : (int)n;
}

static void label_number(char *buf, size_t len, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0;
    snprintf(buf, len, "%g", v);
}

static void frame(canvas *c, const axes *a, const char *title, const char *ylabel) {
    char buf[32];
    double ys = tick_step(a->ylo, a->yhi, 4), y0;
    int ny = ticks(a->ylo, a->yhi, ys, &y0);
    for (int i = 0; i < ny; i++) {
        double y = y0 + i * ys;
        canvas_line(c, a->x0, py(a, y), a->x0 + a->w - 1, py(a, y), GREY.r, GREY.g, GREY.b);
        canvas_line(c, a->x0 - 4, py(a, y), a->x0, py(a, y), BLACK.r, BLACK.g, BLACK.b);
        label_number(buf, sizeof buf, y, ys);
        canvas_text(c, a->x0 - 7 - CANVAS_CHAR_W * (int)strlen(buf), py(a, y) - 3, buf, 0, 0, 0);
    }
    double xs = tick_step(a->xlo, a->xhi, 6), x0;
    int nx = ticks(a->xlo, a->xhi, xs, &x0);
    for (int i = 0; i < nx; i++) {
        double x = x0 + i * xs;
        canvas_line(c, px(a, x), a->y0, px(a, x), a->y0 + a->h - 1, GREY.r, GREY.g, GREY.b);
        canvas_line(c, px(a, x), a->y0 + a->h, px(a, x), a->y0 + a->h + 3, 0, 0, 0);
        label_number(buf, sizeof buf, x, xs);
        canvas_text(c, px(a, x) - CANVAS_CHAR_W * (int)strlen(buf) / 2, a->y0 + a->h + 6, buf, 0,
                    0, 0);
    }
    canvas_line(c, a->x0, a->y0, a->x0, a->y0 + a->h - 1, 0, 0, 0);
    canvas_line(c, a->x0, a->y0 + a->h - 1, a->x0 + a->w - 1, a->y0 + a->h - 1, 0, 0, 0);
    canvas_text(c, a->x0, a->y0 - 14, title, 0, 0, 0);
    canvas_text_up(c, 4, a->y0 + a->h / 2 + CANVAS_CHAR_W * (int)strlen(ylabel) / 2, ylabel, 0,
                   0, 0);
}

/* A series as a polyline (points: dots), skipping missing values. */
static void series(canvas *c, const axes *a, const run_log *l, int col, rgb k, int points) {
    int have = 0, lx = 0, ly = 0;
    for (int i = 0; i < l->n; i++) {
        double x = l->v[C_ITER][i], y = l->v[col][i];
        if (!isfinite(y)) continue;
        if (y < a->ylo) y = a->ylo;
        if (y > a->yhi) y = a->yhi;
        int X = px(a, x), Y = py(a, y);
        if (points) canvas_dot(c, X, Y, 2, k.r, k.g, k.b);
        else if (have) canvas_line(c, lx, ly, X, Y, k.r, k.g, k.b);
        lx = X, ly = Y, have = 1;
    }
}

static void legend(canvas *c, const axes *a, int slot, const char *name, rgb k, int low) {
    int x = a->x0 + a->w - 150, y = low ? a->y0 + a->h - 32 + 12 * slot : a->y0 + 6 + 12 * slot;
    canvas_rect(c, x, y + 3, x + 14, y + 4, k.r, k.g, k.b);
    canvas_text(c, x + 20, y, name, 0, 0, 0);
}

/* The range of the finite values of columns c0 and c1 (c1 < 0: one column), padded. */
static void yrange(const run_log *l, int c0, int c1, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < 2; k++) {
            int c = k ? c1 : c0;
            if (c < 0 || !isfinite(l->v[c][i])) continue;
            *lo = fmin(*lo, l->v[c][i]);
            *hi = fmax(*hi, l->v[c][i]);
        }
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    double pad = (*hi - *lo) * 0.05;
    if (pad <= 0) pad = fabs(*hi) > 0 ? fabs(*hi) * 0.1 : 1;
    *lo -= pad;
    *hi += pad;
    drawable_span(lo, hi);
}

static int any_finite(const run_log *l, int col) {
    for (int i = 0; i < l->n; i++)
        if (isfinite(l->v[col][i])) return 1;
    return 0;
}

/* The panels, drawn where the log has values for them: a GAN's, then a classifier's. */
typedef struct panel {
    const char *title, *ylabel;
    int c0, c1;
    const char *n0, *n1;
    int unit, points; /* y axis [0, 1]; values as dots (measured now and then) */
    int legend_low;   /* the legend at the bottom: the curves rise to the top */
} panel;

static const panel panel_spec[] = {
    {"losses against iterations", "loss", C_DLOSS, C_GLOSS, "D loss", "G loss", 0, 0, 0},
    {"D(x) and D(G(z))", "probability", C_DREAL, C_DFAKE, "D(x)", "D(G(z))", 1, 0, 0},
    {"learning rates", "learning rate", C_LRG, C_LRD, "G", "D", 0, 0, 0},
    {"Parzen log-likelihood", "nats", C_PARZEN, -1, "test images", NULL, 0, 1, 0},
    {"FID in a domain classifier feature space", "FID", C_FID, -1, "FID", NULL, 0, 1, 0},
    {"cross-entropy against iterations", "loss", C_LOSS, -1, "training loss", NULL, 0, 0, 0},
    {"accuracy", "accuracy", C_TRAIN_ACC, C_TEST_ACC, "training batches", "test images", 1, 0,
     1},
    {"learning rate", "learning rate", C_LR, -1, "lr", NULL, 0, 0, 0},
};

clgan_status plot_run_log(const run_log *l, const char *title, const char *png, clgan_err *e) {
    int show[ARRAY_LEN(panel_spec)], panels = 0;
    for (size_t p = 0; p < ARRAY_LEN(panel_spec); p++) {
        show[p] = any_finite(l, panel_spec[p].c0) ||
                  (panel_spec[p].c1 >= 0 && any_finite(l, panel_spec[p].c1));
        panels += show[p];
    }
    if (panels == 0) /* a log of iterations alone: the GAN's three panels, empty */
        for (int p = 0; p < 3; p++) show[p] = 1, panels++;
    canvas c;
    clgan_status st = canvas_init(&c, W, 18 + panels * (PANEL_H + TOP + BOTTOM), 255, e);
    if (st != CLGAN_OK) return st;
    canvas_text(&c, LEFT, 6, title, 0, 0, 0);
    double xlo = 0, xhi = l->v[C_ITER][l->n - 1]; /* from iteration 0, or the least logged */
    for (int i = 0; i < l->n; i++) {
        xlo = fmin(xlo, l->v[C_ITER][i]);
        xhi = fmax(xhi, l->v[C_ITER][i]);
    }
    if (xhi <= xlo) xhi = xlo + 1;
    drawable_span(&xlo, &xhi);
    int slot = 0;
    for (size_t p = 0; p < ARRAY_LEN(panel_spec); p++) {
        if (!show[p]) continue;
        const panel *sp = &panel_spec[p];
        axes a = {LEFT, 18 + TOP + slot * (PANEL_H + TOP + BOTTOM), W - LEFT - RIGHT, PANEL_H,
                  xlo,  xhi,  0, 1};
        slot++;
        if (!sp->unit) yrange(l, sp->c0, sp->c1, &a.ylo, &a.yhi);
        frame(&c, &a, sp->title, sp->ylabel);
        rgb k0 = sp->points ? GREEN : sp->c0 == C_LRG ? RED : BLUE,
            k1 = sp->c0 == C_LRG ? BLUE : RED;
        series(&c, &a, l, sp->c0, k0, sp->points);
        legend(&c, &a, 0, sp->n0, k0, sp->legend_low);
        if (sp->c1 >= 0) {
            /* the test accuracy is measured once an epoch: dots */
            series(&c, &a, l, sp->c1, k1, sp->c1 == C_TEST_ACC);
            legend(&c, &a, 1, sp->n1, k1, sp->legend_low);
        }
        if (slot == panels) canvas_text(&c, LEFT + (W - LEFT) / 2 - 27, a.y0 + a.h + 18,
                                        "iteration", 0, 0, 0);
    }
    st = canvas_write_png(&c, png, e);
    canvas_free(&c);
    return st;
}

clgan_status clgan_plot_run(const char *run_or_log, const char *png, int *rows, char *err,
                            size_t errlen) {
    clgan_err e;
    err_clear(&e);
    *rows = 0;
    struct stat sb;
    int is_dir = stat(run_or_log, &sb) == 0 && S_ISDIR(sb.st_mode);
    char *log = is_dir ? str_fmt("%s/log.csv", run_or_log) : str_dup(run_or_log);
    run_log l;
    clgan_status st = log ? run_log_read(log, &l, &e) : err_set(&e, CLGAN_ERR_NOMEM, "out of memory");
    if (st == CLGAN_OK) {
        st = plot_run_log(&l, run_or_log, png, &e);
        *rows = l.n;
        run_log_free(&l);
    }
    free(log);
    if (st != CLGAN_OK && err && errlen) snprintf(err, errlen, "%s", e.msg);
    return st;
}
