/*
 * gan.c - Algorithm 1. Owns the two networks, their optimizers, the loss and the statistics;
 * borrows the device, the model and the uploaded dataset.
 *
 * Buffers in play: D has room for 2m rows. A D step gathers m real rows into D's input rows
 * [0, m) and copies G's m outputs into rows [m, 2m). A G step copies G's outputs into D's rows
 * [0, m), backpropagates D's loss to D's input and copies that gradient into G's output slot.
 */
#include "gan.h"

#include "classify.h"
#include "augment.h"
#include "comm.h"
#include "gemm.h"
#include "penalty.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clgan_status copy_rows(clgan_device *dev, cl_mem src, size_t src_off, cl_mem dst,
                              size_t dst_off, size_t count, const char *what) {
    cl_int rc = clEnqueueCopyBuffer(dev->queue, src, dst, src_off * sizeof(float),
                                    dst_off * sizeof(float), count * sizeof(float), 0, NULL, NULL);
    if (rc != CL_SUCCESS) return err_cl(&dev->err, rc, "clEnqueueCopyBuffer", "%s", what);
    return CLGAN_OK;
}

trainer *trainer_replica(trainer *t, int i) {
    return i == 0 ? t : &t->peers[i - 1];
}

/*
 * Picks the faster GEMM path for every product of one pass over `rows` rows of network ns
 * (measured once per device and shape; the choices are remembered in the program cache).
 */
static clgan_status tune_pass(clgan_device *dev, const net_spec *ns, int rows, int din, int dw) {
    int n = net_gemm_shapes(dev, ns, rows, 1, din, dw, NULL, 0);
    gemm_shape *shapes = malloc((size_t)(n > 0 ? n : 1) * sizeof *shapes);
    if (!shapes) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    net_gemm_shapes(dev, ns, rows, 1, din, dw, shapes, n);
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < n && st == CLGAN_OK; i++)
        st = gemm_tune(dev, shapes[i].ta, shapes[i].tb, shapes[i].m, shapes[i].n, shapes[i].k,
                       NULL);
    free(shapes);
    return st;
}

clgan_status trainer_init(trainer *t, clgan_device *dev, const clgan_model *m, dataset *data,
                          int sample_rows) {
    memset(t, 0, sizeof *t);
    t->dev = dev;
    t->m = m;
    t->data = data;
    int batch = m->train.batch;
    t->rows = batch;
    t->sample_capacity = sample_rows > batch ? sample_rows : batch;
    uint64_t seed = m->train.seed;
    clgan_status st = CLGAN_OK;
    if (m->kind == MODEL_CLASSIFIER) {
        st = device_alloc(dev, STAT_COUNT * sizeof(float), "statistics", &t->stats);
        if (st == CLGAN_OK) st = device_fill(dev, t->stats, 0, STAT_COUNT * sizeof(float));
        if (st == CLGAN_OK) st = device_kernel(dev, "cl/gan.cl", "flag_nonfinite", &t->k_flag);
        if (st == CLGAN_OK) st = classifier_open(t, &t->cls);
        if (st == CLGAN_OK) st = tune_pass(dev, &m->net[CLGAN_CLASSIFIER], batch, 0, 1);
        t->batches_per_epoch = data->n / batch;
        if (st == CLGAN_OK) st = dataset_begin_epoch(data, 0);
        if (st != CLGAN_OK) trainer_free(t);
        return st;
    }
    st = net_create(dev, m, CLGAN_GENERATOR, t->sample_capacity, seed, &t->g);
    int drows = batch / m->train.pack; /* D's rows per half (PacGAN packs samples) */
    if (st == CLGAN_OK) st = net_create(dev, m, CLGAN_DISCRIMINATOR, 2 * drows, seed, &t->d);
    if (st != CLGAN_OK) goto fail;
    t->g->stream_next = &t->stream;
    t->d->stream_next = &t->stream;
    float *mean = dataset_mean(data);
    st = net_init_params(t->g, mean);
    free(mean);
    if (st == CLGAN_OK) st = net_init_params(t->d, NULL);
    if (st == CLGAN_OK) st = optim_init(&t->opt[0], t->g, &m->train.opt[CLGAN_GENERATOR]);
    if (st == CLGAN_OK) st = optim_init(&t->opt[1], t->d, &m->train.opt[CLGAN_DISCRIMINATOR]);
    if (st == CLGAN_OK) st = loss_init(dev, 2 * batch, &t->loss);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/gan.cl", "gan_stats", &t->k_stats);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/gan.cl", "flag_nonfinite", &t->k_flag);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/optim.cl", "clip_values", &t->k_clip);
    if (st == CLGAN_OK && m->train.ema > 0) { /* starts as the initial weights */
        size_t bytes = t->g->n_params * sizeof(float);
        st = device_kernel(dev, "cl/optim.cl", "ema_update", &t->k_ema);
        if (st == CLGAN_OK) st = device_alloc(dev, bytes, "the generator's average", &t->ema);
        if (st == CLGAN_OK)
            st = net_create(dev, m, CLGAN_GENERATOR, t->sample_capacity, seed, &t->g_ema);
        if (st == CLGAN_OK) st = copy_rows(dev, t->g->params, 0, t->ema, 0, t->g->n_params,
                                           "G's weights into their average");
    }
    if (st == CLGAN_OK) st = device_alloc(dev, STAT_COUNT * sizeof(float), "statistics", &t->stats);
    if (st == CLGAN_OK) st = device_fill(dev, t->stats, 0, STAT_COUNT * sizeof(float));
    int pen = 0;
    for (int k = 0; k < PENALTY_KINDS; k++) pen |= m->train.penalty[k].weight > 0;
    if (st == CLGAN_OK && pen)
        st = device_alloc(dev, t->d->n_params * sizeof(float), "the penalties' gradients",
                          &t->pen_grads);
    if (st == CLGAN_OK && pen)
        st = device_alloc(dev, (size_t)drows * t->d->in.cols * sizeof(float),
                          "the real rows beside a penalty's", &t->pen_save);
    t->aug_p = m->train.augment.p;
    if (st == CLGAN_OK && m->train.augment.target > 0) {
        st = device_alloc(dev, 2 * sizeof(float), "ADA's sums", &t->ada);
        if (st == CLGAN_OK) st = device_fill(dev, t->ada, 0, 2 * sizeof(float));
        if (st == CLGAN_OK) st = device_kernel(dev, "cl/gan.cl", "sign_sum", &t->k_sign);
    }
    if (st == CLGAN_OK && m->train.augment.policy)
        st = device_alloc(dev, 2 * (size_t)drows * t->d->in.cols * sizeof(float),
                          "D's rows before augmentation", &t->aug_src);
    if (st == CLGAN_OK && pen && t->d->labels)
        st = device_alloc(dev, (size_t)drows, "the real rows' labels beside R2's",
                          &t->pen_labels);
    if (st != CLGAN_OK) goto fail;
    /* the GEMM path of every product an iteration runs */
    const struct {
        const net_spec *net;
        int rows, din, dw;
    } passes[3] = {{&m->net[CLGAN_GENERATOR], batch, 0, 1},
                   {&m->net[CLGAN_DISCRIMINATOR], 2 * drows, 0, 1},
                   {&m->net[CLGAN_DISCRIMINATOR],
                    m->train.loss == GAN_LOSS_RELATIVISTIC ? 2 * drows : drows, 1, 0}};
    for (int p = 0; p < 3 && st == CLGAN_OK; p++)
        st = tune_pass(dev, passes[p].net, passes[p].rows, passes[p].din, passes[p].dw);
    if (st != CLGAN_OK) goto fail;
    t->batches_per_epoch = data->n / batch;
    st = dataset_begin_epoch(data, 0);
    if (st != CLGAN_OK) goto fail;
    return CLGAN_OK;
