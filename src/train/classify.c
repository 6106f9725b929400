/*
 * classify.c - training a classifier model: the minibatch of this epoch's order with its labels,
 * a forward pass, softmax cross-entropy on the logits (cl/loss.cl), the backward pass and the
 * optimizer's update, all enqueued; loss and accuracy accumulate on the device (cl/gan.cl's
 * classify_stats) until trainer_read_stats. A handle of its own (classify.h), which borrows the
 * trainer's device, model, data, optimizer and statistics.
 */
#include "classify.h"

#include <stdlib.h>
#include <string.h>

struct classifier {
    net *net;
    cl_mem labels;       /* the minibatch's labels */
    cl_kernel k_stats;   /* classify_stats: loss and correct rows into t->stats */
};

net *classifier_net(const classifier *c) {
    return c->net;
}

void classifier_free(classifier *c, clgan_device *dev) {
    if (!c) return;
    if (c->k_stats) clReleaseKernel(c->k_stats);
    if (dev) device_release(dev, c->labels);
    net_free(c->net);
    free(c);
}

clgan_status classifier_open(trainer *t, classifier **out) {
    const clgan_model *m = t->m;
    int batch = m->train.batch;
    *out = NULL;
    if (!t->data->labels_host)
        return err_set(&t->dev->err, CLGAN_ERR_ARG, "%s: a classifier needs labelled data",
                       m->path);
    classifier *c = calloc(1, sizeof *c);
    if (!c) return err_set(&t->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = net_create(t->dev, m, CLGAN_CLASSIFIER, batch, m->train.seed, &c->net);
    if (st == CLGAN_OK) {
        c->net->stream_next = &t->stream;
        st = net_init_params(c->net, NULL);
    }
    if (st == CLGAN_OK) st = optim_init(&t->opt[CLGAN_CLASSIFIER], c->net,
                                        &m->train.opt[CLGAN_CLASSIFIER]);
    if (st == CLGAN_OK) st = loss_init(t->dev, batch, &t->loss);
    if (st == CLGAN_OK) st = device_alloc(t->dev, (size_t)batch, "minibatch labels", &c->labels);
    if (st == CLGAN_OK) st = device_kernel(t->dev, "cl/gan.cl", "classify_stats", &c->k_stats);
    if (st != CLGAN_OK) {
        classifier_free(c, t->dev);
        return st;
    }
    *out = c;
    return CLGAN_OK;
}

clgan_status classifier_step(classifier *cl, trainer *t) {
    const int m = t->m->train.batch;
    net *c = cl->net;
    clgan_status st;
    if (t->batch_in_epoch >= t->batches_per_epoch) {
        t->epoch++;
        t->batch_in_epoch = 0;
        if ((st = dataset_begin_epoch(t->data, t->epoch)) != CLGAN_OK) return st;
    }
    long first = t->batch_in_epoch * m;
    st = dataset_gather(t->data, first, m, c->acts, c->in.off);
    if (st == CLGAN_OK) st = dataset_gather_labels(t->data, first, m, cl->labels);
    t->batch_in_epoch++;
    if (st == CLGAN_OK) st = net_forward(c, m, 1);
    /* mean cross-entropy over the minibatch: dL/dz = (softmax(z) - onehot(y)) / m */
    if (st == CLGAN_OK) st = loss_softmax_xent(&t->loss, c, cl->labels, 0, m, 1.0f / m);
    if (st == CLGAN_OK) {
        cl_uint n = (cl_uint)m;
        karg a[] = {KA(t->loss.values), KA(t->loss.correct), KA(n), KA(t->stats)};
        st = device_set_args(t->dev, cl->k_stats, "classify_stats", a, 4);
    }
    if (st == CLGAN_OK) st = device_run_group(t->dev, cl->k_stats, 64, "classify_stats");
    if (st == CLGAN_OK) st = net_backward(c, c->n_layers - 1, m, 0, 1);
    if (st == CLGAN_OK) st = optim_step(&t->opt[CLGAN_CLASSIFIER], t->epoch);
    return st;
}

clgan_status classifier_accuracy(net *c, const float *x, const uint8_t *y, long n, double *acc) {
    int k = (int)c->out.cols, rows = c->capacity;
    float *logits = malloc((size_t)rows * (size_t)k * sizeof *logits);
    if (!logits) return err_set(&c->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    long right = 0;
    clgan_status st = CLGAN_OK;
    for (long i = 0; i < n && st == CLGAN_OK; i += rows) {
        int r = n - i < rows ? (int)(n - i) : rows;
        st = net_run_eval(c, x + (size_t)i * c->in.cols, r, logits);
        for (int s = 0; st == CLGAN_OK && s < r; s++) {
            const float *z = logits + (size_t)s * (size_t)k;
            int arg = 0;
            for (int j = 1; j < k; j++)
                if (z[j] > z[arg]) arg = j;
            right += arg == y[i + s];
        }
    }
    free(logits);
    *acc = n > 0 ? (double)right / (double)n : 0;
    return st;
}
