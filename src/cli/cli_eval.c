/*
 * cli_eval.c - `clgan eval CKPT --parzen`: the Parzen-window log-likelihood of the paper's
 * Table 1, with the bandwidth chosen on validation images and the figure measured on test images;
 * `--modes`: mode coverage on a mixture (ring_2d and the 1-D mixtures).
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "checkpoint.h"
#include "cli.h"
#include "feature_space.h"
#include "modes.h"
#include "parzen.h"

/* "A:B" into r; 0 absent, 1 ok, -1 bad (printed). */
static int opt_range(const cli_opts *o, const char *name, long r[2]) {
    const char *v = opt_get(o, name);
    if (!v) return 0;
    char *end;
    r[0] = strtol(v, &end, 10);
    if (end == v || *end != ':' || r[0] < 0) goto bad;
    const char *b = end + 1;
    r[1] = strtol(b, &end, 10);
    if (end == b || *end || r[1] <= r[0]) goto bad;
    return 1;
bad:
    fprintf(stderr, "clgan eval: %s: expected START:STOP with 0 <= START < STOP, got '%s'\n", name, v);
    return -1;
}

static int opt_sigmas(const cli_opts *o, double *s, int *n) {
    const char *v = opt_get(o, "--sigmas");
    if (!v) {
        *n = 10;
        log_space(0.1, 1.0, 10, s);
        return 0;
    }
    *n = 0;
    const char *p = v;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        /* beyond [1e-4, 1e4], 1 / (2 sigma^2) or the distances it scales leave float's range */
        if (end == p || !(x >= 1e-4 && x <= 1e4) || *n == 64 || (*end && *end != ',')) {
            fprintf(stderr, "clgan eval: --sigmas: expected up to 64 numbers from 0.0001 to 10000 "
                            "separated by commas, got '%s'\n", v);
            return -1;
        }
        s[(*n)++] = x;
        p = *end ? end + 1 : end;
    }
    return 1;
}

