/*
 * data_idx.c - the IDX format of MNIST and Fashion-MNIST, read through zlib so that gzip'd and
 * raw files both work. Header: 0x00 0x00 type ndim, then ndim big-endian u32 sizes, then the
 * values. Truncated files, wrong magic and trailing bytes are errors that name the file.
 */
#define _POSIX_C_SOURCE 200809L
#include "data.h"

#include <math.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static clgan_status open_header(const char *path, gzFile *gz, idx_header *h, clgan_err *e) {
    *gz = NULL;
    int fd;
    clgan_status st = file_open_regular(path, &fd, NULL, e); /* no FIFO, no /dev/zero */
    if (st != CLGAN_OK) return st;
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return err_set(e, CLGAN_ERR_IO, "%s: cannot open", path);
    }
    unsigned char m[4];
    if (gzread(f, m, 4) != 4) {
        gzclose(f);
        return err_set(e, CLGAN_ERR_DATA, "%s: not an IDX file (shorter than its 4-byte magic)",
                       path);
    }
    if (m[0] != 0 || m[1] != 0 || m[3] < 1 || m[3] > IDX_MAX_DIMS) {
        gzclose(f);
        return err_set(e, CLGAN_ERR_DATA,
                       "%s: not an IDX file (magic %02x %02x %02x %02x, expected 00 00 08 0N)",
                       path, m[0], m[1], m[2], m[3]);
    }
    if (m[2] != 0x08) {
        gzclose(f);
        return err_set(e, CLGAN_ERR_DATA, "%s: IDX value type 0x%02x; clgan reads unsigned bytes "
                       "(0x08)", path, m[2]);
    }
    h->type = m[2];
    h->ndim = m[3];
    unsigned char d[4 * IDX_MAX_DIMS];
    if (gzread(f, d, 4 * (unsigned)h->ndim) != 4 * h->ndim) {
        gzclose(f);
        return err_set(e, CLGAN_ERR_DATA, "%s: truncated IDX header", path);
    }
    for (int i = 0; i < h->ndim; i++) {
        h->dims[i] = be32(d + 4 * i);
        if (h->dims[i] == 0) {
            gzclose(f);
            return err_set(e, CLGAN_ERR_DATA, "%s: IDX dimension %d is 0", path, i);
        }
    }
    *gz = f;
    return CLGAN_OK;
}

clgan_status idx_read_header(const char *path, idx_header *h, clgan_err *e) {
    gzFile f;
    clgan_status st = open_header(path, &f, h, e);
    if (f) gzclose(f);
    return st;
}

clgan_status idx_load(const char *path, long start, long stop, idx_header *h, float **out,
                      clgan_err *e) {
    *out = NULL;
    gzFile f;
    clgan_status st = open_header(path, &f, h, e);
    if (st != CLGAN_OK) return st;
    /* Checked at every factor: three sizes of 2^25 wrap the product to 0, and items of no
     * bytes made the loop below walk 4 billion of them (found by fuzzing). */
    uint64_t per = 1;
    for (int i = 1; i < h->ndim; i++) {
        per *= h->dims[i];
        if (per > (1u << 24)) {
            gzclose(f);
            return err_set(e, CLGAN_ERR_DATA, "%s: items of more than %u values are too large "
                           "(dimension %d is %u)", path, 1u << 24, i, h->dims[i]);
        }
    }
    long n = (long)h->dims[0];
    if (stop < 0) stop = n;
    if (start < 0 || start >= stop || stop > n) {
        gzclose(f);
        return err_set(e, CLGAN_ERR_DATA, "%s: range [%ld, %ld) is outside the file's %ld items",
                       path, start, stop, n);
    }
    size_t count = (size_t)(stop - start) * per;
    if ((double)(stop - start) * (double)per > (double)(1u << 31)) {
        gzclose(f);
        return err_set(e, CLGAN_ERR_DATA, "%s: %ld items of %llu values are more than clgan "
                       "loads (2^31 values)", path, stop - start, (unsigned long long)per);
    }
    /* Grown as items arrive, so a header that lies about the size costs no huge allocation. */
    size_t cap = count < (1u << 20) ? count : (1u << 20);
    float *px = malloc(cap * sizeof *px);
    unsigned char *row = malloc(per);
    if (!px || !row) {
        free(px);
        free(row);
        gzclose(f);
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory for %zu values", path, count);
    }
    for (long i = 0; i < n; i++) {
        int got = gzread(f, row, (unsigned)per);
        if (got != (int)per) {
            int zerr;
            const char *zmsg = gzerror(f, &zerr);
            err_set(e, CLGAN_ERR_DATA, "%s: truncated: item %ld of %ld is incomplete%s%s", path, i,
                    n, zerr < 0 ? ": " : "", zerr < 0 ? zmsg : "");
            free(px);
            free(row);
            gzclose(f);
            return CLGAN_ERR_DATA;
        }
        if (i >= start && i < stop) {
            size_t need = (size_t)(i - start + 1) * per;
            if (need > cap) {
                size_t nc = cap * 2 > need ? cap * 2 : need;
                if (nc > count) nc = count;
                float *np = realloc(px, nc * sizeof *px);
                if (!np) {
                    free(px);
                    free(row);
                    gzclose(f);
                    return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory for %zu values", path,
                                   nc);
                }
                px = np;
                cap = nc;
            }
            float *dst = px + (size_t)(i - start) * per;
            for (uint64_t j = 0; j < per; j++) dst[j] = row[j] * (1.0f / 255.0f);
        }
    }
    unsigned char extra;
    int more = gzread(f, &extra, 1);
    free(row);
    gzclose(f);
    if (more != 0) {
        free(px);
        return err_set(e, CLGAN_ERR_DATA, "%s: %s after the %ld items the header declares", path,
                       more > 0 ? "trailing bytes" : "corrupt data", n);
    }
    *out = px;
    return CLGAN_OK;
}

clgan_status idx_load_labels(const char *path, long start, long stop, long expect_items,
                             int n_classes, uint8_t **out, clgan_err *e) {
    *out = NULL;
    idx_header h;
    clgan_status st = idx_read_header(path, &h, e);
    if (st != CLGAN_OK) return st;
    if (h.ndim != 1)
        return err_set(e, CLGAN_ERR_DATA, "%s holds %d-dimensional data, expected labels (one "
                       "value per item)", path, h.ndim);
    if (expect_items >= 0 && (long)h.dims[0] != expect_items)
        return err_set(e, CLGAN_ERR_DATA, "%s holds %u labels, the images %ld", path, h.dims[0],
                       expect_items);
    float *v;
    st = idx_load(path, start, stop, &h, &v, e); /* truncation and trailing bytes */
    if (st != CLGAN_OK) return st;
    if (stop < 0) stop = (long)h.dims[0];
    uint8_t *lab = malloc((size_t)(stop - start));
    if (!lab) {
        free(v);
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
    }
    for (long i = 0; i < stop - start; i++) {
        long k = lrintf(v[i] * 255.0f);
        if (n_classes > 0 && k >= n_classes) {
            free(v);
            free(lab);
            return err_set(e, CLGAN_ERR_DATA, "%s: label %ld of item %ld is not one of the %d "
                           "classes (0 to %d)", path, k, start + i, n_classes, n_classes - 1);
        }
        lab[i] = (uint8_t)k;
    }
    free(v);
    *out = lab;
    return CLGAN_OK;
}
