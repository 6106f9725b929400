/*
 * sampler.c - the public generator handle (clgan.h): a checkpoint's generator, compiled on a
 * device, that draws samples as `clgan sample` does. The library never prints or exits: each
 * call returns a status, and the handle keeps the message.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "image.h"
#include "npy.h"
#include "sampler.h"
#include "session.h"


clgan_sample_params clgan_sample_default_params(void) {
    clgan_sample_params p = {0, 0, -1, NULL, 0, 0};
    return p;
}

/* G compiled for at least `rows` rows (exact: exactly rows, as net_sample's chunks need). */
static clgan_status compile_rows(clgan_generator *h, int rows, int exact) {
    if (h->g && (exact ? h->rows == rows : h->rows >= rows)) return CLGAN_OK;
    net_free(h->g);
    h->g = NULL;
    clgan_status st = ckpt_net(&h->c, h->dev, CLGAN_GENERATOR, rows, &h->g, &h->err);
    if (st == CLGAN_OK) h->rows = rows;
    return st;
}

static clgan_status compile(clgan_generator *h, int rows) {
    return compile_rows(h, rows, 0);
}

clgan_status generator_net(clgan_generator *h, int rows, net **out) {
    clgan_status st = compile_rows(h, rows, 1);
    *out = st == CLGAN_OK ? h->g : NULL;
    return st;
}

clgan_status clgan_generator_open(const char *checkpoint, clgan_device *dev,
                                  clgan_generator **out) {
    clgan_generator *h = calloc(1, sizeof *h);
    *out = h;
    if (!h) return CLGAN_ERR_NOMEM;
    if (!checkpoint || !dev)
        return err_set(&h->err, CLGAN_ERR_ARG, "clgan_generator_open: %s is NULL",
                       !checkpoint ? "the checkpoint's path" : "the device");
    clgan_status st = ckpt_open(checkpoint, &h->c, &h->err);
    if (st != CLGAN_OK) return st;
    h->open = 1;
    h->m = ckpt_model(&h->c);
    h->dev = dev;
    return compile(h, 64); /* refuses a checkpoint without a generator */
}

const char *clgan_generator_errmsg(const clgan_generator *g) {
    return g ? g->err.msg : "out of memory";
}

int clgan_generator_noise_dim(const clgan_generator *g) {
    return g && g->m ? g->m->noise.dim : 0;
}

void clgan_generator_sample_shape(const clgan_generator *g, int *c, int *h, int *w) {
    shape3 s = g && g->m ? g->m->data.shape : (shape3){0, 0, 0, 0};
    *c = s.c, *h = s.h, *w = s.w;
}

int clgan_generator_classes(const clgan_generator *g) {
    return g && g->m ? g->m->condition_classes : 0;
}

/* The checks of every sampling call; *p becomes the defaults where NULL. */
static clgan_status check_call(clgan_generator *h, int n, const clgan_sample_params **p,
                               clgan_sample_params *d, const void *out, const char *call) {
    if (!h || !h->g) return h ? err_set(&h->err, CLGAN_ERR_ARG, "the generator is not open")
                              : CLGAN_ERR_ARG;
    *d = clgan_sample_default_params();
    if (!*p) *p = d;
    int k = h->m->condition_classes;
    if (n < 1 || !out)
        return err_set(&h->err, CLGAN_ERR_ARG, "%s: %s", call, n < 1 ? "n must be at least 1"
                                                                      : "no output given");
    if ((*p)->cls >= 0 && (k == 0 || (*p)->cls >= k))
        return err_set(&h->err, CLGAN_ERR_ARG, "%s: class %d: the model %s", call, (*p)->cls,
                       k ? "has fewer classes" : "has no condition");
    if ((*p)->interpolate && (*p)->noise)
        return err_set(&h->err, CLGAN_ERR_ARG, "%s: interpolate draws its own noise: give no "
                       "noise", call);
    return CLGAN_OK;
}

/* The noise of a call (n x noise_dim into z): drawn from seed and stream, or walks of 8 from
 * one vector of stream 1 to the next (interpolate). */
