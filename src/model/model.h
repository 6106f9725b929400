/*
 * model.h - the model a YAML file declares: a GAN (two networks of layers and the noise prior)
 * or a classifier (one network and labelled data), the data and the training schedule, with
 * shapes inferred. Built by model_yaml.c, consumed by the graph
 * and the trainer. Plain data: no device objects.
 */
#ifndef CLGAN_MODEL_H
#define CLGAN_MODEL_H

#include "layer.h"

typedef struct net_spec {
    layer_spec *layers;
    int n_layers;
    shape3 in, out;
    long n_params; /* trainable values */
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
    DATA_RING_2D,
    DATA_STACKED_IDX /* `stack` images of an IDX file as the channels of one sample */
} data_format;

#define DATA_MAX_COMPONENTS 16

typedef struct data_spec {
    data_format format;
    char *path;         /* idx: absolute, resolved against the model file's folder (owned) */
    char *labels;       /* idx: the IDX label file of path's images, or NULL (owned) */
    long start, stop;   /* idx: image range [start, stop); stop -1 = to the end */
    long valid[2], test[2]; /* idx: evaluation ranges ([0, 0] when not declared) */
    char *test_path;    /* idx: the file test[] indexes: NULL = path (owned) */
    char *test_labels;  /* its labels: NULL = labels when test_path is NULL, else none (owned) */
    int test_shape_hw[2]; /* test_path's image height and width as its header says (0: unread) */
    shape3 shape;       /* per-sample shape */
    float range[2];     /* idx: pixel values 0..255 map to [range[0], range[1]] (default 0, 1) */
    long count;         /* synthetic and stacked_idx: samples per epoch */
    int stack;          /* stacked_idx: images per sample (its channels) */
    int n_comp;         /* gaussian_1d: 1; mixture_1d: n; ring_2d: modes */
    float mean[DATA_MAX_COMPONENTS], stddev[DATA_MAX_COMPONENTS], weight[DATA_MAX_COMPONENTS];
    float radius;       /* ring_2d */
    int line, col;
    char unread[512];   /* model_load_shapes: "LINE:COL: why" the idx file was not read, or "" */
} data_spec;

typedef enum optim_kind { OPTIM_SGD, OPTIM_ADAM, OPTIM_RMSPROP } optim_kind;
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
    float beta1, beta2, eps; /* adam; eps also rmsprop's */
    float alpha;         /* rmsprop: smoothing of the squared gradients' average */
    float max_col_norm;  /* 0 = off */
} optim_spec;

/*
 * The adversarial loss, D's and G's parts (train.loss): the paper's non-saturating and minimax
 * on D's logits; least squares (Mao et al. 2017), hinge (Lim & Ye 2017) and Wasserstein
 * (Arjovsky et al. 2017) on a critic's raw output; relativistic average (Jolicoeur-Martineau
 * 2018) on the logits.
 */
typedef enum gan_loss_kind {
    GAN_LOSS_NON_SATURATING,
    GAN_LOSS_MINIMAX,
    GAN_LOSS_LEAST_SQUARES,
    GAN_LOSS_HINGE,
    GAN_LOSS_WASSERSTEIN,
    GAN_LOSS_RELATIVISTIC
} gan_loss_kind;

/* Whether D's output is a critic's raw value (no final sigmoid) under this loss. */
int gan_loss_needs_critic(gan_loss_kind k);
/* Its name in model files ("non_saturating", ...). */
const char *gan_loss_name(gan_loss_kind k);

/* Networks in model_nets order: generator, discriminator; or the classifier. */
#define MODEL_NETS 3

typedef enum model_kind { MODEL_GAN, MODEL_CLASSIFIER } model_kind;

/*
 * Gradient penalties (issue 24) on D's logits, added to D's loss: R1 on the real rows and R2 on
 * the generated rows, weight/2 |grad_x D(x)|^2 every `every` D steps with the weight times
 * `every` (StyleGAN2's lazy regularisation); WGAN-GP's weight (|grad D(x^)| - target)^2 on
 * interpolates x^ of real and generated rows. weight 0: off.
 */
enum { PENALTY_R1, PENALTY_R2, PENALTY_GP, PENALTY_KINDS };

typedef struct penalty_spec {
    float weight;
    float target;   /* WGAN-GP's norm */
    int every;      /* D steps per application (1: each) */
    int line, col;  /* of its key in the model file, for messages */
} penalty_spec;

/* The key in model files of penalty kind k ("r1", "r2", "gradient_penalty"). */
const char *penalty_name(int k);

/*
 * Differentiable augmentation of every batch D sees (train.augment; Zhao et al. 2020's
 * DiffAugment, with Karras et al. 2020's probability p per op and sample): the policy's ops,
 * bits AUG_*; each applied to a sample with probability p (1: always, as DiffAugment).
 */
enum { AUG_COLOR = 1, AUG_TRANSLATION = 2, AUG_CUTOUT = 4 };

/* ADA (train.augment.adaptive): the D steps between adjustments of p, and the images over
 * which p may move from 0 to 1 (Karras et al. 2020's 4 and 500k). */
#define ADA_INTERVAL 4
#define ADA_IMAGES 500000.0

