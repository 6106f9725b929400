/*
 * model.c - shape inference and the read-only queries of a model (clgan check).
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

/* Limits that keep every index in 32 bits on the device and refuse absurd models early. */
#define MAX_TENSOR_VALUES ((double)(1u << 31) - 1)

void layer_where(const clgan_model *m, const layer_spec *L, char *buf, size_t len) {
    if (L->use_line)
        snprintf(buf, len, "%s:%d:%d: in block '%s' (line %d:%d): ", m->path, L->use_line,
                 L->use_col, L->block, L->line, L->col);
    else
        snprintf(buf, len, "%s:%d:%d: ", m->path, L->line, L->col);
}

void layer_path(const net_spec *ns, int i, char *buf, size_t len) {
    if (ns->layers[i].path[0]) snprintf(buf, len, "%s", ns->layers[i].path);
    else snprintf(buf, len, "%d", i);
}

void layer_label(const layer_spec *L, char *buf, size_t len) {
    if (L->path[0]) snprintf(buf, len, "%s layer '%s'", layer_kind_name(L->kind), L->path);
    else snprintf(buf, len, "%s layer", layer_kind_name(L->kind));
}

static clgan_status too_big(clgan_model *m, const layer_spec *L, const char *which,
                            const char *what, double values) {
    double gib = values * 4.0 / (1024.0 * 1024.0 * 1024.0);
    char at[CLGAN_MSG_MAX / 4], lab[LAYER_PATH_MAX + 40];
    layer_where(m, L, at, sizeof at);
    layer_label(L, lab, sizeof lab);
    return err_set(&m->err, CLGAN_ERR_MODEL,
                   "%s%s of %s has %.0f %s values (%.1f GiB of float32), more than one device "
                   "buffer can hold (2^31 - 1 values)",
                   at, lab, which, values, what, gib);
}

