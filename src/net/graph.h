/*
 * graph.h - one network (generator or discriminator) compiled for a device.
 *
 * Memory: four device buffers per network. `params` and `grads` hold every layer's parameter
 * tensors (its class's list) back to back, the trainable ones first, then running statistics; `acts` and `deltas` hold activation slots and their
 * gradients. Slot 0 is the network's input, slot i+1 the output of layer i; a layer with scratch
 * values (maxout's pre-activations, dropout's mask) has a slot of its own for them. Tensors are
 * views (buffer, offset in floats), batch-major: a (N, C, H, W) tensor is N rows of C*H*W floats.
 *
 * The network is sized for `capacity` samples; forward and backward run on the first `batch`
 * rows, batch <= capacity. Everything is enqueued on the device's in-order queue; nothing here
 * waits for the device except net_read/net_write helpers used outside the step.
 */
#ifndef CLGAN_GRAPH_H
#define CLGAN_GRAPH_H

#include "device.h"
#include "model.h"

typedef struct tensor {
    cl_mem buf;
    size_t off; /* floats */
    size_t cols; /* values per sample (C*H*W) */
} tensor;

#define LAYER_MAX_KERNELS 16

struct layer {
    const layer_spec *spec;
    const layer_class *cls;     /* layer_class_of(spec->kind) */
    param_info params[LAYER_MAX_PARAMS]; /* layer_params(spec): the parameter tensors */
    size_t param_off[LAYER_MAX_PARAMS];  /* where each lies in params and grads, floats */
    int n_params;
    tensor x, y, dx, dy;        /* input, output and their gradients (x = xs[0], dx = dxs[0]) */
    int n_in;                   /* inputs (spec->n_in) */
    tensor xs[LAYER_MAX_INPUTS], dxs[LAYER_MAX_INPUTS];
    /* an input whose layer feeds several: dxs[k] is a slot of its own, added into acc[k] (the
     * input layer's dy) once the backward pass has written it; acc[k].buf NULL: dxs[k] is the
     * input layer's dy itself */
    tensor acc[LAYER_MAX_INPUTS];
    tensor z, dz;               /* the layer's scratch slot: spec->scratch values per row
                                   (maxout: pre-activations; dropout: its mask; convolutions:
                                   their column matrices), then spec->fixed values (batch
                                   norm's statistics); dz the same in deltas */
    cl_kernel k[LAYER_MAX_KERNELS];
    uint64_t stream;            /* dropout: Philox stream of the latest forward */
    int as_unit;                /* dense: runs as a one-unit layer (decided at setup) */
    long sn_rows, sn_cols;      /* spectral_norm: the weight's matrix view (0: off) */
    int sn_k0, sn_u;            /* its first kernel in k[], the index of u among params */
    size_t sn_ws;               /* where W_sn lies in acts (the fixed scratch) */
};

struct net {
    clgan_device *dev;
    const net_spec *spec;
    int capacity;
    int index;                  /* CLGAN_GENERATOR or CLGAN_DISCRIMINATOR */
    layer *layers;
    int n_layers;
    cl_mem params, grads, acts, deltas;
    cl_mem labels;              /* each row's label (capacity bytes), where a layer reads them */
    size_t n_params, n_acts;    /* floats in params (and grads), in acts (and deltas) */
    size_t n_train;             /* params [0, n_train) are trainable; the rest are running
                                   statistics (batch norm's), which no optimizer touches */
    tensor in, out, din, dout;
    int groups;                 /* row groups with statistics of their own (batch norm):
                                   1, or 2 in a discriminator step (real rows, generated rows) */
    uint32_t key[2];            /* Philox key (from the seed) */
    uint64_t *stream_next;      /* next unused Philox stream; shared with the trainer */
    uint64_t own_stream;
    long row0;                  /* a replica's (issue 16): the global batch row of its row 0
                                   in each row group: the random draws (noise, labels,
                                   dropout) are those of global rows g rows_global + row0
                                   on; 0 for one device */
    long rows_global;           /* a replica's: the global batch's rows per group; 0 for one
                                   device */
    /* data parallelism: called after a backward pass enqueues layer `layer`'s parameter
     * gradients (the trainer reads them in buckets to reduce while the pass goes on); NULL:
     * nothing to call */
    clgan_status (*grads_ready)(net *n, int layer, void *ctx);
    void *grads_ctx;
    /* a replica's (issue 16): sums count floats at h over every replica's rows of the global
     * batch, in place (batch norm's statistics); NULL: this network's rows are all */
    clgan_status (*sum)(net *n, float *h, size_t count, const char *what, void *ctx);
    void *sum_ctx;
    cl_kernel k_noise;          /* the prior's sampler, created on first use */
    cl_kernel k_labels;         /* the generated rows' labels (conditional), on first use */
    cl_kernel k_acc;            /* adds a fan-out's gradient slot into its layer's dy */
    /*
     * Gradient penalties (penalty.h). A tangent pass runs each layer's forward and backward
     * with `acts` swapped for `tan` (the tangents, laid out as the activations) and `primal`
     * holding the activations: a kind whose class has `tangent` set then computes, in
     * forward, its output's tangent J t_x (no bias, the masks, pieces and slopes of the latest
     * forward pass, read from primal) and, in backward with need_dw, the gradients of
     * sum_r dy_r . J t_x_r (dy from the latest backward pass; biases get none).
     */
    cl_mem tan, primal;
    int tangent;
    /*
     * Where a kind with a second derivative (tanh, sigmoid: its class's second_order) lies
     * below the logits, a third pass carries the penalty's adjoint of the values: `deltas` is
     * then that pass's own buffer, `delta_vals` the backward pass's gradients (dy), and
     * `second` 1; such a kind's backward adds f''(x) t_x dy to f'(x) times its output's adjoint.
     */
    cl_mem adeltas, delta_vals, pen_part;
    int second;
    /* where set, net_backward adds these gradients (laid out as grads) into each layer's
     * parameter gradients as it writes them, before grads_ready: a penalty's */
    cl_mem grads_extra;
    cl_kernel k_add;            /* net_add's, on first use */
    cl_kernel k_seed, k_mix;    /* penalty.c's, on first use */
};