fail:
    trainer_free(t);
    return st;
}

void trainer_free(trainer *t) {
    if (t->driver) t->driver->release(t); /* the peers, and what the replicas shared */
    t->driver = NULL;
    if (t->dev) device_finish(t->dev); /* nothing in flight may use what is freed */
    for (int w = 0; w < MODEL_NETS; w++) optim_free(&t->opt[w]);
    loss_free(&t->loss);
    if (t->k_stats) clReleaseKernel(t->k_stats);
    if (t->k_flag) clReleaseKernel(t->k_flag);
    if (t->k_clip) clReleaseKernel(t->k_clip);
    if (t->k_ema) clReleaseKernel(t->k_ema);
    if (t->dev) device_release(t->dev, t->ema);
    net_free(t->g_ema);
    t->g_ema = NULL;
    t->ema = NULL;
    t->k_ema = NULL;
    if (t->dev) {
        device_release(t->dev, t->stats);
        device_release(t->dev, t->pen_grads);
        device_release(t->dev, t->pen_save);
        device_release(t->dev, t->pen_labels);
        device_release(t->dev, t->aug_src);
        device_release(t->dev, t->ada);
    }
    if (t->k_aug) clReleaseKernel(t->k_aug);
    if (t->k_sign) clReleaseKernel(t->k_sign);
    t->k_aug = t->k_sign = NULL;
    t->ada = NULL;
    net_free(t->g);
    net_free(t->d);
    classifier_free(t->cls, t->dev);
    t->cls = NULL;
    t->g = t->d = NULL;
    t->k_stats = t->k_clip = t->k_flag = NULL;
    t->stats = t->pen_grads = t->pen_save = t->pen_labels = t->aug_src = NULL;
}

clgan_status trainer_seek(trainer *t) {
    clgan_status st = dataset_begin_epoch(t->data, t->epoch);
    for (int i = 0; i < t->n_peers && st == CLGAN_OK; i++) {
        t->peers[i].epoch = t->epoch;
        t->peers[i].batch_in_epoch = t->batch_in_epoch;
        st = trainer_seek(&t->peers[i]);
    }
    return st;
}

static clgan_status add_stats(trainer *t, int n, int n_first, int slot_loss, int slot_count,
                              int probs, float loss_scale) {
    tensor z = net_logits(t->d);
    cl_uint z_off = (cl_uint)z.off, cnt = (cl_uint)n, nf = (cl_uint)n_first,
            sl = (cl_uint)slot_loss, sc = (cl_uint)slot_count, pr = (cl_uint)probs;
    karg a[] = {KA(t->d->acts), KA(z_off), KA(t->loss.values), KA(cnt), KA(nf),
                KA(t->stats),   KA(sl),    KA(sc),             KA(pr),  KA(loss_scale)};
    clgan_status st = device_set_args(t->dev, t->k_stats, "gan_stats", a, 10);
    if (st != CLGAN_OK) return st;
    return device_run_group(t->dev, t->k_stats, 64, "gan_stats");
}

