/*
 * layer.h - what a layer kind is: a class with its YAML keys (schema as data: the parser, its
 * messages and the checkpoint's record of a layer come from them), shape inference, its list of
 * parameter tensors, FLOPs, the GEMMs it runs, its device forward/backward (setup, forward,
 * backward: darknet's triple; the update lives in optim) and a host reference for the tests.
 *
 * One class per kind, all in layer_classes[] (layers.c), built from layer_table.h. Code outside
 * src/layers/ walks a layer's keys and parameter list and never assumes a dense (weight, bias).
 */
#ifndef CLGAN_LAYER_H
#define CLGAN_LAYER_H

#include "common.h"
#include "layer_table.h"

/*
 * Per-sample tensor shape; a batch adds N in front (N, C, H, W), batch-major. `image` marks an
 * image of C channels that is 1x1 (a reshape to [C, 1, 1], a convolution down to 1x1: PyTorch's
 * DCGAN starts from one); any shape with H or W above 1 is an image anyway, and C x 1 x 1
 * without the mark is C flat features (a dense layer's output, the noise).
 */
typedef struct shape3 {
    int c, h, w;
    int image;
} shape3;

static inline long shape_size(shape3 s) {
    return (long)s.c * s.h * s.w;
}

/* Whether s is an image (convolutions and upsampling take it) rather than flat features. */
static inline int shape_is_image(shape3 s) {
    return s.image || s.h > 1 || s.w > 1;
}

#define LAYER_KIND_ENUM(e, c) LAYER_##e,
typedef enum layer_kind { LAYER_TABLE(LAYER_KIND_ENUM) LAYER_KIND_COUNT } layer_kind;
#undef LAYER_KIND_ENUM

/* Settings values a layer may have (a kind's keys say which of v[] they set). */
#define LAYER_MAX_VALUES 16
/* Inputs a layer may read (a merge's `from:` list); a longer list is refused. */
#define LAYER_MAX_INPUTS 8
/* A layer's path ("res_up#2.conv1"), with its terminating zero; a longer one is refused. */
#define LAYER_PATH_MAX 96

typedef struct layer_spec {
    layer_kind kind;
    int line, col;              /* 1-based position of the layer in the model file */
    double v[LAYER_MAX_VALUES]; /* settings, where the kind's keys put them */
    /*
     * The graph: the layers whose outputs it reads, by index in the network (-1: the network's
     * input), all before it. A layer without `from:` reads the one before it: n_in 1,
     * in_idx[0] i - 1 (net_infer sets that for a layer built with n_in 0, so that every layer
     * of an inferred network has n_in >= 1).
     */
    int n_in;
    int in_idx[LAYER_MAX_INPUTS];
    /*
     * Its path: "" for a layer of the network's own list without `name:` (checkpoints and
     * reports use its index, as for chains), else its name, prefixed inside a block's use by the
     * use's path ("res_up#2.conv1").
     */
    char path[LAYER_PATH_MAX];
    /* inside a block: where the outermost use is (the layer's own line, col are the block's) */
    int use_line, use_col;
    char block[64];             /* the innermost block's name, "" outside blocks */
    /* inferred (net_infer) */
    shape3 in, out;
    shape3 ins[LAYER_MAX_INPUTS]; /* each input's shape (in = ins[0]) */
    int consumers;              /* how many inputs of later layers read its output */
    long n_params;  /* trainable parameter values */
    long scratch;   /* values per sample kept beside the output (maxout: pre-activations) */
    long fixed;     /* values kept beside them whatever the batch (batch norm's statistics) */
    double flops;   /* forward, per sample */
    int classes;    /* the model's condition: labels lie in [0, classes); 0 without one */
} layer_spec;

/* ---- schema: a kind's YAML keys -------------------------------------------------------------- */

