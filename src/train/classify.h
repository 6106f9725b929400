/*
 * classify.h - the trainer of a classifier model (private to src/train): one network trained by
 * softmax cross-entropy on labelled images, with the trainer's buffers, optimizer and Philox
 * streams, so that the run directory, checkpoints and resume work as for a GAN.
 */
#ifndef CLGAN_CLASSIFY_H
#define CLGAN_CLASSIFY_H

#include "gan.h"

/* Builds the classifier, its optimizer, the loss and label buffers (t->dev, m, data set). */
clgan_status classifier_init(trainer *t);
/* Enqueues one step: the next minibatch (images and labels), forward, loss, backward, update. */
clgan_status classifier_step(trainer *t);

#endif /* CLGAN_CLASSIFY_H */
