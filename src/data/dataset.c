/*
 * dataset.c - a model's training set: loaded from IDX or drawn from a synthetic distribution
 * (from the seed, so identical everywhere), uploaded once, shuffled every epoch on the host by a
 * Philox-driven Fisher-Yates, and gathered into minibatches on the device.
 *
 * The order array goes to the device with a non-blocking write from one of two host arrays;
 * before an array is reused (two epochs later) its earlier write is waited for, which has long
 * completed by then: the training step itself never waits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "rng.h"

static clgan_status alloc_perm(dataset *ds, clgan_err *e);

static clgan_status synth(const data_spec *d, uint64_t seed, dataset *ds, clgan_err *e) {
    ds->n = d->count;
    ds->cols = (size_t)shape_size(d->shape);
    ds->host = malloc((size_t)ds->n * ds->cols * sizeof(float));
    ds->labels_host = malloc((size_t)ds->n); /* each sample's mode (component) is its label */
    if (!ds->host || !ds->labels_host)
        return err_set(e, CLGAN_ERR_NOMEM, "out of memory for %ld samples", ds->n);
    uint32_t key[2];
    rng_key_from_seed(seed, key);
    rng_stream s = {{key[0], key[1]}, 0, RNG_TAG_DATA};
    for (long i = 0; i < ds->n; i++) {
        uint64_t b = (uint64_t)i * 4; /* words b..b+3: component choice, two normals */
        float u = rng_uniform01(&s, b);
        float g0 = rng_normal(&s, b + 2, 0, 1), g1 = rng_normal(&s, b + 3, 0, 1);
        int k = 0;
        if (d->format == DATA_MIXTURE_1D) {
            float acc = 0;
            for (k = 0; k < d->n_comp - 1; k++) {
                acc += d->weight[k];
                if (u < acc) break;
            }
        } else if (d->format == DATA_RING_2D) {
            k = (int)(u * (float)d->n_comp);
            if (k >= d->n_comp) k = d->n_comp - 1;
        }
        ds->labels_host[i] = (uint8_t)k;
        if (d->format == DATA_RING_2D) {
            double a = 2.0 * CLGAN_PI * k / d->n_comp;
            ds->host[2 * i] = (float)(d->radius * cos(a)) + d->stddev[0] * g0;
            ds->host[2 * i + 1] = (float)(d->radius * sin(a)) + d->stddev[0] * g1;
        } else {
            ds->host[i] = d->mean[k] + d->stddev[k] * g0;
        }
    }
    return CLGAN_OK;
}

/*
 * Stacked data: the images of the file, and for each of d->count samples `stack` of them drawn
 * uniformly and independently (Philox, RNG_TAG_DATA stream 2 of the seed's key).
 */
static clgan_status stacked(const data_spec *d, dataset *ds, clgan_err *e) {
    idx_header h;
    clgan_status st = idx_load(d->path, d->start, d->stop, &h, &ds->base, e);
    if (st != CLGAN_OK) return st;
    long stop = d->stop < 0 ? (long)h.dims[0] : d->stop;
    ds->n_base = stop - d->start;
    ds->stack = d->stack;
    ds->n = d->count;
    ds->cols = (size_t)shape_size(d->shape);
    size_t hw = ds->cols / (size_t)ds->stack;
    if ((size_t)h.dims[1] * h.dims[2] != hw)
        return err_set(e, CLGAN_ERR_DATA, "%s: images of %ux%u, the model stacks %zu values",
                       d->path, h.dims[1], h.dims[2], hw);
    data_from_unit(d, ds->base, (size_t)ds->n_base * hw);
    if (d->labels) {
        st = idx_load_labels(d->labels, d->start, stop, (long)h.dims[0], 10, &ds->labels_host, e);
        if (st != CLGAN_OK) return st;
    }
    ds->tri = malloc((size_t)ds->n * (size_t)ds->stack * sizeof *ds->tri);
    if (!ds->tri) return err_set(e, CLGAN_ERR_NOMEM, "out of memory for %ld samples", ds->n);
    rng_stream s = {{ds->key[0], ds->key[1]}, 2, RNG_TAG_DATA};
    for (size_t i = 0; i < (size_t)ds->n * (size_t)ds->stack; i++)
        ds->tri[i] = (uint32_t)(((uint64_t)rng_bits(&s, i) * (uint64_t)ds->n_base) >> 32);
    return CLGAN_OK;
}

