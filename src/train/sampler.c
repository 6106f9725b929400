/*
 * sampler.c - the public generator handle (clgan.h): a checkpoint's generator, compiled on a
 * device, that draws samples as `clgan sample` does. The library never prints or exits: each
 * call returns a status, and the handle keeps the message.
 */
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "session.h"

struct clgan_generator {
    clgan_err err;
    ckpt c;
    int open;
    const clgan_model *m;
    clgan_device *dev;
    net *g;         /* compiled for `rows` rows; recompiled when a call asks for more */
    int rows;
};

clgan_sample_params clgan_sample_default_params(void) {
    clgan_sample_params p = {0, 0, -1, NULL};
    return p;
}

static clgan_status compile(clgan_generator *h, int rows) {
    if (h->g && h->rows >= rows) return CLGAN_OK;
    net_free(h->g);
    h->g = NULL;
    clgan_status st = ckpt_net(&h->c, h->dev, CLGAN_GENERATOR, rows, &h->g, &h->err);
    if (st == CLGAN_OK) h->rows = rows;
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

clgan_status clgan_generator_sample(clgan_generator *h, int n, const clgan_sample_params *p,
                                    float *out) {
    if (!h || !h->g) return h ? err_set(&h->err, CLGAN_ERR_ARG, "the generator is not open")
                              : CLGAN_ERR_ARG;
    clgan_sample_params d = clgan_sample_default_params();
    if (!p) p = &d;
    int k = h->m->condition_classes;
    if (n < 1 || !out)
        return err_set(&h->err, CLGAN_ERR_ARG, "clgan_generator_sample: %s", n < 1 ?
                       "n must be at least 1" : "out is NULL");
    if (p->cls >= 0 && (k == 0 || p->cls >= k))
        return err_set(&h->err, CLGAN_ERR_ARG, "clgan_generator_sample: class %d: the model %s",
                       p->cls, k ? "has fewer classes" : "has no condition");
    clgan_status st = compile(h, n);
    if (st != CLGAN_OK) return st;
    size_t dim = (size_t)h->m->noise.dim, cols = h->g->out.cols;
    float *z = NULL;
    unsigned char *lab = NULL;
    if (!p->noise) {
        if (!(z = malloc((size_t)n * dim * sizeof *z))) return CLGAN_ERR_NOMEM;
        noise_fill_host(&h->m->noise, p->seed ? p->seed : h->m->train.seed, p->stream, n, z);
    }
    if (k > 0) {
        if (!(lab = malloc((size_t)n))) {
            free(z);
            return CLGAN_ERR_NOMEM;
        }
        for (int i = 0; i < n; i++)
            lab[i] = (unsigned char)(p->cls >= 0 ? p->cls : (i / 8) % k);
        st = net_set_labels(h->g, lab, n);
    }
    if (st == CLGAN_OK) st = net_run_eval(h->g, p->noise ? p->noise : z, n, out);
    if (st != CLGAN_OK) err_set(&h->err, st, "%s", h->dev->err.msg);
    else if (!floats_finite(out, (size_t)n * cols))
        st = err_set(&h->err, CLGAN_ERR_DATA, "the generator's samples hold NaN or Inf");
    free(z);
    free(lab);
    return st;
}

clgan_status clgan_generator_write_grid(clgan_generator *h, int n, const clgan_sample_params *p,
                                        const char *path) {
    if (!h || !h->g) return h ? err_set(&h->err, CLGAN_ERR_ARG, "the generator is not open")
                              : CLGAN_ERR_ARG;
    if (n < 1 || !path)
        return err_set(&h->err, CLGAN_ERR_ARG, "clgan_generator_write_grid: %s",
                       n < 1 ? "n must be at least 1" : "path is NULL");
    float *x = malloc((size_t)n * (size_t)shape_size(h->m->data.shape) * sizeof *x);
    if (!x) return err_set(&h->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = clgan_generator_sample(h, n, p, x);
    if (st == CLGAN_OK) st = draw_samples(h->m, NULL, x, n, path, &h->err);
    free(x);
    return st;
}

void clgan_generator_free(clgan_generator *g) {
    if (!g) return;
    net_free(g->g);
    if (g->open) ckpt_close(&g->c);
    free(g);
}
