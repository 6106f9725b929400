/*
 * cli_sample.c - `clgan sample`: samples of a trained generator, as the paper shows them: a
 * grid (Figure 2), rows interpolating between noise vectors (Figure 3), and each sample beside
 * its nearest training image (Figure 2's check that G does not memorise).
 */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "image.h"
#include "session.h"
#include "npy.h"


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
    clgan_err e;
    err_clear(&e);
    ckpt c;
    const clgan_model *m = NULL;
    clgan_device *dev = NULL;
    net *g = NULL;
    float *z = NULL, *x = NULL, *xu = NULL, *pairs = NULL, *imgs = NULL;
    int rc = 1;
    if (ckpt_open(o->positional, &c, &e) != CLGAN_OK) return fail(e.msg);
    m = ckpt_model(&c);
    int classes = m->condition_classes;
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
    if (clgan_device_open(o->device, &dev) != CLGAN_OK) {
        rc = fail(clgan_device_errmsg(dev));
        goto done;
    }
    int rows = (int)n;
    if (ckpt_net(&c, dev, CLGAN_GENERATOR, rows, &g, &e) != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    size_t dim = (size_t)m->noise.dim, cols = g->out.cols;
    z = malloc((size_t)rows * dim * sizeof *z);
    x = malloc((size_t)rows * cols * sizeof *x);
    if (!z || !x) goto done;
    uint64_t seed = has_seed ? (uint64_t)seed_l : m->train.seed;
    if (interp) {
        /* Rows of 8: each walks from one noise vector to another in equal steps. */
        int per = 8, nrow = (rows + per - 1) / per;
        float *ends = malloc((size_t)nrow * 2 * dim * sizeof *ends);
        if (!ends) goto done;
        noise_fill_host(&m->noise, seed, 1, nrow * 2, ends);
        for (int i = 0; i < rows; i++) {
            int r = i / per, j = i % per;
            float a = (float)j / (float)(per - 1);
            const float *z0 = ends + (size_t)(2 * r) * dim, *z1 = z0 + dim;
            for (size_t d = 0; d < dim; d++) z[(size_t)i * dim + d] = (1 - a) * z0[d] + a * z1[d];
        }
        free(ends);
    } else {
        noise_fill_host(&m->noise, seed, 0, rows, z);
    }
    if (classes > 0) { /* --class K everywhere; else row r of 8 (and each walk) is class r */
        unsigned char *lab = malloc((size_t)rows);
        if (!lab) goto done;
        for (int i = 0; i < rows; i++)
            lab[i] = (unsigned char)(has_cls ? cls_l : (i / 8) % classes);
        clgan_status ls = net_set_labels(g, lab, rows);
        free(lab);
        if (ls != CLGAN_OK) {
            rc = fail(dev->err.msg);
            goto done;
        }
    }
    if (net_run_eval(g, z, rows, x) != CLGAN_OK) {
        rc = fail(dev->err.msg);
        goto done;
    }
    if (!floats_finite(x, (size_t)rows * cols)) { /* a picture of them would be a lie */
        rc = fail("the generator's samples hold NaN or Inf: nothing is written");
        goto done;
    }
    clgan_status st;
    /* images and their neighbours are compared and drawn in [0, 1]; --npy keeps G's values */
    xu = malloc((size_t)rows * cols * sizeof *xu);
    if (!xu) goto done;
    memcpy(xu, x, (size_t)rows * cols * sizeof *xu);
    data_to_unit(&m->data, xu, (size_t)rows * cols);
    if (nearest) {
        if (!data_is_images(&m->data)) {
            rc = fail("--nearest: the model's data are not images");
            goto done;
        }
        idx_header h;
        if (idx_load(nearest, 0, -1, &h, &imgs, &e) != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
        size_t icols = 1;
        for (int i = 1; i < h.ndim; i++) icols *= h.dims[i];
        shape3 ds = m->data.shape;
        if (icols != cols || h.ndim != 3 ||
            (ds.c == 1 && ((int)h.dims[1] != ds.h || (int)h.dims[2] != ds.w))) {
            if (h.ndim == 3)
                fprintf(stderr, "clgan sample: --nearest: %s has images of %ux%u, the model "
                                "makes %dx%dx%d\n", nearest, h.dims[1], h.dims[2], ds.c, ds.h,
                        ds.w);
            else
                fprintf(stderr, "clgan sample: --nearest: %s has images of %zu values, the "
                                "model makes %zu\n", nearest, icols, cols);
            goto done;
        }
        pairs = malloc((size_t)rows * 2 * cols * sizeof *pairs);
        if (!pairs) goto done;
        for (int i = 0; i < rows; i++) {
            const float *s = xu + (size_t)i * cols;
            double best = DBL_MAX;
            long bi = 0;
            for (long k = 0; k < (long)h.dims[0]; k++) {
                const float *t = imgs + (size_t)k * cols;
                double d = 0;
                for (size_t j = 0; j < cols && d < best; j++) d += (double)(s[j] - t[j]) * (s[j] - t[j]);
                if (d < best) {
                    best = d;
                    bi = k;
                }
            }
            memcpy(pairs + (size_t)(2 * i) * cols, s, cols * sizeof(float));
            memcpy(pairs + (size_t)(2 * i + 1) * cols, imgs + (size_t)bi * cols, cols * sizeof(float));
        }
        st = image_grid_png(outp, pairs, 2 * rows, m->data.shape, 16, 2, &e);
    } else if (interp && data_is_images(&m->data)) {
        st = image_grid_png(outp, xu, rows, m->data.shape, 8, 2, &e);
    } else {
        st = draw_samples(m, NULL, x, rows, outp, &e);
    }
    if (st != CLGAN_OK) {
        rc = fail(e.msg);
        goto done;
    }
    for (int k = 0; npy && k < 2; k++) { /* PREFIX.z.npy, PREFIX.x.npy, whatever their length */
        char *p = str_fmt("%s.%s.npy", npy, k ? "x" : "z");
        st = p ? npy_write(p, k ? x : z, rows, k ? cols : dim, &e)
               : err_set(&e, CLGAN_ERR_NOMEM, "out of memory");
        free(p);
        if (st != CLGAN_OK) {
            rc = fail(e.msg);
            goto done;
        }
    }
    printf("clgan sample: wrote %s (%d samples%s)\n", outp, rows,
           nearest ? " beside their nearest images" : interp ? ", interpolated" : "");
    rc = 0;
done:
    free(z);
    free(x);
    free(xu);
    free(pairs);
    free(imgs);
    net_free(g);
    clgan_device_free(dev);
    ckpt_close(&c);
    return rc;
}
