/*
 * gen_eval.c - the measurements of a generator handle that need no feature space of their own:
 * the Parzen window log-likelihood of held-out images (the paper's Table 1) and the modes a
 * generator covers (a mixture's, or Stacked MNIST's digits read by a classifier), as
 * `clgan eval --parzen` and `--modes` print them.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "feature_space.h"
#include "modes.h"
#include "parzen.h"
#include "sampler.h"

_Static_assert(MODES_MAX == ARRAY_LEN(((clgan_modes_result *)0)->per_mode),
               "a mixture's modes fit the result");

clgan_parzen_params clgan_parzen_default_params(void) {
    clgan_parzen_params p;
    memset(&p, 0, sizeof p);
    p.samples = 10000;
    return p;
}

clgan_modes_params clgan_modes_default_params(void) {
    clgan_modes_params p;
    memset(&p, 0, sizeof p);
    return p;
}

/* Whether paths a and b name one existing file. */
static int same_path(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static uint64_t ckpt_iter(const clgan_generator *h) {
    const char *it = ckpt_meta(&h->c, "iter");
    return it ? strtoull(it, NULL, 10) : 0;
}

/* Every call's start: an open handle of a GAN's checkpoint, and a result to write (zeroed). */
static clgan_status check_gan(clgan_generator *h, const char *what, void *r, size_t r_size) {
    if (!h) return CLGAN_ERR_ARG;
    if (!r) return err_set(&h->err, CLGAN_ERR_ARG, "%s: no result to write", what);
    memset(r, 0, r_size);
    if (!h->g) return err_set(&h->err, CLGAN_ERR_ARG, "the generator is not open");
    if (h->m->kind != MODEL_GAN)
        return err_set(&h->err, CLGAN_ERR_DATA, "%s: %s is a classifier's checkpoint", what,
                       h->c.path);
    err_clear(&h->err);
    return CLGAN_OK;
}

clgan_status clgan_generator_parzen(clgan_generator *h, const clgan_parzen_params *p,
                                    clgan_parzen_result *r) {
    clgan_parzen_params dp = clgan_parzen_default_params();
    if (!p) p = &dp;
    clgan_status st = check_gan(h, "parzen", r, sizeof *r);
    if (st != CLGAN_OK) return st;
    const clgan_model *m = h->m;
    if (m->data.format != DATA_IDX)
        return err_set(&h->err, CLGAN_ERR_DATA, "%s", m->data.format == DATA_STACKED_IDX
                       ? "parzen: the model's data are stacked images, which have no validation "
                         "and test ranges; --modes --classifier measures them"
                       : "parzen: the model's data are not images (IDX)");
    if (p->samples < 1 || p->n_sigmas < 0 || p->n_sigmas > 64 || (p->n_sigmas && !p->sigmas))
        return err_set(&h->err, CLGAN_ERR_ARG, "parzen: %s", p->samples < 1
                       ? "samples: at least 1" : "sigmas: 1 to 64 bandwidths");
    r->n_sigmas = p->n_sigmas ? p->n_sigmas : 10;
    if (p->n_sigmas) memcpy(r->sigmas, p->sigmas, (size_t)p->n_sigmas * sizeof *r->sigmas);
    else log_space(0.1, 1.0, 10, r->sigmas);
    for (int k = 0; k < r->n_sigmas; k++)
        if (!(r->sigmas[k] >= 1e-4 && r->sigmas[k] <= 1e4)) /* beyond, float's range is left */
            return err_set(&h->err, CLGAN_ERR_ARG, "sigmas: %g is outside [0.0001, 10000]",
                           r->sigmas[k]);
    const char *path = p->data ? p->data : m->data.path;
    long *valid = r->valid, *test = r->test;
    memcpy(valid, p->valid[1] ? p->valid : m->data.valid, 2 * sizeof *valid);
    memcpy(test, p->test[1] ? p->test : m->data.test, 2 * sizeof *test);
    if (valid[1] == 0 || test[1] == 0)
        return err_set(&h->err, CLGAN_ERR_ARG, "parzen: the estimate needs a validation and a "
                       "test range: give --valid START:STOP and --test START:STOP, or data.valid "
                       "and data.test in the model");
    snprintf(r->data, sizeof r->data, "%s", path);
    /* The file must hold images of the model's size, and the ranges must lie inside it. */
    idx_header hd;
    clgan_err e;
    err_clear(&e);
    if (idx_read_header(path, &hd, &e) != CLGAN_OK)
        return err_set(&h->err, e.status, "%s%s", p->data ? "data: " : "", e.msg);
    int d = (int)shape_size(m->data.shape);
    shape3 ds = m->data.shape;
    if (hd.ndim != 3 || (int)hd.dims[1] * (int)hd.dims[2] != d ||
        (ds.c == 1 && ((int)hd.dims[1] != ds.h || (int)hd.dims[2] != ds.w))) {
        char what[96];
        if (hd.ndim < 2)
            snprintf(what, sizeof what, "%u single values (labels?), not images", hd.dims[0]);
        else if (hd.ndim != 3)
            snprintf(what, sizeof what, "%d-dimensional items, not images", hd.ndim);
        else
            snprintf(what, sizeof what, "images of %ux%u", hd.dims[1], hd.dims[2]);
        return err_set(&h->err, CLGAN_ERR_DATA, "%s%s holds %s; the model makes images of "
                       "%dx%dx%d", p->data ? "data: " : "", path, what, ds.c, ds.h, ds.w);
    }
    const long n_items = (long)hd.dims[0];
    const long train[2] = {m->data.start, m->data.stop};
    const long *ranges[3] = {valid, test, p->real ? train : NULL};
    static const char *const names[3] = {"valid", "test", "real"};
    const int given[3] = {p->valid[1] != 0, p->test[1] != 0, 0};
    for (int k = 0; k < 3; k++) {
        if (!ranges[k] || ranges[k][1] <= n_items) continue;
        return err_set(&h->err, CLGAN_ERR_DATA, "%s: images %ld:%ld are beyond the %ld in %s",
                       given[k] ? names[k] : p->data ? "data" : names[k], ranges[k][0],
                       ranges[k][1], n_items, path);
    }
    /* held-out images that the generator trained on flatter it: said, not refused (a user may
     * mean it), and only of the training file */
    for (int k = 0; k < 2; k++) {
        const long *g = ranges[k];
        if (!given[k] || (p->data && !same_path(p->data, m->data.path))) continue;
        if (g[0] < m->data.stop && g[1] > m->data.start) {
            size_t at = strlen(r->note);
            snprintf(r->note + at, sizeof r->note - at, "%s--%s %ld:%ld overlaps the training "
                     "images %ld:%ld of %s: the estimate then rewards samples near images G "
                     "trained on", at ? "\n" : "", names[k], g[0], g[1], m->data.start,
                     m->data.stop, path);
        }
    }
    float *vx = NULL, *tx = NULL, *centres = NULL;
    parzen pz;
    memset(&pz, 0, sizeof pz);
    parzen_result pr;
    if ((st = idx_load(path, valid[0], valid[1], &hd, &vx, &h->err)) != CLGAN_OK ||
        (st = idx_load(path, test[0], test[1], &hd, &tx, &h->err)) != CLGAN_OK)
        goto done;
    double t0 = clock_seconds();
    long S = p->samples;
    if (p->real) {
        if ((st = idx_load(path, m->data.start, m->data.stop, &hd, &centres, &h->err)) != CLGAN_OK)
            goto done;
        S = m->data.stop - m->data.start;
        st = parzen_init(&pz, h->dev, centres, S, d);
        if (st == CLGAN_OK)
            st = parzen_evaluate(&pz, vx, valid[1] - valid[0], tx, test[1] - test[0], r->sigmas,
                                 r->n_sigmas, &pr);
    } else {
        net *g;
        if ((st = generator_net(h, 500, &g)) != CLGAN_OK) goto done;
        uint64_t seed = p->has_seed ? p->seed : m->train.seed;
        st = parzen_eval_generator(h->dev, g, &m->noise, seed, &m->data, S, vx,
                                   valid[1] - valid[0], tx, test[1] - test[0], r->sigmas,
                                   r->n_sigmas, &pr);
    }
    if (st != CLGAN_OK) {
        err_set(&h->err, st, "%s", h->dev->err.msg);
        goto done;
    }
    r->seconds = clock_seconds() - t0;
    if (!isfinite(pr.test_mean) || !isfinite(pr.test_se)) {
        st = err_set(&h->err, CLGAN_ERR_NONFINITE, "the estimate is not finite (%g +- %g nats "
                     "at sigma %g): no bandwidth of --sigmas gives a finite likelihood on these "
                     "images", pr.test_mean, pr.test_se, pr.sigmas[pr.best]);
        goto done;
    }
    r->ll = pr.test_mean;
    r->se = pr.test_se;
    r->sigma = pr.sigmas[pr.best];
    r->best = pr.best;
    memcpy(r->valid_ll, pr.valid_mean, (size_t)r->n_sigmas * sizeof *r->valid_ll);
    r->centres = S;
    r->iter = ckpt_iter(h);
done:
    parzen_free(&pz);
    free(centres);
    free(vx);
    free(tx);
    return st;
}

/*
 * Stacked data (Stacked MNIST): each channel of S samples (26,000 by default, as PacGAN)
 * labelled by the classifier; a sample's mode is its digits read as a number. Modes covered
 * (at least one sample) and KL(p || uniform) over the 10^channels modes. real: the training
 * set's own samples, the reference.
 */
static clgan_status stacked_modes(clgan_generator *h, const clgan_modes_params *p,
                                  clgan_modes_result *r) {
    const clgan_model *m = h->m;
    if (!p->classifier)
        return err_set(&h->err, CLGAN_ERR_ARG, "modes: on stacked data they need --classifier "
                       "CKPT, a digit classifier (clgan train models/mnist_classifier.yaml)");
    long S = p->samples ? p->samples : 26000;
    clgan_err e;
    err_clear(&e);
    feature_space fs;
    memset(&fs, 0, sizeof fs);
    dataset data;
    memset(&data, 0, sizeof data);
    float *x = NULL, *feat = NULL, *logits = NULL;
    long *count = NULL;
    int K = m->data.stack;
    long modes = 1;
    for (int k = 0; k < K; k++) modes *= 10;
    size_t cols = (size_t)shape_size(m->data.shape), hw = cols / (size_t)K;
    clgan_status st = feature_space_open(&fs, h->dev, p->classifier, -1, &e);
    if (st != CLGAN_OK) {
        err_set(&h->err, st, "classifier: %s", e.msg);
        goto done;
    }
    if (shape_size(fs.c->spec->in) != (long)hw || fs.classes != 10) {
        st = err_set(&h->err, CLGAN_ERR_DATA, "classifier: %s takes %ld values and tells %d "
                     "classes; the channels of %s are digits of %zu values", p->classifier,
                     shape_size(fs.c->spec->in), fs.classes, m->name, hw);
        goto done;
    }
    double t0 = clock_seconds();
    uint64_t seed = p->has_seed ? p->seed : m->train.seed;
    x = malloc((size_t)S * cols * sizeof *x);
    feat = malloc((size_t)S * (size_t)K * (size_t)fs.dim * sizeof *feat);
    logits = malloc((size_t)S * (size_t)K * 10 * sizeof *logits);
    count = calloc((size_t)modes, sizeof *count);
    if (!x || !feat || !logits || !count) {
        st = err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (p->real) { /* the training set's draws: the first S samples */
        if ((st = dataset_load(m, seed, &data, &h->err)) != CLGAN_OK) goto done;
        if (S > data.n) S = data.n;
        for (long i = 0; i < S; i++) dataset_sample(&data, i, x + (size_t)i * cols);
    } else {
        net *g;
        if ((st = generator_net(h, 500, &g)) != CLGAN_OK) goto done;
        if ((st = net_sample(g, &m->noise, seed, 1000, S, x)) != CLGAN_OK) {
            err_set(&h->err, st, "%s", h->dev->err.msg);
            goto done;
        }
    }
    /* channels in [0, 1], one image each, in sample order; a NaN would be no digit at all */
    if (!floats_finite(x, (size_t)S * cols)) {
        st = err_set(&h->err, CLGAN_ERR_NONFINITE, "modes: the generator's samples hold NaN or "
                     "Inf; no digit is read from them");
        goto done;
    }
    data_to_unit(&m->data, x, (size_t)S * cols);
    for (size_t i = 0; i < (size_t)S * cols; i++) x[i] = x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i];
    if ((st = feature_space_embed(&fs, x, S * K, feat, logits, &h->err)) != CLGAN_OK) goto done;
    for (long i = 0; i < S; i++) {
        long mode = 0;
        for (int k = 0; k < K; k++) {
            const float *z = logits + ((size_t)i * K + (size_t)k) * 10;
            int arg = 0;
            for (int j = 1; j < 10; j++)
                if (z[j] > z[arg]) arg = j;
            mode = mode * 10 + arg;
        }
        count[mode]++;
    }
    double kl = 0;
    for (long k = 0; k < modes; k++) {
        r->covered += count[k] > 0;
        if (count[k] > 0) {
            double q = (double)count[k] / (double)S;
            kl += q * log(q * (double)modes);
        }
    }
    r->stacked = K;
    r->modes = modes;
    r->kl_uniform = kl;
    r->samples = S;
    r->high_quality_pct = NAN;
    r->seconds = clock_seconds() - t0;
done:
    free(x);
    free(feat);
    free(logits);
    free(count);
    dataset_free(&data);
    feature_space_close(&fs);
    return st;
}

clgan_status clgan_generator_modes(clgan_generator *h, const clgan_modes_params *p,
                                   clgan_modes_result *r) {
    clgan_modes_params dp = clgan_modes_default_params();
    if (!p) p = &dp;
    clgan_status st = check_gan(h, "modes", r, sizeof *r);
    if (st != CLGAN_OK) return st;
    r->kl_uniform = NAN;
    const clgan_model *m = h->m;
    if (p->samples < 0) return err_set(&h->err, CLGAN_ERR_ARG, "samples: at least 1");
    r->iter = ckpt_iter(h);
    if (m->data.format == DATA_STACKED_IDX) return stacked_modes(h, p, r);
    if (p->real || p->classifier)
        return err_set(&h->err, CLGAN_ERR_ARG, "--real and --classifier apply to --modes on "
                       "stacked data, not on a mixture");
    if (m->data.format == DATA_IDX)
        return err_set(&h->err, CLGAN_ERR_DATA, "modes: the model's data are images, not a "
                       "mixture of known modes (ring_2d, mixture_1d, gaussian_1d)");
    /* S samples of G (2,500 by default, as PacGAN counts) against the mixture's modes: those
     * covered (at least 20 high-quality samples per 2,500) and the share of high-quality
     * samples (within 3 standard deviations of their nearest mode) */
    long S = p->samples ? p->samples : 2500;
    long min_count = (20 * S + 2499) / 2500; /* 20 per 2,500 samples, at least 1 */
    double t0 = clock_seconds();
    net *g;
    if ((st = generator_net(h, 500, &g)) != CLGAN_OK) return st;
    float *x = malloc((size_t)S * g->out.cols * sizeof *x);
    if (!x) return err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
    uint64_t seed = p->has_seed ? p->seed : m->train.seed;
    mode_stats ms;
    if ((st = net_sample(g, &m->noise, seed, 1000, S, x)) != CLGAN_OK)
        err_set(&h->err, st, "%s", h->dev->err.msg);
    else
        st = modes_count(&m->data, x, S, min_count, &ms, &h->err);
    free(x);
    if (st != CLGAN_OK) return st;
    r->modes = ms.modes;
    r->covered = ms.covered;
    r->high_quality_pct = 100.0 * (double)ms.high_quality / (double)S;
    r->min_count = min_count;
    r->nonfinite = ms.nonfinite;
    r->samples = S;
    memcpy(r->per_mode, ms.count, (size_t)ms.modes * sizeof *r->per_mode);
    r->seconds = clock_seconds() - t0;
    return CLGAN_OK;
}
