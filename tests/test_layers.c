/*
 * test_layers.c - every layer on the device against a naive host reference in double:
 * forward values, and backward gradients (input and parameters) against central finite
 * differences of the host forward pass; the BCE-from-logits loss and its gradient likewise.
 *
 * Scalar loss for a network: L = sum_{b,j} r[b][j] * y[b][j] with fixed random r, so dL/dy = r.
 */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "layer_conv2d.h"
#include "loss.h"
#include "penalty.h"
#include "augment.h"
#include "rng.h"
#include "host_ref.h"
#include "testutil.h"

/* float32 device result vs double host reference */
#define FWD_RTOL 1e-5
#define FWD_ATOL 1e-5
/* device gradient vs central difference (step FD_STEP) of the double host forward */
#define BWD_RTOL 1e-3
#define BWD_ATOL 1e-4
#define FD_STEP 1e-6

static clgan_device *dev;
/* Row groups with statistics of their own (batch norm) in the networks under test. */
static int groups_under_test = 1;

/* The host forward pass in the groups under test, running statistics left alone. */
static double *host_fwd(const net *n, const double *p, const double *x, int batch, int train,
                        int upto) {
    return host_forward_u(n, (double *)p, x, batch, train, upto, NULL, groups_under_test, 0);
}

/* ---- building test networks ---------------------------------------------------------------- */

typedef struct fixture {
    clgan_model *m;
    net *n;
    int batch;
    double *x, *p, *r;
    float *xf, *pf;
    unsigned char *labels; /* each row's, in a conditional network */
} fixture;

/* Inputs away from the kinks of relu (|x| >= 0.05), parameters and dL/dy for f->m's generator
 * (inferred), compiled on dev for `batch` rows. */
static void fixture_fill(fixture *f, int batch, unsigned seed) {
    shape3 in = f->m->net[CLGAN_GENERATOR].in;
    long in_cols = shape_size(in);
    ck_assert_msg(net_create(dev, f->m, CLGAN_GENERATOR, batch, 7, &f->n) == CLGAN_OK, "%s",
                  dev->err.msg);
    f->batch = batch;
    net *n = f->n;
    size_t nx = (size_t)batch * in_cols, ny = (size_t)batch * n->out.cols;
    f->x = malloc(nx * sizeof *f->x);
    f->xf = malloc(nx * sizeof *f->xf);
    f->p = calloc(n->n_params, sizeof *f->p);
    f->pf = calloc(n->n_params, sizeof *f->pf);
    f->r = malloc(ny * sizeof *f->r);
    for (size_t i = 0; i < nx; i++) {
        double v = test_uniform(&seed, 0.05, 1.0);
        f->xf[i] = (float)(test_uniform(&seed, 0, 1) < 0.5 ? -v : v);
        f->x[i] = f->xf[i];
    }
    for (size_t i = 0; i < n->n_params; i++) {
        f->pf[i] = (float)test_uniform(&seed, -0.6, 0.6);
        if (i >= n->n_train) f->pf[i] = 0.5f + fabsf(f->pf[i]); /* running statistics: > 0 */
        f->p[i] = f->pf[i];
    }
    n->groups = groups_under_test;
    for (size_t i = 0; i < ny; i++) f->r[i] = test_uniform(&seed, -1, 1);
    if (n->labels) { /* a conditional network: every class, in a shuffled order */
        int k = f->m->condition_classes;
        f->labels = malloc((size_t)batch);
        for (int r = 0; r < batch; r++) f->labels[r] = (unsigned char)((r * 5 + 1) % k);
        ck_assert(net_set_labels(n, f->labels, batch) == CLGAN_OK);
    }
    host_labels = f->labels;
    ck_assert(device_write(dev, n->acts, 0, nx * sizeof(float), f->xf, 1) == CLGAN_OK);
    ck_assert(device_write(dev, n->params, 0, n->n_params * sizeof(float), f->pf, 1) == CLGAN_OK);
}

/* A one-network model of the layers given, one per YAML string. */
static void fixture_make_in(fixture *f, const char *const *layers, int n_layers, shape3 in,
                            int batch, unsigned seed) {
    memset(f, 0, sizeof *f);
    f->m = calloc(1, sizeof *f->m);
    net_spec *ns = &f->m->net[CLGAN_GENERATOR];
    ns->layers = calloc((size_t)n_layers, sizeof *ns->layers);
    for (int i = 0; i < n_layers; i++) {
        clgan_err e;
        ck_assert_msg(model_parse_layer(layers[i], &ns->layers[i], &e) == CLGAN_OK, "%s", e.msg);
    }
    ns->n_layers = n_layers;
    ns->in = in;
    ck_assert_msg(net_infer(f->m, ns, "test") == CLGAN_OK, "%s", f->m->err.msg);
    fixture_fill(f, batch, seed);
}

/* The generator of a model file's text (a graph), its data of shape `data`. */
static void fixture_make_yaml(fixture *f, const char *yaml, shape3 data, int batch,
                              unsigned seed) {
    memset(f, 0, sizeof *f);
    clgan_status st = model_load_text("graph.yaml", yaml, strlen(yaml), &data, &f->m);
    ck_assert_msg(st == CLGAN_OK, "%s", clgan_model_errmsg(f->m));
    fixture_fill(f, batch, seed);
}

static void fixture_make(fixture *f, const char *const *layers, int n_layers, int in_cols,
                         int batch, unsigned seed) {
    fixture_make_in(f, layers, n_layers, (shape3){in_cols, 1, 1, 0}, batch, seed);
}

static void fixture_free(fixture *f) {
    net_free(f->n);
    clgan_model_free(f->m);
    free(f->x);
    free(f->xf);
    free(f->p);
    free(f->pf);
    free(f->r);
    free(f->labels);
    host_labels = NULL;
}

static float *read_tensor(tensor t, size_t rows) {
    float *v = malloc(rows * t.cols * sizeof *v);
    ck_assert(device_read(dev, t.buf, t.off * sizeof(float), rows * t.cols * sizeof(float), v) ==
              CLGAN_OK);
    return v;
}

/* Forward on the device vs the host, in training (dropout on) or evaluation mode. */
static void check_forward_f(fixture *f, const char *what, int train) {
    int batch = f->batch;
    ck_assert_msg(net_forward(f->n, batch, train) == CLGAN_OK, "%s", dev->err.msg);
    float *y = read_tensor(f->n->out, (size_t)batch);
    double *want = host_fwd(f->n, f->p, f->x, batch, train, f->n->n_layers);
    assert_close(what, y, want, (size_t)batch * f->n->out.cols, FWD_RTOL, FWD_ATOL);
    free(y);
    free(want);
    fixture_free(f);
}

static void check_forward_in(const char *const *layers, int n_layers, shape3 in, int batch,
                             int train) {
    fixture f;
    fixture_make_in(&f, layers, n_layers, in, batch, 11u + (unsigned)n_layers);
    check_forward_f(&f, layers[n_layers - 1], train);
}

static void check_forward(const char *const *layers, int n_layers, int in_cols, int batch,
                          int train) {
    check_forward_in(layers, n_layers, (shape3){in_cols, 1, 1, 0}, batch, train);
}

/* Backward on the device vs central differences of L = r . y(x, params) on the host. */
static void check_backward_f(fixture *fx) {
    fixture f = *fx;
    int batch = f.batch;
    net *n = f.n;
    shape3 in = f.m->net[CLGAN_GENERATOR].in;
    ck_assert(net_forward(n, batch, 1) == CLGAN_OK);
    size_t ny = (size_t)batch * n->out.cols, nx = (size_t)batch * (size_t)shape_size(in);
    float *rf = malloc(ny * sizeof *rf);
    for (size_t i = 0; i < ny; i++) rf[i] = (float)f.r[i];
    ck_assert(device_write(dev, n->deltas, n->dout.off * sizeof(float), ny * sizeof(float), rf, 1) ==
              CLGAN_OK);
    ck_assert_msg(net_backward(n, n->n_layers - 1, batch, 1, 1) == CLGAN_OK, "%s", dev->err.msg);
    float *dx = read_tensor(n->din, (size_t)batch);
    float *dp = malloc(n->n_params * sizeof *dp);
    ck_assert(device_read(dev, n->grads, 0, n->n_params * sizeof(float), dp) == CLGAN_OK);

    double *fd_x = malloc(nx * sizeof *fd_x), *fd_p = calloc(n->n_params, sizeof *fd_p);
    for (size_t i = 0; i < nx; i++) {
        double keep = f.x[i], lp, lm, *y;
        f.x[i] = keep + FD_STEP;
        y = host_fwd(n, f.p, f.x, batch, 1, n->n_layers);
        lp = dot(y, f.r, ny);
        free(y);
        f.x[i] = keep - FD_STEP;
        y = host_fwd(n, f.p, f.x, batch, 1, n->n_layers);
        lm = dot(y, f.r, ny);
        free(y);
        f.x[i] = keep;
        fd_x[i] = (lp - lm) / (2 * FD_STEP);
    }
    for (int li = 0; li < n->n_layers; li++) {
        const layer *l = &n->layers[li];
        for (int part = 0; part < l->n_params; part++)
            for (size_t j = l->param_off[part]; j < l->param_off[part] + (size_t)l->params[part].count;
                 j++) {
                double keep = f.p[j], lp, lm, *y;
                f.p[j] = keep + FD_STEP;
                y = host_fwd(n, f.p, f.x, batch, 1, n->n_layers);
                lp = dot(y, f.r, ny);
                free(y);
                f.p[j] = keep - FD_STEP;
                y = host_fwd(n, f.p, f.x, batch, 1, n->n_layers);
                lm = dot(y, f.r, ny);
                free(y);
                f.p[j] = keep;
                fd_p[j] = (lp - lm) / (2 * FD_STEP);
            }
    }
    assert_close("dL/dx", dx, fd_x, nx, BWD_RTOL, BWD_ATOL);
    assert_close("dL/dparams", dp, fd_p, n->n_params, BWD_RTOL, BWD_ATOL);
    /* The test must be able to tell a zero gradient from a real one. */
    double mag = 0;
    for (size_t i = 0; i < nx; i++) mag += fabs(fd_x[i]);
    ck_assert_msg(mag > 1e-3, "degenerate test: input gradient is ~0");
    free(rf);
    free(dx);
    free(dp);
    free(fd_x);
    free(fd_p);
    fixture_free(&f);
}

static void check_backward_in(const char *const *layers, int n_layers, shape3 in, int batch) {
    fixture f;
    fixture_make_in(&f, layers, n_layers, in, batch, 101u + (unsigned)n_layers);
    check_backward_f(&f);
}

static void check_backward(const char *const *layers, int n_layers, int in_cols, int batch) {
    check_backward_in(layers, n_layers, (shape3){in_cols, 1, 1, 0}, batch);
}

/* ---- the cases ------------------------------------------------------------------------------ */

/* One layer, written as in a model file. */
static const char *const *one(const char *yaml) {
    static const char *layer;
    layer = yaml;
    return &layer;
}

START_TEST(fwd_dense) { check_forward(one("{type: dense, units: 7}"), 1, 5, 3, 1); }
END_TEST
START_TEST(fwd_maxout) { check_forward(one("{type: maxout, units: 4, pieces: 3}"), 1, 6, 3, 1); }
END_TEST
START_TEST(fwd_relu) { check_forward(one("relu"), 1, 11, 3, 1); }
END_TEST
START_TEST(fwd_leaky_relu) { check_forward(one("{type: leaky_relu, slope: 0.2}"), 1, 11, 3, 1); }
END_TEST
START_TEST(fwd_tanh) { check_forward(one("tanh"), 1, 11, 3, 1); }
END_TEST
START_TEST(fwd_sigmoid) { check_forward(one("sigmoid"), 1, 11, 3, 1); }
END_TEST
START_TEST(fwd_dropout_train) { check_forward(one("{type: dropout, keep: 0.6}"), 1, 40, 2, 1); }
END_TEST
START_TEST(fwd_dropout_eval) { check_forward(one("{type: dropout, keep: 0.6}"), 1, 40, 2, 0); }
END_TEST

static const char *const stack[] = {
    "{type: dropout, keep: 0.8}", "{type: dense, units: 6}", "leaky_relu",
    "{type: maxout, units: 5, pieces: 2}", "tanh", "{type: dropout, keep: 0.7}",
    "{type: dense, units: 4}", "relu", "{type: dense, units: 1}", "sigmoid",
};
START_TEST(fwd_stack) { check_forward(stack, (int)ARRAY_LEN(stack), 4, 5, 1); }
END_TEST