typedef struct augment_spec {
    unsigned policy; /* 0: off */
    float p;
    float target;    /* adaptive (ADA's r_t heuristic): the target of r_t; 0: p fixed */
    int line, col;   /* of its key, for messages */
} augment_spec;

typedef struct train_spec {
    int batch;
    int k;
    long epochs;
    long iters;          /* 0: from epochs */
    uint64_t seed;
    gan_loss_kind loss;
    float clip;          /* wasserstein: D's parameters clipped to [-clip, clip] (0: off) */
    int pack;            /* PacGAN: D judges this many samples at once (1: plain) */
    float ema;           /* > 0: an exponential moving average of G's weights with this decay,
                            what sample grids, sample and eval use */
    float label_smoothing; /* one-sided: real target 1 - s */
    penalty_spec penalty[PENALTY_KINDS];
    augment_spec augment;
    int log_every;
    int sample_every;
    int checkpoint_every;
    optim_spec opt[MODEL_NETS]; /* indexed by clgan_net */
    long parzen_samples; /* > 0: Parzen log-likelihood at the end of training (eval.json) */
    int parzen_every;    /* > 0: also every this many epochs, into log.csv */
    char *eval_classifier; /* train.eval: a classifier checkpoint (absolute; owned), or NULL */
    long eval_samples;   /* generator samples per FID/KID measurement */
    int eval_every;      /* > 0: every this many epochs too (always at the end) */
    char eval_split[8];  /* the real images: test, valid or train */
    int eval_line, eval_col; /* of train.eval's classifier value, for messages */
} train_spec;

struct clgan_model {
    clgan_err err;
    char *path;        /* the model file as given (owned) */
    char name[128];    /* letters, digits, '.', '_', '-': it names run directories */
    char *yaml_text;
    model_kind kind;
    int classes;       /* classifier: its output units, the labels' range */
    noise_spec noise;  /* GAN */
    data_spec data;
    net_spec net[MODEL_NETS]; /* indexed by clgan_net; n_layers 0 where the kind has none */
    int condition_classes; /* condition: {classes: N}: a label input of both networks; 0 none */
    train_spec train;
};

/* The networks a model of this kind trains, in the order checkpoints store them; returns how
 * many. model_nets: m's. */
int model_kind_nets(model_kind kind, clgan_net out[MODEL_NETS]);
int model_nets(const clgan_model *m, clgan_net out[MODEL_NETS]);
/* "generator", "discriminator", "classifier". */
const char *model_net_name(clgan_net w);
/*
 * The last layer of ns that changes values: the last one, or the one before the layers at the
 * end that pass values unchanged (flatten, reshape, dropout keeping every value). Its index.
 */
int net_spec_last_acting(const net_spec *ns);
/*
 * A network's final sigmoid (its output read as a probability, the sigmoid's input as the
 * logits): the index of a sigmoid that is the last layer changing values, else -1.
 */
int net_spec_final_sigmoid(const net_spec *ns);
/*
 * The first layer of ns at or before layer `upto` that a gradient penalty cannot pass (its
 * class has no `tangent`: layer.h), or -1; *why: its class's reason, or NULL.
 */
int net_spec_no_tangent(const net_spec *ns, int upto, const char **why);
/*
 * Whether layer i has a bias that the batch norm right after it subtracts again: its gradient is
 * zero but for rounding, whose sign Adam's first steps turn into steps of +-lr, so devices part
 * in it for nothing (clgan check notes it, clgan compare keeps it apart).
 */
int net_spec_bias_into_norm(const net_spec *ns, int i);
/*
 * Where layer L is, for messages: "FILE:LINE:COL: ", and inside a block the outermost use's
 * position then the layer's line in the block: "FILE:12:7: in block 'res_up' (line 4:9): ".
 */
void layer_where(const clgan_model *m, const layer_spec *L, char *buf, size_t len);
/* Layer i's path: its own ("res_up#2.conv1"), or its index ("3") where it has none. */
void layer_path(const net_spec *ns, int i, char *buf, size_t len);
/* "conv2d layer 'res_up#2.conv1'" (or "conv2d layer" for a layer without a path). */
void layer_label(const layer_spec *L, char *buf, size_t len);
/* Whether the data are images (idx, stacked_idx): drawn as grids, with a pixel range. */
int data_is_images(const data_spec *d);
/* The file and labels of data split `test` (test_path or the training file). */
const char *data_test_path(const data_spec *d);
const char *data_test_labels(const data_spec *d);

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

/*
 * Parses one layer written in YAML (a name, or a flow mapping such as "{type: dense, units: 7}")
 * into L, as a model file's layer would be; errors go to e with "layer:1:COL: ". For tests and
 * tools that build networks without a model file.
 */
clgan_status model_parse_layer(const char *text, layer_spec *L, clgan_err *e);

/*
 * Infers shapes, parameter counts and FLOPs of a network whose input shape is set, and checks
 * the absurd: sizes whose parameters or activations could not be allocated. Errors name the
 * layer's position. Used by model_yaml.c after parsing.
 */
clgan_status net_infer(clgan_model *m, net_spec *net, const char *which);

#endif /* CLGAN_MODEL_H */
