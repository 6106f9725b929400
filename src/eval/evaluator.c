/*
 * evaluator.c - the public clgan_evaluator: a generator (or a set of images from anywhere, or
 * real training images) measured against real images in the feature space of a domain
 * classifier trained by clgan, as metrics.h defines the figures (`clgan eval --fid --kid
 * --prdc --score --classifier CLS` prints them).
 *
 * Pixels travel in [0, 1] between models: a generator's samples leave its data range, enter
 * the classifier's. Features are the output of one classifier layer, by default the input of
 * its last layer with parameters (the penultimate layer of TF-GAN's MNIST evaluation).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "feature_space.h"
#include "npy.h"

struct clgan_evaluator {
    clgan_err err;
    clgan_device *dev;      /* the caller's */
    char *path;             /* the classifier's checkpoint */
    feature_space fs;
    int open;
};

clgan_eval_params clgan_eval_default_params(void) {
    clgan_eval_params p;
    memset(&p, 0, sizeof p);
    p.fid = 1;
    p.split = "test";
    p.samples = 10000;
    p.k = 5;
    p.kid_subsets = 100;
    p.kid_size = 1000;
    return p;
}

/* Whether paths a and b name one existing file. */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* A set of images: n x cols floats in [0, 1], and where they came from. */
typedef struct image_set {
    float *x;             /* owned (NULL where borrowed is set) */
    const float *borrowed; /* the caller's images */
    long n;
    char what[512];
} image_set;

/* --images FILE: IDX bytes (0..255), or .npy in the data's range of model d. */
static clgan_status load_images(const char *path, const data_spec *d, long cols, image_set *s,
                                clgan_err *e) {
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".npy") == 0) {
        long dims[NPY_MAX_DIMS];
        int nd;
        clgan_status st = npy_read(path, &s->x, dims, &nd, e);
        if (st != CLGAN_OK) return st;
        long per = 1;
        for (int i = 1; i < nd; i++) per *= dims[i];
        if (nd < 2 || per != cols) {
            free(s->x);
            s->x = NULL;
            return err_set(e, CLGAN_ERR_DATA, "%s: %d-dimensional array of %ld values per item; "
                           "expected N x C x H x W or N x H x W of %ld values per image", path,
                           nd, per, cols);
        }
        s->n = dims[0];
        /* C x H x W or H x W as the model's images are, not only as many values */
        shape3 ds = d->shape;
        int fits = nd == 4 ? dims[1] == ds.c && dims[2] == ds.h && dims[3] == ds.w
                   : nd == 3 ? ds.c == 1 && dims[1] == ds.h && dims[2] == ds.w
                             : 0;
        if (!fits) {
            free(s->x);
            s->x = NULL;
            char got[96] = "";
            for (int i = 1; i < nd; i++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%ld", i > 1 ? "x" : "",
                         dims[i]);
            return err_set(e, CLGAN_ERR_DATA, "%s: images of %s; the model's are %dx%dx%d (N x "
                           "C x H x W, or N x H x W for one channel)", path, got, ds.c, ds.h,
                           ds.w);
        }
        float lo = INFINITY, hi = -INFINITY;
        for (long i = 0; i < s->n * cols; i++) {
            float v = s->x[i];
            if (!isfinite(v)) {
                free(s->x);
                s->x = NULL;
                return err_set(e, CLGAN_ERR_DATA, "%s: value %ld is %s", path, i,
                               isnan(v) ? "NaN" : "Inf");
            }
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
        }
        /* the data's range, up to float rounding of a scaled copy: values outside it would be
         * measured as images they are not (a [0, 255] array against [-1, 1]: FID 500,000) */
        double a = d->range[0], b = d->range[1], tol = 1e-4 * (b - a);
        if (lo < a - tol || hi > b + tol) {
            free(s->x);
            s->x = NULL;
            return err_set(e, CLGAN_ERR_DATA, "%s: values lie in [%g, %g], outside the model's "
                           "data range [%g, %g] (data.range): scale them into it", path,
                           (double)lo, (double)hi, a, b);
        }
        data_to_unit(d, s->x, (size_t)(s->n * cols));
        snprintf(s->what, sizeof s->what, "%ld images of %s (values in [%g, %g] of the data "
                 "range [%g, %g])", s->n, path, (double)lo, (double)hi, a, b);
        return CLGAN_OK;
    }
    idx_header h;
    clgan_status st = idx_load(path, 0, -1, &h, &s->x, e);
    if (st != CLGAN_OK) return st;
    long per = 1;
    for (int i = 1; i < h.ndim; i++) per *= (long)h.dims[i];
    shape3 ds = d->shape;
    int fits = h.ndim == 3 && ds.c == 1 && (int)h.dims[1] == ds.h && (int)h.dims[2] == ds.w;
    if (!fits || per != cols) {
        free(s->x);
        s->x = NULL;
        if (h.ndim != 3)
            return err_set(e, CLGAN_ERR_DATA, "%s: %d-dimensional data, not images; the model's "
                           "images are %dx%dx%d", path, h.ndim, ds.c, ds.h, ds.w);
        return err_set(e, CLGAN_ERR_DATA, "%s: images of %ux%u; the model's are %dx%dx%d", path,
                       h.dims[1], h.dims[2], ds.c, ds.h, ds.w);
    }
    s->n = (long)h.dims[0];
    snprintf(s->what, sizeof s->what, "%ld images of %s", s->n, path);
    return CLGAN_OK;
}

