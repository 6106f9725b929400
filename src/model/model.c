/*
 * model.c - shape inference and the read-only queries of a model (clgan check).
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

/* Limits that keep every index in 32 bits on the device and refuse absurd models early. */
#define MAX_TENSOR_VALUES ((double)(1u << 31) - 1)

static clgan_status too_big(clgan_model *m, const layer_spec *L, const char *which,
                            const char *what, double values) {
    double gib = values * 4.0 / (1024.0 * 1024.0 * 1024.0);
    return err_set(&m->err, CLGAN_ERR_MODEL,
                   "%s:%d:%d: %s layer of %s has %.0f %s values (%.1f GiB of float32), more than "
                   "one device buffer can hold (2^31 - 1 values)",
                   m->path, L->line, L->col, layer_kind_name(L->kind), which, values, what, gib);
}

clgan_status net_infer(clgan_model *m, net_spec *net, const char *which) {
    shape3 s = net->in;
    net->n_params = 0;
    double total = 0;
    for (int i = 0; i < net->n_layers; i++) {
        layer_spec *L = &net->layers[i];
        L->in = s;
        double n_in = (double)shape_size(s);
        L->n_weights = L->n_bias = 0;
        switch (L->kind) {
        case LAYER_DENSE:
        case LAYER_MAXOUT: {
            double outs = (double)L->units * (L->kind == LAYER_MAXOUT ? L->pieces : 1);
            double w = outs * n_in;
            if (w > MAX_TENSOR_VALUES) return too_big(m, L, which, "weight", w);
            L->n_weights = (long)w;
            L->n_bias = (long)outs;
            L->flops = 2.0 * w + outs + (L->kind == LAYER_MAXOUT ? L->units * (L->pieces - 1.0) : 0);
            s = (shape3){L->units, 1, 1};
            break;
        }
        case LAYER_LEAKY_RELU: L->flops = 2.0 * n_in; break;
        default: L->flops = n_in; break; /* one op per value; transcendentals count as one */
        }
        L->out = s;
        total += (double)L->n_weights + (double)L->n_bias;
        if (total > MAX_TENSOR_VALUES) return too_big(m, L, which, "parameter", total);
    }
    net->out = s;
    net->n_params = (long)total;
    return CLGAN_OK;
}

int layer_params(const layer_spec *L, param_info *out) {
    switch (L->kind) {
    case LAYER_DENSE:
    case LAYER_MAXOUT:
        out[0] = (param_info){"weight", 2, {L->n_bias, (long)shape_size(L->in)}, L->n_weights};
        out[1] = (param_info){"bias", 1, {L->n_bias}, L->n_bias};
        return 2;
    case LAYER_RELU:
    case LAYER_LEAKY_RELU:
    case LAYER_TANH:
    case LAYER_SIGMOID:
    case LAYER_DROPOUT:
    case LAYER_KIND_COUNT: return 0;
    }
    return 0;
}

int clgan_model_layers(const clgan_model *m, clgan_net net) {
    return m->net[net].n_layers;
}

clgan_status clgan_model_layer_info(const clgan_model *m, clgan_net net, int i,
                                    clgan_layer_info *info) {
    if (i < 0 || i >= m->net[net].n_layers) return CLGAN_ERR_ARG;
    const layer_spec *L = &m->net[net].layers[i];
    memset(info, 0, sizeof *info);
    info->kind = layer_kind_name(L->kind);
    switch (L->kind) {
    case LAYER_DENSE: snprintf(info->detail, sizeof info->detail, "%d", L->units); break;
    case LAYER_MAXOUT:
        snprintf(info->detail, sizeof info->detail, "%dx%d", L->units, L->pieces);
        break;
    case LAYER_LEAKY_RELU: snprintf(info->detail, sizeof info->detail, "slope %g", L->slope); break;
    case LAYER_DROPOUT: snprintf(info->detail, sizeof info->detail, "keep %g", L->keep); break;
    default: break;
    }
    info->out_c = L->out.c;
    info->out_h = L->out.h;
    info->out_w = L->out.w;
    info->params = (uint64_t)(L->n_weights + L->n_bias);
    info->flops = L->flops;
    uint64_t vals = (uint64_t)shape_size(L->out);
    if (L->kind == LAYER_MAXOUT) vals += (uint64_t)L->units * L->pieces; /* pre-activations */
    info->act_bytes = vals * (uint64_t)m->train.batch * sizeof(float);
    return CLGAN_OK;
}

int clgan_model_batch(const clgan_model *m) {
    return m->train.batch;
}

void clgan_model_input_shape(const clgan_model *m, clgan_net net, int *c, int *h, int *w) {
    *c = m->net[net].in.c;
    *h = m->net[net].in.h;
    *w = m->net[net].in.w;
}

const char *clgan_model_name(const clgan_model *m) {
    return m->name;
}