/* Rows beyond `batch` (capacity 8, batch 3) are neither read nor written. */
START_TEST(fwd_partial_batch) {
    fixture f;
    fixture_make(&f, one("{type: dense, units: 3}"), 1, 4, 8, 5);
    ck_assert(device_fill(dev, f.n->acts, f.n->out.off * sizeof(float), 8 * 3 * sizeof(float)) ==
              CLGAN_OK);
    ck_assert(net_forward(f.n, 3, 1) == CLGAN_OK);
    float *y = read_tensor(f.n->out, 8);
    double *want = host_forward(f.n, f.p, f.x, 3, 1, 1);
    assert_close("dense rows 0-2", y, want, 9, FWD_RTOL, FWD_ATOL);
    for (int i = 9; i < 24; i++) ck_assert(y[i] == 0.0f);
    free(y);
    free(want);
    fixture_free(&f);
}
END_TEST

START_TEST(bwd_dense) { check_backward(one("{type: dense, units: 7}"), 1, 5, 3); }
END_TEST
START_TEST(bwd_maxout) { check_backward(one("{type: maxout, units: 4, pieces: 3}"), 1, 6, 3); }
END_TEST
START_TEST(bwd_relu) { check_backward(one("relu"), 1, 11, 3); }
END_TEST
START_TEST(bwd_leaky_relu) { check_backward(one("{type: leaky_relu, slope: 0.2}"), 1, 11, 3); }
END_TEST
START_TEST(bwd_tanh) { check_backward(one("tanh"), 1, 11, 3); }
END_TEST
START_TEST(bwd_sigmoid) { check_backward(one("sigmoid"), 1, 11, 3); }
END_TEST
START_TEST(bwd_dropout) { check_backward(one("{type: dropout, keep: 0.6}"), 1, 40, 2); }
END_TEST
START_TEST(bwd_stack) { check_backward(stack, (int)ARRAY_LEN(stack), 4, 5); }
END_TEST

/* Convolutions: stride, padding (explicit, asymmetric `same`), non-square kernels, dilation, no
 * bias, odd sizes, batches of 1 and 3; forward against the host, backward against differences. */
static const struct conv_case {
    const char *layer;
    shape3 in;
    int batch;
} conv_cases[] = {
    {"{type: conv2d, filters: 3, kernel: 3, padding: 1}", {2, 5, 5, 1}, 3},
    {"{type: conv2d, filters: 4, kernel: [3, 2], stride: 2, padding: 1}", {2, 7, 6, 1}, 1},
    {"{type: conv2d, filters: 2, kernel: 2, dilation: 2, bias: false}", {1, 6, 5, 1}, 3},
    {"{type: conv2d, filters: 3, kernel: 3, stride: 2, padding: same}", {2, 5, 8, 1}, 3},
    {"{type: conv2d, filters: 5, kernel: 4, stride: 2, padding: [1, 2]}", {3, 8, 7, 1}, 2},
    {"{type: conv2d, filters: 2, kernel: 1}", {3, 4, 3, 1}, 3},
    /* more than 32 output channels (forward) and input channels (input gradient): the
     * implicit GEMM's blocks of 32 channels, a whole one and a part; stride and dilation */
    {"{type: conv2d, filters: 33, kernel: 2, stride: 2, dilation: 2, padding: 1}", {3, 6, 5, 1}, 2},
    {"{type: conv2d, filters: 2, kernel: 3, stride: 2, padding: 1}", {34, 4, 5, 1}, 2},
    /* stride 1: the weight gradient without columns over blocks of 8 filters (a part one) and
     * rows of more than 16 pixels */
    {"{type: conv2d, filters: 17, kernel: 3, padding: 1}", {3, 4, 20, 1}, 2},
    /* more rows than a conv_dw work-item sums (8): partial sums of two chunks */
    {"{type: conv2d, filters: 5, kernel: 3, padding: 1}", {2, 3, 3, 1}, 10},
};

/* Every convolution test runs every route (dev->conv_path): through column matrices and the
 * GEMMs, as implicit GEMMs (conv_gemm), and each layer's own choice (CONV_AUTO); the device's
 * own is restored after each test. */
static int conv_default;

static void conv_restore(void) {
    dev->conv_path = conv_default;
}

START_TEST(fwd_conv2d) {
    const struct conv_case *c = &conv_cases[_i];
    for (dev->conv_path = 0; dev->conv_path <= CONV_AUTO; dev->conv_path++)
        check_forward_in(one(c->layer), 1, c->in, c->batch, 1);
}
END_TEST

START_TEST(bwd_conv2d) {
    const struct conv_case *c = &conv_cases[_i];
    for (dev->conv_path = 0; dev->conv_path <= CONV_AUTO; dev->conv_path++)
        check_backward_in(one(c->layer), 1, c->in, c->batch);
}
END_TEST

/* CONV_AUTO: on a CPU device, the implicit route (its kernels set up) for stride 1 with 16
 * channels or more on both sides, and only there; on other devices the columns. The passes
 * take the route whose kernels the layer holds (conv_implicit_on). */
START_TEST(conv_route_auto) {
    static const struct {
        const char *layer;
        shape3 in;
        int implicit; /* on a CPU device */
    } cases[] = {
        {"{type: conv2d, filters: 16, kernel: 3, padding: same}", {16, 5, 5, 1}, 1},
        {"{type: conv2d, filters: 16, kernel: 1}", {20, 3, 3, 1}, 1},
        {"{type: conv2d, filters: 16, kernel: 4, stride: 2, padding: 1}", {16, 6, 6, 1}, 0},
        {"{type: conv2d, filters: 15, kernel: 3, padding: same}", {16, 5, 5, 1}, 0},
        {"{type: conv2d, filters: 16, kernel: 3, padding: same}", {1, 5, 5, 1}, 0},
        {"{type: conv_transpose2d, filters: 16, kernel: 3, padding: 1}", {16, 4, 4, 1}, 1},
        {"{type: conv_transpose2d, filters: 16, kernel: 4, stride: 2, padding: 1}", {16, 3, 3, 1},
         0},
        {"{type: conv_transpose2d, filters: 1, kernel: 3, padding: 1}", {16, 4, 4, 1}, 0},
    };
    int cpu = strcmp(dev->info.type, "CPU") == 0;
    dev->conv_path = CONV_AUTO;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fixture f;
        fixture_make_in(&f, one(cases[i].layer), 1, cases[i].in, 2, 3);
        ck_assert_msg((f.n->layers[0].k[CONV_K_GEMM] != NULL) == (cpu && cases[i].implicit),
                      "%s on a %s device: the %s route", cases[i].layer, dev->info.type,
                      f.n->layers[0].k[CONV_K_GEMM] ? "implicit" : "columns");
        fixture_free(&f);
    }
}
END_TEST

static const struct conv_case convt_cases[] = {
    {"{type: conv_transpose2d, filters: 3, kernel: 4, stride: 2, padding: 1}", {2, 3, 3, 1}, 3},
    {"{type: conv_transpose2d, filters: 2, kernel: [3, 2], stride: [2, 3], output_padding: [1, 2]}",
     {3, 3, 2, 1}, 1},
    {"{type: conv_transpose2d, filters: 2, kernel: 3, dilation: 2, bias: false}", {2, 2, 3, 1}, 3},
    {"{type: conv_transpose2d, filters: 1, kernel: 3, padding: 1}", {4, 5, 4, 1}, 2},
    /* a C x 1 x 1 image (PyTorch's DCGAN: z as 100x1x1 into ConvTranspose2d(k 4)) */
    {"{type: conv_transpose2d, filters: 3, kernel: 4}", {5, 1, 1, 1}, 2},
    /* more than 32 channels on either side, stride with dilation (phases without taps) */
    {"{type: conv_transpose2d, filters: 33, kernel: 3, stride: 2, dilation: 2, padding: 1}",
     {2, 3, 3, 1}, 2},
    {"{type: conv_transpose2d, filters: 2, kernel: 4, stride: 2, padding: 1}", {34, 2, 3, 1}, 2},
    {"{type: conv_transpose2d, filters: 3, kernel: [3, 2], dilation: [1, 2], padding: 1}",
     {10, 3, 18, 1}, 2},
};

START_TEST(fwd_conv_transpose2d) {
    const struct conv_case *c = &convt_cases[_i];
    for (dev->conv_path = 0; dev->conv_path <= CONV_AUTO; dev->conv_path++)
        check_forward_in(one(c->layer), 1, c->in, c->batch, 1);
}
END_TEST

START_TEST(bwd_conv_transpose2d) {
    const struct conv_case *c = &convt_cases[_i];
    for (dev->conv_path = 0; dev->conv_path <= CONV_AUTO; dev->conv_path++)
        check_backward_in(one(c->layer), 1, c->in, c->batch);
}
END_TEST

/*
 * conv_transpose2d is the adjoint of conv2d with the same weights: for conv2d from y (F
 * channels) to x (C channels, filters C) and conv_transpose2d from x back to y's shape,
 * <conv2d(y), x> = <y, conv_transpose2d(x)>, both on the device.
 */
START_TEST(conv_transpose2d_is_adjoint) {
    const char *conv = "{type: conv2d, filters: 3, kernel: 4, stride: 2, padding: 1, bias: false}";
    const char *convt =
        "{type: conv_transpose2d, filters: 2, kernel: 4, stride: 2, padding: 1, bias: false}";
    fixture a, b;
    fixture_make_in(&a, one(conv), 1, (shape3){2, 8, 6, 0}, 2, 5);    /* y -> x: 3x4x3 */
    fixture_make_in(&b, one(convt), 1, (shape3){3, 4, 3, 0}, 2, 6);   /* x -> y: 2x8x6 */
    ck_assert_int_eq(a.n->n_params, b.n->n_params);
    ck_assert(device_write(dev, b.n->params, 0, a.n->n_params * sizeof(float), a.pf, 1) ==
              CLGAN_OK); /* the same weights [3][2][4][4] */
    ck_assert(net_forward(a.n, 2, 1) == CLGAN_OK && net_forward(b.n, 2, 1) == CLGAN_OK);
    float *cy = read_tensor(a.n->out, 2), *tx = read_tensor(b.n->out, 2);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < 2 * a.n->out.cols; i++) lhs += (double)cy[i] * b.x[i];
    for (size_t i = 0; i < 2 * b.n->out.cols; i++) rhs += (double)tx[i] * a.x[i];
    ck_assert_msg(fabs(lhs - rhs) <= 1e-4 * fabs(lhs) && fabs(lhs) > 1e-3, "%g vs %g", lhs, rhs);
    free(cy);
    free(tx);
    fixture_free(&a);
    fixture_free(&b);
}
END_TEST

/* Batch norm per channel (after a convolution) and per feature, in training (batch statistics,
 * one or two row groups) and evaluation mode (running statistics). */
static const struct conv_case bn_cases[] = {
    {"batch_norm", {3, 4, 5, 1}, 4},
    {"{type: batch_norm, eps: 0.001}", {5, 1, 1, 0}, 6},
    {"{type: batch_norm, momentum: 0.3}", {2, 3, 3, 1}, 1},
    /* rows of more than 16 values (vector blocks and a tail), more than 16 features */
    {"batch_norm", {3, 6, 6, 1}, 4},
    {"batch_norm", {37, 1, 1, 0}, 4},
};

START_TEST(fwd_batch_norm) {
    const struct conv_case *c = &bn_cases[_i];
    for (int train = 0; train < 2; train++) {
        check_forward_in(one(c->layer), 1, c->in, c->batch, train);
        if (c->batch % 2 == 0) { /* real rows and generated rows apart */
            groups_under_test = 2;
            check_forward_in(one(c->layer), 1, c->in, c->batch, train);
            groups_under_test = 1;
        }
    }
}
END_TEST

START_TEST(bwd_batch_norm) {
    const struct conv_case *c = &bn_cases[_i];
    check_backward_in(one(c->layer), 1, c->in, c->batch);
    if (c->batch % 2 == 0) {
        groups_under_test = 2;
        check_backward_in(one(c->layer), 1, c->in, c->batch);
        groups_under_test = 1;
    }
}
END_TEST

/* A training pass updates the running statistics group after group, as the host does; they
 * are not parameters an optimizer sees. */
