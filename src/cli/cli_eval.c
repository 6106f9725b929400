/*
 * cli_eval.c - `clgan eval CKPT --parzen`: the Parzen-window log-likelihood of the paper's
 * Table 1, with the bandwidth chosen on validation images and the figure measured on test images;
 * `--modes`: mode coverage on a mixture (ring_2d and the 1-D mixtures) or of stacked digits.
 * Options and the report over the generator handle (clgan.h; gen_eval.c measures).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    if (!v) { /* the library's default bandwidths */
        *n = 0;
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

static int fail(const char *msg) {
    fprintf(stderr, "clgan eval: %s\n", msg);
    return 1;
}

/* The library's message as the command line's: its parameters named as the options. */
static int fail_lib(clgan_status st, const char *msg) {
    static const char *const names[][2] = {
        {"valid: ", "--valid: "}, {"test: ", "--test: "}, {"real: ", "--real: "},
        {"data: ", "--data: "}, {"classifier: ", "--classifier: "}, {"sigmas: ", "--sigmas: "},
        {"parzen: ", "--parzen: "}, {"modes: ", "--modes: "}};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        size_t len = strlen(names[i][0]);
        if (strncmp(msg, names[i][0], len) == 0) {
            fprintf(stderr, "clgan eval: %s%s\n", names[i][1], msg + len);
            return st == CLGAN_ERR_ARG ? EXIT_USAGE : 1;
        }
    }
    fprintf(stderr, "clgan eval: %s\n", msg);
    return st == CLGAN_ERR_ARG ? EXIT_USAGE : 1;
}

/* The device and the checkpoint's generator, or the exit status after the message. */
static int open_generator(const cli_opts *o, clgan_device **dev, clgan_generator **g) {
    *g = NULL;
    if (clgan_device_open(o->device, dev) != CLGAN_OK) return fail(clgan_device_errmsg(*dev));
    if (clgan_generator_open(o->positional, *dev, g) != CLGAN_OK)
        return fail(clgan_generator_errmsg(*g));
    return 0;
}

/*
 * --modes: of a mixture, S samples of G (2,500 by default, as PacGAN counts) against the
 * modes of the model's mixture; of stacked digits, the modes a classifier reads (gen_eval.c).
 */
