/*
 * penalty.h - gradient penalties (issue 24) on a network with one logit per row: the value of
 * sum_r phi(|g_r|), g_r the gradient of row r's logit with respect to the network's input, and
 * its exact gradient with respect to the network's parameters (a gradient of a gradient).
 *
 * R1 and R2 (Mescheder et al. 2018): phi(n) = n^2 / 2. WGAN-GP (Gulrajani et al. 2017):
 * phi(n) = (n - target)^2. The parameter gradient of phi(|g_r|) is
 * phi'(n)/n (d g_r / d theta)^T g_r, and (d g_r / d theta)^T v is the parameter gradient of the
 * directional derivative v . g_r = the tangent of the logit along v, with v held fixed. So a
 * pass takes three sweeps over the network: a forward pass on the rows; a backward pass from
 * dlogit = 1 to the input, which gives g and, on the way, each layer's dy; and a tangent pass
 * (graph.h) seeded with c_r g_r, c_r = phi'(n_r)/n_r: its forward computes each layer's input
 * tangent t, its backward the gradients of sum_r dy_r . (J t)_r. Where every kind is linear or
 * piecewise linear in x (dense, conv2d, relu, leaky_relu, dropout, pooling, merges), the second
 * derivatives in x are zero and that is the whole gradient. Where tanh or sigmoid lie below the
 * logits (their classes' `second_order`), one more pass adds their second derivatives' term: the
 * values' adjoint, zero at the logits, gains f''(x) t dy at each and goes down as a backward
 * pass does, its parameter gradients (biases' too) added. Spectral norm maps the gradients as it
 * maps the loss's. The kinds that allow all this: classes with `tangent` (net_spec_no_tangent).
 */
#ifndef CLGAN_PENALTY_H
#define CLGAN_PENALTY_H

#include "graph.h"

typedef struct penalty_args {
    int centred;    /* 0: n^2 / 2 (R1, R2); 1: (n - target)^2 (WGAN-GP) */
    float target;
    float weight;   /* each row's term's weight in the gradient (1/rows, lazy factors) */
    float vscale;   /* the weight of the values' sum added to stats[slot] */
    cl_mem stats;   /* stats[slot] += vscale sum_r phi, stats[slot + 1] += 1, stats[6] flags */
    int slot;
} penalty_args;

/*
 * On the first `rows` rows of n's slot 0 (training mode): the value into a->stats and the
 * parameter gradients, weighted, into n->grads (overwritten; every parameter the penalty does
 * not reach, biases among them, gets 0). Clobbers n's activations and gradients.
 */
clgan_status penalty_pass(net *n, int rows, const penalty_args *a);

/*
 * WGAN-GP's interpolates: each of the first `rows` rows of n's slot 0 becomes e x + (1 - e) x~,
 * x~ the row `rows` rows on, e uniform in [0, 1) from a fresh Philox stream, one per global
 * row (n->row0 on), the same on every device.
 */
clgan_status penalty_mix(net *n, int rows);

#endif /* CLGAN_PENALTY_H */
