/*
 * test_gan.c - training: the IDX reader, optimizer steps and one full iteration of Algorithm 1
 * against host references, the exact-resume property, and checkpoints (round trip, refusal of
 * damaged files, an interrupted write never replacing a good checkpoint).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "checkpoint.h"
#include "host_ref.h"
#include "rng.h"
#include "testutil.h"

#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-6
/* parameters after a step: device (float gradients) vs host (finite differences in double) */
#define STEP_RTOL 1e-4
#define STEP_ATOL 2e-6
#define FD_STEP 1e-6

static clgan_device *dev;
static void setup(void) {
    dev = test_device();
}
static void teardown(void) {
    clgan_device_free(dev);
}

static char tmpdir[64];
static const char *tmp(const char *name) {
    static char buf[4][256];
    static int k;
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/clgan-gan-XXXXXX");
        ck_assert(mkdtemp(tmpdir) != NULL);
    }
    char *b = buf[k++ % 4];
    snprintf(b, 256, "%s/%s", tmpdir, name);
    return b;
}

/* ---- IDX ----------------------------------------------------------------------------------- */

static void write_bytes(const char *path, const unsigned char *b, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert(f != NULL);
        ck_assert_int_eq(gzwrite(f, b, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert(f != NULL);
        ck_assert(fwrite(b, 1, n, f) == n);
        fclose(f);
    }
}

/* 5 images of 2x3 with pixel value 10 * image + pixel */
static size_t make_idx(unsigned char *b) {
    const unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 3};
    memcpy(b, hdr, 16);
    for (int i = 0; i < 30; i++) b[16 + i] = (unsigned char)(10 * (i / 6) + i % 6);
    return 46;
}

START_TEST(idx_round_trip) {
    unsigned char b[64];
    size_t n = make_idx(b);
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tmp(gz ? "a.idx.gz" : "a.idx");
        write_bytes(p, b, n, gz);
        idx_header h;
        float *px;
        clgan_err e;
        ck_assert_msg(idx_load(p, 1, 4, &h, &px, &e) == CLGAN_OK, "%s", e.msg);
        ck_assert_int_eq(h.ndim, 3);
        ck_assert_uint_eq(h.dims[0], 5);
        ck_assert_uint_eq(h.dims[2], 3);
        for (int i = 0; i < 18; i++) {
            float want = (float)(10 * (1 + i / 6) + i % 6) / 255.0f;
            ck_assert_float_eq_tol(px[i], want, 1e-7f);
        }
        free(px);
    }
}
END_TEST

START_TEST(idx_rejects_bad_files) {
    unsigned char b[64];
    size_t n = make_idx(b);
    idx_header h;
    float *px;
    clgan_err e;
    const char *p = tmp("bad.idx");
    write_bytes(p, b, n - 1, 0); /* truncated */
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &px, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "truncated: item 4 of 5"), "%s", e.msg);
    write_bytes(p, b, n, 1); /* truncated gzip stream */
    FILE *f = fopen(p, "r+b");
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fclose(f);
    ck_assert(truncate(p, sz - 12) == 0);
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &px, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strncmp(e.msg, p, strlen(p)) == 0 && strstr(e.msg, "truncated"), "%s", e.msg);
    unsigned char w[64];
    memcpy(w, b, n);
    w[2] = 0x0D; /* float data: not read */
    write_bytes(p, w, n, 0);
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &px, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "value type 0x0d"), "%s", e.msg);
    w[2] = 8;
    w[0] = 0x1f; /* wrong magic */
    write_bytes(p, w, n, 0);
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &px, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "not an IDX file"), "%s", e.msg);
    memcpy(w, b, n);
    w[n] = 7; /* one byte too many: wrong size */
    write_bytes(p, w, n + 1, 0);
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &px, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "trailing bytes"), "%s", e.msg);
    memcpy(w, b, n);
    w[5] = 0x80; /* the header claims 8,388,613 images of 2x3: found by fuzzing, once a 48 MB
                    allocation before reading; now a truncation error after the 5 present */
    write_bytes(p, w, n, 0);
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &px, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "truncated: item 5 of 8388613"), "%s", e.msg);
    /* 4 dimensions whose item size, 2^26 * 3 * 2^24 * 2^25, wraps to 0 in 64 bits: found by
     * fuzzing, once a 12 s walk over 4 billion empty items */
    static const unsigned char wrap[] = {0, 0, 8, 4, 0xf8, 1, 0x7e, 0x68, 4, 0, 0, 0,
                                         3, 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xfa};
    write_bytes(p, wrap, sizeof wrap, 0);
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &px, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "too large (dimension 1"), "%s", e.msg);
    write_bytes(p, b, n, 0);
    ck_assert_int_eq(idx_load(p, 3, 9, &h, &px, &e), CLGAN_ERR_DATA); /* range beyond */
    ck_assert_int_eq(idx_load(tmp("missing.idx"), 0, -1, &h, &px, &e), CLGAN_ERR_IO);
}
END_TEST

/* Label files: the shipped MNIST labels; and refused when truncated, out of range, of another
 * count than the images, or not one value per item. */
