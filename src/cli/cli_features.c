/*
 * cli_features.c - `clgan eval --fid --kid --prdc --score --classifier CLS`: options and the
 * report over the library's evaluator (clgan.h; evaluator.c measures): a generator, a set of
 * images from anywhere, or real training images, against real images in the feature space of
 * a domain classifier trained by clgan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static int fail(const char *msg) {
    fprintf(stderr, "clgan eval: %s\n", msg);
    return 1;
}

/* The library's messages name its parameters; the user gave options. */
static void say_error(const char *msg) {
    static const char *const names[][2] = {
        {"classifier: ", "--classifier: "}, {"feature_layer: ", "--feature-layer: "},
        {"split ", "--split "}, {"split: ", "--split: "}, {"features_npy: ", "--features-npy: "}, {"images: ", "--images: "}};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        size_t len = strlen(names[i][0]);
        if (strncmp(msg, names[i][0], len) == 0) {
            fprintf(stderr, "clgan eval: %s%s\n", names[i][1], msg + len);
            return;
        }
    }
    fail(msg);
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
    clgan_eval_params ep = clgan_eval_default_params();
    ep.fid = want_fid;
    ep.kid = want_kid;
    ep.prdc = want_prdc;
    ep.split = split;
    ep.samples = S;
    ep.has_seed = has_seed;
    ep.seed = (uint64_t)seed_l;
    ep.k = (int)k_l;
    ep.kid_subsets = (int)subsets;
    ep.kid_size = (int)subset_size;
    ep.features_npy = npy;
    clgan_device *dev = NULL;
    clgan_evaluator *ev = NULL;
    clgan_eval_result r;
    int rc = 1;
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(clgan_device_errmsg(dev));
        goto done;
    }
    clgan_status st = clgan_evaluator_open(cls_path, has_layer ? (int)layer_l : -1, dev, &ev);
    if (st == CLGAN_OK)
        st = o->positional ? clgan_evaluator_generator(ev, o->positional, &ep, &r)
             : images      ? clgan_evaluator_file(ev, images, &ep, &r)
                           : clgan_evaluator_real(ev, &ep, &r);
    if (st != CLGAN_OK) {
        say_error(clgan_evaluator_errmsg(ev));
        rc = st == CLGAN_ERR_ARG ? EXIT_USAGE : 1;
        goto done;
    }
    if (r.note[0]) fprintf(stderr, "clgan eval: note: %s\n", r.note);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "measured", r.measured);
        cJSON_AddStringToObject(j, "reference", r.reference);
        cJSON_AddStringToObject(j, "classifier", cls_path);
        cJSON_AddNumberToObject(j, "feature_layer", r.feature_layer);
        cJSON_AddStringToObject(j, "feature_kind", r.feature_kind);
        cJSON_AddNumberToObject(j, "features", r.features);
        if (want_fid) cJSON_AddNumberToObject(j, "fid", r.fid);
        if (want_kid) {
            cJSON_AddNumberToObject(j, "kid", r.kid);
            cJSON_AddNumberToObject(j, "kid_std", r.kid_std);
            cJSON_AddNumberToObject(j, "kid_se", r.kid_se);
            cJSON_AddNumberToObject(j, "kid_subsets", r.kid_subsets);
            cJSON_AddNumberToObject(j, "kid_subset_size", r.kid_subset_size);
        }
        if (want_prdc) {
            cJSON_AddNumberToObject(j, "precision", r.precision);
            cJSON_AddNumberToObject(j, "recall", r.recall);
            cJSON_AddNumberToObject(j, "density", r.density);
            cJSON_AddNumberToObject(j, "coverage", r.coverage);
            cJSON_AddNumberToObject(j, "k", r.k);
        }
        if (r.classes) {
            cJSON_AddNumberToObject(j, "class_accuracy", r.class_accuracy);
            cJSON_AddItemToObject(j, "class_accuracy_per_class",
                                  cJSON_CreateDoubleArray(r.class_accuracy_per_class, r.classes));
        }
        cJSON_AddNumberToObject(j, "classifier_score", r.score);
        cJSON_AddNumberToObject(j, "classifier_score_std", r.score_std);
        cJSON_AddNumberToObject(j, "classifier_score_reference", r.score_reference);
        cJSON_AddNumberToObject(j, "mean_confidence", r.mean_confidence);
        cJSON_AddNumberToObject(j, "seconds_features", r.seconds_features);
        cJSON_AddNumberToObject(j, "seconds_metrics", r.seconds_metrics);
        if (print_json(j) != 0) {
            rc = fail("out of memory");
            goto done;
        }
    } else {
        printf("%s against %s\nfeatures: output of layer %d (%s, %d values) of the classifier "
               "%s\n", r.measured, r.reference, r.feature_layer, r.feature_kind, r.features,
               cls_path);
        if (want_fid) printf("  FID                %.3f\n", r.fid);
        if (want_kid)
            printf("  KID                %.5f +- %.5f (standard deviation over %d subsets of "
                   "%d; standard error %.5f)\n", r.kid, r.kid_std, r.kid_subsets,
                   r.kid_subset_size, r.kid_se);
        if (want_prdc)
            printf("  precision %.4f  recall %.4f  density %.4f  coverage %.4f  (k = %d)\n",
                   r.precision, r.recall, r.density, r.coverage, r.k);
        printf("  classifier score   %.3f +- %.3f (the reference images: %.3f); mean top-class "
               "probability %.3f\n", r.score, r.score_std, r.score_reference, r.mean_confidence);
        if (r.classes) {
            printf("  class accuracy     %.4f (samples drawn for class k classified as k); per "
                   "class:", r.class_accuracy);
            for (int k = 0; k < r.classes; k++) printf(" %d:%.3f", k, r.class_accuracy_per_class[k]);
            printf("\n");
        }
        printf("  %.1f s for samples and features, %.1f s for the figures\n", r.seconds_features,
               r.seconds_metrics);
    }
    rc = 0;
done:
    clgan_evaluator_free(ev);
    clgan_device_free(dev);
    return rc;
}