START_TEST(batch_norm_running_statistics) {
    groups_under_test = 2;
    fixture f;
    fixture_make_in(&f, one("{type: batch_norm, momentum: 0.25}"), 1, (shape3){3, 2, 2, 0}, 4, 9);
    net *n = f.n;
    ck_assert_int_eq(n->n_train, 32); /* gamma, beta: 3 each, each aligned to 16 */
    ck_assert_int_eq(n->spec->n_params, 6);
    ck_assert(net_forward(n, 4, 1) == CLGAN_OK);
    double *y = host_forward_u(n, f.p, f.x, 4, 1, 1, NULL, 2, 1); /* updates f.p */
    free(y);
    float *p = malloc(n->n_params * sizeof *p);
    ck_assert(device_read(dev, n->params, 0, n->n_params * sizeof *p, p) == CLGAN_OK);
    assert_close("running statistics", p, f.p, n->n_params, 1e-5, 1e-6);
    int moved = 0;
    for (size_t i = n->n_train; i < n->n_params; i++) moved += p[i] != f.pf[i];
    ck_assert_int_ge(moved, 6);
    ck_assert(net_forward(n, 4, 0) == CLGAN_OK); /* evaluation: no update */
    float *q = malloc(n->n_params * sizeof *q);
    ck_assert(device_read(dev, n->params, 0, n->n_params * sizeof *q, q) == CLGAN_OK);
    ck_assert(memcmp(p, q, n->n_params * sizeof *p) == 0);
    groups_under_test = 1;
    free(p);
    free(q);
    fixture_free(&f);
}
END_TEST

/* Nearest-neighbour upsampling: square and non-square factors, odd sizes. */
static const struct conv_case upsample_cases[] = {
    {"{type: upsample, factor: 2}", {2, 3, 3, 1}, 3},
    {"{type: upsample, factor: [3, 1]}", {1, 2, 5, 1}, 1},
};

START_TEST(fwd_upsample) {
    const struct conv_case *c = &upsample_cases[_i];
    check_forward_in(one(c->layer), 1, c->in, c->batch, 1);
}
END_TEST

START_TEST(bwd_upsample) {
    const struct conv_case *c = &upsample_cases[_i];
    check_backward_in(one(c->layer), 1, c->in, c->batch);
    const char *up_conv[] = {c->layer, "{type: conv2d, filters: 2, kernel: 3, padding: same}"};
    check_backward_in(up_conv, 2, c->in, c->batch);
}
END_TEST

/* conv2d, batch norm, leaky_relu, flatten, dense: a DCGAN discriminator in small. */
static const char *const conv_stack[] = {
    "{type: conv2d, filters: 3, kernel: 3, stride: 2, padding: 1}", "batch_norm", "leaky_relu",
    "{type: conv_transpose2d, filters: 2, kernel: 2, stride: 2}", "tanh", "flatten",
    "{type: dense, units: 2}", "{type: reshape, shape: [2, 1, 1]}"};

START_TEST(fwd_conv_stack) {
    check_forward_in(conv_stack, (int)ARRAY_LEN(conv_stack), (shape3){2, 5, 6, 0}, 3, 1);
    groups_under_test = 2;
    check_forward_in(conv_stack, (int)ARRAY_LEN(conv_stack), (shape3){2, 5, 6, 0}, 4, 1);
    groups_under_test = 1;
}
END_TEST

START_TEST(bwd_conv_stack) {
    check_backward_in(conv_stack, (int)ARRAY_LEN(conv_stack), (shape3){2, 5, 6, 0}, 3);
    groups_under_test = 2;
    check_backward_in(conv_stack, (int)ARRAY_LEN(conv_stack), (shape3){2, 5, 6, 0}, 4);
    groups_under_test = 1;
}
END_TEST

/* ---- graphs --------------------------------------------------------------------------------- */

/*
 * A graph with every way layers meet: the network's input read twice (d0, zproj), a block used
 * twice whose add sums three inputs (its input, conv and conv's activation: conv feeds two
 * layers), a layer read by three (img), concat of images and of flat tensors, the pools.
 */
static const char graph_model[] =
    "noise: {dim: 6, distribution: gaussian}\n"
    "data: {format: idx, path: not_read.idx}\n"
    "blocks:\n"
    "  res:\n"
    "    params: {channels: int, slope: 0.2}\n"
    "    layers:\n"
    "      - {type: conv2d, filters: $channels, kernel: 3, padding: same, name: conv}\n"
    "      - {type: leaky_relu, slope: $slope, name: act}\n"
    "      - {type: add, from: [input, act, conv]}\n"
    "generator:\n"
    "  layers:\n"
    "    - {type: dense, units: 48, name: d0}\n"
    "    - {type: reshape, shape: [3, 4, 4], name: img}\n"
    "    - {block: res, channels: 3}\n"
    "    - {block: res, channels: 3, slope: 0.1, name: r2}\n"
    "    - {type: conv2d, filters: 2, kernel: 1, from: img, name: side}\n"
    "    - {type: concat, from: [r2, side, img], name: cat}\n"
    "    - {type: avg_pool2d, kernel: 2}\n"
    "    - {type: flatten, name: flat}\n"
    "    - {type: global_sum_pool, from: cat, name: gsum}\n"
    "    - {type: dense, units: 5, from: input, name: zproj}\n"
    "    - {type: identity, name: skip}\n"
    "    - {type: concat, from: [flat, gsum, skip]}\n"
    "    - tanh\n"
    "    - {type: dense, units: 4}\n"
    "discriminator:\n"
    "  layers:\n"
    "    - {type: dense, units: 1}\n"
    "train: {batch: 4, loss: hinge, generator: {type: sgd, learning_rate: 0.1},\n"
    "        discriminator: {type: sgd, learning_rate: 0.1}}\n";

START_TEST(graph_forward) {
    fixture f;
    fixture_make_yaml(&f, graph_model, (shape3){4, 1, 1, 0}, 3, 5u);
    ck_assert_int_eq(f.n->n_layers, 18);
    check_forward_f(&f, "graph", 1);
}
END_TEST

START_TEST(graph_backward) {
    fixture f;
    fixture_make_yaml(&f, graph_model, (shape3){4, 1, 1, 0}, 3, 6u);
    check_backward_f(&f);
}
END_TEST

/* The paths layers get, the inputs they read and who reads them. */
START_TEST(graph_paths) {
    fixture f;
    fixture_make_yaml(&f, graph_model, (shape3){4, 1, 1, 0}, 2, 7u);
    const net_spec *ns = &f.m->net[CLGAN_GENERATOR];
    static const char *const paths[] = {"d0", "img", "res#1.conv", "res#1.act", "res#1.2",
                                        "r2.conv", "r2.act", "r2.2", "side", "cat"};
    for (size_t i = 0; i < ARRAY_LEN(paths); i++) ck_assert_str_eq(ns->layers[i].path, paths[i]);
    ck_assert_int_eq(ns->layers[4].n_in, 3); /* res#1's add: its input (img), act, conv */
    ck_assert_int_eq(ns->layers[4].in_idx[0], 1);
    ck_assert_int_eq(ns->layers[4].in_idx[1], 3);
    ck_assert_int_eq(ns->layers[4].in_idx[2], 2);
    ck_assert_int_eq(ns->layers[1].consumers, 4); /* img: res#1's conv and add, side, cat */
    ck_assert_int_eq(ns->layers[13].in_idx[0], -1); /* zproj reads the noise */
    ck_assert(ns->layers[6].v[0] > 0.09 && ns->layers[6].v[0] < 0.11); /* r2's slope 0.1 */
    ck_assert(ns->layers[3].v[0] > 0.19 && ns->layers[3].v[0] < 0.21); /* res#1's default */
    fixture_free(&f);
}
END_TEST

/* Class-conditional batch norm in a generator, on images and flat features, with two row
 * groups, in training and evaluation mode, against the host and central differences. */
static const char cond_bn_model[] =
    "noise: {dim: 5, distribution: gaussian}\n"
    "condition: {classes: 3}\n"
    "data: {format: idx, path: not_read.idx, labels: not_read_labels.idx}\n"
    "generator:\n"
    "  layers:\n"
    "    - {type: batch_norm, conditional: true}\n"
    "    - {type: dense, units: 12}\n"
    "    - {type: reshape, shape: [3, 2, 2]}\n"
    "    - {type: batch_norm, conditional: true, momentum: 0.3}\n"
    "    - tanh\n"
    "    - {type: conv2d, filters: 2, kernel: 2}\n"
    "discriminator:\n"
    "  layers:\n"
    "    - {type: dense, units: 1}\n"
    "train: {batch: 6, loss: hinge, generator: {type: sgd, learning_rate: 0.1},\n"
    "        discriminator: {type: sgd, learning_rate: 0.1}}\n";

START_TEST(cond_batch_norm) {
    for (int groups = 1; groups <= 2; groups++) {
        groups_under_test = groups;
        for (int train = 0; train <= 1; train++) {
            fixture f;
            fixture_make_yaml(&f, cond_bn_model, (shape3){2, 1, 1, 0}, 6, 20u + (unsigned)train);
            ck_assert_int_eq(f.n->layers[3].params[0].count, 9); /* [3 classes][3 channels] */
            check_forward_f(&f, "conditional batch norm", train);
        }
        fixture f;
        fixture_make_yaml(&f, cond_bn_model, (shape3){2, 1, 1, 0}, 6, 30u);
        check_backward_f(&f);
    }
    groups_under_test = 1;
}
END_TEST

/* The pools, identity and self-attention alone, and behind a convolution. */
static const struct conv_case pool_cases[] = {
    {"{type: avg_pool2d, kernel: 2}", {2, 4, 5, 1}, 3},
    {"{type: avg_pool2d, kernel: 3, stride: 2, padding: 1}", {1, 5, 6, 1}, 2},
    {"{type: avg_pool2d, kernel: [2, 3], stride: 1}", {2, 3, 4, 1}, 2},
    {"global_sum_pool", {3, 3, 4, 1}, 2},
    {"global_avg_pool", {3, 3, 4, 1}, 2},
    {"identity", {2, 3, 3, 1}, 2},
    {"{type: self_attention, reduction: 4}", {8, 3, 3, 1}, 2},
    {"{type: self_attention, reduction: 1}", {2, 2, 3, 1}, 3},
};

START_TEST(fwd_pool) {
    const struct conv_case *c = &pool_cases[_i];
    check_forward_in(one(c->layer), 1, c->in, c->batch, 1);
}
END_TEST

START_TEST(bwd_pool) {
    const struct conv_case *c = &pool_cases[_i];
    check_backward_in(one(c->layer), 1, c->in, c->batch);
    char conv[80];
    snprintf(conv, sizeof conv, "{type: conv2d, filters: %d, kernel: 3, padding: same}", c->in.c);
    const char *conv_pool[] = {conv, c->layer};
    check_backward_in(conv_pool, 2, c->in, c->batch);
}
END_TEST

/*
 * NaN passes through relu, leaky_relu and maxout, on the device as in the host reference: a max
 * with 0 (fmax) or over pieces that drops it would let a diverged network train on unseen.
 */
START_TEST(nan_passes_activations) {
    static const char *const layers[] = {"relu", "{type: leaky_relu, slope: 0.2}",
                                         "{type: maxout, units: 3, pieces: 4}"};
    for (size_t k = 0; k < ARRAY_LEN(layers); k++) {
        fixture f;
        fixture_make(&f, one(layers[k]), 1, 12, 2, 3);
        float nan = NAN;
        f.x[5] = NAN;
        ck_assert(device_write(dev, f.n->acts, 5 * sizeof(float), sizeof nan, &nan, 1) ==
                  CLGAN_OK);
        ck_assert(net_forward(f.n, 2, 1) == CLGAN_OK);
        float *y = read_tensor(f.n->out, 2);
        double *want = host_fwd(f.n, f.p, f.x, 2, 1, 1);
        size_t ny = 2 * f.n->out.cols, nan_dev = 0, nan_host = 0;
        for (size_t i = 0; i < ny; i++) {
            nan_dev += isnan(y[i]) != 0;
            nan_host += isnan(want[i]) != 0;
            ck_assert_msg(!isnan(y[i]) == !isnan(want[i]), "%s: value %zu: %g on the device, %g "
                          "on the host", layers[k], i, (double)y[i], want[i]);
        }
        ck_assert_msg(nan_dev >= 1 && nan_dev == nan_host, "%s: %zu NaN out", layers[k], nan_dev);
        free(y);
        free(want);
        fixture_free(&f);
    }
}
END_TEST