/* The activations' values: `primal` while a tangent pass runs, else `acts`. */
static inline cl_mem net_values(const net *n) {
    return n->tangent ? n->primal : n->acts;
}

/*
 * Compiles network `which` of model m for dev: allocates buffers, creates kernels, sets views.
 * Parameters are uninitialised until net_init_params. On failure the message is on dev->err.
 */
clgan_status net_create(clgan_device *dev, const clgan_model *m, clgan_net which, int capacity,
                        uint64_t seed, net **out);
void net_free(net *n);

/*
 * Draws the initial parameters on the host from the init stream of the seed (identical on every
 * device) and uploads them. data_mean (may be NULL) gives the per-value data mean for a
 * `bias: logit_of_data_mean` layer; it is clipped to [1e-3, 1 - 1e-3] first.
 */
clgan_status net_init_params(net *n, const float *data_mean);
/* The host copy of the initial parameters net_init_params uploads (n->n_params floats). */
void net_host_init(const net *n, const float *data_mean, float *params);

/* Forward through every layer on the first `batch` rows of slot 0. */
clgan_status net_forward(net *n, int batch, int train);
/*
 * Backward from layer `from` (inclusive) down to layer 0: layer `from`'s dy must hold dL/dy.
 * need_din: also compute the gradient of the network's input (din). need_dw: parameter grads.
 */
clgan_status net_backward(net *n, int from, int batch, int need_din, int need_dw);

/*
 * The logits of a network ending in a sigmoid: the sigmoid's input (else the output). Losses
 * write dL/dlogits into logit_grad and backpropagate from layer logit_layer.
 */
tensor net_logits(const net *n);
tensor net_logit_grad(const net *n);
int net_logit_layer(const net *n);

/*
 * A conditional network: draws the first `batch` rows' labels uniformly over `classes` from a
 * fresh Philox stream (enqueued; RNG_TAG_LABEL), as G's generated rows take them.
 */
clgan_status net_draw_labels(net *n, int batch, int classes);

/* The first `rows` rows' labels from the host (a conditional network; else nothing). */
clgan_status net_set_labels(net *n, const unsigned char *labels, int rows);

/* Fills slot 0 with noise of the model's prior from a fresh Philox stream (enqueued). */
clgan_status net_draw_noise(net *n, const noise_spec *z, int batch, uint64_t *stream_used);

/*
 * Outside training: writes `rows` input rows from the host, runs the forward pass in evaluation
 * mode (dropout off) and reads the output rows back. Waits for the device.
 */
clgan_status net_run_eval(net *n, const float *in, int rows, float *out);

/*
 * As net_run_eval, reading the output of layer `layer` (rows x its values, into feat) and the
 * network's output (into out); either may be NULL. For features of a classifier.
 */
clgan_status net_run_eval_at(net *n, const float *in, int rows, int layer, float *feat,
                             float *out);

/*
 * Noise of the prior on the host, for sampling outside training: rows x dim values of Philox
 * stream `stream` of the sample tag under `seed` (identical to what a device would draw).
 * Stream 0 is the batch a run's sample grids show.
 */
void noise_fill_host(const noise_spec *z, uint64_t seed, uint64_t stream, int rows, float *out);

/*
 * Draws S samples of G (evaluation mode) in chunks of the network's capacity, from noise
 * streams first_stream, first_stream + 1, ...; a conditional G's sample i is of class
 * i mod classes. Waits for the device.
 */
clgan_status net_sample(net *g, const noise_spec *z, uint64_t seed, uint64_t first_stream, long S,
                        float *out);

/*
 * Whether layer l runs on dev as a one-unit layer: the fused kernels unit_fwd and unit_bwd of
 * cl/dense.cl in place of its GEMMs and bias kernels (dev->unit_kernels, dense, one unit).
 */
int layer_runs_as_unit(const clgan_device *dev, const layer_spec *l);

/*
 * The GEMMs of one pass over `rows` rows on dev: forward (fwd), and backward with the input
 * gradient (din) and/or the parameter gradients (dw); one-unit layers that run without GEMMs
 * on dev are left out. Returns how many there are; the first max of them go to out (snprintf's
 * contract: call with max 0 to size the array).
 */
int net_gemm_shapes(const clgan_device *dev, const net_spec *ns, int rows, int fwd, int din,
                    int dw, gemm_shape *out, int max);

/* dst[d_off, d_off + count) += src[s_off, ...), floats, on n's device (enqueued). */
clgan_status net_add(net *n, cl_mem dst, size_t d_off, cl_mem src, size_t s_off, size_t count);

/* Helpers around kernels of any layer: run the elementwise kernel k on n values. */
clgan_status net_kernel(net *n, const char *file, const char *name, cl_kernel *out);

#endif /* CLGAN_GRAPH_H */
