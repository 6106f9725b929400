/*
 * cli_sample.c - `clgan sample`: samples of a trained generator, as the paper shows them: a
 * grid (Figure 2), rows interpolating between noise vectors (Figure 3), and each sample beside
 * its nearest training image (Figure 2's check that G does not memorise).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int fail(const char *msg) {
    fprintf(stderr, "clgan sample: %s\n", msg);
    return 1;
}

int cmd_sample(const cli_opts *o) {
    long n = 64, seed_l = 0, cls_l = -1;
    int has_n = opt_long(o, "-n", 1, 4096, &n), has_cls = opt_long(o, "--class", 0, 255, &cls_l);
    if (has_n < 0 || has_cls < 0) return EXIT_USAGE;
    int has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l);
    if (has_seed < 0) return EXIT_USAGE;
    const char *outp = opt_get(o, "-o") ? opt_get(o, "-o") : "samples.png";
    const char *nearest = opt_get(o, "--nearest"), *npy = opt_get(o, "--npy");
    int interp = opt_get(o, "--interpolate") != NULL;
    if (interp && nearest) {
        fprintf(stderr, "clgan sample: --interpolate and --nearest conflict: give one\n");
        return EXIT_USAGE;
    }
    clgan_device *dev = NULL;
    clgan_generator *g = NULL;
    int rc = 1;
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(clgan_device_errmsg(dev));
        goto done;
    }
    if (clgan_generator_open(o->positional, dev, &g) != CLGAN_OK) {
        rc = fail(clgan_generator_errmsg(g));
        goto done;
    }
    int classes = clgan_generator_classes(g);
    if (has_cls && classes == 0) {
        fprintf(stderr, "clgan sample: --class: %s is not a conditional model (no condition)\n",
                o->positional);
        rc = EXIT_USAGE;
        goto done;
    }
    if (has_cls && cls_l >= classes) {
        fprintf(stderr, "clgan sample: --class: %ld is not one of the model's %d classes (0 to "
                        "%d)\n", cls_l, classes, classes - 1);
        rc = EXIT_USAGE;
        goto done;
    }
    /* a conditional model's default grid: a row of 8 per class */
    if (classes > 0 && !has_cls && !has_n) n = 8L * classes;
    clgan_sample_params p = clgan_sample_default_params();
    p.has_seed = has_seed;
    p.seed = (uint64_t)seed_l;
    p.cls = has_cls ? (int)cls_l : -1;
    p.interpolate = interp;
    if (clgan_generator_write_png(g, (int)n, &p, nearest, outp) != CLGAN_OK ||
        (npy && clgan_generator_write_npy(g, (int)n, &p, npy) != CLGAN_OK)) {
        const char *msg = clgan_generator_errmsg(g);
        if (strncmp(msg, "nearest: ", 9) == 0)
            fprintf(stderr, "clgan sample: --nearest: %s\n", msg + 9);
        else
            fail(msg);
        goto done;
    }
    printf("clgan sample: wrote %s (%ld samples%s)\n", outp, n,
           nearest ? " beside their nearest images" : interp ? ", interpolated" : "");
    rc = 0;
done:
    clgan_generator_free(g);
    clgan_device_free(dev);
    return rc;
}