/* Output sizes as PyTorch (explicit padding) and TensorFlow (`same`) compute them. */
START_TEST(conv2d_shapes) {
    static const struct {
        const char *layer;
        shape3 in, out;
    } cases[] = {
        {"{type: conv2d, filters: 64, kernel: 4, stride: 2, padding: 1}", {1, 28, 28, 1}, {64, 14, 14, 1}},
        {"{type: conv2d, filters: 8, kernel: 3, stride: 2, padding: same}", {2, 5, 8, 1}, {8, 3, 4, 1}},
        {"{type: conv2d, filters: 8, kernel: [3, 5], dilation: 2}", {1, 9, 12, 1}, {8, 5, 4, 1}},
        {"{type: conv2d, filters: 1, kernel: 3, stride: 3}", {1, 10, 10, 1}, {1, 3, 3, 1}},
        {"{type: conv_transpose2d, filters: 64, kernel: 4, stride: 2, padding: 1}", {128, 7, 7, 1},
         {64, 14, 14, 1}},
        {"{type: conv_transpose2d, filters: 1, kernel: 3, stride: 2, padding: 1, "
         "output_padding: 1}", {4, 5, 5, 1}, {1, 10, 10, 1}},
        {"{type: conv_transpose2d, filters: 2, kernel: 3, dilation: 2}", {1, 4, 4, 1}, {2, 8, 8, 1}},
        /* C x 1 x 1 images: into a transposed convolution (PyTorch's DCGAN), a 1x1 conv */
        {"{type: conv_transpose2d, filters: 16, kernel: 7}", {8, 1, 1, 1}, {16, 7, 7, 1}},
        {"{type: conv2d, filters: 3, kernel: 1}", {4, 1, 1, 1}, {3, 1, 1, 1}},
        {"{type: upsample, factor: 2}", {8, 1, 1, 1}, {8, 2, 2, 1}},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fixture f;
        fixture_make_in(&f, one(cases[i].layer), 1, cases[i].in, 2, 1);
        shape3 o = f.n->spec->layers[0].out;
        ck_assert_msg(o.c == cases[i].out.c && o.h == cases[i].out.h && o.w == cases[i].out.w,
                      "%s: %dx%dx%d", cases[i].layer, o.c, o.h, o.w);
        fixture_free(&f);
    }
}
END_TEST

/* ---- one-unit layers ------------------------------------------------------------------------ */

/*
 * A one-unit dense layer runs as the fused kernels unit_fwd/unit_bwd on CPU devices and as GEMMs
 * elsewhere (dev->unit_kernels); both routes run here, at widths below, at and across the
 * fused kernels' 16 columns.
 */
static int unit_default; /* the device's own route, restored after every test */

static void unit_restore(void) {
    dev->unit_kernels = unit_default;
}

static void check_unit(int fused, int in_cols, int batch) {
    dev->unit_kernels = fused;
    fixture f;
    fixture_make(&f, one("{type: dense, units: 1}"), 1, in_cols, batch, 3);
    ck_assert_int_eq(f.n->layers[0].as_unit, fused); /* the route under test is the one taken */
    fixture_free(&f);
    check_forward(one("{type: dense, units: 1}"), 1, in_cols, batch, 1);
    check_backward(one("{type: dense, units: 1}"), 1, in_cols, batch);
}

START_TEST(unit_fused) {
    static const int widths[] = {3, 16, 37, 240};
    for (size_t i = 0; i < ARRAY_LEN(widths); i++)
        check_unit(1, widths[i], i % 2 ? 9 : 4);
}
END_TEST

START_TEST(unit_as_gemm) {
    check_unit(0, 37, 4);
}
END_TEST

START_TEST(unit_runs_where_cpu) {
    ck_assert_int_eq(unit_default, strcmp(dev->info.type, "CPU") == 0);
}
END_TEST

/*
 * Backward with only one of the gradients asked for writes only that one: the gradient left out
 * keeps what it held, and the other matches the run that computes both.
 */
START_TEST(unit_partial_backward) {
    for (int fused = 0; fused < 2; fused++) {
        dev->unit_kernels = fused;
        const int in_cols = 21, batch = 6;
        fixture f;
        fixture_make(&f, one("{type: dense, units: 1}"), 1, in_cols, batch, 19);
        net *n = f.n;
        size_t nx = (size_t)batch * in_cols;
        ck_assert(net_forward(n, batch, 1) == CLGAN_OK);
        float dy[6] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
        ck_assert(device_write(dev, n->deltas, n->dout.off * sizeof(float), sizeof dy, dy, 1) ==
                  CLGAN_OK);
        ck_assert(net_backward(n, 0, batch, 1, 1) == CLGAN_OK);
        float *dx_both = read_tensor(n->din, (size_t)batch);
        float *dp_both = malloc(n->n_params * sizeof(float)),
              *dp = malloc(n->n_params * sizeof(float));
        ck_assert(device_read(dev, n->grads, 0, n->n_params * sizeof(float), dp_both) == CLGAN_OK);

        float *sentinel = malloc((nx > n->n_params ? nx : n->n_params) * sizeof(float));
        for (size_t i = 0; i < nx || i < n->n_params; i++)
            sentinel[i] = 7.0f;
        ck_assert(device_write(dev, n->grads, 0, n->n_params * sizeof(float), sentinel, 1) ==
                  CLGAN_OK);
        ck_assert(net_backward(n, 0, batch, 1, 0) == CLGAN_OK); /* dx only */
        float *dx = read_tensor(n->din, (size_t)batch);
        ck_assert(device_read(dev, n->grads, 0, n->n_params * sizeof(float), dp) == CLGAN_OK);
        ck_assert(memcmp(dx, dx_both, nx * sizeof(float)) == 0);
        const layer *l = &n->layers[0];
        for (int i = 0; i < in_cols; i++)
            ck_assert(dp[l->param_off[0] + (size_t)i] == 7.0f);
        ck_assert(dp[l->param_off[1]] == 7.0f);
        free(dx);

        ck_assert(device_write(dev, n->deltas, n->din.off * sizeof(float), nx * sizeof(float),
                               sentinel, 1) == CLGAN_OK);
        ck_assert(net_backward(n, 0, batch, 0, 1) == CLGAN_OK); /* parameters only */
        dx = read_tensor(n->din, (size_t)batch);
        ck_assert(device_read(dev, n->grads, 0, n->n_params * sizeof(float), dp) == CLGAN_OK);
        for (size_t i = 0; i < nx; i++)
            ck_assert(dx[i] == 7.0f);
        ck_assert(memcmp(dp + l->param_off[0], dp_both + l->param_off[0], (size_t)in_cols * sizeof(float)) == 0);
        ck_assert(dp[l->param_off[1]] == dp_both[l->param_off[1]] && dp[l->param_off[1]] == 2.5f); /* sum of dy */
        free(dx);
        free(dx_both);
        free(dp_both);
        free(dp);
        free(sentinel);
        fixture_free(&f);
    }
}
END_TEST

/* ---- loss ------------------------------------------------------------------------------------ */


/* A small discriminator; the loss over 2m rows: m "real" (t_first), m "fake" (t_rest). */
static void check_loss(float t_first, float t_rest, float sign, float weight_scale) {
    static const char *const d[] = {"{type: dense, units: 5}", "leaky_relu",
                                    "{type: dense, units: 1}", "sigmoid"};
    const int m = 4, batch = 2 * m, in_cols = 3;
    fixture f;
    fixture_make(&f, d, 4, in_cols, batch, 77);
    net *n = f.n;
    for (size_t i = 0; i < n->n_params; i++) {
        f.pf[i] *= weight_scale;
        f.p[i] = f.pf[i];
    }
    ck_assert(device_write(dev, n->params, 0, n->n_params * sizeof(float), f.pf, 1) == CLGAN_OK);
    loss L;
    ck_assert_msg(loss_init(dev, batch, &L) == CLGAN_OK, "%s", dev->err.msg);
    const float scale = 1.0f / batch;
    ck_assert(net_forward(n, batch, 1) == CLGAN_OK);
    ck_assert(loss_bce(&L, n, batch, m, t_first, t_rest, sign, scale) == CLGAN_OK);
    ck_assert(net_backward(n, net_logit_layer(n), batch, 1, 1) == CLGAN_OK);
    float vals[8], prob[8];
    ck_assert(device_read(dev, L.values, 0, sizeof vals, vals) == CLGAN_OK);
    float *dx = read_tensor(n->din, (size_t)batch);
    float *dp = malloc(n->n_params * sizeof *dp);
    ck_assert(device_read(dev, n->grads, 0, n->n_params * sizeof(float), dp) == CLGAN_OK);
    ck_assert(device_read(dev, n->acts, n->out.off * sizeof(float), sizeof prob, prob) == CLGAN_OK);

    /* Loss values and D(x) against the host. */
    double *z = host_forward(n, f.p, f.x, batch, 1, 3), want[8], pw[8];
    for (int i = 0; i < batch; i++) {
        want[i] = sign * h_bce(z[i], i < m ? t_first : t_rest);
        pw[i] = h_sigmoid(z[i]);
    }
    assert_close("bce", vals, want, (size_t)batch, FWD_RTOL, FWD_ATOL);
    assert_close("D(x)", prob, pw, (size_t)batch, FWD_RTOL, FWD_ATOL);
    free(z);

    /* Gradients against central differences of the scalar loss scale * sum(values). */
    double *fd = malloc((n->n_params + (size_t)batch * in_cols) * sizeof *fd);
    for (size_t j = 0; j < n->n_params + (size_t)batch * in_cols; j++) {
        double *v = j < n->n_params ? &f.p[j] : &f.x[j - n->n_params];
        double keep = *v, l[2];
        for (int s = 0; s < 2; s++) {
            *v = keep + (s ? -FD_STEP : FD_STEP);
            double *zz = host_forward(n, f.p, f.x, batch, 1, 3);
            l[s] = 0;
            for (int i = 0; i < batch; i++) l[s] += scale * sign * h_bce(zz[i], i < m ? t_first : t_rest);
            free(zz);
        }
        *v = keep;
        fd[j] = (l[0] - l[1]) / (2 * FD_STEP);
    }
    assert_close("dL/dparams", dp, fd, n->n_params, BWD_RTOL, BWD_ATOL);
    assert_close("dL/dx", dx, fd + n->n_params, (size_t)batch * in_cols, BWD_RTOL, BWD_ATOL);
    free(fd);
    free(dx);
    free(dp);
    loss_free(&L);
    fixture_free(&f);
}

START_TEST(loss_discriminator) { check_loss(1.0f, 0.0f, 1.0f, 1.0f); }
END_TEST
START_TEST(loss_label_smoothing) { check_loss(0.9f, 0.0f, 1.0f, 1.0f); }
END_TEST
START_TEST(loss_g_non_saturating) { check_loss(1.0f, 1.0f, 1.0f, 1.0f); }
END_TEST
START_TEST(loss_g_minimax) { check_loss(0.0f, 0.0f, -1.0f, 1.0f); }
END_TEST

/* Logits near +-100: log(1 + exp(100)) computed naively overflows float; ours stays exact. */
START_TEST(loss_saturated_logits_finite) {
    static const char *const d[] = {"{type: dense, units: 1}", "sigmoid"};
    fixture f;
    fixture_make(&f, d, 2, 2, 2, 3);
    float x[4] = {1, 0, -1, 0}, *p = calloc(f.n->n_params, sizeof *p);
    p[f.n->layers[0].param_off[0]] = 100.0f; /* z = 100 * x0 */
    ck_assert(device_write(dev, f.n->acts, 0, sizeof x, x, 1) == CLGAN_OK);
    ck_assert(device_write(dev, f.n->params, 0, f.n->n_params * sizeof(float), p, 1) == CLGAN_OK);
    loss L;
    ck_assert(loss_init(dev, 2, &L) == CLGAN_OK);
    ck_assert(net_forward(f.n, 2, 1) == CLGAN_OK);
    ck_assert(loss_bce(&L, f.n, 2, 1, 0.0f, 1.0f, 1.0f, 1.0f) == CLGAN_OK); /* both wrong */
    float vals[2], dz[2];
    ck_assert(device_read(dev, L.values, 0, sizeof vals, vals) == CLGAN_OK);
    tensor g = net_logit_grad(f.n);
    ck_assert(device_read(dev, g.buf, g.off * sizeof(float), sizeof dz, dz) == CLGAN_OK);
    const double want[2] = {100.0, 100.0}, want_dz[2] = {1.0, -1.0};
    assert_close("bce at |z| = 100", vals, want, 2, 1e-6, 1e-4);
    assert_close("dbce/dz at |z| = 100", dz, want_dz, 2, 1e-6, 1e-6);
    free(p);
    loss_free(&L);
    fixture_free(&f);
}
END_TEST