/* Bytes of one device buffer into another (the rows' labels), enqueued. */
static clgan_status copy_bytes(clgan_device *dev, cl_mem src, size_t src_off, cl_mem dst,
                               size_t dst_off, size_t count, const char *what) {
    cl_int rc = clEnqueueCopyBuffer(dev->queue, src, dst, src_off, dst_off, count, 0, NULL, NULL);
    if (rc != CL_SUCCESS) return err_cl(&dev->err, rc, "clEnqueueCopyBuffer", "%s", what);
    return CLGAN_OK;
}

/*
 * Noise into G's input (and, for a conditional model, fresh labels drawn uniformly), G
 * forward: G's output holds m fresh samples. The labels go on to D's rows from d_row.
 */
static clgan_status generate(trainer *t, int m, int d_row) {
    int k = t->m->condition_classes;
    clgan_status st = CLGAN_OK;
    if (k > 0) st = net_draw_labels(t->g, m, k);
    if (st == CLGAN_OK) st = net_draw_noise(t->g, &t->m->noise, m, NULL);
    if (st == CLGAN_OK) st = net_forward(t->g, m, 1);
    if (st == CLGAN_OK && k > 0 && t->d->labels)
        st = copy_bytes(t->dev, t->g->labels, 0, t->d->labels, (size_t)d_row, (size_t)m,
                        "G's labels into D's rows");
    return st;
}

/* A conditional model: the labels of the epoch's positions [first, first + rows) into D's
 * rows [0, rows). */
static clgan_status real_labels(trainer *t, long first, int rows) {
    if (t->m->condition_classes == 0 || !t->d->labels) return CLGAN_OK;
    return dataset_gather_labels(t->data, first, rows, t->d->labels);
}

/*
 * The gradient penalties of this D step (t->pen_now), on D's rows [0, dr) in turn: the real rows
 * (R1), the generated rows copied over them (R2), or interpolates of the two (WGAN-GP); the real
 * rows are put back after each. Their gradients add up in pen_grads, which the loss's backward
 * pass adds into D's. Each is a mean over the global batch's D rows, as the loss is; R1 and R2
 * applied every N steps weigh N times as much. A conditional D's rows keep their labels: R2's
 * the generated rows', WGAN-GP's interpolates the real rows' (as StudioGAN's).
 */
static clgan_status d_penalties(trainer *t, int dr) {
    const train_spec *ts = &t->m->train;
    net *d = t->d;
    size_t vals = (size_t)dr * d->in.cols, in = d->in.off;
    float per = (float)ts->pack / (float)ts->batch;
    int first = 1;
    clgan_status st = CLGAN_OK;
    d->groups = 1;
    t->dev->prof_part = "penalty"; /* bench's profile counts its kernels apart */
    for (int k = 0; k < PENALTY_KINDS && st == CLGAN_OK; k++) {
        if (!(t->pen_now & (1u << k))) continue;
        const penalty_spec *ps = &ts->penalty[k];
        penalty_args a = {k == PENALTY_GP, ps->target, ps->weight * (float)ps->every * per,
                          ps->weight * per, t->stats, STAT_PENALTY + 2 * k};
        if (k != PENALTY_R1)
            st = copy_rows(t->dev, d->acts, in, t->pen_save, 0, vals, "D's real rows aside");
        if (st == CLGAN_OK && k == PENALTY_R2)
            st = copy_rows(t->dev, d->acts, in + vals, d->acts, in, vals,
                           "the generated rows over the real ones (R2)");
        if (st == CLGAN_OK && k == PENALTY_R2 && d->labels)
            st = copy_bytes(t->dev, d->labels, 0, t->pen_labels, 0, (size_t)dr,
                            "D's real rows' labels aside");
        if (st == CLGAN_OK && k == PENALTY_R2 && d->labels)
            st = copy_bytes(t->dev, d->labels, (size_t)dr, d->labels, 0, (size_t)dr,
                            "the generated rows' labels over the real ones (R2)");
        if (st == CLGAN_OK && k == PENALTY_GP) st = penalty_mix(d, dr);
        if (st == CLGAN_OK) st = penalty_pass(d, dr, &a);
        if (st == CLGAN_OK && k != PENALTY_R1)
            st = copy_rows(t->dev, t->pen_save, 0, d->acts, in, vals, "D's real rows back");
        if (st == CLGAN_OK && k == PENALTY_R2 && d->labels)
            st = copy_bytes(t->dev, t->pen_labels, 0, d->labels, 0, (size_t)dr,
                            "D's real rows' labels back");
        if (st == CLGAN_OK && first)
            st = copy_rows(t->dev, d->grads, 0, t->pen_grads, 0, d->n_train,
                           "a penalty's gradients");
        else if (st == CLGAN_OK)
            st = net_add(d, t->pen_grads, 0, d->grads, 0, d->n_train);
        first = 0;
    }
    t->dev->prof_part = NULL;
    d->grads_extra = first ? NULL : t->pen_grads;
    return st;
}

/*
 * train.augment: D's input rows, `rows` samples of real data (first, where `real`) and `rows`
 * generated ones after them, augmented in place (through aug_src), with a fresh stream's draws.
 * A sample's draws are those of its global index: real ones 0 .. m, generated ones m .. 2m of
 * the global batch (m samples a half), so that replicas augment as one device does.
 */
