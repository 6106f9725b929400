/*
 * npy.h - numpy's .npy files (format 1.0 and 2.0), the exchange format for samples and features
 * with other frameworks: written as little-endian float32, read as float32 or float64 in C
 * order. Little-endian hosts only, as the rest of clgan's files.
 */
#ifndef CLGAN_NPY_H
#define CLGAN_NPY_H

#include "common.h"

#define NPY_MAX_DIMS 4

/* Writes rows x cols floats as a (rows, cols) float32 array, atomically (path.tmp, rename). */
clgan_status npy_write(const char *path, const float *v, long rows, size_t cols, clgan_err *e);

/*
 * Reads a float32 ('<f4') or float64 ('<f8') array of 1 to NPY_MAX_DIMS dimensions in C order
 * into *out (malloc'd floats; float64 rounded) and its shape into dims/ndim. Errors name the
 * file and what is wrong: not .npy, another dtype, Fortran order, a header or length that
 * disagrees with the data.
 */
clgan_status npy_read(const char *path, float **out, long dims[NPY_MAX_DIMS], int *ndim,
                      clgan_err *e);

#endif /* CLGAN_NPY_H */