/* ---- spectral normalisation ------------------------------------------------------------- */

/* sigma after many power iterations: the largest singular value (LAPACK's SVD of the host's
 * weights), for a dense layer and a convolution's [F][C KH KW] view. */
static void check_sigma(const char *layer_yaml, shape3 in, long rows, long cols) {
    const char *c[] = {layer_yaml};
    fixture f;
    fixture_make_in(&f, c, 1, in, 3, 61);
    layer *l = &f.n->layers[0];
    ck_assert_int_eq(l->sn_rows, rows);
    ck_assert_int_eq(l->sn_cols, cols);
    for (int i = 0; i < 60; i++) ck_assert(net_forward(f.n, 3, 1) == CLGAN_OK);
    double *a = malloc((size_t)(rows * cols) * sizeof *a), sv[16], *su = malloc(256 * 8),
           *svt = malloc(4096 * 8), sup[16];
    for (long k = 0; k < rows * cols; k++) a[k] = f.p[l->param_off[0] + (size_t)k];
    ck_assert(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (int)rows, (int)cols, a, (int)cols, sv,
                             su, (int)rows, svt, (int)cols, sup) == 0);
    float w0, ws0;
    ck_assert(device_read(dev, f.n->params, l->param_off[0] * 4, 4, &w0) == CLGAN_OK);
    ck_assert(device_read(dev, f.n->acts, l->sn_ws * 4, 4, &ws0) == CLGAN_OK);
    double sigma = (double)w0 / ws0;
    ck_assert_msg(fabs(sigma - sv[0]) < 1e-4 * sv[0], "%s: sigma %.7g, largest singular value "
                  "%.7g (then %.7g)", layer_yaml, sigma, sv[0], sv[1]);
    free(a);
    free(su);
    free(svt);
    fixture_free(&f);
}

START_TEST(spectral_sigma_is_the_largest_singular_value) {
    check_sigma("{type: dense, units: 7, spectral_norm: true}", (shape3){5, 1, 1, 0}, 7, 5);
    check_sigma("{type: conv2d, filters: 4, kernel: 2, spectral_norm: true}", (shape3){3, 4, 4, 0},
                4, 12);
    check_sigma("{type: conv2d, filters: 3, kernel: 3, bias: false, spectral_norm: true}",
                (shape3){2, 5, 5, 0}, 3, 18);
}
END_TEST

/*
 * One training pass: the output against the host's (one power iteration from the stored u, then
 * W / sigma), u and v as the host updates them, and dL/dW, dL/dx against central differences
 * of L = sum r y with u and v held at their updated values (the gradient of Miyato et al.).
 */
static void check_sn_pass(const char *layer_yaml, shape3 in) {
    const char *c[] = {layer_yaml};
    const int batch = 3;
    fixture f;
    fixture_make_in(&f, c, 1, in, batch, 67);
    net *n = f.n;
    layer *l = &n->layers[0];
    const layer_class *cls = layer_class_of(l->spec->kind);
    size_t np = n->n_params, nx = (size_t)batch * n->in.cols, ny = (size_t)batch * n->out.cols;
    ck_assert(net_forward(n, batch, 1) == CLGAN_OK);
    float *y = read_tensor(n->out, (size_t)batch);
    /* the host: the same pass, u and v updated into q */
    double *q = malloc(np * sizeof *q), *want = malloc(ny * sizeof *want);
    memcpy(q, f.p, np * sizeof *q);
    const double *pp[LAYER_MAX_PARAMS];
    double *upd[LAYER_MAX_PARAMS];
    for (int j = 0; j < l->n_params; j++) {
        pp[j] = f.p + l->param_off[j];
        upd[j] = q + l->param_off[j];
    }
    host_ctx hc = {1, 1, {0, 0}, 0, upd, NULL, NULL};
    cls->host_forward(l->spec, pp, f.x, want, batch, &hc);
    assert_close("spectral-norm output", y, want, ny, 1e-4, 1e-5);
    float *pn = malloc(np * sizeof *pn);
    ck_assert(device_read(dev, n->params, 0, np * 4, pn) == CLGAN_OK);
    int iu = l->sn_u;
    assert_close("u after the power iteration", pn + l->param_off[iu], q + l->param_off[iu],
                 (size_t)l->sn_rows, 1e-4, 1e-6);
    /* backward from dL/dy = r */
    float *rf = malloc(ny * sizeof *rf);
    for (size_t i = 0; i < ny; i++) rf[i] = (float)f.r[i];
    ck_assert(device_write(dev, n->deltas, n->dout.off * 4, ny * 4, rf, 1) == CLGAN_OK);
    ck_assert(net_backward(n, 0, batch, 1, 1) == CLGAN_OK);
    float *g = malloc(np * sizeof *g), *dx = read_tensor(n->din, (size_t)batch);
    ck_assert(device_read(dev, n->grads, 0, np * 4, g) == CLGAN_OK);
    /* central differences with u, v fixed at q's (evaluation mode: sigma = u^T W v) */
    host_ctx ev = {0, 1, {0, 0}, 0, NULL, NULL, NULL};
    const double *qq[LAYER_MAX_PARAMS];
    for (int j = 0; j < l->n_params; j++) qq[j] = q + l->param_off[j];
    double *yy = malloc(ny * sizeof *yy), h = 1e-5;
    long nw = l->params[0].count;
    double *fdw = malloc((size_t)nw * sizeof *fdw), *fdx = malloc(nx * sizeof *fdx);
    for (long k = 0; k < nw + (long)nx; k++) {
        double *t = k < nw ? &q[l->param_off[0] + (size_t)k] : &f.x[k - nw], keep = *t, L[2];
        for (int sg = 0; sg < 2; sg++) {
            *t = keep + (sg ? -h : h);
            cls->host_forward(l->spec, qq, f.x, yy, batch, &ev);
            L[sg] = 0;
            for (size_t i = 0; i < ny; i++) L[sg] += f.r[i] * yy[i];
        }
        *t = keep;
        *(k < nw ? &fdw[k] : &fdx[k - nw]) = (L[0] - L[1]) / (2 * h);
    }
    assert_close("spectral-norm dL/dW", g + l->param_off[0], fdw, (size_t)nw, 1e-3, 1e-5);
    assert_close("spectral-norm dL/dx", dx, fdx, nx, 1e-3, 1e-5);
    double moved = 0; /* the correction through sigma is not negligible here */
    for (long k = 0; k < nw; k++) moved = fmax(moved, fabs(fdw[k]));
    ck_assert(moved > 1e-3);
    free(q);
    free(want);
    free(y);
    free(pn);
    free(rf);
    free(g);
    free(dx);
    free(yy);
    free(fdw);
    free(fdx);
    fixture_free(&f);
}

START_TEST(spectral_norm_pass_and_gradients) {
    check_sn_pass("{type: dense, units: 4, spectral_norm: true}", (shape3){6, 1, 1, 0});
    check_sn_pass("{type: conv2d, filters: 3, kernel: 2, stride: 2, spectral_norm: true}",
                  (shape3){2, 4, 4, 0});
}
END_TEST

/* ---- the condition: label_concat ------------------------------------------------------- */

/* A layer that reads labels: output against the host, and dL/dx and every parameter's dL/dp
 * against central differences of L = sum r y, with repeated labels and an unseen class. */
static void check_label_concat(const char *yaml, shape3 in, int classes) {
    const int batch = 4;
    clgan_model *m = calloc(1, sizeof *m);
    m->path = "test";
    m->condition_classes = classes;
    net_spec *ns = &m->net[CLGAN_GENERATOR];
    ns->layers = calloc(1, sizeof *ns->layers);
    clgan_err e;
    ck_assert_msg(model_parse_layer(yaml, &ns->layers[0], &e) == CLGAN_OK, "%s", e.msg);
    ns->n_layers = 1;
    ns->in = in;
    ck_assert_msg(net_infer(m, ns, "test") == CLGAN_OK, "%s", m->err.msg);
    net *n;
    ck_assert_msg(net_create(dev, m, CLGAN_GENERATOR, batch, 7, &n) == CLGAN_OK, "%s",
                  dev->err.msg);
    ck_assert_ptr_nonnull(n->labels);
    unsigned char lab[4] = {2, 0, 2, (unsigned char)(classes - 1)};
    ck_assert(device_write(dev, n->labels, 0, sizeof lab, lab, 1) == CLGAN_OK);
    size_t nx = (size_t)batch * n->in.cols, ny = (size_t)batch * n->out.cols, np = n->n_params;
    unsigned seed = 3;
    float *xf = malloc(nx * 4), *pf = calloc(np ? np : 1, 4), *rf = malloc(ny * 4);
    double *x = malloc(nx * 8), *p = calloc(np ? np : 1, 8), *r = malloc(ny * 8);
    for (size_t i = 0; i < nx; i++) x[i] = xf[i] = (float)test_uniform(&seed, -1, 1);
    for (size_t i = 0; i < np; i++) p[i] = pf[i] = (float)test_uniform(&seed, -1, 1);
    for (size_t i = 0; i < ny; i++) r[i] = rf[i] = (float)test_uniform(&seed, -1, 1);
    ck_assert(device_write(dev, n->acts, 0, nx * 4, xf, 1) == CLGAN_OK);
    if (np) ck_assert(device_write(dev, n->params, 0, np * 4, pf, 1) == CLGAN_OK);
    ck_assert(net_forward(n, batch, 1) == CLGAN_OK);
    float *y = read_tensor(n->out, (size_t)batch);
    layer *l = &n->layers[0];
    const layer_class *cls = layer_class_of(l->spec->kind);
    const double *pp[LAYER_MAX_PARAMS];
    for (int j = 0; j < l->n_params; j++) pp[j] = p + l->param_off[j];
    host_ctx hc = {1, 1, {0, 0}, 0, NULL, lab, NULL};
    double *want = malloc(ny * 8);
    cls->host_forward(l->spec, pp, x, want, batch, &hc);
    assert_close("labelled layer output", y, want, ny, 1e-5, 1e-6);
    ck_assert(device_write(dev, n->deltas, n->dout.off * 4, ny * 4, rf, 1) == CLGAN_OK);
    ck_assert(net_backward(n, 0, batch, 1, 1) == CLGAN_OK);
    float *dx = read_tensor(n->din, (size_t)batch), *g = malloc((np ? np : 1) * 4);
    if (np) ck_assert(device_read(dev, n->grads, 0, np * 4, g) == CLGAN_OK);
    /* L is linear in x and in each parameter: the differences are exact up to rounding */
    double *fd = malloc((nx + np) * 8), *yy = malloc(ny * 8);
    for (size_t k = 0; k < nx + np; k++) {
        double *t = k < nx ? &x[k] : &p[k - nx], keep = *t, L2[2];
        for (int sg = 0; sg < 2; sg++) {
            *t = keep + (sg ? -1e-3 : 1e-3);
            cls->host_forward(l->spec, pp, x, yy, batch, &hc);
            L2[sg] = 0;
            for (size_t i = 0; i < ny; i++) L2[sg] += r[i] * yy[i];
        }
        *t = keep;
        fd[k] = (L2[0] - L2[1]) / 2e-3;
    }
    assert_close("labelled layer dL/dx", dx, fd, nx, 1e-5, 1e-6);
    for (int j = 0; j < l->n_params; j++) {
        assert_close(l->params[j].name, g + l->param_off[j], fd + nx + l->param_off[j],
                     (size_t)l->params[j].count, 1e-5, 1e-6);
        if (strcmp(l->params[j].name, "embedding") != 0) continue;
        double unseen = 0; /* class 1 is nobody's label: its row of dE is 0 */
        for (long d = 0; d < l->params[j].shape[1]; d++)
            unseen += fabs(g[l->param_off[j] + l->params[j].shape[1] + d]);
        ck_assert(unseen == 0);
    }
    free(xf), free(pf), free(rf), free(x), free(p), free(r), free(y), free(want), free(dx), free(g);
    free(fd), free(yy);
    net_free(n);
    m->path = NULL;
    clgan_model_free(m);
}

START_TEST(label_concat_layer) {
    check_label_concat("label_concat", (shape3){5, 1, 1, 0}, 4);
    check_label_concat("{type: label_concat, embed: 3}", (shape3){5, 1, 1, 0}, 4);
    check_label_concat("label_concat", (shape3){2, 3, 3, 0}, 3);
    check_label_concat("{type: label_concat, embed: 2}", (shape3){2, 3, 4, 0}, 5);
}
END_TEST

