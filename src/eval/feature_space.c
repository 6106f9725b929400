/*
 * feature_space.c - a classifier's feature space (see feature_space.h). Owns the classifier's
 * checkpoint and network; borrows the device.
 */
#include "feature_space.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The layer whose output layer i reads first (its input in a graph), -1 for the input. */
static int input_of(const net_spec *n, int i) {
    return n->layers[i].in_idx[0];
}

int feature_default_layer(const net_spec *n) {
    int i = n->n_layers - 1;
    while (i > 0 && n->layers[i].n_params == 0) i--;
    i = input_of(n, i);
    while (i > 0 && n->layers[i].kind == LAYER_DROPOUT) i = input_of(n, i);
    return i;
}

clgan_status feature_space_open(feature_space *fs, clgan_device *dev, const char *path,
                                int layer, clgan_err *e) {
    memset(fs, 0, sizeof *fs);
    clgan_status st = ckpt_open(path, &fs->ck, e);
    if (st != CLGAN_OK) return st;
    fs->cm = ckpt_model(&fs->ck);
    if (fs->cm->kind != MODEL_CLASSIFIER) {
        feature_space_close(fs);
        return err_set(e, CLGAN_ERR_ARG, "%s is a checkpoint of a GAN; give a classifier's (clgan "
                       "train models/fashion_classifier.yaml)", path);
    }
    const net_spec *cn = &fs->cm->net[CLGAN_CLASSIFIER];
    fs->layer = layer < 0 ? feature_default_layer(cn) : layer;
    if (fs->layer < 0 || fs->layer >= cn->n_layers - 1) {
        int last = cn->n_layers - 2;
        feature_space_close(fs);
        return err_set(e, CLGAN_ERR_ARG, "%d is not a layer before the classifier's output (0 "
                       "to %d; see clgan check on its model)", layer, last);
    }
    st = ckpt_net(&fs->ck, dev, CLGAN_CLASSIFIER, FEATURE_ROWS, &fs->c, e);
    if (st == CLGAN_OK) {
        fs->dim = (int)fs->c->layers[fs->layer].y.cols;
        fs->classes = (int)fs->c->out.cols;
        fs->chunk = malloc((size_t)FEATURE_ROWS * fs->c->in.cols * sizeof *fs->chunk);
        if (!fs->chunk) st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    }
    if (st != CLGAN_OK) feature_space_close(fs);
    return st;
}

void feature_space_close(feature_space *fs) {
    net_free(fs->c);
    free(fs->chunk);
    ckpt_close(&fs->ck);
    memset(fs, 0, sizeof *fs);
}

clgan_status feature_space_embed(feature_space *fs, const float *x, long n, float *feat,
                                 float *logits, clgan_err *e) {
    size_t cols = fs->c->in.cols;
    clgan_status st = CLGAN_OK;
    for (long i = 0; i < n && st == CLGAN_OK; i += FEATURE_ROWS) {
        int r = n - i < FEATURE_ROWS ? (int)(n - i) : FEATURE_ROWS;
        memcpy(fs->chunk, x + (size_t)i * cols, (size_t)r * cols * sizeof *fs->chunk);
        data_from_unit(&fs->cm->data, fs->chunk, (size_t)r * cols);
        float *f = feat + (size_t)i * fs->dim, *z = logits ? logits + (size_t)i * fs->classes : NULL;
        st = net_run_eval_at(fs->c, fs->chunk, r, fs->layer, f, z);
        if (st != CLGAN_OK) {
            err_set(e, st, "%s", fs->c->dev->err.msg);
        } else if (!floats_finite(f, (size_t)r * (size_t)fs->dim) ||
                   (z && !floats_finite(z, (size_t)r * (size_t)fs->classes))) {
            /* no figure is computed from them: a NaN would pass for a perfect score */
            st = err_set(e, CLGAN_ERR_DATA, "the classifier %s gives NaN or Inf %s for images "
                         "%ld to %ld: no figure is computed from them", fs->ck.path,
                         floats_finite(f, (size_t)r * (size_t)fs->dim) ? "logits" : "features",
                         i, i + r - 1);
        }
    }
    return st;
}

clgan_status data_split_unit(const data_spec *d, const char *split, long n, float **x,
                             long *got, char *what, size_t what_len, clgan_err *e) {
    *x = NULL;
    const char *path = d->path;
    long a = d->start, b = d->stop;
    if (strcmp(split, "test") == 0) {
        path = data_test_path(d);
        a = d->test[0];
        b = d->test[1];
    } else if (strcmp(split, "valid") == 0) {
        a = d->valid[0];
        b = d->valid[1];
    }
    if (d->format != DATA_IDX) return err_set(e, CLGAN_ERR_ARG, "the model's data are not images");
    if (strcmp(split, "train") != 0 && b == 0)
        return err_set(e, CLGAN_ERR_ARG, "the model declares no data.%s split: add one to its "
                       "data section, or give --split train", split);
    if (b >= 0 && b - a > n) b = a + n;
    idx_header h;
    clgan_status st = idx_load(path, a, b, &h, x, e);
    if (st != CLGAN_OK) return st;
    if (b < 0) b = (long)h.dims[0];
    if (b - a > n) b = a + n; /* read to the end, keep n */
    *got = b - a;
    if (what) snprintf(what, what_len, "%ld %s images (%s [%ld, %ld))", *got, split, path, a, b);
    return CLGAN_OK;
}