static clgan_status augment_d_rows(trainer *t, int real, int rows, uint64_t *stream) {
    const augment_spec *a = &t->m->train.augment;
    net *d = t->d;
    shape3 s = t->m->data.shape;
    size_t per = (size_t)shape_size(s), vals = (size_t)rows * per * (real ? 2 : 1);
    *stream = (*d->stream_next)++;
    clgan_status st = copy_rows(t->dev, d->acts, d->in.off, t->aug_src, 0, vals,
                                "D's rows before augmentation");
    uint32_t m = (uint32_t)t->m->train.batch, r0 = (uint32_t)t->row0;
    for (int h = real ? 0 : 1, at = 0; h < 2 && st == CLGAN_OK; h++, at++)
        st = augment_rows(t->dev, &t->k_aug, a, t->aug_p, s, rows, (uint32_t)h * m + r0, d->key,
                          *stream, t->aug_src, (size_t)at * rows * per, d->acts,
                          d->in.off + (size_t)at * rows * per, 0);
    return st;
}

/* A D step up to D's logits: this replica's rows of the minibatch and of G's samples. */
static clgan_status d_forward(trainer *t) {
    const int m = t->m->train.batch, rows = t->rows;
    net *g = t->g, *d = t->d;
    clgan_status st;
    if (t->batch_in_epoch >= t->batches_per_epoch) {
        t->epoch++;
        t->batch_in_epoch = 0;
        if ((st = dataset_begin_epoch(t->data, t->epoch)) != CLGAN_OK) return st;
    }
    /* PacGAN: D judges `pack` samples at once; consecutive samples of a half are one of its
     * rows already (a row of D's input is pack samples back to back, which for images is
     * their channels joined), so only the row count changes */
    const int dr = rows / t->m->train.pack;
    size_t cols = g->out.cols; /* values per sample */
    long first = t->batch_in_epoch * m + t->row0;
    st = dataset_gather(t->data, first, rows, d->acts, d->in.off);
    if (st == CLGAN_OK) st = real_labels(t, first, rows);
    t->batch_in_epoch++;
    if (t->fake_from_data) { /* a second, independent batch of data stands in for G */
        long b = (t->batch_in_epoch + t->batches_per_epoch / 2) % t->batches_per_epoch;
        if (st == CLGAN_OK)
            st = dataset_gather(t->data, b * m, m, d->acts, d->in.off + (size_t)m * cols);
    } else {
        if (st == CLGAN_OK) st = generate(t, rows, rows);
        if (st == CLGAN_OK)
            st = copy_rows(t->dev, g->acts, g->out.off, d->acts, d->in.off + (size_t)rows * cols,
                           (size_t)rows * cols, "G(z) into D's input");
    }
    uint64_t aug_stream; /* G's step keeps its own for the backward pass; D's needs none */
    if (st == CLGAN_OK && t->m->train.augment.policy)
        st = augment_d_rows(t, 1, rows, &aug_stream);
    if (st == CLGAN_OK && t->pen_now) st = d_penalties(t, dr);
    /* batch statistics (batch norm) of the real rows and of the generated rows apart, as the
     * reference DCGANs compute them by running D on each half */
    d->groups = 2;
    if (st == CLGAN_OK) st = net_forward(d, 2 * dr, 1);
    t->step_n = 2 * dr;
    t->step_real = dr;
    return st;
}

/* The D step's loss and D's gradients. */
static clgan_status d_backward(trainer *t) {
    const train_spec *ts = &t->m->train;
    net *d = t->d;
    const int n = t->step_n, dr = t->step_real;
    /* D ascends log D(x) + log(1 - D(G(z))): it descends BCE with targets 1 (real), 0 (fake);
     * or train.loss's D part. Scaled by the global batch: the replicas' gradients add up. */
    float scale = (float)ts->pack / (float)ts->batch;
    clgan_status st = loss_gan(&t->loss, d, ts->loss, 0, n, dr, ts->label_smoothing, scale);
    if (st == CLGAN_OK)
        st = add_stats(t, n, dr, STAT_D_LOSS, STAT_N_D, gan_loss_needs_critic(ts->loss) ? 2 : 1,
                       scale);
    if (st == CLGAN_OK && t->ada) { /* ADA's r_t: the real rows' signs */
        tensor z = net_logits(d);
        cl_uint zo = (cl_uint)z.off, nr = (cl_uint)dr;
        karg a[] = {KA(d->acts), KA(zo), KA(nr), KA(t->ada)};
        st = device_set_args(t->dev, t->k_sign, "sign_sum", a, 4);
        if (st == CLGAN_OK) st = device_run_group(t->dev, t->k_sign, 64, "sign_sum");
    }
    if (st == CLGAN_OK) st = net_backward(d, net_logit_layer(d), n, 0, 1);
    d->grads_extra = NULL; /* the penalties' gradients went in with the loss's */
    return st;
}

/* A D step's update from the (summed) gradients. */
static clgan_status d_apply(trainer *t) {
    const train_spec *ts = &t->m->train;
    net *d = t->d;
    clgan_status st = optim_step(&t->opt[1], t->epoch);
    if (st == CLGAN_OK && ts->loss == GAN_LOSS_WASSERSTEIN && ts->clip > 0) {
        cl_uint cnt = (cl_uint)d->n_train; /* the critic's weights into [-c, c] */
        karg a[] = {KA(d->params), KA(cnt), KA(ts->clip)};
        st = device_set_args(t->dev, t->k_clip, "clip_values", a, 3);
        if (st == CLGAN_OK) st = device_run1d(t->dev, t->k_clip, cnt, "clip_values");
    }
    return st;
}