START_TEST(projection_layer) {
    check_label_concat("projection", (shape3){6, 1, 1, 0}, 4);
    check_label_concat("{type: projection, init: {normal: 0.5}}", (shape3){3, 1, 1, 0}, 3);
    check_label_concat("projection", (shape3){37, 1, 1, 0}, 5); /* two blocks of 16 and a tail */
}
END_TEST

START_TEST(label_concat_needs_a_condition) {
    clgan_model *m = calloc(1, sizeof *m);
    m->path = "test";
    net_spec *ns = &m->net[CLGAN_GENERATOR];
    ns->layers = calloc(1, sizeof *ns->layers);
    clgan_err e;
    ck_assert(model_parse_layer("label_concat", &ns->layers[0], &e) == CLGAN_OK);
    ns->n_layers = 1;
    ns->in = (shape3){4, 1, 1, 0};
    ck_assert_int_eq(net_infer(m, ns, "generator"), CLGAN_ERR_MODEL);
    ck_assert_msg(strstr(m->err.msg, "reads the label, and the model declares none (add "
                                     "condition: {classes: N})"), "%s", m->err.msg);
    m->path = NULL;
    clgan_model_free(m);
}
END_TEST

/* ---- the losses of train.loss beyond cross-entropy ------------------------------------- */

static double host_bce(double z, double t) {
    return fmax(z, 0) - z * t + log1p(exp(-fabs(z)));
}

/* Row i's term of loss `kind`, part (0 D, 1 G), on z[0..n) with rows [0, nr) real (the
 * definitions, written again here from the papers, in double). */
static double host_gan_term(gan_loss_kind kind, int part, const double *z, int n, int nr, int i) {
    int real = i < nr;
    double mr = 0, mf = 0;
    for (int j = 0; j < n; j++) *(j < nr ? &mr : &mf) += z[j];
    mr /= nr > 0 ? nr : 1;
    mf /= n - nr > 0 ? n - nr : 1;
    switch (kind) {
    case GAN_LOSS_LEAST_SQUARES: {
        double t = part || real ? 1 : 0;
        return 0.5 * (z[i] - t) * (z[i] - t);
    }
    case GAN_LOSS_HINGE:
        if (part) return -z[i];
        return real ? fmax(0, 1 - z[i]) : fmax(0, 1 + z[i]);
    case GAN_LOSS_WASSERSTEIN:
        if (part) return -z[i];
        return real ? -z[i] : z[i];
    case GAN_LOSS_RELATIVISTIC:
        if (real) return host_bce(z[i] - mf, part ? 0 : 1);
        return host_bce(z[i] - mr, part ? 1 : 0);
    case GAN_LOSS_NON_SATURATING:
    case GAN_LOSS_MINIMAX: break;
    }
    return NAN;
}

static double host_gan_loss(gan_loss_kind kind, int part, const double *z, int n, int nr,
                            double scale) {
    double l = 0;
    for (int i = 0; i < n; i++) l += host_gan_term(kind, part, z, n, nr, i);
    return scale * l;
}

/* Each loss's D and G parts: the terms against the host, dL/dz against central differences of
 * the host's L, with unequal real and generated halves and z away from the hinge's kinks. */
START_TEST(loss_gan_kinds) {
    static const char *const c[] = {"{type: dense, units: 1}"};
    const int n = 9;
    fixture f;
    fixture_make(&f, c, 1, 3, n, 43);
    loss L;
    ck_assert_msg(loss_init(dev, n, &L) == CLGAN_OK, "%s", dev->err.msg);
    const gan_loss_kind kinds[] = {GAN_LOSS_LEAST_SQUARES, GAN_LOSS_HINGE, GAN_LOSS_WASSERSTEIN,
                                   GAN_LOSS_RELATIVISTIC};
    unsigned seed = 5;
    for (size_t k = 0; k < ARRAY_LEN(kinds); k++)
        for (int part = 0; part < 2; part++) {
            /* D: 4 real and 5 generated rows; G: 5 generated (the relativistic loss: both) */
            int nr = part == 0 || kinds[k] == GAN_LOSS_RELATIVISTIC ? 4 : 0;
            float zf[9];
            double z[9];
            for (int i = 0; i < n; i++) {
                double v = test_uniform(&seed, -2.5, 2.5);
                if (fabs(fabs(v) - 1) < 0.05) v += 0.1;
                z[i] = zf[i] = (float)v;
            }
            tensor zt = net_logits(f.n), dzt = net_logit_grad(f.n);
            ck_assert(device_write(dev, zt.buf, zt.off * 4, sizeof zf, zf, 1) == CLGAN_OK);
            const float scale = 0.25f;
            ck_assert_msg(loss_gan(&L, f.n, kinds[k], part, n, nr, 0, scale) == CLGAN_OK, "%s",
                          dev->err.msg);
            float vals[9], dz[9];
            ck_assert(device_read(dev, L.values, 0, sizeof vals, vals) == CLGAN_OK);
            ck_assert(device_read(dev, dzt.buf, dzt.off * 4, sizeof dz, dz) == CLGAN_OK);
            double want[9], fd[9];
            for (int i = 0; i < n; i++) {
                want[i] = host_gan_term(kinds[k], part, z, n, nr, i);
                double keep = z[i], l[2];
                for (int sg = 0; sg < 2; sg++) {
                    z[i] = keep + (sg ? -1e-4 : 1e-4);
                    l[sg] = host_gan_loss(kinds[k], part, z, n, nr, scale);
                }
                z[i] = keep;
                fd[i] = (l[0] - l[1]) / 2e-4;
            }
            char what[64];
            snprintf(what, sizeof what, "loss kind %d part %d terms", (int)kinds[k], part);
            assert_close(what, vals, want, (size_t)n, 1e-5, 1e-6);
            snprintf(what, sizeof what, "loss kind %d part %d dL/dz", (int)kinds[k], part);
            assert_close(what, dz, fd, (size_t)n, 1e-4, 1e-6);
        }
    loss_free(&L);
    fixture_free(&f);
}
END_TEST

/* Softmax cross-entropy of a small classifier (5 classes): losses and accuracy against the
 * host, parameter and input gradients against central differences of the mean loss. */
static double host_xent(const double *z, int classes, int y, int *argmax) {
    double mx = z[0];
    *argmax = 0;
    for (int j = 1; j < classes; j++)
        if (z[j] > mx) mx = z[j], *argmax = j;
    double s = 0;
    for (int j = 0; j < classes; j++) s += exp(z[j] - mx);
    return mx + log(s) - z[y];
}

START_TEST(loss_softmax_cross_entropy) {
    static const char *const c[] = {"{type: dense, units: 6}", "leaky_relu",
                                    "{type: dense, units: 5}"};
    const int batch = 7, in_cols = 4, K = 5;
    fixture f;
    fixture_make(&f, c, 3, in_cols, batch, 41);
    net *n = f.n;
    for (size_t i = 0; i < n->n_params; i++) { /* logits of a few units: a peaked softmax */
        f.pf[i] *= 3.0f;
        f.p[i] = f.pf[i];
    }
    ck_assert(device_write(dev, n->params, 0, n->n_params * sizeof(float), f.pf, 1) == CLGAN_OK);
    unsigned char y[7] = {0, 4, 2, 2, 1, 3, 4};
    cl_mem lab;
    ck_assert(device_alloc(dev, sizeof y, "labels", &lab) == CLGAN_OK);
    ck_assert(device_write(dev, lab, 0, sizeof y, y, 1) == CLGAN_OK);
    loss L;
    ck_assert_msg(loss_init(dev, batch, &L) == CLGAN_OK, "%s", dev->err.msg);
    const float scale = 1.0f / batch;
    ck_assert(net_forward(n, batch, 1) == CLGAN_OK);
    ck_assert_msg(loss_softmax_xent(&L, n, lab, 0, batch, scale) == CLGAN_OK, "%s", dev->err.msg);
    ck_assert(net_backward(n, n->n_layers - 1, batch, 1, 1) == CLGAN_OK);
    float vals[7], corr[7];
    ck_assert(device_read(dev, L.values, 0, sizeof vals, vals) == CLGAN_OK);
    ck_assert(device_read(dev, L.correct, 0, sizeof corr, corr) == CLGAN_OK);
    float *dx = read_tensor(n->din, (size_t)batch);
    float *dp = malloc(n->n_params * sizeof *dp);
    ck_assert(device_read(dev, n->grads, 0, n->n_params * sizeof(float), dp) == CLGAN_OK);
    double *z = host_fwd(n, f.p, f.x, batch, 1, 3), want[7], wc[7];
    int right = 0;
    for (int i = 0; i < batch; i++) {
        int am;
        want[i] = host_xent(z + (size_t)i * K, K, y[i], &am);
        wc[i] = am == y[i];
        right += am == y[i];
    }
    free(z);
    assert_close("softmax cross-entropy", vals, want, (size_t)batch, FWD_RTOL, FWD_ATOL);
    assert_close("correct", corr, wc, (size_t)batch, 0, 0);
    ck_assert_msg(right > 0 && right < batch, "degenerate test: %d of %d right", right, batch);
    size_t np = n->n_params, nx = (size_t)batch * in_cols;
    double *fd = malloc((np + nx) * sizeof *fd);
    for (size_t j = 0; j < np + nx; j++) {
        double *v = j < np ? &f.p[j] : &f.x[j - np];
        double keep = *v, l[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            *v = keep + (sgn ? -FD_STEP : FD_STEP);
            double *zz = host_fwd(n, f.p, f.x, batch, 1, 3);
            l[sgn] = 0;
            for (int i = 0; i < batch; i++) {
                int am;
                l[sgn] += scale * host_xent(zz + (size_t)i * K, K, y[i], &am);
            }
            free(zz);
        }
        *v = keep;
        fd[j] = (l[0] - l[1]) / (2 * FD_STEP);
    }
    assert_close("dL/dparams", dp, fd, np, BWD_RTOL, BWD_ATOL);
    assert_close("dL/dx", dx, fd + np, nx, BWD_RTOL, BWD_ATOL);
    free(fd);
    free(dx);
    free(dp);
    device_release(dev, lab);
    loss_free(&L);
    fixture_free(&f);
}
END_TEST

/* ---- parameters initialisation -------------------------------------------------------------- */

START_TEST(init_params_follow_spec) {
    clgan_model *m;
    ck_assert_msg(clgan_model_load(src_path("models/mnist_paper.yaml"), &m) == CLGAN_OK, "%s",
                  clgan_model_errmsg(m));
    net *g;
    ck_assert_msg(net_create(dev, m, CLGAN_GENERATOR, 4, 1234, &g) == CLGAN_OK, "%s", dev->err.msg);
    float *mean = malloc(784 * sizeof *mean);
    for (int i = 0; i < 784; i++) mean[i] = i == 0 ? 0.0f : 0.25f;
    ck_assert(net_init_params(g, mean) == CLGAN_OK);
    float *p = malloc(g->n_params * sizeof *p);
    ck_assert(device_read(dev, g->params, 0, g->n_params * sizeof *p, p) == CLGAN_OK);
    const layer *l0 = &g->layers[0], *l4 = &g->layers[4];
    double s = 0, mx = 0;
    for (long i = 0; i < l0->params[0].count; i++) {
        s += p[l0->param_off[0] + (size_t)i];
        mx = fmax(mx, fabs(p[l0->param_off[0] + (size_t)i]));
    }
    ck_assert_msg(mx <= 0.05 && mx > 0.049, "U(-0.05, 0.05): max |w| = %g", mx);
    ck_assert_msg(fabs(s / l0->params[0].count) < 1e-3, "mean %g", s / l0->params[0].count);
    ck_assert_float_eq_tol(p[l4->param_off[1] + 1], logf(0.25f / 0.75f), 1e-6f);
    ck_assert_float_eq_tol(p[l4->param_off[1] + 0], logf(1e-3f / (1 - 1e-3f)), 1e-4f); /* clipped */
    ck_assert(p[l0->param_off[1]] == 0.0f);
    free(p);
    free(mean);
    net_free(g);
    clgan_model_free(m);
}
END_TEST

/* ---- gradient penalties (penalty.c) ----------------------------------------------------------- */

#define PEN_H_IN 1e-4  /* the networks are piecewise linear in x: any step away from a kink */
#define PEN_H_OUT 1e-5

/*
 * sum_r w phi(|g_r|) on the host in double, g_r the gradient of row r's output with respect
 * to its input by central differences of the host forward pass (the rows apart: each
 * coordinate moved in every row at once).
 */