/* Mean largest class probability: how sure the classifier is, on average. */
static double mean_confidence(const float *z, long n, int k) {
    double s = 0;
    for (long i = 0; i < n; i++) {
        const float *r = z + i * k;
        double mx = r[0], sum = 0;
        for (int j = 1; j < k; j++) mx = fmax(mx, r[j]);
        for (int j = 0; j < k; j++) sum += exp(r[j] - mx);
        s += 1.0 / sum;
    }
    return n ? s / (double)n : NAN;
}

clgan_status clgan_evaluator_open(const char *classifier, int feature_layer, clgan_device *dev,
                                  clgan_evaluator **out) {
    clgan_evaluator *ev = calloc(1, sizeof *ev);
    *out = ev;
    if (!ev) return CLGAN_ERR_NOMEM;
    ev->dev = dev;
    if (!classifier || !dev)
        return err_set(&ev->err, CLGAN_ERR_ARG, "classifier: %s",
                       !classifier ? "no checkpoint given" : "no device");
    if (!(ev->path = str_dup(classifier))) return err_set(&ev->err, CLGAN_ERR_NOMEM, "out of memory");
    /* the classifier first: its checkpoint and layer are checked before any device work */
    clgan_err e;
    err_clear(&e);
    ckpt cc;
    if (ckpt_open(classifier, &cc, &e) != CLGAN_OK)
        return err_set(&ev->err, e.status, "classifier: %s", e.msg);
    const clgan_model *cm0 = ckpt_model(&cc);
    int cls_ok = cm0->kind == MODEL_CLASSIFIER, n_layers = cm0->net[CLGAN_CLASSIFIER].n_layers;
    ckpt_close(&cc);
    if (!cls_ok)
        return err_set(&ev->err, CLGAN_ERR_DATA, "classifier: %s is a checkpoint of a GAN; give "
                       "a classifier's (clgan train models/fashion_classifier.yaml)", classifier);
    if (feature_layer >= n_layers - 1 || feature_layer < -1)
        return err_set(&ev->err, CLGAN_ERR_ARG, "feature_layer: %d is not a layer before the "
                       "classifier's output (0 to %d; see clgan check on its model)",
                       feature_layer, n_layers - 2);
    if (feature_space_open(&ev->fs, dev, classifier, feature_layer, &e) != CLGAN_OK)
        return err_set(&ev->err, e.status, "classifier: %s", e.msg);
    ev->open = 1;
    return CLGAN_OK;
}

const char *clgan_evaluator_errmsg(const clgan_evaluator *ev) {
    return ev ? ev->err.msg : "out of memory";
}

void clgan_evaluator_free(clgan_evaluator *ev) {
    if (!ev) return;
    if (ev->open) feature_space_close(&ev->fs);
    free(ev->path);
    free(ev);
}

