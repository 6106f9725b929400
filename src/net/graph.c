/*
 * graph.c - compiles a network spec into device buffers, views and kernels, and runs the
 * forward and backward passes layer by layer. Owns the network's buffers and its layers'
 * kernels; borrows the device (context, queue, programs) and the model spec.
 */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define SLOT_ALIGN 16 /* floats: keeps every view 64-byte aligned for vector loads */

static size_t align_up(size_t v) {
    return (v + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
}

clgan_status net_kernel(net *n, const char *file, const char *name, cl_kernel *out) {
    return device_kernel(n->dev, file, name, out);
}

clgan_status net_create(clgan_device *dev, const clgan_model *m, clgan_net which, int capacity,
                        uint64_t seed, net **out) {
    *out = NULL;
    const net_spec *spec = &m->net[which];
    if (spec->n_layers == 0) /* programmer error elsewhere, or a checkpoint of another kind */
        return err_set(&dev->err, CLGAN_ERR_ARG, "%s: the model has no %s", m->path,
                       model_net_name(which));
    net *n = calloc(1, sizeof *n);
    if (!n) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    n->layers = calloc((size_t)spec->n_layers, sizeof *n->layers);
    if (!n->layers) {
        free(n);
        return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    n->dev = dev;
    n->spec = spec;
    n->capacity = capacity;
    n->index = which;
    n->groups = 1;
    n->n_layers = spec->n_layers;
    rng_key_from_seed(seed, n->key);
    n->stream_next = &n->own_stream;

    /* Lay out parameters and activation slots. */
    size_t poff = 0, aoff = 0, B = (size_t)capacity;
    size_t in_cols = (size_t)shape_size(spec->in);
    n->in = (tensor){NULL, 0, in_cols};
    aoff = align_up(B * in_cols);
    for (int i = 0; i < n->n_layers; i++) {
        layer *l = &n->layers[i];
        const layer_spec *s = &spec->layers[i];
        l->spec = s;
        l->cls = layer_class_of(s->kind);
        l->n_params = layer_params(s, l->params);
        for (int j = 0; j < l->n_params; j++) /* trainable tensors first, in the class's order */
            if (l->params[j].trainable) {
                l->param_off[j] = poff;
                poff = align_up(poff + (size_t)l->params[j].count);
            }
        size_t cols = (size_t)shape_size(s->out);
        l->y = (tensor){NULL, aoff, cols};
        aoff = align_up(aoff + B * cols);
        if (s->scratch > 0 || s->fixed > 0) {
            l->z = (tensor){NULL, aoff, (size_t)s->scratch};
            aoff = align_up(aoff + B * (size_t)s->scratch + (size_t)s->fixed);
        }
        /* its inputs; the gradient of an input that feeds several layers: the last reader (the
         * first the backward pass meets) writes the input's dy, the others slots of their own
         * that are added into it */
        l->n_in = s->n_in;
        for (int k = 0; k < l->n_in; k++) {
            int j = s->in_idx[k];
            tensor x = j < 0 ? n->in : n->layers[j].y;
            l->xs[k] = x;
            l->dxs[k] = x;
            int later = 0; /* readers of layer j after this edge */
            for (int q = i; q < n->n_layers; q++) {
                const layer_spec *r = &spec->layers[q];
                for (int e = q == i ? k + 1 : 0; e < r->n_in; e++) later += r->in_idx[e] == j;
            }
            if (later > 0) {
                l->acc[k] = x;
                l->dxs[k] = (tensor){NULL, aoff, x.cols};
                aoff = align_up(aoff + B * x.cols);
            }
        }
    }
    /* then the running statistics: the optimizers update [0, n_train) only */
    n->n_train = poff;
    for (int i = 0; i < n->n_layers; i++) {
        layer *l = &n->layers[i];
        for (int j = 0; j < l->n_params; j++)
            if (!l->params[j].trainable) {
                l->param_off[j] = poff;
                poff = align_up(poff + (size_t)l->params[j].count);
            }
    }
    n->n_params = poff;
    n->n_acts = aoff;
    clgan_status st;
    const char *what = model_net_name(which);
    char label[64];
    snprintf(label, sizeof label, "%s parameters", what);
    if ((st = device_alloc(dev, poff * sizeof(float), label, &n->params)) != CLGAN_OK) goto fail;
    snprintf(label, sizeof label, "%s gradients", what);
    if ((st = device_alloc(dev, poff * sizeof(float), label, &n->grads)) != CLGAN_OK) goto fail;
    snprintf(label, sizeof label, "%s activations", what);
    if ((st = device_alloc(dev, aoff * sizeof(float), label, &n->acts)) != CLGAN_OK) goto fail;
    /* a conditional model's generator draws its rows' labels (D's generated rows take them)
     * even where none of its layers reads them */
    int labelled = which == CLGAN_GENERATOR && m->condition_classes > 0;
    for (int i = 0; i < n->n_layers; i++) labelled |= layer_needs_labels(n->layers[i].spec);
    if (labelled) { /* the rows' labels, all 0 until the trainer or a caller sets them */
        snprintf(label, sizeof label, "%s labels", what);
        size_t lb = ((size_t)capacity + 3) / 4 * 4; /* device_fill writes 4-byte words */
        if ((st = device_alloc(dev, lb, label, &n->labels)) != CLGAN_OK) goto fail;
        if ((st = device_fill(dev, n->labels, 0, lb)) != CLGAN_OK) goto fail;
    }
    snprintf(label, sizeof label, "%s activation gradients", what);
    if ((st = device_alloc(dev, aoff * sizeof(float), label, &n->deltas)) != CLGAN_OK) goto fail;
    /* Zero everything once so views never expose garbage (the padding included). */
    if ((st = device_fill(dev, n->params, 0, poff * sizeof(float))) != CLGAN_OK) goto fail;
    if ((st = device_fill(dev, n->grads, 0, poff * sizeof(float))) != CLGAN_OK) goto fail;
    if ((st = device_fill(dev, n->acts, 0, aoff * sizeof(float))) != CLGAN_OK) goto fail;
    if ((st = device_fill(dev, n->deltas, 0, aoff * sizeof(float))) != CLGAN_OK) goto fail;

    n->in.buf = n->acts;
    n->din = (tensor){n->deltas, 0, in_cols};
    for (int i = 0; i < n->n_layers; i++) {
        layer *l = &n->layers[i];
        l->y.buf = n->acts;
        l->dy = (tensor){n->deltas, l->y.off, l->y.cols};
        for (int k = 0; k < l->n_in; k++) {
            l->xs[k].buf = n->acts;
            l->dxs[k].buf = n->deltas;
            if (l->acc[k].cols) l->acc[k].buf = n->deltas;
        }
        l->x = l->xs[0];
        l->dx = l->dxs[0];
        if (l->spec->scratch > 0 || l->spec->fixed > 0) {
            l->z.buf = n->acts;
            l->dz = (tensor){n->deltas, l->z.off, l->z.cols};
        }
        if ((st = l->cls->ops.setup(n, l)) != CLGAN_OK) goto fail;
        for (int k = 0; k < l->n_in; k++)
            if (l->acc[k].buf && !n->k_acc &&
                (st = net_kernel(n, "cl/merge.cl", "grad_acc", &n->k_acc)) != CLGAN_OK)
                goto fail;
    }
    n->out = n->layers[n->n_layers - 1].y;
    n->dout = n->layers[n->n_layers - 1].dy;
    *out = n;
    return CLGAN_OK;
fail:
    net_free(n);
    return st;
}

void net_free(net *n) {
    if (!n) return;
    for (int i = 0; i < n->n_layers; i++)
        for (int k = 0; k < LAYER_MAX_KERNELS; k++)
            if (n->layers[i].k[k]) clReleaseKernel(n->layers[i].k[k]);
    if (n->k_noise) clReleaseKernel(n->k_noise);
    if (n->k_labels) clReleaseKernel(n->k_labels);
    if (n->k_acc) clReleaseKernel(n->k_acc);
    cl_kernel pk[] = {n->k_add, n->k_seed, n->k_mix};
    for (size_t i = 0; i < ARRAY_LEN(pk); i++)
        if (pk[i]) clReleaseKernel(pk[i]);
    device_release(n->dev, n->tan);
    device_release(n->dev, n->adeltas);
    device_release(n->dev, n->pen_part);
    device_release(n->dev, n->params);
    device_release(n->dev, n->grads);
    device_release(n->dev, n->acts);
    device_release(n->dev, n->deltas);
    device_release(n->dev, n->labels);
    free(n->layers);
    free(n);
}

/*
 * Parameter tensor j of layer i of network `index` draws from Philox stream
 * (index << 32) | (j << 24) | i of the init tag: tensor 0 keeps the stream of the layer.
 */
void net_host_init(const net *n, const float *data_mean, float *params) {
    memset(params, 0, n->n_params * sizeof(float));
    for (int i = 0; i < n->n_layers; i++) {
        const layer *l = &n->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const param_info *pi = &l->params[j];
            float *dst = params + l->param_off[j];
            rng_stream rs = {{n->key[0], n->key[1]},
                             ((uint64_t)n->index << 32) | ((uint64_t)j << 24) | (uint64_t)i,
                             RNG_TAG_INIT};
            float a = pi->init == INIT_XAVIER ? sqrtf(6.0f / (float)(pi->fan_in + pi->fan_out))
                                              : pi->scale;
            switch (pi->init) {
            case INIT_XAVIER: /* uniform, of xavier's range */
            case INIT_UNIFORM:
                for (long k = 0; k < pi->count; k++) dst[k] = rng_uniform(&rs, (uint64_t)k, -a, a);
                break;
            case INIT_NORMAL:
                for (long k = 0; k < pi->count; k++) dst[k] = rng_normal(&rs, (uint64_t)k, 0, a);
                break;
            case INIT_CONST:
                for (long k = 0; k < pi->count; k++) dst[k] = a;
                break;
            case INIT_LOGIT_DATA_MEAN:
                for (long k = 0; k < pi->count; k++) {
                    float mu = data_mean ? data_mean[k] : 0.5f;
                    mu = fminf(fmaxf(mu, 1e-3f), 1.0f - 1e-3f);
                    dst[k] = logf(mu / (1.0f - mu));
                }
                break;
            }
        }
    }
}

clgan_status net_init_params(net *n, const float *data_mean) {
    float *p = malloc(n->n_params * sizeof *p);
    if (!p) return err_set(&n->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    net_host_init(n, data_mean, p);
    clgan_status st = device_write(n->dev, n->params, 0, n->n_params * sizeof *p, p, 1);
    free(p);
    return st;
}

clgan_status net_forward(net *n, int batch, int train) {
    for (int i = 0; i < n->n_layers; i++) {
        clgan_status st = n->layers[i].cls->ops.forward(n, &n->layers[i], batch, train);
        if (st != CLGAN_OK) return st;
    }
    return CLGAN_OK;
}

clgan_status net_add(net *n, cl_mem dst, size_t d_off, cl_mem src, size_t s_off, size_t count) {
    clgan_status st = n->k_add ? CLGAN_OK : net_kernel(n, "cl/merge.cl", "buf_add", &n->k_add);
    cl_uint d = (cl_uint)d_off, s = (cl_uint)s_off, c = (cl_uint)count;
    karg a[] = {KA(dst), KA(d), KA(src), KA(s), KA(c)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, n->k_add, "buf_add", a, 5);
    return st == CLGAN_OK ? device_run1d(n->dev, n->k_add, count, "buf_add") : st;
}

/* dst += src over `count` values of deltas: a fan-out's gradient slot into its layer's dy. */
static clgan_status grad_acc(net *n, tensor dst, tensor src, size_t count) {
    cl_uint d = (cl_uint)dst.off, s = (cl_uint)src.off, c = (cl_uint)count;
    karg a[] = {KA(n->deltas), KA(d), KA(s), KA(c)};
    clgan_status st = device_set_args(n->dev, n->k_acc, "grad_acc", a, (int)ARRAY_LEN(a));
    return st == CLGAN_OK ? device_run1d(n->dev, n->k_acc, count, "grad_acc") : st;
}

clgan_status net_backward(net *n, int from, int batch, int need_din, int need_dw) {
    for (int i = from; i >= 0; i--) {
        layer *l = &n->layers[i];
        int need_dx = need_din;
        for (int k = 0; k < l->n_in; k++) need_dx |= l->spec->in_idx[k] >= 0;
        if (!need_dx && !(need_dw && l->n_params)) continue;
        clgan_status st = l->cls->ops.backward(n, l, batch, need_dx, need_dw);
        for (int k = 0; st == CLGAN_OK && need_dx && k < l->n_in; k++)
            if (l->acc[k].buf) st = grad_acc(n, l->acc[k], l->dxs[k], (size_t)batch * l->acc[k].cols);
        for (int j = 0; st == CLGAN_OK && need_dw && n->grads_extra && j < l->n_params; j++)
            if (l->params[j].trainable)
                st = net_add(n, n->grads, l->param_off[j], n->grads_extra, l->param_off[j],
                                 (size_t)l->params[j].count);
        if (st == CLGAN_OK && need_dw && n->grads_ready) st = n->grads_ready(n, i, n->grads_ctx);
        if (st != CLGAN_OK) return st;
    }
    return CLGAN_OK;
}

/* The layers after a final sigmoid only pass its values on (flatten, reshape, dropout keeping
 * every value): the loss reads the sigmoid's input and backpropagates from the layer before. */
int net_logit_layer(const net *n) {
    int s = net_spec_final_sigmoid(n->spec);
    return s >= 0 ? s - 1 : n->n_layers - 1;
}

tensor net_logits(const net *n) {
    int s = net_spec_final_sigmoid(n->spec);
    return s >= 0 ? n->layers[s].x : n->layers[n->n_layers - 1].y;
}

tensor net_logit_grad(const net *n) {
    int s = net_spec_final_sigmoid(n->spec);
    return s >= 0 ? n->layers[s].dx : n->layers[n->n_layers - 1].dy;
}

clgan_status net_draw_noise(net *n, const noise_spec *z, int batch, uint64_t *stream_used) {
    const char *name = z->dist == NOISE_UNIFORM ? "rng_uniform" : "rng_normal";
    clgan_status st;
    if (!n->k_noise && (st = device_kernel(n->dev, "cl/rng.cl", name, &n->k_noise)) != CLGAN_OK)
        return st;
    uint64_t s = (*n->stream_next)++;
    if (stream_used) *stream_used = s;
    cl_uint off = (cl_uint)n->in.off, cnt = (cl_uint)((size_t)batch * n->in.cols),
            e0 = (cl_uint)((size_t)n->row0 * n->in.cols);
    cl_uint s_lo = (cl_uint)s, s_hi = (cl_uint)(s >> 32), tag = RNG_TAG_NOISE;
    karg a[] = {KA(n->acts),   KA(off),  KA(e0),   KA(cnt),  KA(z->a), KA(z->b),
                KA(n->key[0]), KA(n->key[1]), KA(s_lo), KA(s_hi), KA(tag)};
    st = device_set_args(n->dev, n->k_noise, name, a, (int)ARRAY_LEN(a));
    if (st != CLGAN_OK) return st;
    return device_run1d(n->dev, n->k_noise, rng_items(e0, cnt), name);
}

clgan_status net_draw_labels(net *n, int batch, int classes) {
    clgan_status st;
    if (!n->k_labels && (st = device_kernel(n->dev, "cl/rng.cl", "rng_labels", &n->k_labels)) !=
                            CLGAN_OK)
        return st;
    uint64_t s = (*n->stream_next)++;
    cl_uint e0 = (cl_uint)n->row0, cnt = (cl_uint)batch, k = (cl_uint)classes, s_lo = (cl_uint)s,
            s_hi = (cl_uint)(s >> 32), tag = RNG_TAG_LABEL;
    karg a[] = {KA(n->labels), KA(e0),   KA(cnt),  KA(k), KA(n->key[0]), KA(n->key[1]),
                KA(s_lo),      KA(s_hi), KA(tag)};
    st = device_set_args(n->dev, n->k_labels, "rng_labels", a, (int)ARRAY_LEN(a));
    return st == CLGAN_OK ? device_run1d(n->dev, n->k_labels, cnt, "rng_labels") : st;
}

clgan_status net_set_labels(net *n, const unsigned char *labels, int rows) {
    if (!n->labels) return CLGAN_OK;
    if (rows > n->capacity)
        return err_set(&n->dev->err, CLGAN_ERR_ARG, "%d labels exceed the network's %d rows",
                       rows, n->capacity);
    return device_write(n->dev, n->labels, 0, (size_t)rows, labels, 1);
}

clgan_status net_run_eval(net *n, const float *in, int rows, float *out) {
    if (rows > n->capacity)
        return err_set(&n->dev->err, CLGAN_ERR_ARG, "%d rows exceed the network's %d", rows,
                       n->capacity);
    clgan_status st = device_write(n->dev, n->acts, n->in.off * sizeof(float),
                                   (size_t)rows * n->in.cols * sizeof(float), in, 1);
    if (st == CLGAN_OK) st = net_forward(n, rows, 0);
    if (st == CLGAN_OK)
        st = device_read(n->dev, n->acts, n->out.off * sizeof(float),
                         (size_t)rows * n->out.cols * sizeof(float), out);
    return st;
}

clgan_status net_run_eval_at(net *n, const float *in, int rows, int layer, float *feat,
                             float *out) {
    if (rows > n->capacity || layer < 0 || layer >= n->n_layers)
        return err_set(&n->dev->err, CLGAN_ERR_ARG, "%d rows or layer %d out of the network's "
                       "%d rows and %d layers", rows, layer, n->capacity, n->n_layers);
    clgan_status st = device_write(n->dev, n->acts, n->in.off * sizeof(float),
                                   (size_t)rows * n->in.cols * sizeof(float), in, 1);
    if (st == CLGAN_OK) st = net_forward(n, rows, 0);
    const tensor *y = &n->layers[layer].y;
    if (st == CLGAN_OK && feat)
        st = device_read(n->dev, y->buf, y->off * sizeof(float),
                         (size_t)rows * y->cols * sizeof(float), feat);
    if (st == CLGAN_OK && out)
        st = device_read(n->dev, n->acts, n->out.off * sizeof(float),
                         (size_t)rows * n->out.cols * sizeof(float), out);
    return st;
}

void noise_fill_host(const noise_spec *z, uint64_t seed, uint64_t stream, int rows, float *out) {
    uint32_t key[2];
    rng_key_from_seed(seed, key);
    rng_stream s = {{key[0], key[1]}, stream, RNG_TAG_SAMPLE};
    for (size_t i = 0; i < (size_t)rows * z->dim; i++)
        out[i] = z->dist == NOISE_UNIFORM ? rng_uniform(&s, i, z->a, z->b)
                                          : rng_normal(&s, i, z->a, z->b);
}

clgan_status net_sample(net *g, const noise_spec *z, uint64_t seed, uint64_t first_stream, long S,
                        float *out) {
    float *noise = malloc((size_t)g->capacity * z->dim * sizeof *noise);
    unsigned char *lab = malloc((size_t)g->capacity);
    if (!noise || !lab) {
        free(noise);
        free(lab);
        return err_set(&g->dev->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    clgan_status st = CLGAN_OK;
    int classes = g->spec->layers[0].classes;
    for (long i = 0, k = 0; i < S && st == CLGAN_OK; i += g->capacity, k++) {
        int rows = S - i < g->capacity ? (int)(S - i) : g->capacity;
        noise_fill_host(z, seed, first_stream + (uint64_t)k, rows, noise);
        if (g->labels && classes > 0) { /* a conditional generator: every class alike */
            for (int r = 0; r < rows; r++) lab[r] = (unsigned char)((i + r) % classes);
            st = net_set_labels(g, lab, rows);
        }
        if (st == CLGAN_OK) st = net_run_eval(g, noise, rows, out + (size_t)i * g->out.cols);
    }
    free(noise);
    free(lab);
    return st;
}

int net_gemm_shapes(const clgan_device *dev, const net_spec *ns, int rows, int fwd, int din, int dw,
                    gemm_shape *out, int max) {
    int n = 0;
    for (int i = 0; i < ns->n_layers; i++) {
        const layer_spec *l = &ns->layers[i];
        gemm_shape s[LAYER_MAX_GEMMS];
        /* a layer's input gradient: below layer 0 only if the network's is asked for */
        int l_din = (din || i > 0) && (din || dw), l_dw = dw && l->n_params > 0;
        int k = layer_class_of(l->kind)->gemms(dev, l, rows, fwd, l_din, l_dw, s);
        for (int j = 0; j < k; j++, n++)
            if (n < max) out[n] = s[j];
    }
    return n;
}
