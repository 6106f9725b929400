/*
 * gemm.h - the engine's matrix multiply. The only module that talks to CLBlast.
 *
 * Row-major: C[m][n] = alpha * op(A)[m][k] * op(B)[k][n] + beta * C, where op(X) is X or X^T
 * as stored; lda/ldb/ldc are the row strides as stored. Offsets are in floats. Enqueues only.
 */
#ifndef CLGAN_GEMM_H
#define CLGAN_GEMM_H

#include "device.h"

/* Which implementation runs a GEMM. */
typedef enum gemm_path { GEMM_AUTO, GEMM_ENGINE, GEMM_CLBLAST } gemm_path;

/*
 * The product, on the path chosen for this device and shape (see gemm_tune), or on the device's
 * default: the engine kernels on CPU devices, CLBlast elsewhere. $CLGAN_GEMM=engine|clblast
 * forces one path everywhere.
 */
clgan_status gemm(clgan_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                  size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc);

/* The same on a given path. */
clgan_status gemm_on(clgan_device *dev, gemm_path path, int trans_a, int trans_b, size_t m,
                     size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b,
                     size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc);

/*
 * The engine's kernels in configuration `config` (tile sizes and work-group shape; 0 <= config
 * < gemm_n_configs()), for tests and benchmarks; gemm_on(GEMM_ENGINE) runs configuration 0.
 */
int gemm_n_configs(void);
const char *gemm_config_name(int config);
/* Whether config has the tiles cheapest to build: the only ones tuned on a slow compiler. */
int gemm_config_cheapest(int config);
clgan_status gemm_on_config(clgan_device *dev, int config, int trans_a, int trans_b, size_t m,
                            size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                            cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off,
                            size_t ldc);

/*
 * Measures both paths on one shape (row-major, tightly packed operands of random values) and
 * remembers the faster of those whose product agrees with the host's at sampled entries; the
 * choice is kept in the program cache folder so later runs skip the measurement. Waits for the
 * device. *chosen (may be NULL) gets the path. A path that computes another product, fails, or
 * (the engine's larger tiles) takes longer than a budget to build is refused and said in
 * gemm_notes; CLGAN_ERR_DEVICE, naming the shape and each path's error, if none is right.
 */
clgan_status gemm_tune(clgan_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                       gemm_path *chosen);

/* The paths refused on dev so far, a line each ("GEMM 128x1024x6272 NT on 'X': CLBlast's SGEMM
 * refused: C[5][17] is 0.31, the host's 2.2"), or NULL: for a program to say. */
const char *gemm_notes(const clgan_device *dev);

/* Frees what the engine's GEMM keeps on the device (kernels, tuning table). */
void gemm_release(clgan_device *dev);

#endif /* CLGAN_GEMM_H */