/* Whether dm's data are images the classifier takes, with a split to measure against. */
static clgan_status check_data(clgan_evaluator *ev, const clgan_model *dm) {
    const net_spec *cn = &ev->fs.cm->net[CLGAN_CLASSIFIER];
    shape3 ds = dm->data.shape;
    if (!data_is_images(&dm->data))
        return err_set(&ev->err, CLGAN_ERR_DATA, "%s's data are not images (%d value%s per "
                       "sample); the classifier %s takes %dx%dx%d images", dm->name,
                       (int)shape_size(ds), shape_size(ds) == 1 ? "" : "s", ev->path, cn->in.c,
                       cn->in.h, cn->in.w);
    if (ds.c != cn->in.c || ds.h != cn->in.h || ds.w != cn->in.w)
        return err_set(&ev->err, CLGAN_ERR_DATA, "%s's images are %dx%dx%d%s; the classifier %s "
                       "takes %dx%dx%d", dm->name, ds.c, ds.h, ds.w,
                       dm->data.format == DATA_STACKED_IDX
                           ? " (stacked digits: --modes --classifier counts their modes)" : "",
                       ev->path, cn->in.c, cn->in.h, cn->in.w);
    if (dm->data.format != DATA_IDX)
        return err_set(&ev->err, CLGAN_ERR_DATA, "%s's data are stacked images, which have no "
                       "test split to measure against; --modes --classifier counts their modes",
                       dm->name);
    return CLGAN_OK;
}

static clgan_status check_params(clgan_evaluator *ev, const clgan_eval_params *p) {
    if (!p->split || (strcmp(p->split, "test") != 0 && strcmp(p->split, "train") != 0 &&
                      strcmp(p->split, "valid") != 0))
        return err_set(&ev->err, CLGAN_ERR_ARG, "split: expected test, train or valid, got "
                       "'%s'", p->split ? p->split : "(null)");
    if (p->samples < 2 || p->k < 1 || p->kid_subsets < 1 || p->kid_size < 2)
        return err_set(&ev->err, CLGAN_ERR_ARG, "%s", p->samples < 2 ? "samples: at least 2"
                       : p->k < 1 ? "k: at least 1" : p->kid_subsets < 1
                       ? "kid_subsets: at least 1" : "kid_size: at least 2");
    return CLGAN_OK;
}

/* The features never replace what they are computed from (inputs: up to 3 files). */
static clgan_status check_outputs(clgan_evaluator *ev, const clgan_eval_params *p,
                                  const char *const inputs[3]) {
    clgan_err *e = &ev->err;
    clgan_status st;
    if (p->features_npy) {
        for (int w = 0; w < 2; w++) {
            char *np = str_fmt("%s.%s.npy", p->features_npy, w ? "real" : "gen");
            for (int i = 0; np && i < 3; i++)
                if (inputs[i] && same_file(np, inputs[i])) {
                    st = err_set(e, CLGAN_ERR_ARG, "features_npy: %s would be written over %s, "
                                 "an input of this evaluation; give another prefix", np,
                                 inputs[i]);
                    free(np);
                    return st;
                }
            free(np);
        }
    }
    return CLGAN_OK;
}

/*
 * The figures of gen (n x cols in [0, 1]) against dm's p->split. cond: a conditional
 * generator's classes (0: none), whose sample i was drawn for class i mod cond (net_sample's
 * labels), named by source in a note; t0: when gathering gen began.
 */
