/*
 * model_yaml.c - reads a model file into a clgan_model.
 *
 * yaml_tree.c builds a small tree that keeps each node's start mark; the schema walker below
 * checks every key and value of the sections against what the model language allows
 * (model_graph.c: the networks' layers as graphs and blocks). Every error names file:line:col
 * (1-based, the start of the offending node), what was expected and what was found.
 */
#define _POSIX_C_SOURCE 200809L
#include "data.h"
#include "yaml_tree.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What a model's name may hold: it becomes part of run directory names. */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* ---- sections ------------------------------------------------------------------------------ */

static clgan_status parse_noise(yctx *c, const ynode *n, noise_spec *z) {
    yfield f[] = {Y("dim"), Y("distribution"), Y("low"), Y("high"), Y("mean"), Y("stddev")};
    TRY(y_fields(c, n, "noise", f, NF(f)));
    TRY(y_require(c, n, f, NF(f), "dim", "noise"));
    TRY(y_require(c, n, f, NF(f), "distribution", "noise"));
    long dim;
    TRY(y_int(c, FLD(f, "dim"), "noise", 1, 1L << 20, &dim));
    z->dim = (int)dim;
    static const char *const dists[] = {"uniform", "gaussian"};
    int d;
    TRY(y_enum(c, FLD(f, "distribution"), "noise", dists, 2, &d));
    z->dist = d;
    if (z->dist == NOISE_UNIFORM) {
        TRY(y_only(c, f, NF(f), "mean", "gaussian noise", "uniform"));
        TRY(y_only(c, f, NF(f), "stddev", "gaussian noise", "uniform"));
        z->a = -1;
        z->b = 1;
        if (HAS(f, "low")) TRY(y_num(c, FLD(f, "low"), "noise", -1e6, 0, 1e6, 0, &z->a));
        if (HAS(f, "high")) TRY(y_num(c, FLD(f, "high"), "noise", -1e6, 0, 1e6, 0, &z->b));
        if (!(z->a < z->b))
            return yerr(c, HAS(f, "high") ? FLD(f, "high")->val : n,
                        "'noise': low (%g) must be less than high (%g)", z->a, z->b);
    } else {
        TRY(y_only(c, f, NF(f), "low", "uniform noise", "gaussian"));
        TRY(y_only(c, f, NF(f), "high", "uniform noise", "gaussian"));
        z->a = 0;
        z->b = 1;
        if (HAS(f, "mean")) TRY(y_num(c, FLD(f, "mean"), "noise", -1e6, 0, 1e6, 0, &z->a));
        if (HAS(f, "stddev")) TRY(y_num(c, FLD(f, "stddev"), "noise", 0, 1, 1e6, 0, &z->b));
    }
    return CLGAN_OK;
}

static clgan_status parse_shape(yctx *c, const yfield *fl, shape3 *s) {
    const ynode *v = fl->val;
    if (v->type != Y_SEQ || v->n != 3)
        return yerr(c, v, "'shape' in 'data': expected [channels, height, width]");
    int *dst[3] = {&s->c, &s->h, &s->w};
    for (int i = 0; i < 3; i++) {
        yfield e = {"shape", NULL, v->kids[i]};
        long x;
        TRY(y_int(c, &e, "data", 1, 1L << 16, &x));
        *dst[i] = (int)x;
    }
    s->image = 1;
    return CLGAN_OK;
}

/* An optional [start, stop) image range, e.g. valid: [8000, 9000]. */
static clgan_status parse_range(yctx *c, const yfield *fl, long r[2]) {
    r[0] = r[1] = 0;
    if (!fl->val) return CLGAN_OK;
    const ynode *v = fl->val;
    if (v->type != Y_SEQ || v->n != 2)
        return yerr(c, v, "'%s' in 'data': expected [start, stop]", fl->key);
    for (int i = 0; i < 2; i++) {
        yfield e = {fl->key, NULL, v->kids[i]};
        TRY(y_int(c, &e, "data", 0, 1L << 40, &r[i]));
    }
    if (r[1] <= r[0])
        return yerr(c, v, "'%s' in 'data': stop (%ld) must be greater than start (%ld)", fl->key,
                    r[1], r[0]);
    return CLGAN_OK;
}

/*
 * A data path resolved against the model file's folder unless it is absolute, then made
 * absolute: a checkpoint keeps it, and a command run from another folder finds the file.
 */
static char *resolve_path(const char *model_path, const char *p) {
    const char *slash = strrchr(model_path, '/');
    char *joined = p[0] == '/' || !slash
                       ? str_dup(p)
                       : str_fmt("%.*s/%s", (int)(slash - model_path), model_path, p);
    char *abs = joined ? path_absolute(joined) : NULL;
    free(joined);
    return abs;
}

/*
 * data.test as a file of its own: {path, labels, start, stop}, e.g. Fashion-MNIST's t10k
 * images. Its header is read here (unless the model comes from a checkpoint) so that a test
 * range beyond the file, or images of another size, fail at load with the key's position.
 */