static int eval_modes(const cli_opts *o) {
    static const char *const parzen_only[] = {"--valid", "--test", "--sigmas", "--data"};
    for (size_t i = 0; i < ARRAY_LEN(parzen_only); i++)
        if (opt_get(o, parzen_only[i])) {
            fprintf(stderr, "clgan eval: %s applies to --parzen, not --modes\n", parzen_only[i]);
            return EXIT_USAGE;
        }
    long S = 0, seed_l = 0;
    int has_seed;
    if (opt_long(o, "--samples", 1, 1000000, &S) < 0 ||
        (has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l)) < 0)
        return EXIT_USAGE;
    clgan_modes_params p = clgan_modes_default_params();
    p.samples = S;
    p.has_seed = has_seed;
    p.seed = (uint64_t)seed_l;
    p.classifier = opt_get(o, "--classifier");
    p.real = opt_get(o, "--real") != NULL;
    clgan_device *dev = NULL;
    clgan_generator *g = NULL;
    clgan_modes_result r;
    int rc = open_generator(o, &dev, &g);
    if (rc) goto done;
    rc = 1;
    clgan_status st = clgan_generator_modes(g, &p, &r);
    if (st != CLGAN_OK) {
        rc = fail_lib(st, clgan_generator_errmsg(g));
        goto done;
    }
    int json = opt_get(o, "--json") != NULL;
    if (r.stacked && json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "stacked", r.stacked);
        cJSON_AddNumberToObject(j, "modes", (double)r.modes);
        cJSON_AddNumberToObject(j, "covered", (double)r.covered);
        cJSON_AddNumberToObject(j, "kl_uniform", r.kl_uniform);
        cJSON_AddNumberToObject(j, "samples", (double)r.samples);
        cJSON_AddBoolToObject(j, "real", p.real);
        cJSON_AddStringToObject(j, "classifier", p.classifier);
        cJSON_AddNumberToObject(j, "seconds", r.seconds);
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else if (r.stacked) {
        printf("%s: modes covered %ld of %ld, KL(p || uniform) %.3f nats; %ld samples, each "
               "channel labelled by %s; %.1f s\n", p.real ? "training samples" : "generator",
               r.covered, r.modes, r.kl_uniform, r.samples, p.classifier, r.seconds);
    } else if (json) {
        cJSON *j = cJSON_CreateObject(), *pm = cJSON_CreateArray();
        cJSON_AddNumberToObject(j, "modes", (double)r.modes);
        cJSON_AddNumberToObject(j, "covered", (double)r.covered);
        cJSON_AddNumberToObject(j, "high_quality_pct", r.high_quality_pct);
        cJSON_AddNumberToObject(j, "samples", (double)r.samples);
        cJSON_AddNumberToObject(j, "min_count", (double)r.min_count);
        cJSON_AddNumberToObject(j, "nonfinite_samples", (double)r.nonfinite);
        cJSON_AddNumberToObject(j, "iter", (double)r.iter);
        cJSON_AddNumberToObject(j, "seconds", r.seconds);
        for (long k = 0; k < r.modes; k++)
            cJSON_AddItemToArray(pm, cJSON_CreateNumber((double)r.per_mode[k]));
        cJSON_AddItemToObject(j, "per_mode", pm);
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else {
        printf("modes covered: %ld of %ld (at least %ld high-quality samples each); high-quality "
               "samples: %.1f%% (within 3 stddev of their nearest mode); %ld samples, %.1f s\n",
               r.covered, r.modes, r.min_count, r.high_quality_pct, r.samples, r.seconds);
        for (long k = 0; k < r.modes; k++)
            printf("  mode %-2ld %6ld%s\n", k, r.per_mode[k],
                   r.per_mode[k] < r.min_count ? "  missed" : "");
        if (r.nonfinite)
            printf("  %ld of the %ld samples are NaN or Inf (counted as missing every mode)\n",
                   r.nonfinite, r.samples);
    }
    rc = 0;
done:
    clgan_generator_free(g);
    clgan_device_free(dev);
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
    clgan_parzen_params p = clgan_parzen_default_params();
    p.samples = S;
    p.has_seed = has_seed;
    p.seed = (uint64_t)seed_l;
    p.real = opt_get(o, "--real") != NULL;
    p.data = opt_get(o, "--data");
    if (has_v) memcpy(p.valid, valid, sizeof valid);
    if (has_t) memcpy(p.test, test, sizeof test);
    p.sigmas = sigmas;
    p.n_sigmas = ns;
    int json = opt_get(o, "--json") != NULL;
    clgan_device *dev = NULL;
    clgan_generator *g = NULL;
    clgan_parzen_result r;
    int rc = open_generator(o, &dev, &g);
    if (rc) goto done;
    clgan_status st = clgan_generator_parzen(g, &p, &r);
    for (const char *n = r.note; st == CLGAN_OK && *n;) { /* one note per line */
        size_t len = strcspn(n, "\n");
        fprintf(stderr, "clgan eval: note: %.*s\n", (int)len, n);
        n += len + (n[len] == '\n');
    }
    if (st != CLGAN_OK) {
        rc = fail_lib(st, clgan_generator_errmsg(g));
        goto done;
    }
    rc = 1;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "parzen_ll", r.ll);
        cJSON_AddNumberToObject(j, "stderr", r.se);
        cJSON_AddNumberToObject(j, "sigma", r.sigma);
        cJSON_AddStringToObject(j, "centres", p.real ? "training images" : "generator");
        cJSON_AddNumberToObject(j, "n_centres", (double)r.centres);
        cJSON_AddItemToObject(j, "valid", cJSON_CreateDoubleArray((double[2]){(double)r.valid[0],
                                                                             (double)r.valid[1]}, 2));
        cJSON_AddItemToObject(j, "test", cJSON_CreateDoubleArray((double[2]){(double)r.test[0],
                                                                            (double)r.test[1]}, 2));
        cJSON_AddStringToObject(j, "data", r.data);
        cJSON_AddNumberToObject(j, "iter", (double)r.iter);
        cJSON_AddNumberToObject(j, "seconds", r.seconds);
        cJSON_AddItemToObject(j, "sigma_grid", cJSON_CreateDoubleArray(r.sigmas, r.n_sigmas));
        cJSON_AddItemToObject(j, "valid_ll", cJSON_CreateDoubleArray(r.valid_ll, r.n_sigmas));
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else {
        printf("Parzen log-likelihood: %.1f +- %.1f nats (test images %ld-%ld of %s; sigma %.4g "
               "chosen on %ld-%ld; %ld %s as centres; %.1f s)\n",
               r.ll, r.se, r.test[0], r.test[1] - 1, r.data, r.sigma, r.valid[0],
               r.valid[1] - 1, r.centres, p.real ? "training images" : "generator samples",
               r.seconds);
        for (int k = 0; k < r.n_sigmas; k++)
            printf("  sigma %-8.4g validation %9.2f%s\n", r.sigmas[k], r.valid_ll[k],
                   k == r.best ? "  <" : "");
    }
    rc = 0;
done:
    clgan_generator_free(g);
    clgan_device_free(dev);
    return rc;
}