static double host_penalty(const net *n, const double *p, const double *x, int batch, int centred,
                           double target, double w, int train) {
    size_t cols = n->in.cols, nx = (size_t)batch * cols;
    double *xp = malloc(nx * sizeof *xp), *gsq = calloc((size_t)batch, sizeof *gsq);
    memcpy(xp, x, nx * sizeof *xp);
    for (size_t i = 0; i < cols; i++) {
        for (int r = 0; r < batch; r++) xp[r * cols + i] = x[r * cols + i] + PEN_H_IN;
        double *yp = host_fwd(n, p, xp, batch, train, n->n_layers);
        for (int r = 0; r < batch; r++) xp[r * cols + i] = x[r * cols + i] - PEN_H_IN;
        double *ym = host_fwd(n, p, xp, batch, train, n->n_layers);
        for (int r = 0; r < batch; r++) {
            xp[r * cols + i] = x[r * cols + i];
            double g = (yp[r] - ym[r]) / (2 * PEN_H_IN);
            gsq[r] += g * g;
        }
        free(yp);
        free(ym);
    }
    double v = 0;
    for (int r = 0; r < batch; r++) {
        double nr = sqrt(gsq[r]);
        v += w * (centred ? (nr - target) * (nr - target) : 0.5 * gsq[r]);
    }
    free(xp);
    free(gsq);
    return v;
}

/*
 * The device's penalty value and parameter gradient against the host's and central
 * differences of it, for the network of f (one output per row). With spectral norm, whose
 * training pass takes a power step from u and v, which the gradient holds constant (as the
 * paper's), the host runs in evaluation mode from the u and v the pass left: the same W_sn.
 */
static void check_penalty_f(fixture *fx, int centred) {
    fixture f = *fx;
    net *n = f.n;
    ck_assert_int_eq((int)n->out.cols, 1);
    const int batch = f.batch;
    const double target = 1.0, w = 10.0 / batch;
    cl_mem stats;
    float s[16] = {0};
    ck_assert(device_alloc(dev, sizeof s, "stats", &stats) == CLGAN_OK);
    ck_assert(device_fill(dev, stats, 0, sizeof s) == CLGAN_OK);
    penalty_args a = {centred, (float)target, (float)w, (float)w, stats, 11};
    const char *why;
    ck_assert_int_eq(net_spec_no_tangent(n->spec, n->n_layers - 1, &why), -1);
    ck_assert_msg(penalty_pass(n, batch, &a) == CLGAN_OK, "%s", dev->err.msg);
    float *dp = malloc(n->n_params * sizeof *dp);
    ck_assert(device_read(dev, n->grads, 0, n->n_params * sizeof(float), dp) == CLGAN_OK);
    ck_assert(device_read(dev, stats, 0, sizeof s, s) == CLGAN_OK);
    device_release(dev, stats);
    int train = 1;
    for (int i = 0; i < n->n_layers; i++)
        if (n->layers[i].sn_rows) train = 0;
    if (!train) { /* u and v after the pass's power step */
        ck_assert(device_read(dev, n->params, 0, n->n_params * sizeof(float), f.pf) == CLGAN_OK);
        for (size_t j = 0; j < n->n_params; j++) f.p[j] = f.pf[j];
    }

    double want = host_penalty(n, f.p, f.x, batch, centred, target, w, train);
    ck_assert_msg(fabs(s[11] - want) <= 1e-4 * fabs(want) + 1e-5, "penalty %g, host %g", s[11],
                  want);
    ck_assert_msg(s[12] == 1.0f && s[6] == 0.0f, "count %g, non-finite flag %g", s[12], s[6]);
    double *fd = calloc(n->n_params, sizeof *fd), mag = 0;
    for (size_t j = 0; j < n->n_train; j++) {
        double keep = f.p[j];
        f.p[j] = keep + PEN_H_OUT;
        double vp = host_penalty(n, f.p, f.x, batch, centred, target, w, train);
        f.p[j] = keep - PEN_H_OUT;
        double vm = host_penalty(n, f.p, f.x, batch, centred, target, w, train);
        f.p[j] = keep;
        fd[j] = (vp - vm) / (2 * PEN_H_OUT);
        mag += fabs(fd[j]);
    }
    assert_close("dpenalty/dparams", dp, fd, n->n_params, 2e-3, 2e-5);
    ck_assert_msg(mag > 1e-2, "degenerate test: the penalty's gradient is ~0");
    free(dp);
    free(fd);
    fixture_free(&f);
}

static void check_penalty(const char *const *layers, int n_layers, shape3 in, int batch,
                          int centred) {
    fixture f;
    fixture_make_in(&f, layers, n_layers, in, batch, 31u + (unsigned)n_layers);
    check_penalty_f(&f, centred);
}

static const char *const pen_mlp[] = {"{type: dense, units: 7}", "{type: leaky_relu, slope: 0.2}",
                                      "{type: dense, units: 5}", "relu",
                                      "{type: dense, units: 1}"};
static const char *const pen_dropout[] = {"{type: dense, units: 9}", "{type: leaky_relu}",
                                          "{type: dropout, keep: 0.7}", "{type: dense, units: 1}"};
/* tanh and sigmoid inside D: their second derivatives in the third pass */
static const char *const pen_curved[] = {"{type: dense, units: 6}", "tanh",
                                         "{type: dense, units: 5}", "sigmoid",
                                         "{type: dropout, keep: 0.8}", "{type: dense, units: 4}",
                                         "{type: leaky_relu}", "{type: dense, units: 1}"};
static const char *const pen_curved_conv[] = {
    "{type: conv2d, filters: 3, kernel: 3, padding: 1}", "tanh", "{type: avg_pool2d, kernel: 2}",
    "flatten", "{type: dense, units: 3}", "sigmoid", "{type: dense, units: 1}"};
static const char *const pen_sn[] = {
    "{type: conv2d, filters: 3, kernel: 3, padding: 1, spectral_norm: true}", "{type: leaky_relu}",
    "{type: upsample, factor: 2}",
    "{type: conv2d, filters: 2, kernel: 3, stride: 2, padding: 1, spectral_norm: true}", "relu",
    "{type: global_avg_pool}", "{type: dense, units: 3, spectral_norm: true}", "relu",
    "{type: dense, units: 1, spectral_norm: true}"};
static const char *const pen_conv[] = {
    "{type: conv2d, filters: 3, kernel: 3, stride: 2, padding: 1}", "{type: leaky_relu}",
    "{type: conv2d, filters: 2, kernel: 2, bias: false}", "relu", "flatten",
    "{type: dense, units: 1}"};

/* R1's form and WGAN-GP's; through a one-unit layer fused (CPU devices) and as GEMMs */
START_TEST(penalty_mlp) {
    for (int fused = 0; fused < 2; fused++) {
        dev->unit_kernels = fused;
        check_penalty(pen_mlp, (int)ARRAY_LEN(pen_mlp), (shape3){6, 1, 1, 0}, 5, _i);
    }
    dev->unit_kernels = unit_default;
}
END_TEST

START_TEST(penalty_dropout) {
    check_penalty(pen_dropout, (int)ARRAY_LEN(pen_dropout), (shape3){5, 1, 1, 0}, 4, _i);
}
END_TEST

START_TEST(penalty_curved) {
    check_penalty(pen_curved, (int)ARRAY_LEN(pen_curved), (shape3){4, 1, 1, 0}, 5, _i);
    check_penalty(pen_curved_conv, (int)ARRAY_LEN(pen_curved_conv), (shape3){2, 4, 4, 0}, 3, _i);
}
END_TEST

/* spectral norm on dense and conv2d layers, upsample, global_avg_pool */
START_TEST(penalty_spectral_norm) {
    check_penalty(pen_sn, (int)ARRAY_LEN(pen_sn), (shape3){2, 4, 4, 0}, 3, _i);
}
END_TEST

START_TEST(penalty_conv) {
    check_penalty(pen_conv, (int)ARRAY_LEN(pen_conv), (shape3){2, 6, 6, 0}, 3, _i);
}
END_TEST

/* A graph D: fan-out, add, concat, pools, identity (the ResNet discriminators' pieces). */
static const char pen_graph_model[] =
    "noise: {dim: 16, distribution: gaussian}\n"
    "data: {format: idx, path: not_read.idx}\n"
    "generator:\n"
    "  layers:\n"
    "    - {type: reshape, shape: [1, 4, 4], name: img}\n"
    "    - {type: conv2d, filters: 2, kernel: 3, padding: same, name: c1}\n"
    "    - {type: leaky_relu, name: a1}\n"
    "    - {type: conv2d, filters: 2, kernel: 3, padding: same, name: c2}\n"
    "    - {type: add, from: [c2, c1]}\n"
    "    - {type: avg_pool2d, kernel: 2, name: pool}\n"
    "    - {type: identity, from: img, name: skip}\n"
    "    - {type: avg_pool2d, kernel: 2, name: pool2}\n"
    "    - {type: concat, from: [pool, pool2]}\n"
    "    - relu\n"
    "    - {type: global_sum_pool}\n"
    "    - {type: dense, units: 1}\n"
    "discriminator:\n"
    "  layers:\n"
    "    - {type: dense, units: 1}\n"
    "train: {batch: 4, loss: hinge, generator: {type: sgd, learning_rate: 0.1},\n"
    "        discriminator: {type: sgd, learning_rate: 0.1}}\n";

START_TEST(penalty_graph) {
    fixture f;
    fixture_make_yaml(&f, pen_graph_model, (shape3){1, 1, 1, 0}, 3, 41u);
    check_penalty_f(&f, _i);
}
END_TEST

/* A conditional D's kinds: the label joined (one-hot and embedded), maxout, the projection. */
static const char pen_cond_model[] =
    "noise: {dim: 5, distribution: gaussian}\n"
    "data: {format: idx, path: not_read.idx, labels: not_read_labels.idx}\n"
    "condition: {classes: 3}\n"
    "generator:\n"
    "  layers:\n"
    "    - {type: label_concat}\n"
    "    - {type: dense, units: 6}\n"
    "    - {type: leaky_relu}\n"
    "    - {type: label_concat, embed: 2}\n"
    "    - {type: maxout, units: 4, pieces: 3}\n"
    "    - {type: projection}\n"
    "discriminator:\n"
    "  layers:\n"
    "    - {type: dense, units: 1}\n"
    "train: {batch: 4, loss: hinge, generator: {type: sgd, learning_rate: 0.1},\n"
    "        discriminator: {type: sgd, learning_rate: 0.1}}\n";

START_TEST(penalty_conditional) {
    fixture f;
    fixture_make_yaml(&f, pen_cond_model, (shape3){1, 1, 1, 0}, 5, 43u);
    check_penalty_f(&f, _i);
}
END_TEST

/* Batch norm is refused by name, with why. */
START_TEST(penalty_refuses_kinds) {
    static const char *const bad[] = {"{type: dense, units: 4}", "batch_norm", "relu",
                                      "{type: dense, units: 1}"};
    fixture f;
    fixture_make(&f, bad, 4, 3, 2, 5u);
    const char *why;
    ck_assert_int_eq(net_spec_no_tangent(f.n->spec, 3, &why), 1);
    ck_assert_msg(why && strstr(why, "statistics tie"), "%s", why ? why : "(none)");
    fixture_free(&f);
}
END_TEST

/* ---- differentiable augmentation (augment.c) -------------------------------------------------- */