void dataset_sample(const dataset *ds, long i, float *out) {
    if (!ds->stack) {
        memcpy(out, ds->host + (size_t)i * ds->cols, ds->cols * sizeof *out);
        return;
    }
    size_t hw = ds->cols / (size_t)ds->stack;
    for (int c = 0; c < ds->stack; c++)
        memcpy(out + (size_t)c * hw, ds->base + (size_t)ds->tri[(size_t)i * ds->stack + c] * hw,
               hw * sizeof *out);
}

static int unit_range(const data_spec *d) {
    return !data_is_images(d) || (d->range[0] == 0 && d->range[1] == 1);
}

void data_from_unit(const data_spec *d, float *x, size_t n) {
    if (unit_range(d)) return;
    float lo = d->range[0], w = d->range[1] - d->range[0];
    for (size_t i = 0; i < n; i++) x[i] = lo + w * x[i];
}

void data_to_unit(const data_spec *d, float *x, size_t n) {
    if (unit_range(d)) return;
    float lo = d->range[0], w = d->range[1] - d->range[0];
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - lo) / w;
}

clgan_status dataset_load(const clgan_model *m, uint64_t seed, dataset *ds, clgan_err *e) {
    memset(ds, 0, sizeof *ds);
    const data_spec *d = &m->data;
    ds->shape = d->shape;
    rng_key_from_seed(seed, ds->key);
    clgan_status st;
    if (d->format == DATA_IDX) {
        idx_header h;
        st = idx_load(d->path, d->start, d->stop, &h, &ds->host, e);
        if (st != CLGAN_OK) return st;
        ds->n = d->stop - d->start;
        ds->cols = (size_t)shape_size(d->shape);
        size_t file_cols = 1;
        for (int i = 1; i < h.ndim; i++) file_cols *= h.dims[i];
        if (file_cols != ds->cols) {
            dataset_free(ds);
            return err_set(e, CLGAN_ERR_DATA, "%s: samples of %zu values, the model expects %zu",
                           d->path, file_cols, ds->cols);
        }
        data_from_unit(d, ds->host, (size_t)ds->n * ds->cols);
        if (d->labels) {
            st = idx_load_labels(d->labels, d->start, d->stop, (long)h.dims[0],
                                 m->kind == MODEL_CLASSIFIER ? m->classes : m->condition_classes,
                                 &ds->labels_host,
                                 e);
            if (st != CLGAN_OK) {
                dataset_free(ds);
                return st;
            }
        }
    } else if (d->format == DATA_STACKED_IDX) {
        st = stacked(d, ds, e);
        if (st != CLGAN_OK) return st;
    } else {
        st = synth(d, seed, ds, e);
        if (st != CLGAN_OK) return st;
    }
    if (ds->n < m->train.batch) {
        long n = ds->n;
        dataset_free(ds);
        return err_set(e, CLGAN_ERR_DATA, "%s: %ld samples, fewer than one batch of %d",
                       data_is_images(d) ? d->path : "synthetic data", n, m->train.batch);
    }
    return alloc_perm(ds, e);
}

/* The two host arrays the epoch orders are uploaded from. */
static clgan_status alloc_perm(dataset *ds, clgan_err *e) {
    for (int i = 0; i < 2; i++) {
        ds->perm_host[i] = malloc((size_t)ds->n * sizeof(uint32_t));
        if (!ds->perm_host[i]) {
            dataset_free(ds);
            return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        }
    }
    return CLGAN_OK;
}

clgan_status dataset_share(const dataset *src, dataset *dst, clgan_err *e) {
    memset(dst, 0, sizeof *dst);
    dst->n = src->n;
    dst->cols = src->cols;
    dst->shape = src->shape;
    dst->host = src->host;
    dst->labels_host = src->labels_host;
    dst->stack = src->stack;
    dst->n_base = src->n_base;
    dst->base = src->base;
    dst->tri = src->tri;
    dst->key[0] = src->key[0];
    dst->key[1] = src->key[1];
    dst->borrowed = 1;
    return alloc_perm(dst, e);
}

clgan_status dataset_random(const clgan_model *m, long n, uint64_t seed, dataset *ds, clgan_err *e) {
    memset(ds, 0, sizeof *ds);
    ds->shape = m->data.shape;
    ds->cols = (size_t)shape_size(m->data.shape);
    ds->n = n;
    rng_key_from_seed(seed, ds->key);
    ds->host = malloc((size_t)n * ds->cols * sizeof(float));
    if (!ds->host) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    rng_stream s = {{ds->key[0], ds->key[1]}, 1, RNG_TAG_DATA};
    for (size_t i = 0; i < (size_t)n * ds->cols; i++) ds->host[i] = rng_uniform01(&s, i);
    if (m->condition_classes > 0) { /* a conditional model's rows need labels too */
        ds->labels_host = malloc((size_t)n);
        if (!ds->labels_host) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        rng_stream ls = {{ds->key[0], ds->key[1]}, 2, RNG_TAG_DATA};
        for (long i = 0; i < n; i++)
            ds->labels_host[i] =
                (uint8_t)(rng_bits(&ls, (uint64_t)i) % (uint32_t)m->condition_classes);
    }
    return alloc_perm(ds, e);
}

