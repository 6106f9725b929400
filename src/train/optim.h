/*
 * optim.h - the optimizer of one network: SGD with momentum, Adam or RMSProp over the network's whole
 * parameter buffer, learning-rate schedules, the momentum ramp and the max-norm constraint.
 * Owns its state buffers (velocity, or first and second moments) and kernels; borrows the net.
 */
#ifndef CLGAN_OPTIM_H
#define CLGAN_OPTIM_H

#include "graph.h"

typedef struct optim {
    const optim_spec *spec;
    net *n;
    cl_mem s1, s2;  /* sgd: velocity, -; adam: m, v; rmsprop: the squares' average, - */
    cl_kernel k_update, k_norm;
    uint64_t t;     /* updates applied so far */
    double lr_scale; /* the schedule's rate times this (1; halved by each --on-nan rollback) */
} optim;

clgan_status optim_init(optim *o, net *n, const optim_spec *spec);
void optim_free(optim *o);

/* The learning rate and momentum of update number t (0-based) in epoch `epoch` (0-based). */
double optim_lr(const optim_spec *s, uint64_t t);
double optim_momentum(const optim_spec *s, long epoch);
/* The learning rate o's next update takes: its schedule's at o->t, times o->lr_scale. */
double optim_rate(const optim *o);

/* Enqueues one update from n->grads, then the max-norm constraint if the spec asks for it. */
clgan_status optim_step(optim *o, long epoch);

/*
 * The state tensors an optimizer keeps per parameter tensor, by their names in checkpoints
 * (sgd: momentum_buffer; adam: exp_avg, exp_avg_sq; rmsprop: square_avg): returns how many, names into *names.
 */
int optim_states_of(optim_kind kind, const char *const **names);
/* The same for an optimizer in use. */
int optim_state_count(const optim *o);
const char *optim_state_name(const optim *o, int i);
cl_mem optim_state_buf(const optim *o, int i);

#endif /* CLGAN_OPTIM_H */
