/*
 * clgan.h - the public interface of clgan, a GAN engine on OpenCL.
 *
 * Three opaque handles: clgan_device (an OpenCL device with its context, queue and program
 * cache), clgan_model (a model file parsed and shape-checked) and, later, clgan_trainer.
 * No OpenCL or libyaml type appears here. Every function that can fail returns a clgan_status;
 * the message that goes with a failure lives on the handle (read it with *_errmsg), or in a
 * caller-supplied buffer where no handle exists yet. The library never prints and never exits.
 */
#ifndef CLGAN_H
#define CLGAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum clgan_status {
    CLGAN_OK = 0,
    CLGAN_ERR_NOMEM,  /* host allocation failed */
    CLGAN_ERR_IO,     /* a file could not be read or written */
    CLGAN_ERR_YAML,   /* model file: syntax or schema error (message has file:line:col) */
    CLGAN_ERR_MODEL,  /* model is well-formed YAML but inconsistent (shapes, sizes) */
    CLGAN_ERR_DEVICE, /* no OpenCL platform, or the selector matched no device */
    CLGAN_ERR_CL,     /* an OpenCL or CLBlast call failed (message has the call and code) */
    CLGAN_ERR_BUILD,  /* a kernel program failed to build (message has the file and log) */
    CLGAN_ERR_DATA,   /* a data file is malformed or does not fit the model */
    CLGAN_ERR_ARG     /* an argument is out of range */
} clgan_status;

/* A short, static name for a status ("yaml error", ...). Never NULL. */
const char *clgan_status_str(clgan_status status);

/* ---- devices ------------------------------------------------------------------------------ */

typedef struct clgan_device clgan_device;

typedef struct clgan_device_info {
    int platform;           /* platform index (the P of P:D) */
    int index;              /* device index within the platform (the D of P:D) */
    char platform_name[128];
    char name[256];
    char vendor[128];
    char driver_version[128];
    char version[128];      /* CL_DEVICE_VERSION */
    const char *type;       /* "GPU", "CPU", "ACCELERATOR" or "OTHER" */
    unsigned compute_units;
    uint64_t global_mem;    /* bytes */
    uint64_t max_alloc;     /* bytes, CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    int fp64;               /* 1 if double precision is supported */
    int fp16;               /* 1 if cl_khr_fp16 is supported */
} clgan_device_info;

/*
 * Lists every device of every platform. On success *out is a malloc'd array of *n entries
 * (free with clgan_device_list_free). On failure (no platform) a message goes to err.
 */
clgan_status clgan_device_list(clgan_device_info **out, size_t *n, char *err, size_t errlen);
void clgan_device_list_free(clgan_device_info *list);

/*
 * Opens a device: selector is "P:D", a case-insensitive substring of the device name, or NULL
 * (then $CLGAN_DEVICE, else the GPU with the most compute units, else the CPU device with the
 * most on the first platform that has one, else the first device).
 * *out is set even on failure (unless memory runs out) so the message can be read; free it
 * with clgan_device_free.
 */
clgan_status clgan_device_open(const char *selector, clgan_device **out);
const char *clgan_device_errmsg(const clgan_device *dev);
const clgan_device_info *clgan_device_get_info(const clgan_device *dev);
void clgan_device_free(clgan_device *dev);

/* ---- models ------------------------------------------------------------------------------- */

typedef struct clgan_model clgan_model;

/* The networks a model may declare: a GAN has a generator and a discriminator, a classifier (a
 * domain classifier for FID and friends) has one classifier network. */
typedef enum clgan_net {
    CLGAN_GENERATOR = 0,
    CLGAN_DISCRIMINATOR = 1,
    CLGAN_CLASSIFIER = 2
} clgan_net;

/*
 * Parses and validates a model file: syntax, schema, value ranges and shapes. *out is set even
 * on failure so the message ("file:line:col: ...") can be read; free with clgan_model_free.
 */
clgan_status clgan_model_load(const char *path, clgan_model **out);
const char *clgan_model_errmsg(const clgan_model *model);
void clgan_model_free(clgan_model *model);

typedef struct clgan_layer_info {
    const char *kind;       /* "dense", "relu", ... */
    char detail[96];        /* e.g. "240x5", "keep 0.5" */
    int out_c, out_h, out_w;
    uint64_t params;        /* trainable parameters */
    double flops;           /* forward FLOPs per sample (multiply-add = 2) */
    uint64_t act_bytes;     /* activation memory for one batch, bytes */
    char path[96];          /* its path in a graph ("res_up#2.conv1"), or its index ("3") */
    char from[192];         /* the layers it reads when not just the one before: their paths
                               joined by ", " ("input" for the network's input); else "" */
} clgan_layer_info;

/* Number of layers of a network (0 where the model has no such network), and the description of layer i (0-based). */
int clgan_model_layers(const clgan_model *model, clgan_net net);
clgan_status clgan_model_layer_info(const clgan_model *model, clgan_net net, int i,
                                    clgan_layer_info *info);
/* Batch size declared in train.batch; input size (C, H, W) of a network. */
int clgan_model_batch(const clgan_model *model);
void clgan_model_input_shape(const clgan_model *model, clgan_net net, int *c, int *h, int *w);
const char *clgan_model_name(const clgan_model *model);

/* ---- generators: samples of a trained model's generator -------------------------------------- */

typedef struct clgan_generator clgan_generator;

/* How clgan_generator_sample draws. clgan_sample_default_params() gives the defaults. */
typedef struct clgan_sample_params {
    uint64_t seed;      /* the noise's seed; 0: the run's own seed (as `clgan sample`) */
    uint64_t stream;    /* the noise stream; 0, the default, is the batch a run's grids show */
    int cls;            /* a conditional model: every sample of class cls; -1 (default): sample
                           i of class (i / 8) mod classes, a row of 8 per class */
    const float *noise; /* NULL (default): drawn from seed and stream; else n x noise_dim values */
} clgan_sample_params;

clgan_sample_params clgan_sample_default_params(void);

/*
 * Opens the generator of a checkpoint on dev (its averaged weights where the run kept an
 * average): CLGAN_OK, or an error whose message clgan_generator_errmsg gives (*out is set
 * unless memory ran out; free it either way). dev stays the caller's.
 */
clgan_status clgan_generator_open(const char *checkpoint, clgan_device *dev,
                                  clgan_generator **out);
const char *clgan_generator_errmsg(const clgan_generator *g);
/* The noise's values per sample; each sample's shape (C, H, W); the condition's classes (0:
 * none). */
int clgan_generator_noise_dim(const clgan_generator *g);
void clgan_generator_sample_shape(const clgan_generator *g, int *c, int *h, int *w);
int clgan_generator_classes(const clgan_generator *g);
/*
 * n samples into out (n x C x H x W floats, in the model's data range, as G makes them);
 * p NULL: the defaults. The same as `clgan sample -n N --npy` draws. A sample holding NaN or
 * Inf is an error, and out is then unspecified.
 */
clgan_status clgan_generator_sample(clgan_generator *g, int n, const clgan_sample_params *p,
                                    float *out);
void clgan_generator_free(clgan_generator *g);

#ifdef __cplusplus
}
#endif

#endif /* CLGAN_H */
