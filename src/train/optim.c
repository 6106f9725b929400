/*
 * optim.c - enqueues the updates of cl/optim.cl; schedules are computed on the host per step
 * (they depend only on the step and epoch counters, so nothing is read back).
 */
#include "optim.h"

#include <math.h>
#include <string.h>

clgan_status optim_init(optim *o, net *n, const optim_spec *spec) {
    memset(o, 0, sizeof *o);
    o->spec = spec;
    o->n = n;
    o->lr_scale = 1;
    clgan_device *dev = n->dev;
    size_t bytes = n->n_train * sizeof(float);
    const char *name = spec->kind == OPTIM_SGD ? "sgd_momentum"
                       : spec->kind == OPTIM_ADAM ? "adam" : "rmsprop";
    clgan_status st = device_kernel(dev, "cl/optim.cl", name, &o->k_update);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/optim.cl", "max_norm", &o->k_norm);
    if (st == CLGAN_OK) st = device_alloc(dev, bytes, "optimizer state", &o->s1);
    if (st == CLGAN_OK) st = device_fill(dev, o->s1, 0, bytes);
    if (st == CLGAN_OK && spec->kind == OPTIM_ADAM) {
        st = device_alloc(dev, bytes, "optimizer state", &o->s2);
        if (st == CLGAN_OK) st = device_fill(dev, o->s2, 0, bytes);
    }
    if (st != CLGAN_OK) optim_free(o);
    return st;
}

void optim_free(optim *o) {
    if (o->k_update) clReleaseKernel(o->k_update);
    if (o->k_norm) clReleaseKernel(o->k_norm);
    if (o->n) {
        device_release(o->n->dev, o->s1);
        device_release(o->n->dev, o->s2);
    }
    memset(o, 0, sizeof *o);
}

double optim_lr(const optim_spec *s, uint64_t t) {
    switch (s->schedule) {
    case LR_EXPONENTIAL:
        return fmax(s->lr / pow(s->decay, (double)t), s->lr_min);
    case LR_LINEAR: {
        double f = fmin((double)t / (double)s->decay_steps, 1.0);
        return s->lr + (s->lr_min - s->lr) * f;
    }
    default:
        return s->lr;
    }
}

double optim_rate(const optim *o) {
    return optim_lr(o->spec, o->t) * o->lr_scale;
}

double optim_momentum(const optim_spec *s, long epoch) {
    if (s->momentum_epochs <= 0) return s->momentum;
    double f = fmin((double)epoch / s->momentum_epochs, 1.0);
    return s->momentum + (s->momentum_final - s->momentum) * f;
}

clgan_status optim_step(optim *o, long epoch) {
    net *n = o->n;
    clgan_device *dev = n->dev;
    const optim_spec *s = o->spec;
    cl_uint cnt = (cl_uint)n->n_train; /* trainable parameters only */
    float lr = (float)optim_rate(o);
    clgan_status st;
    o->t++;
    if (s->kind == OPTIM_SGD) {
        float mu = (float)optim_momentum(s, epoch);
        karg a[] = {KA(n->params), KA(n->grads), KA(o->s1), KA(cnt), KA(lr), KA(mu)};
        st = device_set_args(dev, o->k_update, "sgd_momentum", a, 6);
    } else if (s->kind == OPTIM_RMSPROP) {
        karg a[] = {KA(n->params), KA(n->grads), KA(o->s1), KA(cnt), KA(lr), KA(s->alpha),
                    KA(s->eps)};
        st = device_set_args(dev, o->k_update, "rmsprop", a, 7);
    } else {
        float bc1 = (float)(1.0 - pow(s->beta1, (double)o->t));
        float bc2 = (float)(1.0 - pow(s->beta2, (double)o->t));
        karg a[] = {KA(n->params), KA(n->grads), KA(o->s1),  KA(o->s2), KA(cnt), KA(lr),
                    KA(s->beta1),  KA(s->beta2), KA(s->eps), KA(bc1),   KA(bc2)};
        st = device_set_args(dev, o->k_update, "adam", a, 11);
    }
    if (st == CLGAN_OK) st = device_run1d(dev, o->k_update, (cnt + 15) / 16, "optimizer update");
    if (st != CLGAN_OK || s->max_col_norm <= 0) return st;
    /* per output unit of every tensor that has units: W viewed as [outer][units][inner] */
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const param_info *p = &l->params[j];
            if (p->unit_axis < 0 || !p->trainable) continue;
            long outer = p->unit_axis == 0 ? 1 : p->shape[0], units = p->shape[p->unit_axis];
            cl_uint off = (cl_uint)l->param_off[j], ou = (cl_uint)outer, u = (cl_uint)units,
                    in = (cl_uint)(p->count / (outer * units));
            karg a[] = {KA(n->params), KA(off), KA(ou), KA(u), KA(in), KA(s->max_col_norm)};
            st = device_set_args(dev, o->k_norm, "max_norm", a, 6);
            if (st == CLGAN_OK) st = device_run1d(dev, o->k_norm, u, "max_norm");
            if (st != CLGAN_OK) return st;
        }
    }
    return CLGAN_OK;
}

static const char *const sgd_states[] = {"momentum_buffer"};
static const char *const adam_states[] = {"exp_avg", "exp_avg_sq"};
static const char *const rmsprop_states[] = {"square_avg"};

int optim_states_of(optim_kind kind, const char *const **names) {
    switch (kind) {
    case OPTIM_SGD: *names = sgd_states; return (int)ARRAY_LEN(sgd_states);
    case OPTIM_ADAM: *names = adam_states; return (int)ARRAY_LEN(adam_states);
    case OPTIM_RMSPROP: *names = rmsprop_states; return (int)ARRAY_LEN(rmsprop_states);
    }
    *names = NULL;
    return 0;
}

int optim_state_count(const optim *o) {
    const char *const *names;
    return optim_states_of(o->spec->kind, &names);
}

const char *optim_state_name(const optim *o, int i) {
    const char *const *names;
    int n = optim_states_of(o->spec->kind, &names);
    return i >= 0 && i < n ? names[i] : "?";
}

cl_mem optim_state_buf(const optim *o, int i) {
    return i == 0 ? o->s1 : o->s2;
}