static void fill_noise(const clgan_generator *h, int n, const clgan_sample_params *p, float *z) {
    const noise_spec *ns = &h->m->noise;
    uint64_t seed = p->has_seed ? p->seed : h->m->train.seed;
    size_t dim = (size_t)ns->dim;
    if (!p->interpolate) {
        noise_fill_host(ns, seed, p->stream, n, z);
        return;
    }
    int per = 8, nrow = (n + per - 1) / per;
    float *ends = z + (size_t)n * dim; /* room the caller gave: 2 vectors per row */
    noise_fill_host(ns, seed, 1, nrow * 2, ends);
    for (int i = 0; i < n; i++) {
        int r = i / per, j = i % per;
        float a = (float)j / (float)(per - 1);
        const float *z0 = ends + (size_t)(2 * r) * dim, *z1 = z0 + dim;
        for (size_t v = 0; v < dim; v++) z[(size_t)i * dim + v] = (1 - a) * z0[v] + a * z1[v];
    }
}

/* Room fill_noise needs for n rows. */
static size_t noise_room(const clgan_generator *h, int n) {
    return ((size_t)n + 2 * ((size_t)n + 7) / 8) * (size_t)h->m->noise.dim;
}

/* n samples of p into out; their noise into z_out where given. */
static clgan_status draw(clgan_generator *h, int n, const clgan_sample_params *p, float *z_out,
                         float *out) {
    int k = h->m->condition_classes;
    clgan_status st = compile(h, n);
    if (st != CLGAN_OK) return st;
    size_t dim = (size_t)h->m->noise.dim, cols = h->g->out.cols;
    float *z = NULL;
    unsigned char *lab = NULL;
    if (!p->noise) {
        if (!(z = malloc(noise_room(h, n) * sizeof *z)))
            return err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
        fill_noise(h, n, p, z);
    }
    if (k > 0) { /* class cls everywhere; else row r of 8 (and each walk) is class r */
        if (!(lab = malloc((size_t)n))) {
            free(z);
            return err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < n; i++)
            lab[i] = (unsigned char)(p->cls >= 0 ? p->cls : (i / 8) % k);
        st = net_set_labels(h->g, lab, n);
    }
    const float *zz = p->noise ? p->noise : z;
    if (st == CLGAN_OK) st = net_run_eval(h->g, zz, n, out);
    if (st != CLGAN_OK) err_set(&h->err, st, "%s", h->dev->err.msg);
    else if (!floats_finite(out, (size_t)n * cols)) /* a picture of them would be a lie */
        st = err_set(&h->err, CLGAN_ERR_NONFINITE, "the generator's samples hold NaN or Inf: "
                     "nothing is written");
    if (st == CLGAN_OK && z_out) memcpy(z_out, zz, (size_t)n * dim * sizeof *z_out);
    free(z);
    free(lab);
    return st;
}

clgan_status clgan_generator_sample(clgan_generator *h, int n, const clgan_sample_params *p,
                                    float *out) {
    clgan_sample_params d;
    clgan_status st = check_call(h, n, &p, &d, out, "clgan_generator_sample");
    return st != CLGAN_OK ? st : draw(h, n, p, NULL, out);
}

clgan_status clgan_generator_noise(clgan_generator *h, int n, const clgan_sample_params *p,
                                   float *z) {
    clgan_sample_params d;
    clgan_status st = check_call(h, n, &p, &d, z, "clgan_generator_noise");
    if (st != CLGAN_OK) return st;
    if (p->noise) {
        memcpy(z, p->noise, (size_t)n * (size_t)h->m->noise.dim * sizeof *z);
        return CLGAN_OK;
    }
    float *room = malloc(noise_room(h, n) * sizeof *room);
    if (!room) return err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
    fill_noise(h, n, p, room);
    memcpy(z, room, (size_t)n * (size_t)h->m->noise.dim * sizeof *z);
    free(room);
    return CLGAN_OK;
}