/* A G step up to D's logits: this replica's rows of m fresh samples. */
static clgan_status g_forward(trainer *t) {
    const int m = t->m->train.batch, rows = t->rows;
    net *g = t->g, *d = t->d;
    size_t cols = g->out.cols; /* values per sample; D's rows hold `pack` of them */
    const train_spec *ts = &t->m->train;
    const int dr = rows / ts->pack;
    /* the relativistic loss compares with real rows: the last D step's minibatch before the
     * generated ones, each half with its own batch statistics as in a D step */
    int ra = ts->loss == GAN_LOSS_RELATIVISTIC, n_real = ra ? dr : 0, n = n_real + dr;
    size_t real_vals = ra ? (size_t)rows * cols : 0;
    clgan_status st = generate(t, rows, n_real);
    if (st == CLGAN_OK && ra) {
        long b = t->batch_in_epoch > 0 ? t->batch_in_epoch - 1 : 0;
        st = dataset_gather(t->data, b * m + t->row0, rows, d->acts, d->in.off);
        if (st == CLGAN_OK) st = real_labels(t, b * m + t->row0, rows);
    }
    if (st == CLGAN_OK)
        st = copy_rows(t->dev, g->acts, g->out.off, d->acts, d->in.off + real_vals,
                       (size_t)rows * cols, "G(z) into D's input");
    if (st == CLGAN_OK && ts->augment.policy) st = augment_d_rows(t, ra, rows, &t->aug_stream);
    d->groups = ra ? 2 : 1; /* m generated rows: their own statistics */
    if (st == CLGAN_OK) st = net_forward(d, n, 1);
    t->step_n = n;
    t->step_real = n_real;
    return st;
}

/* The G step's loss, backpropagated through D (without D's weight gradients) into G. */
static clgan_status g_backward(trainer *t) {
    const int rows = t->rows, n = t->step_n, n_real = t->step_real;
    net *g = t->g, *d = t->d;
    size_t cols = g->out.cols;
    const train_spec *ts = &t->m->train;
    size_t real_vals = n_real ? (size_t)rows * cols : 0;
    /* non-saturating: G descends -log D(G(z)) = BCE(target 1); minimax: log(1 - D(G(z))); or
     * train.loss's G part */
    float scale = (float)ts->pack / (float)ts->batch;
    clgan_status st = loss_gan(&t->loss, d, ts->loss, 1, n, n_real, 0.0f, scale);
    if (st == CLGAN_OK) st = add_stats(t, n, n_real, STAT_G_LOSS, STAT_N_G, 0, scale);
    if (st == CLGAN_OK) st = net_backward(d, net_logit_layer(d), n, 1, 0); /* no dW for D */
    if (st == CLGAN_OK && ts->augment.policy) /* back through the augmentation */
        st = augment_rows(t->dev, &t->k_aug, &ts->augment, t->aug_p, t->m->data.shape, rows,
                          (uint32_t)ts->batch + (uint32_t)t->row0, d->key, t->aug_stream,
                          d->deltas, d->din.off + real_vals, g->deltas, g->dout.off, 1);
    else if (st == CLGAN_OK)
        st = copy_rows(t->dev, d->deltas, d->din.off + real_vals, g->deltas, g->dout.off,
                       (size_t)rows * cols, "dL/dG(z) into G's output gradient");
    if (st == CLGAN_OK) st = net_backward(g, g->n_layers - 1, rows, 0, 1);
    return st;
}

/* A G step's update from the (summed) gradients, and the average of G's weights. */
static clgan_status g_apply(trainer *t) {
    const train_spec *ts = &t->m->train;
    net *g = t->g;
    clgan_status st = optim_step(&t->opt[0], t->epoch);
    if (st == CLGAN_OK && t->ema) { /* ema = decay ema + (1 - decay) w; statistics copied */
        cl_uint n = (cl_uint)g->n_train;
        karg a[] = {KA(t->ema), KA(g->params), KA(n), KA(ts->ema)};
        st = device_set_args(t->dev, t->k_ema, "ema_update", a, 4);
        if (st == CLGAN_OK) st = device_run1d(t->dev, t->k_ema, (n + 15) / 16, "ema_update");
        if (st == CLGAN_OK && g->n_params > g->n_train)
            st = copy_rows(t->dev, g->params, g->n_train, t->ema, g->n_train,
                           g->n_params - g->n_train, "G's running statistics into the average");
    }
    return st;
}

/*
 * One step of network w on every replica: the forward passes, the relativistic loss's means
 * over every replica's rows, the backward passes, the sum of the gradients, the update.
 */
static clgan_status lockstep(trainer *t, clgan_status (*fwd)(trainer *),
                             clgan_status (*bwd)(trainer *), clgan_net w,
                             clgan_status (*apply)(trainer *)) {
    const replica_driver *d = t->driver;
    if (!d) { /* alone: the passes and the update, nothing to meet */
        clgan_status st = fwd(t);
        if (st == CLGAN_OK) st = bwd(t);
        return st == CLGAN_OK ? apply(t) : st;
    }
    clgan_status st = d->each(t, fwd);
    if (st == CLGAN_OK && t->m->train.loss == GAN_LOSS_RELATIVISTIC)
        st = d->relativistic(t, w == CLGAN_GENERATOR);
    if (st == CLGAN_OK) st = d->each(t, bwd);
    for (int i = 0; i <= t->n_peers && st == CLGAN_OK; i++)
        st = d->flush(trainer_replica(t, i), w);
    if (st == CLGAN_OK) st = d->reduce(t, w);
    for (int i = 0; i <= t->n_peers && st == CLGAN_OK; i++) st = apply(trainer_replica(t, i));
    return st;
}

/* D step `index` of the run (iteration i's j-th of k: i k + j), which says which penalties
 * it applies: every replica the same. */