/* cl/augment.cl's ops on the host in double, from the same draws (floats, as the device's). */
static void host_augment(const augment_spec *a, float p, shape3 s, int n, uint32_t e0,
                         const uint32_t key[2], uint64_t stream, const double *x, double *y) {
    rng_stream rs = {{key[0], key[1]}, stream, RNG_TAG_AUGMENT};
    int C = s.c, H = s.h, W = s.w, HW = H * W, N = C * HW;
    for (int i = 0; i < n; i++) {
        uint64_t w0 = ((uint64_t)e0 + (uint64_t)i) * 16;
        float u[16];
        for (int j = 0; j < 16; j++) u[j] = rng_uniform01(&rs, w0 + (uint64_t)j);
        float b = 0, sat = 1, k = 1;
        int tx = 0, ty = 0, cw = 0, ch = 0, cx0 = 0, cy0 = 0;
        if ((a->policy & AUG_COLOR) && u[8] < p) b = u[0] - 0.5f, sat = 2.0f * u[1], k = u[2] + 0.5f;
        if ((a->policy & AUG_TRANSLATION) && u[9] < p) {
            int sx = (int)((float)W * 0.125f + 0.5f), sy = (int)((float)H * 0.125f + 0.5f);
            tx = (int)(u[3] * (float)(2 * sx + 1)) - sx;
            ty = (int)(u[4] * (float)(2 * sy + 1)) - sy;
        }
        if ((a->policy & AUG_CUTOUT) && u[10] < p) {
            cw = (int)((float)W * 0.5f + 0.5f);
            ch = (int)((float)H * 0.5f + 0.5f);
            cx0 = (int)(u[5] * (float)(W + 1 - cw % 2)) - cw / 2;
            cy0 = (int)(u[6] * (float)(H + 1 - ch % 2)) - ch / 2;
        }
        const double *xi = x + (size_t)i * N;
        double M = 0;
        for (int j = 0; j < N; j++) M += xi[j];
        M /= N;
        for (int c = 0; c < C; c++)
            for (int yy = 0; yy < H; yy++)
                for (int xx = 0; xx < W; xx++) {
                    int sy = yy - ty, sx = xx - tx;
                    int cut = cw > 0 && xx >= cx0 && xx < cx0 + cw && yy >= cy0 && yy < cy0 + ch;
                    double v = 0;
                    if (!cut && sy >= 0 && sy < H && sx >= 0 && sx < W) {
                        double mc = 0;
                        for (int cc = 0; cc < C; cc++) mc += xi[cc * HW + sy * W + sx];
                        mc /= C;
                        v = (double)k * sat * xi[c * HW + sy * W + sx] + (double)k * (1 - sat) * mc +
                            (1 - (double)k) * M + b;
                    }
                    y[(size_t)i * N + (size_t)(c * HW + yy * W + xx)] = v;
                }
    }
}

/* Each op alone and all three, always and with probability 0.5, on a grey and a colour shape:
 * the device's forward against the host's, and its backward against central differences of
 * the host's forward (r . aug(x) for a fixed r). */
START_TEST(augment_ops) {
    static const shape3 shapes[2] = {{1, 8, 8, 1}, {3, 6, 5, 1}};
    static const unsigned policies[4] = {AUG_COLOR, AUG_TRANSLATION, AUG_CUTOUT,
                                         AUG_COLOR | AUG_TRANSLATION | AUG_CUTOUT};
    const uint32_t key[2] = {0x1234u, 0x9876u};
    const int n = 6;
    const uint32_t e0 = 3;
    cl_kernel k = NULL;
    for (int si = 0; si < 2; si++)
        for (int pi = 0; pi < 4; pi++)
            for (int half = 0; half < 2; half++) {
                shape3 s = shapes[si];
                augment_spec a = {policies[pi], half ? 0.5f : 1.0f, 0, 0, 0};
                size_t N = (size_t)shape_size(s), nv = (size_t)n * N;
                unsigned seed = 7u + (unsigned)(si * 8 + pi * 2 + half);
                float *xf = malloc(nv * sizeof *xf), *rf = malloc(nv * sizeof *rf),
                      *y = malloc(nv * sizeof *y), *dx = malloc(nv * sizeof *dx);
                double *x = malloc(nv * sizeof *x), *r = malloc(nv * sizeof *r),
                       *want = malloc(nv * sizeof *want), *fd = malloc(nv * sizeof *fd),
                       *yh = malloc(nv * sizeof *yh);
                for (size_t i = 0; i < nv; i++) {
                    x[i] = xf[i] = (float)test_uniform(&seed, -1, 1);
                    r[i] = rf[i] = (float)test_uniform(&seed, -1, 1);
                }
                cl_mem buf;
                ck_assert(device_alloc(dev, 3 * nv * sizeof(float), "augment", &buf) == CLGAN_OK);
                ck_assert(device_write(dev, buf, 0, nv * sizeof(float), xf, 1) == CLGAN_OK);
                ck_assert(device_write(dev, buf, nv * sizeof(float), nv * sizeof(float), rf, 1) ==
                          CLGAN_OK);
                uint64_t stream = 40 + (uint64_t)pi;
                ck_assert_msg(augment_rows(dev, &k, &a, a.p, s, n, e0, key, stream, buf, 0, buf,
                                           2 * nv, 0) == CLGAN_OK, "%s", dev->err.msg);
                ck_assert(device_read(dev, buf, 2 * nv * sizeof(float), nv * sizeof(float), y) ==
                          CLGAN_OK);
                ck_assert(augment_rows(dev, &k, &a, a.p, s, n, e0, key, stream, buf, nv, buf,
                                       2 * nv, 1) == CLGAN_OK);
                ck_assert(device_read(dev, buf, 2 * nv * sizeof(float), nv * sizeof(float), dx) ==
                          CLGAN_OK);
                device_release(dev, buf);
                host_augment(&a, a.p, s, n, e0, key, stream, x, want);
                char what[64];
                snprintf(what, sizeof what, "augment %ux%ux%u policy %u p %g", s.c, s.h, s.w,
                         a.policy, a.p);
                assert_close(what, y, want, nv, 1e-5, 1e-5);
                for (size_t j = 0; j < nv; j++) { /* the ops are affine: exact differences */
                    double keep = x[j], lp, lm;
                    x[j] = keep + 1e-3;
                    host_augment(&a, a.p, s, n, e0, key, stream, x, yh);
                    lp = dot(yh, r, nv);
                    x[j] = keep - 1e-3;
                    host_augment(&a, a.p, s, n, e0, key, stream, x, yh);
                    lm = dot(yh, r, nv);
                    x[j] = keep;
                    fd[j] = (lp - lm) / 2e-3;
                }
                snprintf(what, sizeof what, "augment backward %ux%ux%u policy %u p %g", s.c, s.h,
                         s.w, a.policy, a.p);
                assert_close(what, dx, fd, nv, 1e-4, 1e-5);
                /* the draws take effect: no op leaves every sample as it was */
                double moved = 0;
                for (size_t i = 0; i < nv; i++) moved += fabs(want[i] - x[i]);
                ck_assert_msg(moved > 1e-2, "%s changed nothing", what);
                free(xf), free(rf), free(y), free(dx), free(x), free(r), free(want), free(fd),
                    free(yh);
            }
    clReleaseKernel(k);
}
END_TEST

static void setup(void) {
    dev = test_device();
    unit_default = dev->unit_kernels;
    conv_default = dev->conv_path;
}
static void groups_reset(void) {
    groups_under_test = 1; /* whatever a failed test left */
}
static void teardown(void) {
    clgan_device_free(dev);
}

int main(int argc, char **argv) {
    Suite *s = suite_create("layers");
    TCase *fwd = tcase_create("forward");
    tcase_add_unchecked_fixture(fwd, setup, teardown);
    tcase_add_checked_fixture(fwd, groups_reset, NULL);
    tcase_add_test(fwd, fwd_dense);
    tcase_add_test(fwd, fwd_maxout);
    tcase_add_test(fwd, fwd_relu);
    tcase_add_test(fwd, fwd_leaky_relu);
    tcase_add_test(fwd, fwd_tanh);
    tcase_add_test(fwd, fwd_sigmoid);
    tcase_add_test(fwd, fwd_dropout_train);
    tcase_add_test(fwd, fwd_dropout_eval);
    tcase_add_test(fwd, fwd_stack);
    tcase_add_test(fwd, fwd_partial_batch);
    tcase_add_checked_fixture(fwd, NULL, conv_restore);
    tcase_add_loop_test(fwd, fwd_conv2d, 0, (int)ARRAY_LEN(conv_cases));
    tcase_add_test(fwd, conv_route_auto);
    tcase_add_test(fwd, conv2d_shapes);
    tcase_add_test(fwd, nan_passes_activations);
    tcase_add_loop_test(fwd, fwd_conv_transpose2d, 0, (int)ARRAY_LEN(convt_cases));
    tcase_add_test(fwd, conv_transpose2d_is_adjoint);
    tcase_add_loop_test(fwd, fwd_batch_norm, 0, (int)ARRAY_LEN(bn_cases));
    tcase_add_test(fwd, batch_norm_running_statistics);
    tcase_add_test(fwd, fwd_conv_stack);
    tcase_add_loop_test(fwd, fwd_upsample, 0, (int)ARRAY_LEN(upsample_cases));
    suite_add_tcase(s, fwd);
    TCase *bwd = tcase_create("backward");
    tcase_add_unchecked_fixture(bwd, setup, teardown);
    tcase_add_checked_fixture(bwd, groups_reset, NULL);
    tcase_add_checked_fixture(bwd, NULL, conv_restore);
    tcase_add_test(bwd, bwd_dense);
    tcase_add_test(bwd, bwd_maxout);
    tcase_add_test(bwd, bwd_relu);
    tcase_add_test(bwd, bwd_leaky_relu);
    tcase_add_test(bwd, bwd_tanh);
    tcase_add_test(bwd, bwd_sigmoid);
    tcase_add_test(bwd, bwd_dropout);
    tcase_add_test(bwd, bwd_stack);
    tcase_add_loop_test(bwd, bwd_conv2d, 0, (int)ARRAY_LEN(conv_cases));
    tcase_add_loop_test(bwd, bwd_conv_transpose2d, 0, (int)ARRAY_LEN(convt_cases));
    tcase_add_loop_test(bwd, bwd_batch_norm, 0, (int)ARRAY_LEN(bn_cases));
    tcase_add_test(bwd, bwd_conv_stack);
    tcase_add_loop_test(fwd, fwd_pool, 0, (int)ARRAY_LEN(pool_cases));
    tcase_add_loop_test(bwd, bwd_pool, 0, (int)ARRAY_LEN(pool_cases));
    tcase_add_test(fwd, graph_forward);
    tcase_add_test(fwd, graph_paths);
    tcase_add_test(bwd, graph_backward);
    tcase_add_test(bwd, cond_batch_norm);
    tcase_add_loop_test(bwd, bwd_upsample, 0, (int)ARRAY_LEN(upsample_cases));
    suite_add_tcase(s, bwd);
    TCase *unit = tcase_create("unit");
    tcase_add_unchecked_fixture(unit, setup, teardown);
    tcase_add_checked_fixture(unit, NULL, unit_restore);
    tcase_add_test(unit, unit_runs_where_cpu);
    tcase_add_test(unit, unit_fused);
    tcase_add_test(unit, unit_as_gemm);
    tcase_add_test(unit, unit_partial_backward);
    suite_add_tcase(s, unit);
    TCase *loss = tcase_create("loss");
    tcase_add_unchecked_fixture(loss, setup, teardown);
    tcase_add_test(loss, loss_discriminator);
    tcase_add_test(loss, loss_label_smoothing);
    tcase_add_test(loss, loss_g_non_saturating);
    tcase_add_test(loss, loss_g_minimax);
    tcase_add_test(loss, loss_saturated_logits_finite);
    tcase_add_test(loss, loss_softmax_cross_entropy);
    tcase_add_test(loss, loss_gan_kinds);
    tcase_add_test(loss, spectral_sigma_is_the_largest_singular_value);
    tcase_add_test(loss, spectral_norm_pass_and_gradients);
    tcase_add_test(loss, label_concat_layer);
    tcase_add_test(loss, label_concat_needs_a_condition);
    tcase_add_test(loss, projection_layer);
    tcase_add_test(loss, init_params_follow_spec);
    suite_add_tcase(s, loss);
    TCase *pen = tcase_create("penalty");
    tcase_add_unchecked_fixture(pen, setup, teardown);
    tcase_add_checked_fixture(pen, groups_reset, NULL);
    tcase_add_loop_test(pen, penalty_mlp, 0, 2);
    tcase_add_loop_test(pen, penalty_dropout, 0, 2);
    tcase_add_loop_test(pen, penalty_conv, 0, 2);
    tcase_add_loop_test(pen, penalty_spectral_norm, 0, 2);
    tcase_add_loop_test(pen, penalty_curved, 0, 2);
    tcase_add_loop_test(pen, penalty_graph, 0, 2);
    tcase_add_loop_test(pen, penalty_conditional, 0, 2);
    tcase_add_test(pen, penalty_refuses_kinds);
    suite_add_tcase(s, pen);
    TCase *aug = tcase_create("augment");
    tcase_add_unchecked_fixture(aug, setup, teardown);
    tcase_add_test(aug, augment_ops);
    suite_add_tcase(s, aug);
    /* One device and CLBlast's compiled kernels shared by every test: no fork. */
    return run_suite(s, argc, argv, 0);
}