typedef enum key_type {
    KEY_INT,   /* an integer in [lo, hi]: one value */
    KEY_NUM,   /* a number in [lo, hi] (KEY_LO_OPEN, KEY_HI_OPEN exclude the bounds): one value */
    KEY_BOOL,  /* true or false: one value, 1 or 0 */
    KEY_INT2,  /* an integer n, or [h, w]: two values; KEY_SAME also allows `same` (both -1) */
    KEY_SHAPE, /* [channels, height, width]: three integers in [lo, hi] */
    KEY_INIT,  /* xavier, {uniform: HALF_RANGE} or {normal: STDDEV}: init_kind, then the scale */
    KEY_BIAS   /* a number in [-100, 100] or logit_of_data_mean: init_kind, then the value */
} key_type;

enum {
    KEY_REQUIRED = 1,
    KEY_LO_OPEN = 2,
    KEY_HI_OPEN = 4,
    KEY_INIT_ONLY = 8, /* affects only the initial parameters: checkpoints do not record it */
    KEY_SAME = 16,
    KEY_SPARSE = 32 /* checkpoints record it only when it is not its default, and read an absent
                       one as the default: a key added after checkpoints that lack it */
};

typedef struct layer_key {
    const char *name;
    key_type type;
    int slot;       /* the first of the values it sets in layer_spec.v */
    unsigned flags;
    double lo, hi;  /* the range of each value */
    double def;     /* each value when the key is absent (not for KEY_REQUIRED) */
} layer_key;

/* How many values of layer_spec.v a key of type t sets. */
int key_values(key_type t);

/* ---- parameters ------------------------------------------------------------------------------ */

typedef enum init_kind {
    INIT_UNIFORM,        /* U(-scale, scale) */
    INIT_NORMAL,         /* N(0, scale^2) */
    INIT_XAVIER,         /* U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    INIT_CONST,          /* every value = scale */
    INIT_LOGIT_DATA_MEAN /* logit of the data's per-value mean (a generator's last bias) */
} init_kind;

#define LAYER_MAX_PARAMS 4

/* One parameter tensor of a layer. */
typedef struct param_info {
    const char *name; /* in checkpoints: "weight", "bias", ... */
    int ndim;
    long shape[4];
    long count;
    int trainable;    /* 0: a running statistic (no gradient, no optimizer state) */
    init_kind init;
    float scale;
    long fan_in, fan_out; /* for xavier */
    int unit_axis;    /* max-norm per output unit: the axis of units (0 or 1), -1: none */
} param_info;

/* ---- device side and host reference ----------------------------------------------------------- */

typedef struct clgan_device clgan_device;
typedef struct net net;
typedef struct layer layer;

/* A GEMM: op(A)[m][k] op(B)[k][n], op transposing where ta/tb is set. */
typedef struct gemm_shape {
    int ta, tb;
    size_t m, n, k;
} gemm_shape;

#define LAYER_MAX_GEMMS 12

typedef struct layer_ops {
    /* Creates kernels; called once when the network is compiled. */
    clgan_status (*setup)(net *n, layer *l);
    /* y = f(x) on the first `batch` rows. `train`: training mode (dropout on, batch statistics). */
    clgan_status (*forward)(net *n, layer *l, int batch, int train);
    /* dx = df/dx^T dy (if need_dx) and, if need_dw, the parameter gradients (overwritten). */
    clgan_status (*backward)(net *n, layer *l, int batch, int need_dx, int need_dw);
} layer_ops;

/*
 * What a host forward pass needs besides the layer: the mode, the number of row groups with
 * statistics of their own (batch norm: 2 in a discriminator step, real rows then generated
 * rows), the layer's Philox stream, and where to update running statistics (update[j]: the
 * layer's parameter tensor j, writable; NULL: no update).
 */
typedef struct host_ctx {
    int train;
    int groups;
    uint32_t key[2];
    uint64_t stream;
    double *const *update;
    const unsigned char *labels; /* each row's label (layers that read the condition) */
    const double *const *xs;     /* every input (x is xs[0]): merges read them all */
} host_ctx;