clgan_status dataset_upload(dataset *ds, clgan_device *dev) {
    ds->dev = dev;
    if (ds->stack) { /* the images once, and the draws: samples are composed as gathered */
        size_t bytes = (size_t)ds->n_base * (ds->cols / (size_t)ds->stack) * sizeof(float);
        size_t tb = (size_t)ds->n * (size_t)ds->stack * sizeof(uint32_t);
        clgan_status st = device_alloc(dev, bytes, "the stacked images", &ds->buf);
        if (st == CLGAN_OK) st = device_write(dev, ds->buf, 0, bytes, ds->base, 1);
        if (st == CLGAN_OK) st = device_alloc(dev, tb, "the stacked draws", &ds->tri_buf);
        if (st == CLGAN_OK) st = device_write(dev, ds->tri_buf, 0, tb, ds->tri, 1);
        if (st == CLGAN_OK)
            st = device_alloc(dev, (size_t)ds->n * sizeof(uint32_t), "the epoch order", &ds->perm);
        if (st == CLGAN_OK)
            st = device_kernel(dev, "cl/data.cl", "gather_stacked", &ds->k_gather_stacked);
        return st;
    }
    size_t bytes = (size_t)ds->n * ds->cols * sizeof(float);
    clgan_status st = device_alloc(dev, bytes, "the training set", &ds->buf);
    if (st == CLGAN_OK) st = device_write(dev, ds->buf, 0, bytes, ds->host, 1);
    if (st == CLGAN_OK)
        st = device_alloc(dev, (size_t)ds->n * sizeof(uint32_t), "the epoch order", &ds->perm);
    if (st == CLGAN_OK) st = device_kernel(dev, "cl/data.cl", "gather_rows", &ds->k_gather);
    if (st == CLGAN_OK && ds->labels_host) {
        st = device_alloc(dev, (size_t)ds->n, "the training labels", &ds->labels);
        if (st == CLGAN_OK) st = device_write(dev, ds->labels, 0, (size_t)ds->n, ds->labels_host, 1);
        if (st == CLGAN_OK)
            st = device_kernel(dev, "cl/data.cl", "gather_labels", &ds->k_gather_labels);
    }
    return st;
}

clgan_status data_load_split(const data_spec *d, const char *path, const char *labels_path,
                             long start, long stop, int n_classes, float **x, uint8_t **y,
                             long *n, clgan_err *e) {
    *x = NULL;
    if (y) *y = NULL;
    idx_header h;
    clgan_status st = idx_load(path, start, stop, &h, x, e);
    if (st != CLGAN_OK) return st;
    if (stop < 0) stop = (long)h.dims[0];
    *n = stop - start;
    size_t cols = 1;
    for (int i = 1; i < h.ndim; i++) cols *= h.dims[i];
    if (cols != (size_t)shape_size(d->shape)) {
        free(*x);
        *x = NULL;
        return err_set(e, CLGAN_ERR_DATA, "%s: images of %zu values, the model's have %ld", path,
                       cols, shape_size(d->shape));
    }
    data_from_unit(d, *x, (size_t)*n * cols);
    if (labels_path && y) {
        st = idx_load_labels(labels_path, start, stop, (long)h.dims[0], n_classes, y, e);
        if (st != CLGAN_OK) {
            free(*x);
            *x = NULL;
        }
    }
    return st;
}

void dataset_free(dataset *ds) {
    for (int i = 0; i < 2; i++) {
        if (ds->perm_ev[i]) {
            clWaitForEvents(1, &ds->perm_ev[i]);
            clReleaseEvent(ds->perm_ev[i]);
        }
        free(ds->perm_host[i]);
    }
    if (ds->k_gather) clReleaseKernel(ds->k_gather);
    if (ds->k_gather_labels) clReleaseKernel(ds->k_gather_labels);
    if (ds->k_gather_stacked) clReleaseKernel(ds->k_gather_stacked);
    device_release(ds->dev, ds->tri_buf);
    device_release(ds->dev, ds->labels);
    device_release(ds->dev, ds->buf);
    device_release(ds->dev, ds->perm);
    if (!ds->borrowed) {
        free(ds->base);
        free(ds->tri);
        free(ds->labels_host);
        free(ds->host);
    }
    memset(ds, 0, sizeof *ds);
}

