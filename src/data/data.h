/*
 * data.h - training data on the host: IDX files (gzip'd or raw) and synthetic distributions.
 */
#ifndef CLGAN_DATA_H
#define CLGAN_DATA_H

#include "common.h"
#include "device.h"
#include "model.h"

#define IDX_MAX_DIMS 4

typedef struct idx_header {
    int type;  /* 0x08 = unsigned byte; the only type clgan reads */
    int ndim;
    uint32_t dims[IDX_MAX_DIMS];
} idx_header;

/* Reads and validates the header of an IDX file (magic, type, dimensions). */
clgan_status idx_read_header(const char *path, idx_header *h, clgan_err *e);

/*
 * Loads images [start, stop) of an IDX unsigned-byte file as floats in [0, 1], row-major,
 * one image after another. The file's length must match its header exactly.
 * *out is malloc'd (n images x h->dims[1] x ... values).
 */
clgan_status idx_load(const char *path, long start, long stop, idx_header *h, float **out,
                      clgan_err *e);

/*
 * The model's data range ([0, 1] unless data.range says otherwise): values in [0, 1] (as
 * idx_load gives them) into the range, and back (for images drawn and for Parzen windows,
 * which measure in [0, 1] whatever the range).
 */
void data_from_unit(const data_spec *d, float *x, size_t n);
void data_to_unit(const data_spec *d, float *x, size_t n);

/*
 * Loads labels [start, stop) (stop -1: to the end) of an IDX label file (one unsigned byte per
 * item) into *out (malloc'd). expect_items >= 0: the file must hold exactly that many items
 * (its images' count); n_classes > 0: every label must lie in [0, n_classes). Errors name the
 * file and, for a label out of range, the item.
 */
clgan_status idx_load_labels(const char *path, long start, long stop, long expect_items,
                             int n_classes, uint8_t **out, clgan_err *e);

/* ---- the training set of a model, on the host and on the device ---------------------------- */

typedef struct dataset {
    long n;             /* samples */
    size_t cols;        /* values per sample */
    shape3 shape;
    float *host;        /* n x cols, row-major */
    cl_mem buf;         /* the same on the device, uploaded once */
    cl_mem perm;        /* this epoch's order of the samples */
    uint32_t *perm_host[2];
    cl_event perm_ev[2];
    int perm_cur;
    cl_kernel k_gather;
    uint8_t *labels_host; /* n labels (data.labels; synthetic data: each sample's mode), or
                             NULL; stacked_idx: n_base labels, one per image */
    int stack;            /* stacked_idx: images per sample; host is NULL and a sample is */
    long n_base;          /* images base[tri[i][0]], ..., base[tri[i][stack - 1]] */
    float *base;          /* n_base x (cols / stack), in the data's range */
    uint32_t *tri;        /* n x stack indices into base, drawn from the seed */
    cl_mem tri_buf;
    cl_kernel k_gather_stacked;
    cl_mem labels;        /* the same on the device */
    cl_kernel k_gather_labels;
    clgan_device *dev;
    uint32_t key[2];    /* Philox key of the shuffles and synthetic draws */
    int borrowed;       /* host, labels_host, base and tri belong to another set (a replica's
                           copy, dataset_share) */
} dataset;

/*
 * Loads (idx) or draws (synthetic, from the seed) the model's training set on the host, with
 * its labels where data.labels names them (checked: as many as the file's images, each below
 * the classifier's classes). Errors name the data file.
 */
clgan_status dataset_load(const clgan_model *m, uint64_t seed, dataset *ds, clgan_err *e);
/*
 * n random samples (uniform on [0, 1)) of the model's data shape, with uniform labels for a
 * conditional model: for benchmarks.
 */
clgan_status dataset_random(const clgan_model *m, long n, uint64_t seed, dataset *ds, clgan_err *e);
/*
 * A second set over src's host data (not copied; src must outlive it), for another device's
 * replica (issue 16): upload it to that device. Its order buffers are its own.
 */
clgan_status dataset_share(const dataset *src, dataset *dst, clgan_err *e);
/* Uploads the set and creates the gather kernel. */
clgan_status dataset_upload(dataset *ds, clgan_device *dev);
void dataset_free(dataset *ds);
/* Sample i of the set (cols floats) into out: its row, or its stacked images. */
void dataset_sample(const dataset *ds, long i, float *out);
/* Per-value mean of the set (malloc'd, cols floats). */
float *dataset_mean(const dataset *ds);
/* The order of epoch `epoch`: a Fisher-Yates shuffle from Philox stream `epoch`. */
void dataset_shuffle(const dataset *ds, long epoch, uint32_t *perm);
/* Makes `epoch`'s order current on the device (enqueued). */
clgan_status dataset_begin_epoch(dataset *ds, long epoch);
/* Enqueues acts[dst_off + r*cols + c] = sample perm[first + r], for r < rows. */
clgan_status dataset_gather(dataset *ds, long first, int rows, cl_mem acts, size_t dst_off);
/* Enqueues out[r] = label of sample perm[first + r], for r < rows (a set with labels). */
clgan_status dataset_gather_labels(dataset *ds, long first, int rows, cl_mem out);

/*
 * Images [start, stop) (stop -1: to the end) of an IDX file in the model's data range and, if
 * labels_path is not NULL, their labels (each below n_classes if n_classes > 0; the label file
 * must hold as many items as the image file). The images must have `cols` values each. For
 * test splits and evaluation sets; *x and *y are malloc'd, *n is the count.
 */
clgan_status data_load_split(const data_spec *d, const char *path, const char *labels_path,
                             long start, long stop, int n_classes, float **x, uint8_t **y,
                             long *n, clgan_err *e);

#endif /* CLGAN_DATA_H */