static clgan_status parse_test_file(yctx *c, const ynode *n, data_spec *d) {
    yfield f[] = {Y("path"), Y("labels"), Y("start"), Y("stop")};
    TRY(y_fields(c, n, "data.test", f, NF(f)));
    TRY(y_require(c, n, f, NF(f), "path", "data.test"));
    TRY(y_scalar(c, FLD(f, "path"), "data.test", "a file path"));
    free(d->test_path);
    d->test_path = resolve_path(c->path, FLD(f, "path")->val->val);
    if (!d->test_path) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
    if (HAS(f, "labels")) {
        TRY(y_scalar(c, FLD(f, "labels"), "data.test", "a file path"));
        free(d->test_labels);
        d->test_labels = resolve_path(c->path, FLD(f, "labels")->val->val);
        if (!d->test_labels) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    long start = 0, stop = -1;
    if (HAS(f, "start")) TRY(y_int(c, FLD(f, "start"), "data.test", 0, 1L << 40, &start));
    if (HAS(f, "stop")) TRY(y_int(c, FLD(f, "stop"), "data.test", 1, 1L << 40, &stop));
    if (stop >= 0 && stop <= start)
        return yerr(c, FLD(f, "stop")->val, "'data.test': stop (%ld) must be greater than start "
                    "(%ld)", stop, start);
    d->test[0] = start;
    d->test[1] = stop; /* -1: to the end, resolved below from the file's header */
    if (c->data_shape) return CLGAN_OK;
    idx_header h;
    clgan_err e;
    err_clear(&e);
    const ynode *pv = FLD(f, "path")->val;
    if (idx_read_header(d->test_path, &h, &e) != CLGAN_OK) {
        if (c->data_optional) return CLGAN_OK;
        return yerr_at(c, pv->line, pv->col, CLGAN_ERR_DATA, "'path' in 'data.test': %s", e.msg);
    }
    if (h.ndim != 3)
        return yerr_at(c, pv->line, pv->col, CLGAN_ERR_DATA, "'path' in 'data.test': %s holds "
                       "%d-dimensional data, expected images (3 dimensions)", d->test_path,
                       h.ndim);
    if (stop < 0) d->test[1] = (long)h.dims[0];
    if (d->test[1] > (long)h.dims[0] || start >= (long)h.dims[0])
        return yerr(c, FLD(f, HAS(f, "stop") ? "stop" : "start")->val, "'data.test': [%ld, %ld) "
                    "is beyond the %u images in %s", start, d->test[1], h.dims[0], d->test_path);
    d->test_shape_hw[0] = (int)h.dims[1];
    d->test_shape_hw[1] = (int)h.dims[2];
    return CLGAN_OK;
}

static clgan_status parse_data(yctx *c, const ynode *n, data_spec *d) {
    yfield f[] = {Y("format"), Y("path"),  Y("start"),  Y("stop"),   Y("shape"),     Y("mean"),
                  Y("stddev"), Y("count"), Y("modes"), Y("radius"), Y("components"), Y("valid"),
                  Y("test"),   Y("range"), Y("labels"), Y("channels")};
    TRY(y_fields(c, n, "data", f, NF(f)));
    TRY(y_require(c, n, f, NF(f), "format", "data"));
    static const char *const formats[] = {"idx", "gaussian_1d", "mixture_1d", "ring_2d",
                                          "stacked_idx"};
    int fmt;
    TRY(y_enum(c, FLD(f, "format"), "data", formats, 5, &fmt));
    d->format = fmt;
    d->line = n->line;
    d->col = n->col;
    const char *fname = formats[fmt];
    static const char *const idx_only[] = {"path", "start", "stop", "shape", "valid", "test",
                                           "range", "labels"};
    static const char *const synth_only[] = {"mean", "stddev", "count", "modes", "radius",
                                             "components"};
    int stacked = d->format == DATA_STACKED_IDX;
    if (!stacked) {
        TRY(y_only(c, f, NF(f), "channels", "stacked_idx data", fname));
    } else { /* images of the file drawn `channels` at a time, as Stacked MNIST (VEEGAN, PacGAN) */
        static const char *const not_stacked[] = {"valid", "test", "shape"};
        for (size_t i = 0; i < ARRAY_LEN(not_stacked); i++)
            TRY(y_only(c, f, NF(f), not_stacked[i], "idx data", fname));
        long ch = 3, cnt = 64000;
        if (HAS(f, "channels")) TRY(y_int(c, FLD(f, "channels"), "data", 2, 4, &ch));
        if (HAS(f, "count")) TRY(y_int(c, FLD(f, "count"), "data", 1, 1L << 26, &cnt));
        d->stack = (int)ch;
        d->count = cnt;
    }
    if (d->format == DATA_IDX || stacked) {
        for (size_t i = 0; i < ARRAY_LEN(synth_only); i++)
            if (!stacked || strcmp(synth_only[i], "count") != 0)
                TRY(y_only(c, f, NF(f), synth_only[i], "synthetic data", fname));
        TRY(y_require(c, n, f, NF(f), "path", "data"));
        TRY(y_scalar(c, FLD(f, "path"), "data", "a file path"));
        free(d->path);
        d->path = resolve_path(c->path, FLD(f, "path")->val->val);
        if (!d->path) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
        long start = 0, stop = -1;
        if (HAS(f, "start")) TRY(y_int(c, FLD(f, "start"), "data", 0, 1L << 40, &start));
        if (HAS(f, "stop")) TRY(y_int(c, FLD(f, "stop"), "data", 1, 1L << 40, &stop));
        if (stop >= 0 && stop <= start)
            return yerr(c, FLD(f, "stop")->val, "'data': stop (%ld) must be greater than start (%ld)",
                        stop, start);
        d->start = start;
        d->stop = stop;
        if (HAS(f, "labels")) {
            TRY(y_scalar(c, FLD(f, "labels"), "data", "a file path"));
            free(d->labels);
            d->labels = resolve_path(c->path, FLD(f, "labels")->val->val);
            if (!d->labels) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
        }
        TRY(parse_range(c, FLD(f, "valid"), d->valid));
        if (HAS(f, "test") && FLD(f, "test")->val->type == Y_MAP)
            TRY(parse_test_file(c, FLD(f, "test")->val, d));
        else
            TRY(parse_range(c, FLD(f, "test"), d->test));
        d->range[0] = 0;
        d->range[1] = 1;
        if (HAS(f, "range")) {
            const ynode *v = FLD(f, "range")->val;
            if (v->type != Y_SEQ || v->n != 2)
                return yerr(c, v, "'range' in 'data': expected [low, high], the values pixels 0 "
                                  "and 255 map to");
            for (int i = 0; i < 2; i++) {
                yfield e = {"range", NULL, v->kids[i]};
                TRY(y_num(c, &e, "data", -1000, 0, 1000, 0, &d->range[i]));
            }
            if (!(d->range[0] < d->range[1]))
                return yerr(c, v, "'range' in 'data': low (%g) must be less than high (%g)",
                            d->range[0], d->range[1]);
        }
        if (c->data_shape) { /* from a checkpoint: the data may live elsewhere by now */
            d->shape = *c->data_shape;
            d->shape.image = 1;
            if (!stacked) d->count = stop > start ? stop - start : 0;
            return CLGAN_OK;
        }
        idx_header h;
        clgan_err e;
        err_clear(&e);
        clgan_status hs = idx_read_header(d->path, &h, &e);
        if (hs != CLGAN_OK && c->data_optional) {
            snprintf(d->unread, sizeof d->unread, "%d:%d: 'path' in 'data': %.400s",
                     FLD(f, "path")->val->line, FLD(f, "path")->val->col, e.msg);
            if (HAS(f, "shape")) TRY(parse_shape(c, FLD(f, "shape"), &d->shape));
            d->shape.image = 1;
            if (!stacked) d->count = stop > start ? stop - start : 0;
            return CLGAN_OK; /* no shape: check_model takes the generator's output */
        }
        if (hs != CLGAN_OK)
            return yerr_at(c, FLD(f, "path")->val->line, FLD(f, "path")->val->col, CLGAN_ERR_DATA,
                           "'path' in 'data': %s", e.msg);
        if (h.ndim != 3)
            return yerr_at(c, FLD(f, "path")->val->line, FLD(f, "path")->val->col, CLGAN_ERR_DATA,
                           "'path' in 'data': %s holds %d-dimensional data, expected images "
                           "(3 dimensions)", d->path, h.ndim);
        if (d->stop < 0) d->stop = h.dims[0];
        if (d->stop > h.dims[0])
            return yerr_at(c, FLD(f, "stop")->val->line, FLD(f, "stop")->val->col, CLGAN_ERR_DATA,
                           "'stop' in 'data': %ld is beyond the %u images in %s", d->stop,
                           h.dims[0], d->path);
        if (stacked) {
            d->shape = (shape3){d->stack, (int)h.dims[1], (int)h.dims[2], 1};
            return CLGAN_OK;
        }
        d->count = d->stop - d->start;
        for (int k = 0; k < 2; k++) {
            const long *r = k ? d->test : d->valid;
            if (k && d->test_path) continue; /* checked against its own file */
            if (r[1] > (long)h.dims[0])
                return yerr_at(c, FLD(f, k ? "test" : "valid")->val->line,
                               FLD(f, k ? "test" : "valid")->val->col, CLGAN_ERR_DATA,
                               "'%s' in 'data': %ld is beyond the %u images in %s",
                               k ? "test" : "valid", r[1], h.dims[0], d->path);
            /* a held-out split holds out: images the networks train on would flatter it */
            if (r[1] > 0 && r[0] < d->stop && r[1] > d->start)
                return yerr(c, FLD(f, k ? "test" : "valid")->val, "'%s' in 'data': images %ld "
                            "to %ld overlap the training images %ld to %ld of %s; a held-out "
                            "split must lie outside [start, stop)", k ? "test" : "valid", r[0],
                            r[1] - 1, d->start, d->stop - 1, d->path);
        }
        struct stat sa, sb; /* a test file that is the training file: the same rule */
        if (d->test_path && d->test[1] > 0 && stat(d->path, &sa) == 0 &&
            stat(d->test_path, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino &&
            d->test[0] < d->stop && d->test[1] > d->start)
            return yerr(c, FLD(f, "test")->val, "'data.test': images %ld to %ld of %s overlap "
                        "the training images %ld to %ld of the same file; a held-out split must "
                        "lie outside them", d->test[0], d->test[1] - 1, d->test_path, d->start,
                        d->stop - 1);
        shape3 fs = {1, (int)h.dims[1], (int)h.dims[2], 1};
        d->shape = fs;
        if (HAS(f, "shape")) {
            shape3 s;
            TRY(parse_shape(c, FLD(f, "shape"), &s));
            if (shape_size(s) != shape_size(fs))
                return yerr(c, FLD(f, "shape")->val,
                            "'shape' in 'data': [%d, %d, %d] has %ld values, the images in %s "
                            "have %ld (%ux%u)", s.c, s.h, s.w, shape_size(s), d->path,
                            shape_size(fs), h.dims[1], h.dims[2]);
            d->shape = s;
            d->shape.image = 1;
        }
        const int *thw = d->test_shape_hw;
        if (d->test_path && thw[0] && (thw[0] != (int)h.dims[1] || thw[1] != (int)h.dims[2]))
            return yerr(c, FLD(f, "test")->val, "'data.test': the images in %s are %dx%d, those "
                        "in %s %ux%u", d->test_path, thw[0], thw[1], d->path, h.dims[1],
                        h.dims[2]);
        return CLGAN_OK;
    }
    for (size_t i = 0; i < ARRAY_LEN(idx_only); i++)
        TRY(y_only(c, f, NF(f), idx_only[i], "idx data", fname));
    d->count = 10000;
    if (HAS(f, "count")) TRY(y_int(c, FLD(f, "count"), "data", 1, 1L << 26, &d->count));
    d->shape = (shape3){d->format == DATA_RING_2D ? 2 : 1, 1, 1, 0};
    if (d->format == DATA_GAUSSIAN_1D) {
        TRY(y_only(c, f, NF(f), "modes", "ring_2d", fname));
        TRY(y_only(c, f, NF(f), "radius", "ring_2d", fname));
        TRY(y_only(c, f, NF(f), "components", "mixture_1d", fname));
        d->n_comp = 1;
        d->mean[0] = 0;
        d->stddev[0] = 1;
        d->weight[0] = 1;
        if (HAS(f, "mean")) TRY(y_num(c, FLD(f, "mean"), "data", -1e6, 0, 1e6, 0, &d->mean[0]));
        if (HAS(f, "stddev"))
            TRY(y_num(c, FLD(f, "stddev"), "data", 0, 1, 1e6, 0, &d->stddev[0]));
    } else if (d->format == DATA_MIXTURE_1D) {
        TRY(y_only(c, f, NF(f), "modes", "ring_2d", fname));
        TRY(y_only(c, f, NF(f), "radius", "ring_2d", fname));
        TRY(y_only(c, f, NF(f), "mean", "gaussian_1d", fname));
        TRY(y_only(c, f, NF(f), "stddev", "gaussian_1d or ring_2d", fname));
        TRY(y_require(c, n, f, NF(f), "components", "data"));
        const ynode *cs = FLD(f, "components")->val;
        if (cs->type != Y_SEQ || cs->n < 1 || cs->n > DATA_MAX_COMPONENTS)
            return yerr(c, cs, "'components' in 'data': expected a list of 1 to %d "
                               "{mean, stddev, weight} mappings", DATA_MAX_COMPONENTS);
        d->n_comp = cs->n;
        double wsum = 0;
        for (int i = 0; i < cs->n; i++) {
            yfield g[] = {Y("mean"), Y("stddev"), Y("weight")};
            TRY(y_fields(c, cs->kids[i], "components", g, NF(g)));
            TRY(y_require(c, cs->kids[i], g, NF(g), "mean", "components"));
            TRY(y_require(c, cs->kids[i], g, NF(g), "stddev", "components"));
            TRY(y_num(c, FLD(g, "mean"), "components", -1e6, 0, 1e6, 0, &d->mean[i]));
            TRY(y_num(c, FLD(g, "stddev"), "components", 0, 1, 1e6, 0, &d->stddev[i]));
            d->weight[i] = 1;
            if (HAS(g, "weight"))
                TRY(y_num(c, FLD(g, "weight"), "components", 0, 1, 1e6, 0, &d->weight[i]));
            wsum += d->weight[i];
        }
        for (int i = 0; i < d->n_comp; i++) d->weight[i] = (float)(d->weight[i] / wsum);
    } else { /* ring_2d */
        TRY(y_only(c, f, NF(f), "mean", "gaussian_1d", fname));
        TRY(y_only(c, f, NF(f), "components", "mixture_1d", fname));
        long modes = 8;
        if (HAS(f, "modes")) TRY(y_int(c, FLD(f, "modes"), "data", 1, DATA_MAX_COMPONENTS, &modes));
        d->n_comp = (int)modes;
        d->radius = 2.0f;
        d->stddev[0] = 0.02f;
        if (HAS(f, "radius")) TRY(y_num(c, FLD(f, "radius"), "data", 0, 1, 1e6, 0, &d->radius));
        if (HAS(f, "stddev"))
            TRY(y_num(c, FLD(f, "stddev"), "data", 0, 1, 1e6, 0, &d->stddev[0]));
    }
    return CLGAN_OK;
}

static clgan_status parse_optim(yctx *c, const yfield *fl, optim_spec *o, const char *which) {
    yfield f[] = {Y("type"),          Y("learning_rate"), Y("schedule"),       Y("decay"),
                  Y("min_learning_rate"), Y("decay_steps"), Y("momentum"),    Y("final_momentum"),
                  Y("momentum_epochs"), Y("beta1"),        Y("beta2"),          Y("eps"),
                  Y("max_col_norm"),  Y("alpha")};
    TRY(y_fields(c, fl->val, which, f, NF(f)));
    TRY(y_require(c, fl->val, f, NF(f), "type", which));
    TRY(y_require(c, fl->val, f, NF(f), "learning_rate", which));
    static const char *const kinds[] = {"sgd", "adam", "rmsprop"};
    int k;
    TRY(y_enum(c, FLD(f, "type"), which, kinds, 3, &k));
    o->kind = k;
    TRY(y_num(c, FLD(f, "learning_rate"), which, 0, 1, 10, 0, &o->lr));
    o->schedule = LR_CONSTANT;
    o->decay = 1;
    o->lr_min = 0;
    o->decay_steps = 0;
    if (HAS(f, "schedule")) {
        static const char *const sch[] = {"constant", "exponential", "linear"};
        int s;
        TRY(y_enum(c, FLD(f, "schedule"), which, sch, 3, &s));
        o->schedule = s;
    }
    if (o->schedule != LR_EXPONENTIAL) TRY(y_only(c, f, NF(f), "decay", "schedule exponential",
                                                  "this schedule"));
    if (o->schedule != LR_LINEAR) TRY(y_only(c, f, NF(f), "decay_steps", "schedule linear",
                                             "this schedule"));
    if (o->schedule == LR_CONSTANT) TRY(y_only(c, f, NF(f), "min_learning_rate",
                                               "a decaying schedule", "constant"));
    if (o->schedule == LR_EXPONENTIAL) {
        TRY(y_require(c, fl->val, f, NF(f), "decay", which));
        TRY(y_num(c, FLD(f, "decay"), which, 1, 0, 2, 0, &o->decay));
    }
    if (o->schedule == LR_LINEAR) {
        TRY(y_require(c, fl->val, f, NF(f), "decay_steps", which));
        TRY(y_int(c, FLD(f, "decay_steps"), which, 1, 1L << 40, &o->decay_steps));
    }
    if (HAS(f, "min_learning_rate"))
        TRY(y_num(c, FLD(f, "min_learning_rate"), which, 0, 0, 10, 0, &o->lr_min));
    if (o->kind != OPTIM_RMSPROP) TRY(y_only(c, f, NF(f), "alpha", "rmsprop", kinds[k]));
    if (o->kind == OPTIM_SGD) {
        TRY(y_only(c, f, NF(f), "beta1", "adam", "sgd"));
        TRY(y_only(c, f, NF(f), "beta2", "adam", "sgd"));
        TRY(y_only(c, f, NF(f), "eps", "adam", "sgd"));
        o->momentum = 0;
        if (HAS(f, "momentum")) TRY(y_num(c, FLD(f, "momentum"), which, 0, 0, 1, 1, &o->momentum));
        o->momentum_final = o->momentum;
        o->momentum_epochs = 0;
        if (HAS(f, "final_momentum"))
            TRY(y_num(c, FLD(f, "final_momentum"), which, 0, 0, 1, 1, &o->momentum_final));
        if (HAS(f, "momentum_epochs")) {
            long e;
            TRY(y_int(c, FLD(f, "momentum_epochs"), which, 1, 1L << 30, &e));
            o->momentum_epochs = (int)e;
        }
        if (HAS(f, "final_momentum") != HAS(f, "momentum_epochs"))
            return yerr(c, fl->val, "'%s': final_momentum and momentum_epochs go together", which);
    } else if (o->kind == OPTIM_RMSPROP) {
        static const char *const not_rms[] = {"momentum", "final_momentum", "momentum_epochs",
                                               "beta1", "beta2"};
        for (size_t i = 0; i < ARRAY_LEN(not_rms); i++)
            TRY(y_only(c, f, NF(f), not_rms[i], i < 3 ? "sgd" : "adam", "rmsprop"));
        o->alpha = 0.99f; /* PyTorch's defaults */
        o->eps = 1e-8f;
        if (HAS(f, "alpha")) TRY(y_num(c, FLD(f, "alpha"), which, 0, 0, 1, 1, &o->alpha));
        if (HAS(f, "eps")) TRY(y_num(c, FLD(f, "eps"), which, 0, 1, 1, 0, &o->eps));
    } else {
        TRY(y_only(c, f, NF(f), "momentum", "sgd", "adam"));
        TRY(y_only(c, f, NF(f), "final_momentum", "sgd", "adam"));
        TRY(y_only(c, f, NF(f), "momentum_epochs", "sgd", "adam"));
        o->beta1 = 0.9f;
        o->beta2 = 0.999f;
        o->eps = 1e-8f;
        if (HAS(f, "beta1")) TRY(y_num(c, FLD(f, "beta1"), which, 0, 0, 1, 1, &o->beta1));
        if (HAS(f, "beta2")) TRY(y_num(c, FLD(f, "beta2"), which, 0, 0, 1, 1, &o->beta2));
        if (HAS(f, "eps")) TRY(y_num(c, FLD(f, "eps"), which, 0, 1, 1, 0, &o->eps));
    }
    o->max_col_norm = 0;
    if (HAS(f, "max_col_norm"))
        TRY(y_num(c, FLD(f, "max_col_norm"), which, 0, 1, 1e6, 0, &o->max_col_norm));
    return CLGAN_OK;
}

/* train.augment: {policy: [color, translation, cutout], p: 1, adaptive: {target: 0.6}} */
static clgan_status parse_augment(yctx *c, const yfield *af, augment_spec *a) {
    static const char *const ops[] = {"color", "translation", "cutout"};
    yfield p[] = {Y("policy"), Y("p"), Y("adaptive")};
    TRY(y_fields(c, af->val, "train.augment", p, NF(p)));
    TRY(y_require(c, af->val, p, NF(p), "policy", "train.augment"));
    a->line = af->key_node->line;
    a->col = af->key_node->col;
    const ynode *pl = FLD(p, "policy")->val;
    if (pl->type != Y_SEQ || pl->n == 0)
        return yerr(c, pl, "'policy' in 'train.augment': expected a list of ops (color, "
                           "translation, cutout), got %s", ytype_name(pl));
    for (int i = 0; i < pl->n; i++) {
        const ynode *op = pl->kids[i];
        int k = -1;
        for (int j = 0; op->type == Y_SCALAR && j < (int)ARRAY_LEN(ops); j++)
            if (strcmp(op->val, ops[j]) == 0) k = j;
        if (k < 0)
            return yerr(c, op, "'policy' in 'train.augment': unknown op%s%s%s (expected color, "
                               "translation or cutout)", op->type == Y_SCALAR ? " '" : "",
                        op->type == Y_SCALAR ? op->val : "", op->type == Y_SCALAR ? "'" : "");
        if (a->policy & (1u << k))
            return yerr(c, op, "'policy' in 'train.augment': '%s' twice", ops[k]);
        a->policy |= 1u << k;
    }
    a->p = 1;
    if (HAS(p, "p")) TRY(y_num(c, FLD(p, "p"), "train.augment", 0, 0, 1, 0, &a->p));
    if (HAS(p, "adaptive")) {
        yfield q[] = {Y("target")};
        TRY(y_fields(c, FLD(p, "adaptive")->val, "train.augment.adaptive", q, NF(q)));
        a->target = 0.6f;
        if (HAS(q, "target"))
            TRY(y_num(c, FLD(q, "target"), "train.augment.adaptive", 0, 1, 1, 1, &a->target));
        if (!HAS(p, "p")) a->p = 0; /* ADA starts from no augmentation */
    }
    return CLGAN_OK;
}

static clgan_status parse_train(yctx *c, const ynode *n, train_spec *t) {
    yfield f[] = {Y("batch"),      Y("k"),           Y("epochs"),       Y("iters"),
                  Y("seed"),       Y("g_loss"),      Y("label_smoothing"), Y("log_every"),
                  Y("sample_every"), Y("checkpoint_every"), Y("generator"), Y("discriminator"),
                  Y("parzen"),     Y("classifier"),      Y("eval"),    Y("loss"),
                  Y("clip"),       Y("ema"),             Y("pack"),    Y("r1"),
                  Y("r2"),         Y("gradient_penalty"), Y("augment")};
    TRY(y_fields(c, n, "train", f, NF(f)));
    TRY(y_require(c, n, f, NF(f), "batch", "train"));
    int cls = c->m->kind == MODEL_CLASSIFIER;
    if (cls) {
        static const char *const gan_only[] = {"k",      "g_loss",        "label_smoothing",
                                               "sample_every", "generator", "discriminator",
                                               "parzen", "eval", "loss", "clip", "ema",
                                               "pack", "r1", "r2", "gradient_penalty",
                                               "augment"};
        for (size_t i = 0; i < ARRAY_LEN(gan_only); i++)
            TRY(y_only(c, f, NF(f), gan_only[i], "a GAN", "a classifier"));
        TRY(y_require(c, n, f, NF(f), "classifier", "train"));
    } else {
        TRY(y_only(c, f, NF(f), "classifier", "a classifier model", "a GAN"));
        TRY(y_require(c, n, f, NF(f), "generator", "train"));
        TRY(y_require(c, n, f, NF(f), "discriminator", "train"));
    }
    long v;
    TRY(y_int(c, FLD(f, "batch"), "train", 1, 1L << 16, &v));
    t->batch = (int)v;
    t->k = 1;
    if (HAS(f, "k")) {
        TRY(y_int(c, FLD(f, "k"), "train", 1, 100, &v));
        t->k = (int)v;
    }
    if (HAS(f, "epochs") && HAS(f, "iters"))
        return yerr(c, FLD(f, "iters")->key_node, "'train': give epochs or iters, not both");
    t->epochs = 10;
    t->iters = 0;
    if (HAS(f, "epochs")) TRY(y_int(c, FLD(f, "epochs"), "train", 1, 1L << 30, &t->epochs));
    if (HAS(f, "iters")) TRY(y_int(c, FLD(f, "iters"), "train", 1, 1L << 40, &t->iters));
    t->seed = 1;
    if (HAS(f, "seed")) TRY(y_u64(c, FLD(f, "seed"), "train", &t->seed));
    t->loss = GAN_LOSS_NON_SATURATING;
    if (HAS(f, "g_loss") && HAS(f, "loss"))
        return yerr(c, FLD(f, "g_loss")->key_node, "'train': give loss or g_loss (its older "
                                                   "name), not both");
    if (HAS(f, "loss")) {
        static const char *const losses[] = {"non_saturating", "minimax",     "least_squares",
                                             "hinge",          "wasserstein", "relativistic"};
        int l;
        TRY(y_enum(c, FLD(f, "loss"), "train", losses, 6, &l));
        t->loss = l;
    }
    t->pack = 1;
    if (HAS(f, "pack")) {
        TRY(y_int(c, FLD(f, "pack"), "train", 1, 64, &v));
        t->pack = (int)v;
        if (t->batch % t->pack != 0)
            return yerr(c, FLD(f, "pack")->val, "'pack' in 'train': batch %d is not a multiple "
                        "of %d (D judges pack samples at once)", t->batch, t->pack);
    }
    t->ema = 0;
    if (HAS(f, "ema")) TRY(y_num(c, FLD(f, "ema"), "train", 0, 1, 1, 1, &t->ema));
    t->clip = 0;
    if (HAS(f, "clip")) {
        if (t->loss != GAN_LOSS_WASSERSTEIN)
            return yerr(c, FLD(f, "clip")->key_node, "'clip' applies to loss wasserstein (weight "
                                                     "clipping), not this loss");
        TRY(y_num(c, FLD(f, "clip"), "train", 0, 1, 100, 0, &t->clip));
    }
    if (HAS(f, "g_loss")) {
        static const char *const losses[] = {"non_saturating", "minimax"};
        int l;
        TRY(y_enum(c, FLD(f, "g_loss"), "train", losses, 2, &l));
        t->loss = l;
    }
    t->label_smoothing = 0;
    if (HAS(f, "label_smoothing")) {
        if (t->loss != GAN_LOSS_NON_SATURATING && t->loss != GAN_LOSS_MINIMAX)
            return yerr(c, FLD(f, "label_smoothing")->key_node, "'label_smoothing' applies to the "
                        "cross-entropy losses (non_saturating, minimax), not this loss");
        TRY(y_num(c, FLD(f, "label_smoothing"), "train", 0, 0, 0.5, 1, &t->label_smoothing));
    }
    memset(t->penalty, 0, sizeof t->penalty);
    for (int k = 0; k < PENALTY_KINDS; k++) {
        const char *name = penalty_name(k);
        if (!HAS(f, name)) continue;
        penalty_spec *ps = &t->penalty[k];
        const yfield *pf = FLD(f, name);
        char where[32];
        snprintf(where, sizeof where, "train.%s", name);
        ps->line = pf->key_node->line;
        ps->col = pf->key_node->col;
        ps->every = 1;
        if (k == PENALTY_GP) {
            yfield p[] = {Y("weight"), Y("target")};
            TRY(y_fields(c, pf->val, where, p, NF(p)));
            TRY(y_require(c, pf->val, p, NF(p), "weight", where));
            TRY(y_num(c, FLD(p, "weight"), where, 0, 1, 1e6, 0, &ps->weight));
            ps->target = 1;
            if (HAS(p, "target")) TRY(y_num(c, FLD(p, "target"), where, 0, 0, 1e6, 0, &ps->target));
        } else {
            yfield p[] = {Y("gamma"), Y("every")};
            TRY(y_fields(c, pf->val, where, p, NF(p)));
            TRY(y_require(c, pf->val, p, NF(p), "gamma", where));
            TRY(y_num(c, FLD(p, "gamma"), where, 0, 1, 1e6, 0, &ps->weight));
            if (HAS(p, "every")) {
                TRY(y_int(c, FLD(p, "every"), where, 1, 1 << 20, &v));
                ps->every = (int)v;
            }
        }
    }
    memset(&t->augment, 0, sizeof t->augment);
    if (HAS(f, "augment")) TRY(parse_augment(c, FLD(f, "augment"), &t->augment));
    t->log_every = 100;
    t->sample_every = 1000;
    t->checkpoint_every = 0;
    if (HAS(f, "log_every")) {
        TRY(y_int(c, FLD(f, "log_every"), "train", 1, 1L << 30, &v));
        t->log_every = (int)v;
    }
    if (HAS(f, "sample_every")) {
        TRY(y_int(c, FLD(f, "sample_every"), "train", 1, 1L << 30, &v));
        t->sample_every = (int)v;
    }
    if (HAS(f, "checkpoint_every")) {
        TRY(y_int(c, FLD(f, "checkpoint_every"), "train", 1, 1L << 30, &v));
        t->checkpoint_every = (int)v;
    }
    t->parzen_samples = 0;
    t->parzen_every = 0;
    if (HAS(f, "parzen")) {
        yfield p[] = {Y("samples"), Y("every_epochs")};
        TRY(y_fields(c, FLD(f, "parzen")->val, "train.parzen", p, NF(p)));
        t->parzen_samples = 10000;
        if (HAS(p, "samples"))
            TRY(y_int(c, FLD(p, "samples"), "train.parzen", 1, 1000000, &t->parzen_samples));
        if (HAS(p, "every_epochs")) {
            TRY(y_int(c, FLD(p, "every_epochs"), "train.parzen", 1, 1L << 20, &v));
            t->parzen_every = (int)v;
        }
    }
    if (HAS(f, "eval")) {
        /* FID and KID in a classifier's features, into log.csv and eval.json */
        const ynode *ev = FLD(f, "eval")->val;
        yfield p[] = {Y("classifier"), Y("samples"), Y("every_epochs"), Y("split")};
        TRY(y_fields(c, ev, "train.eval", p, NF(p)));
        TRY(y_require(c, ev, p, NF(p), "classifier", "train.eval"));
        TRY(y_scalar(c, FLD(p, "classifier"), "train.eval", "a classifier checkpoint's path"));
        free(t->eval_classifier);
        t->eval_classifier = resolve_path(c->path, FLD(p, "classifier")->val->val);
        if (!t->eval_classifier) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
        t->eval_line = FLD(p, "classifier")->val->line;
        t->eval_col = FLD(p, "classifier")->val->col;
        t->eval_samples = 10000;
        if (HAS(p, "samples"))
            TRY(y_int(c, FLD(p, "samples"), "train.eval", 10, 1000000, &t->eval_samples));
        if (HAS(p, "every_epochs")) {
            TRY(y_int(c, FLD(p, "every_epochs"), "train.eval", 1, 1L << 20, &v));
            t->eval_every = (int)v;
        }
        snprintf(t->eval_split, sizeof t->eval_split, "test");
        if (HAS(p, "split")) {
            static const char *const splits[] = {"test", "valid", "train"};
            int sp;
            TRY(y_enum(c, FLD(p, "split"), "train.eval", splits, 3, &sp));
            snprintf(t->eval_split, sizeof t->eval_split, "%s", splits[sp]);
        }
    }
    if (cls)
        return parse_optim(c, FLD(f, "classifier"), &t->opt[CLGAN_CLASSIFIER], "train.classifier");
    TRY(parse_optim(c, FLD(f, "generator"), &t->opt[CLGAN_GENERATOR], "train.generator"));
    TRY(parse_optim(c, FLD(f, "discriminator"), &t->opt[CLGAN_DISCRIMINATOR],
                    "train.discriminator"));
    return CLGAN_OK;
}

/* The layer that sets a network's output shape: its last layer that changes the shape, else its
 * last layer with parameters, else its last layer. */
static const layer_spec *last_shaping_layer(const net_spec *n) {
    for (int i = n->n_layers - 1; i >= 0; i--) {
        shape3 a = n->layers[i].in, b = n->layers[i].out;
        if (a.c != b.c || a.h != b.h || a.w != b.w) return &n->layers[i];
    }
    for (int i = n->n_layers - 1; i >= 0; i--)
        if (n->layers[i].n_params > 0) return &n->layers[i];
    return &n->layers[n->n_layers - 1];
}

/*
 * A sigmoid followed only by layers that pass values, but for a dropout that rescales them:
 * the loss could read neither the sigmoid's input (the dropout changes the output) nor the
 * output as a probability. Refused, naming the dropout.
 */
static clgan_status check_after_sigmoid(yctx *c, const net_spec *n, const char *which) {
    int i = n->n_layers - 1, drop = -1;
    for (; i > 0; i--) {
        const layer_spec *L = &n->layers[i];
        const layer_class *cls = layer_class_of(L->kind);
        if (L->kind == LAYER_DROPOUT && !cls->passes_values(L)) drop = i;
        else if (!cls->passes_values || !cls->passes_values(L)) break;
    }
    if (drop < 0 || n->layers[i].kind != LAYER_SIGMOID) return CLGAN_OK;
    const layer_spec *D = &n->layers[drop];
    return yerr_at(c, D->line, D->col, CLGAN_ERR_MODEL, "a dropout after the %s's final sigmoid "
                   "(line %d) rescales its probabilities: put the dropout before the sigmoid",
                   which, n->layers[i].line);
}

/* Layers that need more than one row per statistic, against the rows they will see. */
static clgan_status check_rows(yctx *c, const net_spec *net, int rows) {
    for (int i = 0; i < net->n_layers; i++) {
        const layer_spec *L = &net->layers[i];
        const layer_class *cls = layer_class_of(L->kind);
        char why[256];
        if (cls->check_rows && cls->check_rows(L, rows, why, sizeof why) != 0)
            return yerr_at(c, L->line, L->col, CLGAN_ERR_MODEL, "%s", why);
    }
    return CLGAN_OK;
}

/*
 * A classifier: images in, one logit per class out (the softmax is the loss's), labels for
 * the training images, and a test split to report accuracy on.
 */
static clgan_status check_classifier(yctx *c, const ynode *data_node) {
    clgan_model *m = c->m;
    net_spec *n = &m->net[CLGAN_CLASSIFIER];
    if (m->data.format != DATA_IDX)
        return yerr_at(c, m->data.line, m->data.col, CLGAN_ERR_MODEL, "'data': a classifier "
                       "trains on images with labels (format idx, with 'labels')");
    if (!m->data.labels)
        return yerr(c, data_node, "'data': a classifier needs 'labels', the IDX label file of "
                                  "its images");
    if (m->data.test[1] == 0)
        return yerr(c, data_node, "'data': a classifier needs 'test', the images it reports its "
                                  "accuracy on ([start, stop] of the file, or {path, labels})");
    if (m->data.test_path && !m->data.test_labels)
        return yerr(c, data_node, "'data.test': give 'labels' for the test images too");
    n->in = m->data.shape;
    TRY(net_infer(m, n, "classifier"));
    const layer_spec *last = &n->layers[net_spec_last_acting(n)];
    long k = shape_size(n->out);
    if (n->out.h != 1 || n->out.w != 1 || k < 2 || k > 256)
        return yerr_at(c, last->line, last->col, CLGAN_ERR_MODEL,
                       "classifier output is %dx%dx%d per sample, expected one logit per class "
                       "(2 to 256 units)", n->out.c, n->out.h, n->out.w);
    if (last->kind == LAYER_SIGMOID || last->kind == LAYER_TANH || last->kind == LAYER_RELU)
        return yerr_at(c, last->line, last->col, CLGAN_ERR_MODEL,
                       "a classifier ends in its logits: drop the final %s (the loss applies the "
                       "softmax)", layer_kind_name(last->kind));
    m->classes = (int)k;
    for (int i = 0; i < n->n_layers; i++) {
        param_info ps[LAYER_MAX_PARAMS];
        int np = layer_params(&n->layers[i], ps);
        for (int j = 0; j < np; j++)
            if (ps[j].init == INIT_LOGIT_DATA_MEAN)
                return yerr_at(c, n->layers[i].line, n->layers[i].col, CLGAN_ERR_MODEL,
                               "'bias: logit_of_data_mean' is for a generator's last dense layer");
    }
    return check_rows(c, n, m->train.batch);
}

/* Cross-section checks: shapes between noise, networks and data. */
static clgan_status check_model(yctx *c) {
    clgan_model *m = c->m;
    net_spec *g = &m->net[CLGAN_GENERATOR], *d = &m->net[CLGAN_DISCRIMINATOR];
    g->in = (shape3){m->noise.dim, 1, 1, 0};
    TRY(net_infer(m, g, "generator"));
    if (m->data.unread[0] && shape_size(m->data.shape) == 0) {
        m->data.shape = g->out;
        m->data.shape.image = 1;
    }
    d->in = m->data.shape; /* PacGAN: pack samples joined along channels (features) */
    d->in.c *= m->train.pack;
    TRY(net_infer(m, d, "discriminator"));
    const layer_spec *gl = last_shaping_layer(g);
    if (shape_size(g->out) != shape_size(m->data.shape))
        return yerr_at(c, gl->line, gl->col, CLGAN_ERR_MODEL,
                       "generator output has %ld values per sample, but the data has %ld "
                       "(%dx%dx%d)", shape_size(g->out), shape_size(m->data.shape),
                       m->data.shape.c, m->data.shape.h, m->data.shape.w);
    shape3 go = g->out, ds = m->data.shape;
    if (shape_is_image(go) && (go.c != ds.c || go.h != ds.h || go.w != ds.w))
        return yerr_at(c, gl->line, gl->col, CLGAN_ERR_MODEL,
                       "generator output is %dx%dx%d per sample, but the data is %dx%dx%d",
                       go.c, go.h, go.w, ds.c, ds.h, ds.w);
    const layer_spec *dl = last_shaping_layer(d);
    if (shape_size(d->out) != 1)
        return yerr_at(c, dl->line, dl->col, CLGAN_ERR_MODEL,
                       "discriminator output has %ld values per sample, expected 1 (the "
                       "probability that the input is real)", shape_size(d->out));
    /* the final sigmoid, also behind layers that only pass values on (flatten, reshape) */
    TRY(check_after_sigmoid(c, d, "discriminator"));
    int sig = net_spec_final_sigmoid(d);
    const layer_spec *dlast = &d->layers[sig >= 0 ? sig : d->n_layers - 1];
    if (gan_loss_needs_critic(m->train.loss) && sig >= 0) {
        return yerr_at(c, dlast->line, dlast->col, CLGAN_ERR_MODEL,
                       "'loss: %s' takes a critic's raw output: drop the discriminator's final "
                       "sigmoid", gan_loss_name(m->train.loss));
    }
    if (m->train.augment.policy && !data_is_images(&m->data))
        return yerr_at(c, m->train.augment.line, m->train.augment.col, CLGAN_ERR_MODEL,
                       "'augment' in 'train' shifts, cuts and recolours images: this model's "
                       "data are %dx%dx%d values, not images", m->data.shape.c, m->data.shape.h,
                       m->data.shape.w);
    /* a gradient penalty differentiates D's gradient: every layer up to the logits must let it */
    for (int k = 0; k < PENALTY_KINDS; k++) {
        const penalty_spec *ps = &m->train.penalty[k];
        const char *why;
        int bad = ps->weight > 0 ? net_spec_no_tangent(d, sig >= 0 ? sig - 1 : d->n_layers - 1,
                                                        &why)
                                 : -1;
        if (bad < 0) continue;
        const layer_spec *L = &d->layers[bad];
        char label[LAYER_PATH_MAX + 64];
        layer_label(L, label, sizeof label);
        return yerr_at(c, ps->line, ps->col, CLGAN_ERR_MODEL,
                       "'%s' in 'train' differentiates D's gradient, and the discriminator's %s "
                       "(line %d:%d) does not let it: %s", penalty_name(k), label, L->line,
                       L->col, why ? why : "its second-order gradient is not built yet");
    }
    /* layers that need more than one value per statistic: m rows in every step (D's halves) */
    TRY(check_rows(c, g, m->train.batch));
    TRY(check_rows(c, d, m->train.batch / m->train.pack));
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < m->net[n].n_layers; i++) {
            const layer_spec *L = &m->net[n].layers[i];
            param_info ps[LAYER_MAX_PARAMS];
            int np = layer_params(L, ps), logit = 0;
            for (int j = 0; j < np; j++) logit |= ps[j].init == INIT_LOGIT_DATA_MEAN;
            if (!logit) continue;
            if (n != CLGAN_GENERATOR || net_spec_final_sigmoid(&m->net[n]) != i + 1)
                return yerr_at(c, L->line, L->col, CLGAN_ERR_MODEL,
                               "'bias: logit_of_data_mean' is for the dense layer just before "
                               "the generator's final sigmoid");
        }
    return CLGAN_OK;
}

static clgan_status parse_root(yctx *c, const ynode *root) {
    clgan_model *m = c->m;
    yfield f[] = {Y("name"),  Y("noise"),      Y("data"),      Y("generator"), Y("discriminator"),
                  Y("train"), Y("classifier"), Y("condition"), Y("blocks")};
    TRY(y_fields(c, root, "model", f, NF(f)));
    if (HAS(f, "blocks")) TRY(parse_blocks(c, FLD(f, "blocks")->val));
    /* the sections say what the model is: a classifier network, or a GAN's two */
    m->kind = HAS(f, "classifier") ? MODEL_CLASSIFIER : MODEL_GAN;
    if (m->kind == MODEL_CLASSIFIER) {
        static const char *const gan_only[] = {"noise", "generator", "discriminator",
                                               "condition"};
        for (size_t i = 0; i < ARRAY_LEN(gan_only); i++)
            TRY(y_only(c, f, NF(f), gan_only[i], "a GAN", "a classifier"));
        TRY(y_require(c, root, f, NF(f), "data", "model"));
        TRY(y_require(c, root, f, NF(f), "train", "model"));
    } else {
        static const char *const required[] = {"noise", "data", "generator", "discriminator",
                                               "train"};
        for (size_t i = 0; i < ARRAY_LEN(required); i++)
            TRY(y_require(c, root, f, NF(f), required[i], "model"));
    }
    if (HAS(f, "name")) {
        TRY(y_scalar(c, FLD(f, "name"), "model", "a name"));
        const ynode *v = FLD(f, "name")->val;
        size_t n = strlen(v->val);
        if (n == 0 || n >= sizeof m->name || strspn(v->val, NAME_CHARS) != n || v->val[0] == '.')
            return yerr(c, v, "'name': expected 1 to %zu letters, digits, '_', '-' or '.' (not "
                              "first): it names run directories; got '%.60s%s'",
                        sizeof m->name - 1, v->val, n > 60 ? "..." : "");
        snprintf(m->name, sizeof m->name, "%s", v->val);
    }
    if (m->kind == MODEL_CLASSIFIER) {
        TRY(parse_data(c, FLD(f, "data")->val, &m->data));
        TRY(parse_net(c, FLD(f, "classifier")->val, "classifier", &m->net[CLGAN_CLASSIFIER]));
        TRY(parse_train(c, FLD(f, "train")->val, &m->train));
        return check_classifier(c, FLD(f, "data")->val);
    }
    TRY(parse_noise(c, FLD(f, "noise")->val, &m->noise));
    TRY(parse_data(c, FLD(f, "data")->val, &m->data));
    if (HAS(f, "condition")) {
        /* the label as an input of both networks (label_concat, projection) */
        const ynode *cn = FLD(f, "condition")->val;
        yfield cf[] = {Y("classes")};
        TRY(y_fields(c, cn, "condition", cf, NF(cf)));
        TRY(y_require(c, cn, cf, NF(cf), "classes", "condition"));
        long k;
        TRY(y_int(c, FLD(cf, "classes"), "condition", 2, 256, &k));
        m->condition_classes = (int)k;
        const data_spec *d = &m->data;
        if (d->format == DATA_STACKED_IDX)
            return yerr(c, cn, "'condition': stacked data have no single label per sample");
        if (d->format == DATA_IDX && !d->labels)
            return yerr(c, cn, "'condition': the data need 'labels', the IDX label file of "
                               "the images");
        if (!data_is_images(d) && d->n_comp > k)
            return yerr(c, FLD(cf, "classes")->val, "'condition': the data have %d modes, "
                        "more than %ld classes", d->n_comp, k);
    }
    TRY(parse_net(c, FLD(f, "generator")->val, "generator", &m->net[CLGAN_GENERATOR]));
    TRY(parse_net(c, FLD(f, "discriminator")->val, "discriminator", &m->net[CLGAN_DISCRIMINATOR]));
    TRY(parse_train(c, FLD(f, "train")->val, &m->train));
    if (m->train.parzen_samples > 0 && (m->data.format != DATA_IDX || m->data.valid[1] == 0 ||
                                        m->data.test[1] == 0))
        return yerr(c, FLD(f, "train")->val, "'train.parzen' needs image data with data.valid "
                                             "and data.test ranges");
    if (m->condition_classes && m->train.pack > 1)
        return yerr(c, FLD(f, "condition")->val, "'condition': packed discriminators (pack %d) "
                    "would see several labels in a row; use pack 1", m->train.pack);
    if (m->train.eval_classifier && m->data.format != DATA_IDX)  /* stacked: no split to match */
        return yerr(c, FLD(f, "train")->val, "'train.eval' measures images: the data are not");
    return check_model(c);
}

/* The file's name without its extension, with characters outside NAME_CHARS as '_'. */
static void default_name(clgan_model *m) {
    const char *base = strrchr(m->path, '/');
    base = base ? base + 1 : m->path;
    snprintf(m->name, sizeof m->name, "%.127s", base);
    char *dot = strrchr(m->name, '.');
    if (dot && dot != m->name) *dot = '\0';
    for (char *p = m->name; *p; p++)
        if (!strchr(NAME_CHARS, *p) || (p == m->name && *p == '.')) *p = '_';
    if (!m->name[0]) snprintf(m->name, sizeof m->name, "model");
}

static clgan_status load_text(const char *path, const char *text, size_t len,
                              const shape3 *data_shape, int data_optional, clgan_model **out) {
    clgan_model *m = calloc(1, sizeof *m);
    *out = m;
    if (!m) return CLGAN_ERR_NOMEM;
    m->path = str_dup(path);
    if (!m->path) return err_set(&m->err, CLGAN_ERR_NOMEM, "out of memory");
    default_name(m);
    m->yaml_text = malloc(len + 1);
    if (!m->yaml_text) return err_set(&m->err, CLGAN_ERR_NOMEM, "out of memory");
    memcpy(m->yaml_text, text, len);
    m->yaml_text[len] = '\0';
    yctx c = {.m = m, .path = m->path, .data_shape = data_shape, .data_optional = data_optional};
    if (len > (size_t)YAML_MAX_BYTES)
        return err_set(&m->err, CLGAN_ERR_YAML, "%s:1:1: model file is %zu bytes, over the %ld "
                       "byte limit", path, len, YAML_MAX_BYTES);
    if (memchr(m->yaml_text, '\0', len))
        return err_set(&m->err, CLGAN_ERR_YAML, "%s:1:1: not a text file (contains NUL bytes)",
                       path);
    ynode *root;
    clgan_status st = parse_tree(&c, m->yaml_text, len, &root);
    if (st != CLGAN_OK) return st;
    if (!root) return err_set(&m->err, CLGAN_ERR_YAML, "%s:1:1: empty model file", path);
    st = parse_root(&c, root);
    ynode_free(root);
    free(c.blocks);
    free(c.out);
    if (st == CLGAN_OK) err_clear(&m->err);
    return st;
}

clgan_status model_load_text(const char *path, const char *text, size_t len,
                             const shape3 *data_shape, clgan_model **out) {
    return load_text(path, text, len, data_shape, 0, out);
}

static clgan_status load_file(const char *path, int data_optional, clgan_model **out) {
    char *text;
    size_t len;
    clgan_err e;
    err_clear(&e);
    clgan_status st = file_read_all(path, (size_t)YAML_MAX_BYTES, &text, &len, &e);
    if (st != CLGAN_OK) {
        clgan_model *m = calloc(1, sizeof *m);
        *out = m;
        if (!m) return CLGAN_ERR_NOMEM;
        m->path = str_dup(path);
        m->err = e;
        return st;
    }
    st = load_text(path, text, len, NULL, data_optional, out);
    free(text);
    return st;
}

clgan_status clgan_model_load(const char *path, clgan_model **out) {
    return load_file(path, 0, out);
}

clgan_status model_load_shapes(const char *path, clgan_model **out) {
    return load_file(path, 1, out);
}

void clgan_model_free(clgan_model *m) {
    if (!m) return;
    for (int n = 0; n < MODEL_NETS; n++) free(m->net[n].layers);
    free(m->yaml_text);
    free(m->path);
    free(m->data.path);
    free(m->data.labels);
    free(m->data.test_path);
    free(m->data.test_labels);
    free(m->train.eval_classifier);
    free(m);
}

const char *clgan_model_errmsg(const clgan_model *m) {
    return m ? m->err.msg : "out of memory";
}

clgan_status clgan_model_load_shapes(const char *path, clgan_model **out) {
    return load_file(path, 1, out);
}