static clgan_status measure(clgan_evaluator *ev, const image_set *gen, const clgan_model *dm,
                            int cond, const char *source, const clgan_eval_params *p, double t0,
                            clgan_eval_result *r) {
    feature_space *fs = &ev->fs;
    clgan_err *e = &ev->err;
    image_set ref = {0};
    float *fg = NULL, *fr = NULL, *zg = NULL, *zr = NULL;
    double *mu[2] = {NULL, NULL}, *cov[2] = {NULL, NULL};
    gram_device gd;
    memset(&gd, 0, sizeof gd);
    const float *gx = gen->borrowed ? gen->borrowed : gen->x;
    clgan_status st;
    clgan_err se;
    err_clear(&se);
    if ((st = data_split_unit(&dm->data, p->split, p->samples, &ref.x, &ref.n, ref.what,
                              sizeof ref.what, &se)) != CLGAN_OK) {
        err_set(e, st, "split %s: %s", p->split, se.msg);
        goto done;
    }
    int fd = fs->dim, K = fs->classes;
    fg = malloc((size_t)gen->n * fd * sizeof *fg);
    fr = malloc((size_t)ref.n * fd * sizeof *fr);
    zg = malloc((size_t)gen->n * K * sizeof *zg);
    zr = malloc((size_t)ref.n * K * sizeof *zr);
    if (!fg || !fr || !zg || !zr) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = feature_space_embed(fs, gx, gen->n, fg, zg, e)) != CLGAN_OK ||
        (st = feature_space_embed(fs, ref.x, ref.n, fr, zr, e)) != CLGAN_OK)
        goto done;
    r->seconds_features = clock_seconds() - t0;
    for (int w = 0; p->features_npy && w < 2; w++) {
        char *np = str_fmt("%s.%s.npy", p->features_npy, w ? "real" : "gen");
        st = np ? npy_write(np, w ? fr : fg, w ? ref.n : gen->n, (size_t)fd, &se)
                : err_set(&se, CLGAN_ERR_NOMEM, "out of memory");
        free(np);
        if (st != CLGAN_OK) {
            err_set(e, st, "features_npy: %s", se.msg);
            goto done;
        }
    }
    double t1 = clock_seconds();
    gram_ops ops;
    gram_device_init(&gd, ev->dev, &ops);
    kid_result kid = {NAN, NAN, NAN, 0, 0};
    prdc_result pr = {NAN, NAN, NAN, NAN, p->k};
    if (p->fid) {
        for (int w = 0; w < 2; w++) {
            mu[w] = malloc((size_t)fd * sizeof(double));
            cov[w] = malloc((size_t)fd * fd * sizeof(double));
            if (!mu[w] || !cov[w]) {
                st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
        if ((st = feature_gaussian(fg, gen->n, fd, mu[0], cov[0], e)) != CLGAN_OK ||
            (st = feature_gaussian(fr, ref.n, fd, mu[1], cov[1], e)) != CLGAN_OK ||
            (st = frechet_distance(mu[0], cov[0], mu[1], cov[1], fd, &r->fid, e)) != CLGAN_OK)
            goto done;
    }
    uint64_t seed = p->has_seed ? p->seed : dm->train.seed;
    if (p->kid && (st = kid_compute(fg, gen->n, fr, ref.n, fd, p->kid_subsets, p->kid_size, seed,
                                    &ops, &kid, e)) != CLGAN_OK)
        goto done;
    if (p->prdc && (st = prdc_compute(fr, ref.n, fg, gen->n, fd, p->k, &ops, &pr, e)) != CLGAN_OK)
        goto done;
    r->kid = kid.mean;
    r->kid_std = kid.std;
    r->kid_se = kid.se;
    r->kid_subsets = kid.subsets;
    r->kid_subset_size = kid.subset_size;
    r->precision = pr.precision;
    r->recall = pr.recall;
    r->density = pr.density;
    r->coverage = pr.coverage;
    r->k = pr.k;
    classifier_score(zg, gen->n, K, 10, &r->score, &r->score_std);
    double sr_std;
    classifier_score(zr, ref.n, K, 10, &r->score_reference, &sr_std);
    r->mean_confidence = mean_confidence(zg, gen->n, K);
    /* a conditional generator's samples: classified as the class they were drawn for? */
    if (cond && cond != K) {
        snprintf(r->note, sizeof r->note, "%s has %d classes and the classifier %d; no class "
                 "accuracy", source, cond, K);
        cond = 0;
    }
    if (cond > (int)ARRAY_LEN(r->class_accuracy_per_class)) {
        st = err_set(e, CLGAN_ERR_DATA, "%d classes: over the %d a result holds", cond,
                     (int)ARRAY_LEN(r->class_accuracy_per_class));
        goto done;
    }
    if (cond && isnan(r->class_accuracy = class_accuracy(zg, gen->n, cond,
                                                         r->class_accuracy_per_class))) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    r->classes = cond;
    /* a figure computed from features that overflow is no figure: refuse, do not report it */
    const struct {
        int on;
        const char *name;
        double v;
    } figures[] = {{p->fid, "FID", r->fid},
                   {p->kid, "KID", r->kid},
                   {p->prdc, "precision", r->precision},
                   {p->prdc, "recall", r->recall},
                   {p->prdc, "density", r->density},
                   {p->prdc, "coverage", r->coverage},
                   {1, "classifier score", r->score},
                   {1, "the reference's classifier score", r->score_reference},
                   {1, "mean top-class probability", r->mean_confidence}};
    for (size_t i = 0; i < ARRAY_LEN(figures); i++)
        if (figures[i].on && !isfinite(figures[i].v)) {
            st = err_set(e, CLGAN_ERR_NONFINITE, "the %s of %s came out %g: the features "
                         "overflow (values far outside the images' range?); nothing is "
                         "reported", figures[i].name, gen->what, figures[i].v);
            goto done;
        }
    r->seconds_metrics = clock_seconds() - t1;
    snprintf(r->measured, sizeof r->measured, "%s", gen->what);
    snprintf(r->reference, sizeof r->reference, "%s", ref.what);
    st = CLGAN_OK;
done:
    gram_device_free(&gd);
    for (int w = 0; w < 2; w++) {
        free(mu[w]);
        free(cov[w]);
    }
    free(fg);
    free(fr);
    free(zg);
    free(zr);
    free(ref.x);
    return st;
}

/* The result before measuring: its feature space, every figure NaN. */
static void result_init(const clgan_evaluator *ev, clgan_eval_result *r) {
    memset(r, 0, sizeof *r);
    r->feature_layer = ev->fs.layer;
    r->feature_kind = layer_kind_name(ev->fs.cm->net[CLGAN_CLASSIFIER].layers[ev->fs.layer].kind);
    r->features = ev->fs.dim;
    r->fid = r->kid = r->kid_std = r->kid_se = NAN;
    r->precision = r->recall = r->density = r->coverage = NAN;
    r->class_accuracy = NAN;
}

/* The checks every entry point makes first; dm: whose data are the reference, where known
 * before the call opens anything (the classifier's), else NULL. */
static clgan_status start(clgan_evaluator *ev, const clgan_eval_params **p,
                          clgan_eval_params *d, clgan_eval_result *r, const clgan_model *dm) {
    if (!ev) return CLGAN_ERR_ARG;
    if (!ev->open) return err_set(&ev->err, CLGAN_ERR_ARG, "the evaluator is not open");
    err_clear(&ev->err);
    *d = clgan_eval_default_params();
    if (!*p) *p = d;
    if (!r) return err_set(&ev->err, CLGAN_ERR_ARG, "no result to write");
    result_init(ev, r);
    clgan_status st = check_params(ev, *p);
    return st == CLGAN_OK && dm ? check_data(ev, dm) : st;
}

clgan_status clgan_evaluator_generator(clgan_evaluator *ev, const char *checkpoint,
                                       const clgan_eval_params *p, clgan_eval_result *r) {
    clgan_eval_params d;
    clgan_status st = start(ev, &p, &d, r, NULL);
    if (st != CLGAN_OK) return st;
    if (!checkpoint) return err_set(&ev->err, CLGAN_ERR_ARG, "no generator checkpoint given");
    ckpt gc;
    memset(&gc, 0, sizeof gc);
    net *g = NULL;
    image_set gen = {0};
    const char *inputs[3] = {NULL, checkpoint, ev->path};
    if ((st = check_outputs(ev, p, inputs)) != CLGAN_OK) return st;
    if ((st = ckpt_open(checkpoint, &gc, &ev->err)) != CLGAN_OK) return st;
    const clgan_model *dm = ckpt_model(&gc);
    if (dm->kind != MODEL_GAN) {
        st = err_set(&ev->err, CLGAN_ERR_DATA, "%s is a classifier's checkpoint; eval measures "
                     "a GAN's generator against the classifier", checkpoint);
        goto done;
    }
    if ((st = check_data(ev, dm)) != CLGAN_OK) goto done;
    double t0 = clock_seconds();
    long S = p->samples, cols = shape_size(dm->data.shape);
    if ((st = ckpt_net(&gc, ev->dev, CLGAN_GENERATOR, FEATURE_ROWS, &g, &ev->err)) != CLGAN_OK)
        goto done;
    gen.n = S;
    if (!(gen.x = malloc((size_t)S * (size_t)cols * sizeof *gen.x))) {
        st = err_set(&ev->err, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint64_t seed = p->has_seed ? p->seed : dm->train.seed;
    /* noise streams from 1 << 32 on: apart from the sample grids' (stream 0) */
    if ((st = net_sample(g, &dm->noise, seed, 1ULL << 32, S, gen.x)) != CLGAN_OK) {
        err_set(&ev->err, st, "%s", ev->dev->err.msg);
        goto done;
    }
    if (!floats_finite(gen.x, (size_t)(S * cols))) {
        st = err_set(&ev->err, CLGAN_ERR_NONFINITE, "the generator's samples hold NaN or Inf");
        goto done;
    }
    data_to_unit(&dm->data, gen.x, (size_t)(S * cols));
    snprintf(gen.what, sizeof gen.what, "%ld generator samples of %s", S, checkpoint);
    st = measure(ev, &gen, dm, dm->condition_classes, checkpoint, p, t0, r);
done:
    free(gen.x);
    net_free(g);
    ckpt_close(&gc);
    return st;
}

clgan_status clgan_evaluator_file(clgan_evaluator *ev, const char *path,
                                  const clgan_eval_params *p, clgan_eval_result *r) {
    clgan_eval_params d;
    const clgan_model *dm = ev && ev->open ? ev->fs.cm : NULL;
    clgan_status st = start(ev, &p, &d, r, dm);
    if (st != CLGAN_OK) return st;
    double t0 = clock_seconds();
    image_set gen = {0};
    clgan_err e;
    err_clear(&e);
    if (!path) return err_set(&ev->err, CLGAN_ERR_ARG, "images: no file given");
    const char *inputs[3] = {path, NULL, ev->path};
    if ((st = check_outputs(ev, p, inputs)) != CLGAN_OK) return st;
    if ((st = load_images(path, &dm->data, shape_size(dm->data.shape), &gen, &e)) != CLGAN_OK)
        return err_set(&ev->err, st, "images: %s", e.msg);
    st = measure(ev, &gen, dm, 0, NULL, p, t0, r);
    free(gen.x);
    return st;
}

clgan_status clgan_evaluator_images(clgan_evaluator *ev, const float *x, long n,
                                    const clgan_eval_params *p, clgan_eval_result *r) {
    clgan_eval_params d;
    const clgan_model *dm = ev && ev->open ? ev->fs.cm : NULL;
    clgan_status st = start(ev, &p, &d, r, dm);
    if (st != CLGAN_OK) return st;
    if (!x || n < 2)
        return err_set(&ev->err, CLGAN_ERR_ARG, "images: %s", !x ? "none given"
                                                                : "at least 2 are needed");
    size_t count = (size_t)n * (size_t)shape_size(dm->data.shape);
    for (size_t i = 0; i < count; i++)
        if (!(x[i] >= -1e-4f && x[i] <= 1.0001f))
            return err_set(&ev->err, CLGAN_ERR_DATA, "images: value %zu is %g: images are "
                           "given in [0, 1]", i, (double)x[i]);
    image_set gen = {.borrowed = x, .n = n};
    snprintf(gen.what, sizeof gen.what, "%ld images given", n);
    const char *inputs[3] = {NULL, NULL, ev->path};
    if ((st = check_outputs(ev, p, inputs)) != CLGAN_OK) return st;
    return measure(ev, &gen, dm, 0, NULL, p, clock_seconds(), r);
}

clgan_status clgan_evaluator_real(clgan_evaluator *ev, const clgan_eval_params *p,
                                  clgan_eval_result *r) {
    clgan_eval_params d;
    const clgan_model *dm = ev && ev->open ? ev->fs.cm : NULL;
    clgan_status st = start(ev, &p, &d, r, dm);
    if (st != CLGAN_OK) return st;
    const char *inputs[3] = {NULL, NULL, ev->path};
    if ((st = check_outputs(ev, p, inputs)) != CLGAN_OK) return st;
    double t0 = clock_seconds();
    image_set gen = {0};
    if ((st = data_split_unit(&dm->data, "train", p->samples, &gen.x, &gen.n, gen.what,
                              sizeof gen.what, &ev->err)) != CLGAN_OK)
        return st;
    st = measure(ev, &gen, dm, 0, NULL, p, t0, r);
    free(gen.x);
    return st;
}