typedef struct layer_class {
    const char *name; /* in YAML and checkpoints */
    const layer_key *keys;
    int n_keys;
    /*
     * From L->in and the settings: sets L->out, L->scratch and L->flops. Returns 0, or -1 with
     * why (the sizes that do not fit) in why[len].
     */
    int (*infer)(layer_spec *L, char *why, size_t len);
    /* The parameter tensors, in the order they lie in the network's buffers; returns how many. */
    int (*params)(const layer_spec *L, param_info *out);
    /* A few words for `clgan check`: "240x5", "keep 0.5" ("" for none). */
    void (*describe)(const layer_spec *L, char *buf, size_t len);
    /*
     * The GEMMs one pass over `rows` rows runs on dev: forward (fwd), input gradient (din),
     * parameter gradients (dw). At most LAYER_MAX_GEMMS; returns how many.
     */
    int (*gemms)(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din, int dw,
                 gemm_shape *out);
    layer_ops ops;
    /*
     * Host reference in double: y[batch][out] from x[batch][in], p[j] the layer's parameter
     * tensor j (layout of params()).
     */
    void (*host_forward)(const layer_spec *L, const double *const *p, const double *x, double *y,
                         int batch, const host_ctx *c);
    /*
     * Optional (NULL: any batch): whether a training batch of `rows` rows per statistics group
     * suits the layer; -1 with why if not (batch norm over a single value).
     */
    int (*check_rows)(const layer_spec *L, int rows, char *why, size_t len);
    /* The layer reads each row's label (net->labels): the model needs a condition. */
    int needs_labels;
    /* Optional: whether a layer of this kind reads them with its settings (a conditional batch
     * norm), for kinds that read them only so. layer_needs_labels asks both. */
    int (*reads_labels)(const layer_spec *L);
    /*
     * Optional (NULL: no): whether the output holds the input's values unchanged, in training
     * as outside it (a reshape; dropout that keeps every value). A network's final sigmoid is
     * found behind such layers.
     */
    int (*passes_values)(const layer_spec *L);
    /* Inputs it reads: 0 or 1 means one (its `from:` names one layer); merges 2 or more, up to
     * max_inputs. */
    int min_inputs, max_inputs;
    /*
     * Gradient penalties (issue 24) in a network holding it: set where the kind's forward and
     * backward follow a tangent pass (graph.h: net.tangent), and its second derivative in x is
     * zero (linear and piecewise-linear kinds) or `second_order` is set, so that the penalty's
     * parameter gradient through it is exact. Else a penalty refuses the network, saying
     * `no_tangent` where set.
     */
    int tangent;
    const char *no_tangent;
    /* With `tangent`: a second derivative in x that is not zero (tanh, sigmoid), which the
     * kind's backward adds in the penalty's third pass (graph.h: net.second). */
    int second_order;
} layer_class;

/* The class of kind k (k < LAYER_KIND_COUNT). */
const layer_class *layer_class_of(layer_kind k);
/* Names of layer kinds as written in YAML; "?" out of range. */
const char *layer_kind_name(layer_kind k);
/* The kind called `name`, or -1. */
int layer_kind_from_name(const char *name);
/* Whether layer L reads each row's label (needs_labels, or reads_labels says so). */
int layer_needs_labels(const layer_spec *L);
/* The parameter tensors of layer L (shapes inferred): layer_class_of(L->kind)->params. */
int layer_params(const layer_spec *L, param_info *out);

/* Shared by layer classes: no GEMMs; no description; no parameters. */
int layer_no_gemms(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din, int dw,
                   gemm_shape *out);
void layer_no_detail(const layer_spec *L, char *buf, size_t len);
/* For infer of kinds that need an image: 0 if L's input has height or width, else -1 with a
 * message that asks for a reshape. */
int layer_image_input(const layer_spec *L, char *why, size_t len);
int layer_no_params(const layer_spec *L, param_info *out);

#endif /* CLGAN_LAYER_H */
