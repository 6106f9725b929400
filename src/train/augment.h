/*
 * augment.h - differentiable augmentation of D's inputs (train.augment; cl/augment.cl has the
 * ops and the draws): samples of an image shape, forward, and the adjoint that takes D's input
 * gradient back to G's output in G's step.
 */
#ifndef CLGAN_AUGMENT_H
#define CLGAN_AUGMENT_H

#include "device.h"
#include "layer.h"
#include "model.h"

/*
 * `n` samples of shape s at src[s_off] into dst[d_off] (floats; not overlapping): augmented
 * (backward 0) or, for gradients, by the augmentation's adjoint (backward 1). Sample i takes the
 * draws of global sample e0 + i of Philox stream `stream` under key (RNG_TAG_AUGMENT), each op of
 * a->policy with probability p. *k: the kernel, created on first use. Enqueued.
 */
clgan_status augment_rows(clgan_device *dev, cl_kernel *k, const augment_spec *a, float p,
                          shape3 s, int n, uint32_t e0, const uint32_t key[2], uint64_t stream,
                          cl_mem src, size_t s_off, cl_mem dst, size_t d_off, int backward);

#endif /* CLGAN_AUGMENT_H */
