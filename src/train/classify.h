/*
 * classify.h - a classifier model's training (classify.c), a handle of its own: the network,
 * the minibatch's labels and the kernel that counts loss and accuracy. The trainer (gan.c)
 * holds one for a classifier model and steps it in place of Algorithm 1; the optimizer, the
 * loss's buffers, the data order and the statistics stay the trainer's, which checkpoints,
 * rollbacks and the run treat alike for both kinds of model.
 */
#ifndef CLGAN_CLASSIFY_H
#define CLGAN_CLASSIFY_H

#include "gan.h"

typedef struct classifier classifier;

/* Builds the classifier network, its optimizer (t->opt), the loss and the label buffer on
 * t's device for t's model and data: *out, or an error on t's device (nothing left). */
clgan_status classifier_open(trainer *t, classifier **out);
/* Enqueues one step: the next minibatch (images and labels), forward, loss, backward, update. */
clgan_status classifier_step(classifier *c, trainer *t);
/* The network (its parameters are what a checkpoint keeps). */
net *classifier_net(const classifier *c);
/* Frees c's network and buffers on dev; NULL does nothing. */
void classifier_free(classifier *c, clgan_device *dev);

#endif /* CLGAN_CLASSIFY_H */