static clgan_status d_step(trainer *t, uint64_t index) {
    unsigned now = 0;
    for (int k = 0; k < PENALTY_KINDS; k++) {
        const penalty_spec *ps = &t->m->train.penalty[k];
        if (ps->weight > 0 && index % (uint64_t)ps->every == 0) now |= 1u << k;
    }
    for (int i = 0; i <= t->n_peers; i++) trainer_replica(t, i)->pen_now = now;
    return lockstep(t, d_forward, d_backward, CLGAN_DISCRIMINATOR, d_apply);
}

static clgan_status g_step(trainer *t) {
    return lockstep(t, g_forward, g_backward, CLGAN_GENERATOR, g_apply);
}

clgan_status trainer_ada_read(trainer *t, float state[3]) {
    float sums[2] = {0, 0};
    state[0] = t->aug_p;
    state[1] = state[2] = 0;
    for (int i = 0; i <= t->n_peers && t->ada; i++) {
        trainer *r = trainer_replica(t, i);
        clgan_status st = device_read(r->dev, r->ada, 0, sizeof sums, sums);
        if (st != CLGAN_OK) return st;
        state[1] += sums[0];
        state[2] += sums[1];
    }
    if (t->ada && comm_active(t->comm)) {
        char what[64];
        snprintf(what, sizeof what, "ADA's sums at iteration %llu", (unsigned long long)t->iter);
        return comm_sum(t->comm, state + 1, 2, what, &t->dev->err);
    }
    return CLGAN_OK;
}

clgan_status trainer_ada_sync(trainer *t) {
    return t->ada ? trainer_ada_read(t, t->ada_state) : CLGAN_OK;
}

clgan_status trainer_ada_write(trainer *t, const float state[3]) {
    clgan_status st = CLGAN_OK;
    for (int i = 0; i <= t->n_peers && st == CLGAN_OK; i++) {
        trainer *r = trainer_replica(t, i);
        r->aug_p = state[0];
        if (!r->ada) continue;
        /* the sums on replica 0 of rank 0 alone: added up again, they are the whole */
        int lead = i == 0 && (!comm_active(t->comm) || t->comm->rank == 0);
        float sums[2] = {lead ? state[1] : 0, lead ? state[2] : 0};
        st = device_write(r->dev, r->ada, 0, sizeof sums, sums, 1);
    }
    return st;
}

/*
 * ADA's adjustment after D step `index` (every ADA_INTERVAL of them): r_t = the mean sign of D
 * on the real rows since the last; p moves by the interval's images over ADA_IMAGES towards
 * more augmentation where r_t is above the target (D overfits), towards less where below.
 */
static clgan_status ada_adjust(trainer *t, uint64_t index) {
    if (!t->ada || (index + 1) % ADA_INTERVAL != 0) return CLGAN_OK;
    float s[3];
    clgan_status st = trainer_ada_read(t, s);
    if (st != CLGAN_OK) return st;
    float r = s[2] > 0 ? s[1] / s[2] : 0, target = t->m->train.augment.target;
    double step = (double)t->m->train.batch * ADA_INTERVAL / ADA_IMAGES;
    double p = s[0] + (r > target ? step : r < target ? -step : 0);
    s[0] = (float)(p < 0 ? 0 : p > 1 ? 1 : p);
    s[1] = s[2] = 0;
    return trainer_ada_write(t, s);
}

clgan_status trainer_d_step(trainer *t) {
    return d_step(t, t->iter * (uint64_t)t->m->train.k);
}

net *trainer_net(const trainer *t, clgan_net w) {
    switch (w) {
    case CLGAN_GENERATOR: return t->g;
    case CLGAN_DISCRIMINATOR: return t->d;
    case CLGAN_CLASSIFIER: return t->cls ? classifier_net(t->cls) : NULL;
    }
    return NULL;
}

clgan_status trainer_iteration(trainer *t) {
    if (t->m->kind == MODEL_CLASSIFIER) {
        clgan_status st = classifier_step(t->cls, t);
        if (st == CLGAN_OK) t->iter++;
        return st;
    }
    for (int i = 0; i < t->m->train.k; i++) {
        uint64_t index = t->iter * (uint64_t)t->m->train.k + (uint64_t)i;
        clgan_status st = d_step(t, index);
        if (st == CLGAN_OK) st = ada_adjust(t, index);
        if (st != CLGAN_OK) return st;
    }
    clgan_status st = g_step(t);
    if (st == CLGAN_OK) t->iter++;
    return st;
}

/* Enqueues the check of n floats of buf into the statistics' non-finite flag. */
static clgan_status flag_buffer(trainer *t, cl_mem buf, size_t n) {
    if (n == 0) return CLGAN_OK;
    cl_uint off = 0, cnt = (cl_uint)n;
    karg a[] = {KA(buf), KA(off), KA(cnt), KA(t->stats)};
    clgan_status st = device_set_args(t->dev, t->k_flag, "flag_nonfinite", a, 4);
    /* a work-item per 64 values, at most 16,384 of them: one pass over the buffer */
    size_t items = (n + 63) / 64;
    if (st == CLGAN_OK) st = device_run1d(t->dev, t->k_flag, items < 16384 ? items : 16384,
                                          "flag_nonfinite");
    return st;
}

/*
 * Enqueues the check of every parameter, optimizer state and G's average for NaN and Inf (a
 * NaN that a ReLU or maxout hides from the losses): replica 0's, which every replica equals.
 */