clgan_status net_infer(clgan_model *m, net_spec *net, const char *which) {
    double total = 0;
    char at[CLGAN_MSG_MAX / 4], lab[LAYER_PATH_MAX + 40];
    for (int i = 0; i < net->n_layers; i++) {
        layer_spec *L = &net->layers[i];
        const layer_class *cls = layer_class_of(L->kind);
        layer_where(m, L, at, sizeof at);
        layer_label(L, lab, sizeof lab);
        if (L->n_in < 1) { /* a layer built without the parser: the one before */
            L->n_in = 1;
            L->in_idx[0] = i - 1;
        }
        for (int k = 0; k < L->n_in; k++) {
            int j = L->in_idx[k];
            if (j < -1 || j >= i) /* the parser and checkpoints keep inputs before the layer */
                return err_set(&m->err, CLGAN_ERR_MODEL, "%s%s of %s reads layer %d, not one "
                               "before it", at, lab, which, j);
            L->ins[k] = j < 0 ? net->in : net->layers[j].out;
            if (j >= 0) net->layers[j].consumers++;
        }
        L->in = L->ins[0];
        L->out = L->in;
        L->scratch = 0;
        L->fixed = 0;
        L->flops = 0;
        L->n_params = 0;
        L->consumers = 0;
        L->classes = m->condition_classes;
        char why[512];
        if (layer_needs_labels(L) && L->classes < 1)
            return err_set(&m->err, CLGAN_ERR_MODEL, "%s%s of %s: it reads the label, and the "
                           "model declares none (add condition: {classes: N})", at, lab, which);
        if (cls->infer(L, why, sizeof why) != 0)
            return err_set(&m->err, CLGAN_ERR_MODEL, "%s%s of %s: %s", at, lab, which, why);
        double vals = (double)L->out.c * L->out.h * L->out.w;
        if (vals > MAX_TENSOR_VALUES) return too_big(m, L, which, "output", vals);
        if ((double)L->scratch > MAX_TENSOR_VALUES)
            return too_big(m, L, which, "scratch", (double)L->scratch);
        param_info ps[LAYER_MAX_PARAMS];
        int np = cls->params(L, ps);
        for (int j = 0; j < np; j++) {
            double c = 1;
            for (int d = 0; d < ps[j].ndim; d++) c *= (double)ps[j].shape[d];
            if (c > MAX_TENSOR_VALUES) return too_big(m, L, which, ps[j].name, c);
            if (ps[j].trainable) L->n_params += ps[j].count;
        }
        total += (double)L->n_params;
        if (total > MAX_TENSOR_VALUES) return too_big(m, L, which, "parameter", total);
    }
    /* every layer's output is read, but the last one's: the network's output */
    for (int i = 0; i + 1 < net->n_layers; i++) {
        const layer_spec *L = &net->layers[i];
        if (L->consumers > 0) continue;
        layer_where(m, L, at, sizeof at);
        layer_label(L, lab, sizeof lab);
        return err_set(&m->err, CLGAN_ERR_MODEL, "%s%s of %s: no later layer reads its output "
                       "(the network's output is its last layer): name it in a 'from:' or "
                       "remove it", at, lab, which);
    }
    net->out = net->layers[net->n_layers - 1].out;
    net->n_params = (long)total;
    return CLGAN_OK;
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
    layer_class_of(L->kind)->describe(L, info->detail, sizeof info->detail);
    info->out_c = L->out.c;
    info->out_h = L->out.h;
    info->out_w = L->out.w;
    info->params = (uint64_t)L->n_params;
    info->flops = L->flops;
    uint64_t vals = (uint64_t)shape_size(L->out) + (uint64_t)L->scratch;
    info->act_bytes = (vals * (uint64_t)m->train.batch + (uint64_t)L->fixed) * sizeof(float);
    layer_path(&m->net[net], i, info->path, sizeof info->path);
    int n_in = L->n_in;
    if (n_in > 1 || L->in_idx[0] != i - 1) {
        size_t used = 0;
        for (int k = 0; k < n_in && used < sizeof info->from; k++) {
            char p[LAYER_PATH_MAX];
            if (L->in_idx[k] < 0) snprintf(p, sizeof p, "input");
            else layer_path(&m->net[net], L->in_idx[k], p, sizeof p);
            used += (size_t)snprintf(info->from + used, sizeof info->from - used, "%s%s",
                                     k ? ", " : "", p);
        }
    }
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

int model_nets(const clgan_model *m, clgan_net out[MODEL_NETS]) {
    return model_kind_nets(m->kind, out);
}

int model_kind_nets(model_kind kind, clgan_net out[MODEL_NETS]) {
    switch (kind) {
    case MODEL_GAN:
        out[0] = CLGAN_GENERATOR;
        out[1] = CLGAN_DISCRIMINATOR;
        return 2;
    case MODEL_CLASSIFIER: out[0] = CLGAN_CLASSIFIER; return 1;
    }
    return 0;
}

const char *model_net_name(clgan_net w) {
    switch (w) {
    case CLGAN_GENERATOR: return "generator";
    case CLGAN_DISCRIMINATOR: return "discriminator";
    case CLGAN_CLASSIFIER: return "classifier";
    }
    return "?";
}

const char *data_test_path(const data_spec *d) {
    return d->test_path ? d->test_path : d->path;
}

const char *data_test_labels(const data_spec *d) {
    return d->test_path ? d->test_labels : d->labels;
}

/* The layer whose output layer i reads (its only input), or -1. */
static int net_spec_input_of(const net_spec *ns, int i) {
    const layer_spec *L = &ns->layers[i];
    return L->n_in > 1 ? -1 : L->in_idx[0];
}

int net_spec_last_acting(const net_spec *ns) {
    int i = ns->n_layers - 1;
    while (i > 0) {
        const layer_class *cls = layer_class_of(ns->layers[i].kind);
        if (!cls->passes_values || !cls->passes_values(&ns->layers[i])) break;
        int j = net_spec_input_of(ns, i);
        if (j < 0 || ns->layers[j].consumers > 1) break; /* its values go elsewhere too */
        i = j;
    }
    return i;
}

int net_spec_final_sigmoid(const net_spec *ns) {
    if (ns->n_layers < 1) return -1;
    int i = net_spec_last_acting(ns);
    return ns->layers[i].kind == LAYER_SIGMOID ? i : -1;
}

int net_spec_no_tangent(const net_spec *ns, int upto, const char **why) {
    for (int i = 0; i <= upto && i < ns->n_layers; i++) {
        const layer_class *c = layer_class_of(ns->layers[i].kind);
        if (!c->tangent) {
            *why = c->no_tangent;
            return i;
        }
    }
    *why = NULL;
    return -1;
}

const char *penalty_name(int k) {
    static const char *const names[] = {"r1", "r2", "gradient_penalty"};
    return k >= 0 && k < PENALTY_KINDS ? names[k] : "?";
}

int net_spec_bias_into_norm(const net_spec *ns, int i) {
    if (i < 0 || i >= ns->n_layers || ns->layers[i].consumers != 1) return 0;
    int next = -1; /* its one reader */
    for (int j = i + 1; j < ns->n_layers && next < 0; j++)
        if (net_spec_input_of(ns, j) == i) next = j;
    if (next < 0 || ns->layers[next].kind != LAYER_BATCH_NORM) return 0;
    param_info p[LAYER_MAX_PARAMS];
    int np = layer_params(&ns->layers[i], p);
    for (int j = 0; j < np; j++)
        if (strcmp(p[j].name, "bias") == 0) return 1;
    return 0;
}

int data_is_images(const data_spec *d) {
    switch (d->format) {
    case DATA_IDX:
    case DATA_STACKED_IDX: return 1;
    case DATA_GAUSSIAN_1D:
    case DATA_MIXTURE_1D:
    case DATA_RING_2D: return 0;
    }
    return 0;
}

const char *gan_loss_name(gan_loss_kind k) {
    switch (k) {
    case GAN_LOSS_NON_SATURATING: return "non_saturating";
    case GAN_LOSS_MINIMAX: return "minimax";
    case GAN_LOSS_LEAST_SQUARES: return "least_squares";
    case GAN_LOSS_HINGE: return "hinge";
    case GAN_LOSS_WASSERSTEIN: return "wasserstein";
    case GAN_LOSS_RELATIVISTIC: return "relativistic";
    }
    return "?";
}

int gan_loss_needs_critic(gan_loss_kind k) {
    switch (k) {
    case GAN_LOSS_LEAST_SQUARES:
    case GAN_LOSS_HINGE:
    case GAN_LOSS_WASSERSTEIN: return 1;
    case GAN_LOSS_NON_SATURATING:
    case GAN_LOSS_MINIMAX:
    case GAN_LOSS_RELATIVISTIC: return 0;
    }
    return 0;
}