clgan_status fid_monitor_open(fid_monitor *fm, clgan_device *dev, const clgan_model *m,
                              clgan_err *e) {
    memset(fm, 0, sizeof *fm);
    fm->m = m;
    fm->samples = m->train.eval_samples;
    clgan_status st = feature_space_open(&fm->fs, dev, m->train.eval_classifier, -1, e);
    if (st != CLGAN_OK) return st;
    size_t cols = (size_t)shape_size(m->data.shape);
    if ((long)cols != shape_size(fm->fs.c->spec->in)) {
        shape3 ci = fm->fs.c->spec->in;
        fid_monitor_close(fm);
        return err_set(e, CLGAN_ERR_ARG, "the classifier %s takes %dx%dx%d images, the data are "
                       "%dx%dx%d", m->train.eval_classifier, ci.c, ci.h, ci.w, m->data.shape.c,
                       m->data.shape.h, m->data.shape.w);
    }
    st = data_split_unit(&m->data, m->train.eval_split, fm->samples, &fm->ref, &fm->n_ref, NULL,
                         0, e);
    int d = fm->fs.dim;
    float *rf = NULL;
    if (st == CLGAN_OK) {
        rf = malloc((size_t)fm->n_ref * (size_t)d * sizeof *rf);
        fm->x = malloc((size_t)fm->samples * cols * sizeof *fm->x);
        fm->feat = malloc((size_t)fm->samples * (size_t)d * sizeof *fm->feat);
        for (int w = 0; w < 2; w++) {
            fm->mu[w] = malloc((size_t)d * sizeof(double));
            fm->cov[w] = malloc((size_t)d * (size_t)d * sizeof(double));
        }
        if (!rf || !fm->x || !fm->feat || !fm->mu[0] || !fm->mu[1] || !fm->cov[0] || !fm->cov[1])
            st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    }
    if (st == CLGAN_OK) st = feature_space_embed(&fm->fs, fm->ref, fm->n_ref, rf, NULL, e);
    if (st == CLGAN_OK) st = feature_gaussian(rf, fm->n_ref, d, fm->mu[1], fm->cov[1], e);
    free(fm->ref);
    fm->ref = rf; /* the reference's features are all later measurements need */
    if (st == CLGAN_OK) gram_device_init(&fm->gd, dev, &fm->ops);
    if (st != CLGAN_OK) fid_monitor_close(fm);
    return st;
}

clgan_status fid_monitor_run(fid_monitor *fm, net *g, double *fid, kid_result *kid, clgan_err *e) {
    const clgan_model *m = fm->m;
    size_t n = (size_t)fm->samples * (size_t)shape_size(m->data.shape);
    clgan_status st = net_sample(g, &m->noise, m->train.seed, 1ULL << 32, fm->samples, fm->x);
    if (st != CLGAN_OK) return err_set(e, st, "%s", g->dev->err.msg);
    if (!floats_finite(fm->x, n))
        return err_set(e, CLGAN_ERR_ARG, "the generator's samples hold NaN or Inf");
    data_to_unit(&m->data, fm->x, n);
    int d = fm->fs.dim;
    st = feature_space_embed(&fm->fs, fm->x, fm->samples, fm->feat, NULL, e);
    if (st == CLGAN_OK) st = feature_gaussian(fm->feat, fm->samples, d, fm->mu[0], fm->cov[0], e);
    if (st == CLGAN_OK)
        st = frechet_distance(fm->mu[0], fm->cov[0], fm->mu[1], fm->cov[1], d, fid, e);
    if (st == CLGAN_OK)
        st = kid_compute(fm->feat, fm->samples, fm->ref, fm->n_ref, d, 100, 1000, m->train.seed,
                         &fm->ops, kid, e);
    if (st == CLGAN_OK && (!isfinite(*fid) || !isfinite(kid->mean)))
        st = err_set(e, CLGAN_ERR_DATA, "the FID (%g) or KID (%g) came out non-finite: the "
                     "features overflow; not logged", *fid, kid->mean);
    return st;
}

void fid_monitor_close(fid_monitor *fm) {
    gram_device_free(&fm->gd);
    feature_space_close(&fm->fs);
    free(fm->ref);
    free(fm->x);
    free(fm->feat);
    for (int w = 0; w < 2; w++) {
        free(fm->mu[w]);
        free(fm->cov[w]);
    }
    memset(fm, 0, sizeof *fm);
}