static clgan_status flag_params(trainer *t) {
    clgan_net ws[MODEL_NETS];
    int nw = model_nets(t->m, ws);
    clgan_status st = CLGAN_OK;
    for (int k = 0; k < nw && st == CLGAN_OK; k++) {
        net *n = trainer_net(t, ws[k]);
        const optim *o = &t->opt[ws[k]];
        st = flag_buffer(t, n->params, n->n_params);
        for (int s = 0; s < optim_state_count(o) && st == CLGAN_OK; s++)
            st = flag_buffer(t, optim_state_buf(o, s), n->n_train);
    }
    if (st == CLGAN_OK && t->ema) st = flag_buffer(t, t->ema, t->g->n_params);
    return st;
}

/* Statistics slots that count steps: every replica's are the same, not added up. */
static int stat_is_count(int k) {
    return k == STAT_N_D || k == STAT_N_G || k == STAT_N_C ||
           (k >= STAT_PENALTY && (k - STAT_PENALTY) % 2 == 1);
}

clgan_status trainer_read_stats(trainer *t, gan_stats *out) {
    float s[STAT_COUNT];
    clgan_status st = flag_params(t);
    if (st == CLGAN_OK) st = device_read(t->dev, t->stats, 0, sizeof s, s);
    if (st == CLGAN_OK) st = device_fill(t->dev, t->stats, 0, sizeof s);
    if (st != CLGAN_OK) return st;
    /* the other replicas: the losses (scaled by the global batch) add up; D(x) and D(G(z))
     * are means over each replica's equal share of rows; the step counts are the same */
    for (int i = 0; i < t->n_peers; i++) {
        trainer *r = &t->peers[i];
        float p[STAT_COUNT];
        st = device_read(r->dev, r->stats, 0, sizeof p, p);
        if (st == CLGAN_OK) st = device_fill(r->dev, r->stats, 0, sizeof p);
        if (st != CLGAN_OK) return st;
        for (int k = 0; k < STAT_COUNT; k++)
            if (!stat_is_count(k) && k != STAT_NONFINITE) s[k] += p[k];
        if (p[STAT_NONFINITE] != 0) s[STAT_NONFINITE] = 1;
    }
    if (comm_active(t->comm)) { /* and the other ranks': their counts are rank 0's */
        if (t->comm->rank != 0)
            for (int k = 0; k < STAT_COUNT; k++)
                if (stat_is_count(k)) s[k] = 0;
        char what[64];
        snprintf(what, sizeof what, "statistics at iteration %llu", (unsigned long long)t->iter);
        if ((st = comm_sum(t->comm, s, STAT_COUNT, what, &t->dev->err)) != CLGAN_OK) return st;
    }
    int R = t->replicas > 1 ? t->replicas : 1;
    s[STAT_D_REAL] /= (float)R;
    s[STAT_D_FAKE] /= (float)R;
    memset(out, 0, sizeof *out);
    out->d_steps = (long)s[STAT_N_D];
    out->g_steps = (long)s[STAT_N_G];
    double nd = out->d_steps > 0 ? (double)out->d_steps : 1, ng = out->g_steps > 0 ? out->g_steps : 1;
    out->d_loss = s[STAT_D_LOSS] / nd;
    out->g_loss = s[STAT_G_LOSS] / ng;
    out->d_real = s[STAT_D_REAL] / nd;
    out->d_fake = s[STAT_D_FAKE] / nd;
    out->c_steps = (long)s[STAT_N_C];
    double rows = s[STAT_C_ROWS] > 0 ? s[STAT_C_ROWS] : 1;
    out->c_loss = s[STAT_C_LOSS] / rows;
    out->c_acc = s[STAT_C_CORRECT] / rows;
    out->augment_p = t->aug_p;
    for (int k = 0; k < PENALTY_KINDS; k++) {
        float n = s[STAT_PENALTY + 2 * k + 1];
        out->penalty[k] = n > 0 ? s[STAT_PENALTY + 2 * k] / n : NAN;
    }
    out->nonfinite = s[STAT_NONFINITE] != 0 || !isfinite(out->d_loss) || !isfinite(out->g_loss) ||
                     !isfinite(out->c_loss);
    return CLGAN_OK;
}

clgan_status trainer_finite(trainer *t, int *finite) {
    float flag = 1;
    clgan_status st = flag_params(t);
    if (st == CLGAN_OK)
        st = device_read(t->dev, t->stats, STAT_NONFINITE * sizeof(float), sizeof flag, &flag);
    *finite = st == CLGAN_OK && flag == 0.0f;
    for (int i = 0; i < t->n_peers && st == CLGAN_OK; i++) {
        trainer *r = &t->peers[i];
        st = device_read(r->dev, r->stats, STAT_NONFINITE * sizeof(float), sizeof flag, &flag);
        *finite = *finite && st == CLGAN_OK && flag == 0.0f;
    }
    return st;
}

/* Appends one name to the list in where (the first 3; *count counts them all). */
static void name_bad(char *where, size_t len, int *count, const char *what) {
    size_t at = strlen(where);
    if (*count < 3 && at < len)
        snprintf(where + at, len - at, "%s%s", *count ? ", " : "", what);
    (*count)++;
}