/* Whether paths a and b name one existing file. */
static int same_path(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int fail(const char *msg) {
    fprintf(stderr, "clgan eval: %s\n", msg);
    return 1;
}

/*
 * --modes on stacked data (Stacked MNIST): each channel of S samples (26,000 by default, as
 * PacGAN) labelled by the classifier; a sample's mode is its digits read as a number. Modes
 * covered (at least one sample) and KL(p || uniform) over the 10^channels modes. --real: the
 * training set's own samples, the reference.
 */
static int eval_stacked_modes(const cli_opts *o, ckpt *c, const clgan_model *m) {
    const char *cls_path = opt_get(o, "--classifier");
    if (!cls_path) {
        fprintf(stderr, "clgan eval: --modes on stacked data needs --classifier CKPT, a digit "
                        "classifier (clgan train models/mnist_classifier.yaml)\n");
        return EXIT_USAGE;
    }
    long S = 26000, seed_l = 0;
    int has_seed;
    if (opt_long(o, "--samples", 1, 1000000, &S) < 0 ||
        (has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l)) < 0)
        return EXIT_USAGE;
    int real = opt_get(o, "--real") != NULL;
    clgan_err e;
    err_clear(&e);
    clgan_device *dev = NULL;
    net *g = NULL;
    feature_space fs;
    memset(&fs, 0, sizeof fs);
    dataset data;
    memset(&data, 0, sizeof data);
    float *x = NULL, *ch = NULL, *feat = NULL, *logits = NULL;
    long *count = NULL;
    int rc = 1, K = m->data.stack;
    long modes = 1;
    for (int k = 0; k < K; k++) modes *= 10;
    size_t cols = (size_t)shape_size(m->data.shape), hw = cols / (size_t)K;
    char msg[4400];
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(clgan_device_errmsg(dev));
        goto done;
    }
    if (feature_space_open(&fs, dev, cls_path, -1, &e) != CLGAN_OK) {
        snprintf(msg, sizeof msg, "--classifier: %s", e.msg);
        rc = fail(msg);
        goto done;
    }
    if (shape_size(fs.c->spec->in) != (long)hw || fs.classes != 10) {
        snprintf(msg, sizeof msg, "--classifier: %s takes %ld values and tells %d classes; the "
                 "channels of %s are digits of %zu values", cls_path, shape_size(fs.c->spec->in),
                 fs.classes, m->name, hw);
        rc = fail(msg);
        goto done;
    }
    double t0 = clock_seconds();
    uint64_t seed = has_seed ? (uint64_t)seed_l : m->train.seed;
    x = malloc((size_t)S * cols * sizeof *x);
    ch = malloc((size_t)S * cols * sizeof *ch);
    feat = malloc((size_t)S * (size_t)K * (size_t)fs.dim * sizeof *feat);
    logits = malloc((size_t)S * (size_t)K * 10 * sizeof *logits);
    count = calloc((size_t)modes, sizeof *count);
    if (!x || !ch || !feat || !logits || !count) {
        rc = fail("out of memory");
        goto done;
    }
    if (real) { /* the training set's draws: the first S samples */
        if (dataset_load(m, seed, &data, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
        if (S > data.n) S = data.n;
        for (long i = 0; i < S; i++) dataset_sample(&data, i, x + (size_t)i * cols);
    } else {
        if (ckpt_net(c, dev, CLGAN_GENERATOR, 500, &g, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
        if (net_sample(g, &m->noise, seed, 1000, S, x) != CLGAN_OK) {
            rc = fail(dev->err.msg);
            goto done;
        }
    }
    /* channels in [0, 1], one image each, in sample order; a NaN would be no digit at all */
    if (!floats_finite(x, (size_t)S * cols)) {
        rc = fail("--modes: the generator's samples hold NaN or Inf; no digit is read from them");
        goto done;
    }
    memcpy(ch, x, (size_t)S * cols * sizeof *ch);
    data_to_unit(&m->data, ch, (size_t)S * cols);
    for (size_t i = 0; i < (size_t)S * cols; i++) ch[i] = ch[i] < 0 ? 0 : ch[i] > 1 ? 1 : ch[i];
    if (feature_space_embed(&fs, ch, S * K, feat, logits, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
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
    long covered = 0;
    double kl = 0;
    for (long k = 0; k < modes; k++) {
        covered += count[k] > 0;
        if (count[k] > 0) {
            double p = (double)count[k] / (double)S;
            kl += p * log(p * (double)modes);
        }
    }
    double el = clock_seconds() - t0;
    if (opt_get(o, "--json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "stacked", K);
        cJSON_AddNumberToObject(j, "modes", (double)modes);
        cJSON_AddNumberToObject(j, "covered", (double)covered);
        cJSON_AddNumberToObject(j, "kl_uniform", kl);
        cJSON_AddNumberToObject(j, "samples", (double)S);
        cJSON_AddBoolToObject(j, "real", real);
        cJSON_AddStringToObject(j, "classifier", cls_path);
        cJSON_AddNumberToObject(j, "seconds", el);
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else
        printf("%s: modes covered %ld of %ld, KL(p || uniform) %.3f nats; %ld samples, each "
               "channel labelled by %s; %.1f s\n", real ? "training samples" : "generator",
               covered, modes, kl, S, cls_path, el);
    rc = 0;
done:
    free(x);
    free(ch);
    free(feat);
    free(logits);
    free(count);
    dataset_free(&data);
    net_free(g);
    feature_space_close(&fs);
    clgan_device_free(dev);
    return rc;
}

/*
 * --modes: S samples of G (2,500 by default, as PacGAN counts) against the modes of the model's
 * mixture: modes covered (at least 20 high-quality samples per 2,500) and the share of
 * high-quality samples (within 3 standard deviations of their nearest mode).
 */
static int eval_modes(const cli_opts *o) {
    static const char *const parzen_only[] = {"--valid", "--test", "--sigmas", "--data"};
    for (size_t i = 0; i < ARRAY_LEN(parzen_only); i++)
        if (opt_get(o, parzen_only[i])) {
            fprintf(stderr, "clgan eval: %s applies to --parzen, not --modes\n", parzen_only[i]);
            return EXIT_USAGE;
        }
    long S = 2500, seed_l = 0;
    int has_seed;
    if (opt_long(o, "--samples", 1, 1000000, &S) < 0 ||
        (has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l)) < 0)
        return EXIT_USAGE;
    clgan_err e;
    err_clear(&e);
    ckpt c;
    clgan_device *dev = NULL;
    net *g = NULL;
    float *x = NULL;
    int rc = 1;
    if (ckpt_open(o->positional, &c, &e) != CLGAN_OK) return fail(e.msg);
    const clgan_model *m = ckpt_model(&c);
    if (m->kind != MODEL_GAN) {
        ckpt_close(&c);
        char msg[1200];
        snprintf(msg, sizeof msg, "--modes: %s is a classifier's checkpoint; --modes counts the "
                 "modes a GAN's generator covers (give it as --classifier for stacked data)",
                 o->positional);
        return fail(msg);
    }
    if (m->data.format == DATA_STACKED_IDX) {
        rc = eval_stacked_modes(o, &c, m);
        ckpt_close(&c);
        return rc;
    }
    if (opt_get(o, "--real") || opt_get(o, "--classifier")) {
        ckpt_close(&c);
        fprintf(stderr, "clgan eval: --real and --classifier apply to --modes on stacked data, "
                        "not on a mixture\n");
        return EXIT_USAGE;
    }
    mode_stats ms;
    long min_count = (20 * S + 2499) / 2500; /* 20 per 2,500 samples, at least 1 */
    if (m->data.format == DATA_IDX) { /* say so before any device work */
        rc = fail("--modes: the model's data are images, not a mixture of known modes "
                  "(ring_2d, mixture_1d, gaussian_1d)");
        goto done;
    }
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(clgan_device_errmsg(dev));
        goto done;
    }
    double t0 = clock_seconds();
    if (ckpt_net(&c, dev, CLGAN_GENERATOR, 500, &g, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    x = malloc((size_t)S * g->out.cols * sizeof *x);
    if (!x) {
        rc = fail("out of memory");
        goto done;
    }
    uint64_t seed = has_seed ? (uint64_t)seed_l : m->train.seed;
    if (net_sample(g, &m->noise, seed, 1000, S, x) != CLGAN_OK) {
        rc = fail(dev->err.msg);
        goto done;
    }
    if (modes_count(&m->data, x, S, min_count, &ms, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    double el = clock_seconds() - t0, hq = 100.0 * (double)ms.high_quality / (double)S;
    const char *it = ckpt_meta(&c, "iter");
    if (opt_get(o, "--json")) {
        cJSON *j = cJSON_CreateObject(), *pm = cJSON_CreateArray();
        cJSON_AddNumberToObject(j, "modes", ms.modes);
        cJSON_AddNumberToObject(j, "covered", ms.covered);
        cJSON_AddNumberToObject(j, "high_quality_pct", hq);
        cJSON_AddNumberToObject(j, "samples", (double)S);
        cJSON_AddNumberToObject(j, "min_count", (double)min_count);
        cJSON_AddNumberToObject(j, "nonfinite_samples", (double)ms.nonfinite);
        cJSON_AddNumberToObject(j, "iter", it ? strtod(it, NULL) : 0);
        cJSON_AddNumberToObject(j, "seconds", el);
        for (int k = 0; k < ms.modes; k++)
            cJSON_AddItemToArray(pm, cJSON_CreateNumber((double)ms.count[k]));
        cJSON_AddItemToObject(j, "per_mode", pm);
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else {
        printf("modes covered: %d of %d (at least %ld high-quality samples each); high-quality "
               "samples: %.1f%% (within 3 stddev of their nearest mode); %ld samples, %.1f s\n",
               ms.covered, ms.modes, min_count, hq, S, el);
        for (int k = 0; k < ms.modes; k++)
            printf("  mode %-2d %6ld%s\n", k, ms.count[k], ms.count[k] < min_count ? "  missed" : "");
        if (ms.nonfinite)
            printf("  %ld of the %ld samples are NaN or Inf (counted as missing every mode)\n",
                   ms.nonfinite, S);
    }
    rc = 0;
done:
    free(x);
    net_free(g);
    clgan_device_free(dev);
    ckpt_close(&c);
    return rc;
}

int cmd_eval(const cli_opts *o) {
    int want_parzen = opt_get(o, "--parzen") != NULL, want_modes = opt_get(o, "--modes") != NULL;
    static const char *const feature_opts[] = {"--fid", "--kid", "--prdc", "--score",
                                               "--images"};
    int want_features = 0;
    for (size_t i = 0; i < ARRAY_LEN(feature_opts); i++)
        want_features |= opt_get(o, feature_opts[i]) != NULL;
    /* --classifier alone: FID; with --modes, Stacked MNIST's digit labels */
    want_features |= opt_get(o, "--classifier") && !want_modes;
    if (want_parzen + want_modes + want_features != 1) {
        fprintf(stderr, "clgan eval: say which evaluation: --fid/--kid/--prdc/--score with "
                        "--classifier, --parzen, or --modes (one)\n");
        return EXIT_USAGE;
    }
    if (want_features) return eval_features(o);
    if (!o->positional) return usage_error("eval", "missing %s", "CKPT");
    if (want_modes) return eval_modes(o);
    long S = 10000, seed_l = 0, valid[2] = {0, 0}, test[2] = {0, 0};
    double sigmas[64];
    int ns;
    int has_v, has_t, has_seed;
    if (opt_long(o, "--samples", 1, 1000000, &S) < 0 || (has_v = opt_range(o, "--valid", valid)) < 0 ||
        (has_t = opt_range(o, "--test", test)) < 0 || opt_sigmas(o, sigmas, &ns) < 0 ||
        (has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l)) < 0)
        return EXIT_USAGE;
    int real = opt_get(o, "--real") != NULL, json = opt_get(o, "--json") != NULL;
    clgan_err e;
    err_clear(&e);
    ckpt c;
    const clgan_model *m = NULL;
    clgan_device *dev = NULL;
    net *g = NULL;
    float *centres = NULL, *vx = NULL, *tx = NULL;
    parzen pz;
    memset(&pz, 0, sizeof pz);
    int rc = 1;
    if (ckpt_open(o->positional, &c, &e) != CLGAN_OK) return fail(e.msg);
    m = ckpt_model(&c);
    if (m->kind != MODEL_GAN) {
        char msg[1200];
        snprintf(msg, sizeof msg, "--parzen: %s is a classifier's checkpoint; the Parzen window "
                 "estimate measures a GAN's generator", o->positional);
        rc = fail(msg);
        goto done;
    }
    if (m->data.format != DATA_IDX) {
        rc = fail(m->data.format == DATA_STACKED_IDX
                      ? "--parzen: the model's data are stacked images, which have no validation "
                        "and test ranges; --modes --classifier measures them"
                      : "--parzen: the model's data are not images (IDX)");
        goto done;
    }
    const char *opt_data = opt_get(o, "--data");
    const char *path = opt_data ? opt_data : m->data.path;
    if (!has_v) memcpy(valid, m->data.valid, sizeof valid);
    if (!has_t) memcpy(test, m->data.test, sizeof test);
    if (valid[1] == 0 || test[1] == 0) {
        fprintf(stderr, "clgan eval: --parzen needs a validation and a test range: give --valid "
                        "START:STOP and --test START:STOP, or data.valid and data.test in the "
                        "model\n");
        rc = EXIT_USAGE;
        goto done;
    }
    /* The file must hold images of the model's size, and the ranges must lie inside it. Data
     * that do not fit are a failure (1), whether an option or the model named them: exit 2 is
     * for command lines that cannot be understood. */
    idx_header h;
    if (idx_read_header(path, &h, &e) != CLGAN_OK) {
        fprintf(stderr, "clgan eval: %s%s\n", opt_data ? "--data: " : "", e.msg);
        goto done;
    }
    int d = (int)shape_size(m->data.shape);
    shape3 ds = m->data.shape;
    if (h.ndim != 3 || (int)h.dims[1] * (int)h.dims[2] != d || (ds.c == 1 && ((int)h.dims[1] != ds.h ||
                                                              (int)h.dims[2] != ds.w))) {
        char what[96];
        if (h.ndim < 2)
            snprintf(what, sizeof what, "%u single values (labels?), not images", h.dims[0]);
        else if (h.ndim != 3)
            snprintf(what, sizeof what, "%d-dimensional items, not images", h.ndim);
        else
            snprintf(what, sizeof what, "images of %ux%u", h.dims[1], h.dims[2]);
        fprintf(stderr, "clgan eval: %s%s holds %s; the model makes images of %dx%dx%d\n",
                opt_data ? "--data: " : "", path, what, ds.c, ds.h, ds.w);
        goto done;
    }
    const long n_items = (long)h.dims[0];
    const long *ranges[3] = {valid, test, real ? (long[2]){m->data.start, m->data.stop} : NULL};
    static const char *const range_opts[3] = {"--valid", "--test", "--real"};
    for (int k = 0; k < 3; k++) {
        if (!ranges[k] || ranges[k][1] <= n_items) continue;
        int from_opt = (k == 0 && has_v) || (k == 1 && has_t);
        fprintf(stderr, "clgan eval: %s: images %ld:%ld are beyond the %ld in %s\n",
                from_opt ? range_opts[k] : opt_data ? "--data" : range_opts[k], ranges[k][0],
                ranges[k][1], n_items, path);
        goto done;
    }
    /* held-out images that the generator trained on flatter it: said, not refused (a user may
     * mean it), and only of the training file */
    for (int k = 0; k < 2; k++) {
        const long *r = ranges[k];
        if (!(k ? has_t : has_v) || (opt_data && !same_path(opt_data, m->data.path))) continue;
        if (r[0] < m->data.stop && r[1] > m->data.start)
            fprintf(stderr, "clgan eval: note: %s %ld:%ld overlaps the training images %ld:%ld "
                            "of %s: the estimate then rewards samples near images G trained "
                            "on\n", range_opts[k], r[0], r[1], m->data.start, m->data.stop,
                    path);
    }
    if (idx_load(path, valid[0], valid[1], &h, &vx, &e) != CLGAN_OK ||
        idx_load(path, test[0], test[1], &h, &tx, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(clgan_device_errmsg(dev));
        goto done;
    }
    double t0 = clock_seconds();
    if (real) {
        if (idx_load(path, m->data.start, m->data.stop, &h, &centres, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
        S = m->data.stop - m->data.start;
    }
    parzen_result r;
    if (real) {
        if (parzen_init(&pz, dev, centres, S, d) != CLGAN_OK ||
            parzen_evaluate(&pz, vx, valid[1] - valid[0], tx, test[1] - test[0], sigmas, ns, &r) !=
                CLGAN_OK) {
            rc = fail(dev->err.msg);
            goto done;
        }
    } else {
        if (ckpt_net(&c, dev, CLGAN_GENERATOR, 500, &g, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
        uint64_t seed = has_seed ? (uint64_t)seed_l : m->train.seed;
        if (parzen_eval_generator(dev, g, &m->noise, seed, &m->data, S, vx, valid[1] - valid[0], tx,
                                  test[1] - test[0], sigmas, ns, &r) != CLGAN_OK) {
            rc = fail(dev->err.msg);
            goto done;
        }
    }
    double el = clock_seconds() - t0;
    if (!isfinite(r.test_mean) || !isfinite(r.test_se)) {
        fprintf(stderr, "clgan eval: the estimate is not finite (%g +- %g nats at sigma %g): no "
                        "bandwidth of --sigmas gives a finite likelihood on these images\n",
                r.test_mean, r.test_se, r.sigmas[r.best]);
        goto done;
    }
    const char *it = ckpt_meta(&c, "iter");
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "parzen_ll", r.test_mean);
        cJSON_AddNumberToObject(j, "stderr", r.test_se);
        cJSON_AddNumberToObject(j, "sigma", r.sigmas[r.best]);
        cJSON_AddStringToObject(j, "centres", real ? "training images" : "generator");
        cJSON_AddNumberToObject(j, "n_centres", (double)S);
        cJSON_AddItemToObject(j, "valid", cJSON_CreateDoubleArray((double[2]){(double)valid[0],
                                                                             (double)valid[1]}, 2));
        cJSON_AddItemToObject(j, "test", cJSON_CreateDoubleArray((double[2]){(double)test[0],
                                                                            (double)test[1]}, 2));
        cJSON_AddStringToObject(j, "data", path);
        cJSON_AddNumberToObject(j, "iter", it ? strtod(it, NULL) : 0);
        cJSON_AddNumberToObject(j, "seconds", el);
        cJSON_AddItemToObject(j, "sigma_grid", cJSON_CreateDoubleArray(r.sigmas, ns));
        cJSON_AddItemToObject(j, "valid_ll", cJSON_CreateDoubleArray(r.valid_mean, ns));
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else {
        printf("Parzen log-likelihood: %.1f +- %.1f nats (test images %ld-%ld of %s; sigma %.4g "
               "chosen on %ld-%ld; %ld %s as centres; %.1f s)\n",
               r.test_mean, r.test_se, test[0], test[1] - 1, path, r.sigmas[r.best], valid[0],
               valid[1] - 1, S, real ? "training images" : "generator samples", el);
        for (int k = 0; k < ns; k++)
            printf("  sigma %-8.4g validation %9.2f%s\n", r.sigmas[k], r.valid_mean[k],
                   k == r.best ? "  <" : "");
    }
    rc = 0;
done:
    parzen_free(&pz);
    free(centres);
    free(vx);
    free(tx);
    net_free(g);
    clgan_device_free(dev);
    ckpt_close(&c);
    return rc;
}