START_TEST(idx_labels) {
    uint8_t *lab;
    clgan_err e;
    const char *mnist = src_path("models/data/mnist/t10k-labels-idx1-ubyte.gz");
    ck_assert_msg(idx_load_labels(mnist, 0, -1, 10000, 10, &lab, &e) == CLGAN_OK, "%s", e.msg);
    int all[10] = {0};
    for (int i = 0; i < 10000; i++) all[lab[i]]++;
    free(lab);
    for (int c = 0; c < 10; c++) ck_assert_int_ge(all[c], 800); /* every digit, about 1,000 */
    ck_assert_int_eq(idx_load_labels(mnist, 0, -1, 8000, 10, &lab, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "holds 10000 labels, the images 8000"), "%s", e.msg);
    ck_assert_int_eq(idx_load_labels(mnist, 0, -1, -1, 5, &lab, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strncmp(e.msg, mnist, strlen(mnist)) == 0 && strstr(e.msg, "of item") &&
                      strstr(e.msg, "is not one of the 5 classes"), "%s", e.msg);
    /* 4 labels 0, 1, 2, 7 */
    unsigned char b[12] = {0, 0, 8, 1, 0, 0, 0, 4, 0, 1, 2, 7};
    const char *p = tmp("lab.idx");
    write_bytes(p, b, sizeof b, 0);
    ck_assert_msg(idx_load_labels(p, 1, 4, 4, 8, &lab, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(lab[0] == 1 && lab[1] == 2 && lab[2] == 7);
    free(lab);
    ck_assert_int_eq(idx_load_labels(p, 0, -1, 4, 7, &lab, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "label 7 of item 3 is not one of the 7 classes (0 to 6)"), "%s",
                  e.msg);
    write_bytes(p, b, sizeof b - 1, 0); /* truncated */
    ck_assert_int_eq(idx_load_labels(p, 0, -1, 4, 8, &lab, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "truncated: item 3 of 4"), "%s", e.msg);
    unsigned char img[64];
    write_bytes(p, img, make_idx(img), 0); /* images as labels */
    ck_assert_int_eq(idx_load_labels(p, 0, -1, 5, 10, &lab, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "3-dimensional data, expected labels"), "%s", e.msg);
}
END_TEST

/* ---- optimizers ----------------------------------------------------------------------------- */

/* Max norm per output unit of every tensor with units, viewed as [outer][units][inner]. */
static void host_max_norm(const net *n, double *p, float max) {
    if (max <= 0) return;
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const param_info *pi = &l->params[j];
            if (pi->unit_axis < 0) continue;
            long outer = pi->unit_axis ? pi->shape[0] : 1, units = pi->shape[pi->unit_axis],
                 inner = pi->count / (outer * units);
            for (long u = 0; u < units; u++) {
                double s = 0;
                for (long a = 0; a < outer; a++)
                    for (long c = 0; c < inner; c++) {
                        double w = p[l->param_off[j] + (size_t)((a * units + u) * inner + c)];
                        s += w * w;
                    }
                if (sqrt(s) > max)
                    for (long a = 0; a < outer; a++)
                        for (long c = 0; c < inner; c++)
                            p[l->param_off[j] + (size_t)((a * units + u) * inner + c)] *=
                                max / (sqrt(s) + 1e-7);
            }
        }
    }
}

/* spec's updates on one layer (default: dense 4 -> 3) against the host, max-norm included. */
static void check_optim_on(optim_spec spec, int steps, const char *layer_yaml, shape3 in) {
    clgan_model *m = calloc(1, sizeof *m);
    net_spec *ns = &m->net[0];
    ns->layers = calloc(1, sizeof *ns->layers);
    clgan_err e;
    ck_assert(model_parse_layer(layer_yaml, &ns->layers[0], &e) == CLGAN_OK);
    ns->n_layers = 1;
    ns->in = in;
    ck_assert(net_infer(m, ns, "t") == CLGAN_OK);
    net *n;
    ck_assert(net_create(dev, m, CLGAN_GENERATOR, 2, 1, &n) == CLGAN_OK);
    optim o;
    ck_assert_msg(optim_init(&o, n, &spec) == CLGAN_OK, "%s", dev->err.msg);
    size_t np = n->n_params;
    float *p = calloc(np, sizeof *p), *g = calloc(np, sizeof *g), *got = calloc(np, sizeof *got);
    double *hp = calloc(np, sizeof *hp), *s1 = calloc(np, sizeof *s1), *s2 = calloc(np, sizeof *s2);
    unsigned seed = 9;
    const layer *l = &n->layers[0];
    for (size_t i = 0; i < np; i++) {
        int used = 0;
        for (int j = 0; j < l->n_params; j++)
            used |= i >= l->param_off[j] && i < l->param_off[j] + (size_t)l->params[j].count;
        p[i] = used ? (float)test_uniform(&seed, -2, 2) : 0;
        hp[i] = p[i];
    }
    ck_assert(device_write(dev, n->params, 0, np * 4, p, 1) == CLGAN_OK);
    for (int t = 0; t < steps; t++) {
        for (size_t i = 0; i < np; i++) g[i] = p[i] != 0 ? (float)test_uniform(&seed, -1, 1) : 0;
        ck_assert(device_write(dev, n->grads, 0, np * 4, g, 1) == CLGAN_OK);
        ck_assert(optim_step(&o, 3) == CLGAN_OK);
        double lr = optim_lr(&spec, (uint64_t)t);
        for (size_t i = 0; i < np; i++) {
            if (spec.kind == OPTIM_SGD) {
                s1[i] = optim_momentum(&spec, 3) * s1[i] - lr * g[i];
                hp[i] += s1[i];
            } else if (spec.kind == OPTIM_RMSPROP) {
                s1[i] = spec.alpha * s1[i] + (1 - spec.alpha) * (double)g[i] * g[i];
                hp[i] -= lr * g[i] / (sqrt(s1[i]) + spec.eps);
            } else {
                s1[i] = spec.beta1 * s1[i] + (1 - spec.beta1) * g[i];
                s2[i] = spec.beta2 * s2[i] + (1 - spec.beta2) * (double)g[i] * g[i];
                double bc1 = 1 - pow(spec.beta1, t + 1), bc2 = 1 - pow(spec.beta2, t + 1);
                hp[i] -= lr * (s1[i] / bc1) / (sqrt(s2[i] / bc2) + spec.eps);
            }
        }
        host_max_norm(n, hp, spec.max_col_norm);
    }
    ck_assert(device_read(dev, n->params, 0, np * 4, got) == CLGAN_OK);
    assert_close("params after steps", got, hp, np, 1e-5, 1e-6);
    if (spec.max_col_norm > 0) { /* the constraint holds, per unit (axis unit_axis) */
        double *gd = malloc(np * sizeof *gd);
        for (size_t i = 0; i < np; i++) gd[i] = got[i];
        host_max_norm(n, gd, spec.max_col_norm * (1 + 1e-5f)); /* scales nothing */
        for (size_t i = 0; i < np; i++) ck_assert(gd[i] == got[i]);
        free(gd);
    }
    free(p);
    free(g);
    free(got);
    free(hp);
    free(s1);
    free(s2);
    optim_free(&o);
    net_free(n);
    clgan_model_free(m);
}

static void check_optim(optim_spec spec, int steps) {
    check_optim_on(spec, steps, "{type: dense, units: 3}", (shape3){4, 1, 1, 0});
}

START_TEST(sgd_momentum_step) {
    optim_spec s = {.kind = OPTIM_SGD, .lr = 0.1f, .schedule = LR_EXPONENTIAL, .decay = 1.5f,
                    .lr_min = 0.05f, .momentum = 0.5f, .momentum_final = 0.7f,
                    .momentum_epochs = 10};
    check_optim(s, 3); /* epoch 3: momentum 0.56; lr 0.1, 0.0667, floor 0.05 */
    ck_assert_double_eq_tol(optim_momentum(&s, 3), 0.56, 1e-7);
    ck_assert_double_eq_tol(optim_momentum(&s, 20), 0.7, 1e-7);
    ck_assert_double_eq_tol(optim_lr(&s, 2), 0.05, 1e-9);
}
END_TEST

START_TEST(adam_step) {
    optim_spec s = {.kind = OPTIM_ADAM, .lr = 0.01f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f};
    check_optim(s, 3);
}
END_TEST

START_TEST(rmsprop_step) {
    optim_spec s = {.kind = OPTIM_RMSPROP, .lr = 0.005f, .alpha = 0.9f, .eps = 1e-8f};
    check_optim(s, 3);
}
END_TEST

START_TEST(max_col_norm_step) {
    optim_spec s = {.kind = OPTIM_SGD, .lr = 0.5f, .momentum = 0.0f, .max_col_norm = 1.0f};
    check_optim(s, 2);
    /* per filter of a convolution (axis 0 of [F, C, KH, KW]); per output channel of a
     * transposed one (axis 1 of [C, F, KH, KW]: strided, not a row) */
    check_optim_on(s, 2, "{type: conv2d, filters: 3, kernel: 2}", (shape3){2, 3, 3, 0});
    check_optim_on(s, 2, "{type: conv_transpose2d, filters: 3, kernel: 2}", (shape3){4, 2, 2, 0});
}
END_TEST

START_TEST(linear_schedule) {
    optim_spec s = {.kind = OPTIM_SGD, .lr = 1.0f, .schedule = LR_LINEAR, .decay_steps = 10,
                    .lr_min = 0.0f};
    ck_assert_double_eq_tol(optim_lr(&s, 0), 1.0, 1e-9);
    ck_assert_double_eq_tol(optim_lr(&s, 5), 0.5, 1e-7);
    ck_assert_double_eq_tol(optim_lr(&s, 50), 0.0, 1e-9);
}
END_TEST

/* ---- Algorithm 1 against the host --------------------------------------------------------- */

static clgan_model *load(const char *rel) {
    clgan_model *m;
    ck_assert_msg(clgan_model_load(src_path(rel), &m) == CLGAN_OK, "%s", clgan_model_errmsg(m));
    return m;
}

static double *read_params(net *n) {
    float *f = malloc(n->n_params * sizeof *f);
    ck_assert(device_read(dev, n->params, 0, n->n_params * sizeof *f, f) == CLGAN_OK);
    double *d = malloc(n->n_params * sizeof *d);
    for (size_t i = 0; i < n->n_params; i++) d[i] = f[i];
    free(f);
    return d;
}

typedef struct host_gan {
    trainer *t;
    double *pg, *pd, *vg, *vd; /* parameters and SGD velocities */
    uint64_t stream;
    long epoch, batch;
    uint32_t *perm;
} host_gan;

/* Streams of one pass through G (train) then D (train): dropout layers in order. */
static void take_streams(host_gan *h, const net *n, uint64_t *s) {
    for (int i = 0; i < n->n_layers; i++) s[i] = n->layers[i].spec->kind == LAYER_DROPOUT ? h->stream++ : 0;
}

static double *host_noise(host_gan *h, int m) {
    const noise_spec *z = &h->t->m->noise;
    rng_stream rs = {{h->t->g->key[0], h->t->g->key[1]}, h->stream++, RNG_TAG_NOISE};
    double *v = malloc((size_t)m * z->dim * sizeof *v);
    for (size_t i = 0; i < (size_t)m * z->dim; i++)
        v[i] = z->dist == NOISE_UNIFORM ? rng_uniform(&rs, i, z->a, z->b) : rng_normal(&rs, i, z->a, z->b);
    return v;
}

/* D's loss on rows x (2m: real then fake) or G's loss on m fake rows. */
typedef struct loss_ctx {
    host_gan *h;
    const double *real, *noise;
    const uint64_t *sg, *sd;
    int m, g_step, minimax;
} loss_ctx;

/*
 * The step's loss; update: also the running statistics (batch norm), as the device's training
 * passes update them: G's over its m rows, then D's over the real and generated rows apart (a
 * D step) or over the m generated rows (a G step).
 */
static double host_pass(const loss_ctx *c, int update) {
    trainer *t = c->h->t;
    int m = c->m;
    size_t cols = t->d->in.cols;
    double *gx = host_forward_u(t->g, c->h->pg, c->noise, m, 1, t->g->n_layers, c->sg, 1, update);
    int rows = c->g_step ? m : 2 * m;
    double *din = malloc((size_t)rows * cols * sizeof *din);
    if (c->g_step) {
        memcpy(din, gx, (size_t)m * cols * sizeof *din);
    } else {
        memcpy(din, c->real, (size_t)m * cols * sizeof *din);
        memcpy(din + (size_t)m * cols, gx, (size_t)m * cols * sizeof *din);
    }
    double *z = host_forward_u(t->d, c->h->pd, din, rows, 1, t->d->n_layers - 1, c->sd,
                               c->g_step ? 1 : 2, update);
    double L = 0;
    for (int i = 0; i < rows; i++) {
        if (!c->g_step)
            L += h_bce(z[i], i < m ? 1.0 : 0.0) / m;
        else
            L += c->minimax ? -h_bce(z[i], 0.0) / m : h_bce(z[i], 1.0) / m;
    }
    free(gx);
    free(din);
    free(z);
    return L;
}

static double host_loss(const loss_ctx *c) {
    return host_pass(c, 0);
}

static void host_sgd(double *p, double *v, size_t np, const loss_ctx *c, const optim *o, long epoch,
                     uint64_t t) {
    double *g = calloc(np, sizeof *g);
    for (size_t j = 0; j < np; j++) {
        double keep = p[j];
        p[j] = keep + FD_STEP;
        double lp = host_loss(c);
        p[j] = keep - FD_STEP;
        double lm = host_loss(c);
        p[j] = keep;
        g[j] = (lp - lm) / (2 * FD_STEP);
    }
    double lr = optim_lr(o->spec, t), mu = optim_momentum(o->spec, epoch);
    for (size_t j = 0; j < np; j++) {
        v[j] = mu * v[j] - lr * g[j];
        p[j] += v[j];
    }
    free(g);
}

static void host_iteration(host_gan *h) {
    trainer *t = h->t;
    const clgan_model *m = t->m;
    int mb = m->train.batch;
    size_t cols = t->d->in.cols;
    uint64_t sg[16], sd[16];
    for (int k = 0; k < m->train.k; k++) {
        if (h->batch >= t->batches_per_epoch) {
            h->epoch++;
            h->batch = 0;
            dataset_shuffle(t->data, h->epoch, h->perm);
        }
        double *real = malloc((size_t)mb * cols * sizeof *real);
        for (int r = 0; r < mb; r++)
            for (size_t c = 0; c < cols; c++)
                real[(size_t)r * cols + c] = t->data->host[(size_t)h->perm[h->batch * mb + r] * cols + c];
        h->batch++;
        double *noise = host_noise(h, mb);
        take_streams(h, t->g, sg);
        take_streams(h, t->d, sd);
        loss_ctx c = {h, real, noise, sg, sd, mb, 0, 0};
        host_pass(&c, 1);
        host_sgd(h->pd, h->vd, t->d->n_params, &c, &t->opt[1], h->epoch, t->opt[1].t - (uint64_t)(m->train.k - k));
        host_max_norm(t->d, h->pd, m->train.opt[1].max_col_norm);
        free(real);
        free(noise);
    }
    double *noise = host_noise(h, mb);
    take_streams(h, t->g, sg);
    take_streams(h, t->d, sd);
    loss_ctx c = {h, NULL, noise, sg, sd, mb, 1, m->train.loss == GAN_LOSS_MINIMAX};
    host_pass(&c, 1);
    host_sgd(h->pg, h->vg, t->g->n_params, &c, &t->opt[0], h->epoch, t->opt[0].t - 1);
    free(noise);
}

static void check_algorithm1_of(const char *model, int k, gan_loss_kind loss, int iters) {
    clgan_model *m = load(model);
    m->train.k = k;
    m->train.loss = loss;
    dataset data;
    clgan_err e;
    ck_assert_msg(dataset_load(m, m->train.seed, &data, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(dataset_upload(&data, dev) == CLGAN_OK);
    trainer t;
    ck_assert_msg(trainer_init(&t, dev, m, &data, 8) == CLGAN_OK, "%s", dev->err.msg);
    host_gan h = {&t, read_params(t.g), read_params(t.d), calloc(t.g->n_params, 8),
                  calloc(t.d->n_params, 8), 0, 0, 0, malloc((size_t)data.n * 4)};
    dataset_shuffle(&data, 0, h.perm);
    for (int it = 0; it < iters; it++) {
        ck_assert(trainer_iteration(&t) == CLGAN_OK);
        host_iteration(&h);
        ck_assert_uint_eq(t.stream, h.stream);
    }
    float *gd = malloc(t.g->n_params * 4), *dd = malloc(t.d->n_params * 4);
    ck_assert(device_read(dev, t.g->params, 0, t.g->n_params * 4, gd) == CLGAN_OK);
    ck_assert(device_read(dev, t.d->params, 0, t.d->n_params * 4, dd) == CLGAN_OK);
    assert_close("discriminator after Algorithm 1", dd, h.pd, t.d->n_params, STEP_RTOL, STEP_ATOL);
    assert_close("generator after Algorithm 1", gd, h.pg, t.g->n_params, STEP_RTOL, STEP_ATOL);
    /* and the step did something */
    double *g0 = calloc(1, 8);
    free(g0);
    gan_stats s;
    ck_assert(trainer_read_stats(&t, &s) == CLGAN_OK);
    ck_assert_int_eq(s.d_steps, k * iters);
    ck_assert_int_eq(s.g_steps, iters);
    ck_assert(!s.nonfinite && s.d_real > 0 && s.d_real < 1 && s.d_fake > 0 && s.d_fake < 1);
    free(gd);
    free(dd);
    free(h.pg);
    free(h.pd);
    free(h.vg);
    free(h.vd);
    free(h.perm);
    trainer_free(&t);
    dataset_free(&data);
    clgan_model_free(m);
}

static void check_algorithm1(int k, gan_loss_kind loss, int iters) {
    check_algorithm1_of("tests/data/tiny_gan.yaml", k, loss, iters);
}

/* Batch norm in both networks: D's real and generated rows apart, running statistics after
 * every pass (the parameters compared include them). */
START_TEST(algorithm1_batch_norm) {
    check_algorithm1_of("tests/data/tiny_bn.yaml", 1, GAN_LOSS_NON_SATURATING, 2);
    check_algorithm1_of("tests/data/tiny_bn.yaml", 2, GAN_LOSS_MINIMAX, 1);
}
END_TEST

START_TEST(algorithm1_k1_non_saturating) { check_algorithm1(1, GAN_LOSS_NON_SATURATING, 1); }
END_TEST
START_TEST(algorithm1_k2_non_saturating) { check_algorithm1(2, GAN_LOSS_NON_SATURATING, 1); }
END_TEST
START_TEST(algorithm1_k1_minimax) { check_algorithm1(1, GAN_LOSS_MINIMAX, 1); }
END_TEST
START_TEST(algorithm1_k2_minimax_across_epochs) { check_algorithm1(2, GAN_LOSS_MINIMAX, 5); }
END_TEST

/* ---- resume and checkpoints ----------------------------------------------------------------- */

typedef struct session {
    clgan_model *m;
    dataset data;
    trainer t;
} session;

static void open_session(session *s, const char *rel) {
    s->m = load(rel);
    clgan_err e;
    ck_assert_msg(dataset_load(s->m, s->m->train.seed, &s->data, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(dataset_upload(&s->data, dev) == CLGAN_OK);
    ck_assert_msg(trainer_init(&s->t, dev, s->m, &s->data, 8) == CLGAN_OK, "%s", dev->err.msg);
}

static void close_session(session *s) {
    trainer_free(&s->t);
    dataset_free(&s->data);
    clgan_model_free(s->m);
}

static void run_iters(session *s, int n) {
    for (int i = 0; i < n; i++) ck_assert(trainer_iteration(&s->t) == CLGAN_OK);
}

/* All of a trainer's state as bytes: parameters and optimizer state of both networks. */
static unsigned char *state_bytes(trainer *t, size_t *len) {
    cl_mem bufs[10] = {NULL};
    size_t sizes[10] = {0};
    bufs[9] = t->ema; /* train.ema: the generator's average */
    sizes[9] = t->ema ? t->g->n_params : 0;
    for (int w = 0; w < MODEL_NETS; w++) {
        net *n = trainer_net(t, (clgan_net)w);
        if (!n) continue;
        bufs[3 * w] = n->params;
        sizes[3 * w] = n->n_params;
        bufs[3 * w + 1] = t->opt[w].s1; /* optimizer state: trainable only */
        bufs[3 * w + 2] = t->opt[w].s2;
        sizes[3 * w + 1] = sizes[3 * w + 2] = n->n_train;
    }
    size_t total = 0;
    for (int i = 0; i < 10; i++) total += bufs[i] ? sizes[i] * 4 : 0;
    unsigned char *b = malloc(total + sizeof(float)), *p = b;
    for (int i = 0; i < 10; i++)
        if (bufs[i]) {
            ck_assert(device_read(t->dev, bufs[i], 0, sizes[i] * 4, p) == CLGAN_OK);
            p += sizes[i] * 4;
        }
    if (t->ada) { /* adaptive augmentation: its p, the same on every replica */
        memcpy(p, &t->aug_p, sizeof(float));
        total += sizeof(float);
    }
    *len = total;
    return b;
}

static void check_resume(const char *rel, int n) {
    session a, b;
    open_session(&a, rel);
    run_iters(&a, 2 * n);
    size_t la, lb;
    unsigned char *sa = state_bytes(&a.t, &la);
    close_session(&a);

    const char *ck = tmp("resume.safetensors");
    clgan_err e;
    open_session(&b, rel);
    run_iters(&b, n);
    ck_assert_msg(checkpoint_save(&b.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    close_session(&b);
    open_session(&b, rel);
    ck_assert_msg(checkpoint_load(&b.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert_uint_eq(b.t.iter, (uint64_t)n);
    run_iters(&b, n);
    unsigned char *sb = state_bytes(&b.t, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(sa, sb, la) == 0, "%s: %d + resume + %d iterations differ from %d straight",
                  rel, n, n, 2 * n);
    free(sa);
    free(sb);
    close_session(&b);
}

/*
 * Issue 16: R replicas, each on its own device with rows [r m/R, (r + 1) m/R) of every step,
 * compute the one-device run: every replica holds the same state, bit for bit; a repeat is
 * bit-identical; against one device the state agrees up to the order of float sums, and so do
 * the statistics.
 */
static void check_replicas(const char *rel, int R, int iters, double atol) {
    session one;
    open_session(&one, rel);
    run_iters(&one, iters);
    gan_stats s1, sr;
    ck_assert(trainer_read_stats(&one.t, &s1) == CLGAN_OK);
    size_t l1, lr = 0;
    unsigned char *b1 = state_bytes(&one.t, &l1), *rep[2];
    close_session(&one);
    for (int run = 0; run < 2; run++) {
        clgan_model *m = load(rel);
        dataset data;
        clgan_err e;
        ck_assert_msg(dataset_load(m, m->train.seed, &data, &e) == CLGAN_OK, "%s", e.msg);
        clgan_device *devs[4];
        for (int r = 0; r < R; r++) devs[r] = test_device();
        ck_assert(dataset_upload(&data, devs[0]) == CLGAN_OK);
        trainer t;
        ck_assert_msg(trainer_init_replicas(&t, devs, R, m, &data, 8, NULL) == CLGAN_OK, "%s",
                      devs[0]->err.msg);
        ck_assert_int_eq(t.n_peers, R - 1);
        for (int i = 0; i < iters; i++) ck_assert(trainer_iteration(&t) == CLGAN_OK);
        ck_assert(trainer_read_stats(&t, &sr) == CLGAN_OK);
        rep[run] = state_bytes(&t, &lr);
        for (int i = 0; i < t.n_peers; i++) {
            size_t lp;
            unsigned char *bp = state_bytes(&t.peers[i], &lp);
            ck_assert_msg(lp == lr && memcmp(bp, rep[run], lr) == 0,
                          "%s: replica %d's state differs from replica 0's", rel, i + 1);
            free(bp);
        }
        trainer_free(&t);
        dataset_free(&data);
        for (int r = 0; r < R; r++) clgan_device_free(devs[r]);
        clgan_model_free(m);
    }
    ck_assert_uint_eq(lr, l1);
    ck_assert_msg(memcmp(rep[0], rep[1], lr) == 0, "%s: two runs on %d devices differ", rel, R);
    size_t n = l1 / 4;
    double *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++) want[i] = ((const float *)b1)[i];
    assert_close("state on R devices against one", (const float *)rep[0], want, n, 1e-4, atol);
    ck_assert_int_eq(sr.d_steps, s1.d_steps);
    ck_assert_int_eq(sr.g_steps, s1.g_steps);
    const double got[4] = {sr.d_loss, sr.g_loss, sr.d_real, sr.d_fake},
                 one_dev[4] = {s1.d_loss, s1.g_loss, s1.d_real, s1.d_fake};
    for (int k = 0; k < 4; k++)
        ck_assert_msg(fabs(got[k] - one_dev[k]) <= atol * (1 + fabs(one_dev[k])),
                      "%s: statistic %d on %d devices %.9g, on one %.9g", rel, k, R, got[k],
                      one_dev[k]);
    free(want);
    free(b1);
    free(rep[0]);
    free(rep[1]);
}

START_TEST(replicas_sgd_dropout) { check_replicas("tests/data/tiny_gan.yaml", 2, 6, 1e-5); }
END_TEST
START_TEST(replicas_adam_four) { check_replicas("tests/data/tiny.yaml", 4, 5, 1e-5); }
END_TEST
START_TEST(replicas_conditional_wasserstein) {
    check_replicas("tests/data/tiny_wgan.yaml", 2, 3, 1e-5);
    /* One-hot label columns of D's first layer: with as many real as generated rows of a class
     * on the same side of the leaky ReLU, the hinge loss's gradient of such a weight is zero
     * in exact arithmetic and rounding noise in floats, which depends on the order of the
     * sums; Adam divides it by sqrt(v) + eps and moves the weight by up to lr (1e-3) either
     * way. Measured: six such weights apart by up to 1.8e-4 after 5 iterations. */
    check_replicas("tests/data/tiny_cond.yaml", 2, 1, 1e-5);
    check_replicas("tests/data/tiny_cond.yaml", 2, 5, 1e-3);
}
END_TEST

/* The relativistic loss: the means of the logits are the global batch's (SGD: see the model). */
START_TEST(replicas_relativistic) { check_replicas("tests/data/tiny_ra_sgd.yaml", 2, 4, 1e-5); }
END_TEST

/* Batch norm: each replica in a thread of its own, the statistics over every replica's rows. */
START_TEST(replicas_batch_norm) {
    check_replicas("tests/data/tiny_bn12.yaml", 2, 5, 1e-5);
    check_replicas("tests/data/tiny_bn12.yaml", 3, 5, 1e-5);
}
END_TEST

/* What replicas cannot split is refused, naming it. */
START_TEST(replicas_refuse_uneven_batch) {
    clgan_model *m = load("tests/data/tiny_bn.yaml"); /* batch 8 */
    dataset data;
    clgan_err e;
    ck_assert_msg(dataset_load(m, m->train.seed, &data, &e) == CLGAN_OK, "%s", e.msg);
    clgan_device *devs[3] = {test_device(), test_device(), test_device()};
    ck_assert(dataset_upload(&data, devs[0]) == CLGAN_OK);
    trainer t;
    ck_assert(trainer_init_replicas(&t, devs, 3, m, &data, 8, NULL) == CLGAN_ERR_ARG);
    ck_assert_msg(strstr(devs[0]->err.msg, "--devices: 3 devices: train.batch 8 does not split "
                                           "into 3 replicas"), "%s", devs[0]->err.msg);
    dataset_free(&data);
    for (int i = 0; i < 3; i++) clgan_device_free(devs[i]);
    clgan_model_free(m);
}
END_TEST

START_TEST(exact_resume_sgd_dropout) { check_resume("tests/data/tiny_gan.yaml", 11); }
END_TEST
START_TEST(exact_resume_adam) { check_resume("tests/data/tiny.yaml", 7); }
END_TEST
/* the Wasserstein loss with weight clipping and RMSProp; the relativistic loss with batch norm */
START_TEST(exact_resume_wasserstein) { check_resume("tests/data/tiny_wgan.yaml", 5); }
END_TEST
START_TEST(exact_resume_relativistic) { check_resume("tests/data/tiny_ra.yaml", 9); }
END_TEST

/* Weight clipping holds after every critic step: no critic weight leaves [-clip, clip]. */
START_TEST(wasserstein_clips_the_critic) {
    session s;
    open_session(&s, "tests/data/tiny_wgan.yaml");
    run_iters(&s, 3);
    float *p = malloc(s.t.d->n_train * sizeof *p);
    ck_assert(device_read(dev, s.t.d->params, 0, s.t.d->n_train * sizeof *p, p) == CLGAN_OK);
    float mx = 0;
    for (size_t i = 0; i < s.t.d->n_train; i++) mx = fmaxf(mx, fabsf(p[i]));
    ck_assert_msg(mx <= 0.05f && mx > 0.04f, "largest |critic weight| %g, clip 0.05", mx);
    gan_stats st;
    ck_assert(trainer_read_stats(&s.t, &st) == CLGAN_OK);
    ck_assert(!st.nonfinite && st.d_steps == 6 && st.g_steps == 3);
    free(p);
    close_session(&s);
}
END_TEST

/* train.ema: G's averaged weights against the host's average of the weights after each step
 * (running statistics copied), resumed exactly, and what a checkpoint's generator holds. */
START_TEST(ema_of_the_generator) {
    session s;
    open_session(&s, "tests/data/tiny_ema.yaml");
    net *g = s.t.g;
    size_t np = g->n_params, nt = g->n_train;
    ck_assert(nt < np); /* batch norm's running statistics follow the trainable weights */
    double *want = malloc(np * sizeof *want);
    float *p = malloc(np * sizeof *p), *got = malloc(np * sizeof *got);
    ck_assert(device_read(dev, g->params, 0, np * 4, p) == CLGAN_OK);
    for (size_t i = 0; i < np; i++) want[i] = p[i];
    const double decay = 0.9;
    for (int it = 0; it < 6; it++) {
        run_iters(&s, 1);
        ck_assert(device_read(dev, g->params, 0, np * 4, p) == CLGAN_OK);
        for (size_t i = 0; i < np; i++)
            want[i] = i < nt ? decay * want[i] + (1 - decay) * p[i] : p[i];
    }
    ck_assert(device_read(dev, s.t.ema, 0, np * 4, got) == CLGAN_OK);
    assert_close("G's average after 6 steps", got, want, np, 1e-5, 1e-7);
    double moved = 0;
    for (size_t i = 0; i < nt; i++) moved = fmax(moved, fabs(want[i] - p[i]));
    ck_assert_msg(moved > 1e-4, "the average equals the weights: the test means nothing");
    /* a checkpoint's generator samples with the average */
    const char *ck = tmp("ema.safetensors");
    clgan_err e;
    ck_assert_msg(checkpoint_save(&s.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    ckpt c;
    ck_assert_msg(ckpt_open(ck, &c, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(c.ema > 0.89f && c.ema < 0.91f);
    net *cg;
    ck_assert_msg(ckpt_net(&c, dev, CLGAN_GENERATOR, 8, &cg, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(device_read(dev, cg->params, 0, np * 4, p) == CLGAN_OK);
    ck_assert(memcmp(p, got, np * 4) == 0);
    net_free(cg);
    ckpt_close(&c);
    free(want);
    free(p);
    free(got);
    close_session(&s);
}
END_TEST
START_TEST(exact_resume_ema) { check_resume("tests/data/tiny_ema.yaml", 7); }
END_TEST
/* a conditional GAN: real rows' labels shuffled with them, generated rows' drawn each step */
START_TEST(exact_resume_conditional) { check_resume("tests/data/tiny_cond.yaml", 6); }
END_TEST
/* spectral norm: the power iteration's vectors are in the checkpoint */
START_TEST(exact_resume_spectral_norm) { check_resume("tests/data/tiny_sn.yaml", 6); }

/* A graph: blocks, merges, conditional batch norm, self-attention (issue 23). */
START_TEST(exact_resume_graph) { check_resume("tests/data/tiny_graph.yaml", 5); }
END_TEST

/* Gradient penalties: R1 and R2 lazy (every 3 and 2 D steps), WGAN-GP's interpolates. */
START_TEST(exact_resume_penalties) { check_resume("tests/data/tiny_penalty.yaml", 7); }
END_TEST

START_TEST(exact_resume_augment) {
    check_resume("tests/data/tiny_augment.yaml", 5);
    check_resume("tests/data/tiny_augment_ra.yaml", 4);
}
END_TEST

/*
 * Adaptive augmentation: a resume between two adjustments of p goes on with p and the sums of
 * the D steps since the last (5 iterations: one past the first adjustment), and replicas adjust
 * p as one device does; p moved by whole steps of batch 4 / 500k (r_t, a multiple of 1/32, is
 * never the target 0.6 exactly, so every adjustment moves it).
 */
START_TEST(adaptive_augment) {
    check_resume("tests/data/tiny_ada.yaml", 5);
    check_replicas("tests/data/tiny_ada.yaml", 2, 8, 1e-5);
    session a;
    open_session(&a, "tests/data/tiny_ada.yaml");
    run_iters(&a, 5);
    float s[3];
    ck_assert(trainer_ada_read(&a.t, s) == CLGAN_OK);
    ck_assert_msg(s[2] == 8.0f && fabsf(s[1]) <= 8.0f, "one D step's 8 real rows since the "
                  "adjustment: sums %g over %g", s[1], s[2]);
    run_iters(&a, 7); /* 12 D steps: 3 adjustments */
    double step = 8.0 * ADA_INTERVAL / ADA_IMAGES, moves = (a.t.aug_p - 0.5) / step;
    ck_assert_msg(fabs(moves - floor(moves + 0.5)) < 1e-2 && fabs(moves) > 0.5 &&
                  fabs(moves) < 3.5 && ((int)floor(fabs(moves) + 0.5)) % 2 == 1,
                  "p %.9g: %g steps from 0.5 after 3 adjustments", a.t.aug_p, moves);
    close_session(&a);
}
END_TEST

/* Augmentation: each sample's draws are its global index's, whichever replica holds it. */
START_TEST(replicas_augment) {
    check_replicas("tests/data/tiny_augment.yaml", 2, 4, 1e-5);
    check_replicas("tests/data/tiny_augment_ra.yaml", 2, 4, 1e-5);
}
END_TEST

START_TEST(replicas_penalties) {
    check_replicas("tests/data/tiny_penalty.yaml", 2, 6, 1e-5);
    check_replicas("tests/data/tiny_penalty.yaml", 4, 4, 1e-5);
}
END_TEST

/*
 * Lazy regularisation: R1 applied every N D steps weighs N times as much when it applies. One D
 * step (index 0: it applies) of R1 alone, every 3 against every 1: the penalty's gradients
 * three times over, up to float rounding (the weight scales the seed; the pass is linear in it).
 */
START_TEST(lazy_penalty_weighs_every) {
    float *g[2];
    size_t count = 0;
    for (int lazy = 0; lazy < 2; lazy++) {
        session s;
        open_session(&s, "tests/data/tiny_penalty.yaml");
        s.m->train.penalty[PENALTY_R2].weight = 0;
        s.m->train.penalty[PENALTY_GP].weight = 0;
        s.m->train.penalty[PENALTY_R1].every = lazy ? 3 : 1;
        ck_assert(trainer_d_step(&s.t) == CLGAN_OK);
        count = s.t.d->n_train;
        g[lazy] = malloc(count * sizeof(float));
        ck_assert(device_read(dev, s.t.pen_grads, 0, count * sizeof(float), g[lazy]) == CLGAN_OK);
        close_session(&s);
    }
    double want_mag = 0;
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg(fabsf(g[1][i] - 3 * g[0][i]) <= 1e-6f + 1e-5f * fabsf(3 * g[0][i]),
                      "gradient %zu: every 3 %.9g, every 1 %.9g", i, g[1][i], g[0][i]);
        want_mag += fabsf(g[0][i]);
    }
    ck_assert_msg(want_mag > 1e-4, "degenerate: R1's gradient is ~0");
    free(g[0]);
    free(g[1]);
}
END_TEST

/*
 * The penalties' statistics: each one's mean value over its applications (R1 every 3 of the 2
 * D steps an iteration: 3 times in 4 iterations; R2 4 times; WGAN-GP 8), finite and positive;
 * and they change D's training (a run without them ends elsewhere).
 */
START_TEST(penalties_apply_and_count) {
    session a, b;
    open_session(&a, "tests/data/tiny_penalty.yaml");
    run_iters(&a, 4);
    gan_stats s;
    float raw[STAT_COUNT];
    ck_assert(device_read(dev, a.t.stats, 0, sizeof raw, raw) == CLGAN_OK);
    const float applied[PENALTY_KINDS] = {3, 4, 8}; /* D steps 0..7: R1 0 3 6, R2 0 2 4 6 */
    for (int k = 0; k < PENALTY_KINDS; k++)
        ck_assert_msg(raw[STAT_PENALTY + 2 * k + 1] == applied[k], "%s applied %g times",
                      penalty_name(k), raw[STAT_PENALTY + 2 * k + 1]);
    ck_assert(trainer_read_stats(&a.t, &s) == CLGAN_OK);
    for (int k = 0; k < PENALTY_KINDS; k++)
        ck_assert_msg(isfinite(s.penalty[k]) && s.penalty[k] > 0, "%s: %g", penalty_name(k),
                      s.penalty[k]);
    ck_assert(!s.nonfinite);
    size_t la, lb;
    unsigned char *sa = state_bytes(&a.t, &la);
    close_session(&a);
    open_session(&b, "tests/data/tiny_penalty.yaml");
    for (int k = 0; k < PENALTY_KINDS; k++) b.m->train.penalty[k].weight = 0;
    run_iters(&b, 4);
    ck_assert(trainer_read_stats(&b.t, &s) == CLGAN_OK);
    for (int k = 0; k < PENALTY_KINDS; k++) ck_assert(isnan(s.penalty[k]));
    unsigned char *sb = state_bytes(&b.t, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(sa, sb, la) != 0, "the penalties changed nothing");
    free(sa);
    free(sb);
    close_session(&b);
}
END_TEST

/* PacGAN: D's input joins two samples; a D step has m/2 rows per half; resumes exactly (with
 * the relativistic loss, whose G step packs real rows too). */
START_TEST(packed_discriminator) {
    session s;
    open_session(&s, "tests/data/tiny_pack.yaml");
    ck_assert_int_eq(s.t.d->in.cols, 4);
    ck_assert_int_eq(s.t.d->capacity, 32); /* 2 halves of 16 packed rows */
    run_iters(&s, 3);
    gan_stats st;
    ck_assert(trainer_read_stats(&s.t, &st) == CLGAN_OK);
    ck_assert(!st.nonfinite && st.d_steps == 3);
    close_session(&s);
    check_resume("tests/data/tiny_pack.yaml", 8);
}
END_TEST

/* An --on-nan rollback's learning-rate scale is recorded and resumed: straight with the scale,
 * or half, a checkpoint and a resume, give the same bytes. */
START_TEST(exact_resume_lr_scale) {
    session a, b;
    open_session(&a, "tests/data/tiny.yaml");
    trainer_set_lr_scale(&a.t, 0.25);
    run_iters(&a, 8);
    size_t la, lb;
    unsigned char *sa = state_bytes(&a.t, &la);
    close_session(&a);
    open_session(&b, "tests/data/tiny.yaml");
    run_iters(&b, 8); /* the scale matters: without it, another state */
    unsigned char *s1 = state_bytes(&b.t, &lb);
    ck_assert(memcmp(sa, s1, la) != 0);
    free(s1);
    close_session(&b);
    const char *ck = tmp("scaled.safetensors");
    clgan_err e;
    open_session(&b, "tests/data/tiny.yaml");
    trainer_set_lr_scale(&b.t, 0.25);
    run_iters(&b, 4);
    ck_assert_msg(checkpoint_save(&b.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    close_session(&b);
    open_session(&b, "tests/data/tiny.yaml");
    ck_assert_msg(checkpoint_load(&b.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(b.t.opt[0].lr_scale == 0.25 && b.t.opt[1].lr_scale == 0.25);
    ck_assert(optim_rate(&b.t.opt[0]) == 0.25 * b.m->train.opt[0].lr);
    run_iters(&b, 4);
    unsigned char *sb = state_bytes(&b.t, &lb);
    ck_assert(la == lb && memcmp(sa, sb, la) == 0);
    free(sa);
    free(sb);
    close_session(&b);
}
END_TEST

/*
 * tiny_gan.yaml with its discriminator's final "    - sigmoid\n" replaced by `tail` and, if
 * train_line is not NULL, that line added to its train section; parsed as if it were the file.
 */
static clgan_status model_load_tail(const char *tail, const char *train_line, clgan_model **m) {
    const char *path = src_path("tests/data/tiny_gan.yaml");
    char *text = calloc(1, 1 << 16);
    FILE *f = fopen(path, "rb");
    ck_assert(text && f);
    size_t len = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[len] = '\0';
    const char *sig = "    - sigmoid\n", *at = strstr(text, sig), *tr = strstr(text, "train:\n");
    ck_assert(at && tr && tr > at);
    tr += strlen("train:\n");
    char *yaml = str_fmt("%.*s%s%.*s%s%s", (int)(at - text), text, tail,
                         (int)(tr - (at + strlen(sig))), at + strlen(sig),
                         train_line ? train_line : "", tr);
    *m = NULL;
    clgan_status st = model_load_text(path, yaml, strlen(yaml), NULL, m);
    free(text);
    free(yaml);
    return st;
}

static clgan_model *tiny_gan_ending(const char *tail) {
    clgan_model *m;
    ck_assert_msg(model_load_tail(tail, NULL, &m) == CLGAN_OK, "%s: %s", tail,
                  m ? m->err.msg : "?");
    return m;
}

/*
 * A discriminator's final sigmoid behind layers that only pass values on (flatten, reshape,
 * dropout keeping all) is the final sigmoid: the losses read its input as the logits, so the
 * run is the one without them, bit for bit (before, the loss took the sigmoid's output as
 * logits and applied the sigmoid twice).
 */
/* 5 iterations of tiny_gan_ending(tail): the state's bytes and the statistics. */
static unsigned char *run_tail(const char *tail, size_t *len, gan_stats *st) {
    session s;
    s.m = tiny_gan_ending(tail);
    clgan_err e;
    ck_assert_msg(dataset_load(s.m, s.m->train.seed, &s.data, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(dataset_upload(&s.data, dev) == CLGAN_OK);
    ck_assert_msg(trainer_init(&s.t, dev, s.m, &s.data, 8) == CLGAN_OK, "%s", dev->err.msg);
    run_iters(&s, 5);
    ck_assert(trainer_read_stats(&s.t, st) == CLGAN_OK);
    unsigned char *b = state_bytes(&s.t, len);
    close_session(&s);
    return b;
}

START_TEST(final_sigmoid_behind_shape_layers) {
    /* each against the same values with the sigmoid last (a dropout of keep 1 still takes its
     * Philox stream, so its reference has one in the same place) */
    static const char *const cases[][2] = {
        {"    - sigmoid\n    - flatten\n", "    - sigmoid\n"},
        {"    - sigmoid\n    - {type: dropout, keep: 1}\n    - {type: reshape, shape: [1, 1, 1]}\n",
         "    - {type: dropout, keep: 1}\n    - sigmoid\n"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t la, lb;
        gan_stats sa, sb;
        unsigned char *a = run_tail(cases[i][0], &la, &sa), *b = run_tail(cases[i][1], &lb, &sb);
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%s: another run", cases[i][0]);
        ck_assert_msg(sa.d_real == sb.d_real && sa.d_loss == sb.d_loss && !sa.nonfinite,
                      "%s: D(x) %g, D loss %g; with the sigmoid last %g, %g", cases[i][0],
                      sa.d_real, sa.d_loss, sb.d_real, sb.d_loss);
        free(a);
        free(b);
    }
    /* a dropout that rescales the sigmoid's output is refused, naming the dropout */
    clgan_model *m = NULL;
    ck_assert(model_load_tail("    - sigmoid\n    - {type: dropout, keep: 0.5}\n", NULL, &m) ==
              CLGAN_ERR_MODEL);
    ck_assert_msg(strstr(m->err.msg, "tiny_gan.yaml:18:") &&
                      strstr(m->err.msg, "a dropout after the discriminator's final sigmoid"),
                  "%s", m->err.msg);
    clgan_model_free(m);
    /* hinge on `sigmoid, flatten`: refused, as on a plain final sigmoid */
    ck_assert(model_load_tail("    - sigmoid\n    - flatten\n", "  loss: hinge\n", &m) ==
              CLGAN_ERR_MODEL);
    ck_assert_msg(strstr(m->err.msg, "tiny_gan.yaml:17:") &&
                      strstr(m->err.msg, "'loss: hinge' takes a critic's raw output"),
                  "%s", m->err.msg);
    clgan_model_free(m);
}
END_TEST

/*
 * A NaN that a ReLU used to hide: in D's first weight, followed by a ReLU, it turned into 0, the
 * losses stayed finite and the run went on. Now the flag is raised and the tensor named.
 */
START_TEST(nan_behind_relu_is_caught) {
    session s;
    open_session(&s, "tests/data/tiny.yaml"); /* D: dense, leaky_relu ...; G: dense, relu */
    run_iters(&s, 2);
    gan_stats st;
    ck_assert(trainer_read_stats(&s.t, &st) == CLGAN_OK && !st.nonfinite);
    float nan = NAN;
    /* one weight of G's first layer, whose unit a ReLU follows */
    ck_assert(device_write(dev, s.t.g->params, 5 * sizeof(float), sizeof nan, &nan, 1) ==
              CLGAN_OK);
    int finite = 1;
    ck_assert(trainer_finite(&s.t, &finite) == CLGAN_OK);
    ck_assert_msg(!finite, "a NaN in the generator's weights is not seen");
    run_iters(&s, 1);
    ck_assert(trainer_read_stats(&s.t, &st) == CLGAN_OK);
    ck_assert(st.nonfinite);
    char where[512];
    ck_assert(trainer_locate_nonfinite(&s.t, where, sizeof where) == CLGAN_OK);
    ck_assert_msg(strstr(where, "generator.0.weight (dense)") != NULL, "%s", where);
    close_session(&s);
    /* the same NaN placed in the discriminator's last weight is named there, not in G */
    open_session(&s, "tests/data/tiny.yaml");
    run_iters(&s, 1);
    const layer *l = &s.t.d->layers[2];
    ck_assert(device_write(dev, s.t.d->params, l->param_off[0] * sizeof(float), sizeof nan, &nan,
                           1) == CLGAN_OK);
    ck_assert(trainer_read_stats(&s.t, &st) == CLGAN_OK && st.nonfinite);
    ck_assert(trainer_locate_nonfinite(&s.t, where, sizeof where) == CLGAN_OK);
    ck_assert_msg(strstr(where, "discriminator.2.weight (dense)") == where, "%s", where);
    close_session(&s);
}
END_TEST

/* a classifier: labels shuffled with the images, dropout, batch norm, across an epoch */
START_TEST(exact_resume_classifier) { check_resume("tests/data/tiny_classifier.yaml", 9); }
END_TEST

/* The classifier learns: its loss falls, and it classifies held-out digits well above chance. */
START_TEST(classifier_learns) {
    session s;
    open_session(&s, "tests/data/tiny_classifier.yaml");
    gan_stats first, last;
    run_iters(&s, 4);
    ck_assert(trainer_read_stats(&s.t, &first) == CLGAN_OK);
    ck_assert_int_eq(first.c_steps, 4);
    run_iters(&s, 76);
    ck_assert(trainer_read_stats(&s.t, &last) == CLGAN_OK);
    ck_assert_msg(last.c_loss < 0.6 * first.c_loss, "loss %g then %g", first.c_loss, last.c_loss);
    ck_assert(!last.nonfinite && last.c_acc > first.c_acc);
    float *x;
    uint8_t *y;
    long n;
    clgan_err e;
    const data_spec *d = &s.m->data;
    ck_assert_msg(data_load_split(d, data_test_path(d), data_test_labels(d), d->test[0],
                                  d->test[1], s.m->classes, &x, &y, &n, &e) == CLGAN_OK, "%s",
                  e.msg);
    ck_assert_int_eq(n, 500);
    double acc;
    ck_assert(classifier_accuracy(trainer_net(&s.t, CLGAN_CLASSIFIER), x, y, n, &acc) == CLGAN_OK);
    ck_assert_msg(acc > 0.7, "accuracy on held-out digits %.3f", acc);
    free(x);
    free(y);
    close_session(&s);
}
END_TEST
/* batch norm: running statistics in the checkpoint, no optimizer state for them */
START_TEST(exact_resume_batch_norm) { check_resume("tests/data/tiny_bn.yaml", 6); }
END_TEST

/* 30 layers per network with Adam: all 354 tensors are written, and a resume is bit-exact. */
START_TEST(exact_resume_deep_adam) {
    check_resume("tests/data/deep30.yaml", 6);
    session s;
    open_session(&s, "tests/data/deep30.yaml");
    ck_assert_int_eq(s.m->net[0].n_layers, 30);
    ck_assert_int_eq(s.m->net[1].n_layers, 30);
    const char *ck = tmp("deep.safetensors");
    clgan_err e;
    ck_assert_msg(checkpoint_save(&s.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    ckpt c;
    ck_assert_msg(ckpt_open(ck, &c, &e) == CLGAN_OK, "%s", e.msg);
    int tensors = 0;
    for (cJSON *it = ((cJSON *)c.header)->child; it; it = it->next)
        tensors += strcmp(it->string, "__metadata__") != 0;
    ck_assert_int_eq(tensors, (30 + 29) * 2 * 3);
    const float *v;
    ck_assert(ckpt_tensor(&c, "optimizer.discriminator.28.weight.exp_avg_sq", 6, &v, &e) ==
              CLGAN_OK);
    ckpt_close(&c);
    /* the trainer tuned every GEMM shape of the 59 layers (it once stopped at 48 + 24 + 24) */
    if (!getenv("CLGAN_GEMM") && dev->cache_dir[0]) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "cat '%s'/gemm3-*.txt", dev->cache_dir);
        FILE *p = popen(cmd, "r");
        ck_assert(p != NULL);
        static char table[1 << 20];
        size_t len = fread(table, 1, sizeof table - 1, p);
        table[len] = '\0';
        pclose(p);
        const int rows[3] = {8, 16, 8}, din[3] = {0, 0, 1}, dw[3] = {1, 1, 0};
        int total = 0;
        for (int pass = 0; pass < 3; pass++) {
            const net_spec *ns = &s.m->net[pass == 0 ? 0 : 1];
            int n = net_gemm_shapes(dev, ns, rows[pass], 1, din[pass], dw[pass], NULL, 0);
            gemm_shape *sh = calloc((size_t)n, sizeof *sh);
            net_gemm_shapes(dev, ns, rows[pass], 1, din[pass], dw[pass], sh, n);
            for (int i = 0; i < n; i++) {
                char line[96];
                snprintf(line, sizeof line, "\n%d %d %zu %zu %zu ", sh[i].ta, sh[i].tb, sh[i].m,
                         sh[i].n, sh[i].k);
                ck_assert_msg(strstr(table, line + 1) == table || strstr(table, line),
                              "GEMM %s not tuned", line + 1);
            }
            total += n;
            free(sh);
        }
        ck_assert_int_gt(total, 96);
    }
    close_session(&s);
}
END_TEST

START_TEST(checkpoint_round_trip) {
    session s;
    open_session(&s, "tests/data/tiny_gan.yaml");
    run_iters(&s, 3);
    const char *ck = tmp("rt.safetensors");
    clgan_err e;
    ck_assert_msg(checkpoint_save(&s.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    ckpt c;
    ck_assert_msg(ckpt_open(ck, &c, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert_str_eq(ckpt_meta(&c, "iter"), "3");
    ck_assert_uint_eq(c.n.iter, 3);
    ck_assert_str_eq(ckpt_meta(&c, "format"), CKPT_FORMAT);
    ck_assert_str_eq(ckpt_meta(&c, "model_yaml"), s.m->yaml_text);
    /* the tensors hold exactly what the device has */
    double *pg = read_params(s.t.g);
    const layer *l = &s.t.g->layers[3];
    const float *w;
    ck_assert(ckpt_tensor(&c, "generator.3.weight", 16, &w, &e) == CLGAN_OK);
    for (int i = 0; i < 16; i++) ck_assert(w[i] == (float)pg[l->param_off[0] + (size_t)i]);
    ck_assert_int_eq(ckpt_tensor(&c, "generator.3.weight", 17, &w, &e), CLGAN_ERR_DATA);
    ck_assert_int_eq(ckpt_tensor(&c, "generator.9.weight", 16, &w, &e), CLGAN_ERR_DATA);
    ck_assert_int_eq(ckpt_model(&c)->net[0].n_params, s.m->net[0].n_params);
    ckpt_close(&c);
    /* and load back into a fresh trainer */
    session s2;
    open_session(&s2, "tests/data/tiny_gan.yaml");
    ck_assert_msg(checkpoint_load(&s2.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    size_t l1, l2;
    unsigned char *b1 = state_bytes(&s.t, &l1), *b2 = state_bytes(&s2.t, &l2);
    ck_assert(l1 == l2 && memcmp(b1, b2, l1) == 0);
    ck_assert_uint_eq(s2.t.stream, s.t.stream);
    ck_assert_int_eq(s2.t.batch_in_epoch, s.t.batch_in_epoch);
    free(b1);
    free(b2);
    free(pg);
    close_session(&s2);
    /* a checkpoint of another model is refused, naming the tensor */
    session other;
    open_session(&other, "tests/data/tiny.yaml");
    ck_assert_int_eq(checkpoint_load(&other.t, ck, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "another model"), "%s", e.msg);
    close_session(&other);
    close_session(&s);
}
END_TEST

static unsigned char *slurp(const char *p, size_t *len) {
    char *d;
    ck_assert(file_read_all(p, (size_t)1 << 30, &d, len, NULL) == CLGAN_OK);
    return (unsigned char *)d;
}

static void expect_refused(const char *p, const unsigned char *b, size_t len, const char *msg) {
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    ckpt c;
    clgan_err e;
    ck_assert_int_eq(ckpt_open(p, &c, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strncmp(e.msg, p, strlen(p)) == 0 && strstr(e.msg, msg), "want '%s': %s", msg,
                  e.msg);
}

START_TEST(damaged_checkpoints_refused) {
    session s;
    open_session(&s, "tests/data/tiny_gan.yaml");
    const char *ck = tmp("good.safetensors"), *bad = tmp("bad.safetensors");
    clgan_err e;
    ck_assert(checkpoint_save(&s.t, ck, &e) == CLGAN_OK);
    close_session(&s);
    size_t len;
    unsigned char *b = slurp(ck, &len);
    expect_refused(bad, b, 5, "truncated checkpoint");
    expect_refused(bad, b, len - 4, "data_offsets are not");
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    c[6] = 0x7f; /* header length far beyond the file */
    expect_refused(bad, c, len, "header length");
    memcpy(c, b, len);
    c[8] = '['; /* JSON no longer an object */
    expect_refused(bad, c, len, "does not start with '{'");
    memcpy(c, b, len);
    char *dt = strstr((char *)c + 8, "\"F32\"");
    ck_assert(dt != NULL);
    memcpy(dt, "\"F16\"", 5);
    expect_refused(bad, c, len, "has dtype F16, expected F32");
    memcpy(c, b, len);
    char *off = strstr((char *)c + 8, "\"data_offsets\":[0,");
    ck_assert(off != NULL);
    off[16] = '8'; /* [8,...]: span no longer matches the shape */
    expect_refused(bad, c, len, "spans");
    /* two tensors over the same bytes: the second's range moved onto the first's */
    memcpy(c, b, len);
    {
        char *hdr = (char *)c + 8, *p1 = strstr(hdr, "\"data_offsets\":[");
        ck_assert(p1 != NULL);
        char *p2 = strstr(p1 + 1, "\"data_offsets\":[");
        ck_assert(p2 != NULL);
        long a1, b1, a2, b2;
        ck_assert(sscanf(p1 + 16, "%ld,%ld", &a1, &b1) == 2);
        ck_assert(sscanf(p2 + 16, "%ld,%ld", &a2, &b2) == 2);
        /* rewrite the second as [a2 - 4, b2 - 4] when it directly follows the first */
        ck_assert(a2 == b1 && a2 >= 4); /* the layout this test relies on */
        char repl[64], orig[64];
        snprintf(orig, sizeof orig, "%ld,%ld]", a2, b2);
        snprintf(repl, sizeof repl, "%ld,%ld]", a2 - 4, b2 - 4);
        ck_assert_uint_eq(strlen(repl), strlen(orig));
        memcpy(p2 + 16, repl, strlen(repl));
        expect_refused(bad, c, len, "overlap");
    }
    free(c);
    free(b);
    /* a shape of 1e300, found by fuzzing: once undefined behaviour converting it to long */
    ckpt k;
    ck_assert_int_eq(ckpt_open(src_path("tests/fuzz/corpus_ckpt/regression-huge-shape.safetensors"),
                               &k, &e),
                     CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "malformed shape"), "%s", e.msg);
}
END_TEST

START_TEST(fewer_samples_than_a_batch) {
    clgan_model *m = load("tests/data/tiny_gan.yaml");
    m->data.count = 5; /* batch 8 */
    dataset d;
    clgan_err e;
    ck_assert_int_eq(dataset_load(m, 1, &d, &e), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(e.msg, "5 samples, fewer than one batch of 8"), "%s", e.msg);
    clgan_model_free(m);
}
END_TEST

/* A minibatch gathered on the device is the host's rows in the epoch's order, at any width. */
START_TEST(gather_matches_host_order) {
    static const int widths[] = {2, 16, 37};
    for (size_t w = 0; w < ARRAY_LEN(widths); w++) {
        clgan_model *m = load("tests/data/tiny_gan.yaml");
        m->data.shape = (shape3){widths[w], 1, 1, 0};
        dataset d;
        clgan_err e;
        ck_assert_msg(dataset_random(m, 50, 9, &d, &e) == CLGAN_OK, "%s", e.msg);
        ck_assert(dataset_upload(&d, dev) == CLGAN_OK);
        ck_assert(dataset_begin_epoch(&d, 3) == CLGAN_OK);
        uint32_t perm[50];
        dataset_shuffle(&d, 3, perm);
        const int first = 11, rows = 7;
        const size_t off = 5, cols = d.cols, n = off + (size_t)(rows + 1) * cols;
        cl_mem acts;
        ck_assert(device_alloc(dev, n * sizeof(float), "test", &acts) == CLGAN_OK);
        ck_assert(device_fill(dev, acts, 0, n * sizeof(float)) == CLGAN_OK);
        ck_assert(dataset_gather(&d, first, rows, acts, off) == CLGAN_OK);
        float *got = malloc(n * sizeof(float));
        ck_assert(device_read(dev, acts, 0, n * sizeof(float), got) == CLGAN_OK);
        for (size_t i = 0; i < off; i++) ck_assert(got[i] == 0.0f);
        for (int r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++)
                ck_assert_msg(got[off + (size_t)r * cols + c] ==
                                  d.host[(size_t)perm[first + r] * cols + c],
                              "width %zu, row %d, column %zu", cols, r, c);
        for (size_t i = off + (size_t)rows * cols; i < n; i++) ck_assert(got[i] == 0.0f);
        free(got);
        device_release(dev, acts);
        dataset_free(&d);
        clgan_model_free(m);
    }
}
END_TEST

/* Synthetic mixtures label each sample with its mode: ring_2d's samples lie at their label's
 * angle, mixture_1d's near their component's mean. */
START_TEST(synthetic_labels_are_modes) {
    clgan_model *m = load("models/ring2d.yaml");
    dataset d;
    clgan_err e;
    ck_assert_msg(dataset_load(m, 3, &d, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert_ptr_nonnull(d.labels_host);
    int seen[8] = {0};
    for (long i = 0; i < d.n; i++) {
        int k = d.labels_host[i];
        ck_assert(k >= 0 && k < 8);
        seen[k] = 1;
        double a = 2 * CLGAN_PI * k / 8;
        double dx = d.host[2 * i] - 2 * cos(a), dy = d.host[2 * i + 1] - 2 * sin(a);
        ck_assert_msg(hypot(dx, dy) < 0.2, "sample %ld labelled %d lies %g away", i, k,
                      hypot(dx, dy));
    }
    for (int k = 0; k < 8; k++) ck_assert(seen[k]);
    dataset_free(&d);
    clgan_model_free(m);
}
END_TEST

/* Stacked MNIST: the device composes each sample's channels from its drawn digits as the host
 * does, the draws cover the digits, and the labels come with the digits. */
START_TEST(stacked_gather_matches_host) {
    clgan_model *m = load("models/dcgan_stacked_mnist.yaml");
    m->data.count = 300;
    dataset d;
    clgan_err e;
    ck_assert_msg(dataset_load(m, 5, &d, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert_int_eq(d.stack, 3);
    ck_assert_int_eq(d.n_base, 8000);
    ck_assert_ptr_nonnull(d.labels_host);
    ck_assert(d.cols == 3 * 784);
    long lo = 8000, hi = -1;
    for (long i = 0; i < 300 * 3; i++) {
        lo = d.tri[i] < lo ? (long)d.tri[i] : lo;
        hi = (long)d.tri[i] > hi ? (long)d.tri[i] : hi;
    }
    ck_assert(lo >= 0 && lo < 100 && hi < 8000 && hi > 7900); /* uniform over the 8,000 */
    ck_assert(dataset_upload(&d, dev) == CLGAN_OK);
    ck_assert(dataset_begin_epoch(&d, 2) == CLGAN_OK);
    uint32_t perm[300];
    dataset_shuffle(&d, 2, perm);
    const int first = 17, rows = 5;
    const size_t n = (size_t)rows * d.cols;
    cl_mem acts;
    ck_assert(device_alloc(dev, n * sizeof(float), "test", &acts) == CLGAN_OK);
    ck_assert(dataset_gather(&d, first, rows, acts, 0) == CLGAN_OK);
    float *got = malloc(n * sizeof(float)), *want = malloc(d.cols * sizeof(float));
    ck_assert(device_read(dev, acts, 0, n * sizeof(float), got) == CLGAN_OK);
    for (int r = 0; r < rows; r++) {
        dataset_sample(&d, perm[first + r], want);
        ck_assert_msg(memcmp(got + (size_t)r * d.cols, want, d.cols * sizeof(float)) == 0,
                      "row %d", r);
    }
    /* channel 1 of a sample is its second digit, in [-1, 1] */
    const float *x = got + d.cols + 784;
    uint32_t img = d.tri[(size_t)perm[first + 1] * 3 + 1];
    float *ref = NULL;
    idx_header h;
    ck_assert(idx_load(m->data.path, img, img + 1, &h, &ref, &e) == CLGAN_OK);
    for (int p = 0; p < 784; p++) ck_assert(fabsf(x[p] - (2 * ref[p] - 1)) < 1e-6f);
    free(ref);
    free(got);
    free(want);
    device_release(dev, acts);
    dataset_free(&d);
    clgan_model_free(m);
}
END_TEST

START_TEST(interrupted_write_keeps_good_checkpoint) {
    session s;
    open_session(&s, "tests/data/tiny_gan.yaml");
    run_iters(&s, 2);
    const char *ck = tmp("keep.safetensors");
    char tmpname[300];
    snprintf(tmpname, sizeof tmpname, "%s.tmp", ck);
    clgan_err e;
    ck_assert(checkpoint_save(&s.t, ck, &e) == CLGAN_OK);
    size_t l0, l1;
    unsigned char *before = slurp(ck, &l0);
    /* a crashed earlier write left a half-written temp file: the next save replaces it */
    FILE *f = fopen(tmpname, "wb");
    fputs("half a checkpoint", f);
    fclose(f);
    ck_assert_msg(checkpoint_save(&s.t, ck, &e) == CLGAN_OK, "%s", e.msg);
    ck_assert(access(tmpname, F_OK) != 0);
    /* a write that cannot finish (its temp path is unusable) leaves the good file alone */
    run_iters(&s, 1);
    ck_assert(mkdir(tmpname, 0700) == 0);
    ck_assert_int_eq(checkpoint_save(&s.t, ck, &e), CLGAN_ERR_IO);
    rmdir(tmpname);
    unsigned char *after = slurp(ck, &l1);
    ck_assert(l0 == l1 && memcmp(before, after, l0) == 0);
    ckpt c;
    ck_assert(ckpt_open(ck, &c, &e) == CLGAN_OK);
    ck_assert_str_eq(ckpt_meta(&c, "iter"), "2");
    ckpt_close(&c);
    free(before);
    free(after);
    close_session(&s);
}
END_TEST



/* The public trainer (clgan.h): runs in parts to its length, reports each log interval, saves
 * what a resume continues exactly, and refuses bad parameters with the parameter's name. */
static int logs_seen;
static void count_logs(const clgan_train_progress *p, void *user) {
    (void)user;
    if (p->event == CLGAN_EVENT_LOG) logs_seen++;
}

START_TEST(public_trainer) {
    clgan_model *m;
    ck_assert_msg(clgan_model_load(src_path("tests/data/tiny.yaml"), &m) == CLGAN_OK, "%s",
                  clgan_model_errmsg(m));
    clgan_train_params p = clgan_train_default_params();
    p.iters = 6;
    p.progress = count_logs;
    clgan_trainer *t;
    ck_assert_msg(clgan_trainer_open(m, &dev, 1, &p, &t) == CLGAN_OK, "%s",
                  clgan_trainer_errmsg(t));
    clgan_train_info in;
    clgan_trainer_info(t, &in);
    ck_assert_int_eq(in.total, 6);
    ck_assert_ptr_null(in.run_dir); /* nothing written without a run directory */
    ck_assert_int_eq(clgan_trainer_run(t, 2), CLGAN_OK);
    clgan_trainer_info(t, &in);
    ck_assert_int_eq(in.iter, 2);
    ck_assert_int_eq(clgan_trainer_run(t, 0), CLGAN_OK);
    clgan_train_progress last;
    clgan_trainer_stats(t, &last);
    ck_assert_int_eq(last.iter, 6);
    ck_assert(isfinite(last.d_loss) && isfinite(last.g_loss));
    ck_assert_int_gt(logs_seen, 0);
    ck_assert_int_eq(clgan_trainer_run(t, 0), CLGAN_OK); /* at its length: nothing more */
    clgan_trainer_info(t, &in);
    ck_assert_int_eq(in.iter, 6);
    const char *whole = tmp("public_whole.safetensors");
    ck_assert_msg(clgan_trainer_save(t, whole) == CLGAN_OK, "%s", clgan_trainer_errmsg(t));
    clgan_trainer_free(t);
    /* 4 iterations, saved, resumed to 6: the same tensors as 6 at once (checkpoint_round_trip
     * and the exact_resume cases compare the state; here the public calls carry it) */
    p.iters = 4;
    ck_assert_int_eq(clgan_trainer_open(m, &dev, 1, &p, &t), CLGAN_OK);
    ck_assert_int_eq(clgan_trainer_run(t, 0), CLGAN_OK);
    const char *part = tmp("public_part.safetensors");
    ck_assert_int_eq(clgan_trainer_save(t, part), CLGAN_OK);
    clgan_trainer_free(t);
    p.iters = 6;
    p.resume = part;
    ck_assert_msg(clgan_trainer_open(m, &dev, 1, &p, &t) == CLGAN_OK, "%s",
                  clgan_trainer_errmsg(t));
    ck_assert_int_eq(clgan_trainer_run(t, 0), CLGAN_OK);
    const char *resumed = tmp("public_resumed.safetensors");
    ck_assert_int_eq(clgan_trainer_save(t, resumed), CLGAN_OK);
    clgan_trainer_free(t);
    clgan_generator *ga, *gb;
    ck_assert_int_eq(clgan_generator_open(whole, dev, &ga), CLGAN_OK);
    ck_assert_int_eq(clgan_generator_open(resumed, dev, &gb), CLGAN_OK);
    int c, h, w;
    clgan_generator_sample_shape(ga, &c, &h, &w);
    size_t n = 16 * (size_t)(c * h * w);
    float *xa = malloc(n * sizeof *xa), *xb = malloc(n * sizeof *xb);
    ck_assert_int_eq(clgan_generator_sample(ga, 16, NULL, xa), CLGAN_OK);
    ck_assert_int_eq(clgan_generator_sample(gb, 16, NULL, xb), CLGAN_OK);
    ck_assert_msg(memcmp(xa, xb, n * sizeof *xa) == 0, "4 + a resume to 6 differs from 6");
    free(xa);
    free(xb);
    clgan_generator_free(ga);
    clgan_generator_free(gb);
    /* refusals name the parameter */
    p.has_seed = 1;
    p.seed = 12345;
    ck_assert_int_eq(clgan_trainer_open(m, &dev, 1, &p, &t), CLGAN_ERR_ARG);
    ck_assert_msg(strncmp(clgan_trainer_errmsg(t), "seed: ", 6) == 0, "%s",
                  clgan_trainer_errmsg(t));
    clgan_trainer_free(t);
    p = clgan_train_default_params();
    p.on_nan = CLGAN_ON_NAN_ROLLBACK;
    ck_assert_int_eq(clgan_trainer_open(m, &dev, 1, &p, &t), CLGAN_ERR_ARG);
    ck_assert_msg(strncmp(clgan_trainer_errmsg(t), "on_nan: ", 8) == 0, "%s",
                  clgan_trainer_errmsg(t));
    clgan_trainer_free(t);
    p = clgan_train_default_params();
    p.resume = tmp("none.safetensors");
    ck_assert_int_ne(clgan_trainer_open(m, &dev, 1, &p, &t), CLGAN_OK);
    ck_assert_msg(strncmp(clgan_trainer_errmsg(t), "resume: ", 8) == 0, "%s",
                  clgan_trainer_errmsg(t));
    clgan_trainer_free(t);
    ck_assert_int_eq(clgan_trainer_open(m, &dev, 0, NULL, &t), CLGAN_ERR_ARG);
    clgan_trainer_free(t);
    /* refused before anything else: the caller's paths stay the caller's (freed copies only) */
    char path[64];
    snprintf(path, sizeof path, "%s", tmp("none.safetensors"));
    p.resume = path;
    p.run_dir = path;
    ck_assert_int_eq(clgan_trainer_open(m, &dev, 0, &p, &t), CLGAN_ERR_ARG);
    clgan_trainer_free(t);
    ck_assert_str_eq(path, tmp("none.safetensors"));
    clgan_model_free(m);
}
END_TEST
int main(int argc, char **argv) {
    Suite *s = suite_create("gan");
    TCase *data = tcase_create("data");
    tcase_add_test(data, idx_round_trip);
    tcase_add_test(data, idx_rejects_bad_files);
    tcase_add_test(data, idx_labels);
    tcase_add_test(data, fewer_samples_than_a_batch);
    suite_add_tcase(s, data);
    TCase *opt = tcase_create("optim");
    tcase_add_unchecked_fixture(opt, setup, teardown);
    tcase_add_test(opt, sgd_momentum_step);
    tcase_add_test(opt, adam_step);
    tcase_add_test(opt, rmsprop_step);
    tcase_add_test(opt, max_col_norm_step);
    tcase_add_test(opt, linear_schedule);
    tcase_add_test(opt, gather_matches_host_order);
    tcase_add_test(opt, stacked_gather_matches_host);
    tcase_add_test(opt, synthetic_labels_are_modes);
    suite_add_tcase(s, opt);
    TCase *alg = tcase_create("algorithm1");
    tcase_add_unchecked_fixture(alg, setup, teardown);
    tcase_add_test(alg, algorithm1_k1_non_saturating);
    tcase_add_test(alg, algorithm1_batch_norm);
    tcase_add_test(alg, algorithm1_k2_non_saturating);
    tcase_add_test(alg, algorithm1_k1_minimax);
    tcase_add_test(alg, algorithm1_k2_minimax_across_epochs);
    suite_add_tcase(s, alg);
    TCase *ck = tcase_create("checkpoint");
    tcase_add_unchecked_fixture(ck, setup, teardown);
    tcase_add_test(ck, exact_resume_sgd_dropout);
    tcase_add_test(ck, exact_resume_adam);
    tcase_add_test(ck, exact_resume_classifier);
    tcase_add_test(ck, ema_of_the_generator);
    tcase_add_test(ck, exact_resume_ema);
    tcase_add_test(ck, exact_resume_spectral_norm);
    tcase_add_test(ck, exact_resume_graph);
    tcase_add_test(ck, exact_resume_penalties);
    tcase_add_test(ck, exact_resume_augment);
    tcase_add_test(ck, penalties_apply_and_count);
    tcase_add_test(ck, lazy_penalty_weighs_every);
    tcase_add_test(ck, exact_resume_conditional);
    tcase_add_test(ck, packed_discriminator);
    tcase_add_test(ck, exact_resume_wasserstein);
    tcase_add_test(ck, exact_resume_relativistic);
    tcase_add_test(ck, wasserstein_clips_the_critic);
    tcase_add_test(ck, classifier_learns);
    tcase_add_test(ck, exact_resume_batch_norm);
    tcase_add_test(ck, exact_resume_lr_scale);
    tcase_add_test(ck, final_sigmoid_behind_shape_layers);
    tcase_add_test(ck, nan_behind_relu_is_caught);
    tcase_add_test(ck, exact_resume_deep_adam);
    tcase_add_test(ck, checkpoint_round_trip);
    tcase_add_test(ck, damaged_checkpoints_refused);
    tcase_add_test(ck, interrupted_write_keeps_good_checkpoint);
    tcase_add_test(ck, public_trainer);
    suite_add_tcase(s, ck);
    TCase *dp = tcase_create("replicas");
    tcase_add_unchecked_fixture(dp, setup, teardown);
    tcase_add_test(dp, replicas_sgd_dropout);
    tcase_add_test(dp, replicas_adam_four);
    tcase_add_test(dp, replicas_conditional_wasserstein);
    tcase_add_test(dp, replicas_relativistic);
    tcase_add_test(dp, replicas_batch_norm);
    tcase_add_test(dp, replicas_penalties);
    tcase_add_test(dp, replicas_augment);
    tcase_add_test(dp, adaptive_augment);
    tcase_add_test(dp, replicas_refuse_uneven_batch);
    suite_add_tcase(s, dp);
    return run_suite(s, argc, argv, 0);
}
