/*
 * loss.c - enqueues the fused BCE-from-logits kernel of cl/loss.cl.
 */
#include "loss.h"

#include <string.h>

clgan_status loss_init(clgan_device *dev, int capacity, loss *out) {
    memset(out, 0, sizeof *out);
    out->dev = dev;
    out->capacity = capacity;
    clgan_status st = device_kernel(dev, "cl/loss.cl", "bce_logits", &out->k_bce);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/loss.cl", "softmax_xent", &out->k_xent);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/loss.cl", "gan_loss", &out->k_gan);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/loss.cl", "ra_sums", &out->k_ra);
    if (st == CLGAN_OK) st = device_alloc(dev, RA_VALUES * sizeof(float), "relativistic means",
                                          &out->ra);
    if (st == CLGAN_OK)
        st = device_alloc(dev, (size_t)capacity * sizeof(float), "loss values", &out->values);
    if (st == CLGAN_OK)
        st = device_alloc(dev, (size_t)capacity * sizeof(float), "accuracy", &out->correct);
    if (st != CLGAN_OK) loss_free(out);
    return st;
}

void loss_free(loss *l) {
    if (l->k_bce) clReleaseKernel(l->k_bce);
    if (l->k_xent) clReleaseKernel(l->k_xent);
    if (l->k_gan) clReleaseKernel(l->k_gan);
    if (l->k_ra) clReleaseKernel(l->k_ra);
    if (l->dev) {
        device_release(l->dev, l->values);
        device_release(l->dev, l->correct);
        device_release(l->dev, l->ra);
    }
    l->k_bce = l->k_xent = l->k_gan = l->k_ra = NULL;
    l->values = l->correct = l->ra = NULL;
}

clgan_status loss_bce(loss *l, net *d, int n, int n_first, float t_first, float t_rest, float sign,
                      float scale) {
    if (n > l->capacity || n > d->capacity)
        return err_set(&l->dev->err, CLGAN_ERR_ARG, "loss over %d samples exceeds capacity %d", n,
                       l->capacity);
    tensor z = net_logits(d), dz = net_logit_grad(d);
    cl_uint z_off = (cl_uint)z.off, dz_off = (cl_uint)dz.off, loss_off = 0, cnt = (cl_uint)n,
            nf = (cl_uint)n_first;
    karg a[] = {KA(d->acts), KA(z_off),   KA(d->deltas), KA(dz_off), KA(l->values), KA(loss_off),
                KA(cnt),     KA(nf),      KA(t_first),   KA(t_rest), KA(sign),      KA(scale)};
    clgan_status st = device_set_args(l->dev, l->k_bce, "bce_logits", a, (int)ARRAY_LEN(a));
    if (st != CLGAN_OK) return st;
    return device_run1d(l->dev, l->k_bce, (size_t)n, "bce_logits");
}

clgan_status loss_gan(loss *l, net *d, gan_loss_kind kind, int g_part, int n, int n_real,
                      float smoothing, float scale) {
    switch (kind) {
    case GAN_LOSS_NON_SATURATING:
    case GAN_LOSS_MINIMAX:
        if (!g_part) return loss_bce(l, d, n, n_real, 1.0f - smoothing, 0.0f, 1.0f, scale);
        /* G: non-saturating descends -log D(G(z)) = bce(z, 1); minimax log(1 - D) = -bce(z, 0) */
        if (kind == GAN_LOSS_MINIMAX) return loss_bce(l, d, n, n_real, 0.0f, 0.0f, -1.0f, scale);
        return loss_bce(l, d, n, n_real, 0.0f, 1.0f, 1.0f, scale);
    case GAN_LOSS_LEAST_SQUARES:
    case GAN_LOSS_HINGE:
    case GAN_LOSS_WASSERSTEIN:
    case GAN_LOSS_RELATIVISTIC: break;
    }
    if (n > l->capacity || n > d->capacity)
        return err_set(&l->dev->err, CLGAN_ERR_ARG, "loss over %d samples exceeds capacity %d", n,
                       l->capacity);
    tensor z = net_logits(d), dz = net_logit_grad(d);
    cl_uint z_off = (cl_uint)z.off, dz_off = (cl_uint)dz.off, cnt = (cl_uint)n,
            nr = (cl_uint)n_real, k = (cl_uint)kind, part = (cl_uint)g_part;
    clgan_status st = CLGAN_OK;
    if (kind == GAN_LOSS_RELATIVISTIC && l->ra_given) {
        l->ra_given = 0;
    } else if (kind == GAN_LOSS_RELATIVISTIC) {
        if (n_real < 1 || n_real >= n)
            return err_set(&l->dev->err, CLGAN_ERR_ARG, "the relativistic loss needs real and "
                           "generated rows (%d of %d real)", n_real, n);
        karg a[] = {KA(d->acts), KA(z_off), KA(cnt), KA(nr), KA(part), KA(l->ra)};
        st = device_set_args(l->dev, l->k_ra, "ra_sums", a, (int)ARRAY_LEN(a));
        if (st == CLGAN_OK) st = device_run_group(l->dev, l->k_ra, 64, "ra_sums");
    }
    karg a[] = {KA(d->acts),   KA(z_off), KA(d->deltas), KA(dz_off), KA(l->values), KA(cnt),
                KA(nr),        KA(k),     KA(part),      KA(scale),  KA(l->ra)};
    if (st == CLGAN_OK) st = device_set_args(l->dev, l->k_gan, "gan_loss", a, (int)ARRAY_LEN(a));
    if (st == CLGAN_OK) st = device_run1d(l->dev, l->k_gan, (size_t)n, "gan_loss");
    return st;
}

clgan_status loss_softmax_xent(loss *l, net *c, cl_mem labels, size_t lab_off, int n, float scale) {
    if (n > l->capacity || n > c->capacity)
        return err_set(&l->dev->err, CLGAN_ERR_ARG, "loss over %d samples exceeds capacity %d", n,
                       l->capacity);
    cl_uint z_off = (cl_uint)c->out.off, dz_off = (cl_uint)c->dout.off, lo = (cl_uint)lab_off,
            cnt = (cl_uint)n, classes = (cl_uint)c->out.cols;
    karg a[] = {KA(c->acts),    KA(z_off),      KA(c->deltas), KA(dz_off),  KA(labels), KA(lo),
                KA(l->values),  KA(l->correct), KA(cnt),       KA(classes), KA(scale)};
    clgan_status st = device_set_args(l->dev, l->k_xent, "softmax_xent", a, (int)ARRAY_LEN(a));
    if (st != CLGAN_OK) return st;
    return device_run1d(l->dev, l->k_xent, (size_t)n, "softmax_xent");
}
