/*
 * penalty.c - gradient penalties (penalty.h): the three sweeps and their kernels
 * (cl/penalty.cl).
 */
#include "penalty.h"

#include "rng.h"

int penalty_refuses(const net_spec *ns, int upto, const char **why) {
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

static clgan_status kernel(net *n, const char *name, cl_kernel *k) {
    return *k ? CLGAN_OK : net_kernel(n, "cl/penalty.cl", name, k);
}

clgan_status penalty_mix(net *n, int rows) {
    clgan_status st = kernel(n, "penalty_mix", &n->k_mix);
    uint64_t s = (*n->stream_next)++;
    size_t cols = n->in.cols;
    cl_uint x = (cl_uint)n->in.off, f = (cl_uint)(n->in.off + (size_t)rows * cols),
            c = (cl_uint)cols, r = (cl_uint)rows, e0 = (cl_uint)n->row0, s_lo = (cl_uint)s,
            s_hi = (cl_uint)(s >> 32);
    karg a[] = {KA(n->acts), KA(x), KA(f), KA(c), KA(r), KA(e0), KA(n->key[0]), KA(n->key[1]),
                KA(s_lo), KA(s_hi)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, n->k_mix, "penalty_mix", a, 10);
    return st == CLGAN_OK ? device_run1d(n->dev, n->k_mix, (size_t)rows * cols, "penalty_mix")
                          : st;
}

/*
 * Where a kind below the logits has a second derivative (tanh, sigmoid): the adjoint of the
 * values, zero at the logits, gains f''(x) t dy at each such layer and goes down as a backward
 * pass does, adding its parameter gradients (biases' too) to the tangent pass's (in pen_part,
 * which net_backward adds as it writes). Its own gradient buffer; the backward pass's dy stay.
 */
static clgan_status third_pass(net *n, int rows, int top) {
    clgan_status st = CLGAN_OK;
    size_t pbytes = n->n_params * sizeof(float), abytes = n->n_acts * sizeof(float);
    if (!n->pen_part) st = device_alloc(n->dev, pbytes, "a penalty's gradients", &n->pen_part);
    if (st == CLGAN_OK && !n->adeltas)
        st = device_alloc(n->dev, abytes, "a penalty's third pass", &n->adeltas);
    if (st == CLGAN_OK) {
        cl_int rc = clEnqueueCopyBuffer(n->dev->queue, n->grads, n->pen_part, 0, 0, pbytes, 0,
                                        NULL, NULL);
        if (rc != CL_SUCCESS) return err_cl(&n->dev->err, rc, "clEnqueueCopyBuffer", "a penalty");
    }
    tensor lg = net_logit_grad(n);
    if (st == CLGAN_OK)
        st = device_fill(n->dev, n->adeltas, lg.off * sizeof(float), (size_t)rows * sizeof(float));
    if (st != CLGAN_OK) return st;
    clgan_status (*ready)(net *, int, void *) = n->grads_ready;
    n->delta_vals = n->deltas;
    n->deltas = n->adeltas;
    n->second = 1;
    n->grads_extra = n->pen_part;
    n->grads_ready = NULL; /* the trainer reduces the loss's pass, not this */
    st = net_backward(n, top, rows, 0, 1);
    n->grads_ready = ready;
    n->grads_extra = NULL;
    n->second = 0;
    n->deltas = n->delta_vals;
    n->delta_vals = NULL;
    return st;
}

/* acts and tan change places: a tangent pass begins (on 1) or ends (on 0) */
static void swap(net *n, int on) {
    cl_mem a = n->acts;
    n->acts = n->tan;
    n->tan = a;
    n->primal = on ? n->tan : NULL;
    n->tangent = on;
}

clgan_status penalty_pass(net *n, int rows, const penalty_args *pa) {
    clgan_status st = CLGAN_OK;
    if (!n->tan)
        st = device_alloc(n->dev, n->n_acts * sizeof(float), "the tangents (a penalty)", &n->tan);
    if (st == CLGAN_OK) st = kernel(n, "penalty_seed", &n->k_seed);
    int top = net_logit_layer(n);
    tensor lg = net_logit_grad(n);
    /* the rows' values and, from dlogit = 1, each layer's dy and the input's gradient g */
    if (st == CLGAN_OK) st = net_forward(n, rows, 1);
    float one = 1.0f;
    if (st == CLGAN_OK) {
        cl_int rc = clEnqueueFillBuffer(n->dev->queue, n->deltas, &one, sizeof one,
                                        lg.off * sizeof(float), (size_t)rows * sizeof(float), 0,
                                        NULL, NULL);
        if (rc != CL_SUCCESS) st = err_cl(&n->dev->err, rc, "clEnqueueFillBuffer", "dlogit = 1");
    }
    if (st == CLGAN_OK) st = net_backward(n, top, rows, 1, 0);
    /* the values, and the seed c_r g_r in the tangents' slot 0 */
    cl_uint g = (cl_uint)n->din.off, t = (cl_uint)n->in.off, cols = (cl_uint)n->in.cols,
            r = (cl_uint)rows, centred = (cl_uint)pa->centred, slot = (cl_uint)pa->slot;
    karg a[] = {KA(n->deltas), KA(g),          KA(n->tan),  KA(t),
                KA(cols),      KA(r),          KA(pa->weight), KA(pa->target),
                KA(centred),   KA(pa->vscale), KA(pa->stats), KA(slot)};
    if (st == CLGAN_OK) st = device_set_args(n->dev, n->k_seed, "penalty_seed", a, 12);
    if (st == CLGAN_OK) st = device_run_group(n->dev, n->k_seed, 64, "penalty_seed");
    if (st != CLGAN_OK) return st;
    /* the tangent pass: each layer's input tangent, then the parameter gradients */
    swap(n, 1);
    for (int i = 0; i <= top && st == CLGAN_OK; i++)
        st = n->layers[i].cls->ops.forward(n, &n->layers[i], rows, 1);
    if (st == CLGAN_OK) st = device_fill(n->dev, n->grads, 0, n->n_params * sizeof(float));
    for (int i = top; i >= 0 && st == CLGAN_OK; i--)
        if (n->layers[i].n_params)
            st = n->layers[i].cls->ops.backward(n, &n->layers[i], rows, 0, 1);
    swap(n, 0);
    int curved = 0;
    for (int i = 0; i <= top; i++) curved |= n->layers[i].cls->second_order;
    return st == CLGAN_OK && curved ? third_pass(n, rows, top) : st;
}
