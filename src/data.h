/*
 * data.h - training data on the host: IDX files (gzip'd or raw) and synthetic distributions.
 */
#ifndef CLGAN_DATA_H
#define CLGAN_DATA_H

#include "common.h"

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

#endif /* CLGAN_DATA_H */