float *dataset_mean(const dataset *ds) {
    double *acc = calloc(ds->cols, sizeof *acc);
    float *mean = malloc(ds->cols * sizeof *mean);
    if (!acc || !mean) {
        free(acc);
        free(mean);
        return NULL;
    }
    float *row = ds->stack ? malloc(ds->cols * sizeof *row) : NULL;
    if (ds->stack && !row) {
        free(acc);
        free(mean);
        return NULL;
    }
    for (long i = 0; i < ds->n; i++) {
        const float *x = ds->host + (size_t)i * ds->cols;
        if (row) {
            dataset_sample(ds, i, row);
            x = row;
        }
        for (size_t j = 0; j < ds->cols; j++) acc[j] += x[j];
    }
    free(row);
    for (size_t j = 0; j < ds->cols; j++) mean[j] = (float)(acc[j] / (double)ds->n);
    free(acc);
    return mean;
}

void dataset_shuffle(const dataset *ds, long epoch, uint32_t *perm) {
    rng_stream s = {{ds->key[0], ds->key[1]}, (uint64_t)epoch, RNG_TAG_SHUFFLE};
    for (long i = 0; i < ds->n; i++) perm[i] = (uint32_t)i;
    for (long i = ds->n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(((uint64_t)rng_bits(&s, (uint64_t)i) * (uint64_t)(i + 1)) >> 32);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

clgan_status dataset_begin_epoch(dataset *ds, long epoch) {
    int cur = ds->perm_cur = (int)(epoch & 1);
    if (ds->perm_ev[cur]) {
        cl_int rc = clWaitForEvents(1, &ds->perm_ev[cur]); /* two epochs old: long complete */
        clReleaseEvent(ds->perm_ev[cur]);
        ds->perm_ev[cur] = NULL;
        if (rc != CL_SUCCESS) return err_cl(&ds->dev->err, rc, "clWaitForEvents", "epoch order");
    }
    dataset_shuffle(ds, epoch, ds->perm_host[cur]);
    cl_int rc = clEnqueueWriteBuffer(ds->dev->queue, ds->perm, CL_FALSE, 0,
                                     (size_t)ds->n * sizeof(uint32_t), ds->perm_host[cur], 0, NULL,
                                     &ds->perm_ev[cur]);
    if (rc != CL_SUCCESS) return err_cl(&ds->dev->err, rc, "clEnqueueWriteBuffer", "epoch order");
    return CLGAN_OK;
}

clgan_status dataset_gather(dataset *ds, long first, int rows, cl_mem acts, size_t dst_off) {
    cl_uint f = (cl_uint)first, r = (cl_uint)rows, c = (cl_uint)ds->cols, off = (cl_uint)dst_off;
    if (ds->stack) {
        cl_uint k = (cl_uint)ds->stack, hw = c / k;
        karg a[] = {KA(ds->buf), KA(ds->tri_buf), KA(ds->perm), KA(f), KA(r), KA(k), KA(hw),
                    KA(acts), KA(off)};
        clgan_status st = device_set_args(ds->dev, ds->k_gather_stacked, "gather_stacked", a, 9);
        if (st != CLGAN_OK) return st;
        return device_run2d(ds->dev, ds->k_gather_stacked, (hw + 15) / 16, (size_t)rows * k,
                            "gather_stacked");
    }
    karg a[] = {KA(ds->buf), KA(ds->perm), KA(f), KA(r), KA(c), KA(acts), KA(off)};
    clgan_status st = device_set_args(ds->dev, ds->k_gather, "gather_rows", a, 7);
    if (st != CLGAN_OK) return st;
    return device_run2d(ds->dev, ds->k_gather, (ds->cols + 15) / 16, (size_t)rows, "gather_rows");
}

clgan_status dataset_gather_labels(dataset *ds, long first, int rows, cl_mem out) {
    cl_uint f = (cl_uint)first, r = (cl_uint)rows;
    karg a[] = {KA(ds->labels), KA(ds->perm), KA(f), KA(r), KA(out)};
    clgan_status st = device_set_args(ds->dev, ds->k_gather_labels, "gather_labels", a, 5);
    if (st != CLGAN_OK) return st;
    return device_run1d(ds->dev, ds->k_gather_labels, (size_t)rows, "gather_labels");
}
