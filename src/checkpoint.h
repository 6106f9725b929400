/*
 * checkpoint.h - training state in the safetensors format: an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
 * little-endian tensors. Readable by the Python safetensors package and by numpy in a few lines.
 *
 * Tensors: generator.<i>.weight [n_out, n_in] and generator.<i>.bias [n_out] for every layer i
 * with parameters (i as in the model file), the same for the discriminator, and the optimizer
 * state as optimizer.<net>.<i>.<weight|bias>.<momentum_buffer|exp_avg|exp_avg_sq>.
 * __metadata__ (strings): format, model_yaml, model_path, data_shape, seed, iter, epoch,
 * batch_in_epoch, stream, optimizer steps, device, generator_layers (JSON for tools).
 */
#ifndef CLGAN_CHECKPOINT_H
#define CLGAN_CHECKPOINT_H

#include "gan.h"

#define CKPT_FORMAT "clgan-checkpoint-1"

/* Writes the trainer's state to path atomically (path.tmp, fsync, rename). Waits for the device. */
clgan_status checkpoint_save(trainer *t, const char *path, clgan_err *e);

/* A checkpoint file read and validated: header, offsets, dtypes, shapes. */
typedef struct ckpt {
    char path[1024];
    unsigned char *bytes;
    size_t len;
    size_t data_start;
    void *header; /* cJSON * */
} ckpt;

/*
 * Reads and validates path: header length within the file, JSON header well formed, every
 * tensor F32 with data_offsets in range, matching its shape, and not overlapping another.
 */
clgan_status ckpt_open(const char *path, ckpt *c, clgan_err *e);
void ckpt_close(ckpt *c);
/* A metadata string, or NULL. */
const char *ckpt_meta(const ckpt *c, const char *key);
/* The data of tensor `name`, which must have exactly `count` floats (shape checked by caller). */
clgan_status ckpt_tensor(const ckpt *c, const char *name, size_t count, const float **data,
                         clgan_err *e);

/*
 * The model a checkpoint was trained with, parsed from its metadata (the data file is not
 * opened: its shape comes from the metadata).
 */
clgan_status ckpt_model(const ckpt *c, clgan_model **out, clgan_err *e);

/* Loads a network's parameters (and, if o is not NULL, its optimizer's state) from c. */
clgan_status ckpt_load_net(const ckpt *c, net *n, optim *o, clgan_err *e);

/* Restores the whole trainer: both networks, optimizers, counters. The model must match. */
clgan_status checkpoint_load(trainer *t, const char *path, clgan_err *e);

#endif /* CLGAN_CHECKPOINT_H */
