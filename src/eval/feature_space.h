/*
 * feature_space.h - a domain classifier's feature space for the metrics of metrics.h: a classifier
 * checkpoint compiled on a device, the layer whose output is the features, and images in
 * [0, 1] embedded in batches. Used by `clgan eval --fid ...` and by training's train.eval.
 */
#ifndef CLGAN_FEATURE_SPACE_H
#define CLGAN_FEATURE_SPACE_H

#include "checkpoint.h"
#include "metrics.h"

#define FEATURE_ROWS 500 /* rows per device pass */

typedef struct feature_space {
    ckpt ck;              /* the classifier's checkpoint (owned) */
    const clgan_model *cm;
    net *c;               /* compiled for FEATURE_ROWS rows */
    int layer;            /* features: the output of this layer */
    int dim, classes;     /* values per feature vector; logits per image */
    float *chunk;         /* FEATURE_ROWS images in the classifier's range */
} feature_space;

/*
 * The layer whose output is the features by default: the input of the classifier's last layer
 * with parameters, skipping dropout layers before it (the identity at evaluation).
 */
int feature_default_layer(const net_spec *n);

/*
 * Opens classifier checkpoint `path` on dev; layer < 0 takes the default. Errors (in e): not a
 * checkpoint, a GAN's checkpoint, a layer out of range ("--feature-layer" wording is the
 * caller's: the message says "layer N").
 */
clgan_status feature_space_open(feature_space *fs, clgan_device *dev, const char *path,
                                int layer, clgan_err *e);
void feature_space_close(feature_space *fs);

/*
 * Features (n x dim) and, if logits is not NULL, logits (n x classes) of n images in [0, 1].
 * CLGAN_ERR_DATA if any is NaN or Inf (the classifier's weights or the images): every metric
 * of them would be meaningless, and a NaN can pass for a perfect score.
 */
clgan_status feature_space_embed(feature_space *fs, const float *x, long n, float *feat,
                                 float *logits, clgan_err *e);

/*
 * Split `split` ("test", "valid" or "train") of image data d, its first n images at most, in
 * [0, 1] (*x malloc'd, *got the count); what (if not NULL) says which images they are.
 */
clgan_status data_split_unit(const data_spec *d, const char *split, long n, float **x,
                             long *got, char *what, size_t what_len, clgan_err *e);


/*
 * FID and KID of a generator during training (train.eval): the reference split's features and
 * Gaussian are computed once at open; each measurement draws `samples` samples of G (noise
 * streams from 2^32 on, apart from the training's and the sample grids'), embeds them and
 * compares. Owns the feature space, the reference and the buffers.
 */
typedef struct fid_monitor {
    feature_space fs;
    const clgan_model *m;  /* the GAN (borrowed) */
    long n_ref, samples;
    float *ref, *x, *feat;
    double *mu[2], *cov[2]; /* generated, reference */
    gram_device gd;
    gram_ops ops;
} fid_monitor;

/* Errors name the classifier or the split; the caller adds the model file's position. */
clgan_status fid_monitor_open(fid_monitor *fm, clgan_device *dev, const clgan_model *m,
                              clgan_err *e);
clgan_status fid_monitor_run(fid_monitor *fm, net *g, double *fid, kid_result *kid, clgan_err *e);
void fid_monitor_close(fid_monitor *fm);

#endif /* CLGAN_FEATURE_SPACE_H */
