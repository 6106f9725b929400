/*
 * loss.h - the GAN losses: binary cross-entropy on a discriminator's logits, computed stably,
 * together with its gradient, written into the discriminator's logit-gradient slot so that
 * net_backward can start from net_logit_layer; and a classifier's softmax cross-entropy. Owns
 * per-sample loss buffers on the device.
 */
#ifndef CLGAN_LOSS_H
#define CLGAN_LOSS_H

#include "graph.h"

/* The relativistic loss's ra: mr, mf, SF, SR (cl/loss.cl), then the real and generated rows'
 * counts. */
#define RA_VALUES 6

typedef struct loss {
    clgan_device *dev;
    cl_kernel k_bce, k_xent, k_gan, k_ra;
    cl_mem ra;      /* the relativistic loss's means, sums and counts (RA_VALUES floats) */
    int ra_given;   /* the next relativistic loss takes ra as written (over several
                       replicas: the global batch's), instead of computing it */
    cl_mem values;  /* per-sample losses, capacity floats */
    cl_mem correct; /* softmax_xent: 1 where the largest logit is the label's, capacity floats */
    int capacity;
} loss;

clgan_status loss_init(clgan_device *dev, int capacity, loss *out);
void loss_free(loss *l);

/*
 * For the first n rows of d's logits: values[i] = sign * bce(z_i, t_i) and
 * dL/dz_i = sign * scale * (sigmoid(z_i) - t_i), with t_i = t_first for i < n_first, else
 * t_rest. D's step: n = 2m, n_first = m, t_first = 1 (or 1 - smoothing), t_rest = 0, sign 1.
 * G's non-saturating step: n_first = 0, t_rest = 1, sign 1; minimax: t_rest = 0, sign -1.
 */
clgan_status loss_bce(loss *l, net *d, int n, int n_first, float t_first, float t_rest, float sign,
                      float scale);

/*
 * The adversarial loss `kind` of train.loss, D's part (g_part 0) or G's (g_part 1), on the first
 * n rows of d's logits (its output where it ends without a sigmoid): rows [0, n_real) real, the
 * rest generated. values[i] = row i's term, dL/dz into d's logit gradient with L = scale * sum
 * of the terms (scale = 1/m). The cross-entropy losses go through loss_bce (D's real target
 * 1 - smoothing); the others through cl/loss.cl's gan_loss (see there for each formula).
 */
clgan_status loss_gan(loss *l, net *d, gan_loss_kind kind, int g_part, int n, int n_real,
                      float smoothing, float scale);

/*
 * A classifier's loss on the first n rows of c's output (its logits, c->out.cols classes, no
 * final sigmoid): values[i] = softmax cross-entropy with label labels[lab_off + i] (a device
 * buffer of bytes, each below the number of classes), correct[i] = whether the largest logit
 * is the label's, and dL/dz = scale * (softmax(z) - onehot(y)) into c's output gradient.
 */
clgan_status loss_softmax_xent(loss *l, net *c, cl_mem labels, size_t lab_off, int n, float scale);

#endif /* CLGAN_LOSS_H */
