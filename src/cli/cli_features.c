/*
 * cli_features.c - `clgan eval --fid --kid --prdc --score --classifier CLS`: a generator (or a
 * set of images from anywhere, or real training images) measured against real images in the
 * feature space of a domain classifier trained by clgan, as metrics.h defines the figures.
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

#include <cjson/cJSON.h>

#include "checkpoint.h"
#include "cli.h"
#include "feature_space.h"
#include "npy.h"

/* Whether paths a and b name one existing file. */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int fail(const char *msg) {
    fprintf(stderr, "clgan eval: %s\n", msg);
    return 1;
}

/* A set of images: n x cols floats in [0, 1], and where they came from. */
typedef struct image_set {
    float *x;
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

int eval_features(const cli_opts *o) {
    int want_fid = opt_get(o, "--fid") != NULL, want_kid = opt_get(o, "--kid") != NULL;
    int want_prdc = opt_get(o, "--prdc") != NULL, want_score = opt_get(o, "--score") != NULL;
    const char *cls_path = opt_get(o, "--classifier"), *images = opt_get(o, "--images");
    const char *split = opt_get(o, "--split"), *npy = opt_get(o, "--features-npy");
    int real = opt_get(o, "--real") != NULL, json = opt_get(o, "--json") != NULL;
    static const char *const other[] = {"--valid", "--test", "--sigmas", "--data"};
    for (size_t i = 0; i < ARRAY_LEN(other); i++)
        if (opt_get(o, other[i])) {
            fprintf(stderr, "clgan eval: %s applies to --parzen, not to --fid/--kid/--prdc/"
                            "--score\n", other[i]);
            return EXIT_USAGE;
        }
    if (!cls_path) {
        fprintf(stderr, "clgan eval: --fid, --kid, --prdc and --score need --classifier CKPT, a "
                        "classifier trained by clgan (clgan train models/fashion_classifier.yaml)"
                        "\n");
        return EXIT_USAGE;
    }
    if (!split) split = "test";
    if (strcmp(split, "test") != 0 && strcmp(split, "train") != 0 && strcmp(split, "valid") != 0) {
        fprintf(stderr, "clgan eval: --split: expected test, train or valid, got '%s'\n", split);
        return EXIT_USAGE;
    }
    if ((images != NULL) + real + (o->positional != NULL && !real) > 1 ||
        (images && o->positional)) {
        fprintf(stderr, "clgan eval: measure one set: a checkpoint's generator (CKPT), --images "
                        "FILE, or --real\n");
        return EXIT_USAGE;
    }
    if (!images && !real && !o->positional) {
        fprintf(stderr, "clgan eval: missing CKPT (or --images FILE, or --real)\n");
        return EXIT_USAGE;
    }
    long S = 10000, seed_l = 0, layer_l = -1, k_l = 5, subsets = 100, subset_size = 1000;
    int has_seed, has_layer;
    if (opt_long(o, "--samples", 2, 1000000, &S) < 0 ||
        (has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l)) < 0 ||
        (has_layer = opt_long(o, "--feature-layer", 0, 100000, &layer_l)) < 0 ||
        opt_long(o, "--k", 1, 100, &k_l) < 0 || opt_long(o, "--kid-subsets", 1, 10000, &subsets) < 0 ||
        opt_long(o, "--kid-size", 2, 100000, &subset_size) < 0)
        return EXIT_USAGE;
    if (!want_fid && !want_kid && !want_prdc && !want_score) want_fid = 1;
    if (npy) { /* the features never replace what they are computed from */
        const char *inputs[] = {images, o->positional, cls_path};
        for (int w = 0; w < 2; w++) {
            char *p = str_fmt("%s.%s.npy", npy, w ? "real" : "gen");
            for (size_t i = 0; p && i < ARRAY_LEN(inputs); i++)
                if (inputs[i] && same_file(p, inputs[i])) {
                    fprintf(stderr, "clgan eval: --features-npy: %s would be written over %s, an "
                                    "input of this evaluation; give another prefix\n", p,
                            inputs[i]);
                    free(p);
                    return EXIT_USAGE;
                }
            free(p);
        }
    }

    clgan_err e;
    err_clear(&e);
    ckpt gc;
    memset(&gc, 0, sizeof gc);
    feature_space fs;
    memset(&fs, 0, sizeof fs);
    clgan_device *dev = NULL;
    net *g = NULL;
    image_set gen = {0}, ref = {0};
    float *fg = NULL, *fr = NULL, *zg = NULL, *zr = NULL;
    double *mu[2] = {NULL, NULL}, *cov[2] = {NULL, NULL}, *cacc = NULL;
    gram_device gd;
    memset(&gd, 0, sizeof gd);
    int rc = 1;
    char msg[4400];

    /* the classifier first: its checkpoint and layer are checked before any device work */
    ckpt cc;
    if (ckpt_open(cls_path, &cc, &e) != CLGAN_OK) {
        snprintf(msg, sizeof msg, "--classifier: %s", e.msg);
        rc = fail(msg);
        goto done;
    }
    const clgan_model *cm0 = ckpt_model(&cc);
    int cls_ok = cm0->kind == MODEL_CLASSIFIER, n_layers = cm0->net[CLGAN_CLASSIFIER].n_layers;
    ckpt_close(&cc);
    if (!cls_ok) {
        fprintf(stderr, "clgan eval: --classifier: %s is a checkpoint of a GAN; give a "
                        "classifier's (clgan train models/fashion_classifier.yaml)\n", cls_path);
        goto done;
    }
    if (has_layer && layer_l >= n_layers - 1) {
        fprintf(stderr, "clgan eval: --feature-layer: %ld is not a layer before the classifier's "
                        "output (0 to %d; see clgan check on its model)\n", layer_l,
                n_layers - 2);
        rc = EXIT_USAGE;
        goto done;
    }
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(clgan_device_errmsg(dev));
        goto done;
    }
    if (feature_space_open(&fs, dev, cls_path, has_layer ? (int)layer_l : -1, &e) != CLGAN_OK) {
        snprintf(msg, sizeof msg, "--classifier: %s", e.msg);
        rc = fail(msg);
        goto done;
    }
    const clgan_model *cm = fs.cm;
    const net_spec *cn = &cm->net[CLGAN_CLASSIFIER];
    int layer = fs.layer;
    const clgan_model *dm = cm; /* whose data are the reference: the GAN's, else the classifier's */
    if (o->positional) {
        if (ckpt_open(o->positional, &gc, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
        dm = ckpt_model(&gc);
        if (dm->kind != MODEL_GAN) {
            snprintf(msg, sizeof msg, "%s is a classifier's checkpoint; eval measures a GAN's "
                     "generator against --classifier", o->positional);
            rc = fail(msg);
            goto done;
        }
    }
    long cols = shape_size(cn->in);
    shape3 ds = dm->data.shape;
    if (!data_is_images(&dm->data)) {
        snprintf(msg, sizeof msg, "%s's data are not images (%d value%s per sample); the "
                 "classifier %s takes %dx%dx%d images", dm->name, (int)shape_size(ds),
                 shape_size(ds) == 1 ? "" : "s", cls_path, cn->in.c, cn->in.h, cn->in.w);
        rc = fail(msg);
        goto done;
    }
    if (ds.c != cn->in.c || ds.h != cn->in.h || ds.w != cn->in.w) {
        snprintf(msg, sizeof msg, "%s's images are %dx%dx%d%s; the classifier %s takes "
                 "%dx%dx%d", dm->name, ds.c, ds.h, ds.w,
                 dm->data.format == DATA_STACKED_IDX
                     ? " (stacked digits: --modes --classifier counts their modes)" : "",
                 cls_path, cn->in.c, cn->in.h, cn->in.w);
        rc = fail(msg);
        goto done;
    }
    if (dm->data.format != DATA_IDX) {
        snprintf(msg, sizeof msg, "%s's data are stacked images, which have no test split to "
                 "measure against; --modes --classifier counts their modes", dm->name);
        rc = fail(msg);
        goto done;
    }
    uint64_t seed = has_seed ? (uint64_t)seed_l : dm->train.seed;

    /* the reference: the named split; and what is measured */
    if (data_split_unit(&dm->data, split, S, &ref.x, &ref.n, ref.what, sizeof ref.what, &e) !=
        CLGAN_OK) {
        snprintf(msg, sizeof msg, "--split %s: %s", split, e.msg);
        rc = fail(msg);
        goto done;
    }
    if (real && data_split_unit(&dm->data, "train", S, &gen.x, &gen.n, gen.what, sizeof gen.what,
                                &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    if (images && load_images(images, &dm->data, cols, &gen, &e) != CLGAN_OK) {
        snprintf(msg, sizeof msg, "--images: %s", e.msg);
        rc = fail(msg);
        goto done;
    }
    double t0 = clock_seconds();
    if (o->positional) {
        if (ckpt_net(&gc, dev, CLGAN_GENERATOR, FEATURE_ROWS, &g, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
        gen.n = S;
        gen.x = malloc((size_t)S * (size_t)cols * sizeof *gen.x);
        if (!gen.x) goto done;
        /* noise streams from 1 << 32 on: apart from the sample grids' (stream 0) */
        if (net_sample(g, &dm->noise, seed, 1ULL << 32, S, gen.x) != CLGAN_OK) {
            rc = fail(dev->err.msg);
            goto done;
        }
        for (long i = 0; i < S * cols; i++)
            if (!isfinite(gen.x[i])) {
                rc = fail("the generator's samples hold NaN or Inf");
                goto done;
            }
        data_to_unit(&dm->data, gen.x, (size_t)(S * cols));
        snprintf(gen.what, sizeof gen.what, "%ld generator samples of %s", S, o->positional);
    }
    int fd = fs.dim, K = fs.classes;
    fg = malloc((size_t)gen.n * fd * sizeof *fg);
    fr = malloc((size_t)ref.n * fd * sizeof *fr);
    zg = malloc((size_t)gen.n * K * sizeof *zg);
    zr = malloc((size_t)ref.n * K * sizeof *zr);
    if (!fg || !fr || !zg || !zr) {
        rc = fail("out of memory");
        goto done;
    }
    if (feature_space_embed(&fs, gen.x, gen.n, fg, zg, &e) != CLGAN_OK ||
        feature_space_embed(&fs, ref.x, ref.n, fr, zr, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    double t_feat = clock_seconds() - t0;
    if (npy) {
        for (int w = 0; w < 2; w++) {
            char *p = str_fmt("%s.%s.npy", npy, w ? "real" : "gen");
            clgan_status st = p ? npy_write(p, w ? fr : fg, w ? ref.n : gen.n, (size_t)fd, &e)
                                : err_set(&e, CLGAN_ERR_NOMEM, "out of memory");
            free(p);
            if (st != CLGAN_OK) {
                snprintf(msg, sizeof msg, "--features-npy: %s", e.msg);
                rc = fail(msg);
                goto done;
            }
        }
    }
    double t1 = clock_seconds();
    gram_ops ops;
    gram_device_init(&gd, dev, &ops);
    double fid = NAN, score[2] = {NAN, NAN}, score_ref[2] = {NAN, NAN};
    kid_result kid = {NAN, NAN, NAN, 0, 0};
    prdc_result pr = {NAN, NAN, NAN, NAN, (int)k_l};
    if (want_fid) {
        for (int w = 0; w < 2; w++) {
            mu[w] = malloc((size_t)fd * sizeof(double));
            cov[w] = malloc((size_t)fd * fd * sizeof(double));
            if (!mu[w] || !cov[w]) {
                rc = fail("out of memory");
                goto done;
            }
        }
        if (feature_gaussian(fg, gen.n, fd, mu[0], cov[0], &e) != CLGAN_OK ||
            feature_gaussian(fr, ref.n, fd, mu[1], cov[1], &e) != CLGAN_OK ||
            frechet_distance(mu[0], cov[0], mu[1], cov[1], fd, &fid, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
    }
    if (want_kid && kid_compute(fg, gen.n, fr, ref.n, fd, (int)subsets, (int)subset_size, seed,
                                &ops, &kid, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    if (want_prdc && prdc_compute(fr, ref.n, fg, gen.n, fd, (int)k_l, &ops, &pr, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    classifier_score(zg, gen.n, K, 10, &score[0], &score[1]);
    classifier_score(zr, ref.n, K, 10, &score_ref[0], &score_ref[1]);
    double conf = mean_confidence(zg, gen.n, K);
    /* a conditional generator's samples: classified as the class they were drawn for? */
    int cond = o->positional && dm->condition_classes > 0 ? dm->condition_classes : 0;
    double cacc_all = NAN;
    if (cond && cond != K) {
        fprintf(stderr, "clgan eval: note: %s has %d classes and the classifier %d; no class "
                        "accuracy\n", o->positional, cond, K);
        cond = 0;
    }
    if (cond) {
        cacc = malloc((size_t)cond * sizeof *cacc);
        if (!cacc || isnan(cacc_all = class_accuracy(zg, gen.n, cond, cacc))) {
            rc = fail("out of memory");
            goto done;
        }
    }
    /* a figure computed from features that overflow is no figure: refuse, do not print it */
    const struct {
        int on;
        const char *name;
        double v;
    } figures[] = {{want_fid, "FID", fid},
                   {want_kid, "KID", kid.mean},
                   {want_prdc, "precision", pr.precision},
                   {want_prdc, "recall", pr.recall},
                   {want_prdc, "density", pr.density},
                   {want_prdc, "coverage", pr.coverage},
                   {1, "classifier score", score[0]},
                   {1, "the reference's classifier score", score_ref[0]},
                   {1, "mean top-class probability", conf}};
    for (size_t i = 0; i < ARRAY_LEN(figures); i++)
        if (figures[i].on && !isfinite(figures[i].v)) {
            snprintf(msg, sizeof msg, "the %s of %s came out %g: the features overflow (values "
                     "far outside the images' range?); nothing is reported", figures[i].name,
                     gen.what, figures[i].v);
            rc = fail(msg);
            goto done;
        }
    double t_metrics = clock_seconds() - t1;
    const layer_spec *fl = &cn->layers[layer];
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "measured", gen.what);
        cJSON_AddStringToObject(j, "reference", ref.what);
        cJSON_AddStringToObject(j, "classifier", cls_path);
        cJSON_AddNumberToObject(j, "feature_layer", layer);
        cJSON_AddStringToObject(j, "feature_kind", layer_kind_name(fl->kind));
        cJSON_AddNumberToObject(j, "features", fd);
        if (want_fid) cJSON_AddNumberToObject(j, "fid", fid);
        if (want_kid) {
            cJSON_AddNumberToObject(j, "kid", kid.mean);
            cJSON_AddNumberToObject(j, "kid_std", kid.std);
            cJSON_AddNumberToObject(j, "kid_se", kid.se);
            cJSON_AddNumberToObject(j, "kid_subsets", kid.subsets);
            cJSON_AddNumberToObject(j, "kid_subset_size", kid.subset_size);
        }
        if (want_prdc) {
            cJSON_AddNumberToObject(j, "precision", pr.precision);
            cJSON_AddNumberToObject(j, "recall", pr.recall);
            cJSON_AddNumberToObject(j, "density", pr.density);
            cJSON_AddNumberToObject(j, "coverage", pr.coverage);
            cJSON_AddNumberToObject(j, "k", pr.k);
        }
        if (cond) {
            cJSON_AddNumberToObject(j, "class_accuracy", cacc_all);
            cJSON_AddItemToObject(j, "class_accuracy_per_class",
                                  cJSON_CreateDoubleArray(cacc, cond));
        }
        cJSON_AddNumberToObject(j, "classifier_score", score[0]);
        cJSON_AddNumberToObject(j, "classifier_score_std", score[1]);
        cJSON_AddNumberToObject(j, "classifier_score_reference", score_ref[0]);
        cJSON_AddNumberToObject(j, "mean_confidence", conf);
        cJSON_AddNumberToObject(j, "seconds_features", t_feat);
        cJSON_AddNumberToObject(j, "seconds_metrics", t_metrics);
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else {
        printf("%s against %s\nfeatures: output of layer %d (%s, %d values) of the classifier "
               "%s\n", gen.what, ref.what, layer, layer_kind_name(fl->kind), fd, cls_path);
        if (want_fid) printf("  FID                %.3f\n", fid);
        if (want_kid)
            printf("  KID                %.5f +- %.5f (standard deviation over %d subsets of "
                   "%d; standard error %.5f)\n", kid.mean, kid.std, kid.subsets,
                   kid.subset_size, kid.se);
        if (want_prdc)
            printf("  precision %.4f  recall %.4f  density %.4f  coverage %.4f  (k = %d)\n",
                   pr.precision, pr.recall, pr.density, pr.coverage, pr.k);
        printf("  classifier score   %.3f +- %.3f (the reference images: %.3f); mean top-class "
               "probability %.3f\n", score[0], score[1], score_ref[0], conf);
        if (cond) {
            printf("  class accuracy     %.4f (samples drawn for class k classified as k); per "
                   "class:", cacc_all);
            for (int k = 0; k < cond; k++) printf(" %d:%.3f", k, cacc[k]);
            printf("\n");
        }
        printf("  %.1f s for samples and features, %.1f s for the figures\n", t_feat, t_metrics);
    }
    rc = 0;
done:
    gram_device_free(&gd);
    free(cacc);
    for (int w = 0; w < 2; w++) {
        free(mu[w]);
        free(cov[w]);
    }
    free(fg);
    free(fr);
    free(zg);
    free(zr);
    free(gen.x);
    free(ref.x);
    net_free(g);
    feature_space_close(&fs);
    ckpt_close(&gc);
    clgan_device_free(dev);
    return rc;
}
