/*
 * sampler.h - the public generator handle's insides (sampler.c), for the library's other
 * measurements of a checkpoint's generator (gen_eval.c: Parzen, mode counts).
 */
#ifndef CLGAN_SAMPLER_H
#define CLGAN_SAMPLER_H

#include "checkpoint.h"

struct clgan_generator {
    clgan_err err;
    ckpt c;
    int open;
    const clgan_model *m;
    clgan_device *dev;
    net *g;         /* compiled for `rows` rows; recompiled when a call asks for more */
    int rows;
};

/* G compiled for exactly `rows` rows (the chunks net_sample draws in): *out, owned by h. */
clgan_status generator_net(clgan_generator *h, int rows, net **out);

#endif /* CLGAN_SAMPLER_H */
