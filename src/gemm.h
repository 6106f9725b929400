/*
 * gemm.h - the engine's matrix multiply. The only module that talks to CLBlast.
 *
 * Row-major: C[m][n] = alpha * op(A)[m][k] * op(B)[k][n] + beta * C, where op(X) is X or X^T
 * as stored; lda/ldb/ldc are the row strides as stored. Offsets are in floats. Enqueues only.
 */
#ifndef CLGAN_GEMM_H
#define CLGAN_GEMM_H

#include "device.h"

clgan_status gemm(clgan_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                  size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc);

#endif /* CLGAN_GEMM_H */