/* Each sample (in [0, 1]) beside its nearest image of an IDX file (Euclidean): a grid of pairs. */
static clgan_status write_nearest(clgan_generator *h, const float *xu, int n, const char *nearest,
                                  const char *path) {
    const clgan_model *m = h->m;
    if (!data_is_images(&m->data))
        return err_set(&h->err, CLGAN_ERR_DATA, "nearest: the model's data are not images");
    idx_header hd;
    float *imgs = NULL, *pairs = NULL;
    clgan_status st = idx_load(nearest, 0, -1, &hd, &imgs, &h->err);
    if (st != CLGAN_OK) return st;
    size_t cols = (size_t)shape_size(m->data.shape), icols = 1;
    for (int i = 1; i < hd.ndim; i++) icols *= hd.dims[i];
    shape3 ds = m->data.shape;
    if (icols != cols || hd.ndim != 3 ||
        (ds.c == 1 && ((int)hd.dims[1] != ds.h || (int)hd.dims[2] != ds.w))) {
        if (hd.ndim == 3)
            st = err_set(&h->err, CLGAN_ERR_DATA, "nearest: %s has images of %ux%u, the model "
                         "makes %dx%dx%d", nearest, hd.dims[1], hd.dims[2], ds.c, ds.h, ds.w);
        else
            st = err_set(&h->err, CLGAN_ERR_DATA, "nearest: %s has images of %zu values, the "
                         "model makes %zu", nearest, icols, cols);
        free(imgs);
        return st;
    }
    if (!(pairs = malloc((size_t)n * 2 * cols * sizeof *pairs))) {
        free(imgs);
        return err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        const float *s = xu + (size_t)i * cols;
        double best = DBL_MAX;
        long bi = 0;
        for (long k = 0; k < (long)hd.dims[0]; k++) {
            const float *t = imgs + (size_t)k * cols;
            double d = 0;
            for (size_t j = 0; j < cols && d < best; j++)
                d += (double)(s[j] - t[j]) * (s[j] - t[j]);
            if (d < best) {
                best = d;
                bi = k;
            }
        }
        memcpy(pairs + (size_t)(2 * i) * cols, s, cols * sizeof(float));
        memcpy(pairs + (size_t)(2 * i + 1) * cols, imgs + (size_t)bi * cols, cols * sizeof(float));
    }
    st = image_grid_png(path, pairs, 2 * n, m->data.shape, 16, 2, &h->err);
    free(pairs);
    free(imgs);
    return st;
}

clgan_status clgan_generator_write_png(clgan_generator *h, int n, const clgan_sample_params *p,
                                       const char *nearest, const char *path) {
    clgan_sample_params d;
    clgan_status st = check_call(h, n, &p, &d, path, "clgan_generator_write_png");
    if (st != CLGAN_OK) return st;
    if (nearest && p->interpolate)
        return err_set(&h->err, CLGAN_ERR_ARG, "nearest: interpolated rows have no nearest "
                       "images: give one of the two");
    const clgan_model *m = h->m;
    size_t count = (size_t)n * (size_t)shape_size(m->data.shape);
    float *x = malloc(count * sizeof *x);
    if (!x) return err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
    if ((st = draw(h, n, p, NULL, x)) != CLGAN_OK) goto out;
    if (nearest || (p->interpolate && data_is_images(&m->data))) {
        /* images and their neighbours are compared and drawn in [0, 1] */
        data_to_unit(&m->data, x, count);
        st = nearest ? write_nearest(h, x, n, nearest, path)
                     : image_grid_png(path, x, n, m->data.shape, 8, 2, &h->err);
    } else {
        st = draw_samples(m, NULL, x, n, path, &h->err);
    }
out:
    free(x);
    return st;
}

clgan_status clgan_generator_write_npy(clgan_generator *h, int n, const clgan_sample_params *p,
                                       const char *prefix) {
    clgan_sample_params d;
    clgan_status st = check_call(h, n, &p, &d, prefix, "clgan_generator_write_npy");
    if (st != CLGAN_OK) return st;
    size_t dim = (size_t)h->m->noise.dim, cols = (size_t)shape_size(h->m->data.shape);
    float *z = malloc((size_t)n * dim * sizeof *z), *x = malloc((size_t)n * cols * sizeof *x);
    if (!z || !x) st = err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
    if (st == CLGAN_OK) st = draw(h, n, p, z, x);
    for (int k = 0; st == CLGAN_OK && k < 2; k++) { /* PREFIX.z.npy, PREFIX.x.npy */
        char *path = str_fmt("%s.%s.npy", prefix, k ? "x" : "z");
        st = path ? npy_write(path, k ? x : z, n, k ? cols : dim, &h->err)
                  : err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
        free(path);
    }
    free(z);
    free(x);
    return st;
}

void clgan_generator_free(clgan_generator *g) {
    if (!g) return;
    net_free(g->g);
    if (g->open) ckpt_close(&g->c);
    free(g);
}