clgan_status trainer_locate_nonfinite(trainer *t, char *where, size_t len) {
    clgan_net ws[MODEL_NETS];
    int nw = model_nets(t->m, ws), count = 0;
    char out_where[LAYER_PATH_MAX + 160] = "";
    where[0] = '\0';
    for (int k = 0; k < nw; k++) {
        net *n = trainer_net(t, ws[k]);
        const optim *o = &t->opt[ws[k]];
        int ns = optim_state_count(o);
        float *buf[4] = {NULL, NULL, NULL, NULL}; /* params, states, average */
        size_t sizes[4] = {n->n_params, n->n_train, n->n_train, n->n_params};
        cl_mem srcs[4] = {n->params, ns > 0 ? optim_state_buf(o, 0) : NULL,
                          ns > 1 ? optim_state_buf(o, 1) : NULL,
                          ws[k] == CLGAN_GENERATOR ? t->ema : NULL};
        float *a = malloc(n->n_acts * sizeof *a);
        clgan_status st = a ? CLGAN_OK : CLGAN_ERR_NOMEM;
        for (int b = 0; b < 4 && st == CLGAN_OK; b++) {
            if (!srcs[b]) continue;
            buf[b] = malloc(sizes[b] * sizeof(float));
            st = buf[b] ? device_read(t->dev, srcs[b], 0, sizes[b] * sizeof(float), buf[b])
                        : CLGAN_ERR_NOMEM;
        }
        if (st == CLGAN_OK) st = device_read(t->dev, n->acts, 0, n->n_acts * sizeof *a, a);
        for (int i = 0; st == CLGAN_OK && i < n->n_layers; i++) {
            const layer *l = &n->layers[i];
            const char *kind = layer_kind_name(l->spec->kind), *net_name = model_net_name(ws[k]);
            char lp[LAYER_PATH_MAX];
            layer_path(n->spec, i, lp, sizeof lp);
            for (int j = 0; j < l->n_params; j++) {
                size_t off = l->param_off[j], cnt = (size_t)l->params[j].count;
                for (int b = 0; b < 4; b++) {
                    if (!buf[b] || (b == 1 || b == 2 ? !l->params[j].trainable : 0)) continue;
                    if (floats_finite(buf[b] + off, cnt)) continue;
                    char what[LAYER_PATH_MAX + 160];
                    if (b == 0)
                        snprintf(what, sizeof what, "%s.%s.%s (%s)", net_name, lp,
                                 l->params[j].name, kind);
                    else if (b == 3)
                        snprintf(what, sizeof what, "ema.%s.%s.%s (%s)", net_name, lp,
                                 l->params[j].name, kind);
                    else
                        snprintf(what, sizeof what, "optimizer.%s.%s.%s.%s (%s)", net_name, lp,
                                 l->params[j].name, optim_state_name(o, b - 1), kind);
                    name_bad(where, len, &count, what);
                }
            }
            if (!out_where[0] && !floats_finite(a + l->y.off, (size_t)n->capacity * l->y.cols))
                snprintf(out_where, sizeof out_where, "%s layer %s (%s) output", net_name, lp,
                         kind);
        }
        for (int b = 0; b < 4; b++) free(buf[b]);
        free(a);
        if (st != CLGAN_OK)
            return st == CLGAN_ERR_NOMEM ? err_set(&t->dev->err, st, "out of memory") : st;
    }
    size_t at = strlen(where);
    if (count > 3 && at < len)
        snprintf(where + at, len - at, " and %d more tensor%s", count - 3, count > 4 ? "s" : "");
    if (count == 0)
        snprintf(where, len, "%s", out_where[0] ? out_where
                                                : "a loss (no parameter or layer output holds a "
                                                  "NaN or Inf now)");
    return CLGAN_OK;
}

void trainer_set_lr_scale(trainer *t, double s) {
    for (int i = 0; i <= t->n_peers; i++) {
        trainer *r = trainer_replica(t, i);
        for (int w = 0; w < MODEL_NETS; w++) r->opt[w].lr_scale = s;
    }
}

clgan_status synthetic_data(const clgan_model *m, clgan_device *dev, dataset *ds, clgan_err *e) {
    clgan_status st = dataset_random(m, 8L * m->train.batch * m->train.k, m->train.seed, ds, e);
    if (st == CLGAN_OK && (st = dataset_upload(ds, dev)) != CLGAN_OK)
        err_set(e, st, "%s", dev->err.msg);
    return st;
}

clgan_status synthetic_run_start(synthetic_run *s, const clgan_model *m, clgan_err *e) {
    clgan_status st = synthetic_data(m, s->dev, &s->data, e);
    if (st != CLGAN_OK) return st;
    st = trainer_init(&s->t, s->dev, m, &s->data, m->train.batch);
    if (st == CLGAN_OK) s->up = 1;
    if (st != CLGAN_OK) err_set(e, st, "%s", s->dev->err.msg);
    return st;
}

void synthetic_run_free(synthetic_run *s) {
    if (s->up) trainer_free(&s->t);
    dataset_free(&s->data);
    clgan_device_free(s->dev);
    memset(s, 0, sizeof *s);
}

clgan_status trainer_sampler(trainer *t, net **out) {
    *out = t->g;
    if (!t->ema) return CLGAN_OK;
    *out = t->g_ema;
    return copy_rows(t->dev, t->ema, 0, t->g_ema->params, 0, t->g->n_params,
                     "the averaged weights into the sampling generator");
}

clgan_status trainer_generate(trainer *t, const float *z, int rows, float *out) {
    net *g;
    clgan_status st = trainer_sampler(t, &g);
    int k = t->m->condition_classes;
    if (st == CLGAN_OK && k > 0) { /* the grid's rows of 8: one class each */
        unsigned char *lab = malloc((size_t)rows);
        if (!lab) return err_set(&t->dev->err, CLGAN_ERR_NOMEM, "out of memory");
        for (int i = 0; i < rows; i++) lab[i] = (unsigned char)((i / 8) % k);
        st = net_set_labels(g, lab, rows);
        free(lab);
    }
    return st == CLGAN_OK ? net_run_eval(g, z, rows, out) : st;
}
