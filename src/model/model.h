/*
 * model.h - the model a YAML file declares: two networks of layers, the noise prior, the data
 * and the training schedule, with shapes inferred. Built by model_yaml.c, consumed by the graph
 * and the trainer. Plain data: no device objects.
 */
#ifndef CLGAN_MODEL_H
#define CLGAN_MODEL_H

#include "common.h"

typedef enum layer_kind {
    LAYER_DENSE,
    LAYER_RELU,
    LAYER_LEAKY_RELU,
    LAYER_TANH,
    LAYER_SIGMOID,
    LAYER_MAXOUT,
    LAYER_DROPOUT,
    LAYER_KIND_COUNT
} layer_kind;

typedef enum init_kind { INIT_UNIFORM, INIT_NORMAL, INIT_XAVIER } init_kind;
typedef enum bias_kind { BIAS_CONST, BIAS_LOGIT_DATA_MEAN } bias_kind;

/* Per-sample tensor shape; a batch adds N in front (N, C, H, W), batch-major. */
typedef struct shape3 {
    int c, h, w;
} shape3;

static inline long shape_size(shape3 s) {
    return (long)s.c * s.h * s.w;
}

typedef struct layer_spec {
    layer_kind kind;
    int line, col;      /* 1-based position of the layer in the model file */
    int units, pieces;  /* dense: units; maxout: units and pieces */
    float slope;        /* leaky_relu */
    float keep;         /* dropout: keep probability, inverted scaling */
    init_kind init;     /* weights */
    float init_scale;   /* uniform: half-range; normal: stddev */
    bias_kind bias;
    float bias_value;
    /* inferred */
    shape3 in, out;
    long n_weights, n_bias; /* parameters */
    double flops;           /* forward, per sample */
} layer_spec;

typedef struct net_spec {
    layer_spec *layers;
    int n_layers;
    shape3 in, out;
    long n_params;
    int line, col; /* of the section */
} net_spec;

typedef enum noise_dist { NOISE_UNIFORM, NOISE_GAUSSIAN } noise_dist;

typedef struct noise_spec {
    int dim;
    noise_dist dist;
    float a, b; /* uniform: low, high; gaussian: mean, stddev */
} noise_spec;

typedef enum data_format {
    DATA_IDX,
    DATA_GAUSSIAN_1D,
    DATA_MIXTURE_1D,
    DATA_RING_2D
} data_format;

#define DATA_MAX_COMPONENTS 16

typedef struct data_spec {
    data_format format;
    char *path;         /* idx: absolute, resolved against the model file's folder (owned) */
    long start, stop;   /* idx: image range [start, stop); stop -1 = to the end */
    long valid[2], test[2]; /* idx: evaluation ranges ([0, 0] when not declared) */
    shape3 shape;       /* per-sample shape */
    long count;         /* synthetic: samples per epoch */
    int n_comp;         /* gaussian_1d: 1; mixture_1d: n; ring_2d: modes */
    float mean[DATA_MAX_COMPONENTS], stddev[DATA_MAX_COMPONENTS], weight[DATA_MAX_COMPONENTS];
    float radius;       /* ring_2d */
    int line, col;
    char unread[512];   /* model_load_shapes: "LINE:COL: why" the idx file was not read, or "" */
} data_spec;

typedef enum optim_kind { OPTIM_SGD, OPTIM_ADAM } optim_kind;
typedef enum lr_schedule { LR_CONSTANT, LR_EXPONENTIAL, LR_LINEAR } lr_schedule;

typedef struct optim_spec {
    optim_kind kind;
    float lr;
    lr_schedule schedule;
    float decay;         /* exponential: lr /= decay each step */
    float lr_min;        /* floor of the decayed rate */
    long decay_steps;    /* linear: steps to reach lr_min */
    float momentum;      /* sgd: initial momentum */
    float momentum_final;
    int momentum_epochs; /* linear ramp from momentum to momentum_final by this epoch */
    float beta1, beta2, eps; /* adam */
    float max_col_norm;  /* 0 = off */
} optim_spec;

typedef enum g_loss_kind { G_LOSS_NON_SATURATING, G_LOSS_MINIMAX } g_loss_kind;

typedef struct train_spec {
    int batch;
    int k;
    long epochs;
    long iters;          /* 0: from epochs */
    uint64_t seed;
    g_loss_kind g_loss;
    float label_smoothing; /* one-sided: real target 1 - s */
    int log_every;
    int sample_every;
    int checkpoint_every;
    optim_spec opt[2];   /* generator, discriminator */
    long parzen_samples; /* > 0: Parzen log-likelihood at the end of training (eval.json) */
    int parzen_every;    /* > 0: also every this many epochs, into log.csv */
} train_spec;

struct clgan_model {
    clgan_err err;
    char *path;        /* the model file as given (owned) */
    char name[128];    /* letters, digits, '.', '_', '-': it names run directories */
    char *yaml_text;
    noise_spec noise;
    data_spec data;
    net_spec net[2];
    train_spec train;
};

/*
 * Parses model text as if read from `path` (relative data paths resolve against its folder).
 * data_shape, if not NULL, is taken as the data's shape and the data file is not opened.
 */
clgan_status model_load_text(const char *path, const char *text, size_t len,
                             const shape3 *data_shape, clgan_model **out);

/*
 * As clgan_model_load, for commands that train on synthetic data of the model's shape (bench,
 * compare): an idx data file that cannot be read is no error. Its shape is then the data's
 * `shape` if given, else the generator's output, and data.unread says why it was not read.
 */
clgan_status model_load_shapes(const char *path, clgan_model **out);

/* Names of layer kinds as written in YAML. */
const char *layer_kind_name(layer_kind k);

/* One parameter tensor of a layer: its name in checkpoints, shape and size. */
#define LAYER_MAX_PARAMS 4
typedef struct param_info {
    const char *name; /* "weight", "bias" */
    int ndim;
    long shape[4];
    long count;
} param_info;

/*
 * The parameter tensors of layer L (shapes inferred), in the order they lie in the network's
 * parameter buffer: dense and maxout have weight [n_out, n_in] and bias [n_out]. Returns how
 * many (0 to LAYER_MAX_PARAMS). Checkpoints, reports and tools walk this list.
 */
int layer_params(const layer_spec *L, param_info *out);

/*
 * Infers shapes, parameter counts and FLOPs of a network whose input shape is set, and checks
 * the absurd: sizes whose parameters or activations could not be allocated. Errors name the
 * layer's position. Used by model_yaml.c after parsing.
 */
clgan_status net_infer(clgan_model *m, net_spec *net, const char *which);

#endif /* CLGAN_MODEL_H */
