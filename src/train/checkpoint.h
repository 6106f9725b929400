/*
 * checkpoint.h - training state in the safetensors format: an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
 * little-endian tensors. Readable by the Python safetensors package and by numpy in a few lines
 * (tools/read_checkpoint.py, which refuses exactly what this reader refuses).
 *
 * Tensors: <net>.<i>.<param> for every parameter tensor of layer i (its class's list: dense
 * has weight [n_out, n_in] and bias [n_out]; i as in the model file, net generator and
 * discriminator, or classifier for a classifier model), running statistics included, and the optimizer's state of every trainable one
 * as optimizer.<net>.<i>.<param>.<state> (momentum_buffer; exp_avg, exp_avg_sq) of the same
 * shape. Nothing else.
 *
 * __metadata__ (all strings): format, run_id (16 hex digits), model_yaml, model_path and
 * data_path (absolute; data_path "" for synthetic data), model_name, device, data_shape
 * ("C,H,W"), noise_dim, generator_layers and discriminator_layers (JSON: type and every
 * setting of its class but those that only shape the initial parameters), optimizer_states
 * (JSON), and the counters seed, k, batches_per_epoch, iter, epoch, batch_in_epoch, stream,
 * optimizer_steps.generator, optimizer_steps.discriminator. A classifier's checkpoint has
 * model_kind "classifier", classes, classifier_layers and optimizer_steps.classifier in place
 * of noise_dim and the two networks' entries, and k 1. With train.ema, metadata ema (the decay)
 * and ema.generator.<i>.<param> for every generator tensor: its averaged weights, which
 * ckpt_net's generator holds. After an --on-nan rollback, metadata lr_scale: the factor
 * (0, 1] on every learning rate, which a resume keeps.
 *
 * A file is accepted only whole: header padded with spaces to a multiple of 8 bytes, strict
 * JSON without duplicate keys, tensors that tile the data section exactly in F32, exactly the
 * tensors the declared layers have with exactly their shapes, counters that are canonical
 * decimals within range and consistent with each other, and a model_yaml that parses into the
 * declared layers.
 */
#ifndef CLGAN_CHECKPOINT_H
#define CLGAN_CHECKPOINT_H

#include "gan.h"

#define CKPT_FORMAT "clgan-checkpoint-2"

/* Writes the trainer's state to path atomically (path.tmp, fsync, rename). Waits for the device. */
clgan_status checkpoint_save(trainer *t, const char *path, clgan_err *e);

/* The counters of a checkpoint, validated (see the header). */
typedef struct ckpt_counters {
    uint64_t seed, k, batches_per_epoch, iter, epoch, batch_in_epoch, stream;
    uint64_t steps[MODEL_NETS]; /* optimizer steps, indexed by clgan_net */
} ckpt_counters;

/* A checkpoint file read and validated whole. */
typedef struct ckpt {
    char *path;
    unsigned char *bytes;
    size_t len;
    size_t data_start;
    void *header;         /* cJSON * */
    clgan_model *model;   /* the model of its metadata, data.path from data_path */
    ckpt_counters n;
    model_kind kind;      /* metadata model_kind: a GAN's or a classifier's */
    float ema;            /* metadata ema: the decay of the generator's average, or 0 */
    int pack;             /* metadata pack (PacGAN), 1 without it */
    int condition_classes; /* metadata condition_classes (a conditional GAN), 0 without it */
    double lr_scale;      /* metadata lr_scale: the factor --on-nan rollback left on the
                             learning rates, 1 without it */
    char run_id[17];
} ckpt;

/*
 * Reads and validates path (everything the header comment lists); on failure the message names
 * the file and what is wrong, and c holds nothing to free.
 */
clgan_status ckpt_open(const char *path, ckpt *c, clgan_err *e);
void ckpt_close(ckpt *c);
/* A metadata string, or NULL. */
const char *ckpt_meta(const ckpt *c, const char *key);
/* The data of tensor `name`, which must have exactly `count` floats. */
clgan_status ckpt_tensor(const ckpt *c, const char *name, size_t count, const float **data,
                         clgan_err *e);

/* The model a checkpoint was trained with (owned by c). */
const clgan_model *ckpt_model(const ckpt *c);

/* Loads a network's parameters (and, if o is not NULL, its optimizer's state) from c. */
clgan_status ckpt_load_net(const ckpt *c, net *n, optim *o, clgan_err *e);
/*
 * Network `which` of c's model compiled on dev for `rows` rows, holding c's parameters (no
 * optimizer): what sample, eval and figure1 run. On failure *out is NULL and e says why (a
 * checkpoint without that network: "PATH: a checkpoint of a classifier, which has no
 * generator").
 */
clgan_status ckpt_net(const ckpt *c, clgan_device *dev, clgan_net which, int rows, net **out,
                      clgan_err *e);

/*
 * Restores the whole trainer from an open checkpoint: both networks, optimizers, counters and
 * the run id. The trainer's model must declare the same layers, noise size and optimizers, the
 * same k, and its data the same number of batches per epoch.
 */
clgan_status checkpoint_restore(trainer *t, const ckpt *c, clgan_err *e);
/* ckpt_open, checkpoint_restore, ckpt_close. */
clgan_status checkpoint_load(trainer *t, const char *path, clgan_err *e);

#endif /* CLGAN_CHECKPOINT_H */
